// The rule language's two back ends agree: for random rules over random feature rows (nulls
// included), the TypeScript predicate selects exactly the rows the compiled SQL selects, on every
// warehouse the test environment has.
import fc from "fast-check";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { cast, ident, join, sql, typeName } from "../../src/sql/sql.ts";
import { FEATURES, FEATURE_BY_FIELD } from "../../src/lifecycle/features.ts";
import { compilePredicate } from "../../src/lifecycle/rule-predicate.ts";
import { compileRuleSql, sqlTypeOf } from "../../src/lifecycle/rule-sql.ts";
import { checkRule, parseRuleShape } from "../../src/lifecycle/rules.ts";
import { CompiledStageModel, defaultStageModel } from "../../src/lifecycle/stage-model.ts";
import { constantOf, rule } from "../helpers/arbitraries.ts";
import { testWarehouses, type TestWarehouse } from "../helpers/databases.ts";

type Row = Record<string, number | string | null> & { id: string };

const rowArbitrary = fc.record(
  Object.fromEntries(FEATURES.map((f) => [f.field, fc.option(constantOf(f.type), { nil: null, freq: 4 })])),
) as fc.Arbitrary<Record<string, number | string | null>>;

const ROWS: Row[] = fc
  .sample(rowArbitrary, { numRuns: 250, seed: 20261123 })
  .map((r, i) => ({ ...r, id: `r${String(i).padStart(3, "0")}` }));

describe.each(testWarehouses())("rule back ends agree on $label", (factory) => {
  let warehouse: TestWarehouse;
  const table = () => ident(warehouse.mapping.schema, "rule_rows");

  beforeAll(async () => {
    warehouse = await factory.open();
    if (warehouse.mapping.schema)
      await warehouse.query(sql`CREATE SCHEMA IF NOT EXISTS ${ident(warehouse.mapping.schema)}`);
    const columns = FEATURES.map((f) => sql`${ident(f.column)} ${typeName(sqlTypeOf(f.type))}`);
    await warehouse.query(sql`CREATE TABLE ${table()} (id ${typeName("text")}, ${join(columns)})`);
    for (const row of ROWS) {
      const values = FEATURES.map((f) => cast(row[f.field] ?? null, sqlTypeOf(f.type)));
      await warehouse.query(sql`INSERT INTO ${table()} VALUES (${row.id}, ${join(values)})`);
    }
  });
  afterAll(async () => {
    await warehouse?.close();
  });

  it("classifies every row into the same current and furthest stage, for random thresholds", async () => {
    const thresholds = fc.record({
      churnDays: fc.constantFrom(30, 60, 365),
      atRiskMinDays: fc.constantFrom(1, 30, 60),
      atRiskGapMultiple: fc.constantFrom(0.5, 1, 3),
      loyalPurchaseDays: fc.constantFrom(3, 4),
      newMaxDays: fc.constantFrom(1, 30, 400),
    });
    await fc.assert(
      fc.asyncProperty(thresholds, async (t) => {
        const model = new CompiledStageModel(defaultStageModel(t));
        const columns = { column: (field: string) => ident(FEATURE_BY_FIELD.get(field)!.column) };
        const rows = await warehouse.query<{ id: string; stage_index: number; furthest_index: number }>(
          sql`SELECT id, ${model.stageIndexSql(columns)} AS stage_index, ${model.stageIndexSql(columns, { skipLapse: true })} AS furthest_index
              FROM ${table()} ORDER BY id`,
        );
        const fromSql = rows.map((r) => [
          r.id,
          model.stages[Number(r.stage_index)]!.key,
          model.stages[Number(r.furthest_index)]!.key,
        ]);
        const fromTs = ROWS.map((row) => [row.id, model.classify(row).key, model.furthest(row).key]);
        expect(fromSql).toEqual(fromTs);
      }),
      { numRuns: 40, seed: 7 },
    );
  });

  it("selects the same rows for hundreds of random rules", async () => {
    await fc.assert(
      fc.asyncProperty(rule, async (r) => {
        expect(parseRuleShape(r)).toEqual([]);
        expect(checkRule(r)).toEqual([]);
        const predicate = compilePredicate(r);
        const expected = ROWS.filter((row) => predicate(row)).map((row) => row.id);
        const where = compileRuleSql(r, { column: (field) => ident(FEATURE_BY_FIELD.get(field)!.column) });
        const rows = await warehouse.query<{ id: string }>(sql`SELECT id FROM ${table()} WHERE ${where} ORDER BY id`);
        expect(rows.map((x) => x.id)).toEqual(expected);
      }),
      { numRuns: 300, seed: 42 },
    );
  });
});

// The SQL back end of the rule language (src/lifecycle/rule-sql.ts) on DuckDB: exact values of the
// arithmetic, nulls included, and the rules it refuses to compile. Agreement with the TypeScript back end
// over random rules is rule-agreement.spec.ts's job; these pin the answers a person works out by hand.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { FeatureType } from "../../src/lifecycle/features.ts";
import { compileRuleSql, sqlTypeOf, type RuleSqlContext } from "../../src/lifecycle/rule-sql.ts";
import type { Rule, ValueExpr } from "../../src/lifecycle/rules.ts";
import { cast, ident, join, sql, typeName } from "../../src/sql/sql.ts";
import { testWarehouses, type TestWarehouse } from "../helpers/databases.ts";
import { ARITHMETIC_CASES, ARITHMETIC_ROW } from "../helpers/rule-arithmetic.ts";

const COLUMNS: [string, FeatureType][] = [
  ["x", "number"],
  ["a", "number"],
  ["b", "number"],
  ["c", "number"],
  ["n", "number"],
  ["d", "date"],
  ["s", "string"],
];
const scope = { extraFields: new Map(COLUMNS.map(([name, type]) => [name, { type }])) };
const context: RuleSqlContext = { column: (field) => ident(field), scope };

/** Candidate answers: each row holds a=2, b=7, c=3, n=null and one of these as x; one more row has a null x. */
const XS = [-3, 0, 1, 2, 3, 5, 6, 7, 12, 14, 21, 42, 60];

describe("rules compiled to SQL, on DuckDB", () => {
  let warehouse: TestWarehouse;

  beforeAll(async () => {
    warehouse = await testWarehouses()
      .find((f) => f.label === "duckdb")!
      .open();
    const columns = COLUMNS.map(([name, type]) => sql`${ident(name)} ${typeName(sqlTypeOf(type))}`);
    await warehouse.query(sql`CREATE TABLE t (${join(columns)})`);
    for (const x of [...XS, null]) {
      const { a, b, c } = ARITHMETIC_ROW;
      const values = [x, a, b, c, null, "2025-03-01", "email"].map((v, i) => cast(v, sqlTypeOf(COLUMNS[i]![1])));
      await warehouse.query(sql`INSERT INTO t VALUES (${join(values)})`);
    }
  });
  afterAll(async () => {
    await warehouse?.close();
  });

  /** The x of the rows the rule selects, null first. */
  async function selected(rule: Rule): Promise<(number | null)[]> {
    const rows = await warehouse.query<{ x: number | null }>(
      sql`SELECT x FROM t WHERE ${compileRuleSql(rule, context)} ORDER BY x NULLS FIRST`,
    );
    return rows.map((r) => (r.x === null ? null : Number(r.x)));
  }

  /** What `expr` computes: the one x it equals, or null when neither eq nor neq selects a row. */
  async function computed(expr: ValueExpr): Promise<number | null> {
    const [equal, unequal] = [
      await selected({ field: "x", op: "eq", value: expr }),
      await selected({ field: "x", op: "neq", value: expr }),
    ];
    if (equal.length === 0 && unequal.length === 0) return null;
    expect(equal.length + unequal.length, JSON.stringify(expr)).toBe(XS.length);
    expect(equal, JSON.stringify(expr)).toHaveLength(1);
    return equal[0]!;
  }

  it("computes max, min, add and mul over every part", async () => {
    // The row's a, b, c are ARITHMETIC_ROW's (see the insert above); every answer is one of XS.
    const cases: (readonly [ValueExpr, number])[] = [...ARITHMETIC_CASES, [{ mul: [{ field: "a" }, 3] }, 6]];
    for (const [expr, expected] of cases) expect(await computed(expr), JSON.stringify(expr)).toBe(expected);
  });

  it("makes arithmetic with a null part null, not a value that skips it", async () => {
    // GREATEST and LEAST skip nulls on DuckDB and PostgreSQL: max(a, n) must not be a.
    const n = { field: "n" };
    for (const expr of [
      { max: [{ field: "a" }, n] },
      { min: [n, { field: "b" }] },
      { add: [{ field: "a" }, 1, n] },
      { mul: [n] },
      { max: [60, { add: [{ field: "a" }, n] }] },
    ] as ValueExpr[]) {
      expect(await computed(expr), JSON.stringify(expr)).toBe(null);
    }
  });

  it("compares dates and strings as their SQL types", async () => {
    expect(await selected({ field: "d", op: "gt", value: "2025-02-28" })).toEqual([null, ...XS]);
    expect(await selected({ field: "d", op: "gt", value: "2025-03-01" })).toEqual([]);
    expect(await selected({ field: "s", op: "in", value: ["ads", "email"] })).toEqual([null, ...XS]);
    expect(await selected({ field: "s", op: "neq", value: "email" })).toEqual([]);
    expect(
      await selected({ field: "x", op: "between", value: [{ field: "c" }, { add: [{ field: "b" }, 5] }] }),
    ).toEqual([3, 5, 6, 7, 12]);
  });

  it("combines with all, any and not; an empty all holds, an empty any does not", async () => {
    const everyRow = [null, ...XS];
    expect(await selected({ all: [] })).toEqual(everyRow);
    expect(await selected({ any: [] })).toEqual([]);
    expect(await selected({ not: { any: [] } })).toEqual(everyRow);
    const low: Rule = { field: "x", op: "lt", value: 1 };
    const high: Rule = { field: "x", op: "gt", value: 42 };
    expect(await selected({ any: [low, high] })).toEqual([-3, 0, 60]);
    expect(await selected({ all: [{ not: low }, { not: high }] })).toEqual([null, 1, 2, 3, 5, 6, 7, 12, 14, 21, 42]);
    expect(
      await selected({
        all: [
          { field: "x", op: "gt", value: 1 },
          { field: "x", op: "lt", value: 6 },
        ],
      }),
    ).toEqual([2, 3, 5]);
  });

  it("in selects exactly the listed values", async () => {
    expect(await selected({ field: "x", op: "in", value: [60, 2, 99] })).toEqual([2, 60]);
    expect(await selected({ field: "x", op: "in", value: [4] })).toEqual([]);
  });

  it("sees nulls only with isNull and notNull: every other test of a null is false, its negation true", async () => {
    expect(await selected({ field: "x", op: "isNull" })).toEqual([null]);
    expect(await selected({ field: "x", op: "notNull" })).toEqual(XS);
    expect(await selected({ not: { field: "x", op: "notNull" } })).toEqual([null]);
    expect(await selected({ not: { field: "x", op: "in", value: [0, 1, 99] } })).toEqual(
      [null, ...XS].filter((x) => x !== 0 && x !== 1),
    );
    expect(await selected({ not: { field: "x", op: "between", value: [1, 60] } })).toEqual([null, -3, 0]);
    expect(await selected({ not: { field: "x", op: "between", value: [{ field: "n" }, 100] } })).toEqual([null, ...XS]);
    expect(await selected({ not: { field: "x", op: "between", value: [-100, { field: "n" }] } })).toEqual([
      null,
      ...XS,
    ]);
    expect(await selected({ not: { field: "x", op: "gt", value: { add: [{ field: "n" }, 1] } } })).toEqual([
      null,
      ...XS,
    ]);
  });

  it("refuses fields it has no type for", () => {
    const compile = (rule: Rule, ctx: RuleSqlContext) => () => compileRuleSql(rule, ctx);
    const unknown: Rule = { field: "nope", op: "eq", value: 1 };
    expect(compile(unknown, context)).toThrow(new Error("unknown field nope"));
    expect(compile(unknown, { column: (field) => ident(field) })).toThrow(new Error("unknown field nope"));
    expect(compile(unknown, { column: (field) => ident(field), scope: {} })).toThrow(new Error("unknown field nope"));
    // A feature needs no scope; an extra field needs one.
    expect(compile({ field: "revenue", op: "isNull" }, { column: (field) => ident(field) })).not.toThrow();
    expect(compile({ field: "a", op: "isNull" }, { column: (field) => ident(field) })).toThrow(
      new Error("unknown field a"),
    );
  });

  it("refuses segment references and relative dates that were not resolved", () => {
    const dates = "resolve relative dates (resolveDefinition) before compiling";
    const segments = "resolve segment references (resolveDefinition) before compiling";
    const cases: [Rule, string][] = [
      [{ field: "d", op: "gt", value: { daysAgo: 30 } }, dates],
      [{ field: "d", op: "between", value: ["2025-01-01", { daysAgo: 0 }] }, dates],
      [{ field: "x", op: "lt", value: { max: [1, { daysAgo: 3 }] } }, dates],
      [{ segment: "s1" }, segments],
      [{ all: [{ field: "x", op: "isNull" }, { not: { segment: "s1" } }] }, segments],
    ];
    for (const [rule, message] of cases) expect(() => compileRuleSql(rule, context)).toThrow(new Error(message));
  });
});

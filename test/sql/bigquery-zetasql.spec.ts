// The BigQuery texts the lifecycle sends, checked by ZetaSQL (BigQuery's reference analyzer and
// evaluator): they analyze against the contract tables with the output types the connector decodes,
// and compute the expected answers over a few rows.
import { afterAll, beforeAll, expect, it } from "vitest";
import { bigqueryDialect } from "../../src/connectors/bigquery.ts";
import type { Row, WarehouseConnector } from "../../src/connectors/connector.ts";
import { resolveMapping, type LogicalTable } from "../../src/sql/contract.ts";
import type { Sql } from "../../src/sql/sql.ts";
import { FEATURES } from "../../src/lifecycle/features.ts";
import { defaultStageModel } from "../../src/lifecycle/stage-model.ts";
import { LifecycleService } from "../../src/services/lifecycle/service.ts";
import { toFeatures } from "../../src/services/lifecycle/features.ts";
import {
  bigQueryJob,
  ContractCatalog,
  describeZetaSql,
  startZetaSql,
  type BigQueryJob,
  type QueryParam,
  type ZetaSqlService,
} from "../helpers/zetasql.ts";

// Renamed table and column, in a dataset: the texts read `shop`.`orders`.`total`.
const mapping = resolveMapping({
  schema: "shop",
  tables: { transactions: { table: "orders", columns: { amount: "total" } } },
});

/** The BigQuery job the features lookup sends, for the optional tables given. */
async function featuresJob(available: readonly LogicalTable[]): Promise<BigQueryJob> {
  const sent: Sql[] = [];
  const connector: WarehouseConnector = {
    kind: "bigquery",
    dialect: bigqueryDialect,
    mapping,
    query: async <R extends Row>(q: Sql) => {
      sent.push(q);
      return [] as R[];
    },
    async *stream<R extends Row>(q: Sql): AsyncIterable<R[]> {
      sent.push(q);
    },
    ping: async () => {},
    tableStatus: async () => [],
    close: async () => {},
  };
  const lifecycle = new LifecycleService(connector, defaultStageModel(), "Europe/Berlin", new Set(available));
  await lifecycle.featuresOf("2026-06-30", ["a", "b", "d"]);
  expect(sent).toHaveLength(1);
  return bigQueryJob(sent[0]!, mapping);
}

/** What the connector decodes each feature type from (see bigquery-sql.spec.ts). */
const DECODED_FROM = { number: "FLOAT64", date: "DATE", string: "STRING" } as const;

describeZetaSql("BigQuery SQL on ZetaSQL", () => {
  let zeta: ZetaSqlService;
  beforeAll(async () => {
    zeta = await startZetaSql();
  });
  afterAll(async () => {
    await zeta?.stop();
  });

  const availability: LogicalTable[][] = [[], ["customers"], ["events"], ["customers", "events", "marketing_spend"]];
  const cases = availability.flatMap((available) =>
    (["NUMERIC", "FLOAT64"] as const).map(
      (numericAs) => [available.join("+") || "transactions only", numericAs, available] as const,
    ),
  );

  it.each(cases)(
    "the features query analyzes with the decoded column types (%s, amount %s)",
    async (_name, numericAs, available) => {
      const job = await featuresJob(available);
      const columns = await zeta.analyzeJob(new ContractCatalog({ dataset: "shop", mapping, numericAs }), job);
      expect(columns).toEqual([
        { name: "customer_id", type: "STRING" },
        ...FEATURES.map((f) => ({ name: f.column, type: DECODED_FROM[f.type] })),
      ]);
    },
  );

  it("rejects a text BigQuery would reject", async () => {
    const catalog = new ContractCatalog({ dataset: "shop", mapping });
    const job = { text: "SELECT DATE_DIFF(`t`.`occurred_at`, @p1) AS d FROM `shop`.`orders` AS t", params: [] };
    await expect(
      zeta.analyzeJob(catalog, { ...job, params: [{ name: "p1", type: "DATE", value: null }] }),
    ).rejects.toThrow(/DATE_DIFF/);
    await expect(zeta.analyzeJob(catalog, { text: "SELECT 1 FROM `shop`.`transactions`", params: [] })).rejects.toThrow(
      /Table not found/,
    );
  });

  it("round-trips typed named parameters", async () => {
    const params: QueryParam[] = [
      { name: "s", type: "STRING", value: "ä'x" },
      { name: "i", type: "INT64", value: -9_007_199_254_740_991 },
      { name: "f", type: "FLOAT64", value: 0.1 },
      { name: "b", type: "BOOL", value: false },
      { name: "n", type: "NUMERIC", value: "-12345678901234567890.000000001" },
      { name: "d", type: "DATE", value: "1969-12-31" },
      { name: "t", type: "TIMESTAMP", value: new Date("2026-03-29T01:30:00.123Z") },
      { name: "a", type: "ARRAY<STRING>", value: ["x", "y"] },
      { name: "z", type: "NUMERIC", value: null },
    ];
    const catalog = await zeta.registerCatalog({
      name: "empty",
      builtinFunctionOptions: { languageOptions: zeta.languageOptions },
    });
    const text = `SELECT ${params.map((p) => `@${p.name} AS ${p.name}`).join(", ")}`;
    const result = await zeta.evaluate(catalog, text, params);
    await zeta.unregisterCatalog(catalog);
    expect(result.columns.map((c) => c.type)).toEqual(params.map((p) => p.type));
    expect(result.rows).toEqual([Object.fromEntries(params.map((p) => [p.name, p.value]))]);
  });

  it.each(["NUMERIC", "FLOAT64"] as const)(
    "computes the features of a few purchases (amount %s)",
    async (numericAs) => {
      const job = await featuresJob([]);
      const result = await zeta.evaluateJob(new ContractCatalog({ dataset: "shop", mapping, numericAs }), job, {
        transactions: [
          { customer_id: "a", occurred_at: "2026-01-10T10:00:00Z", amount: "10.50", order_id: "o1" },
          { customer_id: "a", occurred_at: "2026-01-10T15:00:00Z", amount: "2", order_id: "o3" },
          // A refund in an order of the first day: revenue net, no order of its own.
          { customer_id: "a", occurred_at: "2026-01-10T16:00:00Z", amount: "-0.50", order_id: "o1" },
          // A day of refunds only: revenue net, no purchase day.
          { customer_id: "a", occurred_at: "2026-04-01T12:00:00Z", amount: "-3.25", order_id: "o5" },
          // Refunds only: known, and no buyer.
          { customer_id: "d", occurred_at: "2026-05-01T12:00:00Z", amount: "-4", order_id: null },
          // 00:30 on 2 March in Berlin.
          { customer_id: "a", occurred_at: "2026-03-01T23:30:00Z", amount: "5.25", order_id: "o2" },
          { customer_id: "b", occurred_at: "2026-06-29T12:00:00Z", amount: "7", order_id: null },
          // After the end of 30 June in Berlin: not yet bought as of that day.
          { customer_id: "b", occurred_at: "2026-06-30T22:00:00Z", amount: "100", order_id: "o9" },
          { customer_id: "c", occurred_at: "2026-02-01T12:00:00Z", amount: "1", order_id: "o4" },
        ],
      });
      const features = new Map(result.rows.map((row) => [String(row.customer_id), toFeatures(row)]));
      expect([...features.keys()].sort()).toEqual(["a", "b", "d"]);
      expect(features.get("a")).toMatchObject({
        firstPurchaseDate: "2026-01-10",
        secondPurchaseDate: "2026-03-02",
        lastPurchaseDate: "2026-03-02",
        purchaseDays: 2,
        orderCount: 3,
        revenue: 14,
        firstPurchaseRevenue: 12,
        recencyDays: 120,
        tenureDays: 171,
      });
      expect(features.get("a")!.averageOrderValue).toBeCloseTo(14 / 3, 12);
      expect(features.get("d")).toMatchObject({
        firstSeenDate: "2026-05-01",
        firstPurchaseDate: null,
        purchaseDays: 0,
        orderCount: 0,
        revenue: -4,
        averageOrderValue: null,
        recencyDays: null,
      });
      expect(features.get("b")).toMatchObject({
        firstPurchaseDate: "2026-06-29",
        secondPurchaseDate: null,
        purchaseDays: 1,
        orderCount: 1,
        revenue: 7,
        recencyDays: 1,
      });
    },
  );
});

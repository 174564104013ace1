// Every SQL text the lifecycle sends to BigQuery parses as BigQuery SQL, uses only named parameters and
// back-quoted identifiers, and decodes through the real client from the wire format.
import fc from "fast-check";
import NodeSqlParser from "node-sql-parser";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { bigqueryDialect, BigQueryConnector } from "../../src/connectors/bigquery.ts";
import type { Row, WarehouseConnector } from "../../src/connectors/connector.ts";
import { DEFAULT_MAPPING, resolveMapping, type LogicalTable } from "../../src/sql/contract.ts";
import { ident, render, sql, type Sql } from "../../src/sql/sql.ts";
import { FEATURES, FEATURE_BY_FIELD } from "../../src/lifecycle/features.ts";
import { compileRuleSql } from "../../src/lifecycle/rule-sql.ts";
import { defaultStageModel } from "../../src/lifecycle/stage-model.ts";
import { LifecycleService } from "../../src/services/lifecycle/service.ts";
import { MetricsService } from "../../src/services/metrics.ts";
import { CohortService } from "../../src/services/cohorts.ts";
import { FunnelService } from "../../src/services/funnel.ts";
import { SegmentService } from "../../src/services/segments.ts";
import { METRICS, metricAvailable } from "../../src/lifecycle/metrics.ts";
import { rule } from "../helpers/arbitraries.ts";
import { startFakeBigQuery, type FakeBigQuery } from "../helpers/fake-bigquery.ts";

const parser = new (
  NodeSqlParser as unknown as { Parser: new () => { astify(sql: string, opts: object): unknown } }
).Parser();

function expectBigQuerySql(query: Sql): void {
  const { text, params } = render(query, bigqueryDialect);
  expect(() => parser.astify(text, { database: "BigQuery" }), text).not.toThrow();
  expect(text).not.toMatch(/\$\d/);
  expect(text).not.toMatch(/"/);
  const used = new Set([...text.matchAll(/@(p\d+)/g)].map((m) => m[1]));
  expect([...used].sort()).toEqual(params.map((p) => p.name).sort());
}

/** A connector that only records what it is asked, in BigQuery's dialect. */
function recordingConnector(mapping = DEFAULT_MAPPING): WarehouseConnector & { sent: Sql[] } {
  const sent: Sql[] = [];
  return {
    kind: "bigquery",
    dialect: bigqueryDialect,
    mapping,
    sent,
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
}

describe("BigQuery SQL texts", () => {
  const availability: LogicalTable[][] = [[], ["customers"], ["events"], ["customers", "events", "marketing_spend"]];

  it.each(availability.map((a) => [a.join("+") || "transactions only", a] as const))(
    "every lifecycle query parses (%s)",
    async (_name, available) => {
      const connector = recordingConnector(resolveMapping({ tables: { transactions: { table: "orders" } } }));
      const lifecycle = new LifecycleService(connector, defaultStageModel(), "Europe/Berlin", new Set(available));
      await lifecycle.featuresOf("2026-06-30", ["a", "b"]);
      await lifecycle.stageCounts("2026-06-30");
      await lifecycle.stageMembers("2026-06-30", "loyal", 51, "c000100");
      await lifecycle.stageMembers("2026-06-30", "loyal", 51);
      await lifecycle.transitions("2026-03-31", "2026-06-30");
      await lifecycle.transactionsOf("2026-06-30", ["a"], 0, 11);
      await lifecycle.stageTimings("2026-04-01", "2026-06-30", 30);
      await lifecycle.rfmOf("2026-06-30", ["a"]);
      await lifecycle.rfmCells("2026-06-30");
      // Narrowed to a segment's members (one rule reading RFM scores, one not).
      const segments = new SegmentService(lifecycle);
      const byRevenue = { field: "revenue", op: "gte", value: 10 } as const;
      const byRfm = { field: "rfmSegment", op: "eq", value: "champions" } as const;
      await lifecycle.transitions("2026-03-31", "2026-06-30", segments.members("2026-06-30", byRevenue));
      await lifecycle.rfmCells("2026-06-30", segments.members("2026-06-30", byRevenue));
      await lifecycle.rfmCells("2026-06-30", segments.members("2026-06-30", byRfm));
      // The recorder answers nothing, so the fit refuses thin data once the summaries are sent.
      await expect(lifecycle.clvModel("2026-06-30", "WEEK")).rejects.toThrow(/too little data/);
      expect(connector.sent).toHaveLength(13);
      for (const q of connector.sent) expectBigQuerySql(q);
    },
  );

  it.each(availability.map((a) => [a.join("+") || "transactions only", a] as const))(
    "every metrics, cohort and funnel query parses, for every breakdown and with a segment (%s)",
    async (_name, available) => {
      const connector = recordingConnector();
      const lifecycle = new LifecycleService(connector, defaultStageModel(), "Europe/Berlin", new Set(available));
      const segments = new SegmentService(lifecycle);
      const metrics = new MetricsService(lifecycle, segments);
      const all = METRICS.filter((m) => metricAvailable(m, lifecycle.available));
      const breakdowns = [undefined, "stage", "acquisition_channel", "cohort_month", "rfm_segment", "segment"] as const;
      for (const breakdown of breakdowns) {
        await metrics.measure({
          period: { from: "2026-06-01", to: "2026-06-30" },
          metrics: all,
          breakdown,
          segmentRule: { field: "revenue", op: "gte", value: 10 },
          segments: [
            { id: "s1", rule: { field: "purchaseDays", op: "gte", value: 2 } },
            { id: "s2", rule: { field: "recencyDays", op: "lt", value: 30 } },
          ],
        });
      }
      await new CohortService(lifecycle, segments).cohorts("2025-01-01", "2026-06-30", "2026-06-30", 12);
      await new CohortService(lifecycle, segments).cohorts("2025-01-01", "2026-06-30", "2026-06-30", 12, {
        all: [
          { field: "revenue", op: "gte", value: 10 },
          { field: "rfmSegment", op: "eq", value: "champions" },
        ],
      });
      await new FunnelService(lifecycle, segments).stageFunnel({
        asOf: "2026-06-30",
        firstSeen: { from: "2026-01-01", to: "2026-03-31" },
        segmentRule: { field: "revenue", op: "gte", value: 10 },
      });
      expect(connector.sent.length).toBeGreaterThanOrEqual(15);
      for (const q of connector.sent) expectBigQuerySql(q);
    },
  );

  it("random rules compile to BigQuery SQL that parses", () => {
    fc.assert(
      fc.property(rule, (r) => {
        const where = compileRuleSql(r, { column: (field) => ident("f", FEATURE_BY_FIELD.get(field)!.column) });
        expectBigQuerySql(sql`SELECT f.customer_id FROM ${ident("shop", "features")} AS f WHERE ${where}`);
      }),
      { numRuns: 300, seed: 11 },
    );
  });
});

describe("BigQuery decoding of lifecycle rows through the client library", () => {
  let fake: FakeBigQuery;
  beforeAll(async () => {
    const types: Record<string, string> = { number: "FLOAT", date: "DATE", string: "STRING" };
    fake = await startFakeBigQuery("clm-test-project", () => ({
      fields: [
        { name: "customer_id", type: "STRING" },
        ...FEATURES.map((f) => ({ name: f.column, type: types[f.type]! })),
      ],
      rows: [
        ["a", ...FEATURES.map((f) => (f.type === "number" ? "2" : f.type === "date" ? "2026-06-01" : "email"))],
        ["b", ...FEATURES.map(() => null)],
      ],
    }));
  });
  afterAll(async () => {
    await fake?.close();
  });

  it("turns DATE into YYYY-MM-DD, FLOAT into numbers and NULL into null, with the ids as a typed array", async () => {
    const connector = new BigQueryConnector(
      {
        project: "clm-test-project",
        dataset: "shop",
        location: undefined,
        maxBytesBilled: 1e9,
        clientOptions: fake.clientOptions,
      },
      DEFAULT_MAPPING,
    );
    const lifecycle = new LifecycleService(connector, defaultStageModel(), "UTC", new Set(["customers", "events"]));
    const features = await lifecycle.featuresOf("2026-06-30", ["a", "b"]);
    expect(features.get("a")).toMatchObject({
      purchaseDays: 2,
      firstPurchaseDate: "2026-06-01",
      acquisitionChannel: "email",
    });
    expect(features.get("b")).toMatchObject({ purchaseDays: null, firstPurchaseDate: null });
    const body = fake.requests.at(-1)!.body!;
    expect(body.labels).toEqual({ app: "clm-graphql", query: "customer_features" });
    const ids = (
      body.queryParameters as {
        parameterType: { type: string; arrayType?: { type: string } };
        parameterValue: unknown;
      }[]
    ).find((p) => p.parameterType.type === "ARRAY");
    expect(ids).toMatchObject({
      parameterType: { arrayType: { type: "STRING" } },
      parameterValue: { arrayValues: [{ value: "a" }, { value: "b" }] },
    });
  });
});

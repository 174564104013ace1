// Every SQL text the lifecycle sends to BigQuery analyzes on ZetaSQL (BigQuery's reference analyzer)
// against the contract tables, with the typed named parameters the connector declares, and its output
// columns have types the connector decodes into what the service reads. The texts use only named
// parameters and back-quoted identifiers, and rows decode through the real client from the wire format.
import fc from "fast-check";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { BigQueryConnector } from "../../src/connectors/bigquery.ts";
import type { QueryOptions, Row, StreamOptions } from "../../src/connectors/connector.ts";
import {
  DEFAULT_MAPPING,
  LOGICAL_TABLES,
  resolveMapping,
  type LogicalTable,
  type WarehouseMapping,
} from "../../src/sql/contract.ts";
import type { Sql } from "../../src/sql/sql.ts";
import { FEATURES } from "../../src/lifecycle/features.ts";
import { defaultStageModel } from "../../src/lifecycle/stage-model.ts";
import { LifecycleService } from "../../src/services/lifecycle/service.ts";
import { MetricsService } from "../../src/services/metrics.ts";
import { CohortService } from "../../src/services/cohorts.ts";
import { FunnelService } from "../../src/services/funnel.ts";
import { SegmentService } from "../../src/services/segments.ts";
import { memberCsvParts } from "../../src/server/export.ts";
import { METRICS, metricAvailable } from "../../src/lifecycle/metrics.ts";
import { seriesPeriods } from "../../src/lifecycle/calendar.ts";
import type { Rule } from "../../src/lifecycle/rules.ts";
import { rule } from "../helpers/arbitraries.ts";
import { startFakeBigQuery, type FakeBigQuery } from "../helpers/fake-bigquery.ts";
import {
  bigQueryJob,
  ContractCatalog,
  describeZetaSql,
  startZetaSql,
  type BigQueryJob,
  type ZetaSqlService,
} from "../helpers/zetasql.ts";

interface SentQuery {
  readonly label: string;
  readonly job: BigQueryJob;
}

/**
 * The real BigQuery connector, except that it records the jobs it would send instead of sending
 * them: empty results, and for the table-status probe every mapped column (so the row counts are
 * asked for too).
 */
class RecordingBigQuery extends BigQueryConnector {
  readonly sent: SentQuery[] = [];

  constructor(mapping: WarehouseMapping) {
    super({ project: "clm-test-project", dataset: "shop", location: undefined, maxBytesBilled: 1e9 }, mapping);
  }

  private record(query: Sql, options: QueryOptions): void {
    this.sent.push({ label: options.label ?? "query", job: bigQueryJob(query, this.mapping) });
  }

  override async query<R extends Row = Row>(query: Sql, options: QueryOptions = {}): Promise<R[]> {
    this.record(query, options);
    if (options.label !== "table_status") return [];
    if (/INFORMATION_SCHEMA/.test(this.jobRequest(query).query as string)) {
      const names = LOGICAL_TABLES.flatMap((t) => Object.values(this.mapping.tables[t].columns));
      return names.map((column_name) => ({ column_name })) as unknown as R[];
    }
    return [{ n: 0 }] as unknown as R[];
  }

  override async *stream<R extends Row = Row>(query: Sql, options: StreamOptions = {}): AsyncIterable<R[]> {
    this.record(query, options);
  }
}

/** Renamed tables and columns in a dataset: the texts read `shop`.`orders`.`total` and so on. */
const renamed = resolveMapping({
  schema: "shop",
  tables: {
    transactions: { table: "orders", columns: { amount: "total", customer_id: "buyer" } },
    customers: { table: "people" },
  },
});

const availability: LogicalTable[][] = [[], ["customers"], ["events"], ["customers", "events", "marketing_spend"]];
const availabilityName = (available: readonly LogicalTable[]) => available.join("+") || "transactions only";

/** Every query the lifecycle, stage, RFM, transaction, CLV, segment, export and status paths send. */
async function lifecycleQueries(available: readonly LogicalTable[]): Promise<SentQuery[]> {
  const connector = new RecordingBigQuery(renamed);
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
  await segments.size("2026-06-30", byRevenue);
  await segments.page("2026-06-30", byRfm, 20, "c000100");
  await segments.stageCounts("2026-06-30", byRevenue);
  // The recorder answers nothing, so the fit refuses thin data once the summaries are sent.
  await expect(lifecycle.clvModel("2026-06-30", "WEEK")).rejects.toThrow(/too little data/);
  // The segment export streams every member with every feature (BigQuery: one range, one query).
  for (const r of [byRevenue, byRfm]) {
    const parts = memberCsvParts(connector, segments, r, "2026-06-30");
    while (!(await parts.next()).done);
  }
  await connector.tableStatus();
  await connector.ping();
  return connector.sent;
}

const ALL_BREAKDOWNS = [undefined, "stage", "acquisition_channel", "cohort_month", "rfm_segment", "segment"] as const;
type Breakdown = (typeof ALL_BREAKDOWNS)[number];

/** Every metrics (for the breakdowns given, with segments), cohort and funnel query. */
async function reportQueries(
  available: readonly LogicalTable[],
  breakdowns: readonly Breakdown[],
): Promise<SentQuery[]> {
  const connector = new RecordingBigQuery(DEFAULT_MAPPING);
  const lifecycle = new LifecycleService(connector, defaultStageModel(), "Europe/Berlin", new Set(available));
  const segments = new SegmentService(lifecycle);
  const metrics = new MetricsService(lifecycle, segments);
  const all = METRICS.filter((m) => metricAvailable(m, lifecycle.available));
  const period = { from: "2026-06-01", to: "2026-06-30" };
  const segmentList = [
    { id: "s1", rule: { field: "purchaseDays", op: "gte", value: 2 } },
    { id: "s2", rule: { field: "recencyDays", op: "lt", value: 30 } },
  ] as const;
  for (const breakdown of breakdowns) {
    const segmentRule = { field: "revenue", op: "gte", value: 10 } as const;
    await metrics.measure({ period, metrics: all, breakdown, segmentRule, segments: segmentList });
    // Marketing spend is measured only without a segment rule, in total or per acquisition channel.
    if (breakdown === undefined || breakdown === "acquisition_channel") {
      await metrics.measure({ period, metrics: all, breakdown, segments: segmentList });
    }
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
  return connector.sent;
}

/** The queries of a metric series: monthly, with and without a segment (resolved per period, reading RFM). */
async function seriesQueries(available: readonly LogicalTable[]): Promise<SentQuery[]> {
  const connector = new RecordingBigQuery(DEFAULT_MAPPING);
  const lifecycle = new LifecycleService(connector, defaultStageModel(), "Europe/Berlin", new Set(available));
  const metrics = new MetricsService(lifecycle, new SegmentService(lifecycle));
  const all = METRICS.filter((m) => metricAvailable(m, lifecycle.available));
  const periods = seriesPeriods("2026-04-15", "2026-06-30", "month");
  await metrics.measureSeries({ periods, metrics: all });
  const segmentRules = periods.map((p) => ({
    all: [
      { field: "lastPurchaseDate", op: "gte", value: p.from },
      { field: "rfmRecency", op: "gte", value: 3 },
    ],
  })) satisfies Rule[];
  await metrics.measureSeries({ periods, metrics: all, segmentRules });
  return connector.sent;
}

/** Named parameters only (declared exactly as used), identifiers back-quoted, never double-quoted. */
function expectBigQueryText({ text, params }: BigQueryJob): void {
  expect(text).not.toMatch(/\$\d/);
  expect(text).not.toMatch(/"/);
  const used = new Set([...text.matchAll(/@(p\d+)/g)].map((m) => m[1]));
  expect([...used].sort()).toEqual(params.map((p) => p.name).sort());
}

/**
 * The type each output column must have, by query label. The connector decodes BigQuery's scalar
 * types only (STRING, INT64 and FLOAT64 as numbers, NUMERIC through Big, DATE as text, TIMESTAMP as
 * a Date, BOOL); the services read counts, indexes and scores as numbers (INT64), measures and
 * amounts as numbers (FLOAT64: no NUMERIC or BIGNUMERIC reaches them, whatever the amount column's
 * type), ids, keys and breakdown values as text, and feature dates as YYYY-MM-DD (DATE).
 */
const DECODED_FROM = { number: "FLOAT64", date: "DATE", string: "STRING" } as const;
const FEATURE_COLUMNS: Record<string, string> = {
  customer_id: "STRING",
  ...Object.fromEntries(FEATURES.map((f) => [f.column, DECODED_FROM[f.type]])),
};
const MEMBER_COLUMNS: Record<string, string> = {
  ...FEATURE_COLUMNS,
  stage_index: "INT64",
  stage_key: "STRING",
  furthest_stage_key: "STRING",
  rfm_r: "INT64",
  rfm_f: "INT64",
  rfm_m: "INT64",
  rfm_segment: "STRING",
};
const COUNTS = { stage_index: "INT64", n: "INT64" };
const EXPECTED: Record<string, Record<string, string> | ((column: string) => string)> = {
  customer_features: FEATURE_COLUMNS,
  stage_counts: COUNTS,
  stage_members: { customer_id: "STRING" },
  stage_transitions: { from_index: "INT64", to_index: "INT64", n: "INT64" },
  customer_transactions: {
    customer_id: "STRING",
    occurred_at: "TIMESTAMP",
    amount: "FLOAT64",
    order_id: "STRING",
    channel: "STRING",
    rn: "INT64",
  },
  stage_timings: {
    ...COUNTS,
    mean_seen: "FLOAT64",
    median_seen: "FLOAT64",
    mean_purchase: "FLOAT64",
    median_purchase: "FLOAT64",
  },
  customer_rfm: { customer_id: "STRING", r: "INT64", fq: "INT64", m: "INT64" },
  rfm_cells: { r: "INT64", fq: "INT64", m: "INT64", n: "INT64", revenue: "FLOAT64" },
  // x is purchase_days - 1, a FLOAT64 feature minus one.
  clv_summaries: { kind: "INT64", x: "FLOAT64", tx_days: "INT64", t_days: "INT64", zbar_cents: "FLOAT64", n: "INT64" },
  segment_size: { n: "INT64" },
  segment_members: { customer_id: "STRING" },
  segment_stages: COUNTS,
  segment_export: MEMBER_COLUMNS,
  table_status: { column_name: "STRING", n: "INT64" },
  ping: { ok: "INT64" },
  metric_measures: (column) => (column === "dim" ? "STRING" : "FLOAT64"),
  metric_spend: { dim: "STRING", spend: "FLOAT64" },
  metric_stage_stays: { dim: "STRING", spells: "FLOAT64", spell_days: "FLOAT64" },
  // A series groups by the period's index.
  metric_series_measures: (column) => (column === "dim" ? "INT64" : "FLOAT64"),
  metric_series_spend: { dim: "INT64", spend: "FLOAT64" },
  metric_series_stage_stays: { dim: "INT64", spells: "FLOAT64", spell_days: "FLOAT64" },
  cohort_activity: { cohort: "INT64", month_offset: "INT64", active: "INT64", revenue: "FLOAT64" },
  cohort_stages: { cohort: "INT64", ...COUNTS },
  stage_funnel: COUNTS,
};

function expectedType(label: string, column: string): string {
  const expected = EXPECTED[label];
  if (!expected) return `a type for a query labelled ${label}`;
  return (typeof expected === "function" ? expected(column) : expected[column]) ?? `no column ${column}`;
}

/** The jobs once each: analysis depends only on the text and the parameters' types. */
function distinct(sent: readonly SentQuery[]): SentQuery[] {
  const seen = new Set<string>();
  return sent.filter(({ job }) => {
    const key = JSON.stringify([job.text, job.params.map((p) => p.type)]);
    if (seen.has(key)) return false;
    seen.add(key);
    return true;
  });
}

describeZetaSql("BigQuery SQL texts on ZetaSQL", () => {
  let zeta: ZetaSqlService;
  beforeAll(async () => {
    zeta = await startZetaSql();
  });
  afterAll(async () => {
    await zeta?.stop();
  });

  // NUMERIC amounts with every set of optional tables; FLOAT64 amounts with none and with all of them,
  // which reads every numeric column (transactions.amount, events.value, marketing_spend.amount).
  const cases = availability.flatMap((available) =>
    (available.length === 0 || available.length === 3 ? (["NUMERIC", "FLOAT64"] as const) : (["NUMERIC"] as const)).map(
      (numericAs) => [availabilityName(available), numericAs, available] as const,
    ),
  );

  /**
   * Every query analyzes with named typed parameters; its columns have the expected types. A few
   * analyses at a time: the service answers each on a thread of its own.
   */
  async function expectAnalyzed(sent: readonly SentQuery[], catalog: ContractCatalog): Promise<void> {
    const queue = distinct(sent);
    const analyzeNext = async (): Promise<void> => {
      for (let next = queue.shift(); next; next = queue.shift()) {
        const { label, job } = next;
        expectBigQueryText(job);
        const columns = await zeta.analyzeJob(catalog, job).catch((error: Error) => {
          throw new Error(`${label}: ${error.message}\n${job.text}`);
        });
        expect(new Set(columns.map((c) => c.name)).size, label).toBe(columns.length);
        expect(columns, label).toEqual(columns.map((c) => ({ name: c.name, type: expectedType(label, c.name) })));
      }
    };
    await Promise.all([analyzeNext(), analyzeNext(), analyzeNext(), analyzeNext()]);
  }

  const LIFECYCLE_LABELS = [
    "customer_features",
    "stage_counts",
    "stage_members",
    "stage_transitions",
    "customer_transactions",
    "stage_timings",
    "customer_rfm",
    "rfm_cells",
    "segment_size",
    "segment_members",
    "segment_stages",
    "clv_summaries",
    "segment_export",
    "table_status",
    "ping",
  ];

  it.each(cases)(
    "every lifecycle, segment, CLV, export and status query analyzes with the decoded types (%s, amount %s)",
    async (_name, numericAs, available) => {
      const sent = await lifecycleQueries(available);
      expect(new Set(sent.map((q) => q.label))).toEqual(new Set(LIFECYCLE_LABELS));
      await expectAnalyzed(sent, new ContractCatalog({ dataset: "shop", mapping: renamed, numericAs }));
    },
  );

  it.each(cases)(
    "every metrics, cohort and funnel query analyzes with the decoded types (%s, amount %s)",
    async (_name, numericAs, available) => {
      // Every breakdown with every optional table; without some, the breakdowns whose SQL they change.
      const breakdowns = available.length === 3 ? ALL_BREAKDOWNS : ([undefined, "acquisition_channel"] as const);
      const sent = await reportQueries(available, breakdowns);
      const labels = ["metric_measures", "metric_stage_stays", "cohort_activity", "cohort_stages", "stage_funnel"];
      if (available.includes("marketing_spend")) labels.push("metric_spend");
      expect(new Set(sent.map((q) => q.label))).toEqual(new Set(labels));
      await expectAnalyzed(sent, new ContractCatalog({ dataset: "shop", mapping: DEFAULT_MAPPING, numericAs }));
    },
  );

  it.each(cases)(
    "every metric series query analyzes with the decoded types (%s, amount %s)",
    async (_name, numericAs, available) => {
      const sent = await seriesQueries(available);
      const labels = ["metric_series_measures", "metric_series_stage_stays"];
      if (available.includes("marketing_spend")) labels.push("metric_series_spend");
      expect(new Set(sent.map((q) => q.label))).toEqual(new Set(labels));
      await expectAnalyzed(sent, new ContractCatalog({ dataset: "shop", mapping: DEFAULT_MAPPING, numericAs }));
    },
  );

  it("random segment rules compile to BigQuery SQL that analyzes", async () => {
    const connector = new RecordingBigQuery(renamed);
    const segments = new SegmentService(
      new LifecycleService(connector, defaultStageModel(), "Europe/Berlin", new Set(["customers", "events"])),
    );
    const catalog = new ContractCatalog({ dataset: "shop", mapping: renamed });
    await fc.assert(
      fc.asyncProperty(rule, async (r) => {
        connector.sent.length = 0;
        await segments.size("2026-06-30", r);
        await expectAnalyzed(connector.sent, catalog);
      }),
      { numRuns: 40, seed: 11 },
    );
  });

  it("rejects what BigQuery rejects: an unknown column, an undeclared parameter", async () => {
    const catalog = new ContractCatalog({ dataset: "shop", mapping: renamed });
    const text = "SELECT t.`amount` AS a FROM `shop`.`orders` AS t";
    await expect(zeta.analyzeJob(catalog, { text, params: [] })).rejects.toThrow(/amount/);
    const job = { text: "SELECT t.`total` AS a FROM `shop`.`orders` AS t WHERE t.`buyer` = @p1", params: [] };
    await expect(zeta.analyzeJob(catalog, job)).rejects.toThrow(/p1/);
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

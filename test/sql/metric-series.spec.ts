// A metric series measures each period exactly as the metrics question does for that period alone, on
// random shops (purchases with refunds, sign-ups, referrals, events, surveys, marketing spend) and random
// ranges of days, weeks, months and quarters, with and without a segment (relative dates and RFM scores
// included): on every warehouse and on BigQuery as ZetaSQL runs it. And the series takes one warehouse
// query per source of measures however many periods it has.
// Days are local days in America/New_York; instants include the edges of days.
import fc from "fast-check";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { ContractRow } from "../../src/connectors/connector.ts";
import { addDays, seriesPeriods, startOfDay, type SeriesInterval } from "../../src/lifecycle/calendar.ts";
import type { EventType } from "../../src/lifecycle/features.ts";
import { METRICS } from "../../src/lifecycle/metrics.ts";
import type { Rule } from "../../src/lifecycle/rules.ts";
import { resolveDefinition } from "../../src/lifecycle/segment-definition.ts";
import { defaultStageModel } from "../../src/lifecycle/stage-model.ts";
import type { LogicalTable } from "../../src/sql/contract.ts";
import { LifecycleService } from "../../src/services/lifecycle/service.ts";
import { MetricsService } from "../../src/services/metrics.ts";
import { SegmentService } from "../../src/services/segments.ts";
import { testWarehouses, type TestWarehouse, type WarehouseFactory } from "../helpers/databases.ts";
import { describeOnZetaSql } from "../helpers/zetasql-warehouse.ts";

const ZONE = "America/New_York";
const ALL_TABLES: readonly LogicalTable[] = ["transactions", "customers", "events", "marketing_spend"];
/** Data from here on; series start from SERIES_FIRST (earlier rows make prior windows and stages). */
const DATA_FIRST = "2025-11-01";
const SERIES_FIRST = "2026-01-01";
const DATA_DAYS = 250;
const EVENT_TYPES: readonly EventType[] = [{ key: "lead", values: ["lead", "contact_form"] }];
const CUSTOMERS = ["c0", "c1", "c2", "c3", "c4", "c5"];

/** An instant on a random day of the data, often at the edges of the local day. */
const instant = fc
  .tuple(fc.integer({ min: 0, max: DATA_DAYS }), fc.constantFrom("start", "end", "noon"))
  .map(([d, where]) => {
    const day = addDays(DATA_FIRST, d);
    const start = startOfDay(day, ZONE).getTime();
    if (where === "start") return start;
    if (where === "end") return startOfDay(addDays(day, 1), ZONE).getTime() - 1;
    return start + 12 * 3_600_000;
  });

const day = fc.integer({ min: 0, max: DATA_DAYS }).map((d) => addDays(DATA_FIRST, d));

// Amounts in halves: sums are exact in binary floating point, so every engine and grouping agrees.
const shop = fc.record({
  transactions: fc.array(
    fc.tuple(
      fc.constantFrom(...CUSTOMERS),
      instant,
      // Refunds (negative amounts) among the purchases.
      fc.integer({ min: -60, max: 400 }).map((halves) => halves / 2),
      fc.option(fc.constantFrom("o1", "o2", "o3"), { nil: null, freq: 3 }),
      fc.constant("web"),
    ),
    { maxLength: 24 },
  ),
  customers: fc.array(
    fc.tuple(
      fc.constantFrom(...CUSTOMERS),
      instant,
      fc.option(fc.constantFrom("email", "search"), { nil: null }),
      fc.option(fc.constantFrom(...CUSTOMERS), { nil: null }),
    ),
    { maxLength: 6 },
  ),
  events: fc.array(
    fc.oneof(
      fc.tuple(
        fc.constantFrom(...CUSTOMERS),
        instant,
        fc.constantFrom("visit", "lead", "contact_form"),
        fc.constant(null),
      ),
      fc.tuple(fc.constantFrom(...CUSTOMERS), instant, fc.constant("nps"), fc.integer({ min: 0, max: 10 })),
    ),
    { maxLength: 12 },
  ),
  marketing_spend: fc.array(
    fc.tuple(
      day,
      fc.constantFrom("email", "search"),
      fc.integer({ min: 0, max: 200 }).map((halves) => halves / 2),
    ),
    { maxLength: 6 },
  ),
});

/** A series: an interval and a range of at most a few of its periods within the data. */
const series = fc
  .tuple(
    fc.constantFrom<SeriesInterval>("day", "week", "month", "quarter"),
    fc.integer({ min: 0, max: 150 }),
    fc.integer({ min: 0, max: 1_000 }),
  )
  .map(([interval, start, length]) => {
    const longest = { day: 4, week: 24, month: 75, quarter: 110 }[interval];
    const from = addDays(SERIES_FIRST, start);
    return { interval, from, to: addDays(from, length % (longest + 1)) };
  });

/** Segments a series may be restricted to: a feature, a stage, a relative date (resolved per period), RFM. */
const SEGMENTS: readonly (Rule | undefined)[] = [
  undefined,
  { field: "purchaseDays", op: "gte", value: 1 },
  { field: "stage", op: "in", value: ["new", "retained", "churned"] },
  { field: "lastPurchaseDate", op: "gte", value: { daysAgo: 30 } },
  { field: "rfmRecency", op: "gte", value: 3 },
];

async function fill(warehouse: TestWarehouse, rows: Record<string, ContractRow[]>): Promise<void> {
  await warehouse.createTables({ replace: true });
  for (const table of ALL_TABLES) {
    const tableRows = rows[table] ?? [];
    if (tableRows.length > 0) await warehouse.append(table, tableRows);
  }
}

function metricsOn(warehouse: TestWarehouse): MetricsService {
  const lifecycle = new LifecycleService(warehouse, defaultStageModel(), ZONE, new Set(ALL_TABLES), {
    eventTypes: EVENT_TYPES,
    interestEvents: ["lead"],
  });
  return new MetricsService(lifecycle, new SegmentService(lifecycle));
}

function agreesWithOnePeriod(label: string, factory: () => WarehouseFactory, runs: number): void {
  describe(`a metric series on ${label}`, () => {
    let warehouse: TestWarehouse;
    beforeAll(async () => {
      warehouse = await factory().open();
    });
    afterAll(async () => {
      await warehouse?.close();
    });

    it("measures every period as the metrics question does for that period alone", async () => {
      await fc.assert(
        fc.asyncProperty(shop, series, fc.constantFrom(...SEGMENTS), async (rows, range, segment) => {
          await fill(warehouse, rows as Record<string, ContractRow[]>);
          const service = metricsOn(warehouse);
          const periods = seriesPeriods(range.from, range.to, range.interval);
          const rules = segment ? periods.map((p) => resolveDefinition(segment, p.to, () => undefined)) : undefined;
          const measured = await service.measureSeries({ periods, metrics: METRICS, segmentRules: rules });
          expect(measured.map((m) => m.period)).toEqual(periods);
          for (const [i, period] of periods.entries()) {
            const alone = await service.measure({ period, metrics: METRICS, segmentRule: rules?.[i] });
            expect(measured[i]!.total, `${period.from}..${period.to}`).toEqual(alone.total);
          }
        }),
        { numRuns: runs, endOnFailure: true },
      );
    }, 180_000);
  });
}

// The single-period side (stays in stages: a features query per snapshot day) is most of each run's time.
for (const factory of testWarehouses()) agreesWithOnePeriod(factory.label, () => factory, 20);

describeOnZetaSql("a metric series on BigQuery", (warehouses) => {
  agreesWithOnePeriod("BigQuery on ZetaSQL", () => warehouses({ numericAs: "NUMERIC" }), 6);
});

describe.each(testWarehouses())("the warehouse queries of a metric series on $label", (factory) => {
  let warehouse: TestWarehouse;
  beforeAll(async () => {
    warehouse = await factory.open();
    await fill(warehouse, {
      transactions: [
        ["c0", Date.parse("2025-12-20T15:00:00Z"), 20, "o1", "web"],
        ["c1", Date.parse("2026-02-03T15:00:00Z"), 35, null, "web"],
      ],
      customers: [["c2", Date.parse("2026-01-05T15:00:00Z"), "email", "c0"]],
      events: [["c1", Date.parse("2026-02-04T15:00:00Z"), "nps", 9]],
      marketing_spend: [["2026-02-01", "email", 50]],
    });
  });
  afterAll(async () => {
    await warehouse?.close();
  });

  it("are one per source of measures, however many periods", async () => {
    const labels: string[] = [];
    const counted = new Proxy(warehouse, {
      get(target, property) {
        if (property === "query")
          return (query: never, options?: { label?: string }) => {
            labels.push(options?.label ?? "unlabelled");
            return target.query(query, options);
          };
        const value = Reflect.get(target, property) as unknown;
        return typeof value === "function" ? value.bind(target) : value;
      },
    });
    const service = metricsOn(counted);
    const asked = (from: string, to: string, interval: SeriesInterval) => {
      labels.length = 0;
      return service.measureSeries({ periods: seriesPeriods(from, to, interval), metrics: METRICS });
    };
    const one = ["metric_series_measures", "metric_series_spend", "metric_series_stage_stays"];
    for (const [from, to, interval, periods] of [
      ["2026-02-01", "2026-02-28", "month", 1],
      ["2026-01-01", "2026-06-30", "month", 6],
      ["2026-01-01", "2026-03-31", "week", 14],
      ["2026-01-01", "2026-02-14", "day", 45],
    ] as const) {
      const measured = await asked(from, to, interval);
      expect(measured).toHaveLength(periods);
      expect([...labels].sort(), `${periods} periods`).toEqual(one);
    }
    // A metric reading one source asks that source only.
    labels.length = 0;
    await service.measureSeries({
      periods: seriesPeriods("2026-01-01", "2026-12-31", "month"),
      metrics: METRICS.filter((m) => m.key === "active_customers"),
    });
    expect(labels).toEqual(["metric_series_measures"]);
  });
});

// `metricSeries` through GraphQL on every warehouse, on the hand-built shop (test/fixtures/metrics.ts):
// each point equals `metrics` for its period alone (June as worked out by hand), a segment restricts
// every point, the warehouse is asked once per group of measures whatever the number of periods, bad
// ranges are refused with a code and the argument at fault, and a long series costs more of the
// answer budget.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { MAX_ANSWER_VALUES } from "../../src/server/limits.ts";
import { testWarehouses } from "../helpers/databases.ts";
import { startTestServer, type TestServer } from "../helpers/server.ts";
import { EXPECTED_JUNE, METRIC_ROWS } from "../fixtures/metrics.ts";

interface Value {
  key: string;
  unit: string;
  available: boolean;
  value: number | null;
  population: number | null;
  period: { from: string; to: string; days: number };
}

interface Point {
  period: { from: string; to: string; days: number };
  values: Value[];
}

const VALUE_FIELDS = "key unit available value population period { from to days }";

const SERIES_QUERY = `query($keys: [MetricKey!]!, $from: Date!, $to: Date!, $interval: SeriesInterval, $segmentId: ID) {
  metricSeries(keys: $keys, from: $from, to: $to, interval: $interval, segmentId: $segmentId) {
    period { from to days }
    values { ${VALUE_FIELDS} }
  }
}`;

const METRICS_QUERY = `query($keys: [MetricKey!], $period: PeriodInput!, $segmentId: ID) {
  metrics(keys: $keys, period: $period, segmentId: $segmentId) { ${VALUE_FIELDS} }
}`;

const ALL_KEYS = Object.keys(EXPECTED_JUNE).map((k) => k.toUpperCase());

describe.each(testWarehouses())("metricSeries on the fixture in $label", (factory) => {
  let server: TestServer;
  const series = async (variables: Record<string, unknown>): Promise<Point[]> => {
    const { data, errors } = await server.graphql<{ metricSeries: Point[] }>(SERIES_QUERY, variables);
    expect(errors).toBeUndefined();
    return data!.metricSeries;
  };
  const alone = async (variables: Record<string, unknown>): Promise<Value[]> => {
    const { data, errors } = await server.graphql<{ metrics: Value[] }>(METRICS_QUERY, variables);
    expect(errors).toBeUndefined();
    return data!.metrics;
  };

  beforeAll(async () => {
    server = await startTestServer({ warehouseFactory: factory, rows: METRIC_ROWS });
  });
  afterAll(async () => {
    await server?.close();
  });

  it("gives each calendar month what metrics gives for it alone, June as worked out by hand", async () => {
    const points = await series({ keys: ALL_KEYS, from: "2026-04-20", to: "2026-06-30", interval: "MONTH" });
    // Clipped to the range at its start.
    expect(points.map((p) => p.period)).toEqual([
      { from: "2026-04-20", to: "2026-04-30", days: 11 },
      { from: "2026-05-01", to: "2026-05-31", days: 31 },
      { from: "2026-06-01", to: "2026-06-30", days: 30 },
    ]);
    for (const point of points) {
      expect(point.values.map((v) => v.key)).toEqual(ALL_KEYS);
      const expected = await alone({ keys: ALL_KEYS, period: { from: point.period.from, to: point.period.to } });
      expect(point.values, point.period.from).toEqual(expected);
    }
    const june = new Map(points[2]!.values.map((v) => [v.key.toLowerCase(), v.value]));
    for (const [key, value] of Object.entries(EXPECTED_JUNE)) {
      if (value === null) expect(june.get(key), key).toBeNull();
      else expect(june.get(key), key).toBeCloseTo(value, 9);
    }
  });

  it("splits a range into ISO weeks and quarters, each point as metrics gives it", async () => {
    const keys = ["REVENUE", "ACTIVE_CUSTOMERS", "CHURN_RATE", "AVERAGE_DAYS_IN_STAGE", "CAC"];
    const weeks = await series({ keys, from: "2026-06-10", to: "2026-06-30", interval: "WEEK" });
    // 2026-06-10 is a Wednesday; weeks run Monday to Sunday.
    expect(weeks.map((p) => [p.period.from, p.period.to])).toEqual([
      ["2026-06-10", "2026-06-14"],
      ["2026-06-15", "2026-06-21"],
      ["2026-06-22", "2026-06-28"],
      ["2026-06-29", "2026-06-30"],
    ]);
    const quarters = await series({ keys, from: "2026-02-15", to: "2026-07-05", interval: "QUARTER" });
    expect(quarters.map((p) => [p.period.from, p.period.to])).toEqual([
      ["2026-02-15", "2026-03-31"],
      ["2026-04-01", "2026-06-30"],
      ["2026-07-01", "2026-07-05"],
    ]);
    for (const point of [...weeks, ...quarters]) {
      const expected = await alone({ keys, period: { from: point.period.from, to: point.period.to } });
      expect(point.values, point.period.from).toEqual(expected);
    }
  });

  it("restricts every point to a saved segment's members on the period's last day", async () => {
    const segment = await server.appDb.prisma.segment.create({
      data: {
        name: `recent buyers ${factory.label}`,
        // Resolved for each period's last day: a different date in each point.
        definition: { field: "lastPurchaseDate", op: "gte", value: { daysAgo: 20 } },
      },
    });
    const keys = ["REVENUE", "ACTIVE_CUSTOMERS", "HISTORICAL_LTV", "CAC"];
    const points = await series({
      keys,
      from: "2026-05-01",
      to: "2026-06-30",
      interval: "MONTH",
      segmentId: segment.id,
    });
    for (const point of points) {
      const period = { from: point.period.from, to: point.period.to };
      expect(point.values, point.period.from).toEqual(await alone({ keys, period, segmentId: segment.id }));
    }
    // Recent buyers on 06-30 (a last purchase on or after 06-10): A, C, D, I; in June 100 + 80 + 80 + 10.
    expect(points[1]!.values[0]!.value).toBe(270);
  });

  it("asks the warehouse once per group of measures, however many periods", async () => {
    const labelsOf = async (from: string, to: string, interval: string) => {
      server.warehouseQueries.length = 0;
      await series({ keys: ALL_KEYS, from, to, interval });
      return [...server.warehouseQueries].sort();
    };
    const groups = ["metric_series_measures", "metric_series_spend", "metric_series_stage_stays"];
    expect(await labelsOf("2026-06-01", "2026-06-30", "MONTH")).toEqual(groups);
    expect(await labelsOf("2025-07-01", "2026-06-30", "MONTH")).toEqual(groups);
    expect(await labelsOf("2026-04-01", "2026-06-30", "DAY")).toEqual(groups);
  });

  it("refuses a range backwards or of too many periods, and an unknown segment, naming the argument", async () => {
    const refused = async (variables: Record<string, unknown>) => {
      server.warehouseQueries.length = 0;
      const { errors } = await server.graphql(SERIES_QUERY, { keys: ["REVENUE"], ...variables });
      expect(server.warehouseQueries).toEqual([]);
      return errors![0]!;
    };
    const backwards = await refused({ from: "2026-06-30", to: "2026-06-01" });
    expect(backwards.extensions).toMatchObject({ code: "BAD_USER_INPUT", argument: "to" });
    // 401 days; 400 are allowed, as are 120 months.
    const days = await refused({ from: "2025-06-01", to: "2026-07-06", interval: "DAY" });
    expect(days.extensions).toMatchObject({ code: "BAD_USER_INPUT", argument: "interval" });
    expect(days.message).toMatch(/401 periods of a day; at most 400/);
    const months = await refused({ from: "2016-01-01", to: "2026-01-01", interval: "MONTH" });
    expect(months.extensions).toMatchObject({ code: "BAD_USER_INPUT", argument: "interval" });
    const segment = await refused({ from: "2026-06-01", to: "2026-06-30", segmentId: "nope" });
    expect(segment.extensions).toMatchObject({ code: "NOT_FOUND", argument: "segmentId" });
  });

  it("counts a long series' periods in the answer budget before anything runs", async () => {
    // Three aliases of a series with every value field: 400 daily points each pass the budget only
    // as months.
    const aliased = (interval: string) => `query {
      ${["a", "b", "c"]
        .map(
          (
            alias,
          ) => `${alias}: metricSeries(keys: [REVENUE], from: "2025-06-01", to: "2026-07-04", interval: ${interval}) {
            period { from to days } values { key name description unit available ${VALUE_FIELDS} }
          }`,
        )
        .join("\n")}
    }`;
    server.warehouseQueries.length = 0;
    const daily = await server.graphql(aliased("DAY"));
    expect(daily.errors![0]!.extensions).toMatchObject({ code: "QUERY_TOO_EXPENSIVE", limit: "answerValues" });
    expect((daily.errors![0]!.extensions as { estimated: number }).estimated).toBeGreaterThan(MAX_ANSWER_VALUES);
    expect(server.warehouseQueries).toEqual([]);
    const monthly = await server.graphql(aliased("MONTH"));
    expect(monthly.errors).toBeUndefined();
  });
});

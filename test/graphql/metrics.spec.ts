// Every metric on the hand-built fixture (test/fixtures/metrics.ts), through GraphQL, on every warehouse:
// values, the comparison period, breakdowns and the segment filter.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { METRIC_BY_KEY } from "../../src/lifecycle/metrics.ts";
import { defaultStageModel } from "../../src/lifecycle/stage-model.ts";
import { LifecycleService } from "../../src/services/lifecycle/service.ts";
import { MetricsService } from "../../src/services/metrics.ts";
import { SegmentService } from "../../src/services/segments.ts";
import { testWarehouses } from "../helpers/databases.ts";
import { startTestServer, type TestServer } from "../helpers/server.ts";
import {
  EXPECTED_BY_CHANNEL,
  EXPECTED_JUNE,
  EXPECTED_MAY,
  EXPECTED_NPS_BY_STAGE,
  EXPECTED_REVENUE_BY_COHORT,
  EXPECTED_STAYS_BY_STAGE,
  JUNE,
  MAY,
  METRIC_ROWS,
} from "../fixtures/metrics.ts";

interface MetricData {
  key: string;
  unit: string;
  available: boolean;
  value: number | null;
  population: number | null;
  period: { from: string; to: string; days: number };
  comparison: { value: number | null; change: number | null; relativeChange: number | null } | null;
  breakdown: { key: string | null; value: number | null; comparison: { value: number | null } | null }[] | null;
}

const METRICS_QUERY = `query($keys: [MetricKey!], $period: PeriodInput!, $compareTo: PeriodInput, $breakdown: MetricBreakdown, $segmentId: ID) {
  metrics(keys: $keys, period: $period, compareTo: $compareTo, breakdown: $breakdown, segmentId: $segmentId) {
    key unit available value population period { from to days }
    comparison { value change relativeChange }
    breakdown { key value comparison { value } }
  }
}`;

const close = (actual: number | null | undefined, expected: number | null, label: string) => {
  if (expected === null) expect(actual, label).toBeNull();
  else expect(actual, label).toBeCloseTo(expected, 9);
};

describe.each(testWarehouses())("metrics on the fixture in $label", (factory) => {
  let server: TestServer;
  const metrics = async (variables: Record<string, unknown>) => {
    const { data, errors } = await server.graphql<{ metrics: MetricData[] }>(METRICS_QUERY, variables);
    expect(errors).toBeUndefined();
    return new Map(data!.metrics.map((m) => [m.key.toLowerCase(), m]));
  };

  beforeAll(async () => {
    server = await startTestServer({ warehouseFactory: factory, rows: METRIC_ROWS });
  });
  afterAll(async () => {
    await server?.close();
  });

  it("computes every metric for June as worked out by hand, compared with May", async () => {
    const byKey = await metrics({ period: JUNE, compareTo: MAY });
    // The lead-to-customer metrics need interest event types, which this shop's default config has not.
    const needInterest = ["lead_to_customer_rate", "median_days_lead_to_customer"];
    expect([...byKey.keys()].sort()).toEqual([...Object.keys(EXPECTED_JUNE), ...needInterest].sort());
    for (const key of needInterest)
      expect([byKey.get(key)!.available, byKey.get(key)!.value], key).toEqual([false, null]);
    for (const [key, expected] of Object.entries(EXPECTED_JUNE)) {
      const m = byKey.get(key)!;
      expect(m.available, key).toBe(true);
      expect(m.period).toEqual({ ...JUNE, days: 30 });
      close(m.value, expected, key);
      if (key in EXPECTED_MAY) {
        const before = EXPECTED_MAY[key]!;
        close(m.comparison!.value, before, `${key} in May`);
        close(m.comparison!.change, expected === null || before === null ? null : expected - before, `${key} change`);
      }
      expect(m.breakdown).toBeNull();
    }
    close(byKey.get("revenue")!.comparison!.relativeChange, 130 / 140, "revenue relative change");
    expect(byKey.get("conversion_rate")!.population).toBe(5);
    expect(byKey.get("average_order_value")!.population).toBe(7);
    expect(byKey.get("nps")!.unit).toBe("SCORE");
  });

  it("breaks CAC and LTV:CAC down by acquisition channel", async () => {
    const byKey = await metrics({ keys: ["CAC", "LTV_TO_CAC"], period: JUNE, breakdown: "ACQUISITION_CHANNEL" });
    for (const [key, expected] of Object.entries(EXPECTED_BY_CHANNEL)) {
      const groups = new Map(byKey.get(key)!.breakdown!.map((g) => [g.key, g.value]));
      for (const [channel, value] of Object.entries(expected)) close(groups.get(channel), value, `${key} ${channel}`);
      // No spend on referrals, and none without a channel: no acquisition cost to give.
      expect(groups.get("referral") ?? null).toBeNull();
      expect(groups.get(null) ?? null).toBeNull();
      close(byKey.get(key)!.value, EXPECTED_JUNE[key]!, `${key} total`);
    }
  });

  it("breaks NPS and stays in stages down by stage, in the model's order", async () => {
    const byKey = await metrics({ keys: ["NPS", "AVERAGE_DAYS_IN_STAGE"], period: JUNE, breakdown: "STAGE" });
    const nps = new Map(byKey.get("nps")!.breakdown!.map((g) => [g.key, g.value]));
    for (const [stage, value] of Object.entries(EXPECTED_NPS_BY_STAGE)) close(nps.get(stage), value, `nps ${stage}`);
    const stays = byKey.get("average_days_in_stage")!.breakdown!;
    expect(stays.map((g) => g.key)).toEqual(["prospect", "new", "developing"]);
    for (const [stage, value] of Object.entries(EXPECTED_STAYS_BY_STAGE))
      close(stays.find((g) => g.key === stage)?.value, value, `stay ${stage}`);
  });

  it("breaks revenue down by cohort month, and groups of a breakdown add up to the total", async () => {
    const byKey = await metrics({ keys: ["REVENUE", "ACTIVE_CUSTOMERS"], period: JUNE, breakdown: "COHORT_MONTH" });
    const revenue = byKey.get("revenue")!.breakdown!;
    for (const [month, value] of Object.entries(EXPECTED_REVENUE_BY_COHORT))
      close(revenue.find((g) => g.key === month)?.value, value, `revenue ${month}`);
    for (const breakdown of ["STAGE", "ACQUISITION_CHANNEL", "RFM_SEGMENT"]) {
      const split = await metrics({ keys: ["ACTIVE_CUSTOMERS", "REVENUE"], period: JUNE, breakdown });
      for (const [key, total] of [
        ["active_customers", 4],
        ["revenue", 270],
      ] as const) {
        const sum = split.get(key)!.breakdown!.reduce((s, g) => s + (g.value ?? 0), 0);
        expect(sum, `${key} by ${breakdown}`).toBeCloseTo(total, 9);
      }
    }
  });

  it("restricts every metric to a saved segment's members", async () => {
    const segment = await server.appDb.prisma.segment.create({
      data: {
        name: `social ${factory.label}`,
        definition: { field: "acquisitionChannel", op: "eq", value: "social" },
      },
    });
    // Social on 06-30: C, D, I; in June C 80, D 80, I 10.
    const byKey = await metrics({ keys: ["REVENUE", "ACTIVE_CUSTOMERS"], period: JUNE, segmentId: segment.id });
    close(byKey.get("revenue")!.value, 170, "segment revenue");
    close(byKey.get("active_customers")!.value, 3, "segment buyers");

    // Revenue of 100 or more by 06-30: A (100), D (120), E (300); in June A 100, D 80.
    const big = await server.appDb.prisma.segment.create({
      data: { name: `big ${factory.label}`, definition: { field: "revenue", op: "gte", value: 100 } },
    });
    const { data, errors } = await server.graphql<{
      metrics: { key: string; breakdown: { key: string; label: string; value: number }[] }[];
    }>(
      `query($period: PeriodInput!) { metrics(keys: [REVENUE, ACTIVE_CUSTOMERS], period: $period, breakdown: SEGMENT) {
        key breakdown { key label value } } }`,
      { period: JUNE },
    );
    expect(errors).toBeUndefined();
    const [revenue, active] = data!.metrics;
    // By name; a customer in both (D) counts in both.
    expect(revenue!.breakdown).toEqual([
      { key: big.id, label: big.name, value: 180 },
      { key: segment.id, label: segment.name, value: 170 },
    ]);
    expect(active!.breakdown.map((g) => g.value)).toEqual([2, 3]);
  });

  it("gives zero counts and no rates for a segment without members, and no CAC for a segment", async () => {
    const empty = await server.appDb.prisma.segment.create({
      data: { name: `nobody ${factory.label}`, definition: { field: "revenue", op: "gt", value: 1e9 } },
    });
    const byKey = await metrics({
      keys: ["REVENUE", "ACTIVE_CUSTOMERS", "CONVERSION_RATE", "CAC"],
      period: JUNE,
      segmentId: empty.id,
    });
    expect(byKey.get("revenue")!.value).toBe(0);
    expect(byKey.get("active_customers")!.value).toBe(0);
    expect(byKey.get("conversion_rate")!.value).toBeNull();
    // Spend is not attributed to segments: CAC has no value for one, even a full one.
    const social = await server.appDb.prisma.segment.findFirst({ where: { name: `social ${factory.label}` } });
    expect((await metrics({ keys: ["CAC"], period: JUNE, segmentId: social!.id })).get("cac")!.value).toBeNull();
    const split = await metrics({ keys: ["ACTIVE_CUSTOMERS"], period: JUNE, breakdown: "SEGMENT" });
    expect(split.get("active_customers")!.breakdown!.find((g) => g.key === empty.id)?.value).toBe(0);
    await server.appDb.prisma.segment.update({ where: { id: empty.id }, data: { archived: true } });
  });

  it("reads survey answers of the configured event type only", async () => {
    const tables = new Set(["customers", "events", "marketing_spend"] as const);
    const csat = new LifecycleService(server.warehouse, defaultStageModel(), "UTC", tables, {
      surveyEventType: "csat",
    });
    const nps = METRIC_BY_KEY.get("nps")!;
    const measured = await new MetricsService(csat, new SegmentService(csat)).measure({ period: JUNE, metrics: [nps] });
    expect(measured.total.survey_responses).toBe(0);
    expect(nps.value(measured.total)).toBeNull();
  });

  it("answers bad input with a code and the argument at fault", async () => {
    const backwards = await server.graphql(METRICS_QUERY, { period: { from: "2026-06-30", to: "2026-06-01" } });
    expect(backwards.errors![0]!.extensions).toMatchObject({ code: "BAD_USER_INPUT", argument: "period" });
    const noSegment = await server.graphql(METRICS_QUERY, { period: JUNE, segmentId: "nope" });
    expect(noSegment.errors![0]!.extensions).toMatchObject({ code: "NOT_FOUND", argument: "segmentId" });
    const broken = await server.appDb.prisma.segment.create({
      data: { name: `broken ${factory.label}`, definition: { field: "shoeSize", op: "eq", value: 4 } },
    });
    const invalid = await server.graphql(METRICS_QUERY, { period: JUNE, segmentId: broken.id });
    expect(invalid.errors![0]!.extensions).toMatchObject({ code: "INVALID_SEGMENT", argument: "segmentId" });
  });
});

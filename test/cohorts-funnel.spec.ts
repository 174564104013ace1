// The cohort matrix and the stage funnel on the hand-built fixture (test/fixtures/metrics.ts), through
// GraphQL, on every warehouse.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { testWarehouses } from "./helpers/databases.ts";
import { startTestServer, type TestServer } from "./helpers/server.ts";
import {
  EXPECTED_COHORTS,
  EXPECTED_FUNNEL,
  EXPECTED_JUNE_LEADS_FUNNEL,
  JUNE,
  METRIC_ROWS,
} from "./fixtures/metrics.ts";

interface FunnelData {
  funnel: {
    stage: { key: string };
    reached: number;
    atStage: number;
    shareOfFirst: number | null;
    conversionFromPrevious: number | null;
    dropOffFromPrevious: number | null;
  }[];
}

interface CohortData {
  cohorts: {
    month: string;
    customers: number;
    revenue: number;
    revenuePerCustomer: number | null;
    months: { offset: number; month: string; activeCustomers: number; retention: number; revenue: number }[];
    stages: { stage: { key: string }; count: number }[];
  }[];
}

const FUNNEL_QUERY = `query($asOf: Date, $firstSeen: PeriodInput) {
  funnel(asOf: $asOf, firstSeen: $firstSeen) {
    stage { key } reached atStage shareOfFirst conversionFromPrevious dropOffFromPrevious
  }
}`;

describe.each(testWarehouses())("cohorts and funnel on the fixture in $label", (factory) => {
  let server: TestServer;
  beforeAll(async () => {
    server = await startTestServer({ warehouseFactory: factory, rows: METRIC_ROWS });
  });
  afterAll(async () => {
    await server?.close();
  });

  it("counts how far customers got, with drop-off between consecutive progress stages", async () => {
    const { data, errors } = await server.graphql<FunnelData>(FUNNEL_QUERY, { asOf: JUNE.to });
    expect(errors).toBeUndefined();
    const steps = data!.funnel;
    expect(steps.map((s) => s.stage.key)).toEqual(Object.keys(EXPECTED_FUNNEL));
    for (const step of steps) {
      expect({ atStage: step.atStage, reached: step.reached }, step.stage.key).toEqual(
        EXPECTED_FUNNEL[step.stage.key as keyof typeof EXPECTED_FUNNEL],
      );
    }
    expect(steps[0]!.conversionFromPrevious).toBeNull();
    expect(steps[1]!.dropOffFromPrevious).toBeCloseTo(2 / 9, 12);
    expect(steps[2]!.dropOffFromPrevious).toBeCloseTo(2 / 7, 12);
    expect(steps[3]!.conversionFromPrevious).toBeCloseTo(4 / 5, 12);
    expect(steps[4]!.dropOffFromPrevious).toBeCloseTo(3 / 4, 12);
    expect(steps[5]!.dropOffFromPrevious).toBe(0);
    expect(steps[5]!.shareOfFirst).toBeCloseTo(1 / 9, 12);
  });

  it("narrows the funnel to the leads first seen in a period", async () => {
    const { data, errors } = await server.graphql<FunnelData>(FUNNEL_QUERY, { asOf: JUNE.to, firstSeen: JUNE });
    expect(errors).toBeUndefined();
    expect(data!.funnel.map((s) => s.reached)).toEqual(EXPECTED_JUNE_LEADS_FUNNEL);
    expect(data!.funnel[4]!.dropOffFromPrevious).toBe(1);
    // Nobody reached loyal, so there is no rate from it to advocate.
    expect(data!.funnel[5]!.conversionFromPrevious).toBeNull();
  });

  it("builds the retention matrix, revenue and stages of each first-purchase cohort", async () => {
    const { data, errors } = await server.graphql<CohortData>(
      `query { cohorts(from: "2025-01-15", to: "2026-06-01", asOf: "2026-06-30", months: 12) {
        month customers revenue revenuePerCustomer
        months { offset month activeCustomers retention revenue }
        stages { stage { key } count }
      } }`,
    );
    expect(errors).toBeUndefined();
    const cohorts = data!.cohorts;
    expect(cohorts).toHaveLength(18); // 2025-01 … 2026-06, empty months included
    expect(cohorts[0]!.month).toBe("2025-01");
    expect(cohorts.at(-1)!.month).toBe("2026-06");
    for (const cohort of cohorts) {
      const expected = EXPECTED_COHORTS[cohort.month as keyof typeof EXPECTED_COHORTS];
      if (!expected) {
        expect(cohort.customers, cohort.month).toBe(0);
        expect(cohort.revenuePerCustomer).toBeNull();
        expect(cohort.stages.every((s) => s.count === 0)).toBe(true);
        continue;
      }
      expect(cohort.customers, cohort.month).toBe(expected.customers);
      expect(
        cohort.months.map((m) => m.activeCustomers),
        cohort.month,
      ).toEqual(expected.active);
      expect(cohort.months.map((m) => m.offset)).toEqual(expected.active.map((_, i) => i));
      expect(cohort.months.map((m) => m.retention)).toEqual(expected.active.map((n) => n / expected.customers));
      expect(cohort.revenue, cohort.month).toBeCloseTo(expected.revenue, 9);
      expect(cohort.revenuePerCustomer).toBeCloseTo(expected.revenue / expected.customers, 9);
      const stages = Object.fromEntries(cohort.stages.filter((s) => s.count > 0).map((s) => [s.stage.key, s.count]));
      expect(stages, cohort.month).toEqual(expected.stages);
    }
    const g = cohorts.find((c) => c.month === "2025-05")!;
    expect(g.months[1]).toMatchObject({ month: "2025-06", revenue: 10 });
  });

  it("refuses a backwards range and too many months with the argument at fault", async () => {
    const backwards = await server.graphql(`{ cohorts(from: "2026-06-01", to: "2026-01-01") { month } }`);
    expect(backwards.errors![0]!.extensions).toMatchObject({ code: "BAD_USER_INPUT", argument: "to" });
    const tooMany = await server.graphql(`{ cohorts(from: "2016-01-01", to: "2026-06-01") { month } }`);
    expect(tooMany.errors![0]!.extensions).toMatchObject({ code: "BAD_USER_INPUT", argument: "to" });
    const months = await server.graphql(`{ cohorts(from: "2026-01-01", to: "2026-06-01", months: 500) { month } }`);
    expect(months.errors![0]!.extensions).toMatchObject({ code: "BAD_USER_INPUT", argument: "months" });
  });
});

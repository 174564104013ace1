// The cohort matrix and the stage funnel on the hand-built fixture (test/fixtures/metrics.ts), through
// GraphQL, on every warehouse.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { testWarehouses } from "../helpers/databases.ts";
import { startTestServer, type TestServer } from "../helpers/server.ts";
import {
  EXPECTED_COHORTS,
  EXPECTED_FUNNEL,
  EXPECTED_JUNE_LEADS_FUNNEL,
  JUNE,
  METRIC_ROWS,
} from "../fixtures/metrics.ts";

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

  /** A saved segment made through the API; its id. */
  async function saveSegment(name: string, definition: unknown): Promise<string> {
    const { data, errors } = await server.graphql<{ createSegment: { id: string } }>(
      `mutation($input: CreateSegmentInput!) { createSegment(input: $input) { id } }`,
      { input: { name: `${name} ${factory.label}`, definition } },
    );
    expect(errors).toBeUndefined();
    return data!.createSegment.id;
  }

  const COHORTS_QUERY = `query($segmentId: ID) {
    cohorts(from: "2025-01-15", to: "2026-06-01", asOf: "2026-06-30", months: 12, segmentId: $segmentId) {
      month customers revenue revenuePerCustomer
      months { offset month activeCustomers retention revenue }
      stages { stage { key } count }
    } }`;

  it("narrows the cohorts to a saved segment's members on the as-of day", async () => {
    const all = await server.graphql<CohortData>(COHORTS_QUERY);
    expect(all.errors).toBeUndefined();
    // Social on 06-30: C, D, I. Revenue of 100 or more by 06-30: A, D, E. Retained on 06-30 (reads
    // the stage, relative to the day): E, I.
    const cases = [
      { id: await saveSegment("social", { field: "acquisitionChannel", op: "eq", value: "social" }), ids: "CDI" },
      { id: await saveSegment("big", { field: "revenue", op: "gte", value: 100 }), ids: "ADE" },
      { id: await saveSegment("retained", { field: "stage", op: "eq", value: "retained" }), ids: "EI" },
    ];
    for (const { id: segmentId, ids } of cases) {
      const members = await server.graphql<{
        segment: { membership: { members: { edges: { node: { id: string; stage: { key: string } } }[] } } };
      }>(
        `query($id: ID!) { segment(id: $id) { membership(asOf: "2026-06-30") {
          members(first: 100) { edges { node { id stage { key } } } } } } }`,
        { id: segmentId },
      );
      expect(members.errors).toBeUndefined();
      const stageOf = new Map(members.data!.segment.membership.members.edges.map((e) => [e.node.id, e.node.stage.key]));
      expect([...stageOf.keys()].join("")).toBe(ids);

      // The cohorts of the members alone, worked out here from the fixture's transactions (UTC months).
      const purchases = METRIC_ROWS.transactions
        .map(([customer, at, amount]) => ({
          customer: String(customer),
          month: new Date(Number(at)).toISOString().slice(0, 7),
          amount: Number(amount),
        }))
        .filter((p) => stageOf.has(p.customer) && p.month <= "2026-06");
      const firstMonth = new Map<string, string>();
      for (const p of purchases) {
        if (!firstMonth.has(p.customer) || p.month < firstMonth.get(p.customer)!) firstMonth.set(p.customer, p.month);
      }
      const monthsBetween = (a: string, b: string) =>
        (Number(b.slice(0, 4)) - Number(a.slice(0, 4))) * 12 + Number(b.slice(5)) - Number(a.slice(5));

      const { data, errors } = await server.graphql<CohortData>(COHORTS_QUERY, { segmentId });
      expect(errors).toBeUndefined();
      const cohorts = data!.cohorts;
      expect(cohorts.map((c) => c.month)).toEqual(all.data!.cohorts.map((c) => c.month));
      // Sizes add up to the members who are buyers with a first purchase in the range.
      expect(cohorts.reduce((n, c) => n + c.customers, 0)).toBe(firstMonth.size);
      for (const cohort of cohorts) {
        const inCohort = [...firstMonth].filter(([, m]) => m === cohort.month).map(([c]) => c);
        expect(cohort.customers, `${segmentId} ${cohort.month}`).toBe(inCohort.length);
        for (const m of cohort.months) {
          const bought = purchases.filter((p) => inCohort.includes(p.customer) && p.month === m.month);
          const where = `${segmentId} ${cohort.month} M${m.offset}`;
          expect(monthsBetween(cohort.month, m.month), where).toBe(m.offset);
          expect(m.activeCustomers, where).toBe(new Set(bought.map((p) => p.customer)).size);
          expect(m.revenue, where).toBeCloseTo(
            bought.reduce((n, p) => n + p.amount, 0),
            9,
          );
          expect(m.retention, where).toBe(inCohort.length === 0 ? 0 : m.activeCustomers / inCohort.length);
        }
        const revenue = purchases.filter((p) => inCohort.includes(p.customer)).reduce((n, p) => n + p.amount, 0);
        expect(cohort.revenue).toBeCloseTo(revenue, 9);
        const stages: Record<string, number> = {};
        for (const c of inCohort) stages[stageOf.get(c)!] = (stages[stageOf.get(c)!] ?? 0) + 1;
        expect(
          Object.fromEntries(cohort.stages.filter((s) => s.count > 0).map((s) => [s.stage.key, s.count])),
          `${segmentId} ${cohort.month}`,
        ).toEqual(stages);
      }
    }
  });

  it("answers an unknown segment with NOT_FOUND and an unreadable one with INVALID_SEGMENT; archived ones still count", async () => {
    const queries = {
      cohorts: `query($id: ID) { cohorts(from: "2026-01-01", to: "2026-06-01", asOf: "2026-06-30", segmentId: $id) { month customers } }`,
      stageTransitions: `query($id: ID) { stageTransitions(from: "2026-05-31", to: "2026-06-30", segmentId: $id) { from { key } to { key } count } }`,
      rfmGrid: `query($id: ID) { rfmGrid(asOf: "2026-06-30", segmentId: $id) { buyers cells { customers } } }`,
    };
    const broken = await server.appDb.prisma.segment.create({
      data: { name: `broken ${factory.label}`, definition: { field: "shoeSize", op: "eq", value: 4 } },
    });
    const social = await saveSegment("social archived", { field: "acquisitionChannel", op: "eq", value: "social" });
    const live = Object.fromEntries(
      await Promise.all(
        Object.entries(queries).map(async ([field, query]) => [field, await server.graphql(query, { id: social })]),
      ),
    );
    await server.graphql(`mutation($id: ID!) { archiveSegment(id: $id) { id } }`, { id: social });
    for (const [field, query] of Object.entries(queries)) {
      for (const id of ["nope", "00000000-0000-0000-0000-000000000000"]) {
        const missing = await server.graphql(query, { id });
        expect(missing.errors?.[0]?.extensions, `${field} ${id}`).toMatchObject({
          code: "NOT_FOUND",
          argument: "segmentId",
        });
      }
      const invalid = await server.graphql(query, { id: broken.id });
      expect(invalid.errors?.[0]?.extensions, field).toMatchObject({ code: "INVALID_SEGMENT", argument: "segmentId" });
      // Archived: answered as before (as funnel does), the same numbers.
      const archived = await server.graphql(query, { id: social });
      expect(archived.errors, field).toBeUndefined();
      expect(archived.data, field).toEqual(live[field].data);
    }
    const funnel = await server.graphql(`query($id: ID) { funnel(asOf: "2026-06-30", segmentId: $id) { reached } }`, {
      id: social,
    });
    expect(funnel.errors).toBeUndefined();
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

// The state store through the public API on the demo shop: before a refresh everything takes the
// query-time path; after one, customer lookups and stage counts up to the state day come from the app
// database with no warehouse query, equal to what the warehouse answered, and say how fresh they are in
// extensions.stateStore; a day after the state day goes to the warehouse again; CLM_STATE=required
// refuses what the state cannot answer, and CLM_STATE=off never reads it.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { addDays } from "../../src/lifecycle/calendar.ts";
import { encodeCursor } from "../../src/schema/paging.ts";
import { DEMO_END_DATE, startTestServer, type TestServer } from "../helpers/server.ts";

const STATE_DAY = DEMO_END_DATE;
const CUSTOMER_FIELDS = `id asOf stage { key } furthestStage { key } rfm { recency frequency monetary code segment }
  features { firstSeenDate firstPurchaseDate secondPurchaseDate lastPurchaseDate purchaseDays orderCount revenue
             firstPurchaseRevenue averageOrderValue meanGapDays recencyDays tenureDays referredCount acquisitionChannel
             lastEventDate lastEventType }`;

/** A JSON value with every fractional number rounded to 6 decimals. */
function roundedFloats(value: unknown): unknown {
  if (typeof value === "number") return Math.round(value * 1e6) / 1e6;
  if (Array.isArray(value)) return value.map(roundedFloats);
  if (value && typeof value === "object")
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, roundedFloats(v)]));
  return value;
}

interface Answer {
  data?: Record<string, unknown>;
  errors?: { message: string; extensions: Record<string, unknown> }[];
  extensions?: Record<string, unknown>;
}

describe("the state store through GraphQL", () => {
  let server: TestServer;
  const ask = async (query: string, variables?: Record<string, unknown>) => {
    const before = server.warehouseQueries.length;
    const answer = (await server.graphql(query, variables)) as Answer;
    return { answer, warehouseQueries: server.warehouseQueries.length - before };
  };

  beforeAll(async () => {
    server = await startTestServer({ customers: 400 });
  });
  afterAll(async () => {
    await server?.close();
  });

  it("serves lookups and stage counts from the state after a refresh, equal to the warehouse's", async () => {
    const status = await ask(`{ stateStore { mode generation stateDay lastRefresh { generation } } }`);
    expect(status.answer.data).toEqual({
      stateStore: { mode: "SERVE", generation: null, stateDay: null, lastRefresh: null },
    });

    const ids = ["c000001", "c000002", "c000050", "c000399", "nobody"];
    const lookup = `query ($ids: [ID!]!, $asOf: Date) { customers(ids: $ids, asOf: $asOf) { ${CUSTOMER_FIELDS} } }`;
    const pastDay = addDays(STATE_DAY, -200);
    const stages = `query ($asOf: Date) { stages(asOf: $asOf) { key count } }`;
    const fromWarehouse = await ask(lookup, { ids, asOf: STATE_DAY });
    expect(fromWarehouse.warehouseQueries).toBeGreaterThan(0);
    expect(fromWarehouse.answer.extensions?.stateStore).toBeUndefined();
    const stagesThen = await ask(stages, { asOf: pastDay });
    const stagesOnStateDay = await ask(stages, { asOf: STATE_DAY });
    // Questions over the history: asked of the warehouse now, of the state after the refresh.
    const historyQuestions = [
      `{ stageSeries(from: "2025-07-01", to: "${STATE_DAY}", interval: MONTH) { start day total stages { stage { key } count share } } }`,
      `{ stageSeries(from: "2026-05-20", to: "2026-06-12", interval: WEEK) { start day total stages { count } } }`,
      `{ stageTransitions(from: "2026-01-31", to: "${STATE_DAY}") { from { key } to { key } count } }`,
      `{ stageTransitions(from: "2025-06-30", to: "2025-12-31") { from { key } to { key } count } }`,
      `{ stageTimings(from: "2026-05-02", to: "${STATE_DAY}", stepDays: 1) { stage { key } entries meanDaysFromFirstSeen medianDaysFromFirstSeen meanDaysFromFirstPurchase medianDaysFromFirstPurchase } }`,
      `{ funnel(asOf: "${pastDay}") { stage { key } reached atStage } }`,
      `{ rfmGrid(asOf: "${STATE_DAY}") { buyers cells { recency frequency customers revenue } segments { segment customers share revenue } } }`,
      `{ rankedCustomers(stage: "at_risk", first: 5, asOf: "${STATE_DAY}") { edges { cursor node { id features { revenue } } } pageInfo { hasNextPage } } }`,
      `{ rankedCustomers(stage: "loyal", orderBy: RECENCY_DAYS, descending: false, first: 4, asOf: "${STATE_DAY}", after: "${encodeCursor("rank", "3")}") { edges { node { id features { recencyDays } } } } }`,
      `{ rankedCustomers(stage: "prospect", orderBy: TENURE_DAYS, first: 3, asOf: "${STATE_DAY}") { edges { node { id } } } }`,
      ...[STATE_DAY, pastDay].map(
        (day) =>
          `{ customers(ids: ["c000001", "c000007", "c000123", "c000388"], asOf: "${day}") { id stageHistory { stage { key } furthestStage { key } from to enteredStage } } }`,
      ),
      `{ funnel(asOf: "${STATE_DAY}", firstSeen: { from: "2025-01-01", to: "2025-06-30" }) { stage { key } reached atStage } }`,
    ];
    const historyThen = [];
    for (const q of historyQuestions) {
      const then = await ask(q);
      expect(then.answer.errors, q).toBeUndefined();
      expect(then.warehouseQueries, q).toBeGreaterThan(0);
      historyThen.push(then.answer.data);
    }

    const outcome = (await server.services.state.refresh({ stateDay: STATE_DAY }))!;
    expect(outcome).toMatchObject({ generation: 1, kind: "full", stateDay: STATE_DAY });
    expect(outcome.customers).toBeGreaterThan(300);
    const freshness = { generation: 1, stateDay: STATE_DAY, dataThrough: outcome.dataThrough };

    // Without asOf: the state day, from the state, no warehouse query.
    const served = await ask(lookup, { ids });
    expect(served.warehouseQueries).toBe(0);
    expect(served.answer.extensions?.stateStore).toEqual(freshness);
    expect(served.answer.data).toEqual(fromWarehouse.answer.data);
    expect((served.answer.data!.customers as unknown[]).filter((c) => c === null)).toHaveLength(1);

    const pastStages = await ask(stages, { asOf: pastDay });
    expect(pastStages.warehouseQueries).toBe(0);
    expect(pastStages.answer).toEqual({ ...stagesThen.answer, extensions: { stateStore: freshness } });
    const todayStages = await ask(`{ stages { key count } }`);
    expect(todayStages.warehouseQueries).toBe(0);
    expect(todayStages.answer.data).toEqual(stagesOnStateDay.answer.data);

    for (const [i, q] of historyQuestions.entries()) {
      const now = await ask(q);
      // A customer on a past day: their features of that day come from the warehouse, their history not.
      expect(now.warehouseQueries, q).toBe(q.includes(`asOf: "${pastDay}") { id stageHistory`) ? 1 : 0);
      expect(now.answer.extensions?.stateStore, q).toEqual(freshness);
      // Revenue summed over buyers: the warehouse's float sum and the state's exact one agree to the cent.
      if (q.includes("rfmGrid")) expect(roundedFloats(now.answer.data), q).toEqual(roundedFloats(historyThen[i]));
      else expect(now.answer.data, q).toEqual(historyThen[i]);
    }
    // Without the state, a daily series of more than 60 points is refused; with it, one query.
    const daily = await ask(`{ stageSeries(from: "2024-07-01", to: "${STATE_DAY}", interval: DAY) { total } }`);
    expect(daily.warehouseQueries).toBe(0);
    expect(daily.answer.data!.stageSeries as unknown[]).toHaveLength(730);

    // A later day is the warehouse's.
    const later = await ask(stages, { asOf: addDays(STATE_DAY, 1) });
    expect(later.warehouseQueries).toBeGreaterThan(0);
    expect(later.answer.extensions?.stateStore).toBeUndefined();

    const after = await ask(
      `{ stateStore { generation stateDay dataThrough currentModel lastRefresh { kind published changedCustomers customers error } } }`,
    );
    expect(after.answer.data).toEqual({
      stateStore: {
        generation: 1,
        stateDay: STATE_DAY,
        dataThrough: outcome.dataThrough,
        currentModel: true,
        lastRefresh: {
          kind: "FULL",
          published: true,
          changedCustomers: outcome.customers,
          customers: outcome.customers,
          error: null,
        },
      },
    });
  });

  it("answers concurrent lookups, read together, each with its own customer, and a refused id alone", async () => {
    // After the refresh above: the ids of requests arriving together are read in one query. A NUL byte is
    // refused at the edge, before any batch; the requests around it answer.
    const ids = ["c000001", "c000002", "bad\u0000id", "c000003", "nobody", "c000002"];
    const answers = await Promise.all(
      ids.map((id) => ask(`query ($id: ID!) { customer(id: $id) { id stage { key } } }`, { id })),
    );
    expect(answers.reduce((n, a) => n + a.warehouseQueries, 0)).toBe(0);
    expect(answers[2]!.answer.errors?.[0]?.extensions).toMatchObject({ code: "BAD_USER_INPUT", argument: "$id" });
    expect(answers[4]!.answer).toMatchObject({ data: { customer: null } });
    for (const i of [0, 1, 3, 5]) {
      expect(answers[i]!.answer.errors).toBeUndefined();
      expect((answers[i]!.answer.data!.customer as { id: string }).id).toBe(ids[i]);
    }
  });
});

describe("rankedCustomers of a segment", () => {
  it("ranks the segment's members as the whole stage ranks them", async () => {
    const server = await startTestServer({ customers: 300 });
    try {
      const created = (await server.graphql(
        `mutation { createSegment(input: { name: "by email", definition: { field: "acquisitionChannel", op: "eq", value: "email" } }) { id } }`,
      )) as Answer;
      const segmentId = (created.data!.createSegment as { id: string }).id;
      const ranked = async (segment: string | null, first: number) => {
        const answer = (await server.graphql(
          `query ($segmentId: ID, $first: Int) { rankedCustomers(stage: "at_risk", segmentId: $segmentId, first: $first, asOf: "${STATE_DAY}") { edges { node { id features { revenue acquisitionChannel } } } } }`,
          { segmentId: segment, first },
        )) as Answer;
        expect(answer.errors).toBeUndefined();
        return (
          answer.data!.rankedCustomers as { edges: { node: { id: string; features: Record<string, unknown> } }[] }
        ).edges.map((e) => e.node);
      };
      const everyone = await ranked(null, 500);
      const members = await ranked(segmentId, 5);
      expect(members.length).toBe(5);
      expect(members).toEqual(everyone.filter((c) => c.features.acquisitionChannel === "email").slice(0, 5));
    } finally {
      await server.close();
    }
  });
});

describe("a segment on the state store", () => {
  it("answers size, stage breakdown, members and ranked lists with no warehouse query, as the warehouse did", async () => {
    const server = await startTestServer({ customers: 300 });
    try {
      const created = (await server.graphql(
        `mutation { createSegment(input: { name: "recent big spenders", definition: { all: [
          { field: "recencyDays", op: "lte", value: 200 }, { field: "rfmMonetary", op: "gte", value: 3 } ] } }) { id } }`,
      )) as Answer;
      const id = (created.data!.createSegment as { id: string }).id;
      const query = `query ($id: ID!) {
        segment(id: $id) { membership(asOf: "${STATE_DAY}") { size stageBreakdown { stage { key } count share }
          members(first: 10) { edges { cursor node { id stage { key } } } } } }
        rankedCustomers(stage: "developing", segmentId: $id, first: 5, asOf: "${STATE_DAY}") { edges { node { id } } } }`;
      const ask = async () => {
        const before = server.warehouseQueries.length;
        const answer = (await server.graphql(query, { id })) as Answer;
        expect(answer.errors).toBeUndefined();
        return { answer, warehouseQueries: server.warehouseQueries.length - before };
      };
      const computed = await ask();
      expect(computed.warehouseQueries).toBeGreaterThan(0);
      const membership = (computed.answer.data!.segment as { membership: { size: number } }).membership;
      expect(membership.size).toBeGreaterThan(20);

      await server.services.state.refresh({ stateDay: STATE_DAY });
      const served = await ask();
      expect(served.warehouseQueries).toBe(0);
      expect(served.answer.extensions?.stateStore).toMatchObject({ stateDay: STATE_DAY });
      expect(served.answer.data).toEqual(computed.answer.data);
    } finally {
      await server.close();
    }
  });
});

describe("CLM_STATE", () => {
  it("required: refuses what the state cannot answer yet, with a code", async () => {
    const server = await startTestServer({ customers: 50, stateMode: "required" });
    try {
      const answer = (await server.graphql(`{ customer(id: "c000001") { id } }`)) as Answer;
      expect(answer.errors?.[0]?.extensions.code).toBe("STATE_NOT_READY");
      expect(answer.errors?.[0]?.message).toMatch(/not been refreshed yet/);
      await server.services.state.refresh({ stateDay: STATE_DAY });
      const served = (await server.graphql(`{ customer(id: "c000001") { id asOf } }`)) as Answer;
      expect(served.data).toEqual({ customer: { id: "c000001", asOf: STATE_DAY } });
      const later = (await server.graphql(`{ stages(asOf: "${addDays(STATE_DAY, 1)}") { count } }`)) as Answer;
      expect(later.errors?.[0]?.extensions.code).toBe("STATE_NOT_READY");
      // A past day's features are the warehouse's to give in any mode; its stage history is the state's.
      const past = (await server.graphql(
        `{ customer(id: "c000001", asOf: "2026-01-31") { asOf stageHistory { from } } }`,
      )) as Answer;
      expect(past.errors).toBeUndefined();
      expect((past.data!.customer as { asOf: string }).asOf).toBe("2026-01-31");
    } finally {
      await server.close();
    }
  });

  it("off: never reads the state, refreshed or not", async () => {
    const server = await startTestServer({ customers: 50, stateMode: "off" });
    try {
      await server.services.state.refresh({ stateDay: STATE_DAY });
      const before = server.warehouseQueries.length;
      const answer = (await server.graphql(`{ stages(asOf: "${STATE_DAY}") { count } }`)) as Answer;
      expect(server.warehouseQueries.length).toBeGreaterThan(before);
      expect(answer.extensions?.stateStore).toBeUndefined();
    } finally {
      await server.close();
    }
  });
});

// Lifetime value kept by the state store: each refresh fits the purchase model on the state's buyers
// and stores every buyer's prediction, which Customer.prediction then serves with no warehouse query,
// equal to what the query-time fit gives; rankedCustomers orders a stage by it; other settings, and
// the ranking without a state, are answered as before or refused with a code.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { DEMO_END_DATE, startTestServer, type TestServer } from "../helpers/server.ts";

const STATE_DAY = DEMO_END_DATE;
const PREDICTION = `prediction { probabilityAlive expectedPurchases expectedAverageSpend predictedClv }`;

interface Answer {
  data?: Record<string, any>;
  errors?: { message: string; path?: string[]; extensions: Record<string, unknown> }[];
  extensions?: Record<string, any>;
}

describe("lifetime value in the state store", () => {
  let server: TestServer;
  const ask = async (query: string, variables?: Record<string, unknown>) => {
    const before = server.warehouseQueries.length;
    const answer = (await server.graphql(query, variables)) as Answer;
    return { answer, warehouseQueries: server.warehouseQueries.length - before };
  };
  const ids = Array.from({ length: 400 }, (_, i) => `c${String(i + 1).padStart(6, "0")}`);
  const lookup = `query ($ids: [ID!]!) { customers(ids: $ids, asOf: "${STATE_DAY}") { id stage { key } ${PREDICTION} } }`;

  beforeAll(async () => {
    server = await startTestServer({ customers: 400 });
  });
  afterAll(async () => {
    await server?.close();
  });

  it("serves every buyer's prediction as the query-time fit computes it, and ranks a stage by it", async () => {
    const ranked = `{ rankedCustomers(stage: "at_risk", orderBy: PREDICTED_CLV, first: 10, asOf: "${STATE_DAY}") { edges { node { id ${PREDICTION} } } } }`;
    const refused = await ask(ranked);
    expect(refused.answer.errors?.[0]?.extensions.code).toBe("BAD_USER_INPUT");
    expect(refused.answer.errors?.[0]?.message).toMatch(/needs the state store/);

    const computed = await ask(lookup, { ids });
    expect(computed.answer.errors).toBeUndefined();
    expect(computed.warehouseQueries).toBeGreaterThan(0);
    const customers = computed.answer.data!.customers as { id: string; stage: { key: string }; prediction: any }[];
    const buyers = customers.filter((c) => c.prediction !== null);
    expect(buyers.length).toBeGreaterThan(100);

    const outcome = (await server.services.state.refresh({ stateDay: STATE_DAY }))!;
    expect(outcome.warnings).toEqual([]);
    const status = await ask(`{ stateStore { lifetimeValue { model timeUnit horizonDays discountRate customers } } }`);
    expect(status.answer.data!.stateStore.lifetimeValue).toEqual({
      model: "BG_NBD",
      timeUnit: "WEEK",
      horizonDays: 365,
      discountRate: 0.1,
      customers: buyers.length,
    });

    // The same summaries, the same fit: the same numbers, to the last bit.
    const served = await ask(lookup, { ids });
    expect(served.warehouseQueries).toBe(0);
    expect(served.answer.extensions?.stateStore?.stateDay).toBe(STATE_DAY);
    expect(served.answer.data).toEqual(computed.answer.data);

    const atRisk = customers
      .filter((c) => c.stage.key === "at_risk" && c.prediction)
      .sort((a, b) => b.prediction.predictedClv - a.prediction.predictedClv || (a.id < b.id ? -1 : 1));
    expect(atRisk.length).toBeGreaterThan(10);
    const top = await ask(ranked);
    expect(top.warehouseQueries).toBe(0);
    expect(top.answer.data!.rankedCustomers.edges.map((e: any) => e.node)).toEqual(
      atRisk.slice(0, 10).map((c) => ({ id: c.id, prediction: c.prediction })),
    );
    const byAlive = await ask(
      `{ rankedCustomers(stage: "at_risk", orderBy: PROBABILITY_ALIVE, descending: false, first: 3) { edges { node { id prediction { probabilityAlive } } } } }`,
    );
    const alive = atRisk.map((c) => c.prediction.probabilityAlive).sort((a, b) => a - b);
    expect(byAlive.answer.data!.rankedCustomers.edges.map((e: any) => e.node.prediction.probabilityAlive)).toEqual(
      alive.slice(0, 3),
    );

    // Other settings than the stored ones are predicted from the query-time fit (kept since the first lookup).
    const otherHorizon = await ask(
      `{ customer(id: "${buyers[0]!.id}") { prediction(horizonDays: 180) { predictedClv } } }`,
    );
    expect(otherHorizon.answer.data!.customer.prediction.predictedClv).toBeLessThan(buyers[0]!.prediction.predictedClv);
  });

  it("ranks a segment's members by prediction from the state, and refuses it for a day it does not serve", async () => {
    const answer = await ask(
      `mutation { createSegment(input: { name: "big", definition: { field: "revenue", op: "gt", value: 100 } }) { id } }`,
    );
    const id = answer.answer.data?.createSegment?.id;
    expect(id).toBeTruthy();
    const ranked = (segment: string | null, first: number, asOf = STATE_DAY) =>
      ask(
        `query ($segmentId: ID, $first: Int) { rankedCustomers(stage: "at_risk", orderBy: PREDICTED_CLV, segmentId: $segmentId, first: $first, asOf: "${asOf}") { edges { node { id features { revenue } prediction { predictedClv } } } } }`,
        { segmentId: segment, first },
      );
    const everyone = await ranked(null, 500);
    const members = await ranked(id, 5);
    expect(members.answer.errors).toBeUndefined();
    expect(members.warehouseQueries).toBe(0);
    const nodes = (a: Awaited<ReturnType<typeof ranked>>) =>
      a.answer.data!.rankedCustomers.edges.map((e: any) => e.node) as { features: { revenue: number } }[];
    expect(nodes(members)).toHaveLength(5);
    expect(nodes(members)).toEqual(
      nodes(everyone)
        .filter((c) => c.features.revenue > 100)
        .slice(0, 5),
    );

    const refused = await ranked(id, 3, "2026-01-15");
    expect(refused.answer.errors?.[0]?.extensions).toMatchObject({ code: "BAD_USER_INPUT", argument: "orderBy" });
  });
});

describe("CLM_STATE_CLV=off", () => {
  it("publishes the state without predictions, and Customer.prediction is fitted as before", async () => {
    const server = await startTestServer({ customers: 200, stateClv: null });
    try {
      await server.services.state.refresh({ stateDay: STATE_DAY });
      const status = (await server.graphql(`{ stateStore { generation lifetimeValue { model } } }`)) as Answer;
      expect(status.data!.stateStore).toEqual({ generation: 1, lifetimeValue: null });
      const before = server.warehouseQueries.length;
      const answer = (await server.graphql(`{ customer(id: "c000002") { ${PREDICTION} } }`)) as Answer;
      expect(answer.errors).toBeUndefined();
      expect(server.warehouseQueries.length).toBeGreaterThan(before);
    } finally {
      await server.close();
    }
  });
});

// The sales-funnel preset and event features through GraphQL, on the hand-built shop of
// test/fixtures/sales-funnel.ts: the stages in display order with their counts, a customer's events by
// type, the funnel over the pre-purchase stages, segment definitions reading event features, and the
// errors a type that is not configured gets.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startTestServer, type TestServer } from "../helpers/server.ts";
import {
  SALES_FUNNEL_AS_OF as AS_OF,
  SALES_FUNNEL_CONFIG,
  SALES_FUNNEL_ROWS,
  SALES_FUNNEL_STAGES,
} from "../fixtures/sales-funnel.ts";

describe("the sales-funnel preset through GraphQL", () => {
  let server: TestServer;
  beforeAll(async () => {
    server = await startTestServer({ rows: SALES_FUNNEL_ROWS, clmConfig: SALES_FUNNEL_CONFIG });
  });
  afterAll(async () => {
    await server?.close();
  });

  it("lists the preset's stages in display order with the hand-worked counts", async () => {
    const res = await server.graphql<{ stages: { key: string; kind: string; count: number }[] }>(
      `query($asOf: Date) { stages(asOf: $asOf) { key kind count } }`,
      { asOf: AS_OF },
    );
    expect(res.errors).toBeUndefined();
    const expected = Object.values(SALES_FUNNEL_STAGES).reduce<Record<string, number>>(
      (counts, { stage }) => ({ ...counts, [stage]: (counts[stage] ?? 0) + 1 }),
      {},
    );
    expect(res.data!.stages.map((s) => [s.key, s.kind, s.count])).toEqual([
      ["attraction", "PROGRESS", expected.attraction],
      ["interest", "PROGRESS", expected.interest],
      ["evaluation", "PROGRESS", expected.evaluation],
      ["first_purchase", "PROGRESS", expected.first_purchase],
      ["repeat", "PROGRESS", expected.repeat],
      ["loyal", "PROGRESS", expected.loyal],
      ["cold_lead", "LAPSE", expected.cold_lead],
      ["at_risk", "LAPSE", expected.at_risk],
      ["churned", "LAPSE", expected.churned],
    ]);
  });

  it("shows a customer's events by configured type, with the stage they put them in", async () => {
    const res = await server.graphql<{
      customer: {
        stage: { key: string };
        furthestStage: { key: string };
        features: { events: Record<string, unknown>[]; lead: { type: string; count: number }[] };
      };
    }>(
      `query($asOf: Date) { customer(id: "e2", asOf: $asOf) {
        stage { key } furthestStage { key }
        features {
          events { type count firstDate lastDate daysSinceFirst daysSinceLast }
          lead: events(types: ["lead"]) { type count }
        }
      } }`,
      { asOf: AS_OF },
    );
    expect(res.errors).toBeUndefined();
    const customer = res.data!.customer;
    expect([customer.stage.key, customer.furthestStage.key]).toEqual(["evaluation", "evaluation"]);
    // e2 subscribed on 06-25 and asked for a quote on 06-28.
    expect(customer.features.events).toEqual([
      { type: "visit", count: 0, firstDate: null, lastDate: null, daysSinceFirst: null, daysSinceLast: null },
      { type: "lead", count: 0, firstDate: null, lastDate: null, daysSinceFirst: null, daysSinceLast: null },
      {
        type: "subscribe",
        count: 1,
        firstDate: "2026-06-25",
        lastDate: "2026-06-25",
        daysSinceFirst: 5,
        daysSinceLast: 5,
      },
      {
        type: "quote_request",
        count: 1,
        firstDate: "2026-06-28",
        lastDate: "2026-06-28",
        daysSinceFirst: 2,
        daysSinceLast: 2,
      },
    ]);
    expect(customer.features.lead).toEqual([{ type: "lead", count: 0 }]);
  });

  it("refuses event types that are not configured, with a code and a path", async () => {
    const res = await server.graphql(
      `query($asOf: Date) { customer(id: "e2", asOf: $asOf) { features { events(types: ["demo"]) { count } } } }`,
      { asOf: AS_OF },
    );
    expect(res.errors?.[0]).toMatchObject({
      message: "event types not in CLM_CONFIG's events.types: demo",
      path: ["customer", "features", "events"],
      extensions: { code: "BAD_USER_INPUT" },
    });
  });

  it("counts the funnel through the pre-purchase stages", async () => {
    const res = await server.graphql<{ funnel: { stage: { key: string }; reached: number }[] }>(
      `query($asOf: Date) { funnel(asOf: $asOf) { stage { key } reached } }`,
      { asOf: AS_OF },
    );
    expect(res.errors).toBeUndefined();
    // Reached = furthest stage at or beyond the step. Of 21 people, 3 got no further than attraction, 2
    // than interest, 6 than evaluation (the cold leads c1 and c3 among them), 5 than first purchase, 4
    // than repeat, and 1 is loyal.
    const furthest = Object.values(SALES_FUNNEL_STAGES).map((s) => s.furthest);
    const order = ["attraction", "interest", "evaluation", "first_purchase", "repeat", "loyal"];
    const reached = order.map((_, i) => furthest.filter((f) => order.indexOf(f) >= i).length);
    expect(reached).toEqual([21, 18, 16, 10, 5, 1]);
    expect(res.data!.funnel.map((s) => [s.stage.key, s.reached])).toEqual(order.map((key, i) => [key, reached[i]]));
  });

  it("previews a segment reading event features, and names a type that is not configured", async () => {
    const query = `query($d: JSON!, $asOf: Date) { previewSegment(definition: $d, asOf: $asOf) { size members(first: 50) { edges { node { id } } } } }`;
    const leads = await server.graphql<{
      previewSegment: { size: number; members: { edges: { node: { id: string } }[] } };
    }>(query, {
      asOf: AS_OF,
      d: {
        all: [
          { field: "events.lead.count", op: "gte", value: 1 },
          { field: "events.lead.daysSinceLast", op: "lte", value: 30 },
        ],
      },
    });
    expect(leads.errors).toBeUndefined();
    // Leads (lead or contact_form) at most 30 days ago: i1 (13), i2 (1), e1 (14), f1 (29).
    expect(leads.data!.previewSegment.members.edges.map((e) => e.node.id)).toEqual(["e1", "f1", "i1", "i2"]);
    expect(leads.data!.previewSegment.size).toBe(4);

    const unknown = await server.graphql(query, {
      asOf: AS_OF,
      d: { field: "events.demo.count", op: "gte", value: 1 },
    });
    expect(unknown.errors?.[0]?.extensions?.code).toBe("BAD_USER_INPUT");
    expect(JSON.stringify(unknown.errors)).toContain("event type demo is not in CLM_CONFIG's events.types");
  });

  it("exports a segment's members with each configured type's event columns", async () => {
    const created = await server.graphql<{ createSegment: { id: string } }>(
      `mutation($input: CreateSegmentInput!) { createSegment(input: $input) { id } }`,
      { input: { name: "Quoted", definition: { field: "events.quote_request.count", op: "gte", value: 1 } } },
    );
    expect(created.errors).toBeUndefined();
    const response = await server.fetch(
      `http://test/segments/${created.data!.createSegment.id}/members.csv?asOf=${AS_OF}`,
    );
    expect(response.status).toBe(200);
    const [header, ...lines] = (await response.text()).trimEnd().split("\r\n");
    const columns = header!.split(",");
    expect(columns.slice(-20, -15)).toEqual([
      "event_visit_count",
      "event_visit_first_date",
      "event_visit_last_date",
      "event_visit_days_since_first",
      "event_visit_days_since_last",
    ]);
    expect(columns.at(-1)).toBe("event_quote_request_days_since_last");
    // Asked for a quote: e2 (06-28) and e3 (05-01).
    const rows = lines.map((line) => Object.fromEntries(line.split(",").map((cell, i) => [columns[i], cell])));
    expect(
      rows.map((r) => [r.customer_id, r.stage, r.event_quote_request_last_date, r.event_quote_request_count]),
    ).toEqual([
      ["e2", "evaluation", "2026-06-28", "1"],
      ["e3", "evaluation", "2026-05-01", "1"],
    ]);
  });
});

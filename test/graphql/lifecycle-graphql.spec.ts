// The lifecycle over GraphQL on the demo shop, on every warehouse: the distribution adds up, single
// lookups agree with the distribution's member lists, and lookups are batched.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { testWarehouses } from "../helpers/databases.ts";
import { DEMO_END_DATE, startTestServer, type TestServer } from "../helpers/server.ts";

type StagesData = {
  stages: {
    key: string;
    count: number;
    share: number;
    customers: { edges: { node: { id: string } }[]; pageInfo: { hasNextPage: boolean } };
  }[];
};

describe.each(testWarehouses())("lifecycle GraphQL on the demo shop in $label", (factory) => {
  let server: TestServer;
  beforeAll(async () => {
    server = await startTestServer({ warehouseFactory: factory, customers: 600 });
  });
  afterAll(async () => {
    await server?.close();
  });

  it("puts every known customer in exactly one stage, and customer(id) agrees with the stage listing it", async () => {
    const { data, errors } = await server.graphql<StagesData>(
      `query($asOf: Date) { stages(asOf: $asOf) { key count share customers(first: 500) { edges { node { id } } pageInfo { hasNextPage } } } }`,
      { asOf: DEMO_END_DATE },
    );
    expect(errors).toBeUndefined();
    const total = data!.stages.reduce((sum, s) => sum + s.count, 0);
    expect(total).toBe(server.demoCounts.customers);
    expect(data!.stages.map((s) => s.key)).toEqual([
      "prospect",
      "new",
      "developing",
      "retained",
      "loyal",
      "advocate",
      "at_risk",
      "churned",
    ]);
    expect(data!.stages.reduce((sum, s) => sum + s.share, 0)).toBeCloseTo(1, 9);
    for (const stage of data!.stages) expect(stage.count, stage.key).toBeGreaterThan(0);

    const listed = data!.stages.flatMap((s) => {
      expect(s.customers.pageInfo.hasNextPage).toBe(s.count > 500);
      return s.customers.edges.map((e) => [e.node.id, s.key] as const);
    });
    const ids = listed.map(([id]) => id);
    const lookup = await server.graphql<{ customers: { id: string; stage: { key: string } }[] }>(
      `query($ids: [ID!]!, $asOf: Date) { customers(ids: $ids, asOf: $asOf) { id stage { key } } }`,
      { ids, asOf: DEMO_END_DATE },
    );
    expect(lookup.errors).toBeUndefined();
    expect(lookup.data!.customers.map((c) => [c.id, c.stage.key])).toEqual(listed);
  });

  it("sends exactly one warehouse query for a request of 1,000 customer lookups, unknown ids null", async () => {
    const ids = Array.from({ length: 1_000 }, (_, i) => `c${String(i + 1).padStart(6, "0")}`);
    const aliases = ids
      .slice(0, 200)
      .map((id, i) => `a${i}: customer(id: "${id}", asOf: "${DEMO_END_DATE}") { id stage { key } }`);
    server.warehouseQueries.length = 0;
    const many = await server.graphql<{ customers: ({ id: string } | null)[] }>(
      `query($ids: [ID!]!) { customers(ids: $ids, asOf: "${DEMO_END_DATE}") { id features { purchaseDays } } }`,
      { ids },
    );
    expect(many.errors).toBeUndefined();
    expect(server.warehouseQueries).toEqual(["customer_features"]);
    expect(many.data!.customers.filter((c) => c !== null)).toHaveLength(600);
    expect(many.data!.customers[999]).toBeNull();

    server.warehouseQueries.length = 0;
    const aliased = await server.graphql<Record<string, { id: string } | null>>(`{ ${aliases.join("\n")} }`);
    expect(aliased.errors).toBeUndefined();
    expect(server.warehouseQueries).toEqual(["customer_features"]);
    expect(Object.keys(aliased.data!)).toHaveLength(200);
  });

  it("batches lookups of concurrent requests into one warehouse query", async () => {
    server.warehouseQueries.length = 0;
    const results = await Promise.all(
      ["c000001", "c000002", "c000003", "c000004"].map((id) =>
        server.graphql<{ customer: { id: string } | null }>(
          `{ customer(id: "${id}", asOf: "${DEMO_END_DATE}") { id stage { key } } }`,
        ),
      ),
    );
    expect(results.map((r) => r.data?.customer?.id)).toEqual(["c000001", "c000002", "c000003", "c000004"]);
    expect(server.warehouseQueries).toEqual(["customer_features"]);
  });

  it("pages a customer's transactions with stable cursors, and batches them across customers", async () => {
    const query = `query($id: ID!, $after: String) { customer(id: $id, asOf: "${DEMO_END_DATE}") {
      features { orderCount } transactions(first: 2, after: $after) { edges { cursor node { occurredAt amount orderId } } pageInfo { hasNextPage endCursor } } } }`;
    const loyal = await server.graphql<StagesData>(
      `{ stages(asOf: "${DEMO_END_DATE}") { key customers(first: 1) { edges { node { id } } } } }`,
    );
    const id = loyal.data!.stages.find((s) => s.key === "loyal")!.customers.edges[0]!.node.id;
    type Tx = {
      customer: {
        features: { orderCount: number };
        transactions: {
          edges: { node: { occurredAt: string } }[];
          pageInfo: { hasNextPage: boolean; endCursor: string };
        };
      };
    };
    const seen: string[] = [];
    let after: string | undefined;
    let orderCount = 0;
    for (let page = 0; page < 50; page++) {
      const { data, errors } = await server.graphql<Tx>(query, { id, after });
      expect(errors).toBeUndefined();
      orderCount = data!.customer.features.orderCount;
      seen.push(...data!.customer.transactions.edges.map((e) => e.node.occurredAt));
      if (!data!.customer.transactions.pageInfo.hasNextPage) break;
      after = data!.customer.transactions.pageInfo.endCursor;
    }
    expect(seen.length).toBeGreaterThanOrEqual(orderCount);
    expect([...seen].sort()).toEqual(seen);

    server.warehouseQueries.length = 0;
    const batch = await server.graphql(
      `{ customers(ids: ["c000001", "c000002", "c000003"], asOf: "${DEMO_END_DATE}") { transactions(first: 3) { edges { node { amount } } } } }`,
    );
    expect(batch.errors).toBeUndefined();
    expect(server.warehouseQueries).toEqual(["customer_features", "customer_transactions"]);
  });

  it("counts transitions between two days that add up to the customers known on the second", async () => {
    const { data, errors } = await server.graphql<{
      stageTransitions: { from: { key: string } | null; to: { key: string }; count: number }[];
    }>(`{ stageTransitions(from: "2026-03-31", to: "${DEMO_END_DATE}") { from { key } to { key } count } }`);
    expect(errors).toBeUndefined();
    expect(data!.stageTransitions.reduce((s, t) => s + t.count, 0)).toBe(server.demoCounts.customers);
    expect(data!.stageTransitions.some((t) => t.from === null)).toBe(true);
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

  interface Member {
    id: string;
    stage: { key: string };
    rfm: { recency: number; frequency: number; segment: string } | null;
    features: { revenue: number };
  }

  interface MembershipPage {
    size: number;
    members: { edges: { node: Member }[]; pageInfo: { hasNextPage: boolean; endCursor: string | null } };
  }

  /** Every member of a saved segment on a day (membership's own listing), page by page. */
  async function membersOf(segmentId: string, asOf: string): Promise<{ size: number; members: Member[] }> {
    const members: Member[] = [];
    let size = -1;
    let after: string | null = null;
    for (;;) {
      const page = await server.graphql<{ segment: { membership: MembershipPage } }>(
        `query($id: ID!, $asOf: Date!, $after: String) { segment(id: $id) { membership(asOf: $asOf) { size
          members(first: 100, after: $after) { edges { node { id stage { key } rfm { recency frequency segment } features { revenue } } }
            pageInfo { hasNextPage endCursor } } } } }`,
        { id: segmentId, asOf, after },
      );
      expect(page.errors).toBeUndefined();
      const membership: MembershipPage = page.data!.segment.membership;
      size = membership.size;
      members.push(...membership.members.edges.map((e) => e.node));
      if (!membership.members.pageInfo.hasNextPage) break;
      after = membership.members.pageInfo.endCursor;
    }
    expect(members).toHaveLength(size);
    return { size, members };
  }

  type TransitionRow = { from: { key: string } | null; to: { key: string }; count: number };
  const TRANSITIONS_QUERY = `query($from: Date!, $to: Date!, $segmentId: ID) {
    stageTransitions(from: $from, to: $to, segmentId: $segmentId) { from { key } to { key } count } }`;
  const cellsOf = (rows: TransitionRow[]) =>
    Object.fromEntries(rows.map((r) => [`${r.from?.key ?? "unknown"} → ${r.to.key}`, r.count]));

  it("narrows transitions to a saved segment's members on the second day, each counted from their own stages", async () => {
    const from = "2026-03-31";
    const to = DEMO_END_DATE;
    const all = await server.graphql<{ stageTransitions: TransitionRow[] }>(TRANSITIONS_QUERY, { from, to });
    expect(all.errors).toBeUndefined();
    // Paid search (a plain field), bought in the last 45 days (relative: evaluated on `to`), high RFM
    // recency (reads the scores).
    const segments = [
      await saveSegment("paid search", { field: "acquisitionChannel", op: "eq", value: "paid_search" }),
      await saveSegment("bought lately", { field: "lastPurchaseDate", op: "gte", value: { daysAgo: 45 } }),
      await saveSegment("recent rfm", { field: "rfmRecency", op: "gte", value: 4 }),
    ];
    for (const segmentId of segments) {
      const { size, members } = await membersOf(segmentId, to);
      expect(size).toBeGreaterThan(0);
      expect(size).toBeLessThan(server.demoCounts.customers);
      // Independently: each member's stage on `from` (null when not known then) and on `to`.
      const before = await server.graphql<{ customers: ({ id: string; stage: { key: string } } | null)[] }>(
        `query($ids: [ID!]!, $asOf: Date!) { customers(ids: $ids, asOf: $asOf) { id stage { key } } }`,
        { ids: members.map((m) => m.id), asOf: from },
      );
      expect(before.errors).toBeUndefined();
      const expected: Record<string, number> = {};
      members.forEach((m, i) => {
        const key = `${before.data!.customers[i]?.stage.key ?? "unknown"} → ${m.stage.key}`;
        expected[key] = (expected[key] ?? 0) + 1;
      });
      const { data, errors } = await server.graphql<{ stageTransitions: TransitionRow[] }>(TRANSITIONS_QUERY, {
        from,
        to,
        segmentId,
      });
      expect(errors).toBeUndefined();
      expect(data!.stageTransitions.reduce((n, t) => n + t.count, 0)).toBe(size);
      expect(cellsOf(data!.stageTransitions), segmentId).toEqual(expected);
      // No cell holds more than everyone's.
      const everyone = cellsOf(all.data!.stageTransitions);
      for (const [cell, n] of Object.entries(expected)) expect(n, cell).toBeLessThanOrEqual(everyone[cell]!);
    }
  });

  it("narrows the RFM grid to a segment's buyers, scored among all buyers", async () => {
    const asOf = DEMO_END_DATE;
    const GRID = `query($asOf: Date!, $segmentId: ID) { rfmGrid(asOf: $asOf, segmentId: $segmentId) {
      buyers cells { recency frequency customers revenue } segments { segment customers revenue share } } }`;
    type Grid = {
      buyers: number;
      cells: { recency: number; frequency: number; customers: number; revenue: number }[];
      segments: { segment: string; customers: number; revenue: number; share: number }[];
    };
    const all = await server.graphql<{ rfmGrid: Grid }>(GRID, { asOf });
    expect(all.errors).toBeUndefined();
    const segments = [
      await saveSegment("paid search grid", { field: "acquisitionChannel", op: "eq", value: "paid_search" }),
      await saveSegment("champions grid", { field: "rfmSegment", op: "in", value: ["champions", "loyal"] }),
    ];
    for (const segmentId of segments) {
      const { members } = await membersOf(segmentId, asOf);
      // Each member's own Customer.rfm (ranked among all buyers): prospects have none.
      const buyers = members.filter((m) => m.rfm !== null);
      expect(buyers.length).toBeGreaterThan(0);
      expect(buyers.length).toBeLessThan(all.data!.rfmGrid.buyers);
      const { data, errors } = await server.graphql<{ rfmGrid: Grid }>(GRID, { asOf, segmentId });
      expect(errors).toBeUndefined();
      const grid = data!.rfmGrid;
      expect(grid.buyers).toBe(buyers.length);
      expect(grid.cells).toHaveLength(25);
      expect(grid.cells.reduce((n, c) => n + c.customers, 0)).toBe(buyers.length);
      for (const cell of grid.cells) {
        const inCell = buyers.filter((m) => m.rfm!.recency === cell.recency && m.rfm!.frequency === cell.frequency);
        const where = `${segmentId} R${cell.recency} F${cell.frequency}`;
        expect(cell.customers, where).toBe(inCell.length);
        expect(cell.revenue, where).toBeCloseTo(
          inCell.reduce((n, m) => n + m.features.revenue, 0),
          6,
        );
      }
      for (const total of grid.segments) {
        const inSegment = buyers.filter((m) => m.rfm!.segment === total.segment);
        expect(total.customers, total.segment).toBe(inSegment.length);
        expect(total.share, total.segment).toBeCloseTo(inSegment.length / buyers.length, 12);
        expect(total.revenue, total.segment).toBeCloseTo(
          inSegment.reduce((n, m) => n + m.features.revenue, 0),
          6,
        );
      }
    }
  });

  it("times stage entries over a period, every stage listed", async () => {
    const { data, errors } = await server.graphql<{
      stageTimings: {
        stage: { key: string };
        entries: number;
        medianDaysFromFirstSeen: number | null;
        meanDaysFromFirstPurchase: number | null;
      }[];
    }>(
      `{ stageTimings(from: "2026-03-31", to: "${DEMO_END_DATE}", stepDays: 30) { stage { key } entries medianDaysFromFirstSeen meanDaysFromFirstPurchase } }`,
    );
    expect(errors).toBeUndefined();
    expect(data!.stageTimings).toHaveLength(8);
    const newStage = data!.stageTimings.find((t) => t.stage.key === "new")!;
    expect(newStage.entries).toBeGreaterThan(0);
    // Entering "new" happens within one 30-day step of the first purchase.
    expect(newStage.meanDaysFromFirstPurchase).toBeGreaterThanOrEqual(0);
    expect(newStage.meanDaysFromFirstPurchase).toBeLessThanOrEqual(30);
    for (const t of data!.stageTimings) if (t.entries === 0) expect(t.medianDaysFromFirstSeen).toBeNull();
    const tooFine = await server.graphql(
      `{ stageTimings(from: "2025-01-01", to: "${DEMO_END_DATE}", stepDays: 1) { entries } }`,
    );
    expect(tooFine.errors?.[0]?.extensions?.code).toBe("BAD_USER_INPUT");
    expect(tooFine.errors?.[0]?.message).toMatch(/at most 60: use a larger stepDays/);
  });

  it("scores buyers by RFM: the grid adds up to the buyers, lookups are batched, prospects have none", async () => {
    const grid = await server.graphql<{
      rfmGrid: {
        buyers: number;
        cells: { customers: number }[];
        segments: { segment: string; customers: number; share: number }[];
      };
      stages: { key: string; count: number }[];
    }>(`{ rfmGrid(asOf: "${DEMO_END_DATE}") { buyers cells { customers } segments { segment customers share } }
          stages(asOf: "${DEMO_END_DATE}") { key count } }`);
    expect(grid.errors).toBeUndefined();
    const prospects = grid.data!.stages.find((s) => s.key === "prospect")!.count;
    expect(grid.data!.rfmGrid.buyers).toBe(server.demoCounts.customers - prospects);
    expect(grid.data!.rfmGrid.cells).toHaveLength(25);
    expect(grid.data!.rfmGrid.cells.reduce((s, c) => s + c.customers, 0)).toBe(grid.data!.rfmGrid.buyers);
    expect(grid.data!.rfmGrid.segments.reduce((s, c) => s + c.customers, 0)).toBe(grid.data!.rfmGrid.buyers);
    expect(grid.data!.rfmGrid.segments.map((s) => s.segment)).toContain("champions");

    const ids = Array.from({ length: 50 }, (_, i) => `c${String(i + 1).padStart(6, "0")}`);
    server.warehouseQueries.length = 0;
    const scored = await server.graphql<{
      customers: { stage: { key: string }; rfm: { code: string; segment: string } | null }[];
    }>(
      `query($ids: [ID!]!) { customers(ids: $ids, asOf: "${DEMO_END_DATE}") { stage { key } rfm { code segment } } }`,
      { ids },
    );
    expect(scored.errors).toBeUndefined();
    expect(server.warehouseQueries).toEqual(["customer_features", "customer_rfm"]);
    for (const c of scored.data!.customers) {
      if (c.stage.key === "prospect") expect(c.rfm).toBeNull();
      else expect(c.rfm!.code).toMatch(/^[1-5]{3}$/);
    }
  });

  it("fits the lifetime-value models and predicts per customer; thin data is a clear error", async () => {
    const { data, errors } = await server.graphql<{
      clvModel: {
        customers: number;
        bgnbd: { r: number; alpha: number; a: number; b: number };
        gammaGamma: { p: number };
        diagnostics: { purchaseModelConverged: boolean };
      };
      customers: {
        stage: { key: string };
        prediction: { probabilityAlive: number; expectedPurchases: number; predictedClv: number } | null;
      }[];
    }>(`{ clvModel(asOf: "${DEMO_END_DATE}") { customers bgnbd { r alpha a b } gammaGamma { p } diagnostics { purchaseModelConverged } }
          customers(ids: ["c000001", "c000002", "c000003", "c000004", "c000005", "c000006"], asOf: "${DEMO_END_DATE}") {
            stage { key } prediction(horizonDays: 180) { probabilityAlive expectedPurchases predictedClv } } }`);
    expect(errors).toBeUndefined();
    expect(data!.clvModel.diagnostics.purchaseModelConverged).toBe(true);
    for (const v of Object.values(data!.clvModel.bgnbd)) expect(v).toBeGreaterThan(0);
    for (const c of data!.customers) {
      if (c.stage.key === "prospect") expect(c.prediction).toBeNull();
      else {
        expect(c.prediction!.probabilityAlive).toBeGreaterThanOrEqual(0);
        expect(c.prediction!.probabilityAlive).toBeLessThanOrEqual(1);
        expect(c.prediction!.predictedClv).toBeGreaterThanOrEqual(0);
      }
    }
    const pareto = await server.graphql<{
      clvModel: { model: string; bgnbd: null; paretoNbd: Record<string, number> };
      customers: { prediction: { probabilityAlive: number; expectedPurchases: number } | null }[];
    }>(`{ clvModel(asOf: "${DEMO_END_DATE}", model: PARETO_NBD) { model bgnbd { r } paretoNbd { r alpha s beta } }
          customers(ids: ["c000002", "c000003", "c000004"], asOf: "${DEMO_END_DATE}") {
            prediction(model: PARETO_NBD) { probabilityAlive expectedPurchases } } }`);
    expect(pareto.errors).toBeUndefined();
    expect(pareto.data!.clvModel.model).toBe("PARETO_NBD");
    expect(pareto.data!.clvModel.bgnbd).toBeNull();
    for (const v of Object.values(pareto.data!.clvModel.paretoNbd)) expect(v).toBeGreaterThan(0);
    for (const c of pareto.data!.customers.filter((c) => c.prediction)) {
      expect(c.prediction!.probabilityAlive).toBeGreaterThan(0);
      expect(c.prediction!.probabilityAlive).toBeLessThanOrEqual(1);
      expect(c.prediction!.expectedPurchases).toBeGreaterThanOrEqual(0);
    }
    const thin = await server.graphql(`{ clvModel(asOf: "2024-07-02") { customers } }`);
    expect(thin.errors?.[0]?.extensions?.code).toBe("INSUFFICIENT_DATA");
    expect(thin.errors?.[0]?.message).toMatch(/too little data to fit BG\/NBD/);
  });

  it("refuses bad input with BAD_USER_INPUT", async () => {
    const badDate = await server.graphql(`{ stages(asOf: "2026-02-30") { key } }`);
    expect(badDate.errors?.[0]?.message).toMatch(/Date must be a calendar day YYYY-MM-DD/);
    const ancient = await server.graphql(`{ stages(asOf: "1899-12-31") { key } }`);
    expect(ancient.errors?.[0]?.message).toMatch(/from 1900-01-01/);
    const tooMany = await server.graphql(`{ stages { customers(first: 501) { edges { cursor } } } }`);
    expect(tooMany.errors?.[0]?.extensions?.code).toBe("BAD_USER_INPUT");
    expect(tooMany.errors?.[0]?.message).toMatch(/first must be between 1 and 500/);
    const backwards = await server.graphql(`{ stages { customers(last: 5) { edges { cursor } } } }`);
    expect(backwards.errors?.[0]?.extensions?.code).toBe("BAD_USER_INPUT");
    const reversed = await server.graphql(`{ stageTransitions(from: "2026-06-30", to: "2026-01-01") { count } }`);
    expect(reversed.errors?.[0]).toMatchObject({
      message: "to must be after from",
      extensions: { code: "BAD_USER_INPUT", argument: "to" },
    });
    const tooManyIds = await server.graphql(`query($ids: [ID!]!) { customers(ids: $ids) { id } }`, {
      ids: Array.from({ length: 5_001 }, (_, i) => `x${i}`),
    });
    expect(tooManyIds.errors?.[0]?.extensions?.code).toBe("BAD_USER_INPUT");
  });
});

// The example operations of schema/operations, typed by codegen, run against the demo shop.
import { readFileSync } from "node:fs";
import { print } from "graphql";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  CreateSegmentDocument,
  CustomerLifetimeValueDocument,
  CustomerStageDocument,
  DashboardDocument,
  PreviewSegmentDocument,
  SavedSegmentsDocument,
  StageOverviewDocument,
  WarehouseOverviewDocument,
  type CreateSegmentMutation,
  type CustomerLifetimeValueQuery,
  type CustomerStageQuery,
  type PreviewSegmentQuery,
  type DashboardQuery,
  type StageOverviewQuery,
} from "../../src/generated/graphql/graphql.ts";
import { FIRST_QUERY } from "../../src/server/graphiql.ts";
import { DEMO_END_DATE, startTestServer, type TestServer } from "../helpers/server.ts";

let server: TestServer;
beforeAll(async () => {
  server = await startTestServer({ customers: 300 });
});
afterAll(async () => {
  await server?.close();
});

describe("example operations on the demo shop", () => {
  it("the query GraphiQL opens with runs on the demo data and counts everyone", async () => {
    const { data, errors } = await server.graphql<{ stages: { count: number }[] }>(FIRST_QUERY);
    expect(errors).toBeUndefined();
    expect(data!.stages.reduce((sum, s) => sum + s.count, 0)).toBe(300);
  });

  it("fits GraphiQL's editor: no line of that first query is longer than 72 characters", () => {
    // Longer starter comments ran off the right edge of the editor at a laptop's width.
    const longest = Math.max(...FIRST_QUERY.split("\n").map((line) => line.length));
    expect(longest).toBeLessThanOrEqual(72);
  });

  it("every 'Then try' line of that first query runs as written", async () => {
    const tries = FIRST_QUERY.split("\n")
      .map((line) => /^# {3}(\S.*?)(?: {2,}.*)?$/.exec(line)?.[1])
      .filter((field): field is string => field !== undefined);
    expect(tries.length).toBe(4);
    for (const field of tries) {
      const { data, errors } = await server.graphql(`{ ${field} }`);
      expect(errors, field).toBeUndefined();
      expect(Object.values(data!)[0], field).not.toBeNull();
    }
  });

  it("WarehouseOverview and SavedSegments answer without errors", async () => {
    for (const document of [WarehouseOverviewDocument, SavedSegmentsDocument]) {
      expect((await server.graphql(print(document))).errors).toBeUndefined();
    }
  });

  it("StageOverview: the distribution, moves and timings of a dashboard", async () => {
    const { data, errors } = await server.graphql<StageOverviewQuery>(print(StageOverviewDocument), {
      asOf: DEMO_END_DATE,
      since: "2026-03-31",
    });
    expect(errors).toBeUndefined();
    expect(data!.stages.reduce((sum, s) => sum + s.count, 0)).toBe(300);
    expect(data!.stageTransitions.length).toBeGreaterThan(0);
  });

  it("CustomerStage: one customer's stage with its recommended actions", async () => {
    const { data, errors } = await server.graphql<CustomerStageQuery>(print(CustomerStageDocument), {
      id: "c000001",
      asOf: DEMO_END_DATE,
    });
    expect(errors).toBeUndefined();
    expect(data!.customer!.stage.recommendedActions.length).toBeGreaterThan(0);
  });

  it("Dashboard: stages, funnel, RFM grid, cohorts and headline metrics with their change, in one request", async () => {
    server.warehouseQueries.length = 0;
    const { data, errors } = await server.graphql<DashboardQuery>(print(DashboardDocument), {
      asOf: DEMO_END_DATE,
      period: { from: "2026-04-01", to: "2026-06-30" },
      previous: { from: "2026-01-01", to: "2026-03-31" },
      cohortsFrom: "2025-07-01",
    });
    expect(errors).toBeUndefined();
    const people = data!.stages.reduce((sum, s) => sum + s.count, 0);
    expect(data!.funnel[0]!.reached).toBe(people);
    expect(data!.rfmGrid.cells.reduce((sum, c) => sum + c.customers, 0)).toBe(data!.rfmGrid.buyers);
    expect(data!.cohorts).toHaveLength(12);
    expect(data!.metrics).toHaveLength(13);
    for (const m of data!.metrics) {
      expect(m.value, m.key).not.toBeNull();
      expect(m.comparison!.value, m.key).not.toBeNull();
    }
    // Every part is aggregated in the warehouse: a handful of queries, none per customer.
    expect(server.warehouseQueries.length).toBeLessThanOrEqual(12);
  });

  it("PreviewSegment then CreateSegment: the preview's size is the saved segment's size", async () => {
    const definition = { all: [{ field: "purchaseDays", op: "gte", value: 2 }] };
    const preview = await server.graphql<PreviewSegmentQuery>(print(PreviewSegmentDocument), {
      definition,
      asOf: DEMO_END_DATE,
    });
    expect(preview.errors).toBeUndefined();
    const { size, stageBreakdown, members } = preview.data!.previewSegment;
    expect(size).toBeGreaterThan(0);
    expect(size).toBeLessThan(300);
    expect(stageBreakdown.reduce((sum, s) => sum + s.count, 0)).toBe(size);
    expect(members.edges.length).toBe(Math.min(10, size));
    for (const { node } of members.edges) expect(node.features.purchaseDays).toBeGreaterThanOrEqual(2);

    const created = await server.graphql<CreateSegmentMutation>(print(CreateSegmentDocument), {
      input: { name: "Repeat buyers (operations example)", definition },
    });
    expect(created.errors).toBeUndefined();
    expect(created.data!.createSegment).toMatchObject({ version: 1, definition });
    // `size` without asOf counts today; the demo shop has no purchases after its last day, so a
    // purchase-count definition selects the same people.
    expect(created.data!.createSegment.size).toBe(size);
  });

  it("CustomerLifetimeValue: the fitted models and one buyer's prediction", async () => {
    const { data, errors } = await server.graphql<CustomerLifetimeValueQuery>(print(CustomerLifetimeValueDocument), {
      asOf: DEMO_END_DATE,
      id: "c000001",
    });
    expect(errors).toBeUndefined();
    const model = data!.clvModel!;
    expect(model.diagnostics.purchaseModelConverged).toBe(true);
    for (const v of [model.bgnbd!.r, model.bgnbd!.alpha, model.gammaGamma.p, model.gammaGamma.q]) {
      expect(v).toBeGreaterThan(0);
    }
    // c000001 is a repeat buyer in the seeded demo: the prediction exists and is a probability and an amount.
    expect(data!.customer!.features.purchaseDays).toBeGreaterThan(1);
    const prediction = data!.customer!.prediction!;
    expect(prediction.probabilityAlive).toBeGreaterThan(0);
    expect(prediction.probabilityAlive).toBeLessThanOrEqual(1);
    expect(prediction.expectedPurchases).toBeGreaterThan(0);
    expect(prediction.predictedClv).toBeGreaterThan(0);
  });

  it("the README's first-ten-minutes mutation saves a segment with members", async () => {
    const readme = readFileSync(new URL("../../README.md", import.meta.url), "utf8");
    const mutation = /```graphql\n(\s*mutation \{[\s\S]*?)```/.exec(readme)?.[1];
    expect(mutation).toBeDefined();
    const { data, errors } = await server.graphql<{ createSegment: { name: string; size: number } }>(mutation!);
    expect(errors).toBeUndefined();
    expect(data!.createSegment.name).toBe("At-risk repeat buyers");
    expect(data!.createSegment.size).toBeGreaterThan(0);
  });
});

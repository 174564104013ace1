// The example operations of schema/operations, typed by codegen, run against the demo shop.
import { print } from "graphql";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  CustomerStageDocument,
  DashboardDocument,
  SavedSegmentsDocument,
  StageOverviewDocument,
  WarehouseOverviewDocument,
  type CustomerStageQuery,
  type DashboardQuery,
  type StageOverviewQuery,
} from "../src/generated/graphql/graphql.ts";
import { DEMO_END_DATE, startTestServer, type TestServer } from "./helpers/server.ts";

let server: TestServer;
beforeAll(async () => {
  server = await startTestServer({ customers: 300 });
});
afterAll(async () => {
  await server?.close();
});

describe("example operations on the demo shop", () => {
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
});

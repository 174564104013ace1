// The example operations of schema/operations, typed by codegen, run against the demo shop.
import { print } from "graphql";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  CustomerStageDocument,
  SavedSegmentsDocument,
  StageOverviewDocument,
  WarehouseOverviewDocument,
  type CustomerStageQuery,
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
});

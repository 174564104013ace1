// /ready tells a load balancer whether both stores answer; /health only that the process runs.
import { pino } from "pino";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { DEFAULT_MAPPING } from "../../src/sql/contract.ts";
import { pgPoolSource, PostgresConnector } from "../../src/connectors/postgres.ts";
import { defaultStageModel } from "../../src/lifecycle/stage-model.ts";
import { createClmYoga, type ClmYoga } from "../../src/server/yoga.ts";
import { createAppServices } from "../../src/services/app-services.ts";
import { openTestAppDatabase, type TestAppDatabase } from "../helpers/databases.ts";

describe("readiness", () => {
  let appDb: TestAppDatabase;
  let deadWarehouse: PostgresConnector;
  let yoga: ClmYoga;
  let appDbUp = true;

  beforeAll(async () => {
    appDb = await openTestAppDatabase();
    // Nothing listens on port 1: every connection is refused at once.
    deadWarehouse = new PostgresConnector(pgPoolSource("postgresql://clm@127.0.0.1:1/warehouse"), DEFAULT_MAPPING);
    yoga = createClmYoga(
      {
        ...createAppServices({
          warehouse: deadWarehouse,
          prisma: appDb.prisma,
          log: pino({ level: "silent" }),
          stageModel: defaultStageModel(),
          timeZone: "UTC",
          available: new Set(),
        }),
        prisma: appDb.prisma,
        pingAppDatabase: async () => {
          if (!appDbUp) throw new Error("app database down");
          await appDb.ping();
        },
      },
      // Each test sees the state it sets, not the answer reused from the one before.
      { allowAnonymous: true, readyReuseMs: 0 },
    );
  });
  afterAll(async () => {
    await deadWarehouse?.close();
    await appDb?.close();
  });

  it("answers 503 naming the warehouse when it is unreachable, while /health stays 200", async () => {
    const ready = await yoga.fetch("http://test/ready");
    expect(ready.status).toBe(503);
    expect(await ready.json()).toEqual({ ready: false, appDatabase: "ok", warehouse: "unavailable" });
    expect((await yoga.fetch("http://test/health")).status).toBe(200);
  });

  it("answers GraphQL with WAREHOUSE_UNAVAILABLE and retry advice, not an internal error", async () => {
    const started = performance.now();
    const response = await yoga.fetch("http://test/graphql", {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ query: "{ stages { key count } }" }),
    });
    const body = (await response.json()) as {
      errors: { message: string; path: string[]; extensions: Record<string, unknown> }[];
    };
    expect(body.errors[0]!.extensions).toMatchObject({ code: "WAREHOUSE_UNAVAILABLE", retryAfterSeconds: 5 });
    expect(body.errors[0]!.extensions.requestId).toEqual(response.headers.get("x-request-id"));
    expect(body.errors[0]!.path).toEqual(["stages", 0, "count"]);
    // Nothing of the connection (host, port, driver message) reaches the client.
    expect(JSON.stringify(body)).not.toMatch(/127\.0\.0\.1|ECONNREFUSED/);
    expect(performance.now() - started).toBeLessThan(3_000);
  });

  it("names the app database too when it fails", async () => {
    appDbUp = false;
    const ready = await yoga.fetch("http://test/ready");
    expect(await ready.json()).toEqual({ ready: false, appDatabase: "unavailable", warehouse: "unavailable" });
    appDbUp = true;
  });
});

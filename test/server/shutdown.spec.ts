// Graceful shutdown: in-flight requests finish, new connections are refused, resources close.
import { pino } from "pino";
import { describe, expect, it } from "vitest";
import { loadEnv } from "../../src/config/env.ts";
import { defaultStageModel } from "../../src/lifecycle/stage-model.ts";
import { listen } from "../../src/server/boot.ts";
import { createAppServices } from "../../src/services/app-services.ts";
import { createClmYoga } from "../../src/server/yoga.ts";
import { openTestAppDatabase } from "../helpers/databases.ts";
import { openDemoWarehouse } from "../helpers/server.ts";

describe("graceful shutdown", () => {
  it("lets an in-flight request finish, then refuses connections and closes the stores", async () => {
    const appDb = await openTestAppDatabase();
    const { warehouse } = await openDemoWarehouse(100);
    // A slow warehouse call keeps the request in flight while shutdown starts.
    const slowStatus = warehouse.tableStatus.bind(warehouse);
    warehouse.tableStatus = async () => {
      await new Promise((r) => setTimeout(r, 600));
      return slowStatus();
    };
    const log = pino({ level: "silent" });
    const closed: string[] = [];
    const services = createAppServices({
      warehouse,
      prisma: appDb.prisma,
      log,
      stageModel: defaultStageModel(),
      timeZone: "UTC",
      available: new Set(),
    });
    const yoga = createClmYoga(
      { ...services, prisma: appDb.prisma, pingAppDatabase: () => appDb.ping() },
      { allowAnonymous: true },
    );
    const running = await listen(
      {
        config: loadEnv({ PORT: "0" }),
        appDb,
        warehouse,
        yoga,
        close: async () => {
          await warehouse.close();
          await appDb.close();
          closed.push("stores");
        },
      },
      log,
    );

    const inFlight = fetch(`${running.url}/graphql`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ query: "{ warehouse { tables { name rowCount } } }" }),
    });
    await new Promise((r) => setTimeout(r, 150));
    const shutdownStarted = Date.now();
    const closing = running.close(5_000);

    const response = await inFlight;
    expect(response.status).toBe(200);
    const body = (await response.json()) as { data: { warehouse: { tables: { rowCount: number }[] } } };
    expect(body.data.warehouse.tables[1]!.rowCount).toBe(100);

    await closing;
    // Well inside the grace period: the drained keep-alive connection was closed, not forced.
    expect(Date.now() - shutdownStarted).toBeLessThan(2_500);
    expect(closed).toEqual(["stores"]);
    await expect(fetch(`${running.url}/health`)).rejects.toThrow();
  });
});

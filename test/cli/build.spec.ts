// `npm run build` bundles the server's own code into dist/clm.mjs (packages stay in node_modules), and
// plain node runs it: migrations, the demo, GraphQL, the dashboard's files and the export all work from
// the bundle, which finds the project's files from the project root rather than from src/.
import { execFileSync } from "node:child_process";
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { serveClm, until, type Served } from "../helpers/process.ts";

const ROOT = fileURLToPath(new URL("../..", import.meta.url));
const BUNDLE = join(ROOT, "dist", "clm.mjs");

describe("the compiled server (npm run build; node dist/clm.mjs serve)", () => {
  let served: Served;
  beforeAll(async () => {
    execFileSync("npm", ["run", "--silent", "build"], { cwd: ROOT, stdio: "pipe" });
    const dir = mkdtempSync(join(tmpdir(), "clm-build-"));
    // No loader in the child (NODE_OPTIONS emptied): the bundle must be plain JavaScript to run at all.
    const env = { CLM_DATA_DIR: join(dir, "data"), CLM_DEMO_CUSTOMERS: "300", PORT: "0", NODE_OPTIONS: "" };
    served = await serveClm(env, 60_000, BUNDLE);
  }, 120_000);
  afterAll(async () => {
    if (served && served.child.exitCode === null) await served.stop("SIGKILL");
  });

  it("runs without tsx: ready, answers GraphQL, fits CLV in its worker, serves the dashboard and exports a segment", async () => {
    expect(served.child.spawnargs.slice(1)).toEqual([BUNDLE, "serve"]);
    const ready = await fetch(`${served.url}/ready`);
    expect(await ready.json()).toMatchObject({ ready: true, appDatabase: "ok", warehouse: "ok" });
    const graphql = async (query: string, variables?: unknown) => {
      const response = await fetch(`${served.url}/graphql`, {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify({ query, variables }),
      });
      return (await response.json()) as { data: any; errors?: unknown };
    };
    const stages = await graphql(`
      {
        stages(asOf: "2026-06-30") {
          key
          count
        }
      }
    `);
    expect(stages.errors).toBeUndefined();
    const total = stages.data.stages.reduce((sum: number, s: { count: number }) => sum + s.count, 0);
    expect(total).toBeGreaterThan(0);
    // The fit runs in a worker thread: the bundle's worker entry (dist/clm-fit-worker.mjs) must load.
    const clv = await graphql(`
      {
        clvModel(asOf: "2026-06-30") {
          customers
          bgnbd {
            r
          }
          diagnostics {
            purchaseModelConverged
          }
        }
      }
    `);
    expect(clv.errors).toBeUndefined();
    expect(clv.data.clvModel.bgnbd.r).toBeGreaterThan(0);
    const dashboard = await fetch(`${served.url}/dashboard`);
    expect(dashboard.status).toBe(200);
    expect(await dashboard.text()).toContain("<html");
    const created = await graphql(
      `
        mutation ($input: CreateSegmentInput!) {
          createSegment(input: $input) {
            id
          }
        }
      `,
      { input: { name: "built", description: "everyone", definition: { field: "purchaseDays", op: "gte", value: 0 } } },
    );
    expect(created.errors).toBeUndefined();
    const csv = await (
      await fetch(`${served.url}/segments/${created.data.createSegment.id}/members.csv?asOf=2026-06-30`)
    ).text();
    expect(csv.trim().split("\r\n").length - 1).toBe(total);
  });

  it("writes the state's predictions in the bundled worker (its named export)", async () => {
    // The demo's state is refreshed at start; its predictions are worked out by dist/clm-fit-worker.mjs.
    type StateStore = { generation: number | null; lifetimeValue: { customers: number } | null; lastRefresh: unknown };
    let state = null as StateStore | null;
    await until("the demo's state store", async () => {
      const response = await fetch(`${served.url}/graphql`, {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify({
          query: `{ stateStore { generation lifetimeValue { customers } lastRefresh { warnings error } } }`,
        }),
      });
      state = ((await response.json()) as { data: { stateStore: StateStore } }).data.stateStore;
      return Boolean(state?.generation);
    });
    expect(state?.lastRefresh).toMatchObject({ warnings: [], error: null });
    expect(state?.lifetimeValue?.customers).toBeGreaterThan(0);
  });
});

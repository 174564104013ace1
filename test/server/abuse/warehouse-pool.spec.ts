// One key exhausting the warehouse's connections must slow only itself: another key's lookups answer,
// waiting for a connection is back-pressure (WAREHOUSE_BUSY), never "unreachable", and the circuit stays
// closed. Reproduces the hostile tester's 40 aliased stageTimings against a pool of 10 connections.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { WarehouseBusyError, WarehouseUnavailableError } from "../../../src/connectors/connector.ts";
import { sql } from "../../../src/sql/sql.ts";
import { KeyStore } from "../../../src/auth/keys.ts";
import { generateDemoData } from "../../../src/demo/generate.ts";
import { DEMO_END_DATE, startTestServer, type TestServer } from "../../helpers/server.ts";
import { openSlowPoolWarehouse, type SlowPool } from "../../helpers/slow-pool.ts";

const QUERY_MS = 150;

let server: TestServer;
let pool: SlowPool;
let attacker: string;
let victim: string;
const logLines: Record<string, unknown>[] = [];

beforeAll(async () => {
  server = await startTestServer({
    allowAnonymous: false,
    logLines,
    rows: { transactions: [], customers: [], events: [], marketing_spend: [] },
    warehouseFactory: {
      label: "slow-pool",
      open: async () => {
        const opened = await openSlowPoolWarehouse({ connections: 10, connectionTimeoutMs: 400 });
        pool = opened.pool;
        return opened.warehouse;
      },
    },
  });
  await generateDemoData(server.warehouse, { customers: 200, endDate: DEMO_END_DATE });
  const keys = new KeyStore(server.appDb.prisma);
  attacker = (await keys.create("viewer", "attacker")).secret;
  victim = (await keys.create("viewer", "victim")).secret;
  pool.delayMs = QUERY_MS;
}, 60_000);

afterAll(async () => {
  await server?.close();
});

async function ask(key: string, query: string): Promise<{ status: number; body: any; ms: number }> {
  const started = performance.now();
  const response = await server.yoga.fetch("http://test/graphql", {
    method: "POST",
    headers: { "content-type": "application/json", authorization: `Bearer ${key}` },
    body: JSON.stringify({ query }),
  });
  return { status: response.status, body: await response.json(), ms: performance.now() - started };
}

/** 40 stageTimings with distinct periods (each its own warehouse query) in one request. */
const FLOOD = `{ ${Array.from(
  { length: 40 },
  (_, i) =>
    `t${i}: stageTimings(from: "2026-01-01", to: "2026-06-${String((i % 28) + 1).padStart(2, "0")}", stepDays: ${30 + i}) { entries }`,
).join(" ")} }`;

function codes(body: any): string[] {
  return (body.errors ?? []).map((e: any) => String(e.extensions?.code));
}

describe("one key exhausting the warehouse pool", () => {
  it("leaves another key's lookups answering, says WAREHOUSE_BUSY at worst, and never opens the circuit", async () => {
    const attack = [ask(attacker, FLOOD), ...Array.from({ length: 2 }, () => ask(attacker, FLOOD))];
    // The victim starts once the flood has queued.
    await new Promise((resolve) => setTimeout(resolve, 50));
    const victimResults: { ms: number; codes: string[] }[] = [];
    for (let i = 1; i <= 12; i++) {
      const id = `c${String(i).padStart(6, "0")}`;
      const r = await ask(victim, `{ customer(id: "${id}") { id stage { key } } }`);
      victimResults.push({ ms: r.ms, codes: codes(r.body) });
    }
    const attacks = await Promise.all(attack);

    // The victim: every lookup answered, none waited behind the flood for long.
    expect(victimResults.flatMap((r) => r.codes)).toEqual([]);
    // Each lookup is one query of 150 ms; generous for a loaded machine, far below the 10 s queue wait.
    const slowest = Math.max(...victimResults.map((r) => r.ms));
    expect(slowest).toBeLessThan(QUERY_MS * 20);
    // The attacker slowed only itself: answers or WAREHOUSE_BUSY, never an outage.
    const attackCodes = attacks.flatMap((r) => codes(r.body));
    expect(attackCodes.filter((c) => c !== "WAREHOUSE_BUSY")).toEqual([]);
    expect(server.guarded.circuitOpen).toBe(false);
    expect(logLines.filter((l) => String(l.msg).includes("circuit opened"))).toEqual([]);
    // Never more queries at once than the query slots: the pool's 10 connections less the 4 kept for
    // export cursors, cancels and pings.
    expect(pool.running.most).toBeLessThanOrEqual(6);
  }, 60_000);
});

describe("a full pool's wait for a connection", () => {
  it("is WarehouseBusyError (back-pressure), not WarehouseUnavailableError (unreachable)", async () => {
    // Straight to the connector, past the admission queue: more queries than connections at once,
    // each longer than the pool's connect timeout (400 ms).
    pool.delayMs = 600;
    const queries = Array.from({ length: 14 }, (_, i) => server.warehouse.query(sql`SELECT ${i}::int AS i`));
    const results = await Promise.allSettled(queries);
    pool.delayMs = QUERY_MS;
    const errors = results.flatMap((r) => (r.status === "rejected" ? [r.reason] : []));
    expect(errors.length).toBeGreaterThan(0);
    for (const error of errors) {
      expect(error).toBeInstanceOf(WarehouseBusyError);
      expect(error).not.toBeInstanceOf(WarehouseUnavailableError);
    }
  });
});

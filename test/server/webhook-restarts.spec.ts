// Webhook delivery survives what real receivers and servers do: a receiver that fails, hangs and
// restarts, and the server killed with SIGKILL while a delivery is in flight, then started again. At
// the end every event of the outbox has arrived at least once, each delivery's signature verifies,
// and a batch retried after the kill came under the id it was first sent with. Needs a PostgreSQL
// server (TEST_DATABASE_URL), as in CI: the server process and this test share the app database.
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { copyFileSync, mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import pg from "pg";
import { Webhook } from "standardwebhooks";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { addDays } from "../../src/lifecycle/calendar.ts";
import { adminQuery, TEST_DATABASE_URL, testName, withDatabase } from "../helpers/databases.ts";
import { runClm, serveClm, until, type Served } from "../helpers/process.ts";

const STATE_DAY = "2026-06-30";

/** What the receiver does with the next request. */
type Behaviour = "ok" | "fail" | "hang" | "hold";

class Receiver {
  server: Server | undefined;
  port = 0;
  behaviour: Behaviour = "ok";
  /** Event id → times received. */
  readonly received = new Map<string, number>();
  readonly messages: { id: string; events: string[]; verified: boolean; answered: number | null }[] = [];
  readonly held: ServerResponse[] = [];
  secret = "";

  async start(): Promise<void> {
    this.server = createServer((req, res) => this.handle(req, res));
    await new Promise<void>((resolve) => this.server!.listen(this.port, "127.0.0.1", resolve));
    this.port = (this.server.address() as AddressInfo).port;
  }

  async stop(): Promise<void> {
    this.server!.closeAllConnections();
    await new Promise((resolve) => this.server!.close(resolve));
  }

  private handle(req: IncomingMessage, res: ServerResponse): void {
    let body = "";
    req.on("data", (c) => (body += c));
    req.on("end", () => {
      const behaviour = this.behaviour;
      let verified = false;
      let events: string[] = [];
      try {
        const payload = new Webhook(this.secret).verify(body, req.headers as Record<string, string>) as {
          data: { events: { id: string }[] };
        };
        verified = true;
        events = payload.data.events.map((e) => e.id);
      } catch {
        // counted as unverified
      }
      const message = { id: String(req.headers["webhook-id"]), events, verified, answered: null as number | null };
      this.messages.push(message);
      if (behaviour === "hang") return;
      if (behaviour === "hold") {
        this.held.push(res);
        return;
      }
      const status = behaviour === "fail" ? 503 : 200;
      // Taken only when answered 2xx: what the receiver acknowledged.
      if (status === 200) for (const id of events) this.received.set(id, (this.received.get(id) ?? 0) + 1);
      message.answered = status;
      res.writeHead(status).end();
    });
  }
}

describe.skipIf(!TEST_DATABASE_URL)("webhook delivery through receiver failures and a killed server", () => {
  const dir = mkdtempSync(join(tmpdir(), "clm-webhooks-"));
  const database = testName();
  const databaseUrl = TEST_DATABASE_URL ? withDatabase(TEST_DATABASE_URL, database) : "";
  const receiver = new Receiver();
  let db: pg.Client;
  let server: Served | undefined;
  const env = {
    CLM_DUCKDB_PATH: join(dir, "shop.duckdb"),
    DATABASE_URL: databaseUrl,
    CLM_DATA_DIR: dir,
    CLM_ALLOW_ANONYMOUS: "0",
    PORT: "0",
    HOST: "127.0.0.1",
    LOG_LEVEL: "info",
    TZ: "UTC",
    CLM_WEBHOOKS_ALLOW_LOOPBACK: "1",
    CLM_WEBHOOKS_TIMEOUT_MS: "500",
    CLM_WEBHOOKS_BACKOFF_MS: "100",
    CLM_WEBHOOKS_BATCH: "25",
  };

  beforeAll(async () => {
    const seeded = await runClm(
      ["seed", "--customers", "3000", "--end-date", STATE_DAY, "--out", env.CLM_DUCKDB_PATH, "-q"],
      {},
      120_000,
    );
    expect(seeded.code, seeded.stderr).toBe(0);
    // The CLI refreshes from a copy: the server holds its DuckDB file.
    copyFileSync(env.CLM_DUCKDB_PATH, join(dir, "cli.duckdb"));
    await adminQuery(`CREATE DATABASE ${database}`);
    db = new pg.Client({ connectionString: databaseUrl });
    await db.connect();
    await receiver.start();
  }, 180_000);

  afterAll(async () => {
    await server?.stop("SIGKILL").catch(() => {});
    for (const res of receiver.held) res.destroy();
    await receiver.stop().catch(() => {});
    await db?.end();
    if (TEST_DATABASE_URL) await adminQuery(`DROP DATABASE IF EXISTS ${database} WITH (FORCE)`);
  });

  it("delivers every event at least once", async () => {
    // A baseline state a month back, an admin key, and the server with its delivery worker.
    const baseline = await runClm(["refresh", "--full", "--as-of", addDays(STATE_DAY, -30), "-q"], env, 120_000);
    expect(baseline.code, baseline.stderr).toBe(0);
    const key = await runClm(["keys", "create", "--role", "admin", "--label", "ops"], env);
    expect(key.code, key.stderr).toBe(0);
    const secret = key.stdout.trim();
    server = await serveClm(env, 120_000);
    const created = await fetch(`${server.url}/graphql`, {
      method: "POST",
      headers: { "content-type": "application/json", authorization: `Bearer ${secret}` },
      body: JSON.stringify({
        query: `mutation($url: String!) { createWebhookEndpoint(input: { url: $url }) { secret endpoint { id } } }`,
        variables: { url: `http://127.0.0.1:${receiver.port}/hooks` },
      }),
    });
    const answer = (await created.json()) as { data: { createWebhookEndpoint: { secret: string } } };
    receiver.secret = answer.data.createWebhookEndpoint.secret;

    // The month's changes reach the outbox: the receiver fails first, then hangs past the timeout.
    receiver.behaviour = "fail";
    const cli = { ...env, CLM_DUCKDB_PATH: join(dir, "cli.duckdb") };
    const refreshed = await runClm(["refresh", "--as-of", STATE_DAY, "-q"], cli, 120_000);
    expect(refreshed.code, refreshed.stderr).toBe(0);
    const { rows } = await db.query<{ id: string }>(`SELECT id FROM lifecycle_event ORDER BY position`);
    const all = rows.map((r) => r.id);
    expect(all.length).toBeGreaterThan(100);
    await until("three failed attempts", () => receiver.messages.length >= 3);
    receiver.behaviour = "hang";
    await until("a hung attempt", () => receiver.messages.length >= 5);
    // Restarted: down for a moment (connections refused), then up on the same port taking batches.
    await receiver.stop();
    await until("an attempt refused", async () => {
      const { rowCount } = await db.query(`SELECT 1 FROM webhook_attempt WHERE error LIKE '%ECONNREFUSED%'`);
      return (rowCount ?? 0) > 0;
    });
    receiver.behaviour = "ok";
    await receiver.start();
    await until("two batches taken", () => receiver.received.size >= 50);

    // Killed while a batch is in flight: the receiver holds the request until the server is gone.
    receiver.behaviour = "hold";
    const sent = receiver.messages.length;
    await until("a batch in flight", () => receiver.messages.length > sent);
    const inFlight = receiver.messages.at(-1)!;
    await server.stop("SIGKILL");
    server = undefined;
    for (const res of receiver.held.splice(0)) res.destroy();
    receiver.behaviour = "ok";
    server = await serveClm(env, 120_000);

    await until("every event received", () => all.every((id) => receiver.received.has(id)), 90_000);
    expect(receiver.messages.every((m) => m.verified)).toBe(true);
    // The batch cut off by the kill came again under its id, with the same events.
    const again = receiver.messages.find((m) => m !== inFlight && m.id === inFlight.id && m.answered === 200);
    expect(again?.events).toEqual(inFlight.events);
    // Every event at least once; duplicates only from batches sent again.
    const duplicates = [...receiver.received.values()].filter((n) => n > 1).length;
    expect(duplicates).toBeLessThanOrEqual(all.length);
    const { rows: endpoint } = await db.query(
      `SELECT cursor::text AS cursor, pending_through, attempts, enabled FROM webhook_endpoint`,
    );
    const { rows: last } = await db.query(`SELECT MAX(position)::text AS p FROM lifecycle_event`);
    await until("the cursor at the end", async () => {
      const { rows: now } = await db.query(`SELECT cursor::text AS cursor FROM webhook_endpoint`);
      return now[0].cursor === last[0].p;
    });
    expect(endpoint[0].enabled).toBe(true);
    // The log shows the failures and the successes.
    const { rows: log } = await db.query(`SELECT succeeded, status, error FROM webhook_attempt ORDER BY id`);
    expect(log.some((a) => a.status === 503)).toBe(true);
    expect(log.some((a) => a.status === null && /no answer within 500 ms/.test(a.error))).toBe(true);
    expect(log.some((a) => a.status === null && /ECONNREFUSED/.test(a.error))).toBe(true);
  }, 300_000);
});

// Benchmark 10 — delivering lifecycle events: the server (`clm serve`, a child process, PostgreSQL app
// database, production settings) delivers to a receiver in this process on loopback that verifies every
// signature (standardwebhooks) and answers 204.
//   - throughput: 100,000 stage changes committed in one transaction with the refresh's NOTIFY (as a
//     refresh with 100,000 changes writes them), delivered in batches of 100 (the default): events per
//     second from the commit to the last one received; the server's peak RSS meanwhile against its RSS
//     before (bounded memory: a batch at a time, whatever the backlog);
//   - lag: single changes committed one at a time (a pause between them), the time from each commit to
//     its arrival at the receiver (p50, p99).
// The events are written by SQL, not by a state refresh: the refresh's own cost is benchmark 8's.
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { copyFileSync, mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import pg from "pg";
import { Webhook } from "standardwebhooks";
import type { BenchContext } from "./lib/context.ts";
import { admin, PG_BENCH_APP_DATABASE, pgUrl } from "./lib/data.ts";
import { bar, log } from "./lib/progress.ts";
import { figure, targetAtMost, type Section } from "./lib/report.ts";
import { ClmServerFactory, procStatusMb } from "./lib/servers.ts";
import { fmt, percentile } from "./lib/stats.ts";

/** The run's app database (modules run one after another: benchmark 8's is dropped before this one). */
const EVENTS_DATABASE = PG_BENCH_APP_DATABASE;
const BACKLOG = 100_000;
const LAG_SAMPLES = 200;

/** The loopback receiver: verifies each delivery, records when each event arrived. */
class Receiver {
  readonly arrived = new Map<string, number>();
  unverified = 0;
  secret = "";
  private server: Server | undefined;
  url = "";
  onEvent: (() => void) | undefined;

  async start(): Promise<void> {
    this.server = createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on("data", (c: Buffer) => chunks.push(c));
      req.on("end", () => {
        const at = performance.now();
        const body = Buffer.concat(chunks).toString("utf8");
        try {
          const payload = new Webhook(this.secret).verify(body, req.headers as Record<string, string>) as {
            data: { events: { id: string }[] };
          };
          for (const e of payload.data.events) if (!this.arrived.has(e.id)) this.arrived.set(e.id, at);
        } catch {
          this.unverified++;
        }
        res.writeHead(204).end();
        this.onEvent?.();
      });
    });
    await new Promise<void>((resolve) => this.server!.listen(0, "127.0.0.1", resolve));
    this.url = `http://127.0.0.1:${(this.server.address() as AddressInfo).port}/hooks`;
  }

  async stop(): Promise<void> {
    this.server?.closeAllConnections();
    await new Promise((resolve) => this.server?.close(resolve));
  }
}

async function until(check: () => boolean, ms: number, what: string): Promise<void> {
  const deadline = Date.now() + ms;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 5));
  }
}

export async function runEvents(ctx: BenchContext, section: Section): Promise<void> {
  await admin(`DROP DATABASE IF EXISTS ${EVENTS_DATABASE} WITH (FORCE)`);
  await admin(`CREATE DATABASE ${EVENTS_DATABASE}`);
  const appUrl = pgUrl(EVENTS_DATABASE);
  const factory = new ClmServerFactory();
  const receiver = new Receiver();
  const db = new pg.Client({ connectionString: appUrl });
  // Any warehouse will do: the server only delivers here. A small demo shop.
  const ds = await ctx.duckData(ctx.sizes.scalingCustomers[0]!);
  const shop = join(mkdtempSync(join(tmpdir(), "clm-bench-events-")), "shop.duckdb");
  copyFileSync(ds.path, shop);
  const extraEnv = { DATABASE_URL: appUrl, CLM_WEBHOOKS_ALLOW_LOOPBACK: "1", CLM_STATE: "off" };
  try {
    await receiver.start();
    const key = await factory.createKey("admin", extraEnv);
    const server = await factory.start({ duckdbPath: shop, cache: false, extraEnv }, "events");
    await db.connect();
    try {
      const created = await fetch(`${server.url}/graphql`, {
        method: "POST",
        headers: { "content-type": "application/json", authorization: `Bearer ${key}` },
        body: JSON.stringify({
          query: `mutation($url: String!) { createWebhookEndpoint(input: { url: $url }) { secret } }`,
          variables: { url: receiver.url },
        }),
      });
      receiver.secret = (
        (await created.json()) as { data: { createWebhookEndpoint: { secret: string } } }
      ).data.createWebhookEndpoint.secret;

      // 1. A backlog of 100,000 changes, committed at once.
      const rssBefore = procStatusMb(server.pid, "VmRSS") ?? 0;
      let peak = rssBefore;
      const sampler = setInterval(() => (peak = Math.max(peak, procStatusMb(server.pid, "VmRSS") ?? 0)), 50);
      log(`events: committing ${BACKLOG.toLocaleString("en-US")} changes, delivering to ${receiver.url}`);
      const b = bar("events: backlog delivered", BACKLOG);
      receiver.onEvent = () => b.update(receiver.arrived.size);
      await db.query("BEGIN");
      await db.query(
        `INSERT INTO lifecycle_event (id, type, customer_id, day, from_stage, to_stage, generation)
         SELECT 'evt_bench_' || n, 'stage.changed', 'c' || n, DATE '2026-06-30', 'developing', 'at_risk', 1
         FROM generate_series(1, $1::int) AS n`,
        [BACKLOG],
      );
      await db.query(`SELECT pg_notify('clm_lifecycle_events', '1')`);
      await db.query("COMMIT");
      const committed = performance.now();
      await until(() => receiver.arrived.size >= BACKLOG, 30 * 60_000, "the backlog");
      const seconds = (Math.max(...receiver.arrived.values()) - committed) / 1000;
      clearInterval(sampler);
      b.stop();
      receiver.onEvent = undefined;
      section.figures.push(
        figure("events delivered per second (a 100,000-change backlog)", "events/s", [BACKLOG / seconds]),
        figure("server RSS growth while delivering the backlog", "MB", [peak - rssBefore], {
          target: (v) => targetAtMost(v.median, 100, "≤ 100 MB (a batch at a time)"),
        }),
      );

      // 2. Lag: single changes committed one at a time.
      const lags: number[] = [];
      const l = bar("events: lag samples", LAG_SAMPLES);
      for (let i = 0; i < LAG_SAMPLES; i++) {
        const id = `evt_lag_${i}`;
        await db.query("BEGIN");
        await db.query(
          `INSERT INTO lifecycle_event (id, type, customer_id, day, from_stage, to_stage, generation)
           VALUES ($1, 'stage.changed', $2, DATE '2026-07-01', 'new', 'developing', 2)`,
          [id, `lag${i}`],
        );
        await db.query(`SELECT pg_notify('clm_lifecycle_events', '2')`);
        await db.query("COMMIT");
        const at = performance.now();
        await until(() => receiver.arrived.has(id), 30_000, `event ${id}`);
        lags.push(receiver.arrived.get(id)! - at);
        l.increment();
        await new Promise((r) => setTimeout(r, 20));
      }
      l.stop();
      const sorted = [...lags].sort((a, b) => a - b);
      const lag = { p50: percentile(sorted, 50), p99: percentile(sorted, 99), max: sorted.at(-1)! };
      section.figures.push(
        figure("lag from commit to delivery, p50", "ms", [lag.p50]),
        figure("lag from commit to delivery, p99", "ms", [lag.p99]),
      );
      section.notes.push(
        `Throughput: ${BACKLOG.toLocaleString("en-US")} stage changes inserted in one transaction with the refresh's NOTIFY, delivered by \`clm serve\` (PostgreSQL app database, default batch of 100, one endpoint) to a loopback receiver in the bench process that verifies every signature: ${fmt(seconds, 1)} s from the commit to the last event; server RSS ${fmt(rssBefore, 0)} MB before, ${fmt(peak, 0)} MB at most meanwhile (sampled every 50 ms); ${receiver.unverified} deliveries failed verification.`,
        `Lag: ${LAG_SAMPLES} single changes, each committed (with NOTIFY) 20 ms after the previous one arrived; time from the commit returning to the receiver holding the event: p50 ${fmt(lag.p50, 1)} ms, p99 ${fmt(lag.p99, 1)} ms, max ${fmt(lag.max, 1)} ms.`,
      );
      section.data.events = { seconds, rssBefore, peak, lags };
    } finally {
      await server.stop();
    }
  } finally {
    await db.end().catch(() => {});
    await receiver.stop();
    factory.cleanup();
    await admin(`DROP DATABASE IF EXISTS ${EVENTS_DATABASE} WITH (FORCE)`);
  }
}

// Benchmark 8 — the state store (src/services/state/) on the top DuckDB shop with a PostgreSQL app
// database (clm_bench_app on the local server):
//   - a full refresh (`clm refresh --full`, a child process: its peak RSS is its own) against the
//     hand-written SQL of every customer's features and stages (bench/lib/hand-sql.ts) written by DuckDB
//     to a CSV file and streamed into PostgreSQL with COPY FROM STDIN, interleaved round by round;
//   - an incremental refresh after 1% of the customers bought again on the next day, against the full;
//   - lookups of random ids over HTTP from the state (result cache off) against a bare graphql-yoga
//     server, alternating, with the warehouse queries counted;
//   - the dashboard questions the state answers, one at a time over HTTP (p50 of sequential requests);
//   - the state's bytes per customer in PostgreSQL.
// The shop is copied first: the incremental refresh appends to its copy, never to the kept data set.
import { spawn } from "node:child_process";
import { copyFileSync, createReadStream, mkdtempSync, rmSync } from "node:fs";
import { pipeline } from "node:stream/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { DuckDBInstance } from "@duckdb/node-api";
import pg from "pg";
import { from as copyFrom } from "pg-copy-streams";
import { addDays } from "../src/lifecycle/calendar.ts";
import { Random } from "../src/lifecycle/random.ts";
import type { BenchContext } from "./lib/context.ts";
import { admin, customerId, END_DATE, PG_BENCH_APP_DATABASE, pgUrl } from "./lib/data.ts";
import { handFeatures } from "./lib/hand-sql.ts";
import { CONNECTIONS, loadBare, loadClm, sampleIds } from "./lookups.ts";
import { bar, log } from "./lib/progress.ts";
import { figure, targetAtLeast, targetAtMost, type Section } from "./lib/report.ts";
import { ClmServerFactory, clmArgs, counterTotal, httpGraphql, procStatusMb, startBareServer } from "./lib/servers.ts";
import { fmt, summarize } from "./lib/stats.ts";

const ROOT = fileURLToPath(new URL("..", import.meta.url));
const NEXT_DAY = addDays(END_DATE, 1);
const STATE_TABLES = ["customer_state", "customer_clv", "stage_spell", "stage_day_count"];

/** The dashboard questions the state answers, with their p50 target (ms). */
const DASHBOARD: { name: string; query: string; targetMs: number }[] = [
  { name: "stages", query: `{ stages { key count } }`, targetMs: 100 },
  { name: "funnel", query: `{ funnel { stage { key } reached atStage } }`, targetMs: 100 },
  {
    name: "stageSeries (24 months)",
    query: `{ stageSeries(from: "${addDays(END_DATE, -729)}", to: "${END_DATE}", interval: MONTH) { day stages { count } } }`,
    targetMs: 100,
  },
  {
    name: "stageTransitions (a quarter)",
    query: `{ stageTransitions(from: "${addDays(END_DATE, -91)}", to: "${END_DATE}") { from { key } to { key } count } }`,
    targetMs: 500,
  },
  {
    name: "stageTimings (a quarter)",
    query: `{ stageTimings(from: "${addDays(END_DATE, -91)}", to: "${END_DATE}") { stage { key } entries medianDaysFromFirstSeen } }`,
    targetMs: 500,
  },
];

interface CliRun {
  readonly ms: number;
  readonly peakMb: number;
  readonly kind: string;
  readonly changed: number;
  readonly customers: number;
}

/** `clm refresh` in a child process; its time is the refresh's own (state_refresh), its peak RSS sampled. */
async function cliRefresh(env: NodeJS.ProcessEnv, args: string[], appUrl: string): Promise<CliRun> {
  const child = spawn(process.execPath, clmArgs(["refresh", "-q", ...args]), {
    cwd: ROOT,
    env,
    stdio: ["ignore", "pipe", "pipe"],
  });
  let stderr = "";
  child.stderr!.on("data", (d) => (stderr += d));
  child.stdout!.resume();
  let peakMb = 0;
  const sampler = setInterval(() => (peakMb = Math.max(peakMb, procStatusMb(child.pid!, "VmHWM") ?? 0)), 100);
  const code = await new Promise<number | null>((resolve) => child.on("exit", resolve));
  clearInterval(sampler);
  if (code !== 0) throw new Error(`clm refresh ${args.join(" ")} failed (${code}): ${stderr.trim()}`);
  const client = new pg.Client({ connectionString: appUrl });
  await client.connect();
  try {
    const { rows } = await client.query(
      `SELECT kind, changed_customers, customers, EXTRACT(EPOCH FROM finished_at - started_at) * 1000 AS ms
       FROM state_refresh ORDER BY generation DESC LIMIT 1`,
    );
    const r = rows[0]!;
    return { ms: Number(r.ms), peakMb, kind: r.kind, changed: r.changed_customers, customers: r.customers };
  } finally {
    await client.end();
  }
}

/** The hand-written baseline: DuckDB writes every customer's features and stages to CSV, PostgreSQL COPYs it in. */
async function handFull(duckdbPath: string, appUrl: string, csv: string): Promise<{ ms: number; rows: number }> {
  const started = performance.now();
  const instance = await DuckDBInstance.create(duckdbPath, { access_mode: "READ_ONLY" });
  const connection = await instance.connect();
  try {
    await connection.run(`COPY (${handFeatures("duckdb", { asOf: END_DATE })}) TO '${csv}' (HEADER, DELIMITER ',')`);
  } finally {
    connection.closeSync();
    instance.closeSync();
  }
  const client = new pg.Client({ connectionString: appUrl });
  await client.connect();
  try {
    await client.query(`DROP TABLE IF EXISTS hand_state`);
    await client.query(`CREATE TABLE hand_state (customer_id text PRIMARY KEY, stage_key text, furthest_stage_key text,
      first_seen_date date, first_purchase_date date, second_purchase_date date, last_purchase_date date,
      purchase_days float8, order_count float8, revenue float8, first_purchase_revenue float8,
      average_order_value float8, mean_gap_days float8, recency_days float8, tenure_days float8,
      referred_count float8, acquisition_channel text, last_event_date date, last_event_type text)`);
    const copy = client.query(copyFrom(`COPY hand_state FROM STDIN WITH (FORMAT csv, HEADER true)`));
    await pipeline(createReadStream(csv), copy);
    return { ms: performance.now() - started, rows: copy.rowCount ?? 0 };
  } finally {
    await client.query(`DROP TABLE IF EXISTS hand_state`).catch(() => {});
    await client.end();
  }
}

/** Appends a purchase on NEXT_DAY for 1% of the shop's people (a fixed seed). */
async function newPurchases(duckdbPath: string, customers: number): Promise<number> {
  const random = new Random(11);
  const ids = new Set<string>();
  while (ids.size < Math.max(1, Math.round(customers / 100))) ids.add(customerId(random.int(customers), customers));
  const instance = await DuckDBInstance.create(duckdbPath);
  const connection = await instance.connect();
  try {
    const values = [...ids].map((id, i) => `('${id}', TIMESTAMP '${NEXT_DAY} 12:00:00', 25.00, 'bench-${i}')`);
    for (let i = 0; i < values.length; i += 1_000)
      await connection.run(
        `INSERT INTO transactions (customer_id, occurred_at, amount, order_id) VALUES ${values.slice(i, i + 1_000).join(",")}`,
      );
  } finally {
    connection.closeSync();
    instance.closeSync();
  }
  return ids.size;
}

async function stateBytes(appUrl: string): Promise<Record<string, number>> {
  const client = new pg.Client({ connectionString: appUrl });
  await client.connect();
  try {
    const out: Record<string, number> = {};
    for (const table of STATE_TABLES) {
      const { rows } = await client.query(`SELECT pg_total_relation_size($1::regclass) AS bytes`, [table]);
      out[table] = Number(rows[0]!.bytes);
    }
    return out;
  } finally {
    await client.end();
  }
}

export async function runState(ctx: BenchContext, section: Section): Promise<void> {
  const ds = await ctx.duckData(ctx.sizes.topCustomers);
  const work = mkdtempSync(join(tmpdir(), "clm-bench-state-"));
  const shop = join(work, "shop.duckdb");
  copyFileSync(ds.path, shop);
  const csv = join(work, "hand.csv");
  await admin(`DROP DATABASE IF EXISTS ${PG_BENCH_APP_DATABASE} WITH (FORCE)`);
  await admin(`CREATE DATABASE ${PG_BENCH_APP_DATABASE}`);
  const appUrl = pgUrl(PG_BENCH_APP_DATABASE);
  const factory = new ClmServerFactory();
  const extraEnv = { DATABASE_URL: appUrl, CLM_STATE: "serve" };
  const env = factory.env({ duckdbPath: shop, cache: false, extraEnv });
  // A full refresh takes minutes at 1M people: at most two rounds.
  const rounds = Math.min(ctx.options.repeats, 2);
  try {
    // 1. Full refresh against the hand-written SQL plus COPY, alternating which goes first.
    const full: CliRun[] = [];
    const hand: { ms: number; rows: number }[] = [];
    const b = bar("state: full refresh vs hand SQL + COPY", rounds * 2);
    for (let round = 0; round < rounds; round++) {
      const order = round % 2 === 0 ? ["hand", "state"] : ["state", "hand"];
      for (const side of order) {
        if (side === "hand") hand.push(await handFull(shop, appUrl, csv));
        else full.push(await cliRefresh(env, ["--full", "--as-of", END_DATE], appUrl));
        b.increment();
      }
    }
    b.stop();
    rmSync(csv, { force: true });
    section.figures.push(
      figure(
        "full refresh",
        "s",
        full.map((r) => r.ms / 1000),
        {
          baseline: { name: "hand SQL + COPY", values: hand.map((r) => r.ms / 1000) },
          target: (_v, ratio) => targetAtMost(ratio?.median ?? NaN, 3, "≤ 3× hand-written SQL + COPY"),
        },
      ),
      figure(
        "peak RSS of a full refresh (clm refresh, defaults)",
        "MB",
        full.map((r) => r.peakMb),
        { target: (v) => targetAtMost(v.median, 500, "≤ 500 MB") },
      ),
    );
    const bytes = await stateBytes(appUrl);
    const customers = full[0]!.customers;
    const total = Object.values(bytes).reduce((n, v) => n + v, 0);
    section.figures.push(figure("state size per customer in PostgreSQL", "bytes", [total / customers]));
    section.tables.push({
      title: "State tables in PostgreSQL after a full refresh (pg_total_relation_size, indexes included)",
      rows: [
        ["table", "MB", "bytes per customer"],
        ...Object.entries(bytes).map(([t, n]) => [t, fmt(n / 1e6, 1), fmt(n / customers, 0)]),
        ["all", fmt(total / 1e6, 1), fmt(total / customers, 0)],
      ],
    });

    // 2. Lookups from the state over HTTP against bare yoga, and the dashboard questions.
    const key = await factory.createKey("viewer", extraEnv);
    const bare = await startBareServer(factory.dir);
    const server = await factory.start({ duckdbPath: shop, cache: false, extraEnv }, "state-lookups");
    try {
      const ids = sampleIds(ds.customers, 20_000);
      const check = await httpGraphql<{ customer: { stage: { key: string } } | null }>(
        server.url,
        key,
        "query ($id: ID!) { customer(id: $id) { stage { key } } }",
        { id: ids[0] },
      );
      if (!check.customer?.stage.key) throw new Error(`customer ${ids[0]} came back without a stage`);
      const seconds = ctx.options.loadSeconds;
      await loadBare(bare.url, Math.min(3, seconds));
      await loadClm(server.url, key, ids, Math.min(3, seconds));
      const queriesBefore = await counterTotal(server.url, "clm_warehouse_queries_total");
      const runs: { bare: Awaited<ReturnType<typeof loadBare>>[]; clm: Awaited<ReturnType<typeof loadClm>>[] } = {
        bare: [],
        clm: [],
      };
      const repeats = Math.min(ctx.options.repeats, 3);
      const lb = bar("state: lookups vs bare yoga", repeats * 2);
      for (let round = 0; round < repeats; round++) {
        const order = round % 2 === 0 ? (["bare", "clm"] as const) : (["clm", "bare"] as const);
        for (const side of order) {
          if (side === "bare") runs.bare.push(await loadBare(bare.url, seconds));
          else runs.clm.push(await loadClm(server.url, key, ids, seconds));
          lb.increment();
        }
      }
      lb.stop();
      const warehouseQueries = (await counterTotal(server.url, "clm_warehouse_queries_total")) - queriesBefore;
      const lookups = runs.clm.reduce((n, r) => n + r.requests, 0);
      section.figures.push(
        figure(
          "lookups from the state, throughput (cache off)",
          "req/s",
          runs.clm.map((r) => r.rps),
          {
            baseline: { name: "bare yoga", values: runs.bare.map((r) => r.rps) },
            target: (_v, ratio) => targetAtLeast(ratio?.median ?? NaN, 0.8, "≥ 0.8× bare yoga"),
          },
        ),
        figure(
          "lookups from the state, p99 latency (cache off)",
          "ms",
          runs.clm.map((r) => r.p99),
          {
            baseline: { name: "bare yoga", values: runs.bare.map((r) => r.p99) },
            target: (_v, ratio) => targetAtMost(ratio?.median ?? NaN, 1.3, "≤ 1.3× bare yoga p99"),
          },
        ),
        figure("warehouse queries during the timed lookups", "queries", [warehouseQueries], {
          target: (v) => targetAtMost(v.median, 0, "0"),
        }),
      );
      section.notes.push(
        `Lookups: \`customer(id, asOf: ${END_DATE}) { stage { key } }\` of 20,000 random ids, ${CONNECTIONS} connections, ${seconds} s per run, ${repeats} rounds alternating with bare yoga \`{ hello }\`; ${lookups.toLocaleString("en-US")} lookups timed, ${warehouseQueries} warehouse queries meanwhile, ${runs.clm.reduce((n, r) => n + r.non2xx + r.errors, 0)} non-2xx or socket errors. Production settings as benchmark 4 (API key, access log, rate limiter), result cache off, app database PostgreSQL.`,
      );
      section.data.lookups = { runs, warehouseQueries };

      const samples = 15;
      const db = bar("state: dashboard questions", DASHBOARD.length * samples);
      for (const question of DASHBOARD) {
        await httpGraphql(server.url, key, question.query);
        const times: number[] = [];
        for (let i = 0; i < samples; i++) {
          const before = await counterTotal(server.url, "clm_warehouse_queries_total");
          const t0 = performance.now();
          await httpGraphql(server.url, key, question.query);
          times.push(performance.now() - t0);
          if ((await counterTotal(server.url, "clm_warehouse_queries_total")) !== before)
            throw new Error(`${question.name} queried the warehouse`);
          db.increment();
        }
        section.figures.push(
          figure(`${question.name}, p50 of ${samples} sequential requests`, "ms", [summarize(times).median], {
            target: (v) => targetAtMost(v.median, question.targetMs, `p50 ≤ ${question.targetMs} ms`),
          }),
        );
      }
      db.stop();
    } finally {
      await server.stop();
      await bare.stop();
    }

    // 3. Incremental after 1% of the customers bought on the next day, against the last full refresh.
    const buyers = await newPurchases(shop, ds.customers);
    log(`state: ${buyers} customers bought on ${NEXT_DAY}; refreshing incrementally`);
    const incremental = await cliRefresh(env, ["--as-of", NEXT_DAY], appUrl);
    if (incremental.kind !== "incremental") throw new Error(`expected an incremental refresh, got ${incremental.kind}`);
    const lastFull = full[full.length - 1]!;
    section.figures.push(
      figure("incremental refresh after 1% bought again", "s", [incremental.ms / 1000], {
        baseline: { name: "full refresh", values: [lastFull.ms / 1000] },
        target: (_v, ratio) => targetAtMost(ratio?.median ?? NaN, 0.1, "≤ 0.1× the full refresh"),
      }),
    );
    section.notes.push(
      `Full refresh: \`clm refresh --full --as-of ${END_DATE}\` in a child process (the bundle \`npm start\` runs: node dist/clm.mjs), time from state_refresh (started → finished, the audit query included, process start-up not), ${customers.toLocaleString("en-US")} customers; peak RSS is the child's VmHWM sampled every 100 ms. Baseline: bench/lib/hand-sql.ts handFeatures (every customer's features and current / furthest stage) written by DuckDB to CSV and streamed into PostgreSQL with COPY FROM STDIN (pg-copy-streams, as the refresh loads) into a table with a primary key — it computes no history, no day counts, no RFM and no lifetime value, which the refresh does. ${rounds} round(s), alternating which goes first.`,
      `Incremental: ${buyers.toLocaleString("en-US")} customers got a purchase on ${NEXT_DAY} (1%), then \`clm refresh --as-of ${NEXT_DAY}\`: ${incremental.changed.toLocaleString("en-US")} customers worked out again (those with new or late rows, found by comparing rows per customer and day of the lateness window with those kept, and those whose next change day came), RFM ranked again and every prediction rewritten; peak RSS ${fmt(incremental.peakMb, 0)} MB.`,
    );
    section.data.refreshes = { full, hand, incremental, bytes };
  } finally {
    factory.cleanup();
    rmSync(work, { recursive: true, force: true });
    await admin(`DROP DATABASE IF EXISTS ${PG_BENCH_APP_DATABASE} WITH (FORCE)`).catch(() => {});
  }
}

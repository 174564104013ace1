// Benchmark 9 — where the embedded state lives: PGlite beside the segments (what the embedded default
// does), or tables in a DuckDB file. One full refresh of the top DuckDB shop into PGlite, then the same
// state tables copied into a DuckDB file with the same primary key, and the state store's questions
// asked of both, alternating round by round, in this process: a lookup of 50 random ids (the shape a
// batched lookup takes), one id, the stage counts of a day, a 24-month series, stage transitions and
// stage entries over a quarter. The SQL is the state tables' own (src/services/state/state-tables.ts)
// on PGlite, and its DuckDB spelling on DuckDB. Memory: the process's RSS growth while each store is
// opened and asked (PGlite first), and each store's size on disk.
import { mkdtempSync, readdirSync, rmSync, statSync, writeFileSync, copyFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { performance } from "node:perf_hooks";
import { DuckDBInstance, listValue, type DuckDBConnection } from "@duckdb/node-api";
import { openAppDatabase } from "../src/appdb/database.ts";
import { DuckDBConnector } from "../src/connectors/duckdb.ts";
import { addDays } from "../src/lifecycle/calendar.ts";
import { defaultStageModel } from "../src/lifecycle/stage-model.ts";
import { LifecycleService } from "../src/services/lifecycle/service.ts";
import { StateStore } from "../src/services/state/state-store.ts";
import { csvField } from "../src/server/csv.ts";
import { DEFAULT_MAPPING } from "../src/sql/contract.ts";
import type { BenchContext } from "./lib/context.ts";
import { END_DATE } from "./lib/data.ts";
import { sampleIds } from "./lookups.ts";
import { bar, log } from "./lib/progress.ts";
import { figure, targetAtMost, type Section } from "./lib/report.ts";
import { procStatusMb } from "./lib/servers.ts";
import { fmt, summarize } from "./lib/stats.ts";

const TABLES = ["state_pointer", "customer_state", "customer_clv", "stage_spell", "stage_day_count"];
/** The primary keys PostgreSQL has (prisma/schema.prisma), given to DuckDB as unique indexes. */
const KEYS: Record<string, string> = {
  state_pointer: "id",
  customer_state: "rows_generation, customer_id",
  customer_clv: "rows_generation, customer_id",
  stage_spell: "rows_generation, customer_id, from_day",
  stage_day_count: "rows_generation, furthest, day, stage",
};
const QUARTER_START = addDays(END_DATE, -91);
const SERIES_DAYS = Array.from({ length: 24 }, (_, i) => addDays(END_DATE, -30 * i));

type Ask = (text: string, values: unknown[]) => Promise<unknown[]>;

/** The questions, each as PostgreSQL text (PGlite) and DuckDB text, with the values they take. */
function questions(ids: () => string[]): { name: string; pg: string; duck: string; values: () => unknown[] }[] {
  const generation = "(SELECT rows_generation FROM state_pointer WHERE id = 1)";
  return [
    {
      name: "lookup of 50 ids",
      pg: `SELECT s.* FROM customer_state s WHERE s.rows_generation = ${generation} AND s.customer_id = ANY($1::text[])`,
      duck: `SELECT s.* FROM customer_state s WHERE s.rows_generation = ${generation} AND s.customer_id IN (SELECT unnest($1::VARCHAR[]))`,
      values: () => [ids()],
    },
    {
      name: "lookup of 1 id",
      pg: `SELECT s.* FROM customer_state s WHERE s.rows_generation = ${generation} AND s.customer_id = $1`,
      duck: `SELECT s.* FROM customer_state s WHERE s.rows_generation = ${generation} AND s.customer_id = $1`,
      values: () => [ids()[0]],
    },
    {
      name: "stage counts of a day",
      pg: `SELECT stage, customers FROM stage_day_count WHERE rows_generation = ${generation} AND furthest = false AND day = $1::date`,
      duck: `SELECT stage, customers FROM stage_day_count WHERE rows_generation = ${generation} AND furthest = false AND day = $1::DATE`,
      values: () => [END_DATE],
    },
    {
      name: "stage series (24 months)",
      pg: `SELECT day, stage, customers FROM stage_day_count WHERE rows_generation = ${generation} AND furthest = false AND day = ANY($1::date[])`,
      duck: `SELECT day, stage, customers FROM stage_day_count WHERE rows_generation = ${generation} AND furthest = false AND day IN (SELECT unnest($1::DATE[]))`,
      values: () => [SERIES_DAYS],
    },
    {
      name: "stage transitions (a quarter)",
      pg: transitionsSql(generation, "$1::date", "$2::date"),
      duck: transitionsSql(generation, "$1::DATE", "$2::DATE"),
      values: () => [QUARTER_START, END_DATE],
    },
    {
      name: "stage entries (a quarter)",
      pg: entriesSql(generation, "$1::date", "$2::date"),
      duck: entriesSql(generation, "$1::DATE", "$2::DATE"),
      values: () => [QUARTER_START, END_DATE],
    },
  ];
}

function transitionsSql(generation: string, from: string, to: string): string {
  return `SELECT m.from_stage, m.to_stage, COUNT(*) AS n FROM (
    SELECT MAX(CASE WHEN from_day <= ${from} AND (to_day IS NULL OR to_day > ${from}) THEN stage END) AS from_stage,
           MAX(CASE WHEN from_day <= ${to} AND (to_day IS NULL OR to_day > ${to}) THEN stage END) AS to_stage
    FROM stage_spell WHERE rows_generation = ${generation} AND from_day <= ${to} AND (to_day IS NULL OR to_day > ${from})
    GROUP BY customer_id) AS m WHERE m.to_stage IS NOT NULL GROUP BY m.from_stage, m.to_stage`;
}

function entriesSql(generation: string, from: string, to: string): string {
  return `SELECT s.stage, COUNT(*) AS n, AVG(s.from_seen) AS mean_seen,
    percentile_cont(0.5) WITHIN GROUP (ORDER BY s.from_seen) AS median_seen,
    AVG(s.from_purchase) AS mean_purchase,
    percentile_cont(0.5) WITHIN GROUP (ORDER BY s.from_purchase) AS median_purchase
  FROM stage_spell s
  WHERE s.rows_generation = ${generation} AND s.from_day > ${from} AND s.from_day <= ${to} AND s.from_day = s.stage_since
  GROUP BY s.stage`;
}

/** Bytes of the files under `path` (a file or a directory). */
function diskBytes(path: string): number {
  const stat = statSync(path);
  if (!stat.isDirectory()) return stat.size;
  return readdirSync(path).reduce((n, name) => n + diskBytes(join(path, name)), 0);
}

const rssMb = () => procStatusMb(process.pid, "VmRSS") ?? NaN;

/** Copies the state tables from the app database into a DuckDB file, each through a CSV file. */
async function copyToDuckDB(read: Ask, duck: DuckDBConnection, work: string): Promise<void> {
  for (const table of TABLES) {
    const rows = (await read(`SELECT * FROM ${table}`, [])) as Record<string, unknown>[];
    if (rows.length === 0) throw new Error(`${table} is empty after the refresh`);
    const columns = Object.keys(rows[0]!);
    const text = (v: unknown) =>
      v instanceof Date ? v.toISOString().slice(0, 10) : typeof v === "object" && v !== null ? JSON.stringify(v) : v;
    let csv = `${columns.join(",")}\n`;
    for (const row of rows) csv += `${columns.map((c) => csvField(text(row[c]) as never, true)).join(",")}\n`;
    const file = join(work, `${table}.csv`);
    writeFileSync(file, csv);
    await duck.run(`CREATE TABLE ${table} AS FROM read_csv('${file}', header = true)`);
    await duck.run(`CREATE UNIQUE INDEX ${table}_key ON ${table} (${KEYS[table]})`);
    rmSync(file);
  }
}

export async function runStateLocation(ctx: BenchContext, section: Section): Promise<void> {
  const ds = await ctx.duckData(ctx.sizes.topCustomers);
  const work = mkdtempSync(join(tmpdir(), "clm-bench-location-"));
  const shopPath = join(work, "shop.duckdb");
  copyFileSync(ds.path, shopPath);
  const shop = await DuckDBConnector.open(shopPath, DEFAULT_MAPPING);
  const rssStart = rssMb();
  const app = await openAppDatabase({ dataDir: join(work, "app") });
  try {
    log(`state location: a full refresh of ${ds.customers} customers into PGlite`);
    const lifecycle = await LifecycleService.open(shop, defaultStageModel(), "UTC");
    // As the server refreshes by default: lifetime value fitted too.
    const store = new StateStore(lifecycle, lifecycle.rfm, async () => app.sql, "serve", {
      clv: { model: "BG_NBD", fit: (input, signal) => lifecycle.fitPool.fit(input, signal) },
    });
    const outcome = await store.refresh({ stateDay: END_DATE, full: true });
    await lifecycle.close();
    await shop.close();
    const customers = outcome!.customers;
    const pgAsk: Ask = (text, values) => app.sql.query(text, values);
    const rssPglite = rssMb();

    const duckPath = join(work, "state.duckdb");
    const instance = await DuckDBInstance.create(duckPath);
    const duck = await instance.connect();
    await copyToDuckDB(pgAsk, duck, work);
    await duck.run("CHECKPOINT");
    const duckAsk: Ask = async (text, values) => {
      const bound = values.map((v) => (Array.isArray(v) ? listValue(v as string[]) : v));
      return (await duck.runAndReadAll(text, bound as never)).getRowObjectsJS() as unknown[];
    };

    const random = sampleIds(ds.customers, 100_000, 11);
    let next = 0;
    const ids = () => random.slice(next, (next = (next + 50) % (random.length - 50)) + 50);
    const asked = questions(ids);
    // Both stores answer alike before anything is timed.
    for (const q of asked.slice(2)) {
      const values = q.values();
      const [a, b] = [await pgAsk(q.pg, values), await duckAsk(q.duck, values)];
      if (a.length !== b.length) throw new Error(`${q.name}: PGlite ${a.length} rows, DuckDB ${b.length}`);
    }
    const rounds = Math.max(3, ctx.options.repeats);
    const perRound = 30;
    const times = new Map(asked.map((q) => [q.name, { pg: [] as number[], duck: [] as number[] }]));
    const b = bar("state location: PGlite vs a DuckDB file", rounds * asked.length);
    for (let round = 0; round < rounds; round++) {
      for (const q of asked) {
        const order = round % 2 === 0 ? (["pg", "duck"] as const) : (["duck", "pg"] as const);
        for (const side of order) {
          const ask = side === "pg" ? pgAsk : duckAsk;
          const text = side === "pg" ? q.pg : q.duck;
          const started = performance.now();
          for (let i = 0; i < perRound; i++) await ask(text, q.values());
          times.get(q.name)![side].push((performance.now() - started) / perRound);
        }
        b.increment();
      }
    }
    b.stop();
    const rssBoth = rssMb();
    for (const q of asked) {
      const t = times.get(q.name)!;
      section.figures.push(
        figure(`${q.name}: PGlite`, "ms", t.pg, {
          baseline: { name: "a DuckDB file", values: t.duck },
          target: (_v, ratio) => targetAtMost(ratio?.median ?? NaN, 1, "PGlite no slower than DuckDB"),
        }),
      );
    }
    const pgBytes = diskBytes(join(work, "app"));
    const duckBytes = diskBytes(duckPath);
    section.tables.push({
      title: `The state of ${customers} customers in each store`,
      rows: [
        ["store", "on disk (MB)", "process RSS after (MB)"],
        ["(before either)", "", fmt(rssStart, 0)],
        ["PGlite (app database: segments, keys and the state)", fmt(pgBytes / 1e6, 1), fmt(rssPglite, 0)],
        ["DuckDB file (the state tables alone)", fmt(duckBytes / 1e6, 1), fmt(rssBoth, 0)],
      ],
    });
    section.notes.push(
      `Each figure: the mean of ${perRound} sequential questions, ${rounds} rounds alternating which store goes first; ratio = PGlite / DuckDB.`,
      "Process RSS: before, after the refresh into PGlite (PGlite's WebAssembly heap, the refresh's own buffers included), and after the copy to DuckDB and every question; indicative only, both live in one process (the refresh's garbage may be collected in between).",
      `PGlite's size on disk is its whole data directory (the app database's tables included).`,
    );
    section.data.medians = Object.fromEntries(
      [...times].map(([name, t]) => [name, { pglite: summarize(t.pg).median, duckdb: summarize(t.duck).median }]),
    );
    duck.closeSync();
    instance.closeSync();
  } finally {
    await app.close();
    rmSync(work, { recursive: true, force: true });
  }
}

// The data sets the benchmarks read: the demo shop (src/demo/generate.ts) at benchmark sizes, in DuckDB
// files kept between runs (generation is deterministic: same size, seed and end date, same rows) and in a
// PostgreSQL database of the benchmark's own (clm_bench), created for the run and dropped after it.
import { existsSync, mkdirSync, readFileSync, renameSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import pg from "pg";
import { DEFAULT_MAPPING } from "../../src/sql/contract.ts";
import { DuckDBConnector } from "../../src/connectors/duckdb.ts";
import { pgPoolSource, PostgresConnector } from "../../src/connectors/postgres.ts";
import { generateDemoData, type DemoCounts } from "../../src/demo/generate.ts";
import { bar, log } from "./progress.ts";

/** The last day of every data set's two-year history, and the as-of day of every question. */
export const END_DATE = "2026-06-30";
export const SEED = 42;
/** Purchase intensity of the benchmark shops: 1M people give about 10.3M transactions (README). */
export const INTENSITY = 5;

export interface Sizes {
  readonly scale: number;
  /** People in the largest DuckDB shop (the pushdown, lookup, batching and memory data). */
  readonly topCustomers: number;
  /** The scaling series: 1×, 4×, 16× (the last is the top size). */
  readonly scalingCustomers: readonly [number, number, number];
  /** People in the PostgreSQL shop (a fifth of the top: about 2M transactions at --full). */
  readonly pgCustomers: number;
  /** Synthetic customers for the CLV fit. */
  readonly clvCustomers: number;
}

/** Scale 1 is the default run; --full is scale 16 (1M people, ~10M transactions). */
export function sizesFor(scale: number): Sizes {
  const top = Math.round(62_500 * scale);
  return {
    scale,
    topCustomers: top,
    scalingCustomers: [Math.round(top / 16), Math.round(top / 4), top],
    pgCustomers: Math.round(top / 5),
    clvCustomers: 1_000_000,
  };
}

export interface DuckDataset {
  readonly path: string;
  readonly customers: number;
  readonly counts: DemoCounts;
  /** How long generating it took (0: reused from an earlier run). */
  readonly generatedMs: number;
}

export const DATA_DIR = join(tmpdir(), "clm-bench-data");

export function idWidth(customers: number): number {
  return Math.max(6, String(customers).length);
}

/** The id the demo generator gives person i (0-based). */
export function customerId(i: number, customers: number): string {
  return `c${String(i + 1).padStart(idWidth(customers), "0")}`;
}

async function generateInto(
  sink: Parameters<typeof generateDemoData>[0],
  customers: number,
  title: string,
): Promise<DemoCounts> {
  const b = bar(title, customers);
  try {
    return await generateDemoData(sink, {
      customers,
      intensity: INTENSITY,
      seed: SEED,
      endDate: END_DATE,
      onProgress: (done) => b.update(done),
    });
  } finally {
    b.stop();
  }
}

/** A DuckDB file holding the demo shop of this size, generated once and kept under DATA_DIR. */
export async function duckDataset(customers: number, options: { fresh?: boolean } = {}): Promise<DuckDataset> {
  mkdirSync(DATA_DIR, { recursive: true });
  const name = `shop-c${customers}-i${INTENSITY}-s${SEED}-${END_DATE}`;
  const path = join(DATA_DIR, `${name}.duckdb`);
  const meta = join(DATA_DIR, `${name}.json`);
  if (!options.fresh && existsSync(path) && existsSync(meta)) {
    return { path, customers, counts: JSON.parse(readFileSync(meta, "utf8")) as DemoCounts, generatedMs: 0 };
  }
  // Written under another name and renamed when complete: an interrupted run leaves no half file to reuse.
  const partial = join(DATA_DIR, `${name}.partial.duckdb`);
  for (const p of [path, meta, partial, `${partial}.wal`]) rmSync(p, { force: true });
  log(`generating ${customers.toLocaleString("en-US")} people (intensity ${INTENSITY}) into ${path}`);
  const started = performance.now();
  const connector = await DuckDBConnector.open(partial, DEFAULT_MAPPING);
  let counts: DemoCounts;
  try {
    await connector.createTables({ replace: true });
    counts = await generateInto(connector, customers, `seed duckdb ${customers}`);
  } finally {
    await connector.close();
  }
  renameSync(partial, path);
  writeFileSync(meta, JSON.stringify(counts));
  const generatedMs = performance.now() - started;
  log(`generated ${JSON.stringify(counts)} in ${(generatedMs / 1000).toFixed(1)} s`);
  return { path, customers, counts, generatedMs };
}

// ---- PostgreSQL -------------------------------------------------------------------------------------

export const PG_SERVER_URL = "postgresql://postgres@127.0.0.1:5432/postgres";
/** The only database this benchmark creates or drops. */
export const PG_BENCH_DATABASE = "clm_bench";

export function pgUrl(database: string): string {
  const u = new URL(PG_SERVER_URL);
  u.pathname = `/${database}`;
  return u.toString();
}

/** The second database of the run: an app database on the server (memory benchmark). */
export const PG_BENCH_APP_DATABASE = "clm_bench_app";

export async function admin(text: string): Promise<void> {
  if (!/^(CREATE DATABASE|DROP DATABASE IF EXISTS) clm_bench(_app)?( WITH \(FORCE\))?$/.test(text))
    throw new Error(`refusing admin statement not about the benchmark's own databases: ${text}`);
  const client = new pg.Client({ connectionString: PG_SERVER_URL, application_name: "clm-bench" });
  await client.connect();
  try {
    await client.query(text);
  } finally {
    await client.end();
  }
}

export interface PgDataset {
  readonly url: string;
  readonly customers: number;
  readonly counts: DemoCounts;
  readonly loadMs: number;
  readonly version: string;
  drop(): Promise<void>;
}

/** A fresh clm_bench database on the local server holding the demo shop of this size. */
export async function pgDataset(customers: number): Promise<PgDataset> {
  await admin(`DROP DATABASE IF EXISTS ${PG_BENCH_DATABASE} WITH (FORCE)`);
  await admin(`CREATE DATABASE ${PG_BENCH_DATABASE}`);
  const url = pgUrl(PG_BENCH_DATABASE);
  log(
    `loading ${customers.toLocaleString("en-US")} people (intensity ${INTENSITY}) into PostgreSQL ${PG_BENCH_DATABASE}`,
  );
  const started = performance.now();
  const connector = new PostgresConnector(pgPoolSource(url), DEFAULT_MAPPING);
  let counts: DemoCounts;
  let version: string;
  try {
    await connector.createTables({ replace: true });
    counts = await generateInto(connector, customers, `seed postgres ${customers}`);
    const client = new pg.Client({ connectionString: url });
    await client.connect();
    try {
      // What anyone loading a warehouse does before querying it: statistics for the planner.
      await client.query("VACUUM ANALYZE");
      version = String((await client.query("SHOW server_version")).rows[0]!.server_version);
    } finally {
      await client.end();
    }
  } catch (error) {
    await connector.close().catch(() => {});
    await admin(`DROP DATABASE IF EXISTS ${PG_BENCH_DATABASE} WITH (FORCE)`).catch(() => {});
    throw error;
  }
  await connector.close();
  const loadMs = performance.now() - started;
  log(`loaded ${JSON.stringify(counts)} in ${(loadMs / 1000).toFixed(1)} s`);
  return {
    url,
    customers,
    counts,
    loadMs,
    version,
    drop: () => admin(`DROP DATABASE IF EXISTS ${PG_BENCH_DATABASE} WITH (FORCE)`),
  };
}

// `npm run bench`: measures the engine against its limits and writes a report (Markdown and JSON).
//
//   npm run bench                              default sizes (62,500 people, ~0.64M transactions), a few minutes
//   npm run bench -- --full                    1M people / ~10M transactions (DuckDB), ~2M (PostgreSQL)
//   npm run bench -- --scale 4                 sizes × 4 of the default (--full is --scale 16)
//   npm run bench -- --only pushdown,clv       a subset: pushdown scaling classifier lookups batching clv memory state state-location events isolation
//   npm run bench -- --repeats 3 --load-seconds 10 --fresh --out bench/my-run
//
// Every figure is compared against a baseline measured side by side in the same run (interleaved
// rounds), since absolute times drift on a shared machine. Never part of `npm test`.
import { execFileSync } from "node:child_process";
import { readFileSync } from "node:fs";
import { cpus, loadavg, totalmem } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";
import { DuckDBInstance } from "@duckdb/node-api";
import { runBatching } from "./batching.ts";
import { runClassifier } from "./classifier.ts";
import { runClv } from "./clv.ts";
import { runLookups } from "./lookups.ts";
import { runMemory } from "./memory.ts";
import { runPushdown } from "./pushdown.ts";
import { runScaling } from "./scaling.ts";
import { runState } from "./state.ts";
import { runStateLocation } from "./state-location.ts";
import { runEvents } from "./events.ts";
import { runIsolation } from "./isolation.ts";
import { BenchContext, type BenchModule } from "./lib/context.ts";
import { DATA_DIR, END_DATE, INTENSITY, PG_SERVER_URL, sizesFor } from "./lib/data.ts";
import { log } from "./lib/progress.ts";
import { Report } from "./lib/report.ts";
import { buildCompiledCli, killChildren } from "./lib/servers.ts";

const ROOT = fileURLToPath(new URL("..", import.meta.url));

const MODULES: { name: string; id: string; title: string; run: BenchModule }[] = [
  {
    name: "pushdown",
    id: "1",
    title: "Pushdown overhead: API vs hand-written SQL on the same engine",
    run: runPushdown,
  },
  { name: "scaling", id: "2", title: "Scaling: the same at 1×, 4× and 16× data", run: runScaling },
  {
    name: "classifier",
    id: "3",
    title: "In-process classifier: compiled TypeScript rules on one core",
    run: runClassifier,
  },
  {
    name: "lookups",
    id: "4",
    title: "Lookups over HTTP: customer(id){ stage { key } } vs a bare yoga server",
    run: runLookups,
  },
  { name: "batching", id: "5", title: "Batching: 1,000 customers in one request vs 1,000 requests", run: runBatching },
  { name: "clv", id: "6", title: "CLV fit: BG/NBD + Gamma-Gamma", run: runClv },
  { name: "memory", id: "7", title: "Memory: peak RSS while exporting every customer", run: runMemory },
  {
    name: "state",
    id: "8",
    title: "State store: refreshes, lookups and dashboard questions from the app database",
    run: runState,
  },
  {
    name: "state-location",
    id: "9",
    title: "Where the embedded state lives: PGlite beside the segments vs a DuckDB file",
    run: runStateLocation,
  },
  { name: "events", id: "10", title: "Lifecycle events: webhook delivery throughput, lag and memory", run: runEvents },
  {
    name: "isolation",
    id: "11",
    title: "Isolation under load: another key's lookups during each attack",
    run: runIsolation,
  },
];

function usage(message?: string): never {
  if (message) process.stderr.write(`bench: ${message}\n`);
  process.stderr.write(
    "usage: npm run bench -- [--full | --scale k] [--only a,b] [--repeats n] [--load-seconds s] [--fresh] [--out path-prefix]\n" +
      `  benchmarks: ${MODULES.map((m) => m.name).join(" ")}\n`,
  );
  process.exit(message ? 2 : 0);
}

function git(args: string[]): string {
  try {
    return execFileSync("git", args, { cwd: ROOT, encoding: "utf8" }).trim();
  } catch {
    return "unknown";
  }
}

async function duckdbVersion(): Promise<string> {
  const instance = await DuckDBInstance.create(":memory:");
  const connection = await instance.connect();
  try {
    const reader = await connection.runAndReadAll("SELECT version() AS v");
    return String(reader.getRowObjects()[0]!.v);
  } finally {
    connection.closeSync();
    instance.closeSync();
  }
}

async function postgresVersion(): Promise<string> {
  const { default: pg } = await import("pg");
  const client = new pg.Client({ connectionString: PG_SERVER_URL, connectionTimeoutMillis: 3_000 });
  try {
    await client.connect();
    return String((await client.query("SHOW server_version")).rows[0]!.server_version);
  } catch (error) {
    return `unreachable (${(error as Error).message})`;
  } finally {
    await client.end().catch(() => {});
  }
}

async function main(): Promise<number> {
  let values;
  try {
    ({ values } = parseArgs({
      args: process.argv.slice(2),
      options: {
        full: { type: "boolean", default: false },
        scale: { type: "string" },
        only: { type: "string" },
        repeats: { type: "string" },
        "load-seconds": { type: "string" },
        fresh: { type: "boolean", default: false },
        out: { type: "string" },
        help: { type: "boolean", short: "h", default: false },
      },
      strict: true,
    }));
  } catch (error) {
    usage((error as Error).message);
  }
  if (values.help) usage();
  if (values.full && values.scale) usage("--full is --scale 16; give one of them");
  const scale = values.full ? 16 : Number(values.scale ?? 1);
  if (!(scale > 0 && scale <= 64)) usage("--scale must be a number above 0, at most 64");
  const only = values.only
    ? values.only
        .split(",")
        .map((s) => s.trim())
        .filter(Boolean)
    : MODULES.map((m) => m.name);
  for (const name of only) if (!MODULES.some((m) => m.name === name)) usage(`unknown benchmark ${name}`);
  const repeats = Number(values.repeats ?? (scale >= 8 ? 3 : 5));
  if (!(Number.isInteger(repeats) && repeats >= 1 && repeats <= 50)) usage("--repeats must be 1 to 50");
  const loadSeconds = Number(values["load-seconds"] ?? (scale >= 8 ? 10 : 5));
  if (!(loadSeconds >= 1 && loadSeconds <= 120)) usage("--load-seconds must be 1 to 120");
  const runKind = values.full ? "full run (--full)" : scale === 1 ? "default run" : `--scale ${scale} run`;
  const outPrefix =
    values.out ??
    join(ROOT, "bench", values.full ? "results" : scale === 1 ? "results-default" : `results-scale${scale}`);

  const sizes = sizesFor(scale);
  const ctx = new BenchContext({ full: values.full, scale, repeats, loadSeconds, fresh: values.fresh }, sizes);
  const started = Date.now();
  const dirty = git(["status", "--porcelain", "--untracked-files=no"]);
  const header: Record<string, unknown> = {
    runKind,
    otherRun: values.full
      ? "The default run's report is bench/results-default.md (sizes 1/16 of these)."
      : scale === 1
        ? "The full run's report (1M people, --full) is bench/results.md."
        : undefined,
    argv: process.argv.slice(2).join(" "),
    startedAt: new Date(started).toISOString(),
    machine: {
      cpu: cpus()[0]?.model ?? "unknown",
      cores: cpus().length,
      ram: `${(totalmem() / 2 ** 30).toFixed(1)} GiB`,
      node: process.version,
      duckdb: await duckdbVersion(),
      "@duckdb/node-api": JSON.parse(readFileSync(join(ROOT, "node_modules/@duckdb/node-api/package.json"), "utf8"))
        .version,
      postgresql: await postgresVersion(),
      "git commit": `${git(["rev-parse", "HEAD"])}${dirty && dirty !== "unknown" ? ` (working tree has uncommitted changes in ${dirty.split("\n").length} tracked files)` : ""}`,
      "load average at start (1/5/15 min)": loadavg()
        .map((x) => x.toFixed(2))
        .join(" / "),
    },
    sizes: {
      scale: `${scale} (${runKind})`,
      "demo shop": `src/demo/generate.ts, intensity ${INTENSITY}, seed 42, two years ending ${END_DATE}; every question is asked as of ${END_DATE} (UTC days)`,
      "top DuckDB size (pushdown, classifier features, lookups, batching, memory)": `${sizes.topCustomers.toLocaleString("en-US")} people`,
      "scaling series": sizes.scalingCustomers.map((n) => n.toLocaleString("en-US")).join(", ") + " people",
      "PostgreSQL size": `${sizes.pgCustomers.toLocaleString("en-US")} people (database clm_bench, created and dropped by the run)`,
      "CLV synthetic customers": sizes.clvCustomers.toLocaleString("en-US"),
      repeats,
      "autocannon seconds per measurement": loadSeconds,
      "data files": DATA_DIR,
    },
  };
  const report = new Report(header);
  const finish = async () => {
    header.finishedAt = new Date().toISOString();
    header.totalSeconds = (Date.now() - started) / 1000;
    (header.machine as Record<string, string>)["load average at end (1/5/15 min)"] = loadavg()
      .map((x) => x.toFixed(2))
      .join(" / ");
    header.data = await ctx.describeData();
    report.write(`${outPrefix}.md`, `${outPrefix}.json`);
  };

  let interrupted = false;
  const onSignal = (signal: string) => {
    if (interrupted) process.exit(1);
    interrupted = true;
    log(`${signal}: stopping child processes`);
    killChildren();
    process.exit(1);
  };
  process.on("SIGINT", onSignal);
  process.on("SIGTERM", onSignal);
  process.on("exit", killChildren);

  log(`${runKind}: ${only.join(", ")}; repeats ${repeats}; report to ${outPrefix}.md/.json`);
  // The servers and CLI children run the bundle `npm start` runs, built from this checkout.
  buildCompiledCli();
  try {
    for (const m of MODULES) {
      if (!only.includes(m.name)) continue;
      const section = report.section(m.id, m.title);
      const t0 = Date.now();
      log(`--- ${m.id}. ${m.name}`);
      try {
        await m.run(ctx, section);
      } catch (error) {
        section.error = (error as Error).message;
        log(`${m.name} failed: ${(error as Error).stack ?? error}`);
      } finally {
        killChildren();
      }
      section.seconds = (Date.now() - t0) / 1000;
      log(`--- ${m.name} done in ${section.seconds.toFixed(0)} s`);
      await finish(); // a partial report survives a crash later in the run
    }
  } finally {
    await ctx.cleanup();
  }
  await finish();
  log(`wrote ${outPrefix}.md and ${outPrefix}.json in ${((Date.now() - started) / 60_000).toFixed(1)} min`);
  return 0;
}

main().then(
  (code) => process.exit(code),
  (error) => {
    process.stderr.write(`bench: ${(error as Error).stack ?? error}\n`);
    killChildren();
    process.exit(1);
  },
);

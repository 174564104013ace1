// Benchmark 7 — memory: the peak resident set (VmHWM in /proc/<pid>/status, plus VmRSS sampled every
// 100 ms) of a `clm serve` child process serving the top DuckDB shop while it streams the CSV export of
// a segment every known customer belongs to (GET /segments/<id>/members.csv), read to the end by this
// process. A fresh server per measurement, since VmHWM is the peak over the process' whole life.
// The default is what `npm start` runs (the bundle, node dist/clm.mjs). Side by side in the same run: the
// bare yoga server's RSS (Node + tsx + yoga, nothing else), the same server from its sources under tsx
// (`npm run dev`), with CLM_DUCKDB_MEMORY_LIMIT set, with its app database on PostgreSQL (DATABASE_URL, a
// database of the run's own) instead of the embedded PGlite, and both together, to show where the
// resident memory goes.
import type { BenchContext } from "./lib/context.ts";
import { admin, END_DATE, PG_BENCH_APP_DATABASE, pgUrl } from "./lib/data.ts";
import { EVERYONE } from "./lib/inprocess.ts";
import { bar, log } from "./lib/progress.ts";
import { figure, targetAtMost, type Section } from "./lib/report.ts";
import { ClmServerFactory, httpGraphql, procStatusMb, startBareServer } from "./lib/servers.ts";
import { fmt, summarize } from "./lib/stats.ts";

const LIMITED = "256MB";
const LEANEST = { limit: "128MB", perRange: 31_250 };

interface Run {
  readyMb: number;
  peakMb: number;
  sampledPeakMb: number;
  rows: number;
  bytes: number;
  ms: number;
}

const DEFAULTS = "defaults (npm start: node dist/clm.mjs serve)";

interface Config {
  readonly name: string;
  readonly env: Record<string, string>;
  /** The sources under tsx (`npm run dev`), not the bundle `npm start` runs. */
  readonly sources?: boolean;
  key?: string;
  segmentId?: string;
}

export async function runMemory(ctx: BenchContext, section: Section): Promise<void> {
  const ds = await ctx.duckData(ctx.sizes.topCustomers);
  const factory = new ClmServerFactory();
  // Each measurement is a fresh server and a whole export: at most 3 (2 at --full, where one takes a minute).
  const repeats = Math.min(ctx.options.repeats, ctx.options.full ? 2 : 3);
  let appDbCreated = false;
  try {
    const configs: Config[] = [
      { name: DEFAULTS, env: {} },
      { name: "sources under tsx (npm run dev)", env: {}, sources: true },
      { name: `CLM_DUCKDB_MEMORY_LIMIT=${LIMITED}`, env: { CLM_DUCKDB_MEMORY_LIMIT: LIMITED } },
    ];
    try {
      await admin(`DROP DATABASE IF EXISTS ${PG_BENCH_APP_DATABASE} WITH (FORCE)`);
      await admin(`CREATE DATABASE ${PG_BENCH_APP_DATABASE}`);
      appDbCreated = true;
      configs.push(
        {
          name: "app database on PostgreSQL (DATABASE_URL)",
          env: { DATABASE_URL: pgUrl(PG_BENCH_APP_DATABASE) },
        },
        {
          name: `app database on PostgreSQL, CLM_DUCKDB_MEMORY_LIMIT=${LIMITED}`,
          env: { DATABASE_URL: pgUrl(PG_BENCH_APP_DATABASE), CLM_DUCKDB_MEMORY_LIMIT: LIMITED },
        },
        {
          // The leanest settings: a smaller DuckDB limit, with ranges small enough to stay within it.
          name: `app database on PostgreSQL, CLM_DUCKDB_MEMORY_LIMIT=${LEANEST.limit}, CLM_DUCKDB_RANGE_CUSTOMERS=${LEANEST.perRange}`,
          env: {
            DATABASE_URL: pgUrl(PG_BENCH_APP_DATABASE),
            CLM_DUCKDB_MEMORY_LIMIT: LEANEST.limit,
            CLM_DUCKDB_RANGE_CUSTOMERS: String(LEANEST.perRange),
          },
        },
      );
    } catch (error) {
      section.notes.push(`PostgreSQL app-database variant skipped: ${(error as Error).message}`);
    }
    for (const config of configs) config.key = await factory.createKey("analyst", config.env);

    // The bare yoga server: what Node + tsx + yoga take on their own.
    const bare = await startBareServer(factory.dir);
    const bareMb = procStatusMb(bare.pid, "VmHWM") ?? NaN;
    await bare.stop();

    const runs: Record<string, Run[]> = Object.fromEntries(configs.map((c) => [c.name, []]));
    const b = bar("memory", configs.length * repeats);
    for (let round = 0; round < repeats; round++) {
      const order = round % 2 === 0 ? configs : [...configs].reverse();
      for (const [i, config] of order.entries()) {
        const server = await factory.start(
          { duckdbPath: ds.path, cache: true, extraEnv: config.env, sources: config.sources },
          `memory-${round}-${i}`,
        );
        try {
          if (!config.segmentId) {
            const data = await httpGraphql<{ createSegment: { id: string } }>(
              server.url,
              config.key!,
              "mutation($input: CreateSegmentInput!) { createSegment(input: $input) { id } }",
              {
                input: {
                  name: `bench everyone ${Date.now()}`,
                  description: "bench: every known customer",
                  definition: EVERYONE,
                },
              },
            );
            config.segmentId = data.createSegment.id;
          }
          const readyMb = procStatusMb(server.pid, "VmRSS") ?? NaN;
          let sampledPeakMb = readyMb;
          const sampler = setInterval(() => {
            const mb = procStatusMb(server.pid, "VmRSS");
            if (mb !== null && mb > sampledPeakMb) sampledPeakMb = mb;
          }, 100);
          const t0 = performance.now();
          let bytes = 0;
          let newlines = 0;
          try {
            const response = await fetch(`${server.url}/segments/${config.segmentId}/members.csv?asOf=${END_DATE}`, {
              headers: { authorization: `Bearer ${config.key}` },
            });
            if (response.status !== 200)
              throw new Error(`export answered ${response.status}: ${await response.text()}`);
            const reader = response.body!.getReader();
            for (;;) {
              const { done, value } = await reader.read();
              if (done) break;
              bytes += value.byteLength;
              for (let k = 0; k < value.length; k++) if (value[k] === 10) newlines++;
            }
          } finally {
            clearInterval(sampler);
          }
          const ms = performance.now() - t0;
          const peakMb = procStatusMb(server.pid, "VmHWM") ?? NaN;
          runs[config.name]!.push({ readyMb, peakMb, sampledPeakMb, rows: newlines - 1, bytes, ms });
          log(
            `memory ${config.name}: ready ${fmt(readyMb, 0)} MB, peak ${fmt(peakMb, 0)} MB, ${newlines - 1} rows in ${fmt(ms / 1000, 1)} s`,
          );
        } finally {
          await server.stop();
        }
        b.increment();
      }
    }
    b.stop();
    for (const config of configs) {
      const r = runs[config.name]!;
      // Judged: the defaults, and the leanest settings (what a server that must stay small can set).
      const judged = config.name === DEFAULTS || config.env.CLM_DUCKDB_RANGE_CUSTOMERS !== undefined;
      section.figures.push(
        figure(
          `peak RSS (VmHWM) exporting ${r[0]!.rows.toLocaleString("en-US")} members, ${config.name}`,
          "MB",
          r.map((x) => x.peakMb),
          {
            baseline: { name: "RSS when ready", values: r.map((x) => x.readyMb) },
            target: judged ? (v) => targetAtMost(v.median, 500, "≤ 500 MB") : undefined,
          },
        ),
        figure(
          `sampled peak VmRSS during the export (every 100 ms), ${config.name}`,
          "MB",
          r.map((x) => x.sampledPeakMb),
        ),
        figure(
          `export time, ${config.name}`,
          "ms",
          r.map((x) => x.ms),
        ),
        figure(
          `export rate, ${config.name}`,
          "rows/s",
          r.map((x) => x.rows / (x.ms / 1000)),
        ),
      );
    }
    section.figures.push(figure("bare yoga server (Node + tsx + yoga), peak RSS when ready", "MB", [bareMb]));
    const d = runs.default!;
    section.notes.push(
      `Server: \`clm serve\` child (a fresh process per measurement, production defaults: cache on, access log, analyst key) on the top DuckDB file: ${ds.customers.toLocaleString("en-US")} people, ${ds.counts.transactions.toLocaleString("en-US")} transactions, ${ds.counts.events.toLocaleString("en-US")} events${ctx.options.full ? "" : " — the default run's smaller shop, not the 1M people of the target (run --full for that)"}.`,
      `Export: ${d[0]!.rows.toLocaleString("en-US")} rows, ${fmt(d[0]!.bytes / 1e6, 1)} MB of CSV, read to the end by the benchmark over loopback; median ${fmt(summarize(d.map((x) => x.ms)).median / 1000, 1)} s. VmHWM is the kernel's peak resident set of the server's pid (the node process itself; DuckDB and PGlite run inside it). Measurements alternate between configurations, order reversed every round.`,
    );
    Object.assign(section.data, { runs, bareMb });
  } finally {
    factory.cleanup();
    if (appDbCreated) await admin(`DROP DATABASE IF EXISTS ${PG_BENCH_APP_DATABASE} WITH (FORCE)`).catch(() => {});
  }
}

// Benchmark 4 — single-customer lookups over HTTP: `customer(id, asOf) { stage { key } }` at 50
// concurrent connections (autocannon, in this process: the load generator) against the real server
// (a child process, loopback, production settings: API key, access log, rate limiter) and, in the same
// run, a bare graphql-yoga `{ hello }` server (another child). Measurements alternate bare / real, so
// each real figure has a bare one taken right next to it. Ids vary across the load: every request
// takes the next of 20,000 ids drawn at random from the whole shop.
import autocannon, { type Result } from "autocannon";
import { Random } from "../src/lifecycle/random.ts";
import type { BenchContext } from "./lib/context.ts";
import { customerId, END_DATE } from "./lib/data.ts";
import { bar, log } from "./lib/progress.ts";
import { figure, targetAtLeast, targetAtMost, type Section } from "./lib/report.ts";
import { ClmServerFactory, counterTotal, httpGraphql, startBareServer, type RunningServer } from "./lib/servers.ts";
import { fmt } from "./lib/stats.ts";

export const CONNECTIONS = 50;
const LOOKUP = "query Lookup($id: ID!, $asOf: Date) { customer(id: $id, asOf: $asOf) { stage { key } } }";
const HELLO = JSON.stringify({ query: "{ hello }" });

/** `count` customer ids drawn (with a fixed seed) from all `customers` people of the shop. */
export function sampleIds(customers: number, count: number, seed = 7): string[] {
  const random = new Random(seed);
  return Array.from({ length: count }, () => customerId(random.int(customers), customers));
}

interface LoadFigures {
  readonly rps: number;
  readonly p50: number;
  readonly p99: number;
  readonly requests: number;
  readonly non2xx: number;
  readonly errors: number;
}

function figuresOf(r: Result): LoadFigures {
  return {
    rps: r["2xx"] / r.duration,
    p50: r.latency.p50,
    p99: r.latency.p99,
    requests: r.requests.total,
    non2xx: r.non2xx,
    errors: r.errors + r.timeouts,
  };
}

/** Every id of a batch with its stage: how the warm phase fills the per-customer cache. */
const WARM_ALL = `query Warm($ids: [ID!]!, $asOf: Date) { customers(ids: $ids, asOf: $asOf) { stage { key } } }`;

export async function loadClm(url: string, key: string, ids: readonly string[], seconds: number): Promise<LoadFigures> {
  let next = 0;
  const result = await autocannon({
    url,
    connections: CONNECTIONS,
    duration: seconds,
    timeout: 30,
    requests: [
      {
        method: "POST",
        path: "/graphql",
        headers: { "content-type": "application/json", authorization: `Bearer ${key}` },
        setupRequest: (request) => ({
          ...request,
          body: JSON.stringify({ query: LOOKUP, variables: { id: ids[next++ % ids.length], asOf: END_DATE } }),
        }),
      },
    ],
  });
  return figuresOf(result);
}

export async function loadBare(url: string, seconds: number): Promise<LoadFigures> {
  const result = await autocannon({
    url,
    connections: CONNECTIONS,
    duration: seconds,
    timeout: 30,
    requests: [{ method: "POST", path: "/graphql", headers: { "content-type": "application/json" }, body: HELLO }],
  });
  return figuresOf(result);
}

export async function runLookups(ctx: BenchContext, section: Section): Promise<void> {
  const ds = await ctx.duckData(ctx.sizes.topCustomers);
  const seconds = ctx.options.loadSeconds;
  // Each round is two load runs: at most 3 rounds per phase.
  const repeats = Math.min(ctx.options.repeats, 3);
  const factory = new ClmServerFactory();
  const ids = sampleIds(ds.customers, 20_000);
  let bare: RunningServer | undefined;
  try {
    const key = await factory.createKey("viewer");
    bare = await startBareServer(factory.dir);
    for (const phase of [
      { name: "warm", cache: true },
      { name: "cold", cache: false },
    ] as const) {
      log(`lookups: starting the server (cache ${phase.cache ? "on" : "off"}) on ${ds.path}`);
      const server = await factory.start({ duckdbPath: ds.path, cache: phase.cache }, `lookups-${phase.name}`);
      try {
        // Every id answers with a stage before anything is timed.
        for (const id of ids.slice(0, 5)) {
          const data = await httpGraphql<{ customer: { stage: { key: string } } | null }>(server.url, key, LOOKUP, {
            id,
            asOf: END_DATE,
          });
          if (!data.customer?.stage.key) throw new Error(`customer ${id} came back without a stage`);
        }
        if (phase.cache) {
          // "Warm" means every id of the load is cached: lookups are cached per customer, so asking for
          // all of them once, 500 per request, fills the cache before anything is timed.
          for (let start = 0; start < ids.length; start += 500) {
            await httpGraphql(server.url, key, WARM_ALL, { ids: ids.slice(start, start + 500), asOf: END_DATE });
          }
        }
        // Warm-up (JIT, connections), not counted.
        await loadBare(bare.url, Math.min(3, seconds));
        await loadClm(server.url, key, ids, Math.max(3, seconds));
        const before = {
          hits: await counterTotal(server.url, "clm_cache_requests_total", (l) => l.includes('result="hit"')),
          misses: await counterTotal(server.url, "clm_cache_requests_total", (l) => l.includes('result="miss"')),
          queries: await counterTotal(server.url, "clm_warehouse_queries_total", (l) =>
            l.includes('label="customer_features"'),
          ),
          errors: await counterTotal(server.url, "clm_graphql_errors_total"),
        };
        const runs: { bare: LoadFigures[]; clm: LoadFigures[] } = { bare: [], clm: [] };
        const b = bar(`lookups ${phase.name}`, repeats * 2);
        for (let round = 0; round < repeats; round++) {
          // Alternate which side goes first, round by round.
          const order = round % 2 === 0 ? (["bare", "clm"] as const) : (["clm", "bare"] as const);
          for (const side of order) {
            runs[side].push(
              side === "bare" ? await loadBare(bare.url, seconds) : await loadClm(server.url, key, ids, seconds),
            );
            b.increment();
          }
        }
        b.stop();
        const after = {
          hits: await counterTotal(server.url, "clm_cache_requests_total", (l) => l.includes('result="hit"')),
          misses: await counterTotal(server.url, "clm_cache_requests_total", (l) => l.includes('result="miss"')),
          queries: await counterTotal(server.url, "clm_warehouse_queries_total", (l) =>
            l.includes('label="customer_features"'),
          ),
          errors: await counterTotal(server.url, "clm_graphql_errors_total"),
        };
        const lookups = runs.clm.reduce((n, r) => n + r.requests, 0);
        const hits = after.hits - before.hits;
        const misses = after.misses - before.misses;
        const queries = after.queries - before.queries;
        const gqlErrors = after.errors - before.errors;
        const label = `cache ${phase.cache ? "on (warm)" : "off (cold)"}`;
        section.figures.push(
          figure(
            `throughput, ${label}`,
            "req/s",
            runs.clm.map((r) => r.rps),
            {
              baseline: { name: "bare yoga", values: runs.bare.map((r) => r.rps) },
              target: phase.cache
                ? (_v, ratio) => targetAtLeast(ratio?.median ?? NaN, 0.5, "≥ 50% of bare throughput")
                : undefined,
            },
          ),
          figure(
            `p50 latency, ${label}`,
            "ms",
            runs.clm.map((r) => r.p50),
            {
              baseline: { name: "bare yoga", values: runs.bare.map((r) => r.p50) },
            },
          ),
          figure(
            `p99 latency, ${label}`,
            "ms",
            runs.clm.map((r) => r.p99),
            {
              baseline: { name: "bare yoga", values: runs.bare.map((r) => r.p99) },
              target: phase.cache
                ? (_v, ratio) => targetAtMost(ratio?.median ?? NaN, 1.5, "≤ 1.5× bare p99")
                : undefined,
            },
          ),
        );
        const non2xx =
          runs.clm.reduce((n, r) => n + r.non2xx + r.errors, 0) +
          runs.bare.reduce((n, r) => n + r.non2xx + r.errors, 0);
        section.notes.push(
          `${label}: ${lookups.toLocaleString("en-US")} lookups in the timed runs, ${queries.toLocaleString("en-US")} customer_features warehouse queries ` +
            `(${fmt(lookups / Math.max(1, queries), 1)} lookups per query: concurrent lookups gather into one query while the previous one runs), ` +
            (phase.cache
              ? `result cache ${hits.toLocaleString("en-US")} hits / ${misses.toLocaleString("en-US")} misses (${fmt((100 * hits) / Math.max(1, hits + misses), 1)}% hits), `
              : "") +
            `${gqlErrors} GraphQL errors, ${non2xx} non-2xx or socket errors (both servers); server pid ${server.pid} started in ${fmt(server.startupMs / 1000, 1)} s.`,
        );
        section.data[phase.name] = { runs, lookups, queries, hits, misses, gqlErrors };
      } finally {
        await server.stop();
      }
    }
    section.notes.push(
      `autocannon ${CONNECTIONS} connections, ${seconds} s per measurement, ${repeats} rounds per phase alternating bare/real (order flipped every round), after a warm-up run of each; all three processes (load generator, bare, real) share the machine's 2 cores, so neither server gets them to itself.`,
      `Real server: \`clm serve\` on the top DuckDB file (${ds.customers.toLocaleString("en-US")} people), CLM_ALLOW_ANONYMOUS=0 with a viewer key (checked on every request, through the key cache: CLM_KEY_CACHE_SECONDS default, PGlite app database), LOG_LEVEL=info (an access-log line per request, to a file), rate limiter on with a limit it never reaches. Bare: graphql-yoga createSchema \`{ hello }\`, no plugins.`,
    );
  } finally {
    await bare?.stop();
    factory.cleanup();
  }
}

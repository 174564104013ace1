// Benchmark 5 — batching: warehouse queries (the server's own /metrics counter
// clm_warehouse_queries_total, cache off so every lookup reaches the warehouse) and wall time for 1,000
// customers' stages asked in one request vs in 1,000 requests. The schema offers two batch forms:
// `customers(ids: [...])` (up to 5,000 ids) and aliases (`c0: customer(id: …)`), capped at 256 per
// operation by the query limits, so 1,000 aliases go as 4 requests of 250.
import type { BenchContext } from "./lib/context.ts";
import { END_DATE } from "./lib/data.ts";
import { bar, log } from "./lib/progress.ts";
import { figure, type Section } from "./lib/report.ts";
import { ClmServerFactory, counterTotal, httpGraphql } from "./lib/servers.ts";
import { fmt, summarize } from "./lib/stats.ts";
import { sampleIds } from "./lookups.ts";

const COUNT = 1_000;
const ALIASES_PER_REQUEST = 250;
const CONCURRENCY = 50;
/** Sequential single requests are timed on all 1,000 only when one round fits this budget; else on a sample. */
const SEQUENTIAL_BUDGET_MS = 20_000;

const LIST = "query Batch($ids: [ID!]!, $asOf: Date) { customers(ids: $ids, asOf: $asOf) { id stage { key } } }";
const ONE = "query One($id: ID!, $asOf: Date) { customer(id: $id, asOf: $asOf) { id stage { key } } }";

function aliasQuery(ids: readonly string[]): string {
  const fields = ids.map((id, i) => `c${i}: customer(id: ${JSON.stringify(id)}, asOf: $asOf) { id stage { key } }`);
  return `query Aliases($asOf: Date) { ${fields.join(" ")} }`;
}

type Variant = "list" | "aliases" | "concurrent" | "sequential";

export async function runBatching(ctx: BenchContext, section: Section): Promise<void> {
  const ds = await ctx.duckData(ctx.sizes.topCustomers);
  const factory = new ClmServerFactory();
  const ids = [...new Set(sampleIds(ds.customers, COUNT * 3, 11))].slice(0, COUNT);
  if (ids.length < COUNT) throw new Error(`only ${ids.length} distinct ids in a shop of ${ds.customers}`);
  try {
    const key = await factory.createKey("viewer");
    log(`batching: starting the server (cache off) on ${ds.path}`);
    const server = await factory.start({ duckdbPath: ds.path, cache: false }, "batching");
    const queries = () => counterTotal(server.url, "clm_warehouse_queries_total");
    const expected = new Map<string, string>();
    try {
      // The reference answer: every id's stage from the list form; each variant must give the same.
      const reference = await httpGraphql<{ customers: ({ id: string; stage: { key: string } } | null)[] }>(
        server.url,
        key,
        LIST,
        { ids, asOf: END_DATE },
      );
      reference.customers.forEach((c, i) => expected.set(ids[i]!, c?.stage.key ?? "null"));
      const check = (id: string, c: { stage: { key: string } } | null) => {
        if ((c?.stage.key ?? "null") !== expected.get(id))
          throw new Error(`stage of ${id} differs between batch forms`);
      };

      const one = async (id: string) => {
        const data = await httpGraphql<{ customer: { stage: { key: string } } | null }>(server.url, key, ONE, {
          id,
          asOf: END_DATE,
        });
        check(id, data.customer);
      };
      // How long would 1,000 sequential requests take? Timed on 20 first.
      let t0 = performance.now();
      for (const id of ids.slice(0, 20)) await one(id);
      const perRequest = (performance.now() - t0) / 20;
      const sequentialCount =
        perRequest * COUNT <= SEQUENTIAL_BUDGET_MS
          ? COUNT
          : Math.max(20, Math.floor(SEQUENTIAL_BUDGET_MS / perRequest));
      // Each round is a few thousand HTTP requests against a cold warehouse: at most 3 rounds (2 at --full).
      const rounds = Math.min(ctx.options.repeats, ctx.options.full ? 2 : 3);

      const runs: Record<Variant, { ms: number[]; queries: number[] }> = {
        list: { ms: [], queries: [] },
        aliases: { ms: [], queries: [] },
        concurrent: { ms: [], queries: [] },
        sequential: { ms: [], queries: [] },
      };
      const variants: Variant[] = ["list", "aliases", "concurrent", "sequential"];
      const b = bar("batching", variants.length * rounds);
      for (let round = 0; round < rounds; round++) {
        for (let i = 0; i < variants.length; i++) {
          const variant = variants[(i + round) % variants.length]!;
          const q0 = await queries();
          t0 = performance.now();
          if (variant === "list") {
            const data = await httpGraphql<{ customers: ({ stage: { key: string } } | null)[] }>(
              server.url,
              key,
              LIST,
              { ids, asOf: END_DATE },
            );
            data.customers.forEach((c, k) => check(ids[k]!, c));
          } else if (variant === "aliases") {
            for (let start = 0; start < COUNT; start += ALIASES_PER_REQUEST) {
              const slice = ids.slice(start, start + ALIASES_PER_REQUEST);
              const data = await httpGraphql<Record<string, { stage: { key: string } } | null>>(
                server.url,
                key,
                aliasQuery(slice),
                { asOf: END_DATE },
              );
              slice.forEach((id, k) => check(id, data[`c${k}`] ?? null));
            }
          } else if (variant === "concurrent") {
            let next = 0;
            await Promise.all(
              Array.from({ length: CONCURRENCY }, async () => {
                while (next < COUNT) await one(ids[next++]!);
              }),
            );
          } else {
            for (const id of ids.slice(0, sequentialCount)) await one(id);
          }
          const ms = performance.now() - t0;
          const q = (await queries()) - q0;
          // A sample of sequential requests stands for 1,000: scaled, and said so.
          const factor = variant === "sequential" ? COUNT / sequentialCount : 1;
          runs[variant].ms.push(ms * factor);
          runs[variant].queries.push(q * factor);
          b.increment();
        }
      }
      b.stop();
      const base = { name: "one customers(ids) request", values: runs.list.ms };
      section.figures.push(
        figure(`1 request, customers(ids: [${COUNT} ids]): wall time`, "ms", runs.list.ms),
        figure(`1 request, customers(ids): warehouse queries`, "queries", runs.list.queries),
        figure(
          `${COUNT / ALIASES_PER_REQUEST} requests of ${ALIASES_PER_REQUEST} aliases: wall time`,
          "ms",
          runs.aliases.ms,
          { baseline: base },
        ),
        figure(
          `${COUNT / ALIASES_PER_REQUEST} requests of ${ALIASES_PER_REQUEST} aliases: warehouse queries`,
          "queries",
          runs.aliases.queries,
        ),
        figure(`${COUNT} separate requests, ${CONCURRENCY} at a time: wall time`, "ms", runs.concurrent.ms, {
          baseline: base,
        }),
        figure(
          `${COUNT} separate requests, ${CONCURRENCY} at a time: warehouse queries`,
          "queries",
          runs.concurrent.queries,
        ),
        figure(`${COUNT} separate requests, one after another: wall time`, "ms", runs.sequential.ms, {
          baseline: base,
          note:
            sequentialCount < COUNT
              ? `measured on ${sequentialCount} requests, scaled ×${fmt(COUNT / sequentialCount, 1)}`
              : undefined,
        }),
        figure(`${COUNT} separate requests, one after another: warehouse queries`, "queries", runs.sequential.queries, {
          note: sequentialCount < COUNT ? `measured on ${sequentialCount}, scaled` : undefined,
        }),
      );
      section.notes.push(
        `Server: \`clm serve\` child on the top DuckDB file (${ds.customers.toLocaleString("en-US")} people), CLM_CACHE=0, viewer key; requests over loopback with fetch (keep-alive). ` +
          `Queries counted from /metrics (clm_warehouse_queries_total, every label) before and after each variant. The same ${COUNT} distinct random ids each time; every answer checked against the list form's.`,
        `Aliases: the operation limit is 256 aliases (src/server/limits.ts), so 1,000 aliased lookups are 4 requests of 250, sent one after another. ` +
          `Sequential single requests: ${fmt(perRequest, 0)} ms each on the first 20${sequentialCount < COUNT ? `, so ${sequentialCount} were timed per round and scaled to 1,000 (the whole 1,000 would exceed the run's budget of ${SEQUENTIAL_BUDGET_MS / 1000} s per round)` : ""}.`,
        `Medians: one list request ${fmt(summarize(runs.list.ms).median, 0)} ms with ${fmt(summarize(runs.list.queries).median, 0)} query; 1,000 concurrent requests ${fmt(summarize(runs.concurrent.ms).median, 0)} ms with ${fmt(summarize(runs.concurrent.queries).median, 0)} queries (lookups of concurrent requests batched while the previous batch runs); sequential ${fmt(summarize(runs.sequential.ms).median / 1000, 1)} s with ${fmt(summarize(runs.sequential.queries).median, 0)} queries.`,
      );
      Object.assign(section.data, { runs, sequentialCount, perRequestMs: perRequest });
    } finally {
      await server.stop();
    }
  } finally {
    factory.cleanup();
  }
}

// Benchmark 11 — isolation under load: the attacks of the abuse suite (bench/lib/attacks.ts, the hostile
// tester's) by one key against a production-mode server, while a second key looks one customer up every
// 20 ms; each attack for --load-seconds. The targets are the isolation issue's: every one of the
// victim's requests answered without an error under every attack, and its p99 under 100 ms while the
// attacker runs lifetime-value fits. Result cache off and no state store, so every lookup is a warehouse
// query sharing the slots the attacker wants. Isolation is about sharing, not size: the shop is the
// default run's top one (62,500 people) at every scale, so the victim's own query stays cheap.
import type { BenchContext } from "./lib/context.ts";
import { ATTACKS, counts, percentile, runAttack, send, VICTIM_QUERY } from "./lib/attacks.ts";
import { idWidth } from "./lib/data.ts";
import { bar, log } from "./lib/progress.ts";
import { figure, targetAtMost, type Section } from "./lib/report.ts";
import { ClmServerFactory } from "./lib/servers.ts";

/** The attack whose victim p99 the isolation issue bounds ("a cheap query's p99 stays under 100 ms while fits run"). */
const FITS = "cpu";
const FITS_P99_MS = 100;

/** The shop's people at every scale (the default run's top DuckDB shop, kept between runs). */
const CUSTOMERS = 62_500;

export async function runIsolation(ctx: BenchContext, section: Section): Promise<void> {
  const ds = await ctx.duckData(CUSTOMERS);
  const seconds = ctx.options.loadSeconds;
  const factory = new ClmServerFactory();
  try {
    // As the abuse suite runs it: production mode, no metrics endpoint, cache off.
    const env = { NODE_ENV: "production", CLM_METRICS: "0", CLM_STATE: "off" };
    const attacker = await factory.createKey("analyst", env);
    const victim = await factory.createKey("viewer", env);
    log(`isolation: starting the server on ${ds.path}`);
    const server = await factory.start(
      { duckdbPath: ds.path, cache: false, extraEnv: { ...env, CLM_REQUEST_TIMEOUT_MS: "30000" } },
      "isolation",
    );
    // Warm up (the first lookups open the warehouse's files and fill its caches) before the baseline round.
    for (let i = 0; i < 20; i++)
      await send(server.url, victim, VICTIM_QUERY, { id: `c${String(i + 1).padStart(idWidth(ds.customers), "0")}` });
    const rows: string[][] = [];
    const b = bar("isolation: attacks", ATTACKS.length);
    try {
      let baselineP99 = NaN;
      for (const attack of ATTACKS) {
        const round = await runAttack(server, { attacker, victim }, attack, {
          seconds,
          customers: ds.customers,
          idWidth: idWidth(ds.customers),
        });
        b.increment();
        const ms = round.victim.map((a) => a.ms).sort((x, y) => x - y);
        const failed = round.victim.filter((a) => a.codes.length > 0);
        const errors = failed.length;
        const p99 = percentile(ms, 0.99);
        if (attack.key === "baseline") baselineP99 = p99;
        rows.push([
          attack.name,
          String(round.victim.length),
          errors ? counts(failed) : "0",
          percentile(ms, 0.5).toFixed(0),
          p99.toFixed(0),
          (ms.at(-1) ?? NaN).toFixed(0),
          round.attacker.length ? counts(round.attacker) : "-",
        ]);
        section.figures.push(
          figure(`victim's failed lookups, attack: ${attack.name}`, "queries", [errors], {
            target: (v) => targetAtMost(v.median, 0, "0 (every lookup answered)"),
          }),
          figure(`victim's p99 latency, attack: ${attack.name}`, "ms", [p99], {
            baseline: attack.key === "baseline" ? undefined : { name: "no attack", values: [baselineP99] },
            target:
              attack.key === FITS
                ? (v) => targetAtMost(v.median, FITS_P99_MS, `≤ ${FITS_P99_MS} ms while fits run`)
                : undefined,
          }),
        );
      }
    } finally {
      b.stop();
      await server.stop();
    }
    section.tables.push({
      title: "Victim's lookups per attack (ms)",
      rows: [["attack", "victim requests", "victim errors", "p50", "p99", "max", "attacker answers"], ...rows],
    });
    section.notes.push(
      `A production-mode server (NODE_ENV=production, API keys, rate limit lifted for the bench, result cache off, no state store) on the default run's top DuckDB shop at every scale (${ds.customers.toLocaleString("en-US")} people); the victim key looks one customer up every 20 ms for ${seconds} s per attack while the attacker key runs it (bench/lib/attacks.ts; \`npm run abuse\` runs the same attacks on a shop of its own, and on PostgreSQL with --postgres-url). One round each: the figures are one sample.`,
    );
  } finally {
    factory.cleanup();
  }
}

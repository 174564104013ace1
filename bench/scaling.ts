// Benchmark 2 — scaling: benchmark 1 on DuckDB at 1×, 4× and 16× the data (the 16× point is the top
// size, shared with benchmark 1 when both run), and the log-log slope of time against transactions:
// 1 is linear, below 1 the fixed costs still dominate, above 1 something grows faster than the data.
import type { BenchContext } from "./lib/context.ts";
import { log } from "./lib/progress.ts";
import { figure, targetAtMost, type Section } from "./lib/report.ts";
import { fmt, logLogSlope, summarize } from "./lib/stats.ts";
import { measureDuck, type PushdownResult } from "./pushdown.ts";

export async function runScaling(ctx: BenchContext, section: Section): Promise<void> {
  const results: PushdownResult[] = [];
  for (const customers of ctx.sizes.scalingCustomers) {
    log(`scaling: ${customers.toLocaleString("en-US")} people`);
    results.push(await measureDuck(ctx, customers, false));
  }
  const series = (pick: (r: PushdownResult) => number[]) =>
    results.map((r) => [r.transactions, summarize(pick(r)).median] as [number, number]);
  const rows: string[][] = [
    [
      "people",
      "transactions",
      "known customers",
      "stages API",
      "stages generated",
      "stages hand",
      "ratio API/hand",
      "features API",
      "features generated",
      "features hand",
      "ratio API/hand",
    ],
  ];
  for (const r of results) {
    const m = (xs: number[]) => summarize(xs).median;
    rows.push([
      r.customers.toLocaleString("en-US"),
      r.transactions.toLocaleString("en-US"),
      r.knownCustomers.toLocaleString("en-US"),
      `${fmt(m(r.stages.api), 0)} ms`,
      `${fmt(m(r.stages.generated), 0)} ms`,
      `${fmt(m(r.stages.hand), 0)} ms`,
      `${fmt(summarize(r.stages.api.map((v, i) => v / r.stages.hand[i]!)).median, 2)}×`,
      `${fmt(m(r.features.api), 0)} ms`,
      `${fmt(m(r.features.generated), 0)} ms`,
      `${fmt(m(r.features.hand), 0)} ms`,
      `${fmt(summarize(r.features.api.map((v, i) => v / r.features.hand[i]!)).median, 2)}×`,
    ]);
    section.figures.push(
      figure(`${r.transactions.toLocaleString("en-US")} tx: stage distribution via GraphQL`, "ms", r.stages.api, {
        baseline: { name: "hand SQL", values: r.stages.hand },
        target: (_v, ratio) => targetAtMost(ratio?.median ?? NaN, 1.2, "≤ 1.2× hand-written SQL"),
      }),
      figure(`${r.transactions.toLocaleString("en-US")} tx: all features via the export`, "ms", r.features.api, {
        baseline: { name: "hand SQL", values: r.features.hand },
        target: (_v, ratio) => targetAtMost(ratio?.median ?? NaN, 1.2, "≤ 1.2× hand-written SQL"),
      }),
    );
    if (!r.checks.stagesEqual || !r.checks.featuresEqual)
      section.notes.push(`**answers differ at ${r.customers}**: ${r.checks.detail.join("; ")}`);
  }
  section.tables.push({ title: "Medians per size (DuckDB, in-process API, cache off)", rows });
  const slopes = {
    stagesApi: logLogSlope(series((r) => r.stages.api)),
    stagesGenerated: logLogSlope(series((r) => r.stages.generated)),
    stagesHand: logLogSlope(series((r) => r.stages.hand)),
    featuresApi: logLogSlope(series((r) => r.features.api)),
    featuresGenerated: logLogSlope(series((r) => r.features.generated)),
    featuresHand: logLogSlope(series((r) => r.features.hand)),
  };
  section.tables.push({
    title: "Log-log slope of median time against transactions (1 = linear)",
    rows: [
      ["answer", "API", "generated SQL direct", "hand SQL"],
      ["stage distribution", fmt(slopes.stagesApi, 2), fmt(slopes.stagesGenerated, 2), fmt(slopes.stagesHand, 2)],
      [
        "all features (export)",
        fmt(slopes.featuresApi, 2),
        fmt(slopes.featuresGenerated, 2),
        fmt(slopes.featuresHand, 2),
      ],
    ],
  });
  section.data.slopes = slopes;
  section.data.results = results.map((r) => ({ ...r, checks: r.checks }));
  section.notes.push(
    "Same method as benchmark 1 (in-process yoga.fetch, cache off, hand SQL and generated SQL run directly on the same DuckDB instance), on three shops of 1/16, 1/4 and all of the top size.",
  );
}

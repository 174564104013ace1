// Benchmark 3 — the in-process classifier: customers per second classified by the stage model's rules
// compiled to JavaScript source (CompiledStageModel.classify, what Customer.stage runs; see
// src/lifecycle/rule-predicate.ts), on one core (the JS
// thread), over precomputed features: every known customer's real features from the top DuckDB shop,
// loaded once before timing. Baselines in the same run: the same model hand-written as plain `if`s over
// the same row objects, and over columns in Float64Arrays (the ceiling of JS on this machine).
import { DEFAULT_MAPPING } from "../src/sql/contract.ts";
import { DuckDBConnector } from "../src/connectors/duckdb.ts";
import type { CustomerFeatures } from "../src/lifecycle/features.ts";
import { defaultStageModel, type CompiledStageModel } from "../src/lifecycle/stage-model.ts";
import { LifecycleService } from "../src/services/lifecycle/service.ts";
import { toFeatures } from "../src/services/lifecycle/features.ts";
import type { BenchContext } from "./lib/context.ts";
import { END_DATE } from "./lib/data.ts";
import { bar, log } from "./lib/progress.ts";
import { figure, targetAtLeast, type Section } from "./lib/report.ts";
import { interleave } from "./lib/stats.ts";

/** Classifications per timed measurement, at least (passes over the array repeat to reach it). */
const MIN_PER_MEASUREMENT = 4_000_000;

/** The default model by hand, returning the stage's display index (0 prospect … 7 churned). */
const P = 0,
  NEW = 1,
  DEV = 2,
  RET = 3,
  LOYAL = 4,
  ADV = 5,
  RISK = 6,
  CHURN = 7;

function handRow(f: CustomerFeatures): number {
  const pd = f.purchaseDays;
  if (pd === 0 || pd === null) return P;
  const rec = f.recencyDays;
  const gap = f.meanGapDays;
  if (rec !== null && rec > 365) return CHURN;
  if (rec !== null && gap !== null && rec > Math.max(60, 3 * gap)) return RISK;
  const ref = f.referredCount;
  if (pd >= 2 && ref !== null && ref >= 1) return ADV;
  if (pd >= 4) return LOYAL;
  if (pd >= 2) return RET;
  if (pd === 1 && rec !== null && rec <= 30) return NEW;
  if (pd === 1) return DEV;
  return P;
}

interface Columns {
  readonly pd: Float64Array;
  readonly rec: Float64Array;
  readonly gap: Float64Array;
  readonly ref: Float64Array;
}

/** NaN stands for null: every comparison with NaN is false, as the rule language says of nulls. */
function handColumns(c: Columns, i: number): number {
  const pd = c.pd[i]!;
  if (pd === 0) return P;
  const rec = c.rec[i]!;
  if (rec > 365) return CHURN;
  if (rec > Math.max(60, 3 * c.gap[i]!)) return RISK;
  if (pd >= 2 && c.ref[i]! >= 1) return ADV;
  if (pd >= 4) return LOYAL;
  if (pd >= 2) return RET;
  if (pd === 1 && rec <= 30) return NEW;
  if (pd === 1) return DEV;
  return P;
}

function toColumns(rows: readonly CustomerFeatures[]): Columns {
  const n = rows.length;
  const col = (pick: (f: CustomerFeatures) => number | null) => {
    const a = new Float64Array(n);
    for (let i = 0; i < n; i++) a[i] = pick(rows[i]!) ?? NaN;
    return a;
  };
  return {
    pd: col((f) => f.purchaseDays),
    rec: col((f) => f.recencyDays),
    gap: col((f) => f.meanGapDays),
    ref: col((f) => f.referredCount),
  };
}

/** Runs `passes` passes; returns a checksum (the sum of stage orders) so no work can be dropped. */
function passCompiled(model: CompiledStageModel, rows: readonly CustomerFeatures[], passes: number): number {
  let sum = 0;
  for (let p = 0; p < passes; p++) for (let i = 0; i < rows.length; i++) sum += model.classify(rows[i]!).order;
  return sum;
}

function passHandRows(rows: readonly CustomerFeatures[], passes: number): number {
  let sum = 0;
  for (let p = 0; p < passes; p++) for (let i = 0; i < rows.length; i++) sum += handRow(rows[i]!) + 1;
  return sum;
}

function passHandColumns(c: Columns, n: number, passes: number): number {
  let sum = 0;
  for (let p = 0; p < passes; p++) for (let i = 0; i < n; i++) sum += handColumns(c, i) + 1;
  return sum;
}

export async function runClassifier(ctx: BenchContext, section: Section): Promise<void> {
  const ds = await ctx.duckData(ctx.sizes.topCustomers);
  log(`classifier: loading every customer's features from ${ds.path}`);
  const connector = await DuckDBConnector.open(ds.path, DEFAULT_MAPPING);
  let rows: CustomerFeatures[] = [];
  let sqlCounts: Map<string, number>;
  const lifecycle = await LifecycleService.open(connector, defaultStageModel(), "UTC");
  try {
    for await (const batch of connector.stream(lifecycle.features(END_DATE), { batchRows: 50_000 })) {
      for (const row of batch) rows.push(toFeatures(row));
    }
    sqlCounts = new Map((await lifecycle.stageCounts(END_DATE)).map((c) => [c.stage.key, c.count]));
  } finally {
    await connector.close();
  }
  const model = lifecycle.model;
  const n = rows.length;

  // ---- Equal answers first: compiled rules vs SQL stage counts vs the hand-written classifier.
  const compiledCounts = new Map<string, number>();
  let handAgrees = 0;
  const columns = toColumns(rows);
  let columnsAgree = 0;
  for (let i = 0; i < n; i++) {
    const stage = model.classify(rows[i]!);
    compiledCounts.set(stage.key, (compiledCounts.get(stage.key) ?? 0) + 1);
    if (model.stages[handRow(rows[i]!)] === stage) handAgrees++;
    if (model.stages[handColumns(columns, i)] === stage) columnsAgree++;
  }
  const sqlEqual = [...model.stages].every((s) => (compiledCounts.get(s.key) ?? 0) === (sqlCounts.get(s.key) ?? 0));
  section.notes.push(
    `Input: ${n.toLocaleString("en-US")} customers' real features (the top DuckDB shop as of ${END_DATE}), loaded before timing. ` +
      `Compiled rules agree with the SQL stage counts: ${sqlEqual ? "yes" : `NO (${JSON.stringify(Object.fromEntries(compiledCounts))} vs ${JSON.stringify(Object.fromEntries(sqlCounts))})`}; ` +
      `hand-written classifier agrees on ${handAgrees}/${n} rows, column version on ${columnsAgree}/${n}.`,
  );
  if (handAgrees !== n || columnsAgree !== n)
    throw new Error("the hand-written classifier disagrees with the compiled rules");

  // ---- Timed rounds: each measurement classifies at least MIN_PER_MEASUREMENT customers.
  const passes = Math.max(1, Math.ceil(MIN_PER_MEASUREMENT / n));
  const perMeasurement = passes * n;
  // Warm-up: the JIT optimizes each loop before it is timed.
  passCompiled(model, rows, 1);
  passHandRows(rows, 1);
  passHandColumns(columns, n, 1);
  const variants = ["compiled", "handRows", "handColumns"] as const;
  const b = bar("classifier", variants.length * ctx.options.repeats);
  let checksum = 0;
  const seconds = await interleave(
    variants,
    ctx.options.repeats,
    async (variant) => {
      const t0 = performance.now();
      if (variant === "compiled") checksum += passCompiled(model, rows, passes);
      else if (variant === "handRows") checksum += passHandRows(rows, passes);
      else checksum += passHandColumns(columns, n, passes);
      return (performance.now() - t0) / 1000;
    },
    () => b.increment(),
  );
  b.stop();
  const rate = (xs: number[]) => xs.map((s) => perMeasurement / s);
  section.figures.push(
    figure("compiled rules (CompiledStageModel.classify) over feature rows", "customers/s", rate(seconds.compiled), {
      baseline: { name: "hand-written ifs, same rows", values: rate(seconds.handRows) },
      target: (v) => targetAtLeast(v.median, 5_000_000, "≥ 5M customers/s"),
    }),
    figure("hand-written ifs over feature rows", "customers/s", rate(seconds.handRows), {
      baseline: { name: "hand-written ifs over Float64Array columns", values: rate(seconds.handColumns) },
    }),
    figure("hand-written ifs over Float64Array columns (ceiling)", "customers/s", rate(seconds.handColumns)),
  );
  section.notes.push(
    `Each measurement: ${passes} pass(es) over the ${n.toLocaleString("en-US")} rows = ${perMeasurement.toLocaleString("en-US")} classifications on the JS thread (one core); variants interleaved in rotating order after a warm-up pass (checksum ${checksum}).`,
  );
  Object.assign(section.data, {
    customers: n,
    passes,
    seconds,
    sqlCounts: Object.fromEntries(sqlCounts),
    compiledCounts: Object.fromEntries(compiledCounts),
  });
  rows = [];
}

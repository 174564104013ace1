// The CPU part of a CLV fit: from the warehouse's grouped summaries to the fitted models. Pure (data in,
// data out, nothing shared), so it can run in a worker thread (fit-worker.ts) as well as in this one.
import { fitBgNbdGroups, ThinDataError, type BgNbdFit } from "./bgnbd.ts";
import { fitGammaGamma, type GammaGammaFit } from "./gamma-gamma.ts";
import { fitParetoNbdGroups, type ParetoNbdFit } from "./pareto-nbd.ts";
import { TIME_UNIT_DAYS, type PurchaseModelKind, type TimeUnit } from "./predict.ts";
import { sampleCustomers } from "./sample.ts";

/** What a fit needs: the summaries as the warehouse grouped them (days and cents), plain data. */
export interface ClvFitInput {
  readonly timeUnit: TimeUnit;
  readonly model: PurchaseModelKind;
  /** (x, t_x, T) groups: x repeat purchase days, t_x and T in days, and how many buyers share them. */
  readonly recency: readonly { x: number; txDays: number; tDays: number; count: number }[];
  /** (x, mean repeat spend) groups: spend in cents. */
  readonly spend: readonly { x: number; zbarCents: number; count: number }[];
}

export interface ClvFitOutput {
  /** Buyers summarised (first purchase on or before asOf). */
  readonly customers: number;
  /** Share of the buyers the fits ran on: 1, or a seeded random sample above CLV_SAMPLE_CUSTOMERS. */
  readonly sampleFraction: number;
  /** Buyers the purchase model's fit ran on (all of them, or the sample). */
  readonly fittedCustomers: number;
  /** Distinct (x, t_x, T) summaries the purchase model's fit ran on. */
  readonly summaryGroups: number;
  /** The BG/NBD fit when model is BG_NBD. */
  readonly bgnbd: BgNbdFit | null;
  /** The Pareto/NBD fit when model is PARETO_NBD. */
  readonly paretoNbd: ParetoNbdFit | null;
  readonly gammaGamma: GammaGammaFit;
  /** Time the sample and the fits took (in the worker). */
  readonly fitMs: number;
}

/**
 * What crosses the thread boundary: a thread's structured clone keeps an error's message but not its
 * class, so data too thin to fit comes back as a value and becomes ThinDataError again on this side.
 */
export type ClvFitResult = { readonly fit: ClvFitOutput } | { readonly thinData: string };

/** Samples (above CLV_SAMPLE_CUSTOMERS buyers) and fits the purchase model and Gamma-Gamma. */
export function fitClvSummaries(input: ClvFitInput): ClvFitOutput {
  const started = performance.now();
  const unitDays = TIME_UNIT_DAYS[input.timeUnit];
  const all = input.recency.map((r) => ({
    key: `${r.x}|${r.txDays}|${r.tDays}`,
    summary: { x: r.x, tx: r.txDays / unitDays, T: r.tDays / unitDays },
    count: r.count,
  }));
  const recency = sampleCustomers(all, (g) => g.key);
  const spend = sampleCustomers(
    input.spend.map((r) => ({ x: r.x, zbar: r.zbarCents / 100, count: r.count })),
    (g) => `${g.x}|${g.zbar}`,
  );
  const bgnbd = input.model === "BG_NBD" ? fitBgNbdGroups(recency.groups) : null;
  const paretoNbd = input.model === "PARETO_NBD" ? fitParetoNbdGroups(recency.groups) : null;
  const gammaGamma = fitGammaGamma(spend.groups);
  return {
    customers: all.reduce((n, g) => n + g.count, 0),
    sampleFraction: recency.fraction,
    fittedCustomers: recency.groups.reduce((n, g) => n + g.count, 0),
    summaryGroups: recency.groups.length,
    bgnbd,
    paretoNbd,
    gammaGamma,
    fitMs: performance.now() - started,
  };
}

/** fitClvSummaries with thin data as a value (the worker's answer). */
export function fitClvResult(input: ClvFitInput): ClvFitResult {
  try {
    return { fit: fitClvSummaries(input) };
  } catch (error) {
    if (error instanceof ThinDataError) return { thinData: error.message };
    throw error;
  }
}

/** The fit from a worker's answer; thin data thrown as ThinDataError, as an in-thread fit would. */
export function fitFromResult(result: ClvFitResult): ClvFitOutput {
  if ("thinData" in result) throw new ThinDataError(result.thinData);
  return result.fit;
}

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
  /** Set when the groups are already the fit's sample (sampledFitInput): the buyers before it, and the share kept. */
  readonly sampled?: { readonly customers: number; readonly fraction: number };
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
  /** Time the fits took (and the sample, when the input was not sampled before). */
  readonly fitMs: number;
}

/**
 * What crosses the thread boundary: a thread's structured clone keeps an error's message but not its
 * class, so data too thin to fit comes back as a value and becomes ThinDataError again on this side.
 */
export type ClvFitResult = { readonly fit: ClvFitOutput } | { readonly thinData: string };

/**
 * The input with its groups thinned to the fit's sample (sampleCustomers, above CLV_SAMPLE_CUSTOMERS
 * buyers), all a fit reads: what a worker is sent, so a million buyers' groups (hundreds of thousands)
 * are not copied across the thread boundary for the fifty thousand the fit keeps.
 */
export function sampledFitInput(input: ClvFitInput): ClvFitInput {
  if (input.sampled) return input;
  // The keys the sample is drawn in the order of: one per group, the same whichever thread samples.
  const recency = sampleCustomers(input.recency, (r) => `${r.x}|${r.txDays}|${r.tDays}`);
  const spend = sampleCustomers(input.spend, (r) => `${r.x}|${r.zbarCents / 100}`);
  const customers = input.recency.reduce((n, g) => n + g.count, 0);
  return { ...input, recency: recency.groups, spend: spend.groups, sampled: { customers, fraction: recency.fraction } };
}

/** Samples (above CLV_SAMPLE_CUSTOMERS buyers, unless sampled before) and fits the purchase model and Gamma-Gamma. */
export function fitClvSummaries(input: ClvFitInput): ClvFitOutput {
  const started = performance.now();
  const unitDays = TIME_UNIT_DAYS[input.timeUnit];
  const sample = sampledFitInput(input);
  const recency = sample.recency.map((r) => ({
    summary: { x: r.x, tx: r.txDays / unitDays, T: r.tDays / unitDays },
    count: r.count,
  }));
  const spend = sample.spend.map((r) => ({ x: r.x, zbar: r.zbarCents / 100, count: r.count }));
  const bgnbd = input.model === "BG_NBD" ? fitBgNbdGroups(recency) : null;
  const paretoNbd = input.model === "PARETO_NBD" ? fitParetoNbdGroups(recency) : null;
  const gammaGamma = fitGammaGamma(spend);
  return {
    customers: sample.sampled!.customers,
    sampleFraction: sample.sampled!.fraction,
    fittedCustomers: recency.reduce((n, g) => n + g.count, 0),
    summaryGroups: recency.length,
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

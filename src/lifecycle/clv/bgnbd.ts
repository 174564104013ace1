// BG/NBD (Fader, Hardie & Lee 2005, "Counting Your Customers the Easy Way"): purchases while alive
// follow a Poisson process with rate λ ~ Gamma(r, α); after each purchase a customer drops out with
// probability p ~ Beta(a, b). Fitted by maximum likelihood on per-customer summaries.
import { DomainError } from "../../errors.ts";
import { hyp2f1, lnGamma, logAddExp } from "./special.ts";
import { maximizeLikelihood } from "./optimize.ts";

/** One customer's summary, in time units (e.g. weeks): x repeat purchases, t_x last one, T age. */
export interface RfSummary {
  readonly x: number;
  readonly tx: number;
  readonly T: number;
}

export interface BgNbdParams {
  readonly r: number;
  readonly alpha: number;
  readonly a: number;
  readonly b: number;
}

export interface BgNbdFit extends BgNbdParams {
  readonly logLikelihood: number;
  readonly iterations: number;
  readonly converged: boolean;
}

/** Too few buyers, or too little repeat buying, to fit a model on. */
export class ThinDataError extends DomainError {
  override name = "ThinDataError";
  readonly code = "INSUFFICIENT_DATA";
}

export interface SummaryGroup {
  readonly summary: RfSummary;
  readonly count: number;
}

/** Summaries that share (x, t_x, T) are fitted once with their count (large bases fit fast). */
export function groupSummaries(summaries: readonly RfSummary[]): SummaryGroup[] {
  const groups = new Map<string, { summary: RfSummary; count: number }>();
  for (const s of summaries) {
    const key = `${s.x}|${s.tx}|${s.T}`;
    const g = groups.get(key);
    if (g) g.count++;
    else groups.set(key, { summary: s, count: 1 });
  }
  return [...groups.values()];
}

export function bgnbdLogLikelihood(p: BgNbdParams, groups: readonly SummaryGroup[]): number {
  const { r, alpha, a, b } = p;
  const base = lnGamma(a + b) - lnGamma(b) + r * Math.log(alpha) - lnGamma(r);
  // The Gamma-function terms depend on x alone, and a base has few distinct x: computed once per x,
  // which makes a large fit several times faster.
  const byX = new Map<number, { a1: number; dropout: number }>();
  let total = 0;
  for (const { summary: s, count } of groups) {
    let perX = byX.get(s.x);
    if (!perX) {
      perX = {
        a1: lnGamma(r + s.x) + base + lnGamma(b + s.x) - lnGamma(a + b + s.x),
        dropout: s.x > 0 ? Math.log(a) - Math.log(b + s.x - 1) : -Infinity,
      };
      byX.set(s.x, perX);
    }
    const a3 = -(r + s.x) * Math.log(alpha + s.T);
    const a4 = s.x > 0 ? perX.dropout - (r + s.x) * Math.log(alpha + s.tx) : -Infinity;
    total += count * (perX.a1 + logAddExp(a3, a4));
  }
  return total;
}

export function fitBgNbd(summaries: readonly RfSummary[]): BgNbdFit {
  return fitBgNbdGroups(groupSummaries(summaries));
}

/**
 * Maximum likelihood of a purchase model on grouped summaries, refusing data too thin to fit: fewer
 * than 10 customers or fewer than 2 with a repeat purchase.
 */
export function fitPurchaseModel<K extends string>(
  model: string,
  names: readonly K[],
  groups: readonly SummaryGroup[],
  logLikelihood: (params: Record<K, number>) => number,
): Record<K, number> & { logLikelihood: number; iterations: number; converged: boolean } {
  const customers = groups.reduce((n, g) => n + g.count, 0);
  const repeaters = groups.reduce((n, g) => n + (g.summary.x > 0 ? g.count : 0), 0);
  if (customers < 10 || repeaters < 2) {
    throw new ThinDataError(
      `too little data to fit ${model}: ${customers} customers, ${repeaters} with a repeat purchase (need at least 10 and 2)`,
    );
  }
  const best = maximizeLikelihood(names, logLikelihood);
  return { ...best.params, logLikelihood: best.logLikelihood, iterations: best.iterations, converged: best.converged };
}

/** Fits on summaries grouped with their counts (as the warehouse returns them for large bases). */
export function fitBgNbdGroups(groups: readonly SummaryGroup[]): BgNbdFit {
  return fitPurchaseModel("BG/NBD", ["r", "alpha", "a", "b"] as const, groups, (p) => bgnbdLogLikelihood(p, groups));
}

/** P(alive | x, t_x, T). */
export function bgnbdProbabilityAlive(p: BgNbdParams, s: RfSummary): number {
  if (s.x === 0) return 1;
  const { r, alpha, a, b } = p;
  const logRatio = Math.log(a) - Math.log(b + s.x - 1) + (r + s.x) * (Math.log(alpha + s.T) - Math.log(alpha + s.tx));
  return 1 / (1 + Math.exp(logRatio));
}

/** E[purchases in (T, T + t] | x, t_x, T]. */
export function bgnbdExpectedPurchases(p: BgNbdParams, s: RfSummary, t: number): number {
  const { r, alpha, a, b } = p;
  const z = t / (alpha + s.T + t);
  const hyp = hyp2f1(r + s.x, b + s.x, a + b + s.x - 1, z);
  const first = ((a + b + s.x - 1) / (a - 1)) * (1 - Math.pow((alpha + s.T) / (alpha + s.T + t), r + s.x) * hyp);
  const denominator = 1 + (s.x > 0 ? (a / (b + s.x - 1)) * Math.pow((alpha + s.T) / (alpha + s.tx), r + s.x) : 0);
  return first / denominator;
}

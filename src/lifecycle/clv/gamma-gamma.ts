// Gamma-Gamma spend model (Fader, Hardie & Lee 2005, "RFM and CLV: Using Iso-Value Curves"): each
// transaction's value ~ Gamma(p, ν), ν ~ Gamma(q, γ), independent of the purchase process. Fitted on
// customers with repeat purchases, from x (repeat purchases) and zbar (their mean value).
import { lnGamma } from "./special.ts";
import { maximizeLikelihood } from "./optimize.ts";
import { ThinDataError } from "./bgnbd.ts";

export interface SpendSummary {
  readonly x: number;
  readonly zbar: number;
  /** Customers sharing this summary (default 1). */
  readonly count?: number;
}

export interface GammaGammaParams {
  readonly p: number;
  readonly q: number;
  readonly gamma: number;
}

export interface GammaGammaFit extends GammaGammaParams {
  readonly logLikelihood: number;
  readonly customers: number;
  readonly converged: boolean;
}

export function gammaGammaLogLikelihood({ p, q, gamma }: GammaGammaParams, summaries: readonly SpendSummary[]): number {
  let total = 0;
  for (const { x, zbar, count = 1 } of summaries) {
    total +=
      count *
      (lnGamma(p * x + q) -
        lnGamma(p * x) -
        lnGamma(q) +
        q * Math.log(gamma) +
        (p * x - 1) * Math.log(zbar) +
        p * x * Math.log(x) -
        (p * x + q) * Math.log(gamma + x * zbar));
  }
  return total;
}

export function fitGammaGamma(all: readonly SpendSummary[]): GammaGammaFit {
  const summaries = all.filter((s) => s.x > 0 && s.zbar > 0);
  const customers = summaries.reduce((n, s) => n + (s.count ?? 1), 0);
  if (customers < 10) {
    throw new ThinDataError(
      `too little data to fit Gamma-Gamma: ${customers} customers with repeat purchases (need at least 10)`,
    );
  }
  const best = maximizeLikelihood(["p", "q", "gamma"] as const, (p) => gammaGammaLogLikelihood(p, summaries));
  return { ...best.params, logLikelihood: best.logLikelihood, customers, converged: best.converged };
}

/**
 * E[mean transaction value | x, zbar]; with no repeat purchases, the population mean p γ / (q − 1). Repeat
 * purchases whose refunds leave no positive net spend tell the model nothing it can use (it was fitted
 * on positive spend only, and a mean of zero or less has no likelihood): those customers get the
 * population mean too.
 */
export function conditionalExpectedSpend({ p, q, gamma }: GammaGammaParams, { x, zbar }: SpendSummary): number {
  const repeats = zbar > 0 ? x : 0;
  return (p * (gamma + repeats * zbar)) / (p * repeats + q - 1);
}

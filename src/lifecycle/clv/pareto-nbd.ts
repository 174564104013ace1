// Pareto/NBD (Schmittlein, Morrison & Colombo 1987, "Counting Your Customers"): purchases while alive
// follow a Poisson process with rate λ ~ Gamma(r, α); each customer's lifetime is exponential with rate
// μ ~ Gamma(s, β), independent of λ. Unlike BG/NBD, dropout can happen at any time, not only after a
// purchase. Fitted by maximum likelihood on the same per-customer summaries (x, t_x, T) as BG/NBD, with the
// likelihood as written in Fader, Hardie & Lee (2005), "A Note on Implementing the Pareto/NBD Model in
// MATLAB", evaluated in log space.
import { fitPurchaseModel, groupSummaries, type RfSummary, type SummaryGroup } from "./bgnbd.ts";
import { lnGammaRatio, logAddExp, logHyp2f1, logSubExp } from "./special.ts";

export interface ParetoNbdParams {
  readonly r: number;
  readonly alpha: number;
  readonly s: number;
  readonly beta: number;
}

export interface ParetoNbdFit extends ParetoNbdParams {
  readonly logLikelihood: number;
  readonly iterations: number;
  readonly converged: boolean;
}

/**
 * ln(α^r β^s A₀ / (r+s+x)) from the note's closed form. A₀ = (r+s+x) ∫ from t_x to T of
 * (α+τ)^−(r+x) (β+τ)^−(s+1) dτ, the weight of "died between the last purchase and T", is a difference of
 * 2F1(r+s+x, ·; r+s+x+1; z) / (max(α,β)+τ)^(r+s+x) at τ = t_x and τ = T, with the 2F1 chosen by whether α
 * or β is larger so that 0 ≤ z < 1:
 *   α ≥ β: 2F1(r+s+x, s+1; r+s+x+1; (α−β)/(α+τ)),   α < β: 2F1(r+s+x, r+x; r+s+x+1; (β−α)/(β+τ)).
 * α^r β^s is brought inside each end as −r ln((α+τ)/α) − s ln((β+τ)/β) (as log1p) rather than added
 * afterwards: with r or s near 1e6, r ln α and (r+s+x) ln(α+τ) would cancel to a few digits. 1 − z =
 * (min(α,β)+τ) / (max(α,β)+τ) is passed to the 2F1 as computed here: when the smaller of α, β is tiny, z
 * rounds to 1 while 1 − z is still known to full precision. Exported for the tests, which check it
 * against logDeadByQuadrature.
 */
export function logDeadByHypergeometric(p: ParetoNbdParams, s: RfSummary): number {
  // Stryker disable next-line ConditionalExpression,EqualityOperator: at t_x = T both ends are equal and return −∞ below; t_x > T is no summary
  if (s.tx >= s.T) return -Infinity;
  const { r, alpha, beta } = p;
  const a = r + p.s + s.x;
  // The parameters of the larger and the smaller of α, β: (α, r) and (β, s).
  // Stryker disable next-line EqualityOperator,ConditionalExpression: at α = β, z = 0 makes either 2F1 1, and the two log1p terms swap places; the α < β form is the same closed form for α > β too (z < 0, by Pfaff), the order only keeps 0 ≤ z < 1
  const [high, low, b, pHigh, pLow] = alpha >= beta ? [alpha, beta, p.s + 1, r, p.s] : [beta, alpha, r + s.x, p.s, r];
  const end = (tau: number) => {
    const z = (high - low) / (high + tau);
    const w = (low + tau) / (high + tau);
    const scale =
      -pHigh * Math.log1p(tau / high) - pLow * Math.log1p((high - low + tau) / low) - s.x * Math.log(high + tau);
    return logHyp2f1(a, b, a + 1, z, w) + scale;
  };
  const [first, last] = [end(s.tx), end(s.T)];
  // The integrand is positive, so the ends are ordered: a slip within rounding is t_x just below T (A₀ ≈ 0);
  // anything more (or a NaN) is a 2F1 that was not accurate, and the caller falls back to quadrature.
  if (!(last <= first + 1e-12 * Math.max(1, Math.abs(first)))) throw new RangeError("A₀'s ends are out of order");
  return last >= first ? -Infinity : logSubExp(first, last) - Math.log(a);
}

// 16-point Gauss–Legendre nodes and weights on [−1, 1], by Newton's method on P₁₆ (Numerical Recipes' gauleg).
const GAUSS_LEGENDRE = (() => {
  const n = 16;
  const nodes: number[] = [];
  const weights: number[] = [];
  for (let i = 1; i <= n / 2; i++) {
    let x = Math.cos((Math.PI * (i - 0.25)) / (n + 0.5));
    let derivative = 0;
    for (let iteration = 0; iteration < 100; iteration++) {
      let p0 = 1;
      let p1 = 0;
      for (let j = 1; j <= n; j++) [p0, p1] = [((2 * j - 1) * x * p0 - (j - 1) * p1) / j, p0];
      derivative = (n * (x * p0 - p1)) / (x * x - 1);
      const step = p0 / derivative;
      x -= step;
      if (Math.abs(step) < 1e-16) break;
    }
    const weight = 2 / ((1 - x * x) * derivative * derivative);
    nodes.push(-x, x);
    weights.push(weight, weight);
  }
  return { nodes, weights };
})();

/**
 * The same ln(α^r β^s A₀ / (r+s+x)) = ln ∫ α^r β^s (α+τ)^−(r+x) (β+τ)^−(s+1) dτ by quadrature, for the
 * parameters where no route to the 2F1 converges (r+s+x of order 1e5 or more with z close to 1; the
 * optimizer can get there when a dataset's purchase or dropout rates barely vary, as r or s → ∞). In
 * v = ln(min(α,β) + τ) the log of the integrand (with dτ = e^v dv) is
 *   h(v) = (1 − p_low) v − p_high ln(|α−β| + e^v) + constant,
 * p_low and p_high being the exponents r+x and s+1 of the smaller and larger of α, β: concave, so the
 * integrand has one peak, found in closed form. Gauss–Legendre panels go out from the peak on both sides,
 * each narrow enough that h changes by at most 4 across it, until h has fallen 50 below its peak.
 */
export function logDeadByQuadrature(p: ParetoNbdParams, s: RfSummary): number {
  const { r, alpha, beta } = p;
  // Stryker disable next-line ConditionalExpression,EqualityOperator: at t_x = T no panel is laid and ln 0 = −∞; t_x > T is no summary
  if (s.tx >= s.T) return -Infinity;
  // Stryker disable next-line EqualityOperator: at α = β, |α−β| = 0 puts the peak at v1 for either order
  const [low, pLow, pHigh] = alpha <= beta ? [alpha, r + s.x, p.s + 1] : [beta, p.s + 1, r + s.x];
  const lnD = Math.log(Math.abs(alpha - beta));
  const h = (v: number) => {
    const tau = Math.max(0, Math.exp(v) - low);
    return (
      -r * Math.log1p(tau / alpha) -
      s.x * Math.log(alpha + tau) -
      p.s * Math.log1p(tau / beta) -
      Math.log(beta + tau) +
      v
    );
  };
  const share = (v: number) => Math.exp(v - logAddExp(lnD, v)); // e^v / (|α−β| + e^v)
  const slope = (v: number) => 1 - pLow - pHigh * share(v);
  const curvature = (v: number) => pHigh * share(v) * (1 - share(v));
  const v1 = Math.log(low + s.tx);
  const v2 = Math.log(low + s.T);
  const q = (1 - pLow) / pHigh;
  const peak = q <= 0 ? v1 : q >= 1 ? v2 : Math.min(v2, Math.max(v1, lnD + Math.log(q) - Math.log1p(-q)));
  const top = h(peak);
  const sigma = 1 / Math.sqrt(Math.max(curvature(peak), 1e-300));
  let total = 0;
  for (const direction of [1, -1]) {
    // Stryker disable next-line EqualityOperator: direction is ±1, never 0
    const end = direction > 0 ? v2 : v1;
    let from = peak;
    for (let panel = 0; panel < 1_000 && direction * (end - from) > 0; panel++) {
      let width = Math.min(direction * (end - from), 2 * sigma, 4 / Math.max(Math.abs(slope(from)), 1e-300));
      // h is monotone on either side of the peak, so a change of at most 4 across the panel bounds the shape.
      const start = h(from);
      while (Math.abs(h(from + direction * width) - start) > 4) width /= 2;
      const to = from + direction * width;
      for (let k = 0; k < GAUSS_LEGENDRE.nodes.length; k++) {
        // Stryker disable next-line ArithmeticOperator: the nodes come in ± pairs with equal weights, so mirroring them sums the same terms
        const v = (from + to) / 2 + (width / 2) * GAUSS_LEGENDRE.nodes[k]!;
        total += (width / 2) * GAUSS_LEGENDRE.weights[k]! * Math.exp(h(v) - top);
      }
      from = to;
      if (h(from) < top - 50) break;
    }
  }
  return top + Math.log(total);
}

/**
 * ln L for one customer less its shared ln Γ(r+x) − ln Γ(r), in two parts: alive at T
 * (r ln α + s ln β − (r+x) ln(α+T) − s ln(β+T), as log1p so large r or s do not cancel) and dead by T
 * (ln s + ln(α^r β^s A₀ / (r+s+x))). The closed form is used unless its 2F1 cannot be evaluated.
 */
function logParts(p: ParetoNbdParams, s: RfSummary): { alive: number; dead: number } {
  const { r, alpha, beta } = p;
  const alive = -r * Math.log1p(s.T / alpha) - s.x * Math.log(alpha + s.T) - p.s * Math.log1p(s.T / beta);
  let dead: number;
  try {
    dead = logDeadByHypergeometric(p, s);
  } catch (error) {
    // Stryker disable next-line ConditionalExpression: logDeadByHypergeometric throws nothing but RangeErrors (hyp2f1's and its own)
    if (!(error instanceof RangeError)) throw error;
    dead = logDeadByQuadrature(p, s);
  }
  return { alive, dead: Math.log(p.s) + dead };
}

function validParams({ r, alpha, s, beta }: ParetoNbdParams): boolean {
  return [r, alpha, s, beta].every((v) => v > 0 && Number.isFinite(v));
}

/**
 * ln L summed over the groups; −Infinity (never NaN) for parameters outside (0, ∞), which the optimizer
 * treats as the worst value.
 */
export function paretoNbdLogLikelihood(p: ParetoNbdParams, groups: readonly SummaryGroup[]): number {
  if (!validParams(p)) return -Infinity;
  let total = 0;
  for (const { summary, count } of groups) {
    const { alive, dead } = logParts(p, summary);
    total += count * (lnGammaRatio(p.r + summary.x, summary.x) + logAddExp(alive, dead));
  }
  return Number.isNaN(total) ? -Infinity : total;
}

export function fitParetoNbd(summaries: readonly RfSummary[]): ParetoNbdFit {
  return fitParetoNbdGroups(groupSummaries(summaries));
}

/** Fits on summaries grouped with their counts, with BG/NBD's thresholds for data too thin to fit. */
export function fitParetoNbdGroups(groups: readonly SummaryGroup[]): ParetoNbdFit {
  return fitPurchaseModel("Pareto/NBD", ["r", "alpha", "s", "beta"] as const, groups, (p) =>
    paretoNbdLogLikelihood(p, groups),
  );
}

/** ln(1 + e^v) without overflow. */
function softplus(v: number): number {
  // Stryker disable next-line EqualityOperator,ConditionalExpression: at v = 0 both forms are ln 2; for v > 0, ln1p(e^v) = v + ln1p(e^−v) to rounding until e^v overflows past v = 709, where P(alive) = e^−v underflows to 0 either way
  return v > 0 ? v + Math.log1p(Math.exp(-v)) : Math.log1p(Math.exp(v));
}

/** ln P(alive at T | x, t_x, T) = −ln(1 + e^(dead − alive)). */
function logProbabilityAlive(p: ParetoNbdParams, s: RfSummary): number {
  const { alive, dead } = logParts(p, s);
  return -softplus(dead - alive);
}

/**
 * P(alive at T | x, t_x, T): the "alive" share of the likelihood. Unlike BG/NBD's, it is below 1 for
 * customers without repeat purchases too (they may have left right after their first purchase); it is
 * 1 only when t_x = T.
 */
export function paretoNbdProbabilityAlive(p: ParetoNbdParams, s: RfSummary): number {
  return Math.exp(logProbabilityAlive(p, s));
}

/**
 * E[purchases in (T, T + t] | x, t_x, T] (Schmittlein, Morrison & Colombo 1987; as in the `lifetimes`
 * package's conditional_expected_number_of_purchases_up_to_time):
 *   (r+x)(β+T) / ((α+T)(s−1)) · [1 − ((β+T)/(β+T+t))^(s−1)] · P(alive).
 * The bracket over s − 1 is computed as −expm1((s−1) ln q) / (s−1), q = (β+T)/(β+T+t), which stays
 * accurate for s near 1 and is −ln q at s = 1 exactly.
 */
export function paretoNbdExpectedPurchases(p: ParetoNbdParams, s: RfSummary, t: number): number {
  // Stryker disable next-line EqualityOperator: at t = 0 the horizon is 0 and e^ln 0 = 0 too
  if (t <= 0) return 0;
  const { r, alpha, beta } = p;
  const lnQ = -Math.log1p(t / (beta + s.T));
  const sm1 = p.s - 1;
  const horizon = sm1 === 0 ? -lnQ : -Math.expm1(sm1 * lnQ) / sm1;
  const logRate = Math.log(r + s.x) + Math.log(beta + s.T) - Math.log(alpha + s.T);
  return Math.exp(logRate + Math.log(horizon) + logProbabilityAlive(p, s));
}

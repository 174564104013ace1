// Special functions for the lifetime-value models. Written here rather than taken from a package: the
// only candidates found were either unmaintained or pulled in 165 micro-packages for one function.

// Lanczos approximation, g = 7, n = 9 (Numerical Recipes / Godfrey): relative error below 1e-14.
const LANCZOS_G = 7;
const LANCZOS = [
  0.99999999999980993, 676.5203681218851, -1259.1392167224028, 771.32342877765313, -176.61502916214059,
  12.507343278686905, -0.13857109526572012, 9.9843695780195716e-6, 1.5056327351493116e-7,
];

/** ln Γ(x) for x > 0. */
export function lnGamma(x: number): number {
  if (x < 0.5) {
    // Reflection: Γ(x) Γ(1 − x) = π / sin(πx).
    return Math.log(Math.PI / Math.sin(Math.PI * x)) - lnGamma(1 - x);
  }
  const z = x - 1;
  let sum = LANCZOS[0]!;
  for (let i = 1; i < LANCZOS.length; i++) sum += LANCZOS[i]! / (z + i);
  const t = z + LANCZOS_G + 0.5;
  return 0.5 * Math.log(2 * Math.PI) + (z + 0.5) * Math.log(t) - t + Math.log(sum);
}

/** ln(e^a + e^b) without overflow. */
export function logAddExp(a: number, b: number): number {
  // Stryker disable next-line ConditionalExpression,UnaryOperator: a shortcut: at a = −∞ the general formula gives b too (b = −∞ is caught next); +∞ never comes here
  if (a === -Infinity) return b;
  // Stryker disable next-line ConditionalExpression,UnaryOperator: a shortcut: at b = −∞ the general formula gives a too; +∞ never comes here
  if (b === -Infinity) return a;
  const m = Math.max(a, b);
  return m + Math.log(Math.exp(a - m) + Math.exp(b - m));
}

/** ln(e^a − e^b) for a ≥ b (−Infinity when a = b, NaN when b > a: the difference is negative). */
export function logSubExp(a: number, b: number): number {
  // Stryker disable next-line ConditionalExpression: a shortcut: at b = −∞, d = −∞ and ln1p(−e^d) = 0 give a too
  if (b === -Infinity) return a;
  // Stryker disable next-line ConditionalExpression: a shortcut: for b > a the logarithm of the negative 1 − e^d is NaN too
  if (b > a) return NaN;
  // Stryker disable next-line ConditionalExpression: a shortcut: at d = 0, ln(−expm1(0)) = −∞ too
  if (a === b) return -Infinity;
  const d = b - a;
  // ln(1 − e^d) loses digits by either route in the other's range (Mächler 2012, "log1mexp").
  // Stryker disable next-line EqualityOperator: at d = −ln 2 exactly both routes keep full precision
  return a + (d > -Math.LN2 ? Math.log(-Math.expm1(d)) : Math.log1p(-Math.exp(d)));
}

/**
 * sin(πx) and cos(πx) from x − round(x), which is exact: near an integer n, Math.sin(Math.PI * x) would
 * keep only the absolute accuracy of π·x, too little for Γ and ψ next to their poles.
 */
function sinCosPi(x: number): { sin: number; cos: number } {
  const n = Math.round(x);
  const r = x - n;
  const sign = Math.abs(n % 2) === 1 ? -1 : 1;
  return { sin: sign * Math.sin(Math.PI * r), cos: sign * Math.cos(Math.PI * r) };
}

/** ψ(x) = d/dx ln Γ(x), x not a non-positive integer. */
export function digamma(x: number): number {
  if (x <= 0 && Number.isInteger(x)) return NaN;
  if (x < 0.5) {
    // Reflection: ψ(1 − x) − ψ(x) = π cot(πx).
    const { sin, cos } = sinCosPi(x);
    return digamma(1 - x) - (Math.PI * cos) / sin;
  }
  let shift = 0;
  // Stryker disable next-line EqualityOperator: starting the asymptotic series at 11 instead of 10 changes only rounding
  for (; x < 10; x++) shift -= 1 / x;
  // Asymptotic series through B₁₂: its first omitted term is below 1e-15 for x ≥ 10.
  const f = 1 / (x * x);
  const tail = f * (1 / 12 - f * (1 / 120 - f * (1 / 252 - f * (1 / 240 - f * (1 / 132 - (f * 691) / 32_760)))));
  return shift + Math.log(x) - 0.5 / x - tail;
}

// The Gauss hypergeometric function. A real value is carried as sign × e^log through the transformations
// below: with the Pareto/NBD's parameters (a large s, say) 2F1 itself overflows a double while the
// likelihood it enters does not.
interface Signed {
  readonly sign: number;
  readonly log: number;
}

/**
 * A value from a formula that adds terms of both signs, with its condition: the largest term over the
 * result. The terms carry relative errors near 1e-15 (1e-14 for ln Γ of large arguments), so the
 * result's relative error is about condition × 1e-15.
 */
interface Estimate {
  readonly value: Signed;
  readonly condition: number;
}

const ZERO: Signed = { sign: 0, log: -Infinity };
const ONE: Signed = { sign: 1, log: 0 };

function signed(value: number, logScale = 0): Signed {
  // Stryker disable next-line ConditionalExpression: Math.sign(0) = 0 and ln 0 = −∞ build ZERO's fields too
  return value === 0 ? ZERO : { sign: Math.sign(value), log: Math.log(Math.abs(value)) + logScale };
}

function exponential(log: number): Signed {
  return { sign: 1, log };
}

function product(...factors: Signed[]): Signed {
  let sign = 1;
  let log = 0;
  for (const f of factors) {
    // Stryker disable next-line ConditionalExpression: a zero factor still makes the sign 0, which every consumer tests before the log
    if (f.sign === 0) return ZERO;
    // Stryker disable next-line AssignmentOperator: signs are ±1 here (0 returned above), so dividing by one is multiplying by it
    sign *= f.sign;
    log += f.log;
  }
  return { sign, log };
}

function sum(x: Estimate, y: Estimate): Estimate {
  const [p, q] = [x.value, y.value];
  if (p.sign === 0) return y;
  if (q.sign === 0) return x;
  const m = Math.max(p.log, q.log);
  const value = signed(p.sign * Math.exp(p.log - m) + q.sign * Math.exp(q.log - m), m);
  return { value, condition: Math.max(x.condition, y.condition) * Math.exp(m - value.log) };
}

function isNonPositiveInteger(x: number): boolean {
  return x <= 0 && Number.isInteger(x);
}

/** Γ(x) for any real x that is not a pole. */
function gammaSigned(x: number): Signed {
  // Stryker disable next-line EqualityOperator: no caller passes x = 0 (c ≠ 0 is checked; m = 0 goes to integerCase)
  if (x > 0) return exponential(lnGamma(x));
  // Stryker disable next-line ConditionalExpression,StringLiteral: unreachable: callers filter the poles (reciprocalGamma, integerCase for integer m)
  if (Number.isInteger(x)) throw new RangeError(`Γ has a pole at ${x}`);
  // Γ(x) = π / (sin(πx) Γ(1 − x)).
  const { sin } = sinCosPi(x);
  return { sign: Math.sign(sin), log: Math.log(Math.PI / Math.abs(sin)) - lnGamma(1 - x) };
}

/** 1 / Γ(x), zero at the poles. */
function reciprocalGamma(x: number): Signed {
  if (isNonPositiveInteger(x)) return ZERO;
  const g = gammaSigned(x);
  return { sign: g.sign, log: -g.log };
}

/**
 * ln Γ(x) − ln Γ(x − d) for x, x − d > 0. The 2F1 transformations below add terms that cancel, so their
 * Gamma ratios need relative accuracy near 1e-15, and a likelihood's Γ(r + x) / Γ(r) should not be noisier
 * than its other terms; for large x (the Pareto/NBD's c = a + 1 with a large s, say) the difference of two
 * ln Γ of order x ln x keeps only their absolute accuracy, and x − d itself is rounded to the spacing of x.
 * Stirling's series is therefore differenced term by term, led by the exactly known d:
 * d ln x − (x − d − ½) ln(1 − d/x) − d + (corrections at x and x − d).
 */
export function lnGammaRatio(x: number, d: number): number {
  const y = x - d;
  // Stryker disable next-line EqualityOperator: at 20 both routes are accurate to 2e-15
  if (Math.min(x, y) < 20) return lnGamma(x) - lnGamma(y);
  // Stirling's corrections 1/(12v) − 1/(360v³) + 1/(1260v⁵) − 1/(1680v⁷): the first omitted term is below
  // 2e-15 for v ≥ 20.
  const correction = (v: number) => {
    const f = 1 / (v * v);
    return (1 / 12 - f * (1 / 360 - f * (1 / 1260 - f / 1680))) / v;
  };
  return d * Math.log(x) - (y - 0.5) * Math.log1p(-d / x) - d + correction(x) - correction(y);
}

/**
 * Γ(c) / (Γ(p) Γ(q)), where dp = c − p and dq = c − q when the caller knows them exactly: c is paired with
 * the nearer of p and q for lnGammaRatio, and the other Γ is taken at its own argument, not at c − d.
 */
function gammaQuotient(c: number, p: number, q: number, dp = c - p, dq = c - q): Signed {
  const [d, far] = Math.abs(dp) <= Math.abs(dq) ? [dp, q] : [dq, p];
  if (c > 0 && c - d > 0) return product(exponential(lnGammaRatio(c, d)), reciprocalGamma(far));
  return product(gammaSigned(c), reciprocalGamma(p), reciprocalGamma(q));
}

const SERIES_TERMS = 10_000;
/** For series whose terms shrink by a ratio near z, where transformations did not give a good value. */
const LONG_SERIES_TERMS = 200_000;
const RESCALE = 1e250;
const LN_RESCALE = Math.log(RESCALE);

/** ln |(x)ₙ| = ln |Γ(x + n) / Γ(x)|, x and x + n not poles. */
function lnAbsPochhammer(x: number, n: number): number {
  return gammaSigned(x + n).log - gammaSigned(x).log;
}

/**
 * Whether the terms after the ith (of magnitude e^logTerm) of Σ (a)ₖ(b)ₖ / ((c)ₖ k!) zᵏ, with c < 0 < z and
 * a + i, b + i > 0, all stay below e^logLimit. Their ratio grows as k nears the pole at −c and may stay
 * above 1 for a while past it, so the largest later term is just past the pole or at the last k where the
 * ratio is at least 1, the larger root of (a+k)(b+k)z = (c+k)(k+1); both are reached in closed form with
 * ln Γ. The count of terms up to there, plus 1 / (1 − z) after, multiplies that largest term.
 */
function tailNegligible(a: number, b: number, c: number, z: number, i: number, logTerm: number, logLimit: number) {
  const past = Math.floor(-c) + 1;
  const [qa, qb, qc] = [1 - z, c + 1 - z * (a + b), c - z * a * b];
  const discriminant = qb * qb - 4 * qa * qc;
  const root = discriminant >= 0 ? (-qb + Math.sqrt(discriminant)) / (2 * qa) : -Infinity;
  const last = Math.max(past, Math.ceil(root)) + 1;
  let growth = 0;
  for (const j of [past + 1, last]) {
    if (j <= i) continue;
    const m = j - i;
    const ratio =
      lnAbsPochhammer(a + i, m) + lnAbsPochhammer(b + i, m) - lnAbsPochhammer(c + i, m) - lnAbsPochhammer(i + 1, m);
    growth = Math.max(growth, ratio + m * Math.log(z));
  }
  return logTerm + growth + Math.log(last - i + 1 / (1 - z) + 1) < logLimit;
}

function seriesResult(total: number, scale: number, magnitude: number): Estimate {
  return { value: signed(total, scale * LN_RESCALE), condition: magnitude / Math.abs(total) };
}

/**
 * Σ (a)ₙ (b)ₙ / ((c)ₙ n!) zⁿ with its condition (Σ|terms| / |sum|), or null if it has not converged within
 * maxTerms. It stops when the tail, estimated as term / (1 − ratio) while terms shrink, falls below 1e-16
 * of the sum, or at a factor a + n or b + n that is exactly 0 (a terminating series). Until n passes −a,
 * −b and −c a factor near 0 can make terms small for a while and large again, so the tail must then be
 * bounded first (tailNegligible). The current term and the sums each carry their own power of RESCALE:
 * terms can underflow and grow back by hundreds of orders of magnitude, and large parameters must not
 * overflow.
 */
function series(a: number, b: number, c: number, z: number, maxTerms: number): Estimate | null {
  let term = 1;
  let termScale = 0;
  let total = 1;
  let magnitude = 1;
  let totalScale = 0;
  const settled = Math.max(-a, -b, -c);
  let nextTailCheck = 0;
  for (let n = 0; n < maxTerms; n++) {
    const ratio = (((a + n) * (b + n)) / ((c + n) * (n + 1))) * z;
    if (ratio === 0) return seriesResult(total, totalScale, magnitude);
    term *= ratio;
    if (!Number.isFinite(term)) return null;
    if (Math.abs(term) > RESCALE) {
      term /= RESCALE;
      termScale++;
    } else if (Math.abs(term) < 1 / RESCALE) {
      term *= RESCALE;
      termScale--;
    }
    if (termScale > totalScale) {
      // The sums so far are negligible or one step below the new term.
      const shift = termScale - totalScale === 1 ? 1 / RESCALE : 0;
      total *= shift;
      magnitude *= shift;
      totalScale = termScale;
    }
    const share = termScale === totalScale ? term : termScale === totalScale - 1 ? term / RESCALE : 0;
    total += share;
    magnitude += Math.abs(share);
    const shrink = 1 - Math.abs(ratio);
    const small = shrink > 0 && Math.abs(share) <= 1e-16 * shrink * Math.abs(total);
    if (small && n + 1 > settled) return seriesResult(total, totalScale, magnitude);
    // The bound is pessimistic by the number of terms left, so it is retried as terms keep shrinking, at
    // doubling n to keep its cost (a few ln Γ) negligible.
    if (small && n >= nextTailCheck && c < 0 && z > 0 && a + n + 1 > 0 && b + n + 1 > 0) {
      nextTailCheck = 2 * n + 1;
      const logTerm = Math.log(Math.abs(term)) + termScale * LN_RESCALE;
      const logLimit = Math.log(1e-17 * Math.abs(total)) + totalScale * LN_RESCALE;
      if (tailNegligible(a, b, c, z, n + 1, logTerm, logLimit)) return seriesResult(total, totalScale, magnitude);
    }
  }
  return null;
}

/**
 * The series at z for 0 < z < 1. When c − a − b < 0 with c − a, c − b ≥ 0, Euler's transformation
 * 2F1(a, b; c; z) = (1 − z)^(c−a−b) 2F1(c − a, c − b; c; z) is summed instead: its terms are positive and
 * smaller (its sum is 2F1 × (1 − z)^|c−a−b|), so it converges faster. The Pareto/NBD's 2F1(a, b; a + 1; z)
 * is of this kind when b > 1: there its ratio of terms stays below z whatever the parameters, where the
 * plain series with a large b (a large s) would need millions of terms.
 */
function seriesAt(a: number, b: number, c: number, z: number, w: number, maxTerms: number): Estimate | null {
  const m = c - a - b;
  if (m < 0 && c - a >= 0 && c - b >= 0) {
    const f = series(c - a, c - b, c, z, maxTerms);
    return f && { value: { sign: f.value.sign, log: f.value.log + m * Math.log(w) }, condition: f.condition };
  }
  return series(a, b, c, z, maxTerms);
}

/**
 * 2F1 from series in w = 1 − z (Abramowitz & Stegun 15.3.6), for z near 1 where the series at z
 * converges slowly:
 *   2F1(a, b; c; z) = Γ(c)Γ(m) / (Γ(c−a)Γ(c−b)) · 2F1(a, b; 1−m; w)
 *                   + w^m Γ(c)Γ(−m) / (Γ(a)Γ(b)) · 2F1(c−a, c−b; 1+m; w),   m = c − a − b.
 * Both terms have poles where m is an integer and cancel near one; see nearOne.
 */
function linearTransform(a: number, b: number, c: number, w: number): Estimate | null {
  const m = c - a - b;
  const f1 = series(a, b, 1 - m, w, SERIES_TERMS);
  const f2 = series(c - a, c - b, 1 + m, w, SERIES_TERMS);
  if (!f1 || !f2) return null;
  const t1 = product(gammaQuotient(c, c - a, c - b, a, b), gammaSigned(m), f1.value);
  const t2 = product(exponential(m * Math.log(w)), gammaQuotient(c, a, b), gammaSigned(-m), f2.value);
  return sum({ value: t1, condition: f1.condition }, { value: t2, condition: f2.condition });
}

/**
 * The limiting form of the linear transformation when c = a + b + m with m an integer (A&S 15.3.10–11,
 * DLMF 15.8.10), where ψ terms and ln w replace the cancelling Gamma poles. A negative m is first
 * turned positive by Euler's transformation.
 */
function integerCase(a: number, b: number, m: number, z: number, w: number): Estimate | null {
  const c = a + b + m;
  if (m < 0) {
    // 2F1(a, b; c; z) = w^m 2F1(c − a, c − b; c; z), and c − (c − a) − (c − b) = −m.
    const f = integerCase(b + m, a + m, -m, z, w);
    return f && { value: product(exponential(m * Math.log(w)), f.value), condition: f.condition };
  }
  if (isNonPositiveInteger(a) || isNonPositiveInteger(b)) return series(a, b, c, z, LONG_SERIES_TERMS);
  // The finite part has m terms: beyond the series budget another route is cheaper.
  if (m > SERIES_TERMS) return null;
  // Finite part: Γ(m)Γ(c) / (Γ(a+m)Γ(b+m)) Σ_{n<m} (a)ₙ(b)ₙ / (n! (1−m)ₙ) wⁿ.
  let finite: Estimate = { value: ZERO, condition: 1 };
  if (m > 0) {
    let term = 1;
    let total = 1;
    let magnitude = 1;
    for (let n = 0; n < m - 1; n++) {
      term *= (((a + n) * (b + n)) / ((n + 1) * (1 - m + n))) * w;
      total += term;
      magnitude += Math.abs(term);
    }
    const value = product(exponential(lnGamma(m)), gammaQuotient(c, a + m, b + m, b, a), signed(total));
    finite = { value, condition: magnitude / Math.abs(total) };
  }
  // Logarithmic part: −(−w)^m Γ(c) / (Γ(a)Γ(b) m!) Σ (a+m)ₙ(b+m)ₙ m! / (n! (n+m)!) wⁿ
  //   × [ln w − ψ(n+1) − ψ(n+m+1) + ψ(a+n+m) + ψ(b+n+m)], with the ψ advanced by ψ(x+1) = ψ(x) + 1/x.
  const lnW = Math.log(w);
  let psiN1 = digamma(1);
  let psiNM1 = digamma(m + 1);
  let psiA = digamma(a + m);
  let psiB = digamma(b + m);
  let term = 1;
  let total = lnW - psiN1 - psiNM1 + psiA + psiB;
  let magnitude = Math.abs(total);
  let converged = false;
  for (let n = 0; n < SERIES_TERMS && !converged; n++) {
    const ratio = (((a + m + n) * (b + m + n)) / ((n + 1) * (n + m + 1))) * w;
    term *= ratio;
    psiN1 += 1 / (n + 1);
    psiNM1 += 1 / (n + m + 1);
    psiA += 1 / (a + m + n);
    psiB += 1 / (b + m + n);
    const t = term * (lnW - psiN1 - psiNM1 + psiA + psiB);
    total += t;
    magnitude += Math.abs(t);
    if (!Number.isFinite(magnitude)) return null;
    const shrink = n + 1 > -Math.min(a, b) - m ? 1 - Math.abs(ratio) : 0;
    converged = ratio === 0 || (shrink > 0 && Math.abs(t) <= 1e-16 * shrink * Math.abs(total));
  }
  if (!converged) return null;
  const sign = m % 2 === 0 ? -1 : 1;
  const logarithmic = product(
    { sign, log: m * lnW - lnGamma(m + 1) },
    gammaQuotient(c, a, b, b + m, a + m),
    signed(total),
  );
  return sum(finite, { value: logarithmic, condition: magnitude / Math.abs(total) });
}

/**
 * 2F1 for z near 1. Where m = c − a − b is within h of an integer k (but not equal), the linear
 * transformation's two terms are each of order 1/(m − k) and cancel, losing digits as m → k. Instead
 * 2F1 is interpolated in c, which it is analytic in, through five nodes c = a + b + k + jh (j = −2…2):
 * the limiting form at j = 0 and the linear transformation at the others, where |m − k| ≥ h bounds
 * the cancellation by about 1/h. The interpolation error is of order (h · |∂ ln 2F1/∂c|)⁵ / 5!, and
 * ∂ ln 2F1/∂c grows like |ln w|, so h shrinks as w does: h = 1e-3 at w ≥ 0.05, 1e-4 at w = 1e-13.
 * Values then stay accurate to about 1e-11 relative, where perturbing c alone to avoid the integer
 * would cost about √ε ≈ 1e-8.
 */
function nearOne(a: number, b: number, c: number, z: number, w: number): Estimate | null {
  const m = c - a - b;
  const k = Math.round(m);
  const delta = m - k;
  if (delta === 0) return integerCase(a, b, k, z, w);
  const h = 1e-3 * Math.min(1, 3 / Math.abs(Math.log(w)));
  if (Math.abs(delta) >= h) return linearTransform(a, b, c, w);
  const nodes = [-2, -1, 0, 1, 2].map((j) => j * h);
  const values = nodes.map((d) => (d === 0 ? integerCase(a, b, k, z, w) : linearTransform(a, b, a + b + k + d, w)));
  const reference = values[2];
  if (!reference || reference.value.sign === 0 || values.some((v) => !v)) return null;
  let total = 0;
  let magnitude = 0;
  let condition = 1;
  for (let j = 0; j < nodes.length; j++) {
    let basis = 1;
    for (let i = 0; i < nodes.length; i++) {
      if (i !== j) basis *= (delta - nodes[i]!) / (nodes[j]! - nodes[i]!);
    }
    const v = values[j]!;
    const part = basis * v.value.sign * Math.exp(v.value.log - reference.value.log);
    total += part;
    magnitude += Math.abs(part);
    condition = Math.max(condition, v.condition);
  }
  return { value: signed(total, reference.value.log), condition: (condition * magnitude) / Math.abs(total) };
}

/**
 * Accepted loss to cancellation (about 5 digits, as interpolated values near an integer c − a − b carry)
 * before a slower but cancellation-free route is tried.
 */
const GOOD_CONDITION = 1e4;
/** Beyond this (fewer than about 7 digits left) a value is refused. */
const WORST_CONDITION = 1e8;

/**
 * 2F1 for 0 < z < 1: the series at z where it converges within SERIES_TERMS and does not cancel;
 * otherwise the transformation to 1 − z; otherwise the series at z with a larger budget; failing all of
 * these, the best-conditioned value found if it keeps about 8 digits.
 */
function unitInterval(a: number, b: number, c: number, z: number, w: number): Signed {
  // Terms shrink at best like zⁿ, so a series needing more than 36 / (1 − z) terms is not tried.
  const atZ = z <= 0.9 || 36 / w <= SERIES_TERMS ? seriesAt(a, b, c, z, w, SERIES_TERMS) : null;
  if (atZ && atZ.condition <= GOOD_CONDITION) return atZ.value;
  const transformed = nearOne(a, b, c, z, w);
  if (transformed && transformed.condition <= GOOD_CONDITION) return transformed.value;
  const long = 36 / w > SERIES_TERMS && 36 / w <= LONG_SERIES_TERMS ? seriesAt(a, b, c, z, w, LONG_SERIES_TERMS) : null;
  if (long && long.condition <= GOOD_CONDITION) return long.value;
  let best: Estimate | null = null;
  for (const f of [atZ, transformed, long]) if (f && (!best || f.condition < best.condition)) best = f;
  if (best && best.condition <= WORST_CONDITION) return best.value;
  throw new RangeError(`hyp2f1(${a}, ${b}; ${c}; ${z}) did not converge`);
}

function hyp2f1Signed(a: number, b: number, c: number, z: number, w: number): Signed {
  if (!(Number.isFinite(a) && Number.isFinite(b) && Number.isFinite(c) && Number.isFinite(z) && Number.isFinite(w))) {
    throw new RangeError(`hyp2f1 needs finite arguments`);
  }
  if (isNonPositiveInteger(c)) throw new RangeError(`hyp2f1 is undefined for c = ${c}`);
  if (z > 1 || w < 0) throw new RangeError(`hyp2f1 needs z ≤ 1, got ${z}`);
  if (Math.abs(1 - z - w) > 1e-14 * Math.max(1, Math.abs(z))) {
    throw new RangeError(`hyp2f1: oneMinusZ ${w} is not 1 − ${z}`);
  }
  // Stryker disable next-line ConditionalExpression,LogicalOperator: a shortcut: the series' first ratio is then 0 and it returns 1 too
  if (z === 0 || a === 0 || b === 0) return ONE;
  if (isNonPositiveInteger(a) || isNonPositiveInteger(b)) {
    // A polynomial: its finite series is exact for any z.
    const f = series(a, b, c, z, LONG_SERIES_TERMS);
    if (f) return f.value;
    throw new RangeError(`hyp2f1(${a}, ${b}; ${c}; ${z}) did not converge`);
  }
  if (w === 0) {
    // Gauss: 2F1(a, b; c; 1) = Γ(c)Γ(c−a−b) / (Γ(c−a)Γ(c−b)) when c > a + b; the series diverges otherwise.
    if (c - a - b <= 0) throw new RangeError(`hyp2f1(${a}, ${b}; ${c}; 1) diverges (c ≤ a + b)`);
    return product(gammaSigned(c), gammaSigned(c - a - b), reciprocalGamma(c - a), reciprocalGamma(c - b));
  }
  // Stryker disable next-line EqualityOperator: z = 0 has returned above
  if (z < 0) {
    // Pfaff: 2F1(a, b; c; z) = (1 − z)^(−a) 2F1(a, c − b; c; z / (z − 1)), which maps z < 0 into (0, 1),
    // with 1 − z/(z − 1) = 1 / (1 − z). The form that keeps a terminating series is preferred.
    const [p, q] = isNonPositiveInteger(c - a) ? [b, a] : [a, b];
    return product(exponential(-p * Math.log(w)), hyp2f1Signed(p, c - q, c, -z / w, 1 / w));
  }
  return unitInterval(a, b, c, z, w);
}

/**
 * The Gauss hypergeometric function 2F1(a, b; c; z) for real parameters (c not 0, −1, −2, …) and z ≤ 1.
 * For 0 ≤ z < 1 it is the power series (in Euler's form where that converges faster) while that takes
 * at most 10,000 terms without cancelling: always for z ≤ 0.9, as before, and up to z ≈ 0.996 for
 * positive series. Closer to 1 the linear transformation to 1 − z takes over, with its limiting form
 * (or an interpolation) where c − a − b is at or near an integer, and a longer series where that
 * cancels. For z < 0 Pfaff's transformation maps z into (0, 1); at z = 1 it is Gauss's sum. Compared
 * with 50-digit values over ~1,500 points (parameters up to 1e6, 1 − z down to 1e-14) the relative error
 * stays below 4e-11, and below 1e-8 where parameters near 1e5 make the transformation cancel. Pass
 * `oneMinusZ` when the caller knows 1 − z more accurately than 1 − z rounds (z within 1e-8 of 1, say):
 * near 1 the value depends on 1 − z, not on z. Throws a RangeError where no route converges (very large
 * parameters with z very close to 1).
 */
export function hyp2f1(a: number, b: number, c: number, z: number, oneMinusZ = 1 - z): number {
  const f = hyp2f1Signed(a, b, c, z, oneMinusZ);
  // Stryker disable next-line ConditionalExpression: a zero value is ZERO, and 0 · e^−∞ = 0 too
  return f.sign === 0 ? 0 : f.sign * Math.exp(f.log);
}

/** ln 2F1(a, b; c; z), finite where 2F1 itself overflows (NaN where 2F1 < 0). Arguments as for hyp2f1. */
export function logHyp2f1(a: number, b: number, c: number, z: number, oneMinusZ = 1 - z): number {
  const f = hyp2f1Signed(a, b, c, z, oneMinusZ);
  // Stryker disable next-line EqualityOperator: a zero value is ZERO, whose log is −∞ too
  return f.sign > 0 ? f.log : f.sign === 0 ? -Infinity : NaN;
}

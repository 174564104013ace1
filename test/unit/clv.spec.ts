// The lifetime-value models reproduce published results on the CDNOW summary
// (test/fixtures/cdnow_summary.csv, copied from shared/data/cdnow: Fader & Hardie's CDNOW 1/10 sample).
import { describe, expect, it } from "vitest";
import { readCdnow } from "../helpers/cdnow.ts";
import {
  bgnbdExpectedPurchases,
  bgnbdLogLikelihood,
  bgnbdProbabilityAlive,
  fitBgNbd,
  groupSummaries,
  ThinDataError,
} from "../../src/lifecycle/clv/bgnbd.ts";
import { fitGammaGamma } from "../../src/lifecycle/clv/gamma-gamma.ts";
import { digamma, hyp2f1, lnGamma, lnGammaRatio, logHyp2f1, logSubExp } from "../../src/lifecycle/clv/special.ts";

const rows = readCdnow();

describe("special functions", () => {
  it("ln Γ matches known values", () => {
    expect(lnGamma(1)).toBeCloseTo(0, 13);
    expect(lnGamma(0.5)).toBeCloseTo(Math.log(Math.sqrt(Math.PI)), 13);
    expect(lnGamma(10)).toBeCloseTo(Math.log(362_880), 12);
    expect(lnGamma(0.1)).toBeCloseTo(2.252712651734206, 12);
    expect(lnGamma(100)).toBeCloseTo(359.1342053695754, 10); // ln 99!
    expect(lnGamma(171.5) - lnGamma(170.5)).toBeCloseTo(Math.log(170.5), 10);
  });

  it("2F1 matches closed forms", () => {
    // 2F1(1, 1; 2; z) = −ln(1 − z) / z; 2F1(a, b; b; z) = (1 − z)^−a.
    expect(hyp2f1(1, 1, 2, 0.5)).toBeCloseTo(-Math.log(0.5) / 0.5, 12);
    expect(hyp2f1(2.5, 3, 3, 0.3)).toBeCloseTo(Math.pow(0.7, -2.5), 12);
  });

  const expectRelative = (actual: number, expected: number, tolerance: number) =>
    expect(Math.abs(actual - expected) / Math.abs(expected)).toBeLessThanOrEqual(tolerance);

  it("2F1 matches closed forms near z = 1, where the series alone did not converge", () => {
    // −ln(1 − z)/z: c − a − b = 0, the limiting (logarithmic) form of the transformation to 1 − z.
    const log1 = (z: number, w = 1 - z) => -Math.log(w) / z;
    for (const z of [0.9, 0.95, 0.999, 0.999999]) expectRelative(hyp2f1(1, 1, 2, z), log1(z), 1e-13);
    // With 1 − z passed exactly where z itself rounds to 1.
    expectRelative(hyp2f1(1, 1, 2, 1 - 1e-12, 1e-12), log1(1 - 1e-12, 1e-12), 1e-13);
    expectRelative(hyp2f1(1, 1, 2, 1, 1e-300), -Math.log(1e-300), 1e-13);
    // (1 − z)^−a: non-integer and integer c − a − b = −a.
    for (const a of [2.5, 3, 0.5]) {
      for (const w of [0.05, 1e-3, 1e-6, 1e-12]) expectRelative(hyp2f1(a, 1.7, 1.7, 1 - w, w), Math.pow(w, -a), 1e-12);
    }
    // arcsin(x)/x = 2F1(½, ½; 3/2; x²): c − a − b = ½.
    for (const x of [0.95, 0.99995]) expectRelative(hyp2f1(0.5, 0.5, 1.5, x * x), Math.asin(x) / x, 1e-13);
    // (1 − (1 − z)^(1−b)) / ((1 − b) z) = 2F1(1, b; 2; z), with c − a − b = 1 − b at and near 0.
    for (const b of [1 + 1e-12, 1 + 1e-9, 1 - 5e-5, 1 + 3e-4, 1.002, 3.5]) {
      for (const w of [0.05, 1e-6]) {
        const z = 1 - w;
        const closed = -Math.expm1((1 - b) * Math.log(w)) / ((1 - b) * z);
        expectRelative(hyp2f1(1, b, 2, z, w), closed, 1e-11);
      }
    }
    // 2F1(2, b; 3; z) = 2/z² ∫₀^z t (1 − t)^−b dt: the Pareto/NBD's 2F1(a, b; a + 1; z) with a = 2.
    const b = 3.5;
    const w = 1e-4;
    const antiderivative = (u: number) => Math.pow(u, 1 - b) / (1 - b) - Math.pow(u, 2 - b) / (2 - b);
    expectRelative(hyp2f1(2, b, 3, 1 - w, w), (2 / (1 - w) ** 2) * (antiderivative(1) - antiderivative(w)), 1e-12);
  });

  it("2F1 matches closed forms for z < 0 (Pfaff's transformation)", () => {
    for (const z of [-0.5, -5, -1e6]) expectRelative(hyp2f1(1, 1, 2, z), Math.log1p(-z) / -z, 1e-13);
    // arctan(x)/x = 2F1(½, 1; 3/2; −x²).
    for (const x of [0.5, 3, 1000]) expectRelative(hyp2f1(0.5, 1, 1.5, -x * x), Math.atan(x) / x, 1e-13);
    for (const z of [-0.3, -20]) expectRelative(hyp2f1(2.5, 3, 3, z), Math.pow(1 - z, -2.5), 1e-13);
    // A terminating series: 2F1(−2, b; b; z) = (1 − z)².
    expectRelative(hyp2f1(-2, 1.5, 1.5, -10), 121, 1e-14);
    expectRelative(hyp2f1(-2, 1.5, 1.5, 0.99), 1e-4, 1e-10);
  });

  it("2F1 at z = 1 is Gauss's sum; beyond, or where it diverges, a RangeError", () => {
    // Γ(c)Γ(c−a−b) / (Γ(c−a)Γ(c−b)): 2F1(1, 1; 3; 1) = 2, 2F1(½, ½; 2; 1) = 4/π.
    expectRelative(hyp2f1(1, 1, 3, 1), 2, 1e-14);
    expectRelative(hyp2f1(0.5, 0.5, 2, 1), 4 / Math.PI, 1e-14);
    expect(() => hyp2f1(1, 1, 2, 1)).toThrow(RangeError);
    expect(() => hyp2f1(1, 1, 2, 1.5)).toThrow(RangeError);
    expect(() => hyp2f1(1, 1, -2, 0.5)).toThrow(RangeError);
    expect(() => hyp2f1(1, 1, 2, 0.5, 0.4)).toThrow(/oneMinusZ/);
  });

  it("ln 2F1 stays finite where 2F1 overflows", () => {
    // (1 − z)^−a with a = 1e4: 10^10000.
    expectRelative(logHyp2f1(1e4, 1, 1, 0.9), 1e4 * Math.LN10, 1e-14);
    expect(hyp2f1(1e4, 1, 1, 0.9)).toBe(Infinity);
    // 2F1(1, b; 2; ½) = (2^(b−1) − 1) / ((b − 1)/2), about 2^1999 / 999.5 for b = 2000.
    expectRelative(logHyp2f1(1, 2000, 2, 0.5), 1999 * Math.LN2 - Math.log(999.5), 1e-14);
    // The Pareto/NBD's form with a large s: 2F1(a, s+1; a+1; z) with a = 1e6 + 2, by Euler's
    // transformation (1 − z)^−s 2F1(1, a − s; a + 1; z) and that series' bounds 1 ≤ · ≤ 1/(1 − z).
    const s = 1e6;
    const lnF = logHyp2f1(s + 2, s + 1, s + 3, 0.5);
    expect(lnF).toBeGreaterThanOrEqual(s * Math.LN2);
    expect(lnF).toBeLessThanOrEqual((s + 1) * Math.LN2);
  });

  it("ψ, ln Γ ratios and ln(e^a − e^b) match known values", () => {
    const eulerGamma = 0.5772156649015329;
    expect(digamma(1)).toBeCloseTo(-eulerGamma, 14);
    expect(digamma(0.5)).toBeCloseTo(-eulerGamma - 2 * Math.LN2, 14);
    expect(digamma(-0.5)).toBeCloseTo(-eulerGamma - 2 * Math.LN2 + 2, 13);
    // ψ(n) = −γ + H(n−1).
    let harmonic = 0;
    for (let k = 1; k < 100; k++) harmonic += 1 / k;
    expect(digamma(100)).toBeCloseTo(-eulerGamma + harmonic, 13);
    expect(Number.isNaN(digamma(-2))).toBe(true);
    // Γ(x)/Γ(x−1) = x − 1 and Γ(x)/Γ(x−2) = (x−1)(x−2), for large x where ln Γ itself is of order x ln x.
    for (const x of [5.5, 123_456.789, 1e6 + 0.25, 3e9]) {
      expectRelative(lnGammaRatio(x, 1), Math.log(x - 1), 1e-14);
      expectRelative(lnGammaRatio(x, 2), Math.log((x - 1) * (x - 2)), 1e-14);
    }
    expect(logSubExp(Math.log(3), 0)).toBeCloseTo(Math.LN2, 15);
    expect(logSubExp(5, 5)).toBe(-Infinity);
    expect(logSubExp(0, -1e-20)).toBeCloseTo(Math.log(1e-20), 12);
    expect(Number.isNaN(logSubExp(0, 1))).toBe(true);
  });
});

describe("CDNOW reference", () => {
  it("has the 2,357 customers the README describes", () => {
    expect(rows).toHaveLength(2_357);
    expect(rows.filter((r) => r.x > 0)).toHaveLength(946);
  });

  it("the published BG/NBD parameters give the published log-likelihood", () => {
    const ll = bgnbdLogLikelihood({ r: 0.243, alpha: 4.414, a: 0.793, b: 2.426 }, groupSummaries(rows));
    expect(ll).toBeCloseTo(-9582.4, 0);
  });

  it("gives sensible individual predictions at the published parameters", () => {
    const fit = { r: 0.243, alpha: 4.414, a: 0.793, b: 2.426 };
    const c1 = rows[0]!; // x 2, t_x 30.43, T 38.86
    const alive = bgnbdProbabilityAlive(fit, c1);
    expect(alive).toBeGreaterThan(0.5);
    expect(alive).toBeLessThan(1);
    expect(bgnbdProbabilityAlive(fit, rows[2]!)).toBe(1); // no repeat purchase: alive by the model's definition
    const next39 = bgnbdExpectedPurchases(fit, c1, 39);
    expect(next39).toBeGreaterThan(0.3);
    expect(next39).toBeLessThan(3);
    // Summed over everyone: cdnow-likelihoods.spec.ts, out of the clv mutation group for its cost.
  });

  it("refuses data too thin to fit, with a clear error", () => {
    expect(() => fitBgNbd(rows.slice(0, 5))).toThrow(ThinDataError);
    expect(() => fitBgNbd(rows.slice(0, 5))).toThrow(/too little data to fit BG\/NBD: 5 customers/);
    expect(() => fitGammaGamma(rows.filter((r) => r.x === 0))).toThrow(
      /too little data to fit Gamma-Gamma: 0 customers/,
    );
  });
});

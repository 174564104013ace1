// The Pareto/NBD reproduces published results on the CDNOW summary (test/fixtures/cdnow_summary.csv, the
// same 2,357 customers as test/unit/clv.spec.ts, in weeks).
import { describe, expect, it } from "vitest";
import { readCdnow } from "../helpers/cdnow.ts";
import { groupSummaries, ThinDataError, type RfSummary } from "../../src/lifecycle/clv/bgnbd.ts";
import {
  fitParetoNbd,
  logDeadByHypergeometric,
  logDeadByQuadrature,
  paretoNbdExpectedPurchases,
  paretoNbdLogLikelihood,
  paretoNbdProbabilityAlive,
  type ParetoNbdParams,
} from "../../src/lifecycle/clv/pareto-nbd.ts";

const rows = readCdnow().map(({ id, x, tx, T }) => ({ id, x, tx, T }));
const groups = groupSummaries(rows);

/** Published by Fader, Hardie & Lee (2005) and in the `lifetimes` docs, to 2 decimals. */
const PUBLISHED: ParetoNbdParams = { r: 0.55, alpha: 10.58, s: 0.61, beta: 11.67 };
/** The `lifetimes` package's CDNOW test estimates, printed to 3 decimals. */
const LIFETIMES: ParetoNbdParams = { r: 0.553, alpha: 10.578, s: 0.606, beta: 11.669 };
/** The R package BTYD's walkthrough estimates on the same CDNOW data, printed to 3 decimals. */
const BTYD: ParetoNbdParams = { r: 0.553, alpha: 10.58, s: 0.606, beta: 11.656 };

function expectRelative(actual: number, expected: number, tolerance: number) {
  expect(Math.abs(actual - expected) / Math.abs(expected)).toBeLessThanOrEqual(tolerance);
}

describe("Pareto/NBD on CDNOW", () => {
  it("the published parameters give the published log-likelihood", () => {
    expect(paretoNbdLogLikelihood(PUBLISHED, groups)).toBeCloseTo(-9595.0, 1);
  });

  it("matches an independent computation at the `lifetimes` parameters: LL −9594.974, named customers", () => {
    // The Fader–Hardie note's likelihood and P(alive) (2005, "A Note on Deriving the Pareto/NBD Model and
    // Related Expressions", eqs. 11–22) with mpmath's hyp2f1 at 30 digits, on this fixture while writing this
    // test (Python: sum of ln L over the 2,357 rows, t_x and T as printed in the CSV).
    expect(paretoNbdLogLikelihood(LIFETIMES, groups)).toBeCloseTo(-9594.97401004098, 8);
    const byId = new Map(readCdnow().map((row) => [row.id, row]));
    const named: [number, number, number][] = [
      // id, P(alive), ln L of the customer alone
      [1, 0.869167559153011, -9.55428324515041],
      [2, 0.168002326724345, -4.45019433388101],
      [3, 0.295286604616894, -0.52104629408089],
      [157, 0.996126044972308, -45.0560614868551],
      [1516, 0.997918731055158, -39.1316715403028],
    ];
    for (const [id, alive, ll] of named) {
      const c = byId.get(id)!;
      expectRelative(paretoNbdProbabilityAlive(LIFETIMES, c), alive, 1e-11);
      expectRelative(paretoNbdLogLikelihood(LIFETIMES, [{ summary: c, count: 1 }]), ll, 1e-11);
    }
  });

  it("grouping identical summaries changes nothing but speed", () => {
    const ungrouped = rows.map((summary) => ({ summary, count: 1 }));
    expect(groups.length).toBeLessThan(ungrouped.length);
    for (const p of [PUBLISHED, { r: 2, alpha: 0.3, s: 5, beta: 40 }]) {
      expect(paretoNbdLogLikelihood(p, groups)).toBeCloseTo(paretoNbdLogLikelihood(p, ungrouped), 8);
    }
  });

  it("matches the BTYD walkthrough's predictions for customer 1516 and its 'increasing frequency paradox'", () => {
    // BTYD prints for customer 1516 (x 26, t_x 216/7 = 30.857, T 31: row 1516 of the fixture, which
    // rounds t_x to 30.86) P(alive) 0.997874 and 25.45647 expected purchases in the next 52 weeks; and for
    // t_x 20, T 39 over 52 weeks: 0.7062289 (x 10), 0.1442396 (x 15), 0.02250658 (x 20), 0.00309267 (x 25).
    const c1516: RfSummary = { x: 26, tx: 216 / 7, T: 31 };
    const paradox: [number, number][] = [
      [10, 0.7062289],
      [15, 0.1442396],
      [20, 0.02250658],
      [25, 0.00309267],
    ];
    // Its parameters are printed to 3 decimals. Over that rounding the expectations move by up to 0.13%
    // (x 10), so at the printed parameters they are checked to 3e-4 relative …
    expect(paretoNbdProbabilityAlive(BTYD, c1516)).toBeCloseTo(0.997874, 5);
    expectRelative(paretoNbdExpectedPurchases(BTYD, c1516, 52), 25.45647, 2e-4);
    for (const [x, e] of paradox) expectRelative(paretoNbdExpectedPurchases(BTYD, { x, tx: 20, T: 39 }, 52), e, 3e-4);
    // … and at a point inside the rounding box (found by least squares on these six values while writing
    // this test) all six agree to the digits printed: the formulas are the same as BTYD's, not just close.
    const inside = { r: 0.5533334, alpha: 10.5795107, s: 0.6058861, beta: 11.6565 };
    expect(paretoNbdProbabilityAlive(inside, c1516)).toBeCloseTo(0.997874, 6);
    expectRelative(paretoNbdExpectedPurchases(inside, c1516, 52), 25.45647, 1e-6);
    for (const [x, e] of paradox) expectRelative(paretoNbdExpectedPurchases(inside, { x, tx: 20, T: 39 }, 52), e, 2e-6);
  });

  it("matches BTYD's mean conditional expectations over 39 weeks, binned by repeat purchases", () => {
    // BTYD walkthrough, pnbd.PlotFreqVsConditionalExpectedFrequency(params, 39, cal.cbs, x.star, 7): bins
    // x = 0…6 and 7+ hold 1411, 439, 214, 100, 62, 38, 29 and 64 customers, with expectations printed to
    // 3 decimals.
    const published = [0.138, 0.6, 1.196, 1.714, 2.399, 2.907, 3.819, 6.403];
    const bins = published.map(() => ({ customers: 0, expected: 0 }));
    for (const row of rows) {
      const bin = bins[Math.min(row.x, 7)]!;
      bin.customers++;
      bin.expected += paretoNbdExpectedPurchases(BTYD, row, 39);
    }
    expect(bins.map((b) => b.customers)).toEqual([1411, 439, 214, 100, 62, 38, 29, 64]);
    // Half a unit of the 3rd decimal for the printing, as much again for the parameters' rounding.
    bins.forEach((b, i) => expect(Math.abs(b.expected / b.customers - published[i]!)).toBeLessThan(0.0015));
  });
});

describe("Pareto/NBD predictions", () => {
  it("P(alive) is in (0, 1], 1 only when the last purchase is at T", () => {
    const f = LIFETIMES;
    for (const row of rows) {
      const p = paretoNbdProbabilityAlive(f, row);
      expect(p).toBeGreaterThan(0);
      expect(p).toBeLessThanOrEqual(1);
      // t_x < T leaves time to have died unseen (A₀ > 0); unlike BG/NBD that holds for x = 0 as well.
      if (row.tx < row.T) expect(p).toBeLessThan(1);
    }
    expect(paretoNbdProbabilityAlive(f, { x: 3, tx: 20, T: 20 })).toBe(1);
  });

  it("P(alive) of a customer without repeat purchases tends to 1 − sT/β as T → 0", () => {
    // With x = t_x = 0, P(dead)/P(alive) = s (α+T)^r (β+T)^s ∫₀^T (α+τ)^−r (β+τ)^−(s+1) dτ, which lies
    // between sT/β · (1+T/β)^−1 and sT/β · (1+T/α)^r (1+T/β)^s (bounding the integrand at its ends), and
    // 1 − P(alive) is at most that ratio.
    const f = LIFETIMES;
    for (const T of [1e-6, 1e-3, 0.1, 1]) {
      const dead = 1 - paretoNbdProbabilityAlive(f, { x: 0, tx: 0, T });
      const upper = ((f.s * T) / f.beta) * Math.pow(1 + T / f.alpha, f.r) * Math.pow(1 + T / f.beta, f.s);
      const lower = (f.s * T) / f.beta / (1 + T / f.beta);
      expect(dead).toBeLessThanOrEqual(upper);
      expect(dead).toBeGreaterThanOrEqual(lower / (1 + upper) - 1e-15);
    }
    const tiny = 1 - paretoNbdProbabilityAlive(f, { x: 0, tx: 0, T: 1e-6 });
    expect(tiny / ((f.s * 1e-6) / f.beta)).toBeCloseTo(1, 5);
  });

  it("P(alive) rises with a more recent last purchase and falls with a longer silence", () => {
    const f = LIFETIMES;
    for (const x of [0, 1, 5, 20]) {
      let previous = 0;
      for (const tx of x === 0 ? [0] : [1, 10, 20, 30, 38]) {
        const p = paretoNbdProbabilityAlive(f, { x, tx, T: 39 });
        expect(p).toBeGreaterThan(previous);
        previous = p;
        let later = p;
        for (const T of [40, 50, 80]) {
          const q = paretoNbdProbabilityAlive(f, { x, tx, T });
          expect(q).toBeLessThan(later);
          later = q;
        }
      }
    }
  });

  it("expected purchases are 0 at t = 0, increase with t, and stay below the purchase rate × t", () => {
    const f = LIFETIMES;
    for (const row of rows.slice(0, 200)) {
      expect(paretoNbdExpectedPurchases(f, row, 0)).toBe(0);
      expect(paretoNbdExpectedPurchases(f, row, -1)).toBe(0);
      let previous = 0;
      for (const t of [0.1, 1, 10, 39, 52, 520]) {
        const e = paretoNbdExpectedPurchases(f, row, t);
        expect(e).toBeGreaterThan(previous);
        // E[λ/μ (1 − e^−μt)] ≤ E[λ] t with E[λ | x, T] = (r+x)/(α+T).
        expect(e).toBeLessThanOrEqual(
          ((f.r + row.x) / (f.alpha + row.T)) * t * paretoNbdProbabilityAlive(f, row) * (1 + 1e-12),
        );
        previous = e;
      }
    }
    // Summed over everyone, the next 39 weeks' expected repeat purchases are of the order seen in the first 39.
    const total = rows.reduce((sum, row) => sum + paretoNbdExpectedPurchases(f, row, 39), 0);
    const observed = rows.reduce((sum, row) => sum + row.x, 0);
    expect(total / observed).toBeGreaterThan(0.5);
    expect(total / observed).toBeLessThan(1.5);
  });

  it("expected purchases are continuous through s = 1, where the formula's s − 1 vanishes", () => {
    const c = { x: 4, tx: 25, T: 38 };
    const at = (s: number) => paretoNbdExpectedPurchases({ ...PUBLISHED, s }, c, 52);
    expectRelative(at(1), at(1 + 1e-9), 1e-8);
    expectRelative(at(1), at(1 - 1e-9), 1e-8);
    expect(at(1 + 1e-3)).toBeLessThan(at(1));
  });
});

describe("Pareto/NBD numerics", () => {
  it("refuses data too thin to fit, with a clear error", () => {
    expect(() => fitParetoNbd(rows.slice(0, 5))).toThrow(ThinDataError);
    expect(() => fitParetoNbd(rows.slice(0, 5))).toThrow(/too little data to fit Pareto\/NBD: 5 customers/);
    expect(() => fitParetoNbd(rows.filter((r) => r.x === 0))).toThrow(/1411 customers, 0 with a repeat purchase/);
  });

  it("keeps the likelihood finite for extreme parameters, and −Infinity outside the parameter space", () => {
    for (const p of [
      { ...PUBLISHED, alpha: 1e-6, beta: 1e6 },
      { ...PUBLISHED, alpha: 1e6, beta: 1e-6 },
      { ...PUBLISHED, alpha: 11, beta: 11 },
      { r: 1e-6, alpha: 1e-6, s: 1e6, beta: 1e6 },
      { r: 1e6, alpha: 1e6, s: 1e-6, beta: 1e-6 },
    ]) {
      expect(Number.isFinite(paretoNbdLogLikelihood(p, groups))).toBe(true);
    }
    // A grid over 12 orders of magnitude, on a slice of the data to keep it quick.
    const some = groups.slice(0, 60);
    for (const r of [1e-6, 1, 1e6])
      for (const alpha of [1e-6, 1, 1e6])
        for (const s of [1e-6, 1, 1e6])
          for (const beta of [1e-6, 1, 1e6]) {
            expect(Number.isFinite(paretoNbdLogLikelihood({ r, alpha, s, beta }, some))).toBe(true);
          }
    expect(paretoNbdLogLikelihood({ ...PUBLISHED, r: 0 }, groups)).toBe(-Infinity);
    expect(paretoNbdLogLikelihood({ ...PUBLISHED, beta: -1 }, groups)).toBe(-Infinity);
    expect(paretoNbdLogLikelihood({ ...PUBLISHED, s: NaN }, groups)).toBe(-Infinity);
    // Parameters at or below 0 the formulas themselves would not reject: at s = 0 and r = −20 they give a
    // finite number (ln s + … drops out, Γ(r + x)/Γ(r) is defined), so only the check on the parameters stops them.
    const one = [{ summary: { x: 2, tx: 5, T: 10 }, count: 1 }];
    expect(paretoNbdLogLikelihood({ ...PUBLISHED, s: 0 }, one)).toBe(-Infinity);
    expect(paretoNbdLogLikelihood({ ...PUBLISHED, r: -20 }, one)).toBe(-Infinity);
  });

  it("is continuous where α and β swap the 2F1 it uses, and at α = β exactly", () => {
    const at = (alpha: number, beta: number) => paretoNbdLogLikelihood({ r: 0.55, alpha, s: 0.61, beta }, groups);
    const equal = at(11, 11);
    for (const d of [1e-12, 1e-9, 1e-6]) {
      expect(at(11 * (1 + d), 11)).toBeCloseTo(equal, 4);
      expect(at(11, 11 * (1 + d))).toBeCloseTo(equal, 4);
    }
  });

  it("tends to its limit as s, β → ∞ with s/β fixed (dropout without heterogeneity)", () => {
    // The likelihood there is that of exponential lifetimes with rate s/β; the differences between
    // successive steps shrink like 1/s.
    const at = (s: number) => paretoNbdLogLikelihood({ r: 0.55, alpha: 10.58, s, beta: s / 0.05 }, groups);
    const values = [1e4, 1e5, 1e6, 1e7].map(at);
    for (const v of values) expect(Number.isFinite(v)).toBe(true);
    const steps = values.slice(1).map((v, i) => Math.abs(v - values[i]!));
    expect(steps[1]!).toBeLessThan(steps[0]! / 5);
    expect(steps[2]!).toBeLessThan(steps[1]! / 5);
  });

  it("falls back to quadrature where the 2F1 does not converge, on either side of α = β", () => {
    // r + s + x = 2e5 with 1 − z = 1e-10 at τ = t_x = 0: no route to the 2F1 keeps 8 digits. References: ln L
    // and ln(∫ α^r β^s (α+τ)^−(r+x) (β+τ)^−(s+1) dτ over (t_x, T)) from the note's likelihood with mpmath's quad
    // at 40 digits (breakpoints at t_x + 10^k, the integrand's scale near t_x being min(α, β) = 1e-10).
    const cases: [ParetoNbdParams, RfSummary, number, number][] = [
      [{ r: 1e5, alpha: 1, s: 1e5, beta: 1e-10 }, { x: 2, tx: 0, T: 1 }, 23.025860929790454, -11.512925465070231],
      [{ r: 1e5, alpha: 1e-10, s: 1e5, beta: 1 }, { x: 0, tx: 0, T: 1 }, -23.02584092999046, -34.538766394960688],
    ];
    for (const [p, summary, ll, dead] of cases) {
      expect(() => logDeadByHypergeometric(p, summary)).toThrow(RangeError);
      expectRelative(logDeadByQuadrature(p, summary), dead, 1e-10);
      expect(paretoNbdLogLikelihood(p, [{ summary, count: 1 }])).toBeCloseTo(ll, 8);
    }
  });

  it("gives A₀ ≈ 0 (−∞ or a tiny value, never NaN) for t_x a rounding step below T, and −∞ at t_x = T", () => {
    // With t_x = T − kTε the 2F1 at both ends agrees to rounding and may come out in either order.
    for (const T of [39, 30.5]) {
      for (const k of [1, 2, 3]) {
        const summary = { x: 3, tx: T - k * T * Number.EPSILON, T };
        for (const dead of [logDeadByHypergeometric(LIFETIMES, summary), logDeadByQuadrature(LIFETIMES, summary)]) {
          expect(dead).not.toBeNaN();
          expect(dead).toBeLessThan(-40);
        }
      }
    }
    expect(logDeadByQuadrature(LIFETIMES, { x: 3, tx: 39, T: 39 })).toBe(-Infinity);
    expect(logDeadByHypergeometric(LIFETIMES, { x: 3, tx: 39, T: 39 })).toBe(-Infinity);
  });

  it("quadrature matches the integral where its peak is at t_x, inside (t_x, T) and at T", () => {
    // ln(∫ α^r β^s (α+τ)^−(r+x) (β+τ)^−(s+1) dτ over (t_x, T)) by mpmath's quad at 40 digits. The integrand in
    // v = ln(min(α, β) + τ) peaks at t_x for the first (p_low = s + 1 ≥ 1); for the next two (α < β,
    // p_low = r + x = 0.2) inside (0, 200) and past T = 40; the last has α > β.
    const cases: [ParetoNbdParams, RfSummary, number][] = [
      [{ r: 0.3, alpha: 2, s: 4, beta: 0.5 }, { x: 5, tx: 2.5, T: 8 }, -16.969158211928115],
      [{ r: 0.2, alpha: 0.1, s: 0.1, beta: 50 }, { x: 0, tx: 0, T: 200 }, -0.7871801392200015],
      [{ r: 0.2, alpha: 0.1, s: 0.1, beta: 50 }, { x: 0, tx: 0, T: 40 }, -1.5053976321027112],
      [{ r: 0.2, alpha: 50, s: 0.1, beta: 0.1 }, { x: 0, tx: 0, T: 200 }, 1.6278836856916375],
      [{ r: 3, alpha: 0.2, s: 0.4, beta: 7 }, { x: 1, tx: 0.5, T: 30 }, -6.9569482409975752],
    ];
    for (const [p, summary, dead] of cases) {
      expectRelative(logDeadByQuadrature(p, summary), dead, 1e-13);
      expectRelative(logDeadByHypergeometric(p, summary), dead, 1e-13);
    }
  });

  it("the closed form (the note's 2F1) agrees with quadrature of the same integral", () => {
    // A₀ is an integral of a positive function; quadrature is the fallback where the 2F1 cannot be
    // evaluated. Both routes on pseudo-random parameters over 8 orders of magnitude.
    let seed = 12345;
    const random = () => ((seed = (seed * 16807) % 2147483647) - 1) / 2147483646;
    const log10 = (lo: number, hi: number) => Math.pow(10, lo + random() * (hi - lo));
    for (let i = 0; i < 300; i++) {
      const p = { r: log10(-4, 4), alpha: log10(-4, 4), s: log10(-4, 4), beta: log10(-4, 4) };
      const T = 1 + 50 * random();
      const summary = { x: Math.floor(30 * random()), tx: random() < 0.3 ? 0 : T * random(), T };
      const closed = logDeadByHypergeometric(p, summary);
      expect(Math.abs(closed - logDeadByQuadrature(p, summary))).toBeLessThan(1e-8 * Math.max(1, Math.abs(closed)));
    }
  });
});

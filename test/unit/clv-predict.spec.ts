// Per-customer CLV outputs (src/lifecycle/clv/predict.ts) and the Gamma-Gamma spend model
// (src/lifecycle/clv/gamma-gamma.ts) at published CDNOW parameters (Fader, Hardie & Lee 2005), against
// values computed by hand from the papers' formulas: no fit, so each check is fast.
import { describe, expect, it } from "vitest";
import type { CustomerFeatures } from "../../src/lifecycle/features.ts";
import { ThinDataError } from "../../src/lifecycle/clv/bgnbd.ts";
import {
  conditionalExpectedSpend,
  fitGammaGamma,
  gammaGammaLogLikelihood,
} from "../../src/lifecycle/clv/gamma-gamma.ts";
import { predict, purchaseModel, summaryOf, type PurchaseModel } from "../../src/lifecycle/clv/predict.ts";
import { readCdnow } from "../helpers/cdnow.ts";

const BGNBD = { r: 0.243, alpha: 4.414, a: 0.793, b: 2.426 };
const GAMMA_GAMMA = { p: 6.25, q: 3.74, gamma: 15.44 };
/** Pareto/NBD parameters inside BTYD's printed rounding box where its printed predictions all agree (pareto-nbd.spec.ts). */
const PARETO_NBD = { r: 0.5533334, alpha: 10.5795107, s: 0.6058861, beta: 11.6565 };
const MONTH_DAYS = 365.25 / 12;

function expectRelative(actual: number, expected: number, tolerance: number) {
  expect(Math.abs(actual - expected) / Math.abs(expected)).toBeLessThanOrEqual(tolerance);
}

const cdnow = new Map(readCdnow().map((row) => [row.id, row]));

describe("Gamma-Gamma at known parameters", () => {
  it("gives the density of a mean spend worked out by hand, times each summary's count", () => {
    // p 1, q 2, γ 3, x 2, z̄ 1.5: Γ(4)/(Γ(2)Γ(2)) γ^q z̄^(px−1) x^(px) / (γ + x z̄)^(px+q) = 6·9·1.5·4 / 6⁴ = ¼.
    const params = { p: 1, q: 2, gamma: 3 };
    expect(gammaGammaLogLikelihood(params, [{ x: 2, zbar: 1.5 }])).toBeCloseTo(-Math.log(4), 14);
    expect(gammaGammaLogLikelihood(params, [{ x: 2, zbar: 1.5, count: 3 }])).toBeCloseTo(-3 * Math.log(4), 14);
    // p 2, q 3, γ 1, x 1, z̄ 2: Γ(5)/(Γ(2)Γ(3)) · 1 · 2¹ · 1 / 3⁵ = 12 · 2 / 243.
    expect(gammaGammaLogLikelihood({ p: 2, q: 3, gamma: 1 }, [{ x: 1, zbar: 2 }])).toBeCloseTo(Math.log(24 / 243), 14);
    expect(gammaGammaLogLikelihood(params, [])).toBe(0);
  });

  it("expects p(γ + x z̄)/(px + q − 1) per transaction, the population mean pγ/(q − 1) without repeats", () => {
    // CDNOW customer 1: x 2, z̄ 22.35.
    const c1 = cdnow.get(1)!;
    expect(conditionalExpectedSpend(GAMMA_GAMMA, c1)).toBeCloseTo((6.25 * (15.44 + 2 * 22.35)) / (12.5 + 2.74), 12);
    expect(conditionalExpectedSpend(GAMMA_GAMMA, { x: 0, zbar: 0 })).toBeCloseTo((6.25 * 15.44) / 2.74, 12);
  });

  it("refuses fewer than 10 customers with repeat spend (x and z̄ > 0), counting each summary's count", () => {
    const nine = [
      { x: 2, zbar: 10, count: 4 },
      { x: 1, zbar: 20, count: 5 },
      { x: 0, zbar: 0, count: 100 },
      { x: 3, zbar: 0, count: 100 },
      { x: 0, zbar: 5, count: 100 },
    ];
    expect(() => fitGammaGamma(nine)).toThrow(ThinDataError);
    expect(() => fitGammaGamma(nine)).toThrow(
      "too little data to fit Gamma-Gamma: 9 customers with repeat purchases (need at least 10)",
    );
    // Ten are enough.
    expect(fitGammaGamma([...nine, { x: 3, zbar: 15 }]).customers).toBe(10);
  });

  it("fits a small base to the maximum of its likelihood, counting grouped customers", () => {
    // 40 customers in 4 groups; the maximum is checked against the likelihood one step away in each parameter.
    const groups = [
      { x: 1, zbar: 20, count: 10 },
      { x: 2, zbar: 35, count: 10 },
      { x: 4, zbar: 28, count: 10 },
      { x: 6, zbar: 60, count: 10 },
      { x: 0, zbar: 0, count: 50 },
    ];
    const fit = fitGammaGamma(groups);
    expect(fit.customers).toBe(40);
    expect(fit.converged).toBe(true);
    const spenders = groups.filter((g) => g.x > 0);
    expect(fit.logLikelihood).toBeCloseTo(gammaGammaLogLikelihood(fit, spenders), 10);
    for (const key of ["p", "q", "gamma"] as const) {
      for (const factor of [0.99, 1.01]) {
        const moved = { ...fit, [key]: fit[key] * factor };
        expect(gammaGammaLogLikelihood(moved, spenders)).toBeLessThan(fit.logLikelihood);
      }
    }
  });
});

describe("CLV predictions for named CDNOW customers", () => {
  it("BG/NBD: customer 1's P(alive) by eq. 13 and the paper's 1.226 purchases in the next 39 weeks", () => {
    const model = purchaseModel({ kind: "BG_NBD", params: BGNBD });
    const c1 = cdnow.get(1)!; // x 2, t_x 30.43, T 38.86
    const { r, alpha, a, b } = BGNBD;
    const alive = 1 / (1 + (a / (b + 1)) * Math.pow((alpha + 38.86) / (alpha + 30.43), r + 2));
    expect(model.probabilityAlive(c1)).toBeCloseTo(alive, 12);
    expect(model.expectedPurchases(c1, 39)).toBeCloseTo(1.226, 3);
  });

  it("Pareto/NBD: BTYD's customer 1516, P(alive) 0.997874 and 25.45647 purchases in the next 52 weeks", () => {
    const model = purchaseModel({ kind: "PARETO_NBD", params: PARETO_NBD });
    const c1516 = { x: 26, tx: 216 / 7, T: 31 };
    expect(model.probabilityAlive(c1516)).toBeCloseTo(0.997874, 6);
    expectRelative(model.expectedPurchases(c1516, 52), 25.45647, 1e-6);
  });

  it("CLV is the expected spend times the purchases of each month, each discounted to its month's end", () => {
    // A model buying 0.5 a week and alive with 0.8: 30.4375 days a month, 7 days a unit.
    const steady: PurchaseModel = { probabilityAlive: () => 0.8, expectedPurchases: (_s, t) => 0.5 * t };
    const c1 = { ...cdnow.get(1)! };
    const spend = (6.25 * (15.44 + 2 * 22.35)) / (12.5 + 2.74);
    const perMonth = (0.5 * MONTH_DAYS) / 7;
    // A year at 10 %: months k = 1…12 at 1.1^(−k/12).
    let year = 0;
    for (let k = 1; k <= 12; k++) year += perMonth * Math.pow(1.1, -k / 12);
    const p = predict(steady, GAMMA_GAMMA, c1, 7, 365.25, 0.1);
    expect(p.probabilityAlive).toBe(0.8);
    expect(p.expectedPurchases).toBeCloseTo((0.5 * 365.25) / 7, 12);
    expect(p.expectedAverageSpend).toBeCloseTo(spend, 12);
    expect(p.predictedClv).toBeCloseTo(spend * year, 10);
    // 45 days: a whole month, then 14.5625 days discounted at 45/365.25 of a year.
    const partial = perMonth * Math.pow(1.1, -1 / 12) + ((0.5 * (45 - MONTH_DAYS)) / 7) * Math.pow(1.1, -45 / 365.25);
    expect(predict(steady, GAMMA_GAMMA, c1, 7, 45, 0.1).predictedClv).toBeCloseTo(spend * partial, 10);
    // Without discounting CLV is spend × expected purchases; with no horizon it is 0.
    expect(predict(steady, GAMMA_GAMMA, c1, 1, 100, 0).predictedClv).toBeCloseTo(spend * 50, 10);
    expect(predict(steady, GAMMA_GAMMA, c1, 1, 0, 0.1).predictedClv).toBe(0);
  });

  it("CLV of CDNOW's customer 1 under BG/NBD and Gamma-Gamma, undiscounted over 39 weeks", () => {
    const model = purchaseModel({ kind: "BG_NBD", params: BGNBD });
    const p = predict(model, GAMMA_GAMMA, cdnow.get(1)!, 7, 39 * 7, 0);
    expect(p.expectedPurchases).toBeCloseTo(1.226, 3);
    expect(p.predictedClv).toBeCloseTo(p.expectedPurchases * ((6.25 * (15.44 + 2 * 22.35)) / (12.5 + 2.74)), 10);
  });
});

describe("summaries from customer features", () => {
  const features = (over: Partial<CustomerFeatures>) =>
    ({
      purchaseDays: 3,
      firstPurchaseDate: "2024-01-01",
      lastPurchaseDate: "2024-01-15",
      revenue: 100,
      firstPurchaseRevenue: 40,
      ...over,
    }) as unknown as CustomerFeatures;

  it("counts repeat purchase days, t_x and T in model units, and the mean repeat spend", () => {
    expect(summaryOf(features({}), "2024-01-29", 7)).toEqual({ x: 2, tx: 2, T: 4, zbar: 30 });
    expect(summaryOf(features({}), "2024-01-29", 1)).toEqual({ x: 2, tx: 14, T: 28, zbar: 30 });
    expect(summaryOf(features({ firstPurchaseRevenue: null }), "2024-01-29", 7)?.zbar).toBe(50);
    expect(summaryOf(features({ revenue: null, firstPurchaseRevenue: null }), "2024-01-29", 7)?.zbar).toBe(0);
    expect(summaryOf(features({ purchaseDays: 1, lastPurchaseDate: "2024-01-01" }), "2024-01-29", 7)).toEqual({
      x: 0,
      tx: 0,
      T: 4,
      zbar: 0,
    });
  });

  it("is null for prospects: no purchase days or no purchase dates", () => {
    expect(summaryOf(features({ purchaseDays: 0 }), "2024-01-29", 7)).toBeNull();
    expect(summaryOf(features({ purchaseDays: null }), "2024-01-29", 7)).toBeNull();
    expect(summaryOf(features({ firstPurchaseDate: null }), "2024-01-29", 7)).toBeNull();
    expect(summaryOf(features({ lastPurchaseDate: null }), "2024-01-29", 7)).toBeNull();
  });
});

// BG/NBD's likelihood, grouping and thin-data refusal (src/lifecycle/clv/bgnbd.ts) against values worked
// out by hand from Fader, Hardie & Lee (2005), eq. 6, and one small fit (100 customers) for the optimizer.
import { describe, expect, it } from "vitest";
import {
  bgnbdExpectedPurchases,
  bgnbdLogLikelihood,
  bgnbdProbabilityAlive,
  fitBgNbd,
  fitPurchaseModel,
  groupSummaries,
  ThinDataError,
} from "../../src/lifecycle/clv/bgnbd.ts";
import { readCdnow } from "../helpers/cdnow.ts";

const UNIT = { r: 1, alpha: 1, a: 1, b: 1 };

describe("BG/NBD likelihood", () => {
  it("is (α/(α+T))^r for a customer without repeat purchases", () => {
    // r 2, α 3, T 1: (3/4)².
    const groups = [{ summary: { x: 0, tx: 0, T: 1 }, count: 1 }];
    expect(bgnbdLogLikelihood({ r: 2, alpha: 3, a: 1, b: 1 }, groups)).toBeCloseTo(2 * Math.log(0.75), 14);
  });

  it("adds the chance of dropping out after the last purchase for a repeat buyer, times each group's count", () => {
    // r = α = a = b = 1, x 1, t_x 1, T 2: B(1,2)/B(1,1) · Γ(2)/(Γ(1) 3²) + B(2,1)/B(1,1) · Γ(2)/(Γ(1) 2²)
    // = 1/18 + 1/8 = 13/72.
    const one = { summary: { x: 1, tx: 1, T: 2 }, count: 1 };
    expect(bgnbdLogLikelihood(UNIT, [one])).toBeCloseTo(Math.log(13 / 72), 14);
    expect(bgnbdLogLikelihood(UNIT, [{ ...one, count: 4 }])).toBeCloseTo(4 * Math.log(13 / 72), 13);
    // x 2, t_x 1, T 2 with a 2, b 3, r 1, α 1: B(2,5)/B(2,3) · Γ(3)/(Γ(1) 3³) + B(3,4)/B(2,3) · Γ(3)/(Γ(1) 2³)
    // = (1/30)/(1/12) · 2/27 + (1/60)/(1/12) · 2/8 = 4/135 + 1/20.
    const params = { r: 1, alpha: 1, a: 2, b: 3 };
    const two = { summary: { x: 2, tx: 1, T: 2 }, count: 1 };
    expect(bgnbdLogLikelihood(params, [two])).toBeCloseTo(Math.log(4 / 135 + 1 / 20), 14);
    // The per-x terms are shared between summaries with the same x, not between different x.
    expect(bgnbdLogLikelihood(params, [two, { summary: { x: 0, tx: 0, T: 1 }, count: 1 }, two])).toBeCloseTo(
      2 * Math.log(4 / 135 + 1 / 20) + Math.log(1 / 2),
      13,
    );
  });
});

describe("BG/NBD predictions by hand", () => {
  it("P(alive) is 1 without repeat purchases and 1/(1 + a/(b+x−1) ((α+T)/(α+t_x))^(r+x)) otherwise", () => {
    expect(bgnbdProbabilityAlive(UNIT, { x: 0, tx: 0, T: 5 })).toBe(1);
    // x 1, t_x 1, T 3: 1/(1 + 1 · (4/2)²) = 1/5.
    expect(bgnbdProbabilityAlive(UNIT, { x: 1, tx: 1, T: 3 })).toBeCloseTo(0.2, 15);
    // a 2, b 3, x 2, t_x 1, T 1: 1/(1 + 2/4) = 2/3.
    expect(bgnbdProbabilityAlive({ r: 1, alpha: 1, a: 2, b: 3 }, { x: 2, tx: 1, T: 1 })).toBeCloseTo(2 / 3, 15);
  });

  it("expects (a+b−1)/(a−1) (1 − (α/(α+t))^r 2F1(r, b; a+b−1; t/(α+t))) purchases from a new customer", () => {
    // r 1, α 1, a 2, b 1, T 0, t 1: 2 (1 − ½ 2F1(1, 1; 2; ½)) = 2 (1 − ln 2).
    const s = { x: 0, tx: 0, T: 0 };
    expect(bgnbdExpectedPurchases({ r: 1, alpha: 1, a: 2, b: 1 }, s, 1)).toBeCloseTo(2 * (1 - Math.LN2), 14);
    expect(bgnbdExpectedPurchases({ r: 1, alpha: 1, a: 2, b: 1 }, s, 0)).toBe(0);
  });
});

describe("a small BG/NBD fit", () => {
  it("reaches the maximum of the likelihood of CDNOW's first 100 customers", () => {
    const rows = readCdnow().slice(0, 100);
    const fit = fitBgNbd(rows);
    const groups = groupSummaries(rows);
    expect(fit.converged).toBe(true);
    expect(fit.logLikelihood).toBeCloseTo(bgnbdLogLikelihood(fit, groups), 10);
    for (const key of ["r", "alpha", "a", "b"] as const) {
      for (const factor of [0.98, 1.02]) {
        expect(bgnbdLogLikelihood({ ...fit, [key]: fit[key] * factor }, groups)).toBeLessThan(fit.logLikelihood);
      }
    }
  });
});

describe("grouping and thin data", () => {
  it("groups summaries sharing x, t_x and T, keeping the first of each and counting them", () => {
    const a = { x: 1, tx: 2, T: 3 };
    const groups = groupSummaries([a, { x: 1, tx: 2, T: 4 }, { ...a }, { x: 2, tx: 2, T: 3 }, { ...a }]);
    expect(groups).toEqual([
      { summary: a, count: 3 },
      { summary: { x: 1, tx: 2, T: 4 }, count: 1 },
      { summary: { x: 2, tx: 2, T: 3 }, count: 1 },
    ]);
    expect(groups[0]!.summary).toBe(a);
  });

  it("refuses fewer than 10 customers or fewer than 2 repeat buyers, naming the model and the counts", () => {
    const ll = () => 0;
    const fit = (groups: { summary: { x: number; tx: number; T: number }; count: number }[]) =>
      fitPurchaseModel("BG/NBD", ["r"] as const, groups, ll);
    const repeat = { summary: { x: 1, tx: 1, T: 2 }, count: 1 };
    const none = { summary: { x: 0, tx: 0, T: 2 }, count: 8 };
    expect(() => fit([repeat, none])).toThrow(ThinDataError);
    expect(() => fit([repeat, none])).toThrow(
      "too little data to fit BG/NBD: 9 customers, 1 with a repeat purchase (need at least 10 and 2)",
    );
    expect(() => fit([repeat, { ...none, count: 100 }])).toThrow("101 customers, 1 with a repeat purchase");
    expect(() =>
      fit([
        { ...repeat, count: 2 },
        { ...none, count: 7 },
      ]),
    ).toThrow("9 customers, 2 with a repeat purchase");
    // 10 customers and 2 repeat buyers are enough.
    const ok = fit([{ ...repeat, count: 2 }, none]);
    expect(ok.converged).toBe(true);
    expect(ok.logLikelihood).toBe(0);
    expect(new ThinDataError("x").code).toBe("INSUFFICIENT_DATA");
    expect(new ThinDataError("x").name).toBe("ThinDataError");
  });
});

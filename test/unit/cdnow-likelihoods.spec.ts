// Likelihoods and predictions at fixed parameters over the whole CDNOW summary (test/fixtures/cdnow_summary.csv,
// 2,357 customers, weeks): the published log-likelihoods, grouping, and the population-level predictions
// the BTYD walkthrough prints. Kept out of mutation/groups.mjs's clv group, like cdnow-fits.spec.ts: each
// check here evaluates every customer, which under Stryker's instrumentation costs seconds for every mutant
// it covers (nearly all of pareto-nbd.ts and special.ts). pareto-nbd.spec.ts pins the same formulas
// customer by customer, on a slice of CDNOW chosen to cover its regimes, to independent references.
import { describe, expect, it } from "vitest";
import { readCdnow } from "../helpers/cdnow.ts";
import {
  expectContinuousAcrossAlphaEqualsBeta,
  expectDropoutLimit,
  expectFiniteOnGrid,
} from "../helpers/pareto-nbd-checks.ts";
import { bgnbdExpectedPurchases, groupSummaries } from "../../src/lifecycle/clv/bgnbd.ts";
import {
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

describe("Pareto/NBD on all of CDNOW", () => {
  it("the published parameters give the published log-likelihood", () => {
    expect(paretoNbdLogLikelihood(PUBLISHED, groups)).toBeCloseTo(-9595.0, 1);
  });

  it("matches an independent computation at the `lifetimes` parameters: LL −9594.974", () => {
    // The Fader–Hardie note's likelihood (2005, "A Note on Deriving the Pareto/NBD Model and Related
    // Expressions", eqs. 11–22) with mpmath's hyp2f1 at 30 digits, on this fixture while writing this
    // test (Python: sum of ln L over the 2,357 rows, t_x and T as printed in the CSV).
    expect(paretoNbdLogLikelihood(LIFETIMES, groups)).toBeCloseTo(-9594.97401004098, 8);
  });

  it("grouping identical summaries changes nothing but speed", () => {
    const ungrouped = rows.map((summary) => ({ summary, count: 1 }));
    expect(groups.length).toBeLessThan(ungrouped.length);
    for (const p of [PUBLISHED, { r: 2, alpha: 0.3, s: 5, beta: 40 }]) {
      expect(paretoNbdLogLikelihood(p, groups)).toBeCloseTo(paretoNbdLogLikelihood(p, ungrouped), 8);
    }
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

  it("P(alive) is in (0, 1] for every customer, below 1 wherever t_x < T", () => {
    for (const row of rows) {
      const p = paretoNbdProbabilityAlive(LIFETIMES, row);
      expect(p).toBeGreaterThan(0);
      expect(p).toBeLessThanOrEqual(1);
      if (row.tx < row.T) expect(p).toBeLessThan(1);
    }
  });

  it("summed over everyone, the next 39 weeks' expected repeat purchases are of the order seen in the first 39", () => {
    const total = rows.reduce((sum, row) => sum + paretoNbdExpectedPurchases(LIFETIMES, row, 39), 0);
    const observed = rows.reduce((sum, row) => sum + row.x, 0);
    expect(total / observed).toBeGreaterThan(0.5);
    expect(total / observed).toBeLessThan(1.5);
  });

  it("keeps the likelihood finite for extreme parameters, over every customer", () => {
    for (const p of [
      { ...PUBLISHED, alpha: 1e-6, beta: 1e6 },
      { ...PUBLISHED, alpha: 1e6, beta: 1e-6 },
      { ...PUBLISHED, alpha: 11, beta: 11 },
      { r: 1e-6, alpha: 1e-6, s: 1e6, beta: 1e6 },
      { r: 1e6, alpha: 1e6, s: 1e-6, beta: 1e-6 },
    ]) {
      expect(Number.isFinite(paretoNbdLogLikelihood(p, groups))).toBe(true);
    }
    // A grid over 12 orders of magnitude, on the first 60 distinct summaries.
    expectFiniteOnGrid(groups.slice(0, 60));
  });

  it("is continuous where α and β swap the 2F1 it uses, and at α = β exactly", () => {
    expectContinuousAcrossAlphaEqualsBeta(groups);
  });

  it("tends to its limit as s, β → ∞ with s/β fixed (dropout without heterogeneity)", () => {
    expectDropoutLimit(groups);
  });
});

describe("BG/NBD on all of CDNOW", () => {
  it("summed over everyone, the next 39 weeks' expected repeat purchases are of the order seen in the first 39", () => {
    const fit = { r: 0.243, alpha: 4.414, a: 0.793, b: 2.426 };
    const total = rows.reduce((s, r) => s + bgnbdExpectedPurchases(fit, r, 39), 0);
    const observed = rows.reduce((s, r) => s + r.x, 0);
    expect(total / observed).toBeGreaterThan(0.5);
    expect(total / observed).toBeLessThan(1.5);
  });
});

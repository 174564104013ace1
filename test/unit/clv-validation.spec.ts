// The holdout validation's arithmetic (src/lifecycle/clv/validation.ts) on a hand-worked base with a
// model whose expectations are linear, and its unconditional expectation against Fader, Hardie & Lee
// (2005) eq. 9 and Schmittlein, Morrison & Colombo's closed form, written out here.
import { describe, expect, it } from "vitest";
import { purchaseModel, type PurchaseModel } from "../../src/lifecycle/clv/predict.ts";
import type { RfSummary } from "../../src/lifecycle/clv/bgnbd.ts";
import {
  CALIBRATION_PURCHASES_BINS,
  expectedRepeatPurchases,
  validateHoldout,
  type HoldoutData,
} from "../../src/lifecycle/clv/validation.ts";

/** E[purchases in t | x, …] = (1 + x) t / 10, remembering what it was asked. */
function linearModel(): PurchaseModel & { calls: { summary: RfSummary; t: number }[] } {
  const calls: { summary: RfSummary; t: number }[] = [];
  return {
    calls,
    probabilityAlive: () => 1,
    expectedPurchases: (summary, t) => {
      calls.push({ summary, t });
      return ((1 + summary.x) * t) / 10;
    },
  };
}

/** Calibration to 2026-01-31, holdout of 12 days (one week and five days). */
const DATA: HoldoutData = {
  calibrationEnd: "2026-01-31",
  holdoutEnd: "2026-02-12",
  unitDays: 7,
  groups: [
    { x: 0, txDays: 0, tDays: 10, holdoutPurchases: 1, count: 2 },
    { x: 0, txDays: 0, tDays: 20, holdoutPurchases: 0, count: 1 },
    { x: 2, txDays: 5, tDays: 10, holdoutPurchases: 0, count: 1 },
    { x: 2, txDays: 5, tDays: 10, holdoutPurchases: 3, count: 1 },
    { x: 9, txDays: 30, tDays: 30, holdoutPurchases: 4, count: 1 },
  ],
  spend: [
    // zbar 10 and 20; then zbar 6.
    { x: 1, count: 2, zbarSum: 30, holdoutSpendSum: 50 },
    { x: 3, count: 1, zbarSum: 6, holdoutSpendSum: 8 },
  ],
  firstPurchases: [
    { day: -10, count: 4 },
    { day: -30, count: 1 },
    { day: -20, count: 1 },
  ],
  // Out of order on purpose.
  repeatPurchases: [
    { day: 3, count: 4 },
    { day: -25, count: 2 },
    { day: 12, count: 2 },
    { day: -5, count: 3 },
    { day: 0, count: 1 },
  ],
};

const H = 12 / 7;

describe("holdout validation by hand", () => {
  it("predicts each summary's holdout once, in model units, and sums totals, MAE and RMSE over customers", () => {
    const model = linearModel();
    const v = validateHoldout(model, null, DATA);
    expect(v.holdoutDays).toBe(12);
    // Four distinct summaries, each asked once for the 12-day horizon in weeks (the tracking asks for
    // customers seen for no time yet, T = 0).
    const asked = model.calls.filter((c) => c.summary.T > 0);
    expect(asked.every((c) => c.t === H)).toBe(true);
    expect(asked.map((c) => c.summary)).toEqual([
      { x: 0, tx: 0, T: 10 / 7 },
      { x: 0, tx: 0, T: 20 / 7 },
      { x: 2, tx: 5 / 7, T: 10 / 7 },
      { x: 9, tx: 30 / 7, T: 30 / 7 },
    ]);
    const p0 = H / 10;
    const p2 = (3 * H) / 10;
    const p9 = H;
    expect(v.groups.map((g) => g.predicted)).toEqual([p0, p0, p2, p2, p9]);
    expect(v.customers).toBe(6);
    expect(v.calibrationRepeatPurchases).toBe(13);
    expect(v.actualHoldoutPurchases).toBe(9);
    expect(v.predictedHoldoutPurchases).toBeCloseTo(3 * p0 + 2 * p2 + p9, 14);
    const errors = [p0 - 1, p0 - 1, p0, p2, p2 - 3, p9 - 4];
    expect(v.meanAbsoluteError).toBeCloseTo(errors.reduce((s, e) => s + Math.abs(e), 0) / 6, 14);
    expect(v.rootMeanSquaredError).toBeCloseTo(Math.sqrt(errors.reduce((s, e) => s + e * e, 0) / 6), 14);
  });

  it("bins customers by calibration repeat purchases 0 to 6 and 7 or more, empty bins without means", () => {
    const v = validateHoldout(linearModel(), null, DATA);
    expect(CALIBRATION_PURCHASES_BINS).toBe(8);
    expect(v.byCalibrationPurchases.map((b) => [b.calibrationPurchases, b.orMore, b.customers])).toEqual([
      [0, false, 3],
      [1, false, 0],
      [2, false, 2],
      [3, false, 0],
      [4, false, 0],
      [5, false, 0],
      [6, false, 0],
      [7, true, 1],
    ]);
    const [zero, one, two, , , , , many] = v.byCalibrationPurchases;
    expect(zero!.meanActual).toBeCloseTo(2 / 3, 14);
    expect(zero!.meanPredicted).toBeCloseTo(H / 10, 14);
    expect(two!.meanActual).toBe(1.5);
    expect(two!.meanPredicted).toBeCloseTo((3 * H) / 10, 14);
    expect(many!.meanActual).toBe(4);
    expect(many!.meanPredicted).toBeCloseTo(H, 14);
    expect(one!.meanActual).toBeNull();
    expect(one!.meanPredicted).toBeNull();
  });

  it("tracks cumulative repeat purchases per week, weeks ending on the calibration end, actual and expected", () => {
    const v = validateHoldout(linearModel(), null, DATA);
    // From the first buyer's day (−30) to the holdout end (+12): a 3-day first week, whole weeks to the
    // calibration end, a whole holdout week and a 5-day last one.
    expect(v.tracking.map((w) => [w.week, w.from, w.to, w.holdout])).toEqual([
      [1, "2026-01-01", "2026-01-03", false],
      [2, "2026-01-04", "2026-01-10", false],
      [3, "2026-01-11", "2026-01-17", false],
      [4, "2026-01-18", "2026-01-24", false],
      [5, "2026-01-25", "2026-01-31", false],
      [6, "2026-02-01", "2026-02-07", true],
      [7, "2026-02-08", "2026-02-12", true],
    ]);
    expect(v.tracking.map((w) => w.cumulativeActual)).toEqual([0, 2, 2, 2, 6, 10, 12]);
    // E[X(t)] = t / 10 from each first purchase day (−30 once, −20 once, −10 four times) to the week's end.
    const ends = [-28, -21, -14, -7, 0, 7, 12];
    const expected = ends.map((e) =>
      [
        { day: -30, count: 1 },
        { day: -20, count: 1 },
        { day: -10, count: 4 },
      ]
        .filter((f) => f.day <= e)
        .reduce((sum, f) => sum + (f.count * (e - f.day)) / 70, 0),
    );
    v.tracking.forEach((w, i) => expect(w.cumulativeExpected).toBeCloseTo(expected[i]!, 12));
    expect(expected).toEqual(
      [2 / 70, 9 / 70, 22 / 70, 48 / 70, 90 / 70, 132 / 70, 162 / 70].map((n) => expect.closeTo(n, 12)),
    );
  });

  it("compares Gamma-Gamma's expected spend with the holdout's, mean over customers, from group sums", () => {
    // p 2, q 3, γ 10: E[Z | x, zbar] = (10 + x zbar) / (x + 1): 10 and 15 (x 1), 7 (x 3).
    const v = validateHoldout(linearModel(), { p: 2, q: 3, gamma: 10 }, DATA);
    expect(v.spend!.customers).toBe(3);
    expect(v.spend!.meanPredicted).toBeCloseTo((10 + 15 + 7) / 3, 13);
    expect(v.spend!.meanActual).toBeCloseTo(58 / 3, 13);
    expect(validateHoldout(linearModel(), { p: 2, q: 3, gamma: 10 }, { ...DATA, spend: [] }).spend).toBeNull();
    expect(validateHoldout(linearModel(), null, DATA).spend).toBeNull();
  });

  it("answers an empty base with zeros and no weeks", () => {
    const v = validateHoldout(linearModel(), null, { ...DATA, groups: [], firstPurchases: [], repeatPurchases: [] });
    expect([v.customers, v.actualHoldoutPurchases, v.predictedHoldoutPurchases]).toEqual([0, 0, 0]);
    expect([v.meanAbsoluteError, v.rootMeanSquaredError]).toEqual([0, 0]);
    expect(v.tracking).toEqual([]);
  });
});

/** Σ (a)_n (b)_n / (c)_n zⁿ / n!, summed until the terms stop mattering (|z| < 1). */
function hyp2f1Series(a: number, b: number, c: number, z: number): number {
  let term = 1;
  let sum = 1;
  for (let n = 0; n < 100_000; n++) {
    term *= ((a + n) * (b + n) * z) / ((c + n) * (n + 1));
    sum += term;
    if (Math.abs(term) < 1e-17 * Math.abs(sum)) break;
  }
  return sum;
}

describe("the unconditional expectation E[X(t)]", () => {
  it("is BG/NBD's eq. 9 at the published CDNOW parameters", () => {
    const p = { r: 0.243, alpha: 4.414, a: 0.793, b: 2.426 };
    const model = purchaseModel({ kind: "BG_NBD", params: p });
    for (const t of [0.5, 1, 10, 39, 78]) {
      const z = t / (p.alpha + t);
      const eq9 =
        ((p.a + p.b - 1) / (p.a - 1)) *
        (1 - Math.pow(p.alpha / (p.alpha + t), p.r) * hyp2f1Series(p.r, p.b, p.a + p.b - 1, z));
      expect(expectedRepeatPurchases(model, t)).toBeCloseTo(eq9, 12);
    }
    expect(expectedRepeatPurchases(model, 0)).toBeCloseTo(0, 15);
  });

  it("is Pareto/NBD's r β / (α (s − 1)) (1 − (β / (β + t))^(s − 1)) at the published CDNOW parameters", () => {
    const p = { r: 0.55, alpha: 10.58, s: 0.61, beta: 11.67 };
    const model = purchaseModel({ kind: "PARETO_NBD", params: p });
    for (const t of [0.5, 1, 10, 39, 78]) {
      const closed = ((p.r * p.beta) / (p.alpha * (p.s - 1))) * (1 - Math.pow(p.beta / (p.beta + t), p.s - 1));
      expect(expectedRepeatPurchases(model, t)).toBeCloseTo(closed, 12);
    }
  });
});

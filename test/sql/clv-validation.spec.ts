// CLV holdout validation end to end on the CDNOW 1/10 sample's transactions (test/fixtures/cdnow): loaded
// into each warehouse, fitted on the calibration period to 1997-09-30 and compared with the holdout to
// 1998-06-30, as Fader, Hardie & Lee (2005) do. Every figure is checked against what this file works out
// from the fixture itself: the per-customer counts, BG/NBD's eq. 10 (holdout) and eq. 9 (tracking) with the
// Gaussian hypergeometric function as its series, and the spends.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { InvalidInputError } from "../../src/errors.ts";
import { ThinDataError } from "../../src/lifecycle/clv/bgnbd.ts";
import { defaultStageModel } from "../../src/lifecycle/stage-model.ts";
import type { ClvValidation } from "../../src/services/lifecycle/clv.ts";
import { LifecycleService } from "../../src/services/lifecycle/service.ts";
import { cdnowSampleTransactions, readCdnowSample } from "../helpers/cdnow.ts";
import { filledWarehouse, testWarehouses, type TestWarehouse } from "../helpers/databases.ts";

const CALIBRATION_END = "1997-09-30";
const HOLDOUT_END = "1998-06-30";
const DAY_MS = 86_400_000;
const dayNumber = (day: string) => Date.parse(`${day}T00:00:00Z`) / DAY_MS;

/** One CDNOW customer as the fixture says, purchase days (same-day lines merged) split at the calibration end. */
interface FixtureCustomer {
  readonly firstDay: number;
  readonly x: number;
  readonly txDays: number;
  readonly tDays: number;
  /** Purchase days in the holdout. */
  readonly y: number;
  /** Mean spend of the calibration's repeat purchase days (0 without). */
  readonly zbar: number;
  /** Mean spend of the holdout's purchase days (null without). */
  readonly holdoutSpend: number | null;
  /** Purchase days after the first, up to the holdout end, as day numbers. */
  readonly repeatDays: number[];
}

function fixtureCustomers(): FixtureCustomer[] {
  const spendByDay = new Map<string, Map<number, number>>();
  for (const p of readCdnowSample()) {
    const days = spendByDay.get(p.customerId) ?? new Map<number, number>();
    days.set(dayNumber(p.day), (days.get(dayNumber(p.day)) ?? 0) + p.dollars);
    spendByDay.set(p.customerId, days);
  }
  const [calibrationEnd, holdoutEnd] = [dayNumber(CALIBRATION_END), dayNumber(HOLDOUT_END)];
  return [...spendByDay.values()].map((days) => {
    const all = [...days.keys()].sort((a, b) => a - b);
    const calibration = all.filter((d) => d <= calibrationEnd);
    const holdout = all.filter((d) => d > calibrationEnd && d <= holdoutEnd);
    const sum = (list: number[]) => list.reduce((s, d) => s + days.get(d)!, 0);
    const x = calibration.length - 1;
    return {
      firstDay: all[0]!,
      x,
      txDays: calibration.at(-1)! - all[0]!,
      tDays: calibrationEnd - all[0]!,
      y: holdout.length,
      zbar: x > 0 ? sum(calibration.slice(1)) / x : 0,
      holdoutSpend: holdout.length > 0 ? sum(holdout) / holdout.length : null,
      repeatDays: all.slice(1).filter((d) => d <= holdoutEnd),
    };
  });
}

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

interface BgNbd {
  readonly r: number;
  readonly alpha: number;
  readonly a: number;
  readonly b: number;
}

/** Fader, Hardie & Lee (2005), eq. 10: E[Y(t) | x, t_x, T] (weeks). */
function conditionalExpectation({ r, alpha, a, b }: BgNbd, x: number, tx: number, T: number, t: number): number {
  const hyp = hyp2f1Series(r + x, b + x, a + b + x - 1, t / (alpha + T + t));
  const numerator = ((a + b + x - 1) / (a - 1)) * (1 - Math.pow((alpha + T) / (alpha + T + t), r + x) * hyp);
  const dropout = x > 0 ? (a / (b + x - 1)) * Math.pow((alpha + T) / (alpha + tx), r + x) : 0;
  return numerator / (1 + dropout);
}

/** Fader, Hardie & Lee (2005), eq. 9: E[X(t)] (weeks). */
function unconditionalExpectation({ r, alpha, a, b }: BgNbd, t: number): number {
  return (
    ((a + b - 1) / (a - 1)) * (1 - Math.pow(alpha / (alpha + t), r) * hyp2f1Series(r, b, a + b - 1, t / (alpha + t)))
  );
}

const key = (c: { x: number; txDays: number; tDays: number }) => `${c.x}|${c.txDays}|${c.tDays}`;
const relativeGap = (a: number, b: number) => Math.abs(a - b) / Math.max(1, Math.abs(b));

const customers = fixtureCustomers();

describe.each(testWarehouses())("CLV holdout validation on the CDNOW sample in $label", (factory) => {
  let warehouse: TestWarehouse;
  let lifecycle: LifecycleService;
  let validation: ClvValidation;
  beforeAll(async () => {
    warehouse = await filledWarehouse(factory, { transactions: cdnowSampleTransactions() });
    lifecycle = await LifecycleService.open(warehouse, defaultStageModel(), "UTC");
    validation = await lifecycle.clvValidation({
      calibrationEnd: CALIBRATION_END,
      holdoutEnd: HOLDOUT_END,
      model: "BG_NBD",
    });
  });
  afterAll(async () => {
    await lifecycle?.close();
    await warehouse?.close();
  });

  it("fits BG/NBD on the calibration period to the published parameters (weeks), as clvModel does", async () => {
    expect(validation.timeUnit).toBe("WEEK");
    expect(validation.fit.customers).toBe(2_357);
    const bgnbd = validation.fit.bgnbd!;
    expect(bgnbd.r).toBeCloseTo(0.243, 2);
    expect(bgnbd.alpha).toBeCloseTo(4.414, 2);
    expect(bgnbd.a).toBeCloseTo(0.793, 2);
    expect(bgnbd.b).toBeCloseTo(2.426, 2);
    expect(bgnbd.logLikelihood).toBeCloseTo(-9582.4, 0);
    // The same fit clvModel keeps for the day: not fitted twice.
    expect(await lifecycle.clvModel(CALIBRATION_END, "WEEK", "BG_NBD")).toBe(validation.fit);
  });

  it("counts each customer's calibration summary and holdout purchase days as the fixture has them", () => {
    const counted = new Map<string, number>();
    for (const c of customers) {
      const k = `${key(c)}|${c.y}`;
      counted.set(k, (counted.get(k) ?? 0) + 1);
    }
    const served = new Map(validation.groups.map((g) => [`${key(g)}|${g.holdoutPurchases}`, g.count]));
    expect(served).toEqual(counted);
    expect(validation.customers).toBe(2_357);
    expect(validation.holdoutDays).toBe(273);
    expect(validation.calibrationRepeatPurchases).toBe(customers.reduce((s, c) => s + c.x, 0));
    expect(validation.actualHoldoutPurchases).toBe(customers.reduce((s, c) => s + c.y, 0));
  });

  it("predicts each customer's holdout purchases as eq. 10 does under the fitted parameters", () => {
    const fitted = validation.fit.bgnbd!;
    const predicted = new Map(validation.groups.map((g) => [key(g), g.predicted]));
    const expected = customers.map((c) => conditionalExpectation(fitted, c.x, c.txDays / 7, c.tDays / 7, 273 / 7));
    customers.forEach((c, i) => {
      expect(relativeGap(predicted.get(key(c))!, expected[i]!), key(c)).toBeLessThan(1e-10);
    });
    const errors = customers.map((c, i) => expected[i]! - c.y);
    const n = customers.length;
    expect(
      relativeGap(
        validation.predictedHoldoutPurchases,
        expected.reduce((s, e) => s + e, 0),
      ),
    ).toBeLessThan(1e-10);
    expect(relativeGap(validation.meanAbsoluteError, errors.reduce((s, e) => s + Math.abs(e), 0) / n)).toBeLessThan(
      1e-10,
    );
    expect(
      relativeGap(validation.rootMeanSquaredError, Math.sqrt(errors.reduce((s, e) => s + e * e, 0) / n)),
    ).toBeLessThan(1e-10);
    for (const bin of validation.byCalibrationPurchases) {
      const inBin = customers
        .map((c, i) => ({ c, e: expected[i]! }))
        .filter(({ c }) => (bin.orMore ? c.x >= bin.calibrationPurchases : c.x === bin.calibrationPurchases));
      expect(bin.customers).toBe(inBin.length);
      expect(bin.meanActual).toBeCloseTo(inBin.reduce((s, { c }) => s + c.y, 0) / inBin.length, 12);
      expect(bin.meanPredicted).toBeCloseTo(inBin.reduce((s, { e }) => s + e, 0) / inBin.length, 10);
    }
  });

  it("tracks cumulative repeat purchases over the 78 weeks, ending at the totals, expected as eq. 9 sums them", () => {
    const { tracking } = validation;
    expect(tracking).toHaveLength(78);
    expect([tracking[0]!.from, tracking[38]!.to, tracking[39]!.from, tracking[77]!.to]).toEqual([
      "1997-01-01",
      CALIBRATION_END,
      "1997-10-01",
      HOLDOUT_END,
    ]);
    expect(tracking.map((w) => w.holdout)).toEqual([...Array(39).fill(false), ...Array(39).fill(true)]);
    for (let i = 1; i < tracking.length; i++) {
      expect(tracking[i]!.cumulativeActual).toBeGreaterThanOrEqual(tracking[i - 1]!.cumulativeActual);
      expect(tracking[i]!.cumulativeExpected).toBeGreaterThan(tracking[i - 1]!.cumulativeExpected);
    }
    expect(tracking[38]!.cumulativeActual).toBe(validation.calibrationRepeatPurchases);
    expect(tracking[77]!.cumulativeActual).toBe(
      validation.calibrationRepeatPurchases + validation.actualHoldoutPurchases,
    );
    const fitted = validation.fit.bgnbd!;
    for (const week of tracking) {
      const end = dayNumber(week.to);
      const actual = customers.reduce((s, c) => s + c.repeatDays.filter((d) => d <= end).length, 0);
      const expected = customers
        .filter((c) => c.firstDay <= end)
        .reduce((s, c) => s + unconditionalExpectation(fitted, (end - c.firstDay) / 7), 0);
      expect(week.cumulativeActual, week.to).toBe(actual);
      expect(relativeGap(week.cumulativeExpected, expected), week.to).toBeLessThan(1e-10);
    }
  });

  it("sets Gamma-Gamma's expected spend against the actual holdout spend of the repeat buyers who came back", () => {
    const { p, q, gamma } = validation.fit.gammaGamma;
    const compared = customers.filter((c) => c.x > 0 && c.zbar > 0 && c.holdoutSpend !== null);
    const spend = validation.spend!;
    expect(spend.customers).toBe(compared.length);
    const predicted = compared.map((c) => (p * (gamma + c.x * c.zbar)) / (p * c.x + q - 1));
    // Each customer's spends are summed in whole millionths (exact, the same in any order).
    expect(relativeGap(spend.meanPredicted, predicted.reduce((s, e) => s + e, 0) / compared.length)).toBeLessThan(1e-8);
    const actual = compared.reduce((s, c) => s + c.holdoutSpend!, 0) / compared.length;
    expect(relativeGap(spend.meanActual, actual)).toBeLessThan(1e-8);
  });

  it("validates Pareto/NBD on the same counts, fitted to its published parameters", async () => {
    const pareto = await lifecycle.clvValidation({
      calibrationEnd: CALIBRATION_END,
      holdoutEnd: HOLDOUT_END,
      model: "PARETO_NBD",
    });
    const p = pareto.fit.paretoNbd!;
    expect(p.r).toBeCloseTo(0.55, 2);
    expect(p.alpha).toBeCloseTo(10.58, 1);
    expect(p.s).toBeCloseTo(0.61, 2);
    expect(p.beta).toBeCloseTo(11.67, 1);
    expect(pareto.groups.map(({ predicted: _, ...g }) => g)).toEqual(
      validation.groups.map(({ predicted: _, ...g }) => g),
    );
    expect(pareto.tracking.map((w) => w.cumulativeActual)).toEqual(validation.tracking.map((w) => w.cumulativeActual));
    expect(pareto.predictedHoldoutPurchases).not.toBeCloseTo(validation.predictedHoldoutPurchases, 0);
  });

  it("refuses a holdout that does not follow the calibration or runs past the data, naming the input", async () => {
    const ask = (calibrationEnd: string, holdoutEnd: string) =>
      lifecycle.clvValidation(
        { calibrationEnd, holdoutEnd, model: "BG_NBD" },
        { about: { calibrationEnd: "--calibration-end", holdoutEnd: "--holdout-end" } },
      );
    const refused = async (calibrationEnd: string, holdoutEnd: string) => {
      const error = await ask(calibrationEnd, holdoutEnd).catch((e: unknown) => e);
      expect(error).toBeInstanceOf(InvalidInputError);
      return { message: (error as InvalidInputError).message, argument: (error as InvalidInputError).argument };
    };
    expect(await refused(HOLDOUT_END, HOLDOUT_END)).toEqual({
      message: `--holdout-end (${HOLDOUT_END}) must be after --calibration-end (${HOLDOUT_END})`,
      argument: "--holdout-end",
    });
    expect(await refused(HOLDOUT_END, CALIBRATION_END)).toMatchObject({ argument: "--holdout-end" });
    expect(await refused(CALIBRATION_END, "1998-07-01")).toEqual({
      message: "--holdout-end (1998-07-01) is after the last day with data (1998-06-30)",
      argument: "--holdout-end",
    });
    // Before the first purchase there is nobody to fit on.
    await expect(ask("1996-12-31", HOLDOUT_END)).rejects.toThrow(ThinDataError);
  });
});

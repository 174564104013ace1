// Calibration/holdout validation of a purchase model, as lifetimes (calibration_and_holdout_data and its
// plots) and BTYD offer it: the model is fitted on the buyers of a calibration period, and what it
// predicts for each of them over the holdout that follows is set against what they did. Pure: the
// warehouse's grouped counts in, the comparison out (services/lifecycle/clv.ts asks the warehouse).
import { addDays, daysBetween } from "../calendar.ts";
import { conditionalExpectedSpend, type GammaGammaParams } from "./gamma-gamma.ts";
import type { PurchaseModel } from "./predict.ts";
import type { RfSummary } from "./bgnbd.ts";

/** Calibration buyers who share their calibration summary and their holdout purchase days. */
export interface HoldoutGroup {
  /** Repeat purchase days in the calibration period (purchase days after the first). */
  readonly x: number;
  /** Days from the first purchase day to the last one of the calibration period. */
  readonly txDays: number;
  /** Days from the first purchase day to the calibration end. */
  readonly tDays: number;
  /** Purchase days in the holdout: after the calibration end, up to the holdout end. */
  readonly holdoutPurchases: number;
  readonly count: number;
}

/**
 * Calibration buyers with repeat purchases of positive mean value (those Gamma-Gamma describes) who
 * bought in the holdout too, per x: the sums of their mean spends. Sums are enough because the
 * conditional expected spend is linear in zbar for a given x.
 */
export interface HoldoutSpendGroup {
  readonly x: number;
  readonly count: number;
  /** Σ of their mean spend per repeat purchase day in the calibration (zbar). */
  readonly zbarSum: number;
  /** Σ of their mean spend per purchase day in the holdout. */
  readonly holdoutSpendSum: number;
}

/** A count on one day, the day given as days after the calibration end (0 or less inside it). */
export interface DayCount {
  readonly day: number;
  readonly count: number;
}

export interface HoldoutData {
  readonly calibrationEnd: string;
  readonly holdoutEnd: string;
  /** Days per unit of the model's time (its rates are per unit). */
  readonly unitDays: number;
  readonly groups: readonly HoldoutGroup[];
  readonly spend: readonly HoldoutSpendGroup[];
  /** The calibration buyers by first purchase day. */
  readonly firstPurchases: readonly DayCount[];
  /** Their repeat purchase days by day, through the holdout end. */
  readonly repeatPurchases: readonly DayCount[];
}

/** A holdout group with what the model predicts for each of its customers. */
export interface PredictedHoldoutGroup extends HoldoutGroup {
  /** E[purchases in the holdout | x, t_x, T]: the same for every customer of the group. */
  readonly predicted: number;
}

/** Calibration buyers with the same number of repeat purchases (the last bin: that many or more). */
export interface CalibrationPurchasesBin {
  readonly calibrationPurchases: number;
  /** The last bin, holding everyone with calibrationPurchases or more. */
  readonly orMore: boolean;
  readonly customers: number;
  /** Mean holdout purchase days; null for an empty bin. */
  readonly meanActual: number | null;
  /** Mean predicted holdout purchases; null for an empty bin. */
  readonly meanPredicted: number | null;
}

/** One week of the tracking series: repeat purchases of the calibration buyers, cumulated to its end. */
export interface TrackingWeek {
  /** 1 for the first week with a calibration buyer's first purchase. */
  readonly week: number;
  readonly from: string;
  readonly to: string;
  readonly holdout: boolean;
  /** Repeat purchase days from the first week through this one. */
  readonly cumulativeActual: number;
  /** What the model expects of the same customers, knowing only their first purchase days. */
  readonly cumulativeExpected: number;
}

export interface SpendComparison {
  /** Customers compared: repeat purchases of positive mean value in the calibration, purchases in the holdout. */
  readonly customers: number;
  /** Mean Gamma-Gamma conditional expected spend per purchase day, from their calibration. */
  readonly meanPredicted: number;
  /** Mean of their actual spend per purchase day in the holdout. */
  readonly meanActual: number;
}

export interface HoldoutValidation {
  /** Days in the holdout, (calibrationEnd, holdoutEnd]. */
  readonly holdoutDays: number;
  /** Calibration buyers: first purchase on or before the calibration end. */
  readonly customers: number;
  /** Their repeat purchase days in the calibration (Σ x). */
  readonly calibrationRepeatPurchases: number;
  readonly actualHoldoutPurchases: number;
  readonly predictedHoldoutPurchases: number;
  /** Of each customer's holdout purchases, predicted against actual. */
  readonly meanAbsoluteError: number;
  readonly rootMeanSquaredError: number;
  /** The groups with their predictions: what every figure here is summed from. */
  readonly groups: readonly PredictedHoldoutGroup[];
  readonly byCalibrationPurchases: readonly CalibrationPurchasesBin[];
  readonly tracking: readonly TrackingWeek[];
  /** Null without a Gamma-Gamma fit or without a customer to compare. */
  readonly spend: SpendComparison | null;
}

/** Bins 0, 1, …, 6 and "7 or more", as lifetimes' plot_calibration_purchases_vs_holdout_purchases shows. */
export const CALIBRATION_PURCHASES_BINS = 8;

const DAYS_PER_WEEK = 7;

/**
 * E[X(t)], the repeat purchases the model expects in a customer's first t units after their first
 * purchase, unconditionally (Fader, Hardie & Lee 2005, eq. 9). That is the conditional expectation for
 * a customer seen for no time yet (x = t_x = T = 0): their likelihood says nothing, so the posterior is
 * the prior (BG/NBD eq. 10 reduces to eq. 9; Pareto/NBD's P(alive) is 1 at t_x = T).
 */
export function expectedRepeatPurchases(model: PurchaseModel, t: number): number {
  return model.expectedPurchases({ x: 0, tx: 0, T: 0 }, t);
}

/** The comparison of the model's holdout predictions with what the calibration buyers did. */
export function validateHoldout(
  model: PurchaseModel,
  gammaGamma: GammaGammaParams | null,
  data: HoldoutData,
): HoldoutValidation {
  const holdoutDays = daysBetween(data.calibrationEnd, data.holdoutEnd);
  const horizon = holdoutDays / data.unitDays;
  // Groups differ by their holdout purchases too: their prediction is worked out once per summary.
  const predictions = new Map<string, number>();
  const groups = data.groups.map((g) => {
    const key = `${g.x}|${g.txDays}|${g.tDays}`;
    let predicted = predictions.get(key);
    if (predicted === undefined) {
      const summary: RfSummary = { x: g.x, tx: g.txDays / data.unitDays, T: g.tDays / data.unitDays };
      predicted = model.expectedPurchases(summary, horizon);
      predictions.set(key, predicted);
    }
    return { ...g, predicted };
  });
  let customers = 0;
  let calibrationRepeatPurchases = 0;
  let actual = 0;
  let predicted = 0;
  let absolute = 0;
  let squared = 0;
  const bins = Array.from({ length: CALIBRATION_PURCHASES_BINS }, () => ({ customers: 0, actual: 0, predicted: 0 }));
  for (const g of groups) {
    const error = g.predicted - g.holdoutPurchases;
    customers += g.count;
    calibrationRepeatPurchases += g.count * g.x;
    actual += g.count * g.holdoutPurchases;
    predicted += g.count * g.predicted;
    absolute += g.count * Math.abs(error);
    squared += g.count * error * error;
    const bin = bins[Math.min(g.x, CALIBRATION_PURCHASES_BINS - 1)]!;
    bin.customers += g.count;
    bin.actual += g.count * g.holdoutPurchases;
    bin.predicted += g.count * g.predicted;
  }
  return {
    holdoutDays,
    customers,
    calibrationRepeatPurchases,
    actualHoldoutPurchases: actual,
    predictedHoldoutPurchases: predicted,
    meanAbsoluteError: customers === 0 ? 0 : absolute / customers,
    rootMeanSquaredError: customers === 0 ? 0 : Math.sqrt(squared / customers),
    groups,
    byCalibrationPurchases: bins.map((b, i) => ({
      calibrationPurchases: i,
      orMore: i === CALIBRATION_PURCHASES_BINS - 1,
      customers: b.customers,
      meanActual: b.customers === 0 ? null : b.actual / b.customers,
      meanPredicted: b.customers === 0 ? null : b.predicted / b.customers,
    })),
    tracking: trackingWeeks(model, data, holdoutDays),
    spend: gammaGamma ? spendComparison(gammaGamma, data.spend) : null,
  };
}

/** Week ends, as days after the calibration end, from the first buyer's first week to the holdout end. */
function weekEnds(firstDay: number, holdoutDays: number): { start: number; end: number }[] {
  const weeks: { start: number; end: number }[] = [];
  // Weeks are counted back from the calibration end, so that no week straddles it: the first one is
  // shorter when the calibration is not a whole number of weeks, and so is the holdout's last.
  const calibrationWeeks = Math.ceil((1 - firstDay) / DAYS_PER_WEEK);
  for (let k = calibrationWeeks - 1; k >= 0; k--) {
    const end = -k * DAYS_PER_WEEK;
    weeks.push({ start: Math.max(firstDay, end - DAYS_PER_WEEK + 1), end });
  }
  for (let end = DAYS_PER_WEEK; end - DAYS_PER_WEEK < holdoutDays; end += DAYS_PER_WEEK) {
    weeks.push({ start: end - DAYS_PER_WEEK + 1, end: Math.min(end, holdoutDays) });
  }
  return weeks;
}

/**
 * The tracking plot (Fader, Hardie & Lee 2005, Figure 1; lifetimes' plot_cumulative_transactions):
 * cumulative repeat purchases of the calibration buyers per week, against Σ E[X(t − first purchase)]
 * over them. The expectation depends only on the days since a first purchase, so it is worked out once
 * per number of days and weighted by how many customers started on each day.
 */
function trackingWeeks(model: PurchaseModel, data: HoldoutData, holdoutDays: number): TrackingWeek[] {
  if (data.firstPurchases.length === 0) return [];
  const firstDay = Math.min(...data.firstPurchases.map((f) => f.day));
  const expected = new Map<number, number>();
  const expectedAfter = (days: number) => {
    let value = expected.get(days);
    if (value === undefined) {
      value = expectedRepeatPurchases(model, days / data.unitDays);
      expected.set(days, value);
    }
    return value;
  };
  const repeats = [...data.repeatPurchases].sort((a, b) => a.day - b.day);
  let next = 0;
  let cumulativeActual = 0;
  return weekEnds(firstDay, holdoutDays).map(({ start, end }, i) => {
    while (next < repeats.length && repeats[next]!.day <= end) cumulativeActual += repeats[next++]!.count;
    let cumulativeExpected = 0;
    for (const f of data.firstPurchases) if (f.day <= end) cumulativeExpected += f.count * expectedAfter(end - f.day);
    return {
      week: i + 1,
      from: addDays(data.calibrationEnd, start),
      to: addDays(data.calibrationEnd, end),
      holdout: end > 0,
      cumulativeActual,
      cumulativeExpected,
    };
  });
}

function spendComparison(params: GammaGammaParams, spend: readonly HoldoutSpendGroup[]): SpendComparison | null {
  let customers = 0;
  let predicted = 0;
  let actual = 0;
  for (const g of spend) {
    customers += g.count;
    // Linear in zbar: the group's mean zbar gives the mean of its customers' expectations.
    predicted += g.count * conditionalExpectedSpend(params, { x: g.x, zbar: g.zbarSum / g.count });
    actual += g.holdoutSpendSum;
  }
  return customers === 0 ? null : { customers, meanPredicted: predicted / customers, meanActual: actual / customers };
}

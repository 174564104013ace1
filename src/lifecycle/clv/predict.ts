// Per-customer predictions from fitted BG/NBD and Gamma-Gamma models, and the summaries they read.
import { daysBetween } from "../calendar.ts";
import type { CustomerFeatures } from "../features.ts";
import { bgnbdExpectedPurchases, bgnbdProbabilityAlive, type BgNbdParams, type RfSummary } from "./bgnbd.ts";
import { conditionalExpectedSpend, type GammaGammaParams, type SpendSummary } from "./gamma-gamma.ts";

/** Days per model time unit. */
export const TIME_UNIT_DAYS = { DAY: 1, WEEK: 7, MONTH: 365.25 / 12 } as const;
export type TimeUnit = keyof typeof TIME_UNIT_DAYS;

/**
 * The CDNOW conventions: purchase days (same-day orders are one purchase), x repeat purchase days,
 * t_x and T from the first purchase day to the last one and to asOf (inclusive end), zbar the mean
 * revenue of the repeat purchase days. Null for prospects.
 */
export function summaryOf(
  features: CustomerFeatures,
  asOf: string,
  unitDays: number,
): (RfSummary & SpendSummary) | null {
  const { purchaseDays, firstPurchaseDate, lastPurchaseDate, revenue, firstPurchaseRevenue } = features;
  if (!purchaseDays || !firstPurchaseDate || !lastPurchaseDate) return null;
  const x = purchaseDays - 1;
  return {
    x,
    tx: daysBetween(firstPurchaseDate, lastPurchaseDate) / unitDays,
    T: daysBetween(firstPurchaseDate, asOf) / unitDays,
    zbar: x > 0 ? ((revenue ?? 0) - (firstPurchaseRevenue ?? 0)) / x : 0,
  };
}

export interface Prediction {
  readonly probabilityAlive: number;
  readonly expectedPurchases: number;
  readonly expectedAverageSpend: number;
  readonly predictedClv: number;
}

/**
 * Predicted lifetime value over `horizonDays`: expected average spend × expected purchases, each
 * month's purchases discounted at `discountRate` a year ((1 + d)^(−months/12)).
 */
export function predict(
  bgnbd: BgNbdParams,
  gammaGamma: GammaGammaParams,
  summary: RfSummary & SpendSummary,
  unitDays: number,
  horizonDays: number,
  discountRate: number,
): Prediction {
  const expectedPurchases = bgnbdExpectedPurchases(bgnbd, summary, horizonDays / unitDays);
  const expectedAverageSpend = conditionalExpectedSpend(gammaGamma, summary);
  const months = Math.max(1, Math.ceil(horizonDays / TIME_UNIT_DAYS.MONTH));
  let discounted = 0;
  let before = 0;
  for (let k = 1; k <= months; k++) {
    const days = Math.min(horizonDays, k * TIME_UNIT_DAYS.MONTH);
    const upTo = bgnbdExpectedPurchases(bgnbd, summary, days / unitDays);
    discounted += (upTo - before) / Math.pow(1 + discountRate, days / 365.25);
    before = upTo;
  }
  return {
    probabilityAlive: bgnbdProbabilityAlive(bgnbd, summary),
    expectedPurchases,
    expectedAverageSpend,
    predictedClv: expectedAverageSpend * discounted,
  };
}

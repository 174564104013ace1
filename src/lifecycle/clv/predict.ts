// Per-customer predictions from a fitted purchase model (BG/NBD or Pareto/NBD) and Gamma-Gamma, and
// the summaries they read.
import { daysBetween } from "../calendar.ts";
import type { CustomerFeatures } from "../features.ts";
import { bgnbdExpectedPurchases, bgnbdProbabilityAlive, type BgNbdParams, type RfSummary } from "./bgnbd.ts";
import { conditionalExpectedSpend, type GammaGammaParams, type SpendSummary } from "./gamma-gamma.ts";
import { paretoNbdExpectedPurchases, paretoNbdProbabilityAlive, type ParetoNbdParams } from "./pareto-nbd.ts";

export type PurchaseModelKind = "BG_NBD" | "PARETO_NBD";

/** What predictions need of a purchase model: P(alive) and expected purchases in (T, T + t]. */
export interface PurchaseModel {
  probabilityAlive(s: RfSummary): number;
  expectedPurchases(s: RfSummary, t: number): number;
}

export function purchaseModel(
  fit: { kind: "BG_NBD"; params: BgNbdParams } | { kind: "PARETO_NBD"; params: ParetoNbdParams },
): PurchaseModel {
  if (fit.kind === "BG_NBD") {
    const p = fit.params;
    return {
      probabilityAlive: (s) => bgnbdProbabilityAlive(p, s),
      expectedPurchases: (s, t) => bgnbdExpectedPurchases(p, s, t),
    };
  }
  const p = fit.params;
  return {
    probabilityAlive: (s) => paretoNbdProbabilityAlive(p, s),
    expectedPurchases: (s, t) => paretoNbdExpectedPurchases(p, s, t),
  };
}

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

/** What a purchase model expects of one (x, t_x, T) summary: the part of a prediction spend does not enter. */
export interface PurchaseOutlook {
  readonly probabilityAlive: number;
  readonly expectedPurchases: number;
  /** Expected purchases in the horizon, each month's discounted at the yearly rate. */
  readonly discountedPurchases: number;
}

/**
 * Expected purchases over `horizonDays`, and the same with each month's purchases discounted at
 * `discountRate` a year ((1 + d)^(−months/12)). Buyers sharing (x, t_x, T) share it.
 */
export function purchaseOutlook(
  purchases: PurchaseModel,
  summary: RfSummary,
  unitDays: number,
  horizonDays: number,
  discountRate: number,
): PurchaseOutlook {
  // Stryker disable next-line ArithmeticOperator: more months than needed end past the horizon, adding 0 each
  const months = Math.max(1, Math.ceil(horizonDays / TIME_UNIT_DAYS.MONTH));
  let discounted = 0;
  let before = 0;
  for (let k = 1; k <= months; k++) {
    const days = Math.min(horizonDays, k * TIME_UNIT_DAYS.MONTH);
    const upTo = purchases.expectedPurchases(summary, days / unitDays);
    discounted += (upTo - before) / Math.pow(1 + discountRate, days / 365.25);
    before = upTo;
  }
  // The last month ends at the horizon: `before` is the horizon's expected purchases.
  return {
    probabilityAlive: purchases.probabilityAlive(summary),
    expectedPurchases: before,
    discountedPurchases: discounted,
  };
}

/** A prediction from a buyer's purchase outlook and their spend summary. */
export function predictionOf(outlook: PurchaseOutlook, gammaGamma: GammaGammaParams, spend: SpendSummary): Prediction {
  const expectedAverageSpend = conditionalExpectedSpend(gammaGamma, spend);
  return {
    probabilityAlive: outlook.probabilityAlive,
    expectedPurchases: outlook.expectedPurchases,
    expectedAverageSpend,
    predictedClv: expectedAverageSpend * outlook.discountedPurchases,
  };
}

/** Predicted lifetime value over `horizonDays`: expected average spend × discounted expected purchases. */
export function predict(
  purchases: PurchaseModel,
  gammaGamma: GammaGammaParams,
  summary: RfSummary & SpendSummary,
  unitDays: number,
  horizonDays: number,
  discountRate: number,
): Prediction {
  return predictionOf(purchaseOutlook(purchases, summary, unitDays, horizonDays, discountRate), gammaGamma, summary);
}

// Every buyer's prediction from one fit, a page of buyers at a time: what the state store writes at each
// refresh. Pure maths over plain arrays, so a page can be worked out in a fit worker (fit-worker.ts) while
// the refresh reads the next page and writes the last one, or in this thread.
import type { BgNbdParams } from "./bgnbd.ts";
import type { GammaGammaParams } from "./gamma-gamma.ts";
import type { ParetoNbdParams } from "./pareto-nbd.ts";
import { predictionOf, purchaseModel, purchaseOutlook, summaryOf, type PurchaseOutlook } from "./predict.ts";
import type { CustomerFeatures } from "../features.ts";

/** The fit and the settings every prediction of a state is made with. */
export interface BuyerPredictionSettings {
  readonly purchases: { kind: "BG_NBD"; params: BgNbdParams } | { kind: "PARETO_NBD"; params: ParetoNbdParams };
  readonly gammaGamma: GammaGammaParams;
  readonly stateDay: string;
  readonly unitDays: number;
  readonly horizonDays: number;
  readonly discountRate: number;
}

/** A page of buyers, column by column (what customer_state stores of them); NaN: no first-purchase revenue. */
export interface BuyerPage {
  readonly purchaseDays: Float64Array;
  readonly firstPurchaseDate: readonly string[];
  readonly lastPurchaseDate: readonly string[];
  readonly revenue: Float64Array;
  readonly firstPurchaseRevenue: Float64Array;
}

export interface BuyerPredictionInput {
  readonly settings: BuyerPredictionSettings;
  readonly buyers: BuyerPage;
}

/** The page's predictions, in its order. */
export interface BuyerPredictions {
  readonly probabilityAlive: Float64Array;
  readonly expectedPurchases: Float64Array;
  readonly expectedAverageSpend: Float64Array;
  readonly predictedClv: Float64Array;
}

/** Purchase outlooks kept for buyers who share one (emptied when it reaches this). */
const MAX_SHARED_OUTLOOKS = 50_000;

// Buyers sharing (x, t_x, T) share their purchase outlook, most of the work; pages of one state come one
// after another, so the outlooks are kept across them, for one fit and state day at a time.
let sharedFor = "";
const shared = new Map<string, PurchaseOutlook>();

/** The predictions of a page of buyers (every one has a purchase day). */
export function predictBuyers({ settings, buyers }: BuyerPredictionInput): BuyerPredictions {
  const fitKey = JSON.stringify(settings);
  if (fitKey !== sharedFor) {
    shared.clear();
    sharedFor = fitKey;
  }
  const purchases = purchaseModel(settings.purchases);
  const n = buyers.purchaseDays.length;
  const out: BuyerPredictions = {
    probabilityAlive: new Float64Array(n),
    expectedPurchases: new Float64Array(n),
    expectedAverageSpend: new Float64Array(n),
    predictedClv: new Float64Array(n),
  };
  for (let i = 0; i < n; i++) {
    const firstRevenue = buyers.firstPurchaseRevenue[i]!;
    const features = {
      purchaseDays: buyers.purchaseDays[i]!,
      firstPurchaseDate: buyers.firstPurchaseDate[i]!,
      lastPurchaseDate: buyers.lastPurchaseDate[i]!,
      revenue: buyers.revenue[i]!,
      firstPurchaseRevenue: Number.isNaN(firstRevenue) ? null : firstRevenue,
    } as CustomerFeatures;
    const summary = summaryOf(features, settings.stateDay, settings.unitDays);
    if (!summary) throw new RangeError(`buyer ${i} of the page has no purchase day`);
    const key = `${summary.x}|${features.firstPurchaseDate}|${features.lastPurchaseDate}`;
    let outlook = shared.get(key);
    if (!outlook) {
      outlook = purchaseOutlook(purchases, summary, settings.unitDays, settings.horizonDays, settings.discountRate);
      // Bounded: at a million buyers most keys are distinct, and keeping them all held ~100 MB.
      if (shared.size >= MAX_SHARED_OUTLOOKS) shared.clear();
      shared.set(key, outlook);
    }
    const p = predictionOf(outlook, settings.gammaGamma, summary);
    out.probabilityAlive[i] = p.probabilityAlive;
    out.expectedPurchases[i] = p.expectedPurchases;
    out.expectedAverageSpend[i] = p.expectedAverageSpend;
    out.predictedClv[i] = p.predictedClv;
  }
  return out;
}

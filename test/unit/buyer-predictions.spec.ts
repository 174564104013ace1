// A page of buyers' predictions at once (src/lifecycle/clv/buyer-predictions.ts), in this thread and in
// the fit pool's worker: each buyer's prediction is exactly `predict` of their own summary, whatever
// pages, fits and state days came before (the shared outlooks are kept across pages of one fit only).
import fc from "fast-check";
import { afterAll, describe, expect, it } from "vitest";
import { addDays } from "../../src/lifecycle/calendar.ts";
import {
  predictBuyers,
  type BuyerPage,
  type BuyerPredictionSettings,
} from "../../src/lifecycle/clv/buyer-predictions.ts";
import { predict, purchaseModel, summaryOf } from "../../src/lifecycle/clv/predict.ts";
import type { CustomerFeatures } from "../../src/lifecycle/features.ts";
import { FitPool } from "../../src/services/fit-pool.ts";

const BGNBD = { kind: "BG_NBD", params: { r: 0.243, alpha: 4.414, a: 0.793, b: 2.426 } } as const;
const PARETO_NBD = {
  kind: "PARETO_NBD",
  params: { r: 0.5533334, alpha: 10.5795107, s: 0.6058861, beta: 11.6565 },
} as const;
const GAMMA_GAMMA = { p: 6.25, q: 3.74, gamma: 15.44 };

interface Buyer {
  purchaseDays: number;
  firstPurchaseDate: string;
  lastPurchaseDate: string;
  revenue: number;
  firstPurchaseRevenue: number | null;
}

const STATE_DAY = "2026-06-30";

/** Buyers whose first purchase is up to two years before the state day. */
const buyer: fc.Arbitrary<Buyer> = fc
  .record({
    firstAgo: fc.integer({ min: 0, max: 730 }),
    span: fc.integer({ min: 0, max: 730 }),
    repeat: fc.integer({ min: 0, max: 12 }),
    revenue: fc.integer({ min: 1, max: 100_000 }),
    first: fc.option(fc.integer({ min: 1, max: 100_000 }), { nil: null }),
  })
  .map(({ firstAgo, span, repeat, revenue, first }) => ({
    purchaseDays: repeat + 1,
    firstPurchaseDate: addDays(STATE_DAY, -firstAgo),
    lastPurchaseDate: addDays(STATE_DAY, -firstAgo + (repeat === 0 ? 0 : Math.min(span, firstAgo))),
    revenue: revenue / 100,
    firstPurchaseRevenue: first === null ? null : first / 100,
  }));

function pageOf(buyers: readonly Buyer[]): BuyerPage {
  return {
    purchaseDays: Float64Array.from(buyers, (b) => b.purchaseDays),
    firstPurchaseDate: buyers.map((b) => b.firstPurchaseDate),
    lastPurchaseDate: buyers.map((b) => b.lastPurchaseDate),
    revenue: Float64Array.from(buyers, (b) => b.revenue),
    firstPurchaseRevenue: Float64Array.from(buyers, (b) => b.firstPurchaseRevenue ?? NaN),
  };
}

function settingsFor(
  purchases: BuyerPredictionSettings["purchases"],
  stateDay = STATE_DAY,
  horizonDays = 365,
  discountRate = 0.1,
): BuyerPredictionSettings {
  return { purchases, gammaGamma: GAMMA_GAMMA, stateDay, unitDays: 7, horizonDays, discountRate };
}

/** Each buyer's prediction on their own, as Customer.prediction makes it. */
function oneByOne(settings: BuyerPredictionSettings, buyers: readonly Buyer[]) {
  const purchases = purchaseModel(settings.purchases);
  const each = buyers.map((b) =>
    predict(
      purchases,
      settings.gammaGamma,
      summaryOf(b as CustomerFeatures, settings.stateDay, settings.unitDays)!,
      settings.unitDays,
      settings.horizonDays,
      settings.discountRate,
    ),
  );
  return {
    probabilityAlive: Float64Array.from(each, (p) => p.probabilityAlive),
    expectedPurchases: Float64Array.from(each, (p) => p.expectedPurchases),
    expectedAverageSpend: Float64Array.from(each, (p) => p.expectedAverageSpend),
    predictedClv: Float64Array.from(each, (p) => p.predictedClv),
  };
}

describe("a page of buyers' predictions", () => {
  const pool = new FitPool(1);
  afterAll(() => pool.close());

  it("is each buyer's own prediction, page after page, across fits and state days", () => {
    // The same buyers again under another fit or day: outlooks kept from before would be wrong there.
    const fits = fc.array(
      fc.record({
        model: fc.constantFrom(BGNBD, PARETO_NBD),
        daysLater: fc.constantFrom(0, 1),
        horizonDays: fc.constantFrom(365, 90),
        discountRate: fc.constantFrom(0.1, 0),
      }),
      { minLength: 2, maxLength: 4 },
    );
    fc.assert(
      fc.property(fc.array(buyer, { minLength: 1, maxLength: 40 }), fits, (buyers, runs) => {
        for (const { model, daysLater, horizonDays, discountRate } of runs) {
          const settings = settingsFor(model, addDays(STATE_DAY, daysLater), horizonDays, discountRate);
          // In two pages, then all of them again: the last page meets the outlooks the first two kept.
          const half = Math.ceil(buyers.length / 2);
          for (const page of [buyers.slice(0, half), buyers.slice(half), buyers])
            expect(predictBuyers({ settings, buyers: pageOf(page) })).toEqual(oneByOne(settings, page));
        }
      }),
      { numRuns: 60 },
    );
  });

  it("is the same worked out in the fit pool's worker", async () => {
    const buyers = fc.sample(buyer, { numRuns: 500, seed: 5 });
    for (const model of [BGNBD, PARETO_NBD]) {
      const settings = settingsFor(model);
      const input = { settings, buyers: pageOf(buyers) };
      expect(await pool.predictBuyers(input)).toEqual(oneByOne(settings, buyers));
    }
    // The fits counted are fits: pages of predictions are not.
    expect(pool.tasksStarted).toBe(0);
  });
});

// Lifetime value in the state store: at each refresh the purchase model and Gamma-Gamma are fitted on the
// state's buyers (the same grouped summaries and the same fit as clvModel's, services/lifecycle/clv.ts,
// read from customer_state instead of the warehouse) and every buyer's prediction is written to
// customer_clv. Predictions move every day for everyone (T grows), so they are written whole each time.
import { queryBuilt, storedDay, type AppSqlSession } from "../../appdb/app-sql.ts";
import { postgresDialect } from "../../connectors/postgres.ts";
import type { ClvFitInput, ClvFitOutput } from "../../lifecycle/clv/fit.ts";
import type { BgNbdParams } from "../../lifecycle/clv/bgnbd.ts";
import type { GammaGammaParams } from "../../lifecycle/clv/gamma-gamma.ts";
import type { ParetoNbdParams } from "../../lifecycle/clv/pareto-nbd.ts";
import {
  predictionOf,
  purchaseModel,
  purchaseOutlook,
  summaryOf,
  TIME_UNIT_DAYS,
  type PurchaseModelKind,
  type PurchaseOutlook,
  type TimeUnit,
} from "../../lifecycle/clv/predict.ts";
import type { CustomerFeatures } from "../../lifecycle/features.ts";
import { integer, sql, type Sql } from "../../sql/sql.ts";
import { clvFitInput, clvSummariesSql, type ClvSummaryRow } from "../lifecycle/clv.ts";

/** Fits a purchase model and Gamma-Gamma (the fit pool's workers in the server). */
export type ClvFitter = (input: ClvFitInput, signal?: AbortSignal) => Promise<ClvFitOutput>;

/** The predictions a state keeps: Customer.prediction's defaults, for the purchase model configured. */
export interface StateClvSettings {
  readonly model: PurchaseModelKind;
  readonly timeUnit: TimeUnit;
  readonly horizonDays: number;
  readonly discountRate: number;
}

export const STATE_CLV_DEFAULTS = { timeUnit: "WEEK", horizonDays: 365, discountRate: 0.1 } as const;

/** The fit whose predictions a published state holds (the pointer's clv column). */
export interface StoredClv extends StateClvSettings {
  /** Buyers summarised. */
  readonly customers: number;
  readonly sampleFraction: number;
  readonly purchases: BgNbdParams | ParetoNbdParams;
  readonly gammaGamma: GammaGammaParams;
}

/** Purchase outlooks kept for buyers who share one (the map is emptied when it reaches this). */
const MAX_SHARED_OUTLOOKS = 50_000;

/** Buyers read and written per page. */
const PAGE_ROWS = 10_000;

export const CUSTOMER_CLV_COLUMNS = [
  "rows_generation",
  "customer_id",
  "probability_alive",
  "expected_purchases",
  "expected_average_spend",
  "predicted_clv",
] as const;

function buyersOf(rowsGeneration: number): Sql {
  return sql`SELECT purchase_days, first_purchase_date, last_purchase_date, revenue, first_purchase_revenue
FROM customer_state WHERE rows_generation = ${integer(rowsGeneration)} AND purchase_days >= 1`;
}

/**
 * The fit on the buyers of `rowsGeneration` as of the state day, or why there is none. A function of its
 * own so the summaries (a million buyers: hundreds of thousands of groups) are garbage once it returns,
 * not held through the writing of every prediction.
 */
async function fitOnBuyers(
  session: AppSqlSession,
  rowsGeneration: number,
  stateDay: string,
  settings: StateClvSettings,
  fit: ClvFitter,
  signal?: AbortSignal,
): Promise<ClvFitOutput | { warning: string }> {
  const summaries = await queryBuilt<ClvSummaryRow>(
    session,
    clvSummariesSql(postgresDialect, buyersOf(rowsGeneration), stateDay),
  );
  if (summaries.length === 0) return { warning: "no lifetime value: no buyers on the state day" };
  try {
    return await fit(clvFitInput(summaries, settings.timeUnit, settings.model), signal);
  } catch (error) {
    if (signal?.aborted) throw error;
    return { warning: `no lifetime value: the fit failed (${(error as Error).message})` };
  }
}

/**
 * Fits on the buyers of `rowsGeneration` as of the state day and writes every buyer's prediction in
 * their place. Returns the fit, or a warning when there is none (too few buyers to fit, a failed fit):
 * the state is published without predictions then, and Customer.prediction is computed as before.
 */
export async function writeClv(
  session: AppSqlSession,
  rowsGeneration: number,
  stateDay: string,
  settings: StateClvSettings,
  fit: ClvFitter,
  signal?: AbortSignal,
): Promise<{ clv: StoredClv | null; warning?: string }> {
  await session.query(`DELETE FROM customer_clv WHERE rows_generation = $1`, [rowsGeneration]);
  const fitted = await fitOnBuyers(session, rowsGeneration, stateDay, settings, fit, signal);
  if ("warning" in fitted) return { clv: null, warning: fitted.warning };
  const purchases = fitted.bgnbd
    ? purchaseModel({ kind: "BG_NBD", params: fitted.bgnbd })
    : purchaseModel({ kind: "PARETO_NBD", params: fitted.paretoNbd! });
  const unitDays = TIME_UNIT_DAYS[settings.timeUnit];
  // Buyers sharing (x, t_x, T) share their purchase outlook: most of the work, done once per group.
  const outlooks = new Map<string, PurchaseOutlook>();
  let after = "";
  for (;;) {
    const page = await session.query(
      `SELECT customer_id, purchase_days, first_purchase_date, last_purchase_date, revenue, first_purchase_revenue
       FROM customer_state WHERE rows_generation = $1 AND purchase_days >= 1 AND customer_id > $2
       ORDER BY customer_id LIMIT ${PAGE_ROWS}`,
      [rowsGeneration, after],
    );
    if (page.length === 0) break;
    const rows: unknown[][] = [];
    for (const row of page) {
      const features = {
        purchaseDays: Number(row.purchase_days),
        firstPurchaseDate: storedDay(row.first_purchase_date),
        lastPurchaseDate: storedDay(row.last_purchase_date),
        revenue: Number(row.revenue),
        firstPurchaseRevenue: row.first_purchase_revenue === null ? null : Number(row.first_purchase_revenue),
      } as CustomerFeatures;
      const summary = summaryOf(features, stateDay, unitDays)!;
      const key = `${summary.x}|${features.firstPurchaseDate}|${features.lastPurchaseDate}`;
      let outlook = outlooks.get(key);
      if (!outlook) {
        outlook = purchaseOutlook(purchases, summary, unitDays, settings.horizonDays, settings.discountRate);
        // Bounded: at a million buyers most keys are distinct, and keeping them all held ~100 MB.
        if (outlooks.size >= MAX_SHARED_OUTLOOKS) outlooks.clear();
        outlooks.set(key, outlook);
      }
      const p = predictionOf(outlook, fitted.gammaGamma, summary);
      rows.push([
        rowsGeneration,
        row.customer_id,
        p.probabilityAlive,
        p.expectedPurchases,
        p.expectedAverageSpend,
        p.predictedClv,
      ]);
    }
    await session.copyRows(
      "customer_clv",
      CUSTOMER_CLV_COLUMNS,
      (async function* () {
        yield rows;
      })(),
    );
    after = String(page[page.length - 1]!.customer_id);
    if (page.length < PAGE_ROWS) break;
  }
  return {
    clv: {
      ...settings,
      customers: fitted.customers,
      sampleFraction: fitted.sampleFraction,
      purchases: (fitted.bgnbd ?? fitted.paretoNbd)!,
      gammaGamma: fitted.gammaGamma,
    },
  };
}

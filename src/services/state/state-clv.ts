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
  predictBuyers,
  type BuyerPage,
  type BuyerPredictionInput,
  type BuyerPredictions,
  type BuyerPredictionSettings,
} from "../../lifecycle/clv/buyer-predictions.ts";
import { TIME_UNIT_DAYS, type PurchaseModelKind, type TimeUnit } from "../../lifecycle/clv/predict.ts";
import { integer, sql, type Sql } from "../../sql/sql.ts";
import { clvFitInput, clvSummariesSql, type ClvSummaryRow } from "../lifecycle/clv.ts";

/** Fits a purchase model and Gamma-Gamma (the fit pool's workers in the server). */
export type ClvFitter = (input: ClvFitInput, signal?: AbortSignal) => Promise<ClvFitOutput>;

/** Works out a page of buyers' predictions (in the fit pool's workers in the server). */
export type BuyerPredictor = (input: BuyerPredictionInput, signal?: AbortSignal) => Promise<BuyerPredictions>;

/** In this thread, where no worker is given. */
const predictInThread: BuyerPredictor = async (input) => predictBuyers(input);

/** A page of customer_state rows as the columns predictions read. */
function buyerPage(rows: readonly Record<string, unknown>[]): BuyerPage {
  const n = rows.length;
  const page = {
    purchaseDays: new Float64Array(n),
    firstPurchaseDate: new Array<string>(n),
    lastPurchaseDate: new Array<string>(n),
    revenue: new Float64Array(n),
    firstPurchaseRevenue: new Float64Array(n),
  };
  rows.forEach((row, i) => {
    page.purchaseDays[i] = Number(row.purchase_days);
    page.firstPurchaseDate[i] = storedDay(row.first_purchase_date)!;
    page.lastPurchaseDate[i] = storedDay(row.last_purchase_date)!;
    page.revenue[i] = Number(row.revenue);
    page.firstPurchaseRevenue[i] = row.first_purchase_revenue === null ? NaN : Number(row.first_purchase_revenue);
  });
  return page;
}

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
  predict: BuyerPredictor = predictInThread,
): Promise<{ clv: StoredClv | null; warning?: string }> {
  await session.query(`DELETE FROM customer_clv WHERE rows_generation = $1`, [rowsGeneration]);
  const fitted = await fitOnBuyers(session, rowsGeneration, stateDay, settings, fit, signal);
  if ("warning" in fitted) return { clv: null, warning: fitted.warning };
  const predictionSettings: BuyerPredictionSettings = {
    purchases: fitted.bgnbd
      ? { kind: "BG_NBD", params: fitted.bgnbd }
      : { kind: "PARETO_NBD", params: fitted.paretoNbd! },
    gammaGamma: fitted.gammaGamma,
    stateDay,
    unitDays: TIME_UNIT_DAYS[settings.timeUnit],
    horizonDays: settings.horizonDays,
    discountRate: settings.discountRate,
  };
  try {
    await writePredictions(session, rowsGeneration, predictionSettings, predict, signal);
  } catch (error) {
    if (!(error instanceof PredictionsFailed) || signal?.aborted) throw error;
    // As a failed fit: the state is published without predictions, which are computed as before.
    await session.query(`DELETE FROM customer_clv WHERE rows_generation = $1`, [rowsGeneration]);
    return { clv: null, warning: `no lifetime value: the predictions failed (${error.message})` };
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

/** A page's predictions could not be worked out (a worker that failed, a pool closed): the session is fine. */
class PredictionsFailed extends Error {}

/**
 * Every buyer's prediction into customer_clv, 10,000 buyers a page, pipelined: while a page's
 * predictions are worked out (in a worker when there is one) the session reads the next page, then
 * writes this one's rows as the next page's are worked out.
 */
async function writePredictions(
  session: AppSqlSession,
  rowsGeneration: number,
  settings: BuyerPredictionSettings,
  predict: BuyerPredictor,
  signal?: AbortSignal,
): Promise<void> {
  const readPage = (after: string) =>
    session.query(
      `SELECT customer_id, purchase_days, first_purchase_date, last_purchase_date, revenue, first_purchase_revenue
       FROM customer_state WHERE rows_generation = $1 AND purchase_days >= 1 AND customer_id > $2
       ORDER BY customer_id LIMIT ${PAGE_ROWS}`,
      [rowsGeneration, after],
    );
  const predictPage = (page: Record<string, unknown>[]) => {
    const predicting = predict({ settings, buyers: buyerPage(page) }, signal).then(
      (p) => {
        if (p.predictedClv.length !== page.length)
          throw new PredictionsFailed(`a page of ${page.length} buyers came back with ${p.predictedClv.length}`);
        return p;
      },
      (error: Error) => {
        throw new PredictionsFailed(error.message, { cause: error });
      },
    );
    // Awaited only after the next page is read: a failure meanwhile must not count as unhandled.
    predicting.catch(() => {});
    return predicting;
  };
  let page = await readPage("");
  let predicting = page.length > 0 ? predictPage(page) : null;
  while (predicting) {
    const next = page.length === PAGE_ROWS ? await readPage(String(page[page.length - 1]!.customer_id)) : [];
    const p = await predicting;
    predicting = next.length > 0 ? predictPage(next) : null;
    const rows = page.map((row, i) => [
      rowsGeneration,
      row.customer_id,
      p.probabilityAlive[i],
      p.expectedPurchases[i],
      p.expectedAverageSpend[i],
      p.predictedClv[i],
    ]);
    await session.copyRows(
      "customer_clv",
      CUSTOMER_CLV_COLUMNS,
      (async function* () {
        yield rows;
      })(),
    );
    page = next;
  }
}

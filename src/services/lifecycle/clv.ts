// Customer lifetime value: BG/NBD or Pareto/NBD with Gamma-Gamma, fitted in worker threads on buyer
// summaries grouped in the warehouse, one shared run per (day, unit, model); and the holdout validation
// of a fit (its predictions against what the buyers did next).
import { currentRequestScope, runShared } from "../../request-scope.ts";
import { DomainError, InvalidInputError } from "../../errors.ts";
import { cast, integer, sql, type Sql } from "../../sql/sql.ts";
import { ACTIVITY_SOURCE } from "../../lifecycle/activity.ts";
import { asOfCutoff } from "../../lifecycle/calendar.ts";
import { activitySql } from "../../lifecycle/features-sql.ts";
import { ThinDataError } from "../../lifecycle/clv/bgnbd.ts";
import type { ClvFitInput, ClvFitOutput } from "../../lifecycle/clv/fit.ts";
import type { Dialect } from "../../sql/dialect.ts";
import { purchaseModel, TIME_UNIT_DAYS, type PurchaseModelKind, type TimeUnit } from "../../lifecycle/clv/predict.ts";
import { validateHoldout, type HoldoutData, type HoldoutValidation } from "../../lifecycle/clv/validation.ts";
import type { FitPool } from "../fit-pool.ts";
import type { CustomerFeatureService } from "./features.ts";
import { memo } from "./loaders.ts";

/** The fits (src/lifecycle/clv/fit.ts) with what they were asked for. */
export interface ClvModel extends ClvFitOutput {
  readonly asOf: string;
  readonly timeUnit: TimeUnit;
  /** The purchase model fitted (with Gamma-Gamma for spend). */
  readonly model: PurchaseModelKind;
}

/** One fit run, shared by the callers asking for it while it runs. */
interface SharedFit {
  readonly result: Promise<ClvModel>;
  /** Aborted when the last caller waiting has left. */
  readonly cancel: AbortController;
  waiting: number;
  settled: boolean;
}

/**
 * Distinct (asOf, timeUnit, model) fits one request may ask for. A fit takes a worker for up to about a
 * second (Pareto/NBD on the 50,000-buyer sample), and the workers are shared by every client: three
 * cover a dashboard comparing both models or a few days, while a request of a hundred aliases cannot
 * queue a hundred fits in front of everyone else's.
 */
export const MAX_CLV_FITS_PER_REQUEST = 3;

/** A request asked for more distinct fits than MAX_CLV_FITS_PER_REQUEST. */
export class TooManyFitsError extends DomainError {
  override name = "TooManyFitsError";
  readonly code = "QUERY_TOO_EXPENSIVE";
  override readonly tellsRequestId = true;
  constructor(readonly limit: number) {
    super(`a request may ask for at most ${limit} distinct lifetime-value fits (asOf, timeUnit, model)`);
  }

  override extensions() {
    return { maxClvFitsPerRequest: this.limit };
  }
}

export class ClvFits {
  constructor(
    private readonly lifecycle: CustomerFeatureService,
    private readonly fitPool: FitPool,
  ) {}

  private readonly clvFits = new Map<string, SharedFit>();

  /**
   * BG/NBD or Pareto/NBD, and Gamma-Gamma, fitted on the buyers as of the day. The warehouse returns the summaries
   * grouped (identical (x, t_x, T) with their count; repeat spend to the cent with its count), so a
   * large base costs a few thousand rows, not one per customer; the fits run in the fit pool's workers.
   * Fits are kept per (day, unit, model), and requests asking for one while it runs share that run.
   * A caller stops waiting when `signal` aborts (by default the request's: its deadline or the client
   * leaving); when no caller waits any more, the fit is cancelled.
   */
  clvModel(
    asOf: string,
    timeUnit: TimeUnit,
    model: PurchaseModelKind = "BG_NBD",
    signal: AbortSignal | undefined = currentRequestScope()?.signal,
  ): Promise<ClvModel> {
    const key = `${asOf}|${timeUnit}|${model}`;
    if (this.clvFits.size >= 100 && !this.clvFits.has(key)) this.clvFits.clear();
    const shared = memo(this.clvFits, key, () => {
      const cancel = new AbortController();
      // Outside the asking request's scope: its deadline or its client leaving must not end a fit that
      // others wait for (they leave one by one, below).
      // Its summaries query is queued as the asking key's, not as the shared lookups'.
      const caller = currentRequestScope()?.principal ?? "anonymous";
      const result = runShared(() => this.fitClv(asOf, timeUnit, model, cancel.signal), caller);
      const fit: SharedFit = { result, cancel, waiting: 0, settled: false };
      result.then(
        () => (fit.settled = true),
        // A failed fit (thin data, warehouse down, cancelled) is not remembered.
        () => {
          fit.settled = true;
          if (this.clvFits.get(key) === fit) this.clvFits.delete(key);
        },
      );
      return fit;
    });
    return this.awaitShared(key, shared, signal);
  }

  /** The shared fit's result for one caller, who leaves it when `signal` aborts; the last one out cancels it. */
  private awaitShared(key: string, fit: SharedFit, signal: AbortSignal | undefined): Promise<ClvModel> {
    if (fit.settled) return fit.result;
    fit.waiting++;
    return new Promise<ClvModel>((resolve, reject) => {
      let left = false;
      const leave = () => {
        if (left) return false;
        left = true;
        fit.waiting--;
        signal?.removeEventListener("abort", onAbort);
        return true;
      };
      const onAbort = () => {
        if (!leave()) return;
        reject(signal!.reason);
        if (fit.waiting === 0 && !fit.settled) {
          fit.cancel.abort(signal!.reason);
          if (this.clvFits.get(key) === fit) this.clvFits.delete(key);
        }
      };
      if (signal?.aborted) return onAbort();
      signal?.addEventListener("abort", onAbort, { once: true });
      fit.result.then(
        (value) => leave() && resolve(value),
        (error) => leave() && reject(error),
      );
    });
  }

  private async fitClv(
    asOf: string,
    timeUnit: TimeUnit,
    model: PurchaseModelKind,
    signal: AbortSignal,
  ): Promise<ClvModel> {
    const { dialect } = this.lifecycle.warehouse;
    // The summaries need purchases only: leaving customers and events out saves most of the work.
    const buyers = sql`SELECT * FROM (${this.lifecycle.features(asOf, undefined, { transactionsOnly: true })}) AS f WHERE f.purchase_days >= 1`;
    const rows = await this.lifecycle.warehouse.query<ClvSummaryRow>(clvSummariesSql(dialect, buyers, asOf), {
      // Cancelled with the fit: when nobody waits any more, the query stops holding its slot too.
      label: "clv_summaries",
      signal,
    });
    const fit = await this.fitPool.fit(clvFitInput(rows, timeUnit, model), signal);
    return { asOf, timeUnit, model, ...fit };
  }

  /**
   * The purchase model fitted on the calibration period (clvModel as of calibrationEnd, in weeks) and
   * its predictions for the holdout set against what the calibration buyers did in it
   * (lifecycle/clv/validation.ts). The buyers' summaries and holdout purchases come from the features
   * query as of either end (the query the fit's summaries come from, so the two cannot disagree), the
   * weekly repeat purchases from the activity query; both grouped in the warehouse. `fit` is where the calibration
   * fit comes from (a request's, to count it among the request's fits); `about` names the inputs the
   * dates came in, for the errors about them.
   */
  async clvValidation(
    q: ClvValidationQuestion,
    options: { fit?: ClvModelSource; about?: ClvValidationInputs } = {},
  ): Promise<ClvValidation> {
    const about = options.about ?? { calibrationEnd: "calibrationEnd", holdoutEnd: "holdoutEnd" };
    if (!(q.calibrationEnd < q.holdoutEnd)) {
      throw new InvalidInputError(
        `${about.holdoutEnd} (${q.holdoutEnd}) must be after ${about.calibrationEnd} (${q.calibrationEnd})`,
        { argument: about.holdoutEnd },
      );
    }
    const range = await this.lifecycle.dataRange();
    if (!range) throw new ThinDataError("the warehouse holds no data yet: there is nothing to validate on");
    // A holdout running past the data would hold days nobody could buy on yet: the actual purchases
    // would fall short of the predictions for want of data, not for a fault of the model.
    if (q.holdoutEnd > range.lastDay) {
      throw new InvalidInputError(
        `${about.holdoutEnd} (${q.holdoutEnd}) is after the last day with data (${range.lastDay})`,
        { argument: about.holdoutEnd },
      );
    }
    const { warehouse, timeZone } = this.lifecycle;
    const { dialect, mapping } = warehouse;
    const fields = (...names: string[]) => ({ transactionsOnly: true, fields: new Set(names) });
    const calibration = this.lifecycle.features(
      q.calibrationEnd,
      undefined,
      fields("purchaseDays", "firstPurchaseDate", "lastPurchaseDate", "revenue", "firstPurchaseRevenue"),
    );
    const holdout = this.lifecycle.features(q.holdoutEnd, undefined, fields("purchaseDays", "revenue"));
    const activity = activitySql({
      dialect,
      mapping,
      available: new Set(),
      cutoff: asOfCutoff(q.holdoutEnd, timeZone),
      timeZone,
      eventTypes: [],
      unordered: true,
    });
    const fitOf = options.fit ?? ((asOf, unit, model) => this.clvModel(asOf, unit, model));
    const [fit, holdoutRows, dayRows] = await Promise.all([
      fitOf(q.calibrationEnd, CLV_VALIDATION_UNIT, q.model),
      warehouse.query<ClvHoldoutRow>(clvHoldoutSql(dialect, calibration, holdout, q.calibrationEnd), {
        label: "clv_holdout",
      }),
      warehouse.query<ClvDayRow>(clvTrackingSql(dialect, activity, q.calibrationEnd), { label: "clv_tracking" }),
    ]);
    const purchases = fit.bgnbd
      ? purchaseModel({ kind: "BG_NBD", params: fit.bgnbd })
      : purchaseModel({ kind: "PARETO_NBD", params: fit.paretoNbd! });
    const data = clvHoldoutData(q, holdoutRows, dayRows);
    return { ...q, timeUnit: CLV_VALIDATION_UNIT, fit, ...validateHoldout(purchases, fit.gammaGamma, data) };
  }
}

/** What a holdout validation is asked. */
export interface ClvValidationQuestion {
  /** The calibration period's last day: the buyers and the fit as of that day. */
  readonly calibrationEnd: string;
  /** The holdout period's last day; it starts the day after calibrationEnd. */
  readonly holdoutEnd: string;
  readonly model: PurchaseModelKind;
}

/** The names of the inputs a validation's dates came in (GraphQL arguments, command-line options). */
export interface ClvValidationInputs {
  readonly calibrationEnd: string;
  readonly holdoutEnd: string;
}

/** A CLV fit for (asOf, unit, model). */
export type ClvModelSource = (asOf: string, timeUnit: TimeUnit, model: PurchaseModelKind) => Promise<ClvModel>;

/** Validations fit in weeks: the unit of the tracking series, and of the published CDNOW results. */
export const CLV_VALIDATION_UNIT: TimeUnit = "WEEK";

/** A holdout validation with what it was asked and the calibration fit its predictions come from. */
export interface ClvValidation extends ClvValidationQuestion, HoldoutValidation {
  readonly timeUnit: TimeUnit;
  readonly fit: ClvModel;
}

/**
 * A row of clvHoldoutSql: kind 0 an (x, t_x, T, holdout purchase days) group, kind 1 the spend sums of
 * the repeat buyers with x repeat purchases who bought in the holdout.
 */
export type ClvHoldoutRow = {
  kind: number;
  x: number;
  tx_days: number | null;
  t_days: number | null;
  y: number | null;
  zbar_sum: number | null;
  holdout_spend_sum: number | null;
  n: number;
};

/** A row of clvTrackingSql: kind 0 first purchases, kind 1 repeat purchase days, on a day after the calibration end. */
export type ClvDayRow = { kind: number; day_offset: number; n: number };

/**
 * Spends are summed as whole millionths: a sum of floats changes in its last bits with the order the
 * warehouse adds them in (from one run to the next on DuckDB's parallel aggregation), a sum of whole
 * numbers is exact (below 2^53, some 9 billion in currency units). Rounding costs under 5e-7 a customer.
 */
const SPEND_SUM_SCALE = 1_000_000;

/**
 * The calibration buyers (`calibration`: features as of calibrationEnd) with their holdout purchase days
 * and spend (`holdout`: purchase days and revenue as of the holdout end, less the calibration's), grouped:
 * (x, t_x, T, y) with their count, and per x the spend sums of those Gamma-Gamma applies to (mean repeat
 * spend above 0, as its fit takes) who bought in the holdout. x, t_x and T are clvSummariesSql's.
 */
export function clvHoldoutSql(dialect: Dialect, calibration: Sql, holdout: Sql, calibrationEnd: string): Sql {
  return sql`WITH s AS (
  SELECT c.purchase_days - 1 AS x, ${dialect.dayDiff(sql`c.first_purchase_date`, sql`c.last_purchase_date`)} AS tx_days,
         ${dialect.dayDiff(sql`c.first_purchase_date`, cast(calibrationEnd, "date"))} AS t_days,
         h.purchase_days - c.purchase_days AS y,
         CASE WHEN c.purchase_days >= 2 THEN (c.revenue - c.first_purchase_revenue) / (c.purchase_days - 1) END AS zbar,
         CASE WHEN h.purchase_days > c.purchase_days
           THEN (h.revenue - c.revenue) / (h.purchase_days - c.purchase_days) END AS holdout_spend
  FROM (${calibration}) AS c
  JOIN (${holdout}) AS h ON h.customer_id = c.customer_id
  WHERE c.purchase_days >= 1
)
SELECT ${integer(0)} AS kind, x, tx_days, t_days, y, ${cast(null, "float")} AS zbar_sum,
       ${cast(null, "float")} AS holdout_spend_sum, COUNT(*) AS n
FROM s GROUP BY x, tx_days, t_days, y
UNION ALL
SELECT ${integer(1)} AS kind, x, ${cast(null, "int")} AS tx_days, ${cast(null, "int")} AS t_days, ${cast(null, "float")} AS y,
       ${cast(sql`SUM(FLOOR(${integer(SPEND_SUM_SCALE)} * zbar + 0.5))`, "float")} AS zbar_sum,
       ${cast(sql`SUM(FLOOR(${integer(SPEND_SUM_SCALE)} * holdout_spend + 0.5))`, "float")} AS holdout_spend_sum, COUNT(*) AS n
FROM s WHERE zbar > 0 AND holdout_spend IS NOT NULL GROUP BY x`;
}

/**
 * Of the buyers whose first purchase day is on or before calibrationEnd: how many started on each day
 * (kind 0), and their repeat purchase days on each day up to the activity's cut-off (kind 1), each day as
 * days after calibrationEnd. A purchase day is a day of `activity` (activitySql) with an order: a day of
 * refunds only is none, as in the features.
 */
export function clvTrackingSql(dialect: Dialect, activity: Sql, calibrationEnd: string): Sql {
  const end = cast(calibrationEnd, "date");
  return sql`WITH purchase_days AS (
  SELECT a.customer_id, a.day FROM (${activity}) AS a
  WHERE a.source = ${integer(ACTIVITY_SOURCE.purchase)} AND a.orders > 0
),
buyers AS (
  SELECT customer_id, MIN(day) AS first_day FROM purchase_days GROUP BY customer_id
)
SELECT ${integer(0)} AS kind, d.day_offset, COUNT(*) AS n
FROM (SELECT ${dialect.dayDiff(end, sql`b.first_day`)} AS day_offset FROM buyers AS b WHERE b.first_day <= ${end}) AS d
GROUP BY d.day_offset
UNION ALL
SELECT ${integer(1)} AS kind, d.day_offset, COUNT(*) AS n
FROM (
  SELECT ${dialect.dayDiff(end, sql`p.day`)} AS day_offset
  FROM purchase_days AS p JOIN buyers AS b ON b.customer_id = p.customer_id
  WHERE b.first_day <= ${end} AND p.day > b.first_day
) AS d
GROUP BY d.day_offset`;
}

/** What validateHoldout is given, from the rows in one order whatever order the database sent them. */
export function clvHoldoutData(
  q: ClvValidationQuestion,
  holdoutRows: readonly ClvHoldoutRow[],
  dayRows: readonly ClvDayRow[],
): HoldoutData {
  // Sums over the groups in one order: the same figures, to the last bit, on every warehouse.
  const groups = holdoutRows
    .filter((r) => Number(r.kind) === 0)
    .map((r) => ({
      x: Number(r.x),
      txDays: Number(r.tx_days),
      tDays: Number(r.t_days),
      holdoutPurchases: Number(r.y),
      count: Number(r.n),
    }))
    .sort((a, b) => a.x - b.x || a.txDays - b.txDays || a.tDays - b.tDays || a.holdoutPurchases - b.holdoutPurchases);
  const spend = holdoutRows
    .filter((r) => Number(r.kind) === 1)
    .map((r) => ({
      x: Number(r.x),
      count: Number(r.n),
      zbarSum: Number(r.zbar_sum) / SPEND_SUM_SCALE,
      holdoutSpendSum: Number(r.holdout_spend_sum) / SPEND_SUM_SCALE,
    }))
    .sort((a, b) => a.x - b.x);
  const days = (kind: number) =>
    dayRows
      .filter((r) => Number(r.kind) === kind)
      .map((r) => ({ day: Number(r.day_offset), count: Number(r.n) }))
      .sort((a, b) => a.day - b.day);
  return {
    calibrationEnd: q.calibrationEnd,
    holdoutEnd: q.holdoutEnd,
    unitDays: TIME_UNIT_DAYS[CLV_VALIDATION_UNIT],
    groups,
    spend,
    firstPurchases: days(0),
    repeatPurchases: days(1),
  };
}

/** A row of clvSummariesSql: kind 0 an (x, t_x, T) group, kind 1 an (x, mean repeat spend) group. */
export type ClvSummaryRow = {
  kind: number;
  x: number;
  tx_days: number | null;
  t_days: number | null;
  zbar_cents: number | null;
  n: number;
};

/**
 * The CLV summaries of `buyers` (rows with purchase_days ≥ 1, first and last purchase dates, revenue and
 * first purchase revenue) as of a day, grouped: what a fit reads, whichever database holds the buyers.
 */
export function clvSummariesSql(dialect: Dialect, buyers: Sql, asOf: string): Sql {
  // One query for both summaries: the buyers are summarised once (a CTE used twice), then grouped
  // two ways; kind 0 rows are (x, t_x, T) groups, kind 1 rows (x, mean repeat spend) groups of buyers
  // whose repeat purchases net of refunds are positive (what Gamma-Gamma is fitted on).
  // The mean repeat spend is grouped in whole cents, rounded half up: the repeat revenue first to whole
  // cents (float sums differ in their last bits between warehouses and summation orders), then its
  // mean, by FLOOR(v + 0.5) because ROUND breaks ties differently per warehouse (PostgreSQL's
  // round(float8) to even, BigQuery and DuckDB away from zero).
  return sql`WITH s AS (
  SELECT b.purchase_days - 1 AS x, ${dialect.dayDiff(sql`b.first_purchase_date`, sql`b.last_purchase_date`)} AS tx_days,
         ${dialect.dayDiff(sql`b.first_purchase_date`, cast(asOf, "date"))} AS t_days,
         CASE WHEN b.purchase_days >= 2
           THEN ${cast(sql`FLOOR(FLOOR(100 * (b.revenue - b.first_purchase_revenue) + 0.5) / (b.purchase_days - 1) + 0.5)`, "float")} END AS zbar_cents
  FROM (${buyers}) AS b
)
SELECT ${integer(0)} AS kind, x, tx_days, t_days, ${cast(null, "float")} AS zbar_cents, COUNT(*) AS n
FROM s GROUP BY x, tx_days, t_days
UNION ALL
SELECT ${integer(1)} AS kind, x, ${cast(null, "int")} AS tx_days, ${cast(null, "int")} AS t_days, zbar_cents, COUNT(*) AS n
FROM s WHERE zbar_cents > 0 GROUP BY x, zbar_cents`;
}

/** What a fit is given, from the summary rows in one order whatever order the database sent them. */
export function clvFitInput(rows: readonly ClvSummaryRow[], timeUnit: TimeUnit, model: PurchaseModelKind): ClvFitInput {
  // The likelihood sums the groups in this order, and an ill-conditioned fit (few buyers) amplifies the
  // last bits of that sum.
  const recency = rows
    .filter((r) => Number(r.kind) === 0)
    .map((r) => ({ x: Number(r.x), txDays: Number(r.tx_days), tDays: Number(r.t_days), count: Number(r.n) }))
    .sort((p, q) => p.x - q.x || p.txDays - q.txDays || p.tDays - q.tDays);
  const spend = rows
    .filter((r) => Number(r.kind) === 1)
    .map((r) => ({ x: Number(r.x), zbarCents: Number(r.zbar_cents), count: Number(r.n) }))
    .sort((p, q) => p.x - q.x || p.zbarCents - q.zbarCents);
  return { timeUnit, model, recency, spend };
}

// Customer lifetime value: BG/NBD or Pareto/NBD with Gamma-Gamma, fitted in worker threads on buyer
// summaries grouped in the warehouse, one shared run per (day, unit, model).
import { currentRequestScope, runShared } from "../../request-scope.ts";
import { DomainError } from "../../errors.ts";
import { cast, integer, sql, type Sql } from "../../sql/sql.ts";
import type { ClvFitInput, ClvFitOutput } from "../../lifecycle/clv/fit.ts";
import type { Dialect } from "../../sql/dialect.ts";
import type { PurchaseModelKind, TimeUnit } from "../../lifecycle/clv/predict.ts";
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
  // two ways; kind 0 rows are (x, t_x, T) groups, kind 1 rows (x, mean repeat spend) groups.
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
FROM s WHERE zbar_cents IS NOT NULL GROUP BY x, zbar_cents`;
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

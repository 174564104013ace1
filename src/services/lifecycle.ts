// The lifecycle service: customer features and stages as of a day, computed in the warehouse, with
// per-request batching of single-customer lookups.
import { currentRequestScope, runShared } from "../request-scope.ts";
import { GuardedWarehouse } from "../warehouse/guarded-warehouse.ts";
import { refusedTextReason } from "../input-text.ts";
import { DomainError } from "../errors.ts";
import { fetchIsolatingFailures, isValueRejection } from "./isolated-batch.ts";
import DataLoader from "dataloader";
import type { TableStatus, WarehouseConnector } from "../connectors/connector.ts";
import type { LogicalTable } from "../sql/contract.ts";
import {
  dayDiff,
  featuresSql,
  inList,
  type CustomerRange,
  instant,
  medianAggregate,
  medianWindow,
} from "../lifecycle/features-sql.ts";
import { cast, ident, integer, join, sql, typeName, type Sql } from "../sql/sql.ts";
import { addDays, asOfCutoff, today } from "../lifecycle/calendar.ts";
import { FEATURES, FEATURE_BY_FIELD, type CustomerFeatures, type FeatureField } from "../lifecycle/features.ts";
import type { ClvFitOutput } from "../lifecycle/clv/fit.ts";
import type { PurchaseModelKind, TimeUnit } from "../lifecycle/clv/predict.ts";
import { FitPool } from "./fit-pool.ts";
import { quintileSql, RfmSegments, type RfmScore } from "../lifecycle/rfm.ts";
import type { RuleSqlContext } from "../lifecycle/rule-sql.ts";
import { CompiledStageModel, type Stage, type StageModel } from "../lifecycle/stage-model.ts";

export interface StageCount {
  readonly stage: Stage;
  readonly count: number;
}

export interface Transaction {
  readonly customerId: string;
  readonly occurredAt: Date;
  readonly amount: number;
  readonly orderId: string | null;
  readonly channel: string | null;
}

/** Buyers with one RFM code, aggregated in the warehouse. */
export interface RfmCell {
  readonly recency: number;
  readonly frequency: number;
  readonly monetary: number;
  readonly customers: number;
  readonly revenue: number;
}

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

export interface StageTiming {
  readonly stage: Stage;
  /** Entries into the stage seen on the snapshot days of the period. */
  readonly entries: number;
  readonly meanDaysFromFirstSeen: number | null;
  readonly medianDaysFromFirstSeen: number | null;
  /** Over entries of customers who had bought by then. */
  readonly meanDaysFromFirstPurchase: number | null;
  readonly medianDaysFromFirstPurchase: number | null;
}

/** The most snapshot days one stage-timing question may ask for. */
export const MAX_TIMING_SNAPSHOTS = 60;

export interface StageTransition {
  /** null: not yet known at `from`. */
  readonly from: Stage | null;
  readonly to: Stage;
  readonly count: number;
}

/** Reads feature columns of the relation aliased `f`. */
export const featureColumns: RuleSqlContext = {
  column: (field) => ident("f", FEATURE_BY_FIELD.get(field)!.column),
};

/** The value kept under `key`, made by `create` the first time it is asked for. */
function memo<K, V>(map: Map<K, V>, key: K, create: () => V): V {
  let value = map.get(key);
  if (value === undefined) {
    value = create();
    map.set(key, value);
  }
  return value;
}

/**
 * A loader over a batch query that returns what it found by id; ids it did not find get `missing`, ids
 * mapped to an Error fail alone.
 */
function loaderOf<V>(
  fetch: (ids: readonly string[]) => Promise<Map<string, V | Error>>,
  missing: V,
  options: DataLoader.Options<string, V> = {},
): DataLoader<string, V> {
  return new DataLoader(
    async (ids) => {
      const found = await fetch(ids);
      return ids.map((id) => found.get(id) ?? missing);
    },
    { maxBatchSize: 10_000, ...options },
  );
}

function emptyTiming(stage: Stage): StageTiming {
  return {
    stage,
    entries: 0,
    meanDaysFromFirstSeen: null,
    medianDaysFromFirstSeen: null,
    meanDaysFromFirstPurchase: null,
    medianDaysFromFirstPurchase: null,
  };
}

/**
 * A warehouse row (feature columns) as CustomerFeatures: null stays null, numbers become JS numbers,
 * the rest text. Generated once from the catalog as one object literal, so every object has the same
 * shape with its fields in the object itself; objects grown field by field in a loop made the
 * classifier 3× slower over them (bench/classifier.ts: 2.6M vs 8–10M customers/s).
 */
export const toFeatures: (row: Record<string, unknown>) => CustomerFeatures = (() => {
  const plain = /^[a-z][A-Za-z0-9_]*$/; // the catalog's own names; checked, as they become source
  const fields = FEATURES.map((f) => {
    if (!plain.test(f.field) || !plain.test(f.column)) throw new Error(`feature name not plain: ${f.field}`);
    const convert = f.type === "number" ? "Number" : "String";
    return `${f.field}: row.${f.column} == null ? null : ${convert}(row.${f.column})`;
  });
  // eslint-disable-next-line @typescript-eslint/no-implied-eval -- built from the static catalog above
  return new Function(`return (row) => ({ customerId: String(row.customer_id), ${fields.join(", ")} });`)();
})();

export class LifecycleService {
  readonly model: CompiledStageModel;

  constructor(
    readonly warehouse: WarehouseConnector,
    stageModel: StageModel,
    readonly timeZone: string,
    /** Optional contract tables present and complete. */
    readonly available: ReadonlySet<LogicalTable>,
    readonly rfm: RfmSegments = new RfmSegments(),
    /** The events.type of survey answers (value 0–10) that NPS and satisfaction read. */
    readonly surveyEventType = "nps",
    /** Where CLV fits run (worker threads, started at the first fit). */
    readonly fitPool = new FitPool(),
  ) {
    this.model = new CompiledStageModel(stageModel);
    this.stageFields = this.model.fieldsRead() as Set<FeatureField>;
  }

  /** The features the stage rules read: all a query that only classifies needs computed. */
  private readonly stageFields: ReadonlySet<FeatureField>;

  /** The features relation with only the stage rules' features (plus `extra`), for classifying in SQL. */
  stagedFeatures(asOf: string, extra: Iterable<FeatureField> = [], customerRange?: CustomerRange): Sql {
    return this.features(asOf, undefined, { fields: new Set([...this.stageFields, ...extra]), customerRange });
  }

  /** Learns which optional tables the warehouse has, once, at start-up (from `statuses` when known). */
  static async open(
    warehouse: WarehouseConnector,
    stageModel: StageModel,
    timeZone: string,
    options: { statuses?: readonly TableStatus[]; rfm?: RfmSegments; surveyEventType?: string; fitPool?: FitPool } = {},
  ): Promise<LifecycleService> {
    const statuses = options.statuses ?? (await warehouse.tableStatus());
    const available = new Set(statuses.filter((s) => s.present && s.missingColumns.length === 0).map((s) => s.logical));
    return new LifecycleService(
      warehouse,
      stageModel,
      timeZone,
      available,
      options.rfm,
      options.surveyEventType,
      options.fitPool,
    );
  }

  /** Ends the fit workers (the warehouse belongs to whoever opened it). */
  async close(): Promise<void> {
    await this.fitPool.close();
  }

  today(): string {
    return today(this.timeZone);
  }

  /** The features relation as of the day (one row per known customer), for queries built on it. */
  features(
    asOf: string,
    customerIds?: readonly string[],
    options: { transactionsOnly?: boolean; fields?: ReadonlySet<FeatureField>; customerRange?: CustomerRange } = {},
  ): Sql {
    return featuresSql({
      customerRange: options.customerRange,
      fields: options.fields,
      dialect: this.warehouse.dialect,
      mapping: this.warehouse.mapping,
      // Without the optional tables only buyers are known, and only purchase features are computed.
      available: options.transactionsOnly ? new Set() : this.available,
      asOf,
      cutoff: asOfCutoff(asOf, this.timeZone),
      timeZone: this.timeZone,
      customerIds,
    });
  }

  /** Features of some customers in one warehouse query; unknown ids are absent from the map. */
  async featuresOf(asOf: string, customerIds: readonly string[]): Promise<Map<string, CustomerFeatures>> {
    if (customerIds.length === 0) return new Map();
    const options = { label: "customer_features", asOf };
    const build = (ids: readonly string[]) => this.features(asOf, ids);
    // Behind the server's guard, each customer's features are cached on their own (lookups at a high
    // rate batch different ids every time); elsewhere (tests, the CLI without a cache) one query.
    const rows =
      this.warehouse instanceof GuardedWarehouse
        ? await this.warehouse.queryPerKey(customerIds, build, (row) => String(row.customer_id), options)
        : await this.warehouse.query(build(customerIds), options);
    return new Map(rows.map((row) => [String(row.customer_id), toFeatures(row)]));
  }

  /**
   * Transactions of some customers known at asOf, oldest first, rows offset+1 … offset+limit of each
   * customer, in one query.
   */
  async transactionsOf(
    asOf: string,
    customerIds: readonly string[],
    offset: number,
    limit: number,
  ): Promise<Map<string, Transaction[]>> {
    const out = new Map<string, Transaction[]>(customerIds.map((id) => [id, []]));
    if (customerIds.length === 0) return out;
    const { mapping, dialect } = this.warehouse;
    const columns = mapping.tables.transactions.columns;
    const c = (name: string) => ident("t", columns[name]);
    const ordering = sql`${c("occurred_at")}, ${c("order_id")}, ${c("amount")}, ${c("channel")}`;
    const rows = await this.warehouse.query<{
      customer_id: string;
      occurred_at: Date;
      amount: number;
      order_id: string | null;
      channel: string | null;
    }>(
      sql`SELECT * FROM (
  SELECT CAST(${c("customer_id")} AS ${typeName("text")}) AS customer_id, ${c("occurred_at")} AS occurred_at,
         ${cast(c("amount"), "float")} AS amount, ${c("order_id")} AS order_id, ${c("channel")} AS channel,
         ROW_NUMBER() OVER (PARTITION BY ${c("customer_id")} ORDER BY ${ordering}) AS rn
  FROM ${ident(mapping.schema, mapping.tables.transactions.table)} AS t
  WHERE ${c("occurred_at")} < ${instant(dialect, asOfCutoff(asOf, this.timeZone))}
    AND ${inList(dialect, c("customer_id"), customerIds)}
) AS x
WHERE rn > ${offset} AND rn <= ${offset + limit}
ORDER BY customer_id, rn`,
      { label: "customer_transactions" },
    );
    for (const row of rows) {
      out.get(String(row.customer_id))?.push({
        customerId: String(row.customer_id),
        occurredAt: row.occurred_at instanceof Date ? row.occurred_at : new Date(String(row.occurred_at)),
        amount: Number(row.amount),
        orderId: row.order_id,
        channel: row.channel,
      });
    }
    return out;
  }

  /** RFM scores of every buyer as of the day (a relation: customer_id, revenue, r, fq, m). */
  rfmScored(asOf: string): Sql {
    return sql`SELECT f.customer_id AS customer_id, f.revenue AS revenue,
       ${quintileSql(sql`f.recency_days DESC`)} AS r,
       ${quintileSql(sql`f.purchase_days ASC`)} AS fq,
       ${quintileSql(sql`f.revenue ASC`)} AS m
FROM (${this.features(asOf)}) AS f
WHERE f.purchase_days >= 1`;
  }

  /** RFM scores of some customers (ranked among all buyers), in one query; prospects and unknown ids are absent. */
  async rfmOf(asOf: string, customerIds: readonly string[]): Promise<Map<string, RfmScore>> {
    if (customerIds.length === 0) return new Map();
    const rows = await this.warehouse.query<{ customer_id: string; r: number; fq: number; m: number }>(
      sql`SELECT customer_id, r, fq, m FROM (${this.rfmScored(asOf)}) AS s WHERE ${inList(this.warehouse.dialect, sql`s.customer_id`, customerIds)}`,
      { label: "customer_rfm" },
    );
    return new Map(
      rows.map((row) => [String(row.customer_id), this.rfm.score(Number(row.r), Number(row.fq), Number(row.m))]),
    );
  }

  /**
   * Buyers and revenue per RFM code as of the day (at most 125 rows), grouped in the warehouse. With
   * `members` (a relation with a customer_id column, e.g. a segment's members on asOf) only those buyers
   * are counted; their scores are still ranked among all buyers.
   */
  async rfmCells(asOf: string, members?: Sql): Promise<RfmCell[]> {
    const only = members ? sql` WHERE s.customer_id IN (SELECT m.customer_id FROM (${members}) AS m)` : sql``;
    const rows = await this.warehouse.query<{ r: number; fq: number; m: number; n: number; revenue: number }>(
      sql`SELECT r, fq, m, COUNT(*) AS n, SUM(revenue) AS revenue FROM (${this.rfmScored(asOf)}) AS s${only} GROUP BY r, fq, m`,
      { label: "rfm_cells" },
    );
    return rows
      .map((row) => ({
        recency: Number(row.r),
        frequency: Number(row.fq),
        monetary: Number(row.m),
        customers: Number(row.n),
        revenue: Number(row.revenue),
      }))
      .sort((a, b) => b.recency - a.recency || b.frequency - a.frequency || b.monetary - a.monetary);
  }

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
    const { dialect } = this.warehouse;
    // The summaries need purchases only: leaving customers and events out saves most of the work.
    const buyers = sql`SELECT * FROM (${this.features(asOf, undefined, { transactionsOnly: true })}) AS f WHERE f.purchase_days >= 1`;
    // One query for both summaries: the buyers are summarised once (a CTE used twice), then grouped
    // two ways; kind 0 rows are (x, t_x, T) groups, kind 1 rows (x, mean repeat spend) groups.
    const rows = await this.warehouse.query<{
      kind: number;
      x: number;
      tx_days: number | null;
      t_days: number | null;
      zbar_cents: number | null;
      n: number;
    }>(
      sql`WITH s AS (
  SELECT b.purchase_days - 1 AS x, ${dayDiff(dialect, sql`b.first_purchase_date`, sql`b.last_purchase_date`)} AS tx_days,
         ${dayDiff(dialect, sql`b.first_purchase_date`, cast(asOf, "date"))} AS t_days,
         CASE WHEN b.purchase_days >= 2
           THEN ${cast(sql`ROUND(100 * (b.revenue - b.first_purchase_revenue) / (b.purchase_days - 1))`, "float")} END AS zbar_cents
  FROM (${buyers}) AS b
)
SELECT ${integer(0)} AS kind, x, tx_days, t_days, ${cast(null, "float")} AS zbar_cents, COUNT(*) AS n
FROM s GROUP BY x, tx_days, t_days
UNION ALL
SELECT ${integer(1)} AS kind, x, ${cast(null, "int")} AS tx_days, ${cast(null, "int")} AS t_days, zbar_cents, COUNT(*) AS n
FROM s WHERE zbar_cents IS NOT NULL GROUP BY x, zbar_cents`,
      // Cancelled with the fit: when nobody waits any more, the query stops holding its slot too.
      { label: "clv_summaries", signal },
    );
    const recency = rows
      .filter((r) => Number(r.kind) === 0)
      .map((r) => ({ x: Number(r.x), txDays: Number(r.tx_days), tDays: Number(r.t_days), count: Number(r.n) }));
    const spend = rows
      .filter((r) => Number(r.kind) === 1)
      .map((r) => ({ x: Number(r.x), zbarCents: Number(r.zbar_cents), count: Number(r.n) }));
    const fit = await this.fitPool.fit({ timeUnit, model, recency, spend }, signal);
    return { asOf, timeUnit, model, ...fit };
  }

  /** How many customers are in each stage, every stage listed (display order), computed in the warehouse. */
  async stageCounts(asOf: string): Promise<StageCount[]> {
    const stageIndex = this.model.stageIndexSql(featureColumns);
    const rows = await this.warehouse.query<{ stage_index: number; n: number }>(
      sql`SELECT ${stageIndex} AS stage_index, COUNT(*) AS n FROM (${this.stagedFeatures(asOf)}) AS f GROUP BY 1`,
      { label: "stage_counts", asOf },
    );
    const counts = new Map(rows.map((r) => [Number(r.stage_index), Number(r.n)]));
    return this.model.stages.map((stage, i) => ({ stage, count: counts.get(i) ?? 0 }));
  }

  /**
   * Customers in a stage with their features, by id, after the cursor id: the page's ids over only the
   * stage rules' features, then those customers' features (each cached on its own behind the guard).
   */
  async stageMembers(asOf: string, stageKey: string, first: number, afterId?: string): Promise<CustomerFeatures[]> {
    const index = this.model.indexOf(stageKey);
    if (index === undefined) return [];
    const stageIndex = this.model.stageIndexSql(featureColumns);
    const after = afterId === undefined ? sql`` : sql` AND f.customer_id > ${afterId}`;
    const rows = await this.warehouse.query<{ customer_id: string }>(
      sql`SELECT f.customer_id AS customer_id FROM (${this.stagedFeatures(asOf)}) AS f
WHERE ${stageIndex} = ${integer(index)}${after}
ORDER BY f.customer_id LIMIT ${first}`,
      { label: "stage_members", asOf },
    );
    return this.featuresInOrder(
      asOf,
      rows.map((row) => String(row.customer_id)),
    );
  }

  /** Features of customers just found on asOf, in the order given (all must be known that day). */
  async featuresInOrder(asOf: string, ids: readonly string[]): Promise<CustomerFeatures[]> {
    const features = await this.featuresOf(asOf, ids);
    return ids.map((id) => {
      const found = features.get(id);
      // Both queries read the same data as of the same day; a customer missing in the second means
      // the warehouse changed in between.
      if (!found) throw new Error(`customer ${id} has no features as of ${asOf}: did the data change?`);
      return found;
    });
  }

  /**
   * How many customers moved from each stage at `from` to each stage at `to`: every customer known on
   * `to`, or only those of `membersOnTo` (a relation with customer_id and stage_index columns on `to`,
   * as SegmentService.members builds for a segment).
   */
  async transitions(from: string, to: string, membersOnTo?: Sql): Promise<StageTransition[]> {
    const stageIndex = this.model.stageIndexSql(featureColumns);
    const staged = (asOf: string) =>
      sql`SELECT f.customer_id AS customer_id, ${stageIndex} AS stage_index FROM (${this.stagedFeatures(asOf)}) AS f`;
    const second = membersOnTo
      ? sql`SELECT m.customer_id AS customer_id, m.stage_index AS stage_index FROM (${membersOnTo}) AS m`
      : staged(to);
    const rows = await this.warehouse.query<{ from_index: number | null; to_index: number; n: number }>(
      sql`SELECT a.stage_index AS from_index, b.stage_index AS to_index, COUNT(*) AS n
FROM (${second}) AS b LEFT JOIN (${staged(from)}) AS a ON a.customer_id = b.customer_id
GROUP BY 1, 2`,
      { label: "stage_transitions" },
    );
    return rows
      .map((r) => ({
        from: r.from_index === null ? null : this.model.stages[Number(r.from_index)]!,
        to: this.model.stages[Number(r.to_index)]!,
        count: Number(r.n),
      }))
      .sort((a, b) => (a.from?.order ?? 0) - (b.from?.order ?? 0) || a.to.order - b.to.order);
  }

  /**
   * How long customers take to reach each stage. Stages are evaluated on snapshot days: `from`, then
   * every `stepDays` up to `to`. A customer enters a stage on the first snapshot where they are in it
   * after being elsewhere (or unknown) on the one before; the entry day is that snapshot day, so it is
   * exact to within `stepDays`. Days are counted from firstSeenDate and from firstPurchaseDate.
   */
  async stageTimings(from: string, to: string, stepDays: number): Promise<StageTiming[]> {
    const snapshots: string[] = [];
    for (let day = from; day <= to; day = addDays(day, stepDays)) snapshots.push(day);
    if (snapshots.length < 2) return this.model.stages.map((stage) => emptyTiming(stage));
    const { dialect } = this.warehouse;
    const stageIndex = this.model.stageIndexSql(featureColumns);
    const staged = snapshots.map(
      (
        day,
        k,
      ) => sql`SELECT f.customer_id AS customer_id, ${stageIndex} AS stage_index, f.first_seen_date AS first_seen_date,
       f.first_purchase_date AS first_purchase_date, ${cast(day, "date")} AS snapshot_day, ${integer(k)} AS k
FROM (${this.stagedFeatures(day, ["firstSeenDate", "firstPurchaseDate"])}) AS f`,
    );
    const moves = sql`SELECT customer_id, stage_index, snapshot_day, first_seen_date, first_purchase_date, k,
       LAG(stage_index) OVER (PARTITION BY customer_id ORDER BY k) AS previous_index
FROM (${join(staged, "\nUNION ALL\n")}) AS s`;
    const entries = sql`SELECT stage_index,
       ${cast(dayDiff(dialect, sql`first_seen_date`, sql`snapshot_day`), "float")} AS from_seen,
       ${cast(dayDiff(dialect, sql`first_purchase_date`, sql`snapshot_day`), "float")} AS from_purchase
FROM (${moves}) AS m
WHERE k > 0 AND (previous_index IS NULL OR previous_index <> stage_index)`;
    const query =
      dialect.name === "bigquery"
        ? sql`SELECT stage_index, COUNT(*) AS n, AVG(from_seen) AS mean_seen, ANY_VALUE(median_seen) AS median_seen,
       AVG(from_purchase) AS mean_purchase, ANY_VALUE(median_purchase) AS median_purchase
FROM (SELECT e.*, ${medianWindow(dialect, sql`from_seen`, sql`stage_index`)} AS median_seen,
             ${medianWindow(dialect, sql`from_purchase`, sql`stage_index`)} AS median_purchase
      FROM (${entries}) AS e) AS x
GROUP BY stage_index`
        : sql`SELECT stage_index, COUNT(*) AS n, AVG(from_seen) AS mean_seen, ${medianAggregate(dialect, sql`from_seen`)} AS median_seen,
       AVG(from_purchase) AS mean_purchase, ${medianAggregate(dialect, sql`from_purchase`)} AS median_purchase
FROM (${entries}) AS e
GROUP BY stage_index`;
    const rows = await this.warehouse.query<Record<string, number | null>>(query, { label: "stage_timings" });
    const byIndex = new Map(rows.map((r) => [Number(r.stage_index), r]));
    const num = (v: unknown) => (v === null || v === undefined ? null : Number(v));
    return this.model.stages.map((stage, i) => {
      const r = byIndex.get(i);
      if (!r) return emptyTiming(stage);
      return {
        stage,
        entries: Number(r.n),
        meanDaysFromFirstSeen: num(r.mean_seen),
        medianDaysFromFirstSeen: num(r.median_seen),
        meanDaysFromFirstPurchase: num(r.mean_purchase),
        medianDaysFromFirstPurchase: num(r.median_purchase),
      };
    });
  }

  /**
   * Features of a batch that mixes clients' ids: ids no warehouse can hold (input-text.ts) are not sent
   * (no customer has them), and a query the warehouse refuses over a bound id is split until only the
   * refused ids fail (isolated-batch.ts), so one client's bad id fails its own lookup and no other.
   */
  featuresIsolating(asOf: string, customerIds: readonly string[]): Promise<Map<string, CustomerFeatures | Error>> {
    const sendable = customerIds.filter((id) => refusedTextReason(id) === undefined);
    return fetchIsolatingFailures(sendable, (ids) => this.featuresOf(asOf, ids), isValueRejection);
  }

  // Batches lookups across concurrent requests: no cache (each request keeps its own), only batching.
  private readonly sharedFeatureBatches = new Map<string, DataLoader<string, CustomerFeatures | null>>();

  /**
   * Features of one customer, batched with every other lookup for the same day made in this turn of
   * the event loop, whichever request made it.
   */
  batchedFeatures(asOf: string): DataLoader<string, CustomerFeatures | null> {
    if (this.sharedFeatureBatches.size >= 1_000 && !this.sharedFeatureBatches.has(asOf))
      this.sharedFeatureBatches.clear();
    return memo(this.sharedFeatureBatches, asOf, () =>
      loaderOf((ids) => runShared(() => this.featuresIsolating(asOf, ids)), null, {
        cache: false,
        batchScheduleFn: (dispatch) => setImmediate(dispatch),
      }),
    );
  }

  /** Per-request loaders: lookups of one operation (and of one tick) share one warehouse query per asOf. */
  forRequest(): LifecycleRequest {
    return new LifecycleRequest(this);
  }
}

export class LifecycleRequest {
  private readonly featureLoaders = new Map<string, DataLoader<string, CustomerFeatures | null>>();
  private readonly stageCountCache = new Map<string, Promise<StageCount[]>>();
  private readonly transactionLoaders = new Map<string, DataLoader<string, Transaction[]>>();
  private readonly rfmLoaders = new Map<string, DataLoader<string, RfmScore | null>>();
  private readonly clvFits = new Map<string, Promise<ClvModel>>();

  constructor(readonly service: LifecycleService) {}

  features(asOf: string): DataLoader<string, CustomerFeatures | null> {
    // Caches within the request; the batch goes to the service's cross-request batcher.
    return memo(this.featureLoaders, asOf, () => {
      const shared = this.service.batchedFeatures(asOf);
      return new DataLoader((ids) => shared.loadMany(ids), { maxBatchSize: 10_000 });
    });
  }

  /** RFM scores: one query per day for every customer of the request asking for it. */
  rfm(asOf: string): DataLoader<string, RfmScore | null> {
    return memo(this.rfmLoaders, asOf, () => loaderOf((ids) => this.service.rfmOf(asOf, ids), null));
  }

  /** Transactions pages: one query per (asOf, page window) for all customers asking for it. */
  transactions(asOf: string, offset: number, limit: number): DataLoader<string, Transaction[]> {
    return memo(this.transactionLoaders, `${asOf}|${offset}|${limit}`, () =>
      loaderOf((ids) => this.service.transactionsOf(asOf, ids, offset, limit), []),
    );
  }

  stageCounts(asOf: string): Promise<StageCount[]> {
    return memo(this.stageCountCache, asOf, () => this.service.stageCounts(asOf));
  }

  /** The service's fit, at most MAX_CLV_FITS_PER_REQUEST distinct ones per request (TooManyFitsError beyond). */
  clvModel(asOf: string, timeUnit: TimeUnit, model: PurchaseModelKind): Promise<ClvModel> {
    const key = `${asOf}|${timeUnit}|${model}`;
    if (!this.clvFits.has(key) && this.clvFits.size >= MAX_CLV_FITS_PER_REQUEST) {
      return Promise.reject(new TooManyFitsError(MAX_CLV_FITS_PER_REQUEST));
    }
    return memo(this.clvFits, key, () => this.service.clvModel(asOf, timeUnit, model));
  }
}

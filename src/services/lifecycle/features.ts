// Customer features as of a day, computed in the warehouse: the relation every lifecycle question
// (stages, RFM, CLV, segments, metrics) is built on, and the batching of single-customer lookups.
import { runShared } from "../../request-scope.ts";
import { refusedTextReason } from "../../sql/input-text.ts";
import { fetchIsolatingFailures, isValueRejection } from "../isolated-batch.ts";
import type DataLoader from "dataloader";
import type { WarehouseConnector } from "../../connectors/connector.ts";
import type { LogicalTable } from "../../sql/contract.ts";
import { dataRangeSql, featuresSql, type CustomerRange } from "../../lifecycle/features-sql.ts";
import { ident, type Sql } from "../../sql/sql.ts";
import { asOfCutoff, today } from "../../lifecycle/calendar.ts";
import {
  featureCatalog,
  featureSpec,
  type CustomerFeatures,
  type EventType,
  type FeatureSpec,
} from "../../lifecycle/features.ts";
import type { RuleSqlContext } from "../../lifecycle/rule-sql.ts";
import { CompiledStageModel, type StageModel } from "../../lifecycle/stage-model.ts";
import { BatchGate, loaderOf, memo } from "./loaders.ts";

/** Reads feature columns of the relation aliased `f`. */
export const featureColumns: RuleSqlContext = {
  column: (field) => ident("f", featureSpec(field)!.column),
};

/**
 * A reader of warehouse rows (feature columns) as CustomerFeatures: null stays null, numbers become JS
 * numbers, the rest text. Generated once per catalog as one object literal, so every object has the same
 * shape with its fields in the object itself; objects grown field by field in a loop made the
 * classifier several times slower over them (bench/README.md, "Compiled classifier").
 */
export function featureReader(catalog: readonly FeatureSpec[]): (row: Record<string, unknown>) => CustomerFeatures {
  // Names become source: the catalog's fixed names and event types are checked by pattern (features.ts,
  // config), and each is written as a JSON string literal besides.
  const plain = /^[a-z][A-Za-z0-9_.]*$/;
  const fields = catalog.map((f) => {
    if (!plain.test(f.field) || !plain.test(f.column)) throw new Error(`feature name not plain: ${f.field}`);
    const convert = f.type === "number" ? "Number" : "String";
    const value = `row[${JSON.stringify(f.column)}]`;
    return `${JSON.stringify(f.field)}: ${value} == null ? null : ${convert}(${value})`;
  });
  // eslint-disable-next-line @typescript-eslint/no-implied-eval -- built from the checked catalog above
  return new Function(`return (row) => ({ customerId: String(row.customer_id), ${fields.join(", ")} });`)();
}

/** A warehouse row of the fixed features as CustomerFeatures (no event types configured). */
export const toFeatures = featureReader(featureCatalog([]));

/** The days the warehouse holds rows for, in the configured time zone. */
export interface DataRange {
  readonly firstDay: string;
  readonly lastDay: string;
}

/**
 * How long a data range read from the warehouse is used before it is read again: on BigQuery each
 * read is a query of the time columns (billed, unless the result cache holds it for the data version).
 */
const DATA_RANGE_SECONDS = 300;

/** The features relation of a warehouse and stage model, and lookups of some customers' features in it. */
export class CustomerFeatureService {
  readonly model: CompiledStageModel;

  constructor(
    readonly warehouse: WarehouseConnector,
    stageModel: StageModel,
    readonly timeZone: string,
    /** Optional contract tables present and complete. */
    readonly available: ReadonlySet<LogicalTable>,
    /** The event types CLM_CONFIG names, each adding its features to the catalog. */
    readonly eventTypes: readonly EventType[] = [],
  ) {
    this.model = new CompiledStageModel(stageModel);
    this.stageFields = this.model.fieldsRead();
    this.catalog = featureCatalog(eventTypes);
    this.toFeatures = featureReader(this.catalog);
    this.sharedBatchGate = new BatchGate(warehouse.queriesPerCaller ?? Infinity);
  }

  /** Every feature this server computes: the fixed ones, then each configured event type's. */
  readonly catalog: readonly FeatureSpec[];
  private readonly toFeatures: (row: Record<string, unknown>) => CustomerFeatures;

  /** The features the stage rules read: all a query that only classifies needs computed. */
  private readonly stageFields: ReadonlySet<string>;

  /** The features relation with only the stage rules' features (plus `extra`), for classifying in SQL. */
  stagedFeatures(asOf: string, extra: Iterable<string> = [], customerRange?: CustomerRange): Sql {
    return this.features(asOf, undefined, { fields: new Set([...this.stageFields, ...extra]), customerRange });
  }

  /** `stagedFeatures` as of each of `days` at once (see featuresEach). */
  stagedFeaturesEach(days: readonly string[], extra: Iterable<string> = []): Sql {
    return this.featuresEach(days, { fields: new Set([...this.stageFields, ...extra]) });
  }

  today(): string {
    return today(this.timeZone);
  }

  private range: { value: Promise<DataRange | null>; at: number } | undefined;

  /**
   * The first and last local day with a row in the activity tables (null: none), looked up again at
   * most every DATA_RANGE_SECONDS: what the default day follows, without a query per request.
   */
  dataRange(): Promise<DataRange | null> {
    if (this.range && Date.now() - this.range.at < DATA_RANGE_SECONDS * 1000) return this.range.value;
    const { dialect, mapping } = this.warehouse;
    const query = dataRangeSql({ dialect, mapping, available: this.available, timeZone: this.timeZone });
    // Shared by every request until it is read again: one client going away must not cancel it for all.
    const value = runShared(() =>
      this.warehouse.query<{ first_day: string | null; last_day: string | null }>(query, { label: "data_range" }),
    ).then(([row]) =>
      row?.first_day && row.last_day ? { firstDay: String(row.first_day), lastDay: String(row.last_day) } : null,
    );
    const range = { value, at: Date.now() };
    this.range = range;
    // A failed lookup is not kept: the next caller asks again.
    value.catch(() => {
      if (this.range === range) this.range = undefined;
    });
    return value;
  }

  /**
   * The day an answer without asOf is for: today, or the last day with data when the data ends before
   * today (a shop's export from last year is not shown all churned). Today when the range cannot be
   * read: the question itself then says what is wrong with the warehouse.
   */
  async defaultDay(): Promise<string> {
    const now = this.today();
    const range = await this.dataRange().catch(() => null);
    return range && range.lastDay < now ? range.lastDay : now;
  }

  /** The features relation as of the day (one row per known customer), for queries built on it. */
  features(
    asOf: string,
    customerIds?: readonly string[],
    options: { transactionsOnly?: boolean; fields?: ReadonlySet<string>; customerRange?: CustomerRange } = {},
  ): Sql {
    return featuresSql({
      eventTypes: this.eventTypes,
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

  /**
   * The features relation as of each of `days` at once: one row per day and customer known that day,
   * the day in column `as_of`. What a series of periods is computed over, in one query for them all.
   */
  featuresEach(days: readonly string[], options: { fields?: ReadonlySet<string> } = {}): Sql {
    // A day listed twice would count each of its rows twice.
    const distinct = [...new Set(days)];
    const last = distinct.reduce((a, b) => (b > a ? b : a));
    return featuresSql({
      eventTypes: this.eventTypes,
      fields: options.fields,
      dialect: this.warehouse.dialect,
      mapping: this.warehouse.mapping,
      available: this.available,
      asOf: last,
      cutoff: asOfCutoff(last, this.timeZone),
      eachDay: distinct.map((day) => ({ asOf: day, cutoff: asOfCutoff(day, this.timeZone) })),
      timeZone: this.timeZone,
    });
  }

  /** Features of some customers in one warehouse query; unknown ids are absent from the map. */
  async featuresOf(asOf: string, customerIds: readonly string[]): Promise<Map<string, CustomerFeatures>> {
    if (customerIds.length === 0) return new Map();
    const options = { label: "customer_features", asOf };
    const build = (ids: readonly string[]) => this.features(asOf, ids);
    // Behind the server's guard, each customer's features are cached on their own (lookups at a high
    // rate batch different ids every time); elsewhere (tests, the CLI without a cache) one query.
    const rows = this.warehouse.queryPerKey
      ? await this.warehouse.queryPerKey(customerIds, build, (row) => String(row.customer_id), options)
      : await this.warehouse.query(build(customerIds), options);
    return new Map(rows.map((row) => [String(row.customer_id), this.toFeatures(row)]));
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
  // Every day's shared batches are one caller's queries in the warehouse's queue.
  private readonly sharedBatchGate: BatchGate;

  /**
   * Features of one customer, batched with every other lookup for the same day made in this turn of
   * the event loop, whichever request made it; while the shared lookups already run as many queries
   * as the warehouse gives one caller, with those made until one of them ends (at most a second: see
   * BatchGate, one for every day's batches).
   */
  batchedFeatures(asOf: string): DataLoader<string, CustomerFeatures | null> {
    if (this.sharedFeatureBatches.size >= 1_000 && !this.sharedFeatureBatches.has(asOf))
      this.sharedFeatureBatches.clear();
    return memo(this.sharedFeatureBatches, asOf, () =>
      loaderOf((ids) => this.sharedBatchGate.run(() => runShared(() => this.featuresIsolating(asOf, ids))), null, {
        cache: false,
        batchScheduleFn: this.sharedBatchGate.schedule,
      }),
    );
  }
}

// The lifecycle as one request sees it: DataLoaders that batch and remember the request's lookups, built
// per request from the application's lifecycle service (services/lifecycle/service.ts).
import DataLoader from "dataloader";
import type { Prediction, PurchaseModelKind, TimeUnit } from "../../lifecycle/clv/predict.ts";
import type { StateClvSettings } from "../state/state-clv.ts";
import type { CustomerFeatures } from "../../lifecycle/features.ts";
import type { RfmScore } from "../../lifecycle/rfm.ts";
import type { Rule } from "../../lifecycle/rules.ts";
import type { RfmCell } from "./rfm.ts";
import {
  MAX_CLV_FITS_PER_REQUEST,
  TooManyFitsError,
  type ClvModel,
  type ClvModelSource,
  type ClvValidation,
  type ClvValidationQuestion,
} from "./clv.ts";
import { loaderOf, memo } from "./loaders.ts";
import type { RankedList, StageCount, StageSpellView, StageTiming, StageTransition } from "./stages.ts";
import type { Transaction } from "./transactions.ts";

/** What the loaders read through: the lifecycle service's lookups. */
export interface LifecycleLookups {
  /** Today, or the last day with data when the data ends before today. */
  defaultDay(): Promise<string>;
  batchedFeatures(asOf: string): DataLoader<string, CustomerFeatures | null>;
  rfmOf(asOf: string, customerIds: readonly string[]): Promise<Map<string, RfmScore>>;
  transactionsOf(
    asOf: string,
    customerIds: readonly string[],
    offset: number,
    limit: number,
  ): Promise<Map<string, Transaction[]>>;
  stageCounts(asOf: string): Promise<StageCount[]>;
  stageHistories(asOf: string, customerIds: readonly string[]): Promise<Map<string, StageSpellView[]>>;
  clvModel(asOf: string, timeUnit: TimeUnit, model: PurchaseModelKind): Promise<ClvModel>;
  clvValidation(q: ClvValidationQuestion, options: { fit: ClvModelSource }): Promise<ClvValidation>;
}

/**
 * What the state store answers (services/state/state-store.ts), when it can: undefined is "not from the
 * state", and the loaders ask the service.
 */
export interface StateAnswers {
  customers(day: string, ids: readonly string[]): Promise<Map<string, CustomerFeatures> | undefined>;
  stageCounts(day: string): Promise<StageCount[] | undefined>;
  /** The day an answer without asOf is for. */
  defaultDay(): Promise<string>;
  /** Stage counts of several days in one query. */
  stageSeries(days: readonly string[]): Promise<Map<string, StageCount[]> | undefined>;
  transitions(from: string, to: string): Promise<StageTransition[] | undefined>;
  /** Entries into each stage in (from, to], exact to the day. */
  stageTimings(from: string, to: string): Promise<StageTiming[] | undefined>;
  /** RFM scores of some customers on a day. */
  rfmOf(day: string, ids: readonly string[]): Promise<Map<string, RfmScore> | undefined>;
  /** Buyers and revenue per RFM code on a day. */
  rfmCells(day: string): Promise<RfmCell[] | undefined>;
  /** Customers' stage histories up to a day. */
  stageHistories(day: string, ids: readonly string[]): Promise<Map<string, StageSpellView[]> | undefined>;
  /** A page of a stage's customers ranked by a feature. */
  rankedMembers(
    day: string,
    stageKey: string,
    rank: RankedList,
    offset: number,
    limit: number,
  ): Promise<CustomerFeatures[] | undefined>;
  /** Lifetime-value predictions of some buyers on a day, when the state keeps them for these settings. */
  predictions(
    day: string,
    settings: StateClvSettings,
    ids: readonly string[],
  ): Promise<Map<string, Prediction> | undefined>;
  /** Customers per furthest stage (display index) on a day, of those first seen in `firstSeen` when given. */
  furthestCounts(day: string, firstSeen?: { from: string; to: string }): Promise<Map<number, number> | undefined>;
  /** Members of a resolved segment definition per stage on a day. */
  segmentStageCounts(day: string, rule: Rule): Promise<StageCount[] | undefined>;
  /** A page of a resolved definition's members by id, after `afterId`. */
  segmentPage(
    day: string,
    rule: Rule,
    first: number,
    afterId: string | undefined,
  ): Promise<CustomerFeatures[] | undefined>;
  /** A page of a resolved definition's members in a stage, ranked. */
  segmentRanked(
    day: string,
    rule: Rule,
    stageKey: string,
    rank: RankedList,
    offset: number,
    limit: number,
  ): Promise<CustomerFeatures[] | undefined>;
}

/** A prediction as the state store has it (null: not a buyer), or that it keeps none for the question. */
export type StoredPrediction =
  | { readonly stored: true; readonly prediction: Prediction | null }
  | { readonly stored: false };
const NOT_STORED: StoredPrediction = { stored: false };

export class LifecycleRequest<Service extends LifecycleLookups = LifecycleLookups> {
  private readonly featureLoaders = new Map<string, DataLoader<string, CustomerFeatures | null>>();
  private readonly stageCountCache = new Map<string, Promise<StageCount[]>>();
  private readonly transactionLoaders = new Map<string, DataLoader<string, Transaction[]>>();
  private readonly rfmLoaders = new Map<string, DataLoader<string, RfmScore | null>>();
  private readonly clvFits = new Map<string, Promise<ClvModel>>();
  private readonly historyLoaders = new Map<string, DataLoader<string, StageSpellView[]>>();
  private readonly predictionLoaders = new Map<string, DataLoader<string, StoredPrediction>>();
  private defaultDayPromise: Promise<string> | undefined;

  constructor(
    readonly service: Service,
    /** The state store, where the server serves from one: asked first, the service when it cannot answer. */
    readonly state?: StateAnswers,
  ) {}

  /** The day of answers without asOf, the same for the whole request. */
  defaultDay(): Promise<string> {
    return (this.defaultDayPromise ??= this.state?.defaultDay() ?? this.service.defaultDay());
  }

  features(asOf: string): DataLoader<string, CustomerFeatures | null> {
    // Caches within the request; the batch goes to the state store, else to the service's cross-request batcher.
    return memo(this.featureLoaders, asOf, () => {
      const shared = this.service.batchedFeatures(asOf);
      return new DataLoader(
        async (ids) => {
          const stored = await this.state?.customers(asOf, ids);
          return stored ? ids.map((id) => stored.get(id) ?? null) : shared.loadMany(ids);
        },
        { maxBatchSize: 10_000 },
      );
    });
  }

  /** RFM scores: one query per day for every customer of the request asking for it. */
  rfm(asOf: string): DataLoader<string, RfmScore | null> {
    return memo(this.rfmLoaders, asOf, () =>
      loaderOf(async (ids) => (await this.state?.rfmOf(asOf, ids)) ?? this.service.rfmOf(asOf, ids), null),
    );
  }

  /** Transactions pages: one query per (asOf, page window) for all customers asking for it. */
  transactions(asOf: string, offset: number, limit: number): DataLoader<string, Transaction[]> {
    return memo(this.transactionLoaders, `${asOf}|${offset}|${limit}`, () =>
      loaderOf((ids) => this.service.transactionsOf(asOf, ids, offset, limit), []),
    );
  }

  /** Stage histories up to a day: one query for every customer of the request asking, from the state when it serves. */
  stageHistory(asOf: string): DataLoader<string, StageSpellView[]> {
    return memo(this.historyLoaders, asOf, () =>
      loaderOf(
        async (ids) => (await this.state?.stageHistories(asOf, ids)) ?? this.service.stageHistories(asOf, ids),
        [],
      ),
    );
  }

  /**
   * Predictions the state store keeps for these settings: one query for every customer of the request
   * asking; `stored` false when it keeps none for them (the caller fits instead).
   */
  storedPrediction(asOf: string, settings: StateClvSettings): DataLoader<string, StoredPrediction> {
    const key = `${asOf}|${settings.model}|${settings.timeUnit}|${settings.horizonDays}|${settings.discountRate}`;
    return memo(
      this.predictionLoaders,
      key,
      () =>
        new DataLoader<string, StoredPrediction>(
          async (ids) => {
            const stored = await this.state?.predictions(asOf, settings, ids);
            return ids.map((id) => (stored ? { stored: true, prediction: stored.get(id) ?? null } : NOT_STORED));
          },
          { maxBatchSize: 10_000 },
        ),
    );
  }

  stageCounts(asOf: string): Promise<StageCount[]> {
    return memo(
      this.stageCountCache,
      asOf,
      async () => (await this.state?.stageCounts(asOf)) ?? this.service.stageCounts(asOf),
    );
  }

  /** The service's fit, at most MAX_CLV_FITS_PER_REQUEST distinct ones per request (TooManyFitsError beyond). */
  clvModel(asOf: string, timeUnit: TimeUnit, model: PurchaseModelKind): Promise<ClvModel> {
    const key = `${asOf}|${timeUnit}|${model}`;
    if (!this.clvFits.has(key) && this.clvFits.size >= MAX_CLV_FITS_PER_REQUEST) {
      return Promise.reject(new TooManyFitsError(MAX_CLV_FITS_PER_REQUEST));
    }
    return memo(this.clvFits, key, () => this.service.clvModel(asOf, timeUnit, model));
  }

  /** The service's holdout validation, its calibration fit one of the request's (shared with clvModel's). */
  clvValidation(q: ClvValidationQuestion): Promise<ClvValidation> {
    return this.service.clvValidation(q, { fit: (asOf, unit, model) => this.clvModel(asOf, unit, model) });
  }
}

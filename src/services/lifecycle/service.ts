// The lifecycle service: customer features and stages as of a day, computed in the warehouse, with RFM
// scores, CLV fits and transactions beside them, each concern in its own module of this folder, and
// per-request batching of single-customer lookups (request.ts).
import type { TableStatus, WarehouseConnector } from "../../connectors/connector.ts";
import type { LogicalTable } from "../../sql/contract.ts";
import type { Sql } from "../../sql/sql.ts";
import type { PurchaseModelKind, TimeUnit } from "../../lifecycle/clv/predict.ts";
import type { CustomerFeatures, EventType } from "../../lifecycle/features.ts";
import { RfmSegments, type RfmScore } from "../../lifecycle/rfm.ts";
import type { StageModel } from "../../lifecycle/stage-model.ts";
import { FitPool } from "../fit-pool.ts";
import {
  ClvFits,
  type ClvModel,
  type ClvModelSource,
  type ClvValidation,
  type ClvValidationInputs,
  type ClvValidationQuestion,
} from "./clv.ts";
import { CustomerFeatureService } from "./features.ts";
import { LifecycleRequest, type StateAnswers } from "./request.ts";
import { RfmQueries, type RfmCell } from "./rfm.ts";
import {
  StageQueries,
  type FeatureRankedList,
  type StageCount,
  type StageSpellView,
  type StageTiming,
  type StageTransition,
} from "./stages.ts";
import { TransactionQueries, type Transaction } from "./transactions.ts";

/** The optional contract tables present and complete, from the warehouse's table statuses. */
export function availableTables(statuses: readonly TableStatus[]): ReadonlySet<LogicalTable> {
  return new Set(statuses.filter((s) => s.present && s.missingColumns.length === 0).map((s) => s.logical));
}

/** What a lifecycle service may be given beyond its warehouse, stage model, time zone and tables. */
export interface LifecycleOptions {
  /** The RFM map (default: the built-in one). */
  readonly rfm?: RfmSegments;
  /** The events.type of survey answers (default "nps"). */
  readonly surveyEventType?: string;
  /** Where CLV fits run (default: a pool of the machine's size, started at the first fit). */
  readonly fitPool?: FitPool;
  /** The event types CLM_CONFIG names, each with its features (default: none). */
  readonly eventTypes?: readonly EventType[];
  /** Of those, the types whose first event makes a person a lead (default: none). */
  readonly interestEvents?: readonly string[];
}

export class LifecycleService extends CustomerFeatureService {
  private readonly stages: StageQueries;
  private readonly rfmQueries: RfmQueries;
  private readonly clvFits: ClvFits;
  private readonly transactions: TransactionQueries;

  readonly rfm: RfmSegments;
  /** The events.type of survey answers (value 0–10) that NPS and satisfaction read. */
  readonly surveyEventType: string;
  /** Where CLV fits run (worker threads, started at the first fit). */
  readonly fitPool: FitPool;
  /** The event types whose first event makes a person a lead (lead_to_customer_rate); may be empty. */
  readonly interestEvents: readonly string[];

  constructor(
    warehouse: WarehouseConnector,
    stageModel: StageModel,
    timeZone: string,
    /** Optional contract tables present and complete. */
    available: ReadonlySet<LogicalTable>,
    options: LifecycleOptions = {},
  ) {
    super(warehouse, stageModel, timeZone, available, options.eventTypes);
    this.rfm = options.rfm ?? new RfmSegments();
    this.surveyEventType = options.surveyEventType ?? "nps";
    this.fitPool = options.fitPool ?? new FitPool();
    this.interestEvents = options.interestEvents ?? [];
    this.stages = new StageQueries(this);
    this.rfmQueries = new RfmQueries(this, this.rfm);
    this.clvFits = new ClvFits(this, this.fitPool);
    this.transactions = new TransactionQueries(this);
  }

  /** Learns which optional tables the warehouse has, once, at start-up (from `statuses` when known). */
  static async open(
    warehouse: WarehouseConnector,
    stageModel: StageModel,
    timeZone: string,
    options: LifecycleOptions & { statuses?: readonly TableStatus[] } = {},
  ): Promise<LifecycleService> {
    const statuses = options.statuses ?? (await warehouse.tableStatus());
    return new LifecycleService(warehouse, stageModel, timeZone, availableTables(statuses), options);
  }

  /** Ends the fit workers (the warehouse belongs to whoever opened it). */
  async close(): Promise<void> {
    await this.fitPool.close();
  }

  /** Per-request loaders: lookups of one operation (and of one tick) share one warehouse query per asOf. */
  forRequest(state?: StateAnswers): LifecycleRequest<LifecycleService> {
    return new LifecycleRequest(this, state);
  }

  // ---- What the concern modules answer (stages.ts, rfm.ts, clv.ts, transactions.ts) ----------------

  /** See StageQueries.stageCounts. */
  stageCounts(asOf: string): Promise<StageCount[]> {
    return this.stages.stageCounts(asOf);
  }

  /** See StageQueries.stageMembers. */
  stageMembers(asOf: string, stageKey: string, first: number, afterId?: string): Promise<CustomerFeatures[]> {
    return this.stages.stageMembers(asOf, stageKey, first, afterId);
  }

  /** See StageQueries.rankedMembers. */
  rankedMembers(
    asOf: string,
    stageKey: string,
    rank: FeatureRankedList,
    offset: number,
    limit: number,
  ): Promise<CustomerFeatures[]> {
    return this.stages.rankedMembers(asOf, stageKey, rank, offset, limit);
  }

  /** See StageQueries.stageHistories. */
  stageHistories(asOf: string, customerIds: readonly string[]): Promise<Map<string, StageSpellView[]>> {
    return this.stages.stageHistories(asOf, customerIds);
  }

  /** See StageQueries.transitions. */
  transitions(from: string, to: string, membersOnTo?: Sql): Promise<StageTransition[]> {
    return this.stages.transitions(from, to, membersOnTo);
  }

  /** See StageQueries.stageTimings. */
  stageTimings(from: string, to: string, stepDays: number): Promise<StageTiming[]> {
    return this.stages.stageTimings(from, to, stepDays);
  }

  /** See RfmQueries.rfmScored. */
  rfmScored(asOf: string | readonly string[]): Sql {
    return this.rfmQueries.rfmScored(asOf);
  }

  /** See RfmQueries.rfmOf. */
  rfmOf(asOf: string, customerIds: readonly string[]): Promise<Map<string, RfmScore>> {
    return this.rfmQueries.rfmOf(asOf, customerIds);
  }

  /** See RfmQueries.rfmCells. */
  rfmCells(asOf: string, members?: Sql): Promise<RfmCell[]> {
    return this.rfmQueries.rfmCells(asOf, members);
  }

  /** See ClvFits.clvModel. */
  clvModel(asOf: string, timeUnit: TimeUnit, model?: PurchaseModelKind, signal?: AbortSignal): Promise<ClvModel> {
    return this.clvFits.clvModel(asOf, timeUnit, model, signal);
  }

  /** See ClvFits.clvValidation. */
  clvValidation(
    q: ClvValidationQuestion,
    options?: { fit?: ClvModelSource; about?: ClvValidationInputs },
  ): Promise<ClvValidation> {
    return this.clvFits.clvValidation(q, options);
  }

  /** See TransactionQueries.transactionsOf. */
  transactionsOf(
    asOf: string,
    customerIds: readonly string[],
    offset: number,
    limit: number,
  ): Promise<Map<string, Transaction[]>> {
    return this.transactions.transactionsOf(asOf, customerIds, offset, limit);
  }
}

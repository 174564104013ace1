// The state store as the rest of the server sees it: whether it serves (CLM_STATE), what it serves
// (customer lookups on the state day, stages on any day up to it), how fresh that is, and its refresh.
// Answers it cannot give (a day after the state day, a stage model not yet materialized) are undefined,
// and the caller takes the query-time path; under CLM_STATE=required they are refused instead.
import DataLoader from "dataloader";
import { storedDay, type AppSql } from "../../appdb/app-sql.ts";
import { fetchIsolatingFailures, isValueRejection } from "../isolated-batch.ts";
import { memo } from "../lifecycle/loaders.ts";
import { currentRequestScope } from "../../request-scope.ts";
import { DependencyError } from "../../errors.ts";
import type { OwnedColumn, OwnedRow } from "../../connectors/connector.ts";
import type { Prediction } from "../../lifecycle/clv/predict.ts";
import type { CustomerFeatures } from "../../lifecycle/features.ts";
import type { CustomerFeatureService } from "../lifecycle/features.ts";
import type { StateAnswers } from "../lifecycle/request.ts";
import type { RfmCell } from "../lifecycle/rfm.ts";
import { daysBetween } from "../../lifecycle/calendar.ts";
import { monetaryKey, rfmScoreOf, type RfmBounds, type RfmScore, type RfmSegments } from "../../lifecycle/rfm.ts";
import {
  isFeatureRanking,
  type RankedList,
  type StageCount,
  type StageSpellView,
  type StageTiming,
  type StageTransition,
} from "../lifecycle/stages.ts";
import {
  StateRefresher,
  type RefreshClv,
  type RefreshOptions,
  type RefreshOutcome,
  type RefreshPolicy,
  type WritebackOutcome,
} from "./refresh.ts";
import type { StateClvSettings, StoredClv } from "./state-clv.ts";
import { segmentPage, segmentRanked, segmentStageCounts, StoredSegmentFields } from "./state-segments.ts";
import { recordSegmentChanges } from "../events/outbox.ts";
import type { AppSqlSession } from "../../appdb/app-sql.ts";
import type { Rule } from "../../lifecycle/rules.ts";
import { StateTables, storedFeatures, type PublishedState, type RefreshRecord } from "./state-tables.ts";

/** off: never read; serve: read when a state of the current model exists; required: refuse otherwise. */
export type StateMode = "off" | "serve" | "required";

/** CLM_STATE=required and the state cannot answer: no state yet, another model, or a later day. */
export class StateNotReadyError extends DependencyError {
  readonly code = "STATE_NOT_READY";
  constructor(message: string) {
    super(message);
    this.name = "StateNotReadyError";
  }
  override get publicMessage(): string {
    return `${this.message}; retry in ${this.retryAfterSeconds} s`;
  }
}

/** A buyer's lifetime-value prediction in the exported state (empty without one). */
const PREDICTION_COLUMNS = [
  "probability_alive",
  "expected_purchases",
  "expected_average_spend",
  "predicted_clv",
] as const;

/** The pointer is read at most this often per process: a lookup at a high rate reads it from memory. */
const POINTER_TTL_MS = 1_000;

export class StateStore implements StateAnswers {
  private tablesPromise: Promise<StateTables> | undefined;
  private pointerCache: { at: number; value: Promise<PublishedState | null> } | undefined;

  constructor(
    private readonly lifecycle: CustomerFeatureService,
    /** The RFM map the stored scores are named by. */
    private readonly rfm: RfmSegments,
    private readonly openSql: () => Promise<AppSql>,
    readonly mode: StateMode,
    private readonly options: StateStoreOptions = {},
  ) {}

  private tables(): Promise<StateTables> {
    if (!this.tablesPromise) {
      this.tablesPromise = this.openSql().then((sql) => new StateTables(sql));
      // Opening failed: the next question tries again rather than failing for ever.
      this.tablesPromise.catch(() => (this.tablesPromise = this.refresherPromise = undefined));
    }
    return this.tablesPromise;
  }

  private refresherPromise: Promise<StateRefresher> | undefined;
  refresher(): Promise<StateRefresher> {
    return (this.refresherPromise ??= this.tables().then(
      (t) => new StateRefresher(this.lifecycle, t, this.options.policy, this.options.clv),
    ));
  }

  /** Refreshes under the refresh lock, incrementally when it can (undefined: another instance is refreshing). */
  async refresh(options: RefreshOptions = {}): Promise<RefreshOutcome | undefined> {
    const { writebackTable } = this.options;
    const afterPublish = writebackTable ? () => this.writeBack(writebackTable, options.signal) : undefined;
    // The tracked segments' rules are read before the publishing transaction: on PGlite that holds the
    // one connection Prisma would wait for.
    const stateDay = options.stateDay ?? (await this.lifecycle.defaultDay());
    const tracked = (await this.options.trackedSegments?.(stateDay)) ?? [];
    const refresher = await this.refresher();
    const outcome = await refresher.refresh({
      ...options,
      stateDay,
      afterPublish,
      inPublish:
        tracked.length > 0 ? (tx, generation) => this.segmentChanges(tx, generation, stateDay, tracked) : undefined,
    });
    this.pointerCache = undefined;
    return outcome;
  }

  /** The tracked segments' entries and exits on the new state day, as events (inside the publishing transaction). */
  private async segmentChanges(
    tx: AppSqlSession,
    generation: number,
    day: string,
    tracked: readonly { id: string; rule: Rule }[],
  ): Promise<number> {
    let written = 0;
    for (const { id, rule } of tracked)
      written += await recordSegmentChanges(tx, {
        generation,
        day,
        segmentId: id,
        members: this.fields().members(rule),
      });
    return written;
  }

  /**
   * The served state written into the warehouse as `table` (the rows of exportPages), replacing what
   * the last refresh wrote there.
   */
  private async writeBack(table: string, signal: AbortSignal | undefined): Promise<WritebackOutcome> {
    const { warehouse } = this.lifecycle;
    if (!warehouse.replaceTable) throw new Error(`a ${warehouse.kind} warehouse takes no writeback`);
    const pages = this.exportPages() as AsyncIterable<OwnedRow[]>;
    const rows = await warehouse.replaceTable({ name: table, columns: this.exportColumns() }, pages, {
      label: "state_writeback",
      signal,
    });
    return { table, rows };
  }

  /**
   * How long until a state published every `everyMs` is due again: 0 when there is none, it was built
   * with another model, or it is older than that (an instance restarted, or another refreshed it).
   */
  async dueInMs(everyMs: number): Promise<number> {
    const [pointer, refresher] = await Promise.all([(await this.tables()).pointer(), this.refresher()]);
    if (!pointer || pointer.modelHash !== refresher.modelHash) return 0;
    return Math.max(0, pointer.publishedAt.getTime() + everyMs - Date.now());
  }

  /** The published state, whatever model built it (for status); cached for a second. */
  private pointer(): Promise<PublishedState | null> {
    const now = Date.now();
    if (!this.pointerCache || now - this.pointerCache.at > POINTER_TTL_MS) {
      const value = this.tables().then((t) => t.pointer());
      this.pointerCache = { at: now, value };
      value.catch(() => (this.pointerCache = undefined));
    }
    return this.pointerCache.value;
  }

  async status(): Promise<{ pointer: PublishedState | null; lastRefresh: RefreshRecord | null; modelHash: string }> {
    const tables = await this.tables();
    const [pointer, lastRefresh, refresher] = await Promise.all([
      tables.pointer(),
      tables.lastRefresh(),
      this.refresher(),
    ]);
    return { pointer, lastRefresh, modelHash: refresher.modelHash };
  }

  /**
   * The state that answers for `day` (undefined: today's default), or undefined when none does. Under
   * `required`, none is an error.
   */
  async stateFor(day: string | undefined): Promise<PublishedState | undefined> {
    if (this.mode === "off") return undefined;
    let pointer: PublishedState | null;
    let refresher: StateRefresher;
    try {
      [pointer, refresher] = await Promise.all([this.pointer(), this.refresher()]);
    } catch (error) {
      // The app database cannot be read: under serve the warehouse answers instead (it always can).
      if (this.mode === "required") throw error;
      return undefined;
    }
    let why: string | undefined;
    if (!pointer) why = "the state store has not been refreshed yet";
    else if (pointer.modelHash !== refresher.modelHash)
      why = "the state store was built with another stage model or mapping; a full refresh is needed";
    else if (day !== undefined && day > pointer.stateDay) why = `${day} is after the state day ${pointer.stateDay}`;
    if (why === undefined) return pointer!;
    if (this.mode === "required") throw new StateNotReadyError(`CLM_STATE=required: ${why}`);
    return undefined;
  }

  /**
   * The day an answer without asOf is for: the state day when the state serves, else today or the last
   * day with data when the data ends before today.
   */
  async defaultDay(): Promise<string> {
    return (await this.stateFor(undefined))?.stateDay ?? (await this.lifecycle.defaultDay());
  }

  /** Features of customers on the state day from the state; undefined when the state does not serve that day. */
  async customers(day: string, ids: readonly string[]): Promise<Map<string, CustomerFeatures> | undefined> {
    const state = await this.stateFor(day);
    // Features of a past day are the warehouse's to give, whatever the mode (the state keeps the state day's).
    if (!state || day !== state.stateDay) return undefined;
    const found = await this.stateRows(state.modelHash).loadMany(ids);
    const failed = found.find((r) => r instanceof Error);
    if (failed) throw failed;
    const rows = found as ({ pointer: PublishedState; row: Record<string, unknown> | null } | null)[];
    const pointer = rows[0]?.pointer;
    // No state of this model any more, or (a request of more ids than one batch) two generations: none.
    if (!pointer || rows.some((r) => r?.pointer.generation !== pointer.generation)) return undefined;
    served(pointer);
    const eventTypes = this.lifecycle.eventTypes;
    const features = new Map<string, CustomerFeatures>();
    for (const r of rows) {
      if (!r?.row) continue;
      const f = storedFeatures(r.row, pointer.stateDay, eventTypes);
      features.set(f.customerId, f);
    }
    return features;
  }

  private readonly rowBatches = new Map<
    string,
    DataLoader<string, { pointer: PublishedState; row: Record<string, unknown> | null } | null>
  >();

  /**
   * State rows by id, the ids of every request asking in the same tick read in one query (a lookup at a
   * high rate is one indexed query per tick, not per request). An id the app database refuses (a NUL
   * byte) fails alone, not the batch it shares with other clients' ids. Null: no state of this model.
   */
  private stateRows(modelHash: string) {
    return memo(
      this.rowBatches,
      modelHash,
      () =>
        new DataLoader<string, { pointer: PublishedState; row: Record<string, unknown> | null } | null>(
          async (ids) => {
            const tables = await this.tables();
            // Null for every id when no state of this model is published.
            const found = await fetchIsolatingFailures<{
              pointer: PublishedState;
              row: Record<string, unknown> | null;
            }>(
              ids,
              async (part) => {
                const read = await tables.customerStates(modelHash, part);
                if (!read) return new Map();
                const byId = new Map(read.rows.map((r) => [String(r.customer_id), r]));
                return new Map(part.map((id) => [id, { pointer: read.pointer, row: byId.get(id) ?? null }]));
              },
              isValueRejection,
            );
            return ids.map((id) => found.get(id) ?? null);
          },
          // Requests come in on I/O callbacks of their own: a batch waits for the rest of this turn's.
          { cache: false, maxBatchSize: 10_000, batchScheduleFn: (dispatch) => setImmediate(dispatch) },
        ),
    );
  }

  /** Customers per stage at the end of each day, in one query; undefined when the state does not serve the last. */
  async stageSeries(days: readonly string[]): Promise<Map<string, StageCount[]> | undefined> {
    const last = [...days].sort().at(-1);
    const state = last === undefined ? undefined : await this.stateFor(last);
    if (!state) return undefined;
    const found = await (await this.tables()).dayCounts(state.modelHash, days);
    if (!found) return undefined;
    served(found.pointer);
    const { stages } = this.lifecycle.model;
    return new Map(
      days.map((day) => {
        const counts = found.counts.get(day);
        return [day, stages.map((stage, i) => ({ stage, count: counts?.get(i) ?? 0 }))];
      }),
    );
  }

  /** Moves between the stages of two days, from the history; undefined when the state does not serve `to`. */
  async transitions(from: string, to: string): Promise<StageTransition[] | undefined> {
    const state = await this.stateFor(to);
    if (!state) return undefined;
    const found = await (await this.tables()).transitions(state.modelHash, from, to);
    if (!found) return undefined;
    served(found.pointer);
    const { stages } = this.lifecycle.model;
    return found.rows
      .map((r) => ({ from: r.from === null ? null : stages[r.from]!, to: stages[r.to]!, count: r.n }))
      .sort((a, b) => (a.from?.order ?? 0) - (b.from?.order ?? 0) || a.to.order - b.to.order);
  }

  /** Entries into each stage on the days in (from, to], exact to the day, from the history. */
  async stageTimings(from: string, to: string): Promise<StageTiming[] | undefined> {
    const state = await this.stateFor(to);
    if (!state) return undefined;
    const found = await (await this.tables()).entries(state.modelHash, from, to);
    if (!found) return undefined;
    served(found.pointer);
    const byStage = new Map(found.rows.map((r) => [Number(r.stage), r]));
    const num = (v: unknown) => (v === null || v === undefined ? null : Number(v));
    return this.lifecycle.model.stages.map((stage, i) => {
      const r = byStage.get(i);
      return {
        stage,
        entries: r ? Number(r.n) : 0,
        meanDaysFromFirstSeen: num(r?.mean_seen),
        medianDaysFromFirstSeen: num(r?.median_seen),
        meanDaysFromFirstPurchase: num(r?.mean_purchase),
        medianDaysFromFirstPurchase: num(r?.median_purchase),
      };
    });
  }

  /** Customers per furthest stage on `day` (only those first seen in `firstSeen`, when given). */
  async furthestCounts(
    day: string,
    firstSeen?: { from: string; to: string },
  ): Promise<Map<number, number> | undefined> {
    const state = await this.stateFor(day);
    if (!state) return undefined;
    const tables = await this.tables();
    const found = firstSeen
      ? await tables.furthestCountsFirstSeen(state.modelHash, day, firstSeen)
      : await tables.stageCountsOn(state.modelHash, day, { furthest: true });
    if (!found) return undefined;
    served(found.pointer);
    return found.counts;
  }

  /** The exported state's columns: who and when, the stages, RFM, lifetime value, then every feature of the catalog. */
  exportColumns(): StateColumn[] {
    return [
      { name: "customer_id", type: "text" },
      { name: "state_day", type: "date" },
      { name: "stage", type: "text" },
      { name: "furthest_stage", type: "text" },
      { name: "stage_since", type: "date" },
      { name: "next_change_day", type: "date" },
      { name: "rfm_recency", type: "number" },
      { name: "rfm_frequency", type: "number" },
      { name: "rfm_monetary", type: "number" },
      { name: "rfm_code", type: "text" },
      { name: "rfm_segment", type: "text" },
      ...PREDICTION_COLUMNS.map((name) => ({ name, type: "number" as const })),
      ...this.lifecycle.catalog.map((f) => ({
        name: f.column,
        type: f.type === "string" ? ("text" as const) : f.type,
      })),
    ];
  }

  /**
   * Every customer's state as rows of exportColumns(), a page at a time, from one snapshot of the
   * served state (StateNotReadyError when there is none for this model).
   */
  async *exportPages(): AsyncGenerator<unknown[][]> {
    const refresher = await this.refresher();
    const { stages } = this.lifecycle.model;
    const catalog = this.lifecycle.catalog;
    let any = false;
    for await (const { pointer, rows } of (await this.tables()).statePages(refresher.modelHash)) {
      any = true;
      yield rows.map((row) => {
        const features = storedFeatures(row, pointer.stateDay, this.lifecycle.eventTypes) as unknown as Record<
          string,
          unknown
        >;
        const rfm = pointer.rfm && this.storedRfm(pointer.rfm, pointer.stateDay, row);
        return [
          String(row.customer_id),
          pointer.stateDay,
          stages[Number(row.stage)]!.key,
          stages[Number(row.furthest)]!.key,
          storedDay(row.stage_since),
          storedDay(row.next_change_day),
          rfm?.recency ?? null,
          rfm?.frequency ?? null,
          rfm?.monetary ?? null,
          rfm?.code ?? null,
          rfm?.segment ?? null,
          ...PREDICTION_COLUMNS.map((c) => (row[c] === null || row[c] === undefined ? null : Number(row[c]))),
          ...catalog.map((f) => features[f.field] ?? null),
        ];
      });
    }
    if (any) return;
    const pointer = await (await this.tables()).pointer();
    if (!pointer || pointer.modelHash !== refresher.modelHash)
      throw new StateNotReadyError("no state of this stage model to export: run clm refresh first");
  }

  /** RFM scores of some customers on the state day (buyers only); undefined for other days. */
  async rfmOf(day: string, ids: readonly string[]): Promise<Map<string, RfmScore> | undefined> {
    const state = await this.stateFor(day);
    if (!state || day !== state.stateDay) return undefined;
    const found = await (await this.tables()).rfmInputsOf(state.modelHash, ids);
    // A refresh may have published another day's state since stateFor read the pointer.
    if (!found || found.pointer.stateDay !== day) return undefined;
    served(found.pointer);
    const { rfm } = found.pointer;
    return new Map(
      rfm ? found.rows.map((r) => [String(r.customer_id), this.storedRfm(rfm, found.pointer.stateDay, r)!]) : [],
    );
  }

  /** A stored row's RFM scores from the state's bounds; null for a customer who has not bought. */
  private storedRfm(bounds: RfmBounds, stateDay: string, row: Record<string, unknown>): RfmScore | null {
    if (!(Number(row.purchase_days) >= 1)) return null;
    const recencyDays = daysBetween(storedDay(row.last_purchase_date)!, stateDay);
    return this.rfm.score(
      rfmScoreOf(bounds, "recency", recencyDays),
      rfmScoreOf(bounds, "frequency", Number(row.purchase_days)),
      rfmScoreOf(bounds, "monetary", monetaryKey(Number(row.revenue))),
    );
  }

  /** Buyers and revenue per RFM code on the state day; undefined for other days. */
  async rfmCells(day: string): Promise<RfmCell[] | undefined> {
    const state = await this.stateFor(day);
    if (!state || day !== state.stateDay) return undefined;
    const found = await (await this.tables()).rfmCells(state.modelHash);
    if (!found) return undefined;
    served(found.pointer);
    return found.rows
      .map((r) => ({
        recency: Number(r.recency),
        frequency: Number(r.frequency),
        monetary: Number(r.monetary),
        customers: Number(r.n),
        revenue: Number(r.revenue),
      }))
      .sort((a, b) => b.recency - a.recency || b.frequency - a.frequency || b.monetary - a.monetary);
  }

  /** Predictions of some buyers on the state day when its fit has these settings; undefined otherwise. */
  async predictions(
    day: string,
    settings: StateClvSettings,
    ids: readonly string[],
  ): Promise<Map<string, Prediction> | undefined> {
    const state = await this.stateFor(day);
    if (!state || day !== state.stateDay || !fittedWith(state.clv, settings)) return undefined;
    const found = await (await this.tables()).predictionsOf(state.modelHash, ids);
    if (!found || !fittedWith(found.pointer.clv, settings)) return undefined;
    served(found.pointer);
    return new Map(
      found.rows.map((r) => [
        String(r.customer_id),
        {
          probabilityAlive: Number(r.probability_alive),
          expectedPurchases: Number(r.expected_purchases),
          expectedAverageSpend: Number(r.expected_average_spend),
          predictedClv: Number(r.predicted_clv),
        },
      ]),
    );
  }

  /** A page of a stage's customers ranked by a stored column on the state day; undefined for other days. */
  rankedMembers(
    day: string,
    stageKey: string,
    rank: RankedList,
    offset: number,
    limit: number,
  ): Promise<CustomerFeatures[] | undefined> {
    return this.segmentRanked(day, EVERYONE, stageKey, rank, offset, limit);
  }

  private segmentFields?: StoredSegmentFields;
  private fields(): StoredSegmentFields {
    return (this.segmentFields ??= new StoredSegmentFields(this.lifecycle.model, this.rfm, this.lifecycle.eventTypes));
  }

  /** Members of a resolved definition per stage on the state day; undefined for other days. */
  async segmentStageCounts(day: string, rule: Rule): Promise<StageCount[] | undefined> {
    const state = await this.stateFor(day);
    if (!state || day !== state.stateDay) return undefined;
    const found = await segmentStageCounts((await this.tables()).sql, this.fields(), state.modelHash, rule);
    if (!found || found.pointer.stateDay !== day) return undefined;
    served(found.pointer);
    return this.lifecycle.model.stages.map((stage, i) => ({ stage, count: found.counts.get(i) ?? 0 }));
  }

  /** A page of a resolved definition's members by id on the state day; undefined for other days. */
  async segmentPage(
    day: string,
    rule: Rule,
    first: number,
    afterId: string | undefined,
  ): Promise<CustomerFeatures[] | undefined> {
    const state = await this.stateFor(day);
    if (!state || day !== state.stateDay) return undefined;
    const found = await segmentPage((await this.tables()).sql, this.fields(), state.modelHash, rule, first, afterId);
    return this.storedPage(found, day);
  }

  /** A page of a definition's members in a stage ranked by a stored column on the state day; undefined otherwise. */
  async segmentRanked(
    day: string,
    rule: Rule,
    stageKey: string,
    rank: RankedList,
    offset: number,
    limit: number,
  ): Promise<CustomerFeatures[] | undefined> {
    const state = await this.stateFor(day);
    const stage = this.lifecycle.model.indexOf(stageKey);
    if (!state || day !== state.stateDay || stage === undefined) return undefined;
    if (!isFeatureRanking(rank) && !state.clv) return undefined;
    const sqlOf = (await this.tables()).sql;
    const found = await segmentRanked(sqlOf, this.fields(), state.modelHash, rule, stage, rank, offset, limit);
    if (found && !isFeatureRanking(rank) && !found.pointer.clv) return undefined;
    return this.storedPage(found, day);
  }

  /** Stored rows as features, when they were read from the state of `day`. */
  private storedPage(
    found: { pointer: PublishedState; rows: Record<string, unknown>[] } | null,
    day: string,
  ): CustomerFeatures[] | undefined {
    if (!found || found.pointer.stateDay !== day) return undefined;
    served(found.pointer);
    return found.rows.map((row) => storedFeatures(row, day, this.lifecycle.eventTypes));
  }

  /** Customers' stage histories up to `day` from the stored spells; undefined when the state does not serve it. */
  async stageHistories(day: string, ids: readonly string[]): Promise<Map<string, StageSpellView[]> | undefined> {
    const state = await this.stateFor(day);
    if (!state) return undefined;
    const found = await (await this.tables()).spellsOf(state.modelHash, ids, day);
    if (!found) return undefined;
    served(found.pointer);
    const { stages } = this.lifecycle.model;
    return new Map(
      [...found.spells].map(([id, spells]) => [
        id,
        spells.map((s) => ({
          stage: stages[s.stage]!,
          furthest: stages[s.furthest]!,
          from: s.from,
          // A spell still running on `day` is open as of that day.
          to: s.to !== null && s.to <= day ? s.to : null,
          enteredStage: s.stageSince,
        })),
      ]),
    );
  }

  /** Customers per stage at the end of `day` from the history; undefined when the state does not serve it. */
  async stageCounts(day: string): Promise<StageCount[] | undefined> {
    const state = await this.stateFor(day);
    if (!state) return undefined;
    const found = await (await this.tables()).stageCountsOn(state.modelHash, day);
    if (!found) return undefined;
    served(found.pointer);
    return this.lifecycle.model.stages.map((stage, i) => ({ stage, count: found.counts.get(i) ?? 0 }));
  }
}

/** A column of the exported state (clm export-state, the writeback): its name and what it holds. */
export type StateColumn = OwnedColumn;

export interface StateStoreOptions {
  /** The lateness window and how often a full rebuild comes (default: the refresher's). */
  readonly policy?: RefreshPolicy;
  /** Lifetime value fitted at each refresh (none when undefined). */
  readonly clv?: RefreshClv;
  /** The warehouse table each refresh writes the state into (CLM_STATE_WRITEBACK); none when undefined. */
  readonly writebackTable?: string;
  /** The saved segments whose entries and exits each refresh writes as events, with their rules for a day. */
  readonly trackedSegments?: (day: string) => Promise<readonly { id: string; rule: Rule }[]>;
}

/** Whether a stored fit is the one asked about. */
function fittedWith(clv: StoredClv | null, settings: StateClvSettings): boolean {
  return (
    clv !== null &&
    clv.model === settings.model &&
    clv.timeUnit === settings.timeUnit &&
    clv.horizonDays === settings.horizonDays &&
    clv.discountRate === settings.discountRate
  );
}

/** The definition every customer matches. */
const EVERYONE: Rule = { all: [] };

/** Notes in the request's scope that (part of) its answer came from this state. */
function served(state: PublishedState): void {
  const scope = currentRequestScope();
  if (scope)
    scope.stateServed = { generation: state.generation, stateDay: state.stateDay, dataThrough: state.dataThrough };
}

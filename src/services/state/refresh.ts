// A refresh of the state store. Full: every customer's activity read from the warehouse once, their
// stage history and state on the state day worked out in TypeScript (lifecycle/stage-history.ts), the
// rows loaded with COPY under a new generation, and the pointer moved to it in one transaction; memory
// stays bounded (customers stream through a batch at a time; the embedded DuckDB is read in customer id
// ranges, services/customer-ranges.ts). Incremental: only the customers with new rows since the last
// state day or late ones within the lateness window (found by comparing rows per customer and day with
// those counted at the last refresh, recent-activity.ts), and those whose next change day has come,
// worked out again and replaced in place, in one transaction with the day counts and the pointer. Either
// way readers keep the previous state until the commit; a refresh that fails or is killed leaves it
// serving, and its rows go.
import { createHash } from "node:crypto";
import { ActivityDaysBuilder, FeatureAccumulator, type ActivityRow } from "../../lifecycle/activity.ts";
import { addDays, asOfCutoff, dayNumber, dayOfNumber, startOfDay } from "../../lifecycle/calendar.ts";
import { activityAuditSql, activitySql, recentActivitySql, type ActivityQuery } from "../../lifecycle/features-sql.ts";
import { customerHistory, extendedHistory, StageClock, type CustomerHistory } from "../../lifecycle/stage-history.ts";
import type { PurchaseModelKind } from "../../lifecycle/clv/predict.ts";
import { customerRanges, readAhead } from "../customer-ranges.ts";
import {
  columnValue,
  isValidRow,
  type ColumnBatch,
  type QueryOptions,
  type StreamOptions,
  type WarehouseConnector,
} from "../../connectors/connector.ts";
import type { Sql } from "../../sql/sql.ts";
import type { CustomerFeatureService } from "../lifecycle/features.ts";
import type { AppSqlSession } from "../../appdb/app-sql.ts";
import { DEFAULT_FULL_EVERY_DAYS, DEFAULT_LATENESS_DAYS } from "../../config/defaults.ts";
import {
  CUSTOMER_STATE_COLUMNS,
  customerStateRow,
  eventFeatureFields,
  spellRows,
  STAGE_SPELL_COLUMNS,
  storedFeatures,
  type PublishedState,
  type StateTables,
} from "./state-tables.ts";
import { STATE_CLV_DEFAULTS, writeClv, type BuyerPredictor, type ClvFitter } from "./state-clv.ts";
import { lateCustomers, recentActivityOf, type RecentActivity } from "./recent-activity.ts";
import { announceEvents, recordStageChanges } from "../events/outbox.ts";

/** The advisory lock key of refreshes ("CLMR"): one refresh at a time across instances. */
export const REFRESH_LOCK = 0x434c4d52;

/**
 * An embedded warehouse is read in id ranges this many times smaller than the export's: a customer has
 * some thirty activity rows where the export has one, and DuckDB sorts a whole range in the refresh's
 * own process before it gives the first row (62,500 demo customers: peak RSS 736 MB in one range,
 * 516 MB in eight).
 */
const RANGES_PER_EXPORT_RANGE = 8;

/** Customers an incremental refresh carries on, or reads by their ids, per batch. */
const DUE_PER_BATCH = 5_000;

/** The most changed customers an incremental refresh names in one query's id list (one array parameter). */
const MAX_LISTED_IDS = 100_000;

/** Customers whose rows are loaded per COPY. */
const CUSTOMERS_PER_BATCH = 5_000;

export interface RefreshProgress {
  readonly customers: number;
  readonly rowsRead: number;
  /** Customer id ranges read, of `ranges`. */
  readonly rangesDone: number;
  readonly ranges: number;
}

export interface RefreshOptions {
  /** The day the state is for (default: today in the configured zone). */
  readonly stateDay?: string;
  /** Rebuild every customer even when an incremental refresh would do. */
  readonly full?: boolean;
  readonly onProgress?: (progress: RefreshProgress) => void;
  readonly signal?: AbortSignal;
  /**
   * Run under the refresh lock once the new state is published (the warehouse writeback); what it
   * returns is the outcome's `writeback`. A failure there is a warning of the refresh: the state stays
   * published.
   */
  readonly afterPublish?: () => Promise<WritebackOutcome>;
  /**
   * Run inside the publishing transaction once the pointer names the new state (tracked segments'
   * entries and exits); returns the events it wrote. A failure there fails the refresh.
   */
  readonly inPublish?: (tx: AppSqlSession, generation: number) => Promise<number>;
}

/** The state written back into the warehouse after a refresh. */
export interface WritebackOutcome {
  readonly table: string;
  readonly rows: number;
}

export interface RefreshOutcome {
  readonly generation: number;
  readonly kind: "full" | "incremental";
  readonly stateDay: string;
  readonly dataThrough: string | null;
  readonly customers: number;
  readonly changedCustomers: number;
  readonly rowsRead: number;
  readonly futureRows: number;
  readonly nullIdRows: number;
  /** What its warehouse queries would scan, by dry runs (BigQuery); null elsewhere. */
  readonly bytesEstimated: number | null;
  readonly warnings: readonly string[];
  readonly milliseconds: number;
  /** Why it rebuilt in full (null for an incremental refresh). */
  readonly reason: string | null;
  /** The writeback after it (null: none asked for, or it failed, with a warning saying why). */
  readonly writeback: WritebackOutcome | null;
  /** Lifecycle events it wrote to the outbox (services/events/outbox.ts). */
  readonly events: number;
}

export interface RefreshPolicy {
  readonly latenessDays: number;
  readonly fullEveryDays: number;
}

/**
 * What a refresh counts as it reads: customers worked out, and where the warehouse bills by bytes
 * scanned (BigQuery), what its queries would scan by their dry runs (null elsewhere).
 */
interface Tally {
  customers: number;
  bytesEstimated: number | null;
}

/** Lifetime value fitted at each refresh: the purchase model and where fits run. */
export interface RefreshClv {
  readonly model: PurchaseModelKind;
  readonly fit: ClvFitter;
  /** Where pages of predictions are worked out; this thread without it. */
  readonly predict?: BuyerPredictor;
}

/**
 * Customers per stage on each day, by current stage and by furthest stage reached, kept as changes per
 * day while the spells go by. Slot `stage` counts the current stage, `stages + stage` the furthest.
 */
class DailyStageCounts {
  private readonly changes = new Map<number, Int32Array>();

  constructor(private readonly stages: number) {}

  private change(day: number, slot: number, by: number): void {
    let row = this.changes.get(day);
    if (!row) this.changes.set(day, (row = new Int32Array(2 * this.stages)));
    row[slot]! += by;
  }

  add(history: CustomerHistory): void {
    for (const spell of history.spells) this.addSpell(spell, 1);
  }

  /** A spell [from, to) counted (`sign` 1) or taken out (−1); an open one lasts past every day. */
  addSpell(spell: { stage: number; furthest: number; from: number; to: number | null }, sign: 1 | -1): void {
    for (const slot of [spell.stage, this.stages + spell.furthest]) {
      this.change(spell.from, slot, sign);
      if (spell.to !== null) this.change(spell.to, slot, -sign);
    }
  }

  /** `n` spells beginning on `day` (negative: ending) taken out of the counts. */
  subtract(day: number, furthest: boolean, stage: number, n: number): void {
    this.change(day, (furthest ? this.stages : 0) + stage, -n);
  }

  /** Rows of stage_day_count for every day from the first to `lastDay`, stages with nobody left out. */
  *rows(rowsGeneration: number, lastDay: number): Generator<unknown[]> {
    for (const [day, furthest, stage, n] of this.totals(lastDay)) yield [rowsGeneration, furthest, day, stage, n];
  }

  /** (day, by furthest stage, stage, customers) for every day from the first change to `lastDay`, where not 0. */
  *totals(lastDay: number): Generator<[string, boolean, number, number]> {
    const days = [...this.changes.keys()].sort((a, b) => a - b);
    if (days.length === 0) return;
    const running = new Int32Array(2 * this.stages);
    let next = 0;
    for (let day = days[0]!; day <= lastDay; day++) {
      if (days[next] === day) {
        const row = this.changes.get(day)!;
        for (let slot = 0; slot < running.length; slot++) running[slot]! += row[slot]!;
        next++;
      }
      for (let slot = 0; slot < running.length; slot++)
        if (running[slot] !== 0) yield [dayOfNumber(day), slot >= this.stages, slot % this.stages, running[slot]!];
    }
  }
}

/**
 * Histories written to the app database under one rows generation, a batch of customers per COPY, one
 * batch written while the next is worked out (the app database's COPY and the warehouse's reading
 * overlap instead of taking turns), and counted into the day counts.
 */
class HistoryWriter {
  private stateRows: unknown[][] = [];
  private spells: unknown[][] = [];
  private writing: Promise<void> = Promise.resolve();

  constructor(
    private readonly sql: AppSqlSession,
    private readonly rowsGeneration: number,
    private readonly eventFields: readonly string[],
    private readonly counts: DailyStageCounts,
  ) {}

  async add(history: CustomerHistory): Promise<void> {
    this.counts.add(history);
    this.stateRows.push(customerStateRow(this.rowsGeneration, history, this.eventFields));
    this.spells.push(...spellRows(this.rowsGeneration, history));
    if (this.stateRows.length >= CUSTOMERS_PER_BATCH) await this.flush();
  }

  private async flush(): Promise<void> {
    if (this.stateRows.length === 0) return;
    const [state, spells] = [this.stateRows, this.spells];
    this.stateRows = [];
    this.spells = [];
    await this.writing;
    this.writing = (async () => {
      await this.sql.copyRows("customer_state", CUSTOMER_STATE_COLUMNS, batchesOf(state));
      await this.sql.copyRows("stage_spell", STAGE_SPELL_COLUMNS, batchesOf(spells));
    })();
    // Awaited by the next flush or by finish(); a failure before then must not go unhandled.
    this.writing.catch(() => {});
  }

  /** Writes the rest and waits for it. */
  async finish(): Promise<void> {
    await this.flush();
    await this.writing;
  }

  /** Waits for the batch being written, whatever its outcome: nothing is written after a refresh failed. */
  settle(): Promise<void> {
    return this.writing.catch(() => {});
  }
}

/** Activity rows read one at a time: row i's customer id, and row i itself. */
interface ActivityBatch {
  readonly rowCount: number;
  /** Row i's customer id; null when it has none. */
  idAt(i: number): string | null;
  /** Row i; from a column batch one object refilled for every row, so read it before asking for the next. */
  rowAt(i: number): ActivityRow;
}

/**
 * The activity rows of `query`: from the warehouse's column batches where it has them (the embedded
 * DuckDB: no JS value per field from the client, days as day numbers, no object per row, each
 * customer's id decoded once for their thirty-odd rows), else its row stream.
 */
async function* activityBatches(
  warehouse: WarehouseConnector,
  query: Sql,
  options: StreamOptions,
): AsyncIterable<ActivityBatch> {
  if (!warehouse.streamColumns) {
    for await (const rows of warehouse.stream<ActivityRow>(query, options))
      yield {
        rowCount: rows.length,
        idAt: (i) => (rows[i]!.customer_id == null ? null : String(rows[i]!.customer_id)),
        rowAt: (i) => rows[i]!,
      };
    return;
  }
  for await (const batch of warehouse.streamColumns(query, options)) yield columnActivity(batch);
}

function columnActivity(batch: ColumnBatch): ActivityBatch {
  const idIndex = batch.names.indexOf("customer_id");
  const ids = batch.columns[idIndex]!;
  const fields = batch.columns.flatMap((column, c) => (c === idIndex ? [] : [{ name: batch.names[c]!, column }]));
  const row: Record<string, unknown> = {};
  // The last id decoded and where its bytes were: the next rows are mostly the same customer's.
  let last: { id: string; start: number; end: number } | null = null;
  return {
    rowCount: batch.rowCount,
    idAt(i) {
      if (ids.kind !== "utf8") {
        const value = columnValue(ids, i);
        return value === null || value === undefined ? null : String(value);
      }
      if (!isValidRow(ids.valid, i)) return null;
      const start = i === 0 ? 0 : ids.ends[i - 1]!;
      const end = ids.ends[i]!;
      if (last && sameBytes(ids.bytes, start, end, last.start, last.end)) return last.id;
      last = { id: String(columnValue(ids, i)), start, end };
      return last.id;
    },
    rowAt(i) {
      for (const { name, column } of fields)
        row[name] =
          column.kind === "days" ? (isValidRow(column.valid, i) ? column.days[i] : null) : columnValue(column, i);
      return row;
    },
  };
}

function sameBytes(bytes: Uint8Array, start: number, end: number, otherStart: number, otherEnd: number): boolean {
  if (end - start !== otherEnd - otherStart) return false;
  for (let k = 0; k < end - start; k++) if (bytes[start + k] !== bytes[otherStart + k]) return false;
  return true;
}

async function* batchesOf<T>(rows: Iterable<T>, size = 10_000): AsyncGenerator<T[]> {
  let batch: T[] = [];
  for (const row of rows) {
    batch.push(row);
    if (batch.length >= size) {
      yield batch;
      batch = [];
    }
  }
  if (batch.length > 0) yield batch;
}

export class StateRefresher {
  private readonly clock: StageClock;
  /** Identifies what the state is computed from besides the data: a change forces a full rebuild. */
  readonly modelHash: string;

  constructor(
    private readonly lifecycle: CustomerFeatureService,
    private readonly tables: StateTables,
    private readonly policy: RefreshPolicy = {
      latenessDays: DEFAULT_LATENESS_DAYS,
      fullEveryDays: DEFAULT_FULL_EVERY_DAYS,
    },
    /** Predictions kept with the state (none when undefined). */
    private readonly clv?: RefreshClv,
  ) {
    this.clock = new StageClock(lifecycle.model);
    this.modelHash = createHash("sha256")
      .update(
        JSON.stringify({
          version: 1,
          model: lifecycle.model.model,
          timeZone: lifecycle.timeZone,
          eventTypes: lifecycle.eventTypes,
          mapping: lifecycle.warehouse.mapping,
          available: [...lifecycle.available].sort(),
        }),
      )
      .digest("hex")
      .slice(0, 32);
  }

  /**
   * A refresh under the refresh lock, incremental when the served state allows it; undefined when
   * another instance holds the lock (that refresh publishes instead).
   */
  async refresh(options: RefreshOptions = {}): Promise<RefreshOutcome | undefined> {
    // A refresh whose lock went with its connection stops: another may take the lock meanwhile, and the
    // outbox's positions rely on one refresh writing at a time.
    const locked = await this.tables.sql.withLock(REFRESH_LOCK, (lost) =>
      this.run({ ...options, signal: options.signal ? AbortSignal.any([options.signal, lost]) : lost }),
    );
    return locked?.value;
  }

  private async run(options: RefreshOptions): Promise<RefreshOutcome> {
    const started = Date.now();
    const { lifecycle, tables } = this;
    const stateDay = options.stateDay ?? (await lifecycle.defaultDay());
    await tables.dropUnpublishedRows();
    const [pointer, { served, lastFull }, tableRows] = await Promise.all([
      tables.pointer(),
      tables.publishedRefreshes(),
      this.tableRows(),
    ]);
    const shrunk = Object.entries(served?.tableRows ?? {}).find(([t, n]) => (tableRows[t] ?? 0) < n);
    const reason = options.full
      ? "asked for"
      : !pointer || !served
        ? "no state yet"
        : pointer.modelHash !== this.modelHash
          ? "the stage model, mapping or time zone changed"
          : stateDay < pointer.stateDay
            ? `the state day ${stateDay} is before the served ${pointer.stateDay}`
            : shrunk
              ? `the ${shrunk[0]} table has fewer rows than at the last refresh`
              : !lastFull || Date.now() - lastFull.startedAt.getTime() >= this.policy.fullEveryDays * 86_400_000
                ? `the last full rebuild is ${this.policy.fullEveryDays} days old or more`
                : null;
    const warnings = this.clock.reason ? [this.clock.reason] : [];
    // The served state's lateness window: what an incremental refresh reads from, and the first day whose
    // stage changes this refresh writes to the outbox.
    const servedWindow = pointer ? addDays(pointer.stateDay, 1 - this.policy.latenessDays) : null;
    const watermark = reason === null ? startOfDay(servedWindow!, lifecycle.timeZone) : null;
    const stageKeys = lifecycle.model.stages.map((s) => s.key);
    const generation = await tables.startRefresh({
      kind: reason === null ? "incremental" : "full",
      stateDay,
      modelHash: this.modelHash,
      tableRows,
      watermark,
      reason,
    });
    try {
      const tally: Tally = { customers: 0, bytesEstimated: lifecycle.warehouse.estimateBytes ? 0 : null };
      const audit = await this.audit(stateDay, watermark, warnings, tally, options.signal);
      // The window the next refresh compares: an incremental one asks from its watermark, which is earlier.
      const ownWindow = addDays(stateDay, 1 - this.policy.latenessDays);
      const recent = await this.recentActivity(stateDay, watermark ?? startOfDay(ownWindow, lifecycle.timeZone), {
        tally,
        signal: options.signal,
      });
      const outcome =
        reason === null
          ? await this.incremental(
              generation,
              pointer!,
              stateDay,
              watermark!,
              dayNumber(servedWindow!),
              recent,
              options,
              tally,
            )
          : await this.full(generation, stateDay, options, tally);
      // A full refresh's rows are a new generation the planner has no statistics for, and the publishing
      // transaction reads it (the outbox, RFM, the CLV summaries): without them the outbox's former join
      // of changed customers to their spells ran as a nested loop for minutes (250k customers, the
      // second full refresh).
      if (reason !== null) await tables.analyze(["customer_state", "stage_spell"]);
      let events = 0;
      let record = { ...outcome.record, ...audit, warnings, customers: 0, bytesEstimated: tally.bytesEstimated };
      await tables.sql.transaction(async (tx) => {
        await outcome.write(tx);
        const kept = dayNumber(ownWindow);
        await tables.replaceRecentActivity(
          tx,
          outcome.rowsGeneration,
          recent.filter((r) => r.day >= kept),
        );
        // The first state is the baseline: changes are those after the state served before.
        if (servedWindow)
          events = await recordStageChanges(tx, {
            generation,
            rowsGeneration: outcome.rowsGeneration,
            fromDay: dayNumber(servedWindow),
            toDay: dayNumber(stateDay),
            stageKeys,
          });
        const rfm = await tables.rfmBounds(tx, outcome.rowsGeneration, stateDay);
        const clv = await this.writeClv(tx, outcome.rowsGeneration, stateDay, options.signal);
        if (clv.warning) warnings.push(clv.warning);
        const [known] = await tx.query<{ n: number }>(
          `SELECT COUNT(*)::int AS n FROM customer_state WHERE rows_generation = $1`,
          [outcome.rowsGeneration],
        );
        record = { ...record, customers: Number(known?.n ?? 0) };
        await tables.publish(
          tx,
          {
            generation,
            rowsGeneration: outcome.rowsGeneration,
            stateDay,
            dataThrough: outcome.dataThrough,
            modelHash: this.modelHash,
            stageKeys,
            clv: clv.clv,
            rfm,
          },
          record,
        );
        if (options.inPublish) events += await options.inPublish(tx, generation);
        if (events > 0) await announceEvents(tx, generation);
      });
      await tables.dropUnpublishedRows();
      // Statistics and the vacuum only speed reads up: the state is published whether or not they run.
      await tables.tidy().catch(() => {});
      const writeback = await this.afterPublish(generation, warnings, options.afterPublish);
      return {
        writeback,
        events,
        generation,
        kind: reason === null ? "incremental" : "full",
        reason,
        stateDay,
        dataThrough: outcome.dataThrough,
        ...record,
        milliseconds: Date.now() - started,
      };
    } catch (error) {
      await tables.failRefresh(generation, (error as Error).message, warnings).catch(() => {});
      await tables.dropUnpublishedRows().catch(() => {});
      throw error;
    }
  }

  /** Runs the work after publishing; a failure there becomes a warning of the published refresh. */
  private async afterPublish(
    generation: number,
    warnings: string[],
    work: RefreshOptions["afterPublish"],
  ): Promise<WritebackOutcome | null> {
    if (!work) return null;
    try {
      return await work();
    } catch (error) {
      warnings.push(`the state was not written back to the warehouse: ${(error as Error).message}`);
      // The state is published whatever becomes of this note.
      await this.tables.setWarnings(generation, warnings).catch(() => {});
      return null;
    }
  }

  /** Every buyer's lifetime-value prediction as of the state day, from a fit on the rows just written. */
  private async writeClv(session: AppSqlSession, rowsGeneration: number, stateDay: string, signal?: AbortSignal) {
    if (!this.clv) {
      await session.query(`DELETE FROM customer_clv WHERE rows_generation = $1`, [rowsGeneration]);
      return { clv: null };
    }
    const settings = { ...STATE_CLV_DEFAULTS, model: this.clv.model };
    return writeClv(session, rowsGeneration, stateDay, settings, this.clv.fit, signal, this.clv.predict);
  }

  /** Rows per warehouse table (what a shrink is seen by). */
  private async tableRows(): Promise<Record<string, number>> {
    const statuses = await this.lifecycle.warehouse.tableStatus();
    return Object.fromEntries(statuses.filter((s) => s.rowCount !== null).map((s) => [s.logical, s.rowCount!]));
  }

  private activityQuery(stateDay: string): ActivityQuery {
    const { warehouse, eventTypes, available, timeZone } = this.lifecycle;
    const cutoff = asOfCutoff(stateDay, timeZone);
    return { dialect: warehouse.dialect, mapping: warehouse.mapping, available, cutoff, timeZone, eventTypes };
  }

  /**
   * What the activity leaves out, counted, with warnings for what needs saying; an incremental refresh
   * counts among the rows from its watermark on (activityAuditSql).
   */
  private async audit(
    stateDay: string,
    watermark: Date | null,
    warnings: string[],
    tally: Tally,
    signal?: AbortSignal,
  ) {
    const query = activityAuditSql(this.activityQuery(stateDay), watermark);
    const options = { label: "state_audit", cache: false, signal };
    await this.estimate(query, options, tally);
    const [audit] = await this.lifecycle.warehouse.query<Record<string, unknown>>(query, options);
    const futureRows = Number(audit?.future_rows ?? 0);
    const nullIdRows = Number(audit?.null_id_rows ?? 0);
    const duplicateIds = Number(audit?.duplicate_customer_rows ?? 0);
    if (nullIdRows > 0)
      warnings.push(
        `${nullIdRows} rows without a customer id were left out${watermark ? ` (of the rows since ${watermark.toISOString()})` : ""}`,
      );
    if (duplicateIds > 0)
      warnings.push(`${duplicateIds} customers rows repeat an id (the earliest sign-up and smallest channel count)`);
    return { futureRows, nullIdRows };
  }

  /**
   * Rows per customer and day from `since` to the cut-off (recentActivitySql): what finds the customers
   * with late rows at the next refresh (recent-activity.ts), and at an incremental one, now.
   */
  private async recentActivity(
    stateDay: string,
    since: Date,
    { tally, signal }: { tally: Tally; signal?: AbortSignal },
  ): Promise<RecentActivity[]> {
    const text = recentActivitySql(this.activityQuery(stateDay), since);
    const options = { label: "state_recent", cache: false, signal, batchRows: 10_000 };
    await this.estimate(text, options, tally);
    const out: RecentActivity[] = [];
    for await (const batch of this.lifecycle.warehouse.stream<Record<string, unknown>>(text, options))
      for (const row of batch) {
        const r = recentActivityOf(row);
        if (r) out.push(r);
      }
    return out;
  }

  /**
   * The changed customers' activity queries as lists of their ids: one list where the warehouse is read
   * in one range (a list is one array parameter), else when the lists are fewer than the id ranges (an
   * embedded warehouse read in ranges scans its tables once per query, and a few changed customers — 1%
   * of a million: two lists against 64 ranges — need not cost a scan per range). Undefined otherwise.
   */
  private changedByIds(query: ActivityQuery, ids: readonly string[], ranges: number): ActivityQuery[] | undefined {
    const sorted = [...ids].sort();
    if (ranges <= 1) return sorted.length <= MAX_LISTED_IDS ? [{ ...query, customerIds: sorted }] : undefined;
    if (Math.ceil(sorted.length / DUE_PER_BATCH) >= ranges) return undefined;
    return Array.from({ length: Math.ceil(sorted.length / DUE_PER_BATCH) }, (_, i) => ({
      ...query,
      customerIds: sorted.slice(i * DUE_PER_BATCH, (i + 1) * DUE_PER_BATCH),
    }));
  }

  /**
   * The histories of customers with nothing new since the served state day, carried on to `lastDay`
   * from their stored rows and spells (lifecycle/stage-history.ts, extendedHistory).
   */
  private async carryOn(
    ids: readonly string[],
    pointer: PublishedState,
    lastDay: number,
    add: (history: CustomerHistory) => Promise<void>,
    tally: Tally,
  ): Promise<void> {
    const { model, eventTypes } = this.lifecycle;
    const fromDay = dayNumber(pointer.stateDay);
    for (const { row, spells } of await this.tables.storedHistories(pointer.rowsGeneration, ids)) {
      const features = storedFeatures(row, pointer.stateDay, eventTypes);
      const history = extendedHistory(model, this.clock, features.customerId, spells, features, fromDay, lastDay);
      tally.customers++;
      await add(history);
    }
  }

  /** Adds what `query` would scan to the tally, by a dry run, where the warehouse has them. */
  private async estimate(query: Sql, options: QueryOptions, tally: Tally): Promise<void> {
    const { warehouse } = this.lifecycle;
    if (!warehouse.estimateBytes || tally.bytesEstimated === null) return;
    tally.bytesEstimated += await warehouse.estimateBytes(query, { ...options, label: `${options.label}_dry_run` });
  }

  /**
   * Streams histories of the customers `query` reads, in id order, to `each`; returns rows read and the
   * last activity day.
   */
  private async histories(
    queries: readonly ActivityQuery[],
    lastDay: number,
    each: (history: CustomerHistory) => Promise<void> | void,
    options: RefreshOptions,
    tally: Tally,
  ): Promise<{ rowsRead: number; dataThrough: number | null }> {
    const { warehouse, eventTypes, available, model } = this.lifecycle;
    const accumulator = new FeatureAccumulator(
      eventTypes,
      { customers: available.has("customers"), events: available.has("events") },
      model.fieldsRead(),
    );
    let rowsRead = 0;
    let dataThrough: number | null = null;
    let currentId: string | null = null;
    const builder = new ActivityDaysBuilder(eventTypes.length);
    const finish = async () => {
      if (currentId === null) return;
      const days = builder.take();
      if (days.length > 0) dataThrough = Math.max(dataThrough ?? -Infinity, days[days.length - 1]!.day);
      const history = customerHistory(model, this.clock, accumulator, currentId, days, lastDay);
      currentId = null;
      if (history) {
        tally.customers++;
        await each(history);
      }
    };
    const streamOptions = { label: "state_activity", cache: false, signal: options.signal, batchRows: 10_000 };
    const texts = queries.map((query) => activitySql(query));
    for (const text of texts) await this.estimate(text, streamOptions, tally);
    let range = 0;
    // Ranges hold customers whole and come in id order: a customer ends where the next one's rows begin.
    const sources = texts.map((text) => () => activityBatches(warehouse, text, streamOptions));
    for await (const [i, batch] of readAhead(sources)) {
      if (i !== range) {
        await finish();
        options.onProgress?.({ customers: tally.customers, rowsRead, rangesDone: i, ranges: queries.length });
        range = i;
      }
      for (let r = 0; r < batch.rowCount; r++) {
        rowsRead++;
        const id = batch.idAt(r);
        if (id === null) continue;
        if (id !== currentId) {
          await finish();
          currentId = id;
        }
        builder.add(batch.rowAt(r));
      }
      options.onProgress?.({ customers: tally.customers, rowsRead, rangesDone: i, ranges: queries.length });
    }
    await finish();
    options.onProgress?.({ customers: tally.customers, rowsRead, rangesDone: queries.length, ranges: queries.length });
    return { rowsRead, dataThrough };
  }

  /** The customer id ranges a refresh reads the embedded warehouse in (one open range elsewhere). */
  private ranges(options: RefreshOptions) {
    const { warehouse, available } = this.lifecycle;
    const perRange = warehouse.customersPerRange;
    return customerRanges(warehouse, available, {
      signal: options.signal,
      perRange: perRange === undefined ? undefined : Math.ceil(perRange / RANGES_PER_EXPORT_RANGE),
    });
  }

  /** Every customer under a new rows generation, loaded a batch at a time outside the publishing transaction. */
  private async full(generation: number, stateDay: string, options: RefreshOptions, tally: Tally) {
    const { lifecycle, tables } = this;
    const lastDay = dayNumber(stateDay);
    const eventFields = eventFeatureFields(lifecycle.eventTypes);
    const counts = new DailyStageCounts(lifecycle.model.stages.length);
    const writer = new HistoryWriter(tables.sql, generation, eventFields, counts);
    const query = this.activityQuery(stateDay);
    const ranges = await this.ranges(options);
    const reading = this.histories(
      ranges.map((customerRange) => ({ ...query, customerRange })),
      lastDay,
      (history) => writer.add(history),
      options,
      tally,
    );
    const read = await reading.finally(() => writer.settle());
    await writer.finish();
    return {
      rowsGeneration: generation,
      dataThrough: read.dataThrough === null ? null : dayOfNumber(read.dataThrough),
      record: { rowsRead: read.rowsRead, changedCustomers: tally.customers },
      write: async (tx: AppSqlSession) => {
        await tx.copyRows(
          "stage_day_count",
          ["rows_generation", "furthest", "day", "stage", "customers"],
          batchesOf(counts.rows(generation, lastDay)),
        );
      },
    };
  }

  /**
   * The customers whose rows since `watermark` (the first day of the served state's lateness window,
   * `windowStart`) differ from those counted at the last refresh (`recent` against the kept counts) and
   * those whose next change day has come, worked out again and replaced in the served rows; everyone
   * else's state stands (their stage cannot change before their next change day, and their features on
   * the new day follow from the stored ones).
   */
  private async incremental(
    generation: number,
    pointer: PublishedState,
    stateDay: string,
    watermark: Date,
    windowStart: number,
    recent: readonly RecentActivity[],
    options: RefreshOptions,
    tally: Tally,
  ) {
    const { lifecycle, tables } = this;
    const rowsGeneration = pointer.rowsGeneration;
    const lastDay = dayNumber(stateDay);
    const query = this.activityQuery(stateDay);
    const eventFields = eventFeatureFields(lifecycle.eventTypes);
    // Written under this refresh's own generation (staging, never read), then swapped in at publishing.
    const counts = new DailyStageCounts(lifecycle.model.stages.length);
    const writer = new HistoryWriter(tables.sql, generation, eventFields, counts);
    // Who was written: the customers due by the new day are read unless the changed ones included them.
    const written = new Set<string>();
    const add = (history: CustomerHistory) => {
      written.add(history.customerId);
      return writer.add(history);
    };
    let rowsRead = 0;
    let dataThrough: number | null = null;
    const read = async (queries: ActivityQuery[]) => {
      const r = await this.histories(queries, lastDay, add, options, tally).finally(() => writer.settle());
      rowsRead += r.rowsRead;
      if (r.dataThrough !== null) dataThrough = Math.max(dataThrough ?? -Infinity, r.dataThrough);
    };
    // The customers whose rows in the window differ from those kept at the last refresh: by lists of
    // their ids, or (too many to list) everyone with a row in the window, in the id ranges of a full one.
    const late = lateCustomers(await tables.recentActivity(rowsGeneration), recent, windowStart);
    const ranges = await this.ranges(options);
    if (late.size > 0)
      await read(
        this.changedByIds(query, [...late], ranges.length) ??
          ranges.map((customerRange) => ({ ...query, changedSince: watermark, customerRange })),
      );
    const due = (await tables.dueCustomers(rowsGeneration, stateDay)).filter((id) => !written.has(id));
    for (let i = 0; i < due.length; i += DUE_PER_BATCH) {
      const ids = due.slice(i, i + DUE_PER_BATCH);
      // Nothing new since the served state day: their stored history is carried on, where the clock is
      // exact; an inexact one needs their activity again.
      if (this.clock.exact) await this.carryOn(ids, pointer, lastDay, add, tally);
      else await read([{ ...query, customerIds: ids }]);
    }
    await writer.finish();
    const previousThrough = pointer.dataThrough === null ? null : dayNumber(pointer.dataThrough);
    const through = Math.max(dataThrough ?? -Infinity, previousThrough ?? -Infinity);
    return {
      rowsGeneration,
      dataThrough: Number.isFinite(through) ? dayOfNumber(through) : null,
      record: { rowsRead, changedCustomers: written.size },
      write: async (tx: AppSqlSession) => {
        // The served spells of the customers written again leave the counts; their new ones are in.
        for (const c of await tables.stagedSpellChanges(tx, rowsGeneration, generation))
          counts.subtract(dayNumber(c.day), c.furthest, c.stage, c.n);
        await tables.promoteStaged(tx, rowsGeneration, generation);
        await tables.moveDayCounts(tx, rowsGeneration, pointer.stateDay, stateDay, [...counts.totals(lastDay)]);
      },
    };
  }
}

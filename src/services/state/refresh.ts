// A refresh of the state store: every customer's activity read from the warehouse once, their stage
// history and state on the state day worked out in TypeScript (lifecycle/stage-history.ts), the rows
// loaded with COPY under a new generation, and the pointer moved to it in one transaction. Readers keep
// the previous state until then; a refresh that fails or is killed leaves it serving, and its rows are
// removed by the next one. Memory stays bounded: customers stream through a batch at a time, and the
// embedded DuckDB is read in customer id ranges (services/customer-ranges.ts).
import { createHash } from "node:crypto";
import { activityDays, FeatureAccumulator, type ActivityRow } from "../../lifecycle/activity.ts";
import { asOfCutoff, dayNumber, dayOfNumber } from "../../lifecycle/calendar.ts";
import { activityAuditSql, activitySql } from "../../lifecycle/features-sql.ts";
import { customerHistory, StageClock, type CustomerHistory } from "../../lifecycle/stage-history.ts";
import { customerRanges } from "../customer-ranges.ts";
import type { CustomerFeatureService } from "../lifecycle/features.ts";
import {
  CUSTOMER_STATE_COLUMNS,
  customerStateRow,
  eventFeatureFields,
  spellRows,
  STAGE_SPELL_COLUMNS,
  type StateTables,
} from "./state-tables.ts";

/** The advisory lock key of refreshes ("CLMR"): one refresh at a time across instances. */
export const REFRESH_LOCK = 0x434c4d52;

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
  readonly onProgress?: (progress: RefreshProgress) => void;
  readonly signal?: AbortSignal;
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
  readonly warnings: readonly string[];
  readonly milliseconds: number;
}

/** Customers per stage on each day, kept as changes per day while the spells go by. */
class DailyStageCounts {
  private readonly changes = new Map<number, Int32Array>();

  constructor(private readonly stages: number) {}

  private change(day: number, stage: number, by: number): void {
    let row = this.changes.get(day);
    if (!row) this.changes.set(day, (row = new Int32Array(this.stages)));
    row[stage]! += by;
  }

  add(history: CustomerHistory): void {
    for (const spell of history.spells) {
      this.change(spell.from, spell.stage, 1);
      if (spell.to !== null) this.change(spell.to, spell.stage, -1);
    }
  }

  /** Rows (day, stage, customers) for every day from the first to `lastDay`, stages with nobody left out. */
  *rows(rowsGeneration: number, lastDay: number): Generator<unknown[]> {
    const days = [...this.changes.keys()].sort((a, b) => a - b);
    if (days.length === 0) return;
    const running = new Int32Array(this.stages);
    let next = 0;
    for (let day = days[0]!; day <= lastDay; day++) {
      if (days[next] === day) {
        const row = this.changes.get(day)!;
        for (let s = 0; s < this.stages; s++) running[s]! += row[s]!;
        next++;
      }
      for (let s = 0; s < this.stages; s++)
        if (running[s] !== 0) yield [rowsGeneration, dayOfNumber(day), s, running[s]];
    }
  }
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

  /** Why days are classified one by one, when the stage model's rules make it so. */
  get clockWarning(): string | undefined {
    return this.clock.reason;
  }

  /**
   * A full refresh under the refresh lock; undefined when another instance holds it (that refresh
   * publishes instead).
   */
  async refresh(options: RefreshOptions = {}): Promise<RefreshOutcome | undefined> {
    const locked = await this.tables.sql.withLock(REFRESH_LOCK, () => this.fullRefresh(options));
    return locked?.value;
  }

  private async fullRefresh(options: RefreshOptions): Promise<RefreshOutcome> {
    const started = Date.now();
    const { lifecycle, tables } = this;
    const stateDay = options.stateDay ?? lifecycle.today();
    const lastDay = dayNumber(stateDay);
    const warnings = this.clock.reason ? [this.clock.reason] : [];
    await tables.dropUnpublishedRows();
    const generation = await tables.startRefresh("full", stateDay, this.modelHash);
    try {
      const { warehouse, eventTypes, available, timeZone, model } = lifecycle;
      const cutoff = asOfCutoff(stateDay, timeZone);
      const query = { dialect: warehouse.dialect, mapping: warehouse.mapping, available, cutoff, timeZone, eventTypes };
      const [audit] = await warehouse.query<Record<string, unknown>>(activityAuditSql(query), {
        label: "state_audit",
        cache: false,
        signal: options.signal,
      });
      const futureRows = Number(audit?.future_rows ?? 0);
      const nullIdRows = Number(audit?.null_id_rows ?? 0);
      const duplicateIds = Number(audit?.duplicate_customer_rows ?? 0);
      if (nullIdRows > 0) warnings.push(`${nullIdRows} rows without a customer id were left out`);
      if (duplicateIds > 0)
        warnings.push(`${duplicateIds} customers rows repeat an id (the earliest sign-up and smallest channel count)`);

      const accumulator = new FeatureAccumulator(eventTypes, {
        customers: available.has("customers"),
        events: available.has("events"),
      });
      const eventFields = eventFeatureFields(eventTypes);
      const counts = new DailyStageCounts(model.stages.length);
      let customers = 0;
      let rowsRead = 0;
      let dataThrough: number | null = null;
      let stateRows: unknown[][] = [];
      let spells: unknown[][] = [];
      const flush = async () => {
        if (stateRows.length === 0) return;
        const [s, p] = [stateRows, spells];
        stateRows = [];
        spells = [];
        await tables.sql.copyRows("customer_state", CUSTOMER_STATE_COLUMNS, batchesOf(s));
        await tables.sql.copyRows("stage_spell", STAGE_SPELL_COLUMNS, batchesOf(p));
      };
      let currentId: string | null = null;
      let rows: ActivityRow[] = [];
      const finishCustomer = () => {
        if (currentId === null) return;
        const days = activityDays(rows, eventTypes.length);
        const history = customerHistory(model, this.clock, accumulator, currentId, days, lastDay);
        if (days.length > 0) dataThrough = Math.max(dataThrough ?? -Infinity, days[days.length - 1]!.day);
        if (!history) return;
        customers++;
        counts.add(history);
        stateRows.push(customerStateRow(generation, history, eventFields));
        spells.push(...spellRows(generation, history));
      };

      const ranges = await customerRanges(warehouse, available, { signal: options.signal });
      for (const [i, customerRange] of ranges.entries()) {
        const stream = warehouse.stream<ActivityRow>(activitySql({ ...query, customerRange }), {
          label: "state_activity",
          cache: false,
          signal: options.signal,
          batchRows: 10_000,
        });
        for await (const batch of stream) {
          for (const row of batch) {
            rowsRead++;
            if (row.customer_id === null || row.customer_id === undefined) continue;
            const id = String(row.customer_id);
            if (id !== currentId) {
              finishCustomer();
              currentId = id;
              rows = [];
            }
            rows.push(row);
          }
          if (stateRows.length >= CUSTOMERS_PER_BATCH) await flush();
          options.onProgress?.({ customers, rowsRead, rangesDone: i, ranges: ranges.length });
        }
        options.onProgress?.({ customers, rowsRead, rangesDone: i + 1, ranges: ranges.length });
      }
      finishCustomer();
      await flush();

      const through = dataThrough === null ? null : dayOfNumber(dataThrough);
      await tables.sql.transaction(async (tx) => {
        await tx.copyRows(
          "stage_day_count",
          ["rows_generation", "day", "stage", "customers"],
          batchesOf(counts.rows(generation, lastDay)),
        );
        await tables.publish(
          tx,
          {
            generation,
            rowsGeneration: generation,
            stateDay,
            dataThrough: through,
            modelHash: this.modelHash,
            stageKeys: model.stages.map((s) => s.key),
          },
          { rowsRead, customers, changedCustomers: customers, futureRows, nullIdRows, warnings },
        );
      });
      await tables.dropUnpublishedRows();
      return {
        generation,
        kind: "full",
        stateDay,
        dataThrough: through,
        customers,
        changedCustomers: customers,
        rowsRead,
        futureRows,
        nullIdRows,
        warnings,
        milliseconds: Date.now() - started,
      };
    } catch (error) {
      await tables.failRefresh(generation, (error as Error).message, warnings).catch(() => {});
      await tables.dropUnpublishedRows().catch(() => {});
      throw error;
    }
  }
}

// Incremental refreshes end in exactly the state a full rebuild gives: on random shops whose rows reach
// the warehouse over several refreshes at random cadences (the same day again, a day later, weeks
// later), some rows late but inside the lateness window, some dated after the state day, on every
// warehouse with the app database of the run. Compared: every customer's state (features, stage,
// furthest stage, the day they entered it, the next change day), every stage spell and the day counts;
// and the outbox each refresh writes: the stage changes of its window, each once.
import { createHash } from "node:crypto";
import fc from "fast-check";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { ContractRow } from "../../src/connectors/connector.ts";
import { addDays, asOfCutoff, dayNumber, startOfDay } from "../../src/lifecycle/calendar.ts";
import type { EventType } from "../../src/lifecycle/features.ts";
import { salesFunnelStageModel } from "../../src/lifecycle/sales-funnel.ts";
import { defaultStageModel, type StageModel } from "../../src/lifecycle/stage-model.ts";
import { DEFAULT_MAPPING, type LogicalTable } from "../../src/sql/contract.ts";
import { DuckDBConnector } from "../../src/connectors/duckdb.ts";
import { LifecycleService } from "../../src/services/lifecycle/service.ts";
import { StateRefresher } from "../../src/services/state/refresh.ts";
import { StateTables, storedFeatures } from "../../src/services/state/state-tables.ts";
import {
  openTestAppDatabase,
  testWarehouses,
  type TestAppDatabase,
  type TestWarehouse,
  type WarehouseFactory,
} from "../helpers/databases.ts";
import { describeOnZetaSql } from "../helpers/zetasql-warehouse.ts";

const ZONE = "America/Chicago";
const FIRST_DAY = "2025-09-01";
const LATENESS_DAYS = 3;
const EVENT_TYPES: readonly EventType[] = [
  { key: "lead", values: ["lead"] },
  { key: "quote_request", values: ["quote"] },
];
const CUSTOMERS = ["a", "b", "c", "d", "e", "f"];
const TABLES = ["customers", "events"] as const;
const MODELS: Record<string, StageModel> = {
  default: defaultStageModel({ atRiskMinDays: 20, churnDays: 60, newMaxDays: 10 }),
  "sales funnel": salesFunnelStageModel({
    eventTypes: EVENT_TYPES,
    interestEvents: ["lead"],
    evaluationEvents: ["quote_request"],
    thresholds: { evaluationAfterDays: 5, coldLeadDays: 15, atRiskMinDays: 20, churnDays: 60 },
  }),
};

/** State days: the first, then gaps of 0 (the same day again), 1, or a few weeks. */
const stateDays = fc
  .array(fc.constantFrom(0, 1, 2, 6, 25), { minLength: 1, maxLength: 4 })
  .map((gaps) => gaps.reduce<string[]>((days, gap) => [...days, addDays(days.at(-1)!, gap)], [addDays(FIRST_DAY, 60)]));

interface Arrival {
  /** The refresh before which the row reaches the warehouse. */
  readonly refresh: number;
  /** Where in its window the row is dated (0–1), and the hour. */
  readonly at: number;
  readonly hour: number;
}

const arrival = (refreshes: number): fc.Arbitrary<Arrival> =>
  fc.record({ refresh: fc.nat(refreshes - 1), at: fc.double({ min: 0, max: 1, noNaN: true }), hour: fc.nat(23) });

/**
 * The instant of a row arriving before refresh `i`: from the start of the lateness window of the state
 * before (the first day of the shop for the first refresh) to a few days past refresh i's state day.
 */
function instantOf(a: Arrival, days: readonly string[]): number {
  const from = a.refresh === 0 ? FIRST_DAY : addDays(days[a.refresh - 1]!, 1 - LATENESS_DAYS);
  const to = addDays(days[a.refresh]!, 4);
  const span = dayNumber(to) - dayNumber(from);
  const day = addDays(from, Math.min(span - 1, Math.floor(a.at * span)));
  return startOfDay(day, ZONE).getTime() + a.hour * 3_600_000;
}

const shop = stateDays.chain((days) =>
  fc.record({
    days: fc.constant(days),
    transactions: fc.array(
      fc.tuple(
        fc.constantFrom(...CUSTOMERS),
        arrival(days.length),
        fc.integer({ min: -3_000, max: 9_999 }), // refunds among them
        fc.option(fc.constantFrom("o1", "o2"), { nil: null }),
      ),
      { maxLength: 25 },
    ),
    customers: fc.array(
      fc.tuple(
        fc.constantFrom(...CUSTOMERS),
        arrival(days.length),
        fc.option(fc.constantFrom("email", "search"), { nil: null }),
        fc.option(fc.constantFrom(...CUSTOMERS), { nil: null }),
      ),
      { maxLength: 6 },
    ),
    events: fc.array(
      fc.tuple(fc.constantFrom(...CUSTOMERS), arrival(days.length), fc.constantFrom("lead", "quote", "visit")),
      { maxLength: 15 },
    ),
  }),
);

type Shop = typeof shop extends fc.Arbitrary<infer S> ? S : never;

/** The contract rows of each table that arrive before refresh `i`. */
function arriving(s: Shop, i: number): Record<"transactions" | (typeof TABLES)[number], ContractRow[]> {
  const at = (a: Arrival) => instantOf(a, s.days);
  return {
    transactions: s.transactions
      .filter(([, a]) => a.refresh === i)
      .map(([c, a, cents, order]) => [c, at(a), cents / 100, order, null]),
    customers: s.customers.filter(([, a]) => a.refresh === i).map(([c, a, channel, by]) => [c, at(a), channel, by]),
    events: s.events.filter(([, a]) => a.refresh === i).map(([c, a, type]) => [c, at(a), type, null]),
  };
}

/** Everything the served state holds, without the generation numbers. */
async function snapshot(tables: StateTables, stateDay: string) {
  const pointer = (await tables.pointer())!;
  const q = (text: string) => tables.sql.query(text, [pointer.rowsGeneration]);
  const day = (v: unknown) => (v === null ? null : v instanceof Date ? v.toISOString().slice(0, 10) : String(v));
  const states = (await q(`SELECT * FROM customer_state WHERE rows_generation = $1 ORDER BY customer_id`)).map((r) => ({
    features: storedFeatures(r, stateDay, EVENT_TYPES),
    stage: r.stage,
    furthest: r.furthest,
    stageSince: day(r.stage_since),
    nextChangeDay: day(r.next_change_day),
  }));
  const spells = (
    await q(
      `SELECT customer_id, from_day, to_day, stage, furthest, stage_since FROM stage_spell WHERE rows_generation = $1 ORDER BY customer_id, from_day`,
    )
  ).map((r) => [r.customer_id, day(r.from_day), day(r.to_day), r.stage, r.furthest, day(r.stage_since)]);
  const counts = (
    await q(
      `SELECT furthest, day, stage, customers FROM stage_day_count WHERE rows_generation = $1 ORDER BY furthest, day, stage`,
    )
  ).map((r) => [r.furthest, day(r.day), r.stage, r.customers]);
  return { stateDay: pointer.stateDay, dataThrough: pointer.dataThrough, states, spells, counts, rfm: pointer.rfm };
}

/** The outbox's events: id → [customer, day, from, to]. */
async function outboxIds(tables: StateTables): Promise<Map<string, unknown[]>> {
  const rows = await tables.sql.query(
    `SELECT id, customer_id, day::text AS day, from_stage, to_stage FROM lifecycle_event WHERE type = 'stage.changed'`,
  );
  return new Map(rows.map((r) => [String(r.id), [r.customer_id, r.day, r.from_stage, r.to_stage]]));
}

/**
 * The stage changes of the served history on days in [from, to], worked out here from its spells: a
 * spell whose stage differs from the one before it (or with none before) starts a change. Keyed by the
 * outbox's id (the md5 of customer, day, from and to), so the ids are checked too.
 */
async function changesIn(tables: StateTables, model: StageModel, from: string, to: string) {
  const pointer = (await tables.pointer())!;
  const spells = await tables.sql.query(
    `SELECT customer_id, from_day::text AS from_day, stage FROM stage_spell WHERE rows_generation = $1 ORDER BY customer_id, from_day`,
    [pointer.rowsGeneration],
  );
  const keys = model.stages.map((s) => s.key);
  const changes = new Map<string, unknown[]>();
  spells.forEach((spell, i) => {
    const previous = spells[i - 1]?.customer_id === spell.customer_id ? spells[i - 1] : undefined;
    const day = String(spell.from_day);
    if (day < from || day > to || previous?.stage === spell.stage) return;
    const [fromKey, toKey] = [previous ? keys[Number(previous.stage)]! : null, keys[Number(spell.stage)]!];
    const hash = createHash("md5")
      .update(`${spell.customer_id}|${day}|${fromKey ?? ""}|${toKey}`)
      .digest("hex");
    changes.set(`evt_${hash.slice(0, 24)}`, [spell.customer_id, day, fromKey, toKey]);
  });
  return changes;
}

describe.each(testWarehouses())("incremental state refreshes on $label", (factory) => {
  incrementalSuite(() => factory);
});

// DuckDB read in id ranges of two customers (as a large embedded shop is): the changed customers are
// then read by lists of their ids, fewer queries than ranges.
describe("incremental state refreshes on duckdb in id ranges", () => {
  incrementalSuite(() => ({
    label: "duckdb in id ranges",
    open: async () =>
      Object.assign(await DuckDBConnector.open(undefined, DEFAULT_MAPPING, { customersPerRange: 16 }), {
        label: "duckdb in id ranges",
      }),
  }));
});

// BigQuery's SQL (the changed customers' activity, filtered on the time columns) evaluated by ZetaSQL.
describeOnZetaSql("incremental state refreshes on BigQuery (ZetaSQL)", (warehouses) => {
  incrementalSuite(() => warehouses({ numericAs: "NUMERIC" }));
});

/** The property on the warehouse `factory()` opens (asked for once the suite runs). */
function incrementalSuite(factory: () => WarehouseFactory): void {
  let warehouse: TestWarehouse;
  let appDb: TestAppDatabase;
  beforeAll(async () => {
    warehouse = await factory().open();
    appDb = await openTestAppDatabase();
  });
  afterAll(async () => {
    await warehouse?.close();
    await appDb?.close();
  });

  for (const [name, model] of Object.entries(MODELS)) {
    it(`end in the state a full rebuild gives (${name})`, async () => {
      const lifecycle = new LifecycleService(warehouse, model, ZONE, new Set<LogicalTable>(TABLES), {
        eventTypes: EVENT_TYPES,
      });
      const tables = new StateTables(appDb.sql);
      const refresher = new StateRefresher(lifecycle, tables, { latenessDays: LATENESS_DAYS, fullEveryDays: 1_000 });
      await fc.assert(
        fc.asyncProperty(shop, async (s) => {
          await warehouse.createTables({ replace: true });
          await appDb.sql.query(`DELETE FROM lifecycle_event`);
          for (const [i, day] of s.days.entries()) {
            for (const [table, rows] of Object.entries(arriving(s, i)))
              if (rows.length > 0) await warehouse.append(table as LogicalTable, rows);
            const before = await outboxIds(tables);
            const outcome = (await refresher.refresh({ stateDay: day, full: i === 0 }))!;
            expect(outcome.kind).toBe(i === 0 ? "full" : "incremental");
            expect(outcome.futureRows).toBeGreaterThanOrEqual(0);
            // The outbox: the first state is the baseline; each later refresh adds the history's stage
            // changes on the days from the lateness window of the state before to its own, once each.
            const expected =
              i === 0 ? new Map() : await changesIn(tables, model, addDays(s.days[i - 1]!, 1 - LATENESS_DAYS), day);
            const after = await outboxIds(tables);
            for (const [id, change] of expected) expect(after.get(id), id).toEqual(change);
            const added = [...after.keys()].filter((id) => !before.has(id));
            expect(added.sort()).toEqual([...expected.keys()].filter((id) => !before.has(id)).sort());
            expect(outcome.events).toBe(added.length);
          }
          const last = s.days.at(-1)!;
          const incremental = await snapshot(tables, last);
          const full = (await refresher.refresh({ stateDay: last, full: true }))!;
          expect(full.kind).toBe("full");
          expect(incremental).toEqual(await snapshot(tables, last));
          // The rebuild finds the same changes: none is written twice.
          expect(full.events).toBe(0);
          // And the rows dated after the last state day were counted, not read.
          const later = [...s.transactions, ...s.customers, ...s.events].filter(
            ([, a]) => instantOf(a, s.days) >= asOfCutoff(last, ZONE).getTime(),
          ).length;
          expect(full.futureRows).toBe(later);
        }),
        { numRuns: 15, endOnFailure: true },
      );
    });
  }
}

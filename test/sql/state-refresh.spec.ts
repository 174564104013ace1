// The state store against the query-time path, on random shops, on every warehouse with the app
// database of the run (PGlite, or PostgreSQL in CI): after a full refresh, a customer's stage and
// furthest stage on any day up to the state day (from the stored history) equal the classifier over the
// features query as of that day; the stage counts of any day equal the warehouse's; and each state row's
// features equal the features query's on the state day. The sales-funnel preset, with its event-driven
// stages, runs beside the default model.
import fc from "fast-check";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { ContractRow } from "../../src/connectors/connector.ts";
import { addDays, dayNumber, daysBetween, startOfDay } from "../../src/lifecycle/calendar.ts";
import type { CustomerFeatures, EventType } from "../../src/lifecycle/features.ts";
import { salesFunnelStageModel } from "../../src/lifecycle/sales-funnel.ts";
import { defaultStageModel, type StageModel } from "../../src/lifecycle/stage-model.ts";
import type { LogicalTable } from "../../src/sql/contract.ts";
import { LifecycleService } from "../../src/services/lifecycle/service.ts";
import { StateRefresher } from "../../src/services/state/refresh.ts";
import { StateTables, storedFeatures, storedRfmSql } from "../../src/services/state/state-tables.ts";
import { queryBuilt, storedDay } from "../../src/appdb/app-sql.ts";
import { monetaryKey, rfmScoreOf } from "../../src/lifecycle/rfm.ts";
import { sql } from "../../src/sql/sql.ts";
import {
  openTestAppDatabase,
  testWarehouses,
  type TestAppDatabase,
  type TestWarehouse,
  type WarehouseFactory,
} from "../helpers/databases.ts";
import { describeOnZetaSql } from "../helpers/zetasql-warehouse.ts";

const ZONE = "Europe/Berlin";
const FIRST_DAY = "2025-01-01";
const STATE_DAY = "2026-02-28";
const DAYS = dayNumber(STATE_DAY) - dayNumber(FIRST_DAY);
const EVENT_TYPES: readonly EventType[] = [
  { key: "visit", values: ["visit"] },
  { key: "lead", values: ["lead"] },
  { key: "quote_request", values: ["quote"] },
];
const CUSTOMERS = ["a", "b", "c", "d", "e", "f", "g"];
const TABLES = ["customers", "events"] as const;

const MODELS: Record<string, StageModel> = {
  default: defaultStageModel(),
  "sales funnel": salesFunnelStageModel({
    eventTypes: EVENT_TYPES,
    interestEvents: ["lead"],
    evaluationEvents: ["quote_request"],
  }),
};

/** An instant on a random day of the range or a few days past the state day (those must wait). */
const instant = fc
  .tuple(fc.integer({ min: 0, max: DAYS + 4 }), fc.integer({ min: 0, max: 23 }))
  .map(([d, hour]) => startOfDay(addDays(FIRST_DAY, d), ZONE).getTime() + hour * 3_600_000);

const shop = fc.record({
  transactions: fc.array(
    fc.tuple(
      fc.constantFrom(...CUSTOMERS),
      instant,
      // Refunds among them (negative): a day of refunds only is no purchase day.
      fc.integer({ min: -3_000, max: 9_999 }).map((c) => c / 100),
      fc.option(fc.constantFrom("o1", "o2"), { nil: null }),
      fc.constant(null),
    ),
    { maxLength: 30 },
  ),
  customers: fc.array(
    fc.tuple(
      fc.constantFrom(...CUSTOMERS),
      instant,
      fc.option(fc.constantFrom("email", "search"), { nil: null }),
      fc.option(fc.constantFrom(...CUSTOMERS), { nil: null }),
    ),
    { maxLength: 8 },
  ),
  events: fc.array(
    fc.tuple(fc.constantFrom(...CUSTOMERS), instant, fc.constantFrom("visit", "lead", "quote"), fc.constant(null)),
    { maxLength: 20 },
  ),
});

/** Features as plain data (exact: revenue is summed exactly on both sides). */
function comparable(features: CustomerFeatures): Record<string, unknown> {
  return { ...features };
}

describe.each(testWarehouses())("state store after a full refresh on $label", (factory) => {
  fullRefreshSuite(() => factory);
});

// BigQuery's SQL (the activity and audit queries) evaluated by ZetaSQL, through the real client.
describeOnZetaSql("state store after a full refresh on BigQuery (ZetaSQL)", (warehouses) => {
  fullRefreshSuite(() => warehouses({ numericAs: "NUMERIC" }));
});

/** The property on the warehouse `factory()` opens (asked for once the suite runs), `runs` shops per model. */
function fullRefreshSuite(factory: () => WarehouseFactory, runs = 12): void {
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
    it(`answers as the query-time path on any day (${name})`, async () => {
      const lifecycle = new LifecycleService(warehouse, model, ZONE, new Set<LogicalTable>(TABLES), {
        eventTypes: EVENT_TYPES,
      });
      const tables = new StateTables(appDb.sql);
      const refresher = new StateRefresher(lifecycle, tables);
      await fc.assert(
        fc.asyncProperty(
          shop,
          fc.array(fc.integer({ min: 0, max: DAYS }), { minLength: 1, maxLength: 3 }),
          async (rows, offsets) => {
            await warehouse.createTables({ replace: true });
            for (const table of ["transactions", ...TABLES] as const) {
              if (rows[table].length > 0) await warehouse.append(table, rows[table] as ContractRow[]);
            }
            const outcome = (await refresher.refresh({ stateDay: STATE_DAY, full: true }))!;
            expect(outcome.kind).toBe("full");

            // The state rows equal the features query's features on the state day.
            const expected = await lifecycle.featuresOf(STATE_DAY, CUSTOMERS);
            const state = (await tables.customerStates(refresher.modelHash, CUSTOMERS))!;
            expect(state.pointer.generation).toBe(outcome.generation);
            expect(state.rows.map((r) => String(r.customer_id)).sort()).toEqual([...expected.keys()].sort());
            for (const row of state.rows) {
              const stored = storedFeatures(row, STATE_DAY, EVENT_TYPES);
              const want = expected.get(stored.customerId)!;
              expect(comparable(stored), stored.customerId).toEqual(comparable(want));
              expect(Number(row.stage)).toBe(lifecycle.model.stageIndexOf(want));
            }
            expect(outcome.customers).toBe(expected.size);
            // RFM scores from the state's bounds, in TypeScript (lookups, the export) and in SQL (segments,
            // the RFM grid), equal the warehouse's ranks.
            const queriedRfm = await lifecycle.rfmOf(STATE_DAY, CUSTOMERS);
            const want = Object.fromEntries([...queriedRfm].map(([id, score]) => [id, score.code]));
            const inputs = (await tables.rfmInputsOf(refresher.modelHash, CUSTOMERS))!;
            const bounds = inputs.pointer.rfm;
            expect(bounds === null).toBe(queriedRfm.size === 0);
            const code = (r: Record<string, unknown>) =>
              `${rfmScoreOf(bounds!, "recency", daysBetween(storedDay(r.last_purchase_date)!, STATE_DAY))}${rfmScoreOf(
                bounds!,
                "frequency",
                Number(r.purchase_days),
              )}${rfmScoreOf(bounds!, "monetary", monetaryKey(Number(r.revenue)))}`;
            expect(Object.fromEntries(inputs.rows.map((r) => [r.customer_id, code(r)]))).toEqual(want);
            const inSql = await queryBuilt(
              appDb.sql,
              sql`SELECT s.customer_id, ${storedRfmSql("recency")} AS r, ${storedRfmSql("frequency")} AS f,
                         ${storedRfmSql("monetary")} AS m
                  FROM state_pointer p JOIN customer_state s ON s.rows_generation = p.rows_generation
                  WHERE p.id = 1 AND s.purchase_days >= 1`,
            );
            expect(Object.fromEntries(inSql.map((r) => [r.customer_id, `${r.r}${r.f}${r.m}`]))).toEqual(want);

            // Stages and counts on random days from the history.
            for (const day of [...offsets.map((o) => addDays(FIRST_DAY, o)), STATE_DAY]) {
              const features = await lifecycle.featuresOf(day, CUSTOMERS);
              const onDay = (await tables.stagesOn(refresher.modelHash, CUSTOMERS, day))!;
              expect([...onDay.stages.keys()].sort(), day).toEqual([...features.keys()].sort());
              for (const [id, f] of features) {
                expect(onDay.stages.get(id), `${id} on ${day}`).toEqual({
                  stage: lifecycle.model.stageIndexOf(f),
                  furthest: lifecycle.model.furthestIndexOf(f),
                });
              }
              const counts = (await tables.stageCountsOn(refresher.modelHash, day))!;
              const queried = await lifecycle.stageCounts(day);
              expect(
                queried.map((c, i) => counts.counts.get(i) ?? 0),
                day,
              ).toEqual(queried.map((c) => c.count));
            }
          },
        ),
        { numRuns: runs, endOnFailure: true },
      );
    });
  }
}

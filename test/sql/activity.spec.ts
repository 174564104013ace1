// Features folded in TypeScript from the warehouse's activity per day (activitySql, FeatureAccumulator)
// equal the features query's on any day, on random purchases, sign-ups, referrals and events, on every
// warehouse and on BigQuery as ZetaSQL runs it: what the state store serves is what a query would answer.
// Days are local days in America/New_York; instants include the edges of days.
import fc from "fast-check";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { ContractRow } from "../../src/connectors/connector.ts";
import { activityDays, FeatureAccumulator, type ActivityRow } from "../../src/lifecycle/activity.ts";
import { addDays, asOfCutoff, dayNumber, startOfDay } from "../../src/lifecycle/calendar.ts";
import { activitySql } from "../../src/lifecycle/features-sql.ts";
import type { CustomerFeatures, EventType } from "../../src/lifecycle/features.ts";
import { defaultStageModel } from "../../src/lifecycle/stage-model.ts";
import type { LogicalTable } from "../../src/sql/contract.ts";
import { LifecycleService } from "../../src/services/lifecycle/service.ts";
import { testWarehouses, type TestWarehouse, type WarehouseFactory } from "../helpers/databases.ts";
import { describeOnZetaSql } from "../helpers/zetasql-warehouse.ts";

const ZONE = "America/New_York";
const FIRST_DAY = "2026-03-01";
const LAST_DAY = "2026-04-15";
const DAYS = dayNumber(LAST_DAY) - dayNumber(FIRST_DAY);
const EVENT_TYPES: readonly EventType[] = [
  { key: "visit", values: ["visit"] },
  { key: "lead", values: ["lead", "contact_form"] },
];
const CUSTOMERS = ["c0", "c1", "c2", "c3", "c4"];

/** An instant on a random day of the range (and 3 days past it), often at the edges of the local day. */
const instant = fc
  .tuple(fc.integer({ min: 0, max: DAYS + 3 }), fc.constantFrom("start", "end", "noon", "random"), fc.nat(86_399_999))
  .map(([d, where, ms]) => {
    const day = addDays(FIRST_DAY, d);
    const start = startOfDay(day, ZONE).getTime();
    const next = startOfDay(addDays(day, 1), ZONE).getTime();
    if (where === "start") return start;
    if (where === "end") return next - 1;
    if (where === "noon") return start + 12 * 3_600_000;
    return start + (ms % (next - start));
  });

const data = fc.record({
  transactions: fc.array(
    fc.tuple(
      fc.constantFrom(...CUSTOMERS),
      instant,
      // Refunds (negative amounts) among the purchases: alone on a day, beside purchases, in one order.
      fc.integer({ min: -8_000, max: 20_000 }).map((c) => c / 100),
      fc.option(fc.constantFrom("o1", "o2", "o3"), { nil: null, freq: 3 }),
      fc.constant(null),
    ),
    { maxLength: 25 },
  ),
  customers: fc.array(
    fc.tuple(
      fc.constantFrom(...CUSTOMERS),
      instant,
      fc.option(fc.constantFrom("email", "search", "social"), { nil: null }),
      fc.option(fc.constantFrom(...CUSTOMERS, "someone_else"), { nil: null }),
    ),
    { maxLength: 8 },
  ),
  events: fc.array(
    fc.tuple(
      fc.constantFrom(...CUSTOMERS),
      instant,
      fc.constantFrom("visit", "lead", "contact_form", "survey"),
      fc.constant(null),
    ),
    { maxLength: 20 },
  ),
});

/** Each customer's activity rows, in the order the query gives them. */
function byCustomer(rows: readonly ActivityRow[]): Map<string, ActivityRow[]> {
  const out = new Map<string, ActivityRow[]>();
  for (const row of rows) {
    const id = String(row.customer_id);
    out.set(id, [...(out.get(id) ?? []), row]);
  }
  return out;
}

/** Features as plain data (exact: revenue is summed exactly on both sides). */
function comparable(features: CustomerFeatures): Record<string, unknown> {
  return { ...features };
}

function agreesWithFeaturesQuery(label: string, factory: () => WarehouseFactory, runs: number): void {
  describe(`activity per day on ${label}`, () => {
    let warehouse: TestWarehouse;
    beforeAll(async () => {
      warehouse = await factory().open();
    });
    afterAll(async () => {
      await warehouse?.close();
    });

    for (const tables of [["customers", "events"], []] as LogicalTable[][]) {
      const available = new Set(tables);
      it(`folds to the features query's features on any day (tables: ${tables.join(", ") || "transactions"})`, async () => {
        await fc.assert(
          fc.asyncProperty(data, fc.integer({ min: 0, max: DAYS }), async (rows, offset) => {
            await warehouse.createTables({ replace: true });
            for (const table of ["transactions", ...tables] as LogicalTable[]) {
              const tableRows = rows[table as keyof typeof rows] as ContractRow[];
              if (tableRows.length > 0) await warehouse.append(table, tableRows);
            }
            const asOf = addDays(FIRST_DAY, offset);
            const lifecycle = new LifecycleService(warehouse, defaultStageModel(), ZONE, available, {
              eventTypes: EVENT_TYPES,
            });
            const expected = await lifecycle.featuresOf(asOf, CUSTOMERS);
            const activity = await warehouse.query(
              activitySql({
                dialect: warehouse.dialect,
                mapping: warehouse.mapping,
                available,
                cutoff: asOfCutoff(LAST_DAY, ZONE),
                timeZone: ZONE,
                eventTypes: EVENT_TYPES,
              }),
            );
            const accumulator = new FeatureAccumulator(EVENT_TYPES, {
              customers: available.has("customers"),
              events: available.has("events"),
            });
            const actual = new Map<string, CustomerFeatures>();
            for (const [id, customerRows] of byCustomer(activity)) {
              accumulator.reset(id);
              for (const day of activityDays(customerRows, EVENT_TYPES.length)) {
                if (day.day <= dayNumber(asOf)) accumulator.apply(day);
              }
              if (accumulator.known) actual.set(id, accumulator.featuresOn(dayNumber(asOf)));
            }
            expect([...actual.keys()].sort()).toEqual([...expected.keys()].sort());
            for (const [id, want] of expected) expect(comparable(actual.get(id)!), id).toEqual(comparable(want));
          }),
          { numRuns: runs, endOnFailure: true },
        );
      });
    }
  });
}

for (const factory of testWarehouses()) agreesWithFeaturesQuery(factory.label, () => factory, 30);

describeOnZetaSql("activity per day on BigQuery", (warehouses) => {
  agreesWithFeaturesQuery("BigQuery on ZetaSQL", () => warehouses({ numericAs: "NUMERIC" }), 8);
});

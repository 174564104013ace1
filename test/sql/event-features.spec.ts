// The event features (per configured event type: how many, first and last day, days since each) equal
// their catalog definitions computed in TypeScript, on random events, on every warehouse and on BigQuery
// as ZetaSQL runs it. Days are local days in America/New_York, and the random instants include the
// edges of the as-of day (its start, the next midnight and a millisecond either side), where a cut-off
// a millisecond, an hour or a day off shows. Event types map several warehouse values to one name
// ("lead" counts contact_form too), and some events belong to no configured type.
import fc from "fast-check";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { ContractRow } from "../../src/connectors/connector.ts";
import { asOfCutoff, daysBetween, startOfDay } from "../../src/lifecycle/calendar.ts";
import {
  EVENT_MEASURES,
  eventFeatureField,
  eventFeatureSpec,
  type CustomerFeatures,
  type EventType,
} from "../../src/lifecycle/features.ts";
import { defaultStageModel } from "../../src/lifecycle/stage-model.ts";
import { LifecycleService } from "../../src/services/lifecycle/service.ts";
import { testWarehouses, type TestWarehouse, type WarehouseFactory } from "../helpers/databases.ts";
import { describeOnZetaSql } from "../helpers/zetasql-warehouse.ts";

const AS_OF = "2026-06-30";
const ZONE = "America/New_York";
const DAY_MS = 86_400_000;
const CUTOFF = asOfCutoff(AS_OF, ZONE).getTime();
const DAY_START = startOfDay(AS_OF, ZONE).getTime();
const EDGES = [CUTOFF, CUTOFF - 1, DAY_START, DAY_START - 1];

const EVENT_TYPES: readonly EventType[] = [
  { key: "visit", values: ["visit"] },
  { key: "lead", values: ["lead", "contact_form"] },
  { key: "quote_request", values: ["quote"] },
];
const CUSTOMERS = ["c0", "c1", "c2", "c3", "c4", "c5"];

interface Event {
  readonly customer: string;
  readonly at: number;
  readonly type: string;
}

const event: fc.Arbitrary<Event> = fc.record({
  customer: fc.constantFrom(...CUSTOMERS),
  at: fc.oneof(
    { weight: 4, arbitrary: fc.integer({ min: CUTOFF - 90 * DAY_MS, max: CUTOFF + 3 * DAY_MS }) },
    { weight: 1, arbitrary: fc.constantFrom(...EDGES) },
  ),
  type: fc.constantFrom("visit", "lead", "contact_form", "quote", "survey"),
});

const localDay = new Intl.DateTimeFormat("en-CA", {
  timeZone: ZONE,
  year: "numeric",
  month: "2-digit",
  day: "2-digit",
});

/** Each known customer's event features by the catalog's definitions. */
function reference(events: readonly Event[]): Map<string, Record<string, number | string | null>> {
  const before = events.filter((e) => e.at < CUTOFF);
  const result = new Map<string, Record<string, number | string | null>>();
  for (const customer of new Set(before.map((e) => e.customer))) {
    const features: Record<string, number | string | null> = {};
    for (const type of EVENT_TYPES) {
      const days = before
        .filter((e) => e.customer === customer && type.values.includes(e.type))
        .map((e) => localDay.format(e.at))
        .sort();
      const first = days[0] ?? null;
      const last = days.at(-1) ?? null;
      features[eventFeatureField(type.key, "count")] = days.length;
      features[eventFeatureField(type.key, "firstDate")] = first;
      features[eventFeatureField(type.key, "lastDate")] = last;
      features[eventFeatureField(type.key, "daysSinceFirst")] = first === null ? null : daysBetween(first, AS_OF);
      features[eventFeatureField(type.key, "daysSinceLast")] = last === null ? null : daysBetween(last, AS_OF);
    }
    result.set(customer, features);
  }
  return result;
}

function eventFeaturesOf(features: CustomerFeatures): Record<string, unknown> {
  return Object.fromEntries(
    EVENT_TYPES.flatMap((t) => EVENT_MEASURES.map((m) => eventFeatureField(t.key, m.measure))).map((field) => [
      field,
      features[field as keyof CustomerFeatures],
    ]),
  );
}

function agreesWithReference(label: string, factory: () => WarehouseFactory, runs: number): void {
  describe(`event features on ${label}`, () => {
    let warehouse: TestWarehouse;
    let lifecycle: LifecycleService;
    beforeAll(async () => {
      warehouse = await factory().open();
      await warehouse.createTables({ replace: true });
      lifecycle = new LifecycleService(warehouse, defaultStageModel(), ZONE, new Set(["events"]), {
        eventTypes: EVENT_TYPES,
      });
    });
    afterAll(async () => {
      await warehouse?.close();
    });

    const load = async (events: readonly Event[]) => {
      await warehouse.createTables({ replace: true });
      const rows: ContractRow[] = events.map((e) => [e.customer, e.at, e.type, null]);
      if (rows.length > 0) await warehouse.append("events", rows);
    };

    it("computes each type's count, first and last day, and days since them as TypeScript does", async () => {
      await fc.assert(
        fc.asyncProperty(fc.array(event, { maxLength: 30 }), async (events) => {
          await load(events);
          const features = await lifecycle.featuresOf(AS_OF, CUSTOMERS);
          const expected = reference(events);
          expect([...features.keys()].sort()).toEqual([...expected.keys()].sort());
          for (const [id, want] of expected) expect(eventFeaturesOf(features.get(id)!), id).toEqual(want);
        }),
        { numRuns: runs, endOnFailure: true },
      );
    });

    it("computes some of one type's features alone as the whole catalog does", async () => {
      const measures = fc.subarray([...EVENT_MEASURES], { minLength: 1 });
      await fc.assert(
        fc.asyncProperty(
          fc.array(event, { maxLength: 20 }),
          fc.constantFrom(...EVENT_TYPES),
          measures,
          async (events, type, some) => {
            await load(events);
            const fields = new Set(some.map((m) => eventFeatureField(type.key, m.measure)));
            const rows = await warehouse.query(lifecycle.features(AS_OF, undefined, { fields }), {
              label: "customer_features",
            });
            const expected = reference(events);
            expect(rows.map((r) => String(r.customer_id)).sort()).toEqual([...expected.keys()].sort());
            for (const row of rows) {
              const want = expected.get(String(row.customer_id))!;
              const got = Object.fromEntries(
                [...fields].map((field) => {
                  const { column, type: valueType } = eventFeatureSpec(field)!;
                  const value = row[column];
                  return [field, value == null ? null : valueType === "number" ? Number(value) : String(value)];
                }),
              );
              expect(got).toEqual(Object.fromEntries([...fields].map((field) => [field, want[field]])));
              expect(Object.keys(row)).toHaveLength(1 + fields.size);
            }
          },
        ),
        { numRuns: Math.ceil(runs / 2), endOnFailure: true },
      );
    });
  });
}

for (const factory of testWarehouses()) agreesWithReference(factory.label, () => factory, 40);

describeOnZetaSql("event features on BigQuery", (warehouses) => {
  agreesWithReference("BigQuery on ZetaSQL", () => warehouses({ numericAs: "NUMERIC" }), 10);
});

describe("event features without the events table", () => {
  it("are null, counts included, when the warehouse has no events", async () => {
    const factory = testWarehouses()[0]!;
    const warehouse = await factory.open();
    try {
      await warehouse.createTables({ replace: true });
      await warehouse.append("transactions", [["c0", CUTOFF - DAY_MS, 10, null, null]]);
      const lifecycle = new LifecycleService(warehouse, defaultStageModel(), ZONE, new Set(), {
        eventTypes: EVENT_TYPES,
      });
      const features = (await lifecycle.featuresOf(AS_OF, ["c0"])).get("c0")!;
      expect(Object.values(eventFeaturesOf(features)).every((v) => v === null)).toBe(true);
      expect(features.purchaseDays).toBe(1);
    } finally {
      await warehouse.close();
    }
  });
});

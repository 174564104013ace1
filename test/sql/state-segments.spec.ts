// Segment definitions evaluated on the state store (the app database, on the state day) select, count,
// page and rank exactly the members the warehouse does, for random definitions over features, event
// features, stages, RFM scores and relative dates on the demo shop, on every warehouse the test
// environment has (with the app database of the run: PGlite, or PostgreSQL in CI).
import fc from "fast-check";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { eventFeatureField, EVENT_MEASURES, type EventType } from "../../src/lifecycle/features.ts";
import type { Rule } from "../../src/lifecycle/rules.ts";
import {
  checkDefinition,
  resolveDefinition,
  SEGMENT_FIELDS,
  segmentRow,
  segmentScope,
} from "../../src/lifecycle/segment-definition.ts";
import { queryBuilt, storedDay } from "../../src/appdb/app-sql.ts";
import { StoredSegmentFields } from "../../src/services/state/state-segments.ts";
import { sql } from "../../src/sql/sql.ts";
import { defaultStageModel } from "../../src/lifecycle/stage-model.ts";
import { LifecycleService } from "../../src/services/lifecycle/service.ts";
import { RANK_FIELDS, type FeatureRankedList } from "../../src/services/lifecycle/stages.ts";
import { SegmentService } from "../../src/services/segments.ts";
import { StateStore } from "../../src/services/state/state-store.ts";
import { definition } from "../helpers/arbitraries.ts";
import { openTestAppDatabase, testWarehouses, type TestAppDatabase } from "../helpers/databases.ts";
import { DEMO_END_DATE, openDemoWarehouse } from "../helpers/server.ts";

const AS_OF = DEMO_END_DATE;
const EVENT_TYPES: readonly EventType[] = [
  { key: "visit", values: ["visit"] },
  { key: "quote", values: ["quote_request"] },
];

/** Comparisons over the configured event types' features (counts, first and last days, days since). */
const eventComparison: fc.Arbitrary<Rule> = fc
  .tuple(fc.constantFrom(...EVENT_TYPES.map((t) => t.key)), fc.constantFrom(...EVENT_MEASURES.map((m) => m.measure)))
  .chain(([key, measure]): fc.Arbitrary<Rule> => {
    const field = eventFeatureField(key, measure);
    const dated = measure === "firstDate" || measure === "lastDate";
    const value = dated
      ? fc.constantFrom("2025-06-30", "2026-01-01", "2026-05-15")
      : fc.constantFrom(0, 1, 2, 7, 30, 90, 365);
    return fc.oneof(
      fc.record({ field: fc.constant(field), op: fc.constantFrom("eq", "lt", "gte", "neq" as const), value }),
      fc.record({ field: fc.constant(field), op: fc.constantFrom("isNull" as const, "notNull" as const) }),
    ) as fc.Arbitrary<Rule>;
  });

describe.each(testWarehouses())("segments on the state store answer as the warehouse on $label", (factory) => {
  let close: () => Promise<void>;
  let appDb: TestAppDatabase;
  let lifecycle: LifecycleService;
  let segments: SegmentService;
  let store: StateStore;

  beforeAll(async () => {
    const { warehouse } = await openDemoWarehouse(300, factory);
    close = () => warehouse.close();
    appDb = await openTestAppDatabase();
    lifecycle = await LifecycleService.open(warehouse, defaultStageModel(), "UTC", { eventTypes: EVENT_TYPES });
    segments = new SegmentService(lifecycle);
    store = new StateStore(lifecycle, lifecycle.rfm, async () => appDb.sql, "serve");
    await store.refresh({ stateDay: AS_OF, full: true });
  });
  afterAll(async () => {
    await close?.();
    await appDb?.close();
  });

  it("counts, pages and ranks the members of random definitions as the warehouse does", async () => {
    const stageKeys = lifecycle.model.stages.map((s) => s.key);
    const scope = segmentScope(lifecycle.model, lifecycle.rfm, EVENT_TYPES);
    const withEvents = fc.oneof(
      definition(stageKeys, lifecycle.rfm.keys),
      fc.record({ all: fc.tuple(definition(stageKeys, lifecycle.rfm.keys), eventComparison) }),
      fc.record({ any: fc.tuple(eventComparison, eventComparison) }),
    ) as fc.Arbitrary<Rule>;
    const ranking = fc.record({
      field: fc.constantFrom(...RANK_FIELDS),
      descending: fc.boolean(),
    }) as fc.Arbitrary<FeatureRankedList>;
    let nonEmpty = 0;
    await fc.assert(
      fc.asyncProperty(withEvents, fc.constantFrom(...stageKeys), ranking, async (d, stage, rank) => {
        const issues = checkDefinition(d, scope);
        // The wrappers above may nest a generated definition past the depth limit: not a definition then.
        fc.pre(!issues.some((issue) => issue.message.startsWith("nests deeper")));
        expect(issues).toEqual([]);
        const rule = resolveDefinition(d, AS_OF, () => undefined);

        const counts = await store.segmentStageCounts(AS_OF, rule);
        expect(counts).toBeDefined();
        expect(counts).toEqual(await segments.stageCounts(AS_OF, rule));

        const stored = (await store.segmentPage(AS_OF, rule, 10_000, undefined))!;
        const queried = await segments.page(AS_OF, rule, 10_000);
        expect(stored.map((f) => f.customerId)).toEqual(queried.map((f) => f.customerId));
        expect(stored).toEqual(queried);
        if (stored.length > 0) nonEmpty++;
        // A page after a cursor in the middle.
        const cursor = stored[Math.floor(stored.length / 2)]?.customerId;
        if (cursor !== undefined) {
          const after = (await store.segmentPage(AS_OF, rule, 7, cursor))!;
          expect(after.map((f) => f.customerId)).toEqual(
            (await segments.page(AS_OF, rule, 7, cursor)).map((f) => f.customerId),
          );
        }

        const ranked = (await store.segmentRanked(AS_OF, rule, stage, rank, 2, 9))!;
        expect(ranked.map((f) => f.customerId)).toEqual(
          (await segments.ranked(AS_OF, rule, stage, rank, 2, 9)).map((f) => f.customerId),
        );
      }),
      { numRuns: 60, endOnFailure: true },
    );
    // Most definitions select somebody: the comparison is not between empty answers.
    expect(nonEmpty).toBeGreaterThan(15);
  }, 120_000);

  it("reads every field a definition may read as the warehouse's features, stages and RFM scores give it", async () => {
    const fields = new StoredSegmentFields(lifecycle.model, lifecycle.rfm, EVENT_TYPES);
    const everyone = await segments.page(AS_OF, { all: [] }, 10_000);
    const rfm = await lifecycle.rfmOf(
      AS_OF,
      everyone.map((f) => f.customerId),
    );
    const expected = new Map(
      everyone.map((f) => [f.customerId, segmentRow(f, lifecycle.model, rfm.get(f.customerId))]),
    );
    const names = [...lifecycle.catalog.map((f) => f.field), ...Object.keys(SEGMENT_FIELDS)];
    expect(names).toContain("events.quote.daysSinceLast");
    for (const field of names) {
      const rows = await queryBuilt<{ id: string; v: unknown }>(
        appDb.sql,
        sql`SELECT s.customer_id AS id, ${fields.column(field)} AS v
FROM state_pointer p JOIN customer_state s ON s.rows_generation = p.rows_generation
WHERE p.id = 1`,
      );
      expect(rows.length).toBe(expected.size);
      const stored = Object.fromEntries(
        rows.map((r) => [r.id, r.v instanceof Date ? storedDay(r.v) : r.v === null ? null : r.v]),
      );
      const want = Object.fromEntries([...expected].map(([id, row]) => [id, row[field] ?? null]));
      expect(stored, field).toEqual(want);
    }
  });

  it("takes the warehouse's path for another day", async () => {
    const rule: Rule = { field: "orderCount", op: "gte", value: 1 };
    expect(await store.segmentStageCounts("2026-01-01", rule)).toBeUndefined();
    expect(await store.segmentPage("2026-01-01", rule, 5, undefined)).toBeUndefined();
  });
});

// Features and stages on a hand-built fixture with known answers, on every warehouse.
import fc from "fast-check";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ident, sql } from "../../src/sql/sql.ts";
import { FEATURES, type FeatureField } from "../../src/lifecycle/features.ts";
import { defaultStageModel } from "../../src/lifecycle/stage-model.ts";
import { LifecycleService } from "../../src/services/lifecycle/service.ts";
import { toFeatures } from "../../src/services/lifecycle/features.ts";
import { filledWarehouse, testWarehouses, type TestWarehouse } from "../helpers/databases.ts";
import { EXPECTED_FEATURES, EXPECTED_STAGES, FIXTURE_AS_OF, FIXTURE_ROWS } from "../fixtures/lifecycle.ts";

describe.each(testWarehouses())("lifecycle on the fixture in $label", (factory) => {
  let warehouse: TestWarehouse;
  let lifecycle: LifecycleService;

  beforeAll(async () => {
    warehouse = await filledWarehouse(factory, FIXTURE_ROWS);
    lifecycle = await LifecycleService.open(warehouse, defaultStageModel(), "UTC");
  });
  afterAll(async () => {
    await warehouse?.close();
  });

  it("computes the hand-worked features, unknown ids absent", async () => {
    const ids = [...Object.keys(EXPECTED_FEATURES), "f1", "x1", "nobody"];
    const features = await lifecycle.featuresOf(FIXTURE_AS_OF, ids);
    for (const [id, expected] of Object.entries(EXPECTED_FEATURES)) {
      const actual = features.get(id);
      expect(actual, id).toBeDefined();
      for (const [field, value] of Object.entries(expected)) {
        if (typeof value === "number")
          expect(actual![field as keyof typeof actual], `${id}.${field}`).toBeCloseTo(value, 9);
        else expect(actual![field as keyof typeof actual], `${id}.${field}`).toBe(value);
      }
    }
    expect(features.has("f1")).toBe(false);
    expect(features.has("x1")).toBe(false);
    expect(features.has("nobody")).toBe(false);
  });

  it("classifies each customer in TypeScript as worked out by hand, with the furthest stage reached", async () => {
    const features = await lifecycle.featuresOf(FIXTURE_AS_OF, Object.keys(EXPECTED_STAGES));
    const actual = Object.fromEntries(
      [...features.values()].map((f) => [
        f.customerId,
        { stage: lifecycle.model.classify(f).key, furthest: lifecycle.model.furthest(f).key },
      ]),
    );
    expect(actual).toEqual(EXPECTED_STAGES);
  });

  it("counts every customer in exactly one stage, in the warehouse", async () => {
    const counts = await lifecycle.stageCounts(FIXTURE_AS_OF);
    expect(Object.fromEntries(counts.map((c) => [c.stage.key, c.count]))).toEqual({
      prospect: 2,
      new: 2,
      developing: 1,
      retained: 2,
      loyal: 1,
      advocate: 1,
      at_risk: 1,
      churned: 2,
    });
  });

  it("lists a stage's members by id, page by page", async () => {
    const ids = async (stage: string, first: number, after?: string) =>
      (await lifecycle.stageMembers(FIXTURE_AS_OF, stage, first, after)).map((f) => f.customerId);
    expect(await ids("churned", 10)).toEqual(["c1", "c2"]);
    expect(await ids("churned", 1, "c1")).toEqual(["c2"]);
    expect(await ids("prospect", 1)).toEqual(["p1"]);
    // With every feature, as the full features query computes them.
    const full = new Map(
      (await warehouse.query(lifecycle.features(FIXTURE_AS_OF))).map((row) => [String(row.customer_id), row]),
    );
    for (const stage of lifecycle.model.stages) {
      const members = await lifecycle.stageMembers(FIXTURE_AS_OF, stage.key, 50);
      for (const member of members) {
        expect(lifecycle.model.classify(member).key).toBe(stage.key);
        expect(member).toEqual(toFeatures(full.get(member.customerId)!));
      }
    }
  });

  it("cuts days in the configured time zone", async () => {
    const tokyo = await LifecycleService.open(warehouse, defaultStageModel(), "Asia/Tokyo");
    const newYork = await LifecycleService.open(warehouse, defaultStageModel(), "America/New_York");
    expect((await tokyo.featuresOf(FIXTURE_AS_OF, ["t1"])).has("t1")).toBe(false);
    expect((await newYork.featuresOf(FIXTURE_AS_OF, ["t1"])).get("t1")).toMatchObject({
      lastPurchaseDate: "2026-06-30",
      recencyDays: 0,
    });
    expect((await tokyo.featuresOf("2026-07-01", ["t1"])).get("t1")).toMatchObject({
      lastPurchaseDate: "2026-07-01",
      recencyDays: 0,
    });
  });

  it("reproduces a past state: as of an earlier day only what was known then counts", async () => {
    const features = await lifecycle.featuresOf("2026-05-31", ["r1", "l1", "n1", "a1"]);
    expect(features.get("r1")).toMatchObject({ purchaseDays: 1, recencyDays: 30, secondPurchaseDate: null });
    expect(features.get("l1")).toMatchObject({ purchaseDays: 3, lastPurchaseDate: "2026-05-01" });
    expect(features.has("n1")).toBe(false);
    expect(features.get("a1")).toMatchObject({ referredCount: 0 });
  });

  it("times how long customers take to reach each stage, from first seen and from first purchase", async () => {
    // Snapshots 2026-05-31 and 2026-06-30; entries on 06-30 are the moves of the transitions test:
    // p1 → prospect (seen 06-01: 29 days), n1 → new (seen 06-14: 16, bought 06-15: 15), t1 → new (0, 0),
    // d1 → developing (05-20: 41, 41), r1 → retained (05-01: 60, 60), a2 → retained (04-01: 90, 90),
    // a1 → advocate (90, 90), l1 → loyal (seen 02-20: 130, bought 03-01: 121).
    const timings = await lifecycle.stageTimings("2026-05-31", FIXTURE_AS_OF, 30);
    const row = (key: string) => {
      const t = timings.find((x) => x.stage.key === key)!;
      return [
        t.entries,
        t.meanDaysFromFirstSeen,
        t.medianDaysFromFirstSeen,
        t.meanDaysFromFirstPurchase,
        t.medianDaysFromFirstPurchase,
      ];
    };
    expect(row("prospect")).toEqual([1, 29, 29, null, null]);
    expect(row("new")).toEqual([2, 8, 8, 7.5, 7.5]);
    expect(row("developing")).toEqual([1, 41, 41, 41, 41]);
    expect(row("retained")).toEqual([2, 75, 75, 75, 75]);
    expect(row("loyal")).toEqual([1, 130, 130, 121, 121]);
    expect(row("advocate")).toEqual([1, 90, 90, 90, 90]);
    expect(row("at_risk")).toEqual([0, null, null, null, null]);
    expect(row("churned")).toEqual([0, null, null, null, null]);
  });

  it("computes any subset of the features exactly as the full query does, in catalog order", async () => {
    const byId = (rows: Record<string, unknown>[]) =>
      [...rows].sort((a, b) => String(a.customer_id).localeCompare(String(b.customer_id)));
    const full = byId(await warehouse.query(lifecycle.features(FIXTURE_AS_OF)));
    expect(full.length).toBeGreaterThan(10);
    const fields = FEATURES.map((f) => f.field);
    const subsets: FeatureField[][] = [
      ...fields.map((f) => [f]),
      [...(lifecycle.model.fieldsRead() as Set<FeatureField>)],
      ...fc.sample(fc.subarray(fields, { minLength: 2 }), { numRuns: 8, seed: 3 }),
    ];
    for (const subset of subsets) {
      const wanted = new Set(subset);
      const columns = ["customer_id", ...FEATURES.filter((f) => wanted.has(f.field)).map((f) => f.column)];
      const rows = byId(await warehouse.query(lifecycle.features(FIXTURE_AS_OF, undefined, { fields: wanted })));
      expect(Object.keys(rows[0]!), subset.join()).toEqual(columns);
      const project = (row: Record<string, unknown>) => columns.map((c) => row[c]);
      expect(rows.map(project), subset.join()).toEqual(full.map(project));
    }
  });

  it("works without the optional tables: what needs them is null, prospects come only from them", async () => {
    const bare = await factory.open();
    try {
      await bare.createTables({ replace: true });
      await bare.append("transactions", FIXTURE_ROWS.transactions);
      for (const table of ["customers", "events", "marketing_spend"] as const) {
        await bare.query(sql`DROP TABLE ${ident(bare.mapping.schema, bare.mapping.tables[table].table)}`);
      }
      const only = await LifecycleService.open(bare, defaultStageModel(), "UTC");
      expect([...only.available]).toEqual(["transactions"]);
      const n1 = (await only.featuresOf(FIXTURE_AS_OF, ["n1"])).get("n1")!;
      expect(n1).toMatchObject({
        firstSeenDate: "2026-06-15",
        referredCount: null,
        acquisitionChannel: null,
        lastEventType: null,
      });
      const counts = Object.fromEntries((await only.stageCounts(FIXTURE_AS_OF)).map((c) => [c.stage.key, c.count]));
      // No prospects without customers/events; a1 cannot be an advocate without referrals.
      expect(counts).toMatchObject({ prospect: 0, advocate: 0, retained: 3 });
    } finally {
      await bare.close();
    }
  });

  it("counts transitions between two days", async () => {
    const transitions = await lifecycle.transitions("2026-05-31", FIXTURE_AS_OF);
    const byPair = Object.fromEntries(transitions.map((t) => [`${t.from?.key ?? "(unknown)"}→${t.to.key}`, t.count]));
    // As of 2026-05-31: r1 new (30 days), l1 retained (3 days), a1 developing, a2 developing, d1 new (11 days),
    // k1 at_risk (150 > 93), c1 churned, c2 churned (515), p2 prospect; n1, t1, p1 unknown.
    expect(byPair).toEqual({
      "(unknown)→prospect": 1,
      "(unknown)→new": 2,
      "prospect→prospect": 1,
      "new→developing": 1,
      "new→retained": 1,
      "developing→retained": 1,
      "developing→advocate": 1,
      "retained→loyal": 1,
      "at_risk→at_risk": 1,
      "churned→churned": 2,
    });
  });
});

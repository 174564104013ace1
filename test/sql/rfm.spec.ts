// RFM scores on a hand-built set of buyers with known answers, on every warehouse and on BigQuery's SQL
// as ZetaSQL runs it, with amounts stored as NUMERIC and as FLOAT64.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ALL_RFM_CODES, DEFAULT_RFM_SEGMENTS, rfmSegmentsSchema } from "../../src/lifecycle/rfm.ts";
import { defaultStageModel } from "../../src/lifecycle/stage-model.ts";
import { LifecycleService } from "../../src/services/lifecycle/service.ts";
import { filledWarehouse, testWarehouses, type TestWarehouse, type WarehouseFactory } from "../helpers/databases.ts";
import { describeOnZetaSql } from "../helpers/zetasql-warehouse.ts";

const at = (day: string) => Date.parse(`${day}T12:00:00Z`);
const AS_OF = "2026-06-30";

// Five buyers and a prospect. Scores by hand, score = 1 + floor(5 × strictly worse / 5):
//   recency days  b1 1, b2 10, b5 16, b3 112, b4 365   → R: b1 5, b2 4, b5 3, b3 2, b4 1
//   purchase days b1 1, b4 1, b2 2, b3 3, b5 5         → F: b1 1, b4 1 (tie), b2 3, b3 4, b5 5
//   revenue       b1 10, b2 50, b4 50, b3 300, b5 500  → M: b1 1, b2 2, b4 2 (tie), b3 4, b5 5
// Codes and default segments: b1 511 new, b2 432 potential_loyalist, b3 244 at_risk, b4 112 lost, b5 355 loyal.
const TRANSACTIONS = [
  ["b1", at("2026-06-29"), 10, "o1", null],
  ["b2", at("2026-06-01"), 25, "o2", null],
  ["b2", at("2026-06-20"), 25, "o3", null],
  ["b3", at("2026-01-10"), 100, "o4", null],
  ["b3", at("2026-02-10"), 100, "o5", null],
  ["b3", at("2026-03-10"), 100, "o6", null],
  ["b4", at("2025-06-30"), 50, "o7", null],
  ...["2026-06-10", "2026-06-11", "2026-06-12", "2026-06-13", "2026-06-14"].map((d, i) => [
    "b5",
    at(d),
    100,
    `o${8 + i}`,
    null,
  ]),
] as const;

describe("the default RFM map", () => {
  it("puts every one of the 125 codes in exactly one segment", () => {
    expect(rfmSegmentsSchema.safeParse(DEFAULT_RFM_SEGMENTS).success).toBe(true);
    expect(Object.values(DEFAULT_RFM_SEGMENTS).flat().sort()).toEqual([...ALL_RFM_CODES].sort());
  });

  it("refuses a map with a code twice or missing", () => {
    const twice = { ...DEFAULT_RFM_SEGMENTS, lost: [...DEFAULT_RFM_SEGMENTS.lost!, "555"] };
    expect(rfmSegmentsSchema.safeParse(twice).error?.issues[0]?.message).toBe("555 is already in champions");
    const missing = { ...DEFAULT_RFM_SEGMENTS, lost: ["111"] };
    expect(rfmSegmentsSchema.safeParse(missing).error?.issues[0]?.message).toBe(
      "codes in no segment: 112, 121, 131, 141, 151",
    );
  });
});

// Two buyers with the same revenue, 0.30, bought differently: f1 as 0.01 + 0.01 + 0.28 on three days,
// f2 as one 0.30. In float arithmetic f1's sum is 0.30000000000000004 in every order (ZetaSQL's SUM
// of FLOAT64 gives exactly that), so ranking the raw revenue put f1 one rank above f2; alone, the two
// are far enough apart in rank (M 1 and 3) for that to show. A random shop in CI failed the same way.
const FLOAT_TIE = [
  ["f1", at("2026-06-26"), 0.01, "o20", null],
  ["f1", at("2026-06-27"), 0.01, "o21", null],
  ["f1", at("2026-06-28"), 0.28, "o22", null],
  ["f2", at("2026-06-28"), 0.3, "o23", null],
] as const;

function rfmOn(label: string, factory: () => WarehouseFactory): void {
  describe(`RFM on ${label}`, () => {
    let warehouse: TestWarehouse;
    let lifecycle: LifecycleService;
    beforeAll(async () => {
      warehouse = await filledWarehouse(factory(), {
        transactions: TRANSACTIONS as never,
        customers: [["p1", at("2026-06-01"), "social", null]],
      });
      lifecycle = await LifecycleService.open(warehouse, defaultStageModel(), "UTC");
    });
    afterAll(async () => {
      await warehouse?.close();
    });

    it("scores buyers by tie-safe quintiles and names their segments; prospects have none", async () => {
      const scores = await lifecycle.rfmOf(AS_OF, ["b1", "b2", "b3", "b4", "b5", "p1", "nobody"]);
      expect(Object.fromEntries([...scores].map(([id, s]) => [id, `${s.code} ${s.segment}`]))).toEqual({
        b1: "511 new",
        b2: "432 potential_loyalist",
        b3: "244 at_risk",
        b4: "112 lost",
        b5: "355 loyal",
      });
      expect(scores.get("b2")).toEqual({
        recency: 4,
        frequency: 3,
        monetary: 2,
        code: "432",
        segment: "potential_loyalist",
      });
    });

    it("aggregates buyers and revenue per code in the warehouse", async () => {
      const cells = await lifecycle.rfmCells(AS_OF);
      expect(cells.map((c) => [`${c.recency}${c.frequency}${c.monetary}`, c.customers, c.revenue])).toEqual([
        ["511", 1, 10],
        ["432", 1, 50],
        ["355", 1, 500],
        ["244", 1, 300],
        ["112", 1, 50],
      ]);
    });

    it("ties equal revenues however their amounts add up in floating point", async () => {
      const tied = await filledWarehouse(factory(), { transactions: FLOAT_TIE as never });
      try {
        const scores = await (await LifecycleService.open(tied, defaultStageModel(), "UTC")).rfmOf(AS_OF, ["f1", "f2"]);
        // Neither has a buyer with strictly less revenue: M 1 for both.
        expect([scores.get("f1")?.monetary, scores.get("f2")?.monetary]).toEqual([1, 1]);
      } finally {
        await tied.close();
      }
    });
  });
}

for (const factory of testWarehouses()) rfmOn(factory.label, () => factory);

describeOnZetaSql("RFM on BigQuery", (warehouses) => {
  for (const numericAs of ["NUMERIC", "FLOAT64"] as const)
    rfmOn(`BigQuery on ZetaSQL (amount ${numericAs})`, () => warehouses({ numericAs }));
});

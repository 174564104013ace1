// The as-of cut-off on transactions, worked out by hand in a zone that is not UTC: as of 2026-06-30 in
// America/New_York (EDT, UTC−4), a purchase counts up to, not including, the next local midnight,
// 2026-07-01T04:00:00.000Z; one millisecond before it counts, on the as-of day. The day's own start
// (2026-06-30T04:00Z) is the as-of day too, and one millisecond before it the day before. Instants are
// literals here, so a cut-off that is a day, an hour (UTC instead of the zone) or a millisecond
// (<= for <) off fails.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { ContractRow } from "../../src/connectors/connector.ts";
import { defaultStageModel } from "../../src/lifecycle/stage-model.ts";
import { LifecycleService } from "../../src/services/lifecycle/service.ts";
import { filledWarehouse, testWarehouses, type TestWarehouse } from "../helpers/databases.ts";

const AS_OF = "2026-06-30";
const ZONE = "America/New_York";
const at = (iso: string) => Date.parse(iso);
const EARLIER = at("2026-06-10T16:00:00.000Z"); // noon EDT, well inside the window

// Every warehouse the helpers offer: each dialect writes its own instant literal and local day.
describe.each(testWarehouses())("as-of cut-off on $label", (factory) => {
  let warehouse: TestWarehouse;
  let lifecycle: LifecycleService;

  beforeAll(async () => {
    const rows: ContractRow[] = [
      // Each customer buys once on 2026-06-10, then once at the instant under test.
      ["at_next_midnight", EARLIER, 10, "a1", null],
      ["at_next_midnight", at("2026-07-01T04:00:00.000Z"), 10, "a2", null],
      ["ms_before_midnight", EARLIER, 10, "b1", null],
      ["ms_before_midnight", at("2026-07-01T03:59:59.999Z"), 10, "b2", null],
      ["at_day_start", EARLIER, 10, "c1", null],
      ["at_day_start", at("2026-06-30T04:00:00.000Z"), 10, "c2", null],
      ["ms_before_day_start", EARLIER, 10, "d1", null],
      ["ms_before_day_start", at("2026-06-30T03:59:59.999Z"), 10, "d2", null],
    ];
    warehouse = await filledWarehouse(factory, { transactions: rows });
    lifecycle = await LifecycleService.open(warehouse, defaultStageModel(), ZONE);
  });
  afterAll(async () => {
    await warehouse?.close();
  });

  it("counts a purchase up to, not at, the next local midnight", async () => {
    const features = await lifecycle.featuresOf(AS_OF, [
      "at_next_midnight",
      "ms_before_midnight",
      "at_day_start",
      "ms_before_day_start",
    ]);
    const seen = (id: string) => {
      const f = features.get(id)!;
      return { purchaseDays: f.purchaseDays, lastPurchaseDate: f.lastPurchaseDate, recencyDays: f.recencyDays };
    };
    expect(seen("at_next_midnight")).toEqual({ purchaseDays: 1, lastPurchaseDate: "2026-06-10", recencyDays: 20 });
    expect(seen("ms_before_midnight")).toEqual({ purchaseDays: 2, lastPurchaseDate: "2026-06-30", recencyDays: 0 });
    expect(seen("at_day_start")).toEqual({ purchaseDays: 2, lastPurchaseDate: "2026-06-30", recencyDays: 0 });
    expect(seen("ms_before_day_start")).toEqual({ purchaseDays: 2, lastPurchaseDate: "2026-06-29", recencyDays: 1 });
  });
});

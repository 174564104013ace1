// The as-of cut-off on customers.created_at and events.occurred_at, worked out by hand as
// as-of-cutoff.spec.ts does for transactions, on every warehouse the helpers offer: as of 2026-06-30 in
// America/New_York (EDT, UTC−4) a row counts up to, not including, the next local midnight,
// 2026-07-01T04:00:00.000Z; one millisecond before it counts, on the as-of day. The day's own start
// (2026-06-30T04:00Z) is the as-of day too, and one millisecond before it the day before. A cut-off a day,
// an hour (UTC instead of the zone) or a millisecond (<= for <) off fails.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { ContractRow } from "../../src/connectors/connector.ts";
import { defaultStageModel } from "../../src/lifecycle/stage-model.ts";
import { LifecycleService } from "../../src/services/lifecycle/service.ts";
import { filledWarehouse, testWarehouses, type TestWarehouse } from "../helpers/databases.ts";

const AS_OF = "2026-06-30";
const ZONE = "America/New_York";
const at = (iso: string) => Date.parse(iso);
const EARLIER = at("2026-06-10T16:00:00.000Z"); // noon EDT, well inside the window

const INSTANTS = {
  at_next_midnight: at("2026-07-01T04:00:00.000Z"),
  ms_before_midnight: at("2026-07-01T03:59:59.999Z"),
  at_day_start: at("2026-06-30T04:00:00.000Z"),
  ms_before_day_start: at("2026-06-30T03:59:59.999Z"),
};
const CASES = Object.keys(INSTANTS) as (keyof typeof INSTANTS)[];

describe.each(testWarehouses())("as-of cut-off on customers and events on $label", (factory) => {
  let warehouse: TestWarehouse;
  let lifecycle: LifecycleService;

  beforeAll(async () => {
    // customers: known only through a customers row created at the instant under test.
    const customers: ContractRow[] = CASES.map((c) => [`c_${c}`, INSTANTS[c], "search", null]);
    // events: an "early" event on 2026-06-10, then a "late" one at the instant under test; and someone
    // known only through one event at the next midnight.
    const events: ContractRow[] = CASES.flatMap((c): ContractRow[] => [
      [`e_${c}`, EARLIER, "early", null],
      [`e_${c}`, INSTANTS[c], "late", null],
    ]);
    events.push(["e_only_at_next_midnight", INSTANTS.at_next_midnight, "late", null]);
    warehouse = await filledWarehouse(factory, { customers, events });
    lifecycle = await LifecycleService.open(warehouse, defaultStageModel(), ZONE);
  });
  afterAll(async () => {
    await warehouse?.close();
  });

  it("knows a customer from a customers row up to, not at, the next local midnight", async () => {
    const features = await lifecycle.featuresOf(
      AS_OF,
      CASES.map((c) => `c_${c}`),
    );
    const firstSeen = (c: string) => features.get(`c_${c}`)?.firstSeenDate;
    expect(features.has("c_at_next_midnight")).toBe(false);
    expect(firstSeen("ms_before_midnight")).toBe("2026-06-30");
    expect(firstSeen("at_day_start")).toBe("2026-06-30");
    expect(firstSeen("ms_before_day_start")).toBe("2026-06-29");
  });

  // Stage counts read no first-seen day, so who is known comes from the bare id lists of customers and
  // events (not the per-person details above): the same cut-off must hold there. Known by the cut-off:
  // c_ms_before_midnight, c_at_day_start, c_ms_before_day_start and the four e_* (their 06-10 event), all
  // without a purchase → 7 prospects; c_at_next_midnight and e_only_at_next_midnight are not yet known.
  it("counts as known, in stage counts, only people seen before the next local midnight", async () => {
    const counts = await lifecycle.stageCounts(AS_OF);
    const nonZero = Object.fromEntries(counts.filter((c) => c.count > 0).map((c) => [c.stage.key, c.count]));
    expect(nonZero).toEqual({ prospect: 7 });
  });

  it("counts an event up to, not at, the next local midnight", async () => {
    const features = await lifecycle.featuresOf(AS_OF, [...CASES.map((c) => `e_${c}`), "e_only_at_next_midnight"]);
    const last = (c: string) => {
      const f = features.get(`e_${c}`)!;
      return { lastEventDate: f.lastEventDate, lastEventType: f.lastEventType, firstSeenDate: f.firstSeenDate };
    };
    expect(features.has("e_only_at_next_midnight")).toBe(false);
    const late = (lastEventDate: string) => ({ lastEventDate, lastEventType: "late", firstSeenDate: "2026-06-10" });
    expect(last("at_next_midnight")).toEqual({
      lastEventDate: "2026-06-10",
      lastEventType: "early",
      firstSeenDate: "2026-06-10",
    });
    expect(last("ms_before_midnight")).toEqual(late("2026-06-30"));
    expect(last("at_day_start")).toEqual(late("2026-06-30"));
    expect(last("ms_before_day_start")).toEqual(late("2026-06-29"));
  });
});

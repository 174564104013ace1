// The periods of a metric series (calendar days, ISO weeks, months and quarters, clipped to the range),
// their count without listing them, the cap per interval, and the series' share of the answer budget.
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import {
  addDays,
  seriesLength,
  seriesPeriods,
  seriesPoints,
  type SeriesInterval,
} from "../../src/lifecycle/calendar.ts";
import { MAX_SERIES_PERIODS, seriesProblem } from "../../src/lifecycle/metrics.ts";
import { answerShare } from "../../src/schema/answer-size.ts";

const INTERVALS: readonly SeriesInterval[] = ["day", "week", "month", "quarter"];

describe("the periods of a series", () => {
  it("are calendar quarters clipped to the range", () => {
    expect(seriesPeriods("2025-11-15", "2026-08-02", "quarter")).toEqual([
      { from: "2025-11-15", to: "2025-12-31" },
      { from: "2026-01-01", to: "2026-03-31" },
      { from: "2026-04-01", to: "2026-06-30" },
      { from: "2026-07-01", to: "2026-08-02" },
    ]);
    expect(seriesPeriods("2026-05-01", "2026-05-31", "quarter")).toEqual([{ from: "2026-05-01", to: "2026-05-31" }]);
  });

  it("cover the range day by day, in order, each within one calendar period, and are counted without listing", () => {
    const day = fc.integer({ min: 0, max: 4_000 }).map((d) => addDays("2016-01-01", d));
    fc.assert(
      fc.property(day, fc.integer({ min: -3, max: 800 }), fc.constantFrom(...INTERVALS), (from, length, interval) => {
        const to = addDays(from, length);
        const periods = seriesPeriods(from, to, interval);
        expect(seriesLength(from, to, interval)).toBe(periods.length);
        expect(periods.length).toBe(seriesPoints(from, to, interval).length);
        if (to < from) return;
        expect(periods[0]!.from).toBe(from);
        expect(periods.at(-1)!.to).toBe(to);
        periods.forEach((p, i) => {
          expect(p.from <= p.to).toBe(true);
          if (i > 0) expect(p.from).toBe(addDays(periods[i - 1]!.to, 1));
          // Inner boundaries fall where the calendar period starts.
          if (i > 0 && interval === "week") expect(new Date(`${p.from}T00:00:00Z`).getUTCDay()).toBe(1);
          if (i > 0 && interval === "month") expect(p.from.slice(8)).toBe("01");
          if (i > 0 && interval === "quarter") expect(["01-01", "04-01", "07-01", "10-01"]).toContain(p.from.slice(5));
        });
      }),
      { numRuns: 400 },
    );
  });

  it("are at most 400 days, 260 weeks, 120 months or 40 quarters, past which the interval is at fault", () => {
    expect(MAX_SERIES_PERIODS).toEqual({ day: 400, week: 260, month: 120, quarter: 40 });
    expect(seriesProblem("2025-01-01", "2026-02-04", "day")).toBeUndefined();
    expect(seriesProblem("2025-01-01", "2026-02-05", "day")).toEqual({
      argument: "interval",
      message:
        "2025-01-01 to 2026-02-05 is 401 periods of a day; at most 400: use a longer interval or a shorter range",
    });
    expect(seriesProblem("2016-07-01", "2026-06-30", "month")).toBeUndefined();
    expect(seriesProblem("2016-06-30", "2026-06-30", "month")?.argument).toBe("interval");
    expect(seriesProblem("2016-07-01", "2026-06-30", "quarter")).toBeUndefined();
    // A range of centuries is counted, not listed.
    expect(seriesProblem("1900-01-01", "9998-12-31", "day")?.message).toMatch(
      /^1900-01-01 to 9998-12-31 is 2958099 periods of a day/,
    );
    expect(seriesProblem("2026-06-30", "2026-06-01", "month")).toEqual({
      argument: "to",
      message: "to (2026-06-01) is before from (2026-06-30)",
    });
  });
});

describe("a series' share of the answer budget", () => {
  const share = answerShare({
    name: "metricSeries",
    args: { keys: {}, from: {}, to: {}, interval: {}, segmentId: {} },
    type: { kind: "List" },
  } as never) as (args: Record<string, unknown>) => unknown;

  it("is a point per period, so a long series costs more", () => {
    expect(share({ from: "2026-01-01", to: "2026-12-31", interval: "month" })).toEqual({ field: 1, multiplier: 12 });
    expect(share({ from: "2026-01-01", to: "2026-12-31", interval: "day" })).toEqual({ field: 1, multiplier: 365 });
  });

  it("is one item for a range the field refuses (its own error says why) or arguments it cannot read", () => {
    expect(share({ from: "2020-01-01", to: "2026-12-31", interval: "day" })).toEqual({ field: 1, multiplier: 1 });
    expect(share({ from: "2026-12-31", to: "2026-01-01", interval: "week" })).toEqual({ field: 1, multiplier: 1 });
    expect(share({ from: "2026-01-01", to: "2026-02-30", interval: "week" })).toEqual({ field: 1, multiplier: 1 });
    expect(share({ from: "2026-01-01", to: "2026-12-31", interval: "year" })).toEqual({ field: 1, multiplier: 1 });
  });

  it("counts a stage series by its own limit (1,000 points), not a metric series'", () => {
    const stageShare = answerShare({
      name: "stageSeries",
      args: { from: {}, to: {}, interval: {} },
      type: { kind: "List" },
    } as never) as (args: Record<string, unknown>) => unknown;
    // 730 days: past a metric series' 400, within a stage series' 1,000.
    const twoYears = { from: "2025-01-01", to: "2026-12-31", interval: "day" };
    expect(stageShare(twoYears)).toEqual({ field: 1, multiplier: 730 });
    expect(share(twoYears)).toEqual({ field: 1, multiplier: 1 });
    expect(stageShare({ from: "2020-01-01", to: "2026-12-31", interval: "day" })).toEqual({ field: 1, multiplier: 1 });
  });
});

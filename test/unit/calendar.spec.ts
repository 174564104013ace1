// Day boundaries in a time zone (src/lifecycle/calendar.ts): the cut-off every as-of question uses.
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import {
  addDays,
  asOfCutoff,
  dayNumber,
  dayOfNumber,
  daysBetween,
  isCalendarDay,
  monthLabel,
  monthOf,
  seriesPoints,
  startOfDay,
  today,
} from "../../src/lifecycle/calendar.ts";

describe("calendar days in a time zone", () => {
  it("starts days at local midnight, across daylight-saving changes", () => {
    const cases: [string, string, string][] = [
      ["2026-06-30", "UTC", "2026-06-30T00:00:00.000Z"],
      ["2026-06-30", "Asia/Tokyo", "2026-06-29T15:00:00.000Z"],
      // Berlin: CET (+1) until 2026-03-29 02:00, CEST (+2) after; back on 2026-10-25.
      ["2026-03-29", "Europe/Berlin", "2026-03-28T23:00:00.000Z"],
      ["2026-03-30", "Europe/Berlin", "2026-03-29T22:00:00.000Z"],
      ["2026-10-25", "Europe/Berlin", "2026-10-24T22:00:00.000Z"],
      ["2026-10-26", "Europe/Berlin", "2026-10-25T23:00:00.000Z"],
      // New York: EST (−5) until 2026-03-08 02:00, EDT (−4) after.
      ["2026-03-08", "America/New_York", "2026-03-08T05:00:00.000Z"],
      ["2026-03-09", "America/New_York", "2026-03-09T04:00:00.000Z"],
      // A zone whose day once skipped midnight entirely: Samoa went from −10 to +14 over 2011-12-30.
      ["2011-12-31", "Pacific/Apia", "2011-12-30T10:00:00.000Z"],
    ];
    for (const [day, zone, expected] of cases) {
      // Twice: the second answer comes from the memo and must be the same instant.
      expect(startOfDay(day, zone).toISOString(), `${day} ${zone}`).toBe(expected);
      expect(startOfDay(day, zone).toISOString(), `${day} ${zone} again`).toBe(expected);
    }
    expect(asOfCutoff("2026-03-29", "Europe/Berlin").toISOString()).toBe("2026-03-29T22:00:00.000Z");
  });

  it("hands out a new Date each time: changing one does not change the next answer", () => {
    const first = startOfDay("2026-01-15", "Europe/Berlin");
    first.setTime(0);
    expect(startOfDay("2026-01-15", "Europe/Berlin").toISOString()).toBe("2026-01-14T23:00:00.000Z");
  });

  it("gives today's date in the zone", () => {
    const now = new Date("2026-06-30T23:30:00Z");
    expect(today("UTC", now)).toBe("2026-06-30");
    expect(today("Asia/Tokyo", now)).toBe("2026-07-01");
    expect(today("America/Los_Angeles", now)).toBe("2026-06-30");
  });
});

describe("calendar day arithmetic", () => {
  it("accepts real days from 1900-01-01 to 9998-12-31 only", () => {
    const cases: [unknown, boolean][] = [
      ["2026-06-30", true],
      ["1900-01-01", true],
      ["1899-12-31", false],
      ["9998-12-31", true],
      ["9999-01-01", false],
      // Leap years: every fourth year, but not centuries unless divisible by 400.
      ["2024-02-29", true],
      ["2023-02-29", false],
      ["2000-02-29", true],
      ["1900-02-29", false],
      ["2026-04-31", false],
      ["2026-13-01", false],
      ["2026-00-10", false],
      ["2026-6-30", false],
      ["26-06-30", false],
      ["2026-06-3", false],
      ["2026-06-30T00:00:00Z", false],
      ["x2026-06-30", false],
      ["20260630", false],
      ["", false],
      [20260630, false],
      [null, false],
      [new Date("2026-06-30T00:00:00Z"), false],
      // Not a string, though it reads as one.
      [{ toString: () => "2026-06-30" }, false],
    ];
    for (const [value, expected] of cases) expect(isCalendarDay(value), String(value)).toBe(expected);
  });

  it("accepts exactly the days a Date writes back unchanged, every month and day text of four centuries", () => {
    const real = (value: string) => {
      const date = new Date(`${value}T00:00:00Z`);
      return !Number.isNaN(date.getTime()) && date.toISOString().startsWith(value);
    };
    const two = (n: number) => String(n).padStart(2, "0");
    // 1896-2404: the 1900 and 2100 non-leap centuries, 2000 and 2400, and the range's lower end.
    for (let year = 1896; year <= 2404; year++)
      for (let month = 0; month <= 13; month++)
        for (let day = 0; day <= 32; day++) {
          const value = `${year}-${two(month)}-${two(day)}`;
          // One expect per mismatch only: 235,000 of them would take seconds.
          const expected = real(value) && value >= "1900-01-01";
          if (isCalendarDay(value) !== expected) expect(isCalendarDay(value), value).toBe(expected);
        }
    // Any four digits, against the range's upper end too.
    const digits = (n: number, max: number) => fc.integer({ min: 0, max }).map((v) => String(v).padStart(n, "0"));
    fc.assert(
      fc.property(digits(4, 9999), digits(2, 13), digits(2, 32), (y, m, d) => {
        const value = `${y}-${m}-${d}`;
        expect(isCalendarDay(value)).toBe(real(value) && value >= "1900-01-01" && value <= "9998-12-31");
      }),
      { numRuns: 5_000 },
    );
  });

  it("adds days across month ends, leap days and years, and refuses to leave years 0000-9999", () => {
    const cases: [string, number, string][] = [
      ["2026-06-30", 0, "2026-06-30"],
      ["2026-06-30", 1, "2026-07-01"],
      ["2026-03-01", -1, "2026-02-28"],
      ["2024-03-01", -1, "2024-02-29"],
      ["2024-02-28", 2, "2024-03-01"],
      ["2026-12-31", 1, "2027-01-01"],
      ["2026-01-01", 365, "2027-01-01"],
      ["2024-01-01", 365, "2024-12-31"],
      // Daylight-saving changes do not shift a day: the arithmetic is in UTC.
      ["2026-03-28", 2, "2026-03-30"],
      ["1900-01-01", -36_500, "1800-01-25"],
      ["9999-12-30", 1, "9999-12-31"],
      ["0000-01-02", -1, "0000-01-01"],
    ];
    for (const [day, days, expected] of cases) expect(addDays(day, days), `${day} + ${days}`).toBe(expected);
    expect(() => addDays("9999-12-31", 1)).toThrow(new RangeError("9999-12-31 + 1 days is outside years 0000-9999"));
    expect(() => addDays("0000-01-01", -1)).toThrow(RangeError);
  });

  it("counts the days between two days, negative backwards", () => {
    const cases: [string, string, number][] = [
      ["2026-06-30", "2026-06-30", 0],
      ["2024-02-28", "2024-03-01", 2],
      ["2023-02-28", "2023-03-01", 1],
      ["2026-03-28", "2026-03-30", 2],
      ["2026-01-01", "2027-01-01", 365],
      ["2024-01-01", "2025-01-01", 366],
      ["2026-07-01", "2026-06-30", -1],
    ];
    for (const [from, to, expected] of cases) expect(daysBetween(from, to), `${from} to ${to}`).toBe(expected);
  });

  it("numbers months as year × 12 + month − 1 and labels them back", () => {
    const cases: [string, number, string][] = [
      ["2026-01-15", 24_312, "2026-01"],
      ["2026-12-31", 24_323, "2026-12"],
      ["2027-01-01", 24_324, "2027-01"],
      ["0999-06-01", 11_993, "0999-06"],
      ["0000-01-01", 0, "0000-01"],
    ];
    for (const [day, index, label] of cases) {
      expect(monthOf(day), day).toBe(index);
      expect(monthLabel(index), String(index)).toBe(label);
    }
  });

  it("splits a series into days, ISO weeks and months, the last period ending on `to`", () => {
    expect(seriesPoints("2026-02-27", "2026-03-01", "day")).toEqual([
      { start: "2026-02-27", day: "2026-02-27" },
      { start: "2026-02-28", day: "2026-02-28" },
      { start: "2026-03-01", day: "2026-03-01" },
    ]);
    // 2026-06-03 is a Wednesday: its week ends on Sunday the 7th.
    expect(seriesPoints("2026-06-03", "2026-06-16", "week")).toEqual([
      { start: "2026-06-03", day: "2026-06-07" },
      { start: "2026-06-08", day: "2026-06-14" },
      { start: "2026-06-15", day: "2026-06-16" },
    ]);
    expect(seriesPoints("2024-01-31", "2024-03-10", "month")).toEqual([
      { start: "2024-01-31", day: "2024-01-31" },
      { start: "2024-02-01", day: "2024-02-29" },
      { start: "2024-03-01", day: "2024-03-10" },
    ]);
    expect(seriesPoints("2026-06-07", "2026-06-07", "week")).toEqual([{ start: "2026-06-07", day: "2026-06-07" }]);
    expect(seriesPoints("2025-12-01", "2026-11-30", "month")).toHaveLength(12);
    expect(seriesPoints("2026-06-08", "2026-06-07", "day")).toEqual([]);
  });

  it("numbers days from 1970-01-01 and back", () => {
    for (const [day, n] of [
      ["1970-01-01", 0],
      ["1969-12-31", -1],
      ["2026-06-30", 20_634],
      ["2000-02-29", 11_016],
    ] as const) {
      expect(dayNumber(day)).toBe(n);
      expect(dayOfNumber(n)).toBe(day);
    }
  });
});

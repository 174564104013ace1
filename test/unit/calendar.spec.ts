// Day boundaries in a time zone (src/lifecycle/calendar.ts): the cut-off every as-of question uses.
import { describe, expect, it } from "vitest";
import { asOfCutoff, startOfDay, today } from "../../src/lifecycle/calendar.ts";

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

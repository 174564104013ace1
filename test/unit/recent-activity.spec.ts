import { describe, expect, it } from "vitest";
import {
  lateCustomers,
  recentActivityOf,
  recentFingerprint,
  recentKey,
  type RecentActivity,
} from "../../src/services/state/recent-activity.ts";

const kept = (rows: RecentActivity[]) =>
  new Map(rows.map((r) => [recentKey(r.customerId, r.day), recentFingerprint(r.rowCount, r.amountSum)]));
const row = (customerId: string, day: number, rowCount: number, amountSum: number | null = null): RecentActivity => ({
  customerId,
  day,
  rowCount,
  amountSum,
});

describe("lateCustomers", () => {
  const before = [row("a", 10, 2, 5.5), row("b", 11, 1), row("c", 9, 3, 1), row("d", 12, 1, 2)];

  it("finds nobody when the window holds what was kept", () => {
    expect(lateCustomers(kept(before), before, 10)).toEqual(new Set());
  });

  it("finds a new day, a changed count, a changed amount and a day whose rows are gone", () => {
    const now = [row("a", 10, 3, 5.5), row("b", 11, 1), row("b", 13, 1), row("e", 12, 1, 2.5)];
    // a: one more row; b: a day not kept; d: its day is gone; e: never kept. c's day is before the window.
    expect(lateCustomers(kept(before), now, 10)).toEqual(new Set(["a", "b", "d", "e"]));
    expect(lateCustomers(kept(before), [...before.slice(0, 3), row("d", 12, 1, 2.25)], 10)).toEqual(new Set(["d"]));
  });

  it("leaves days before the window alone, kept or not", () => {
    expect(
      lateCustomers(kept(before), [row("a", 10, 2, 5.5), row("b", 11, 1), row("d", 12, 1, 2), row("x", 9, 4)], 10),
    ).toEqual(new Set());
  });

  it("reads a warehouse row, a day given as a date or a day number, and skips a row without an id", () => {
    expect(recentActivityOf({ customer_id: 7, day: "1970-01-11", row_count: "2", amount_sum: null })).toEqual(
      row("7", 10, 2),
    );
    expect(recentActivityOf({ customer_id: "a", day: 10, row_count: 1, amount_sum: 3 })).toEqual(row("a", 10, 1, 3));
    expect(recentActivityOf({ customer_id: null, day: 10, row_count: 1, amount_sum: 3 })).toBeNull();
  });
});

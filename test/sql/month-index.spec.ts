// monthIndex, the month number cohorts and the cohort-month breakdown group by: year × 12 + month − 1,
// worked out by hand for days at both ends of a month and of a year, on every warehouse and on BigQuery's
// SQL as ZetaSQL runs it; monthLabel turns it back into "YYYY-MM".
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { monthLabel } from "../../src/lifecycle/calendar.ts";
import { monthIndex } from "../../src/lifecycle/features-sql.ts";
import { cast, sql } from "../../src/sql/sql.ts";
import { testWarehouses, type TestWarehouse, type WarehouseFactory } from "../helpers/databases.ts";
import { describeOnZetaSql } from "../helpers/zetasql-warehouse.ts";

// 2026 × 12 = 24312; January is + 0, December + 11.
const DAYS: [string, number][] = [
  ["2026-01-01", 24_312],
  ["2026-01-31", 24_312],
  ["2026-02-01", 24_313],
  ["2025-12-31", 24_311],
  ["2026-12-31", 24_323],
  ["2000-02-29", 24_001],
];

function monthIndexOn(label: string, factory: () => WarehouseFactory): void {
  describe(`monthIndex on ${label}`, () => {
    let warehouse: TestWarehouse;
    beforeAll(async () => {
      warehouse = await factory().open();
    });
    afterAll(async () => {
      await warehouse?.close();
    });

    it("numbers each day's month as year × 12 + month − 1", async () => {
      for (const [day, expected] of DAYS) {
        const [row] = await warehouse.query<{ m: number }>(sql`SELECT ${monthIndex(cast(day, "date"))} AS m`);
        expect(Number(row!.m), day).toBe(expected);
        expect(monthLabel(expected), day).toBe(day.slice(0, 7));
      }
    });
  });
}

for (const factory of testWarehouses()) monthIndexOn(factory.label, () => factory);

describeOnZetaSql("monthIndex on BigQuery", (warehouses) => {
  monthIndexOn("BigQuery on ZetaSQL", () => warehouses({ numericAs: "NUMERIC" }));
});

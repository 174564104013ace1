// The days a warehouse holds rows for (dataRangeSql), in a zone that is not UTC, and the default day
// that follows from them: answers without asOf are for the last day with data when the data ends before
// today. Instants are literals at the edges of local days, so a range cut in UTC, or read from one table
// only, fails.
import { afterAll, describe, expect, it } from "vitest";
import type { ContractRow } from "../../src/connectors/connector.ts";
import { today } from "../../src/lifecycle/calendar.ts";
import { defaultStageModel } from "../../src/lifecycle/stage-model.ts";
import { LifecycleService } from "../../src/services/lifecycle/service.ts";
import { filledWarehouse, testWarehouses, type TestWarehouse, type WarehouseFactory } from "../helpers/databases.ts";
import { describeOnZetaSql } from "../helpers/zetasql-warehouse.ts";

const ZONE = "America/New_York";
const at = (iso: string) => Date.parse(iso);

// The earliest row is a sign-up at 23:59:59.999 EST on 2025-11-29 (04:59:59.999Z the next day in UTC),
// the latest an event at 00:00 EDT on 2026-07-02; purchases lie between them.
const ROWS = {
  transactions: [
    ["a", at("2026-01-01T04:59:59.999Z"), 10, "t1", null],
    ["b", at("2026-07-01T03:59:59.999Z"), 20, "t2", null],
  ] as ContractRow[],
  customers: [
    ["a", at("2025-11-30T04:59:59.999Z"), "search", null],
    ["b", at("2026-05-01T12:00:00.000Z"), "search", "a"],
  ] as ContractRow[],
  events: [
    ["a", at("2026-03-01T12:00:00.000Z"), "visit", null],
    ["b", at("2026-07-02T04:00:00.000Z"), "visit", null],
  ] as ContractRow[],
};

function dataRangeSuite(label: string, factory: () => WarehouseFactory): void {
  const opened: TestWarehouse[] = [];
  const open = async (rows: Parameters<typeof filledWarehouse>[1]) => {
    const warehouse = await filledWarehouse(factory(), rows);
    opened.push(warehouse);
    return LifecycleService.open(warehouse, defaultStageModel(), ZONE);
  };
  afterAll(async () => {
    for (const w of opened) await w.close();
  });

  it(`is the first and last local day of any row of the three tables (${label})`, async () => {
    const lifecycle = await open(ROWS);
    expect(await lifecycle.dataRange()).toEqual({ firstDay: "2025-11-29", lastDay: "2026-07-02" });
    // The data ends before today: answers without asOf are for its last day.
    expect(today(ZONE) > "2026-07-02").toBe(true);
    expect(await lifecycle.defaultDay()).toBe("2026-07-02");
  });

  it(`reads transactions alone when they are the only table (${label})`, async () => {
    const lifecycle = await open({ transactions: ROWS.transactions });
    expect(await lifecycle.dataRange()).toEqual({ firstDay: "2025-12-31", lastDay: "2026-06-30" });
  });

  it(`leaves the default at today when rows reach past it, or there are none (${label})`, async () => {
    const future = await open({
      transactions: [...ROWS.transactions, ["c", at("2099-01-01T12:00:00Z"), 5, "t3", null]],
    });
    expect((await future.dataRange())?.lastDay).toBe("2099-01-01");
    expect(await future.defaultDay()).toBe(today(ZONE));
    const empty = await open({});
    expect(await empty.dataRange()).toBeNull();
    expect(await empty.defaultDay()).toBe(today(ZONE));
  });
}

describe.each(testWarehouses())("the data range on $label", (factory) => {
  dataRangeSuite(factory.label, () => factory);
});

describeOnZetaSql("the data range on BigQuery (ZetaSQL)", (warehouses) => {
  dataRangeSuite("BigQuery on ZetaSQL", () => warehouses({ numericAs: "NUMERIC" }));
});

// The state written back into the warehouse (CLM_STATE_WRITEBACK=1): after each refresh, a table in
// the warehouse holds exactly the rows `clm export-state` gives, replaced whole each time, with views
// over it still working; a writeback that fails leaves the refresh published, with a warning saying so.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { ContractRow, OwnedRow, WarehouseConnector } from "../../src/connectors/connector.ts";
import { asOfCutoff } from "../../src/lifecycle/calendar.ts";
import { defaultStageModel } from "../../src/lifecycle/stage-model.ts";
import { LifecycleService } from "../../src/services/lifecycle/service.ts";
import { StateStore } from "../../src/services/state/state-store.ts";
import { StateTables } from "../../src/services/state/state-tables.ts";
import { ident, sql } from "../../src/sql/sql.ts";
import { openTestAppDatabase, testWarehouses, type TestAppDatabase, type TestWarehouse } from "../helpers/databases.ts";

const DAY = "2026-06-30";
const CUTOFF = asOfCutoff(DAY, "UTC").getTime();
const DAY_MS = 86_400_000;
const TABLE = "clm_customer_state";

/** Some customers' purchases over the last two years: 1–5 each, spread out. */
function purchases(customers: number, seed: number): ContractRow[] {
  const rows: ContractRow[] = [];
  let x = seed;
  const next = () => (x = (x * 48_271) % 2_147_483_647) / 2_147_483_647;
  for (let c = 0; c < customers; c++) {
    const n = 1 + Math.floor(next() * 5);
    for (let i = 0; i < n; i++)
      rows.push([
        `c${String(c).padStart(3, "0")}`,
        CUTOFF - Math.floor(next() * 700 * DAY_MS) - 1,
        Math.round(next() * 20_000) / 100,
        null,
        null,
      ]);
  }
  return rows;
}

/** Every exported row, by customer id. */
async function exported(store: StateStore): Promise<unknown[][]> {
  const rows: unknown[][] = [];
  for await (const page of store.exportPages()) rows.push(...page);
  return rows.sort((a, b) => String(a[0]).localeCompare(String(b[0])));
}

describe.each(testWarehouses())("the state written back into $label", (factory) => {
  let warehouse: TestWarehouse;
  let appDb: TestAppDatabase;
  let lifecycle: LifecycleService;
  beforeAll(async () => {
    warehouse = await factory.open();
    appDb = await openTestAppDatabase();
    await warehouse.createTables({ replace: true });
    await warehouse.append("transactions", purchases(60, 7));
    lifecycle = await LifecycleService.open(warehouse, defaultStageModel(), "UTC");
  });
  afterAll(async () => {
    await warehouse?.close();
    await appDb?.close();
  });

  const written = async () => {
    const target = ident(warehouse.mapping.schema, TABLE);
    return (await warehouse.query(sql`SELECT * FROM ${target} ORDER BY customer_id`, { cache: false })).map((row) =>
      Object.values(row),
    );
  };

  it("holds the exported rows after each refresh, replaced whole, views over it still working", async () => {
    const store = new StateStore(lifecycle, lifecycle.rfm, async () => appDb.sql, "serve", { writebackTable: TABLE });
    const first = (await store.refresh({ stateDay: DAY, full: true }))!;
    expect(first.writeback).toEqual({ table: TABLE, rows: 60 });
    expect(first.warnings).toEqual([]);
    const columns = store.exportColumns().map((c) => c.name);
    const rows = await warehouse.query(sql`SELECT * FROM ${ident(warehouse.mapping.schema, TABLE)} LIMIT 1`);
    expect(Object.keys(rows[0]!)).toEqual(columns);
    expect(await written()).toEqual(await exported(store));

    // A BI tool's view over the table keeps working across refreshes.
    const view = ident(warehouse.mapping.schema, "bi_stage_counts");
    await warehouse.query(
      sql`CREATE VIEW ${view} AS SELECT stage, COUNT(*) AS n FROM ${ident(warehouse.mapping.schema, TABLE)} GROUP BY stage`,
    );

    // New customers and new purchases: the next refresh replaces the table, no row twice.
    await warehouse.append("transactions", purchases(75, 11));
    const second = (await store.refresh({ stateDay: DAY, full: true }))!;
    expect(second.writeback).toEqual({ table: TABLE, rows: 75 });
    const now = await written();
    expect(now).toEqual(await exported(store));
    expect(new Set(now.map((r) => r[0])).size).toBe(75);
    const counts = await warehouse.query<{ n: number }>(sql`SELECT SUM(n) AS n FROM ${view}`, { cache: false });
    expect(Number(counts[0]!.n)).toBe(75);
  });

  it("leaves the refresh published, with a warning, when the writeback fails", async () => {
    const failing = Object.create(warehouse) as WarehouseConnector;
    failing.replaceTable = async (_table, pages: AsyncIterable<readonly OwnedRow[]>) => {
      for await (const _page of pages) throw new Error("permission denied for schema analytics");
      return 0;
    };
    const broken = new LifecycleService(failing, defaultStageModel(), "UTC", lifecycle.available);
    const store = new StateStore(broken, broken.rfm, async () => appDb.sql, "serve", { writebackTable: TABLE });
    const before = await written();
    const outcome = (await store.refresh({ stateDay: DAY, full: true }))!;
    expect(outcome.writeback).toBeNull();
    const warning = "the state was not written back to the warehouse: permission denied for schema analytics";
    expect(outcome.warnings).toContain(warning);
    const tables = new StateTables(appDb.sql);
    expect((await tables.pointer())!.generation).toBe(outcome.generation);
    expect((await tables.lastRefresh())!).toMatchObject({ published: true, error: null });
    expect((await tables.lastRefresh())!.warnings).toContain(warning);
    // What the last writeback wrote is still there.
    expect(await written()).toEqual(before);
  });
});

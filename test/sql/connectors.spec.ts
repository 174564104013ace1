// The connector contract, run against every warehouse the test environment has.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { DEFAULT_MAPPING } from "../../src/sql/contract.ts";
import { DuckDBConnector } from "../../src/connectors/duckdb.ts";
import { contractProblem } from "../../src/connectors/table-status.ts";
import { ident, sql } from "../../src/sql/sql.ts";
import { testWarehouses, type TestWarehouse } from "../helpers/databases.ts";

const DAY = Date.UTC(2026, 0, 15, 10, 30);

describe.each(testWarehouses())("$label connector", (factory) => {
  let warehouse: TestWarehouse;

  beforeAll(async () => {
    warehouse = await factory.open();
  });
  afterAll(async () => {
    await warehouse?.close();
  });

  it("answers a ping", async () => {
    await expect(warehouse.ping()).resolves.toBeUndefined();
  });

  it("reports the contract tables as absent before they are created", async () => {
    const statuses = await warehouse.tableStatus();
    expect(statuses.map((s) => [s.logical, s.present, s.rowCount])).toEqual([
      ["transactions", false, null],
      ["customers", false, null],
      ["events", false, null],
      ["marketing_spend", false, null],
    ]);
    expect(contractProblem(statuses)).toMatch(/required table .*transactions \(transactions\) not found/);
  });

  it("creates the contract tables and loads rows, values bound as parameters", async () => {
    await warehouse.createTables({ replace: true });
    await warehouse.append("transactions", [
      ["c1", DAY, 12.5, "o1", "web"],
      ["c1", DAY + 3_600_000, 7.25, null, null],
      ["c'2; DROP TABLE transactions; --", DAY, 1, "o3", "app"],
    ]);
    await warehouse.append("customers", [["c1", DAY - 86_400_000, "email", null]]);
    await warehouse.append("marketing_spend", [["2026-01-15", "email", 3.5]]);
    const statuses = await warehouse.tableStatus();
    expect(Object.fromEntries(statuses.map((s) => [s.logical, s.rowCount]))).toEqual({
      transactions: 3,
      customers: 1,
      events: 0,
      marketing_spend: 1,
    });
    expect(contractProblem(statuses)).toBeNull();
  });

  it("returns typed rows: numbers as numbers, timestamps as Dates, nulls as null", async () => {
    const mapped = warehouse.mapping.tables.transactions;
    const rows = await warehouse.query<{
      customer_id: string;
      occurred_at: Date;
      amount: number;
      order_id: string | null;
    }>(
      sql`SELECT customer_id, occurred_at, amount, order_id FROM ${ident(warehouse.mapping.schema, mapped.table)}
          WHERE customer_id = ${"c1"} ORDER BY occurred_at`,
    );
    expect(rows).toEqual([
      { customer_id: "c1", occurred_at: new Date(DAY), amount: 12.5, order_id: "o1" },
      { customer_id: "c1", occurred_at: new Date(DAY + 3_600_000), amount: 7.25, order_id: null },
    ]);
    const [count] = await warehouse.query<{ n: number }>(
      sql`SELECT count(*) AS n FROM ${ident(warehouse.mapping.schema, mapped.table)} WHERE customer_id = ${"c'2; DROP TABLE transactions; --"}`,
    );
    expect(count).toEqual({ n: 1 });
  });

  it("binds list parameters", async () => {
    const mapped = warehouse.mapping.tables.transactions;
    const rows = await warehouse.query<{ order_id: string }>(
      sql`SELECT order_id FROM ${ident(warehouse.mapping.schema, mapped.table)} WHERE order_id = ANY(${["o1", "o3", "zz"]}) ORDER BY order_id`,
    );
    expect(rows.map((r) => r.order_id)).toEqual(["o1", "o3"]);
  });

  it("reports a mapped column the physical table lacks", async () => {
    const schema = warehouse.mapping.schema;
    const events = ident(schema, warehouse.mapping.tables.events.table);
    await warehouse.query(sql`DROP TABLE ${events}`);
    await warehouse.query(sql`CREATE TABLE ${events} (customer_id TEXT, occurred_at TIMESTAMP)`);
    const status = (await warehouse.tableStatus()).find((s) => s.logical === "events")!;
    expect(status).toMatchObject({ present: true, missingColumns: ["type", "value"], rowCount: null });
    expect(contractProblem([status])).toMatch(/lacks column\(s\) type, value/);
  });

  it("streams a large result in batches equal to the query's rows, and releases a stream stopped early", async () => {
    const series =
      warehouse.dialect.name === "duckdb"
        ? sql`SELECT CAST(i AS INTEGER) AS i, CAST(DATE '2026-01-01' + CAST(i % 7 AS INTEGER) AS DATE) AS d FROM range(1, 12346) t(i) WHERE i > ${0} ORDER BY i`
        : sql`SELECT i, CAST(DATE '2026-01-01' + (i % 7) AS DATE) AS d FROM generate_series(1, 12345) AS t(i) WHERE i > ${0} ORDER BY i`;
    const batches: { i: number; d: string }[][] = [];
    for await (const batch of warehouse.stream<{ i: number; d: string }>(series, { batchRows: 5_000 }))
      batches.push(batch);
    expect(batches.map((b) => b.length)).toEqual([5_000, 5_000, 2_345]);
    expect(batches.flat()).toEqual(await warehouse.query(series));
    expect(batches[0]![0]).toEqual({ i: 1, d: "2026-01-02" });
    // More early stops than a pool has connections: each one must give its connection back.
    for (let n = 0; n < 15; n++) {
      for await (const batch of warehouse.stream(series, { batchRows: 100 })) {
        expect(batch).toHaveLength(100);
        break;
      }
    }
    expect(await warehouse.query(sql`SELECT 1 AS ok`)).toEqual([{ ok: 1 }]);
  });

  it("cancels a query whose signal is aborted before it runs", async () => {
    const controller = new AbortController();
    controller.abort(new Error("deadline"));
    await expect(warehouse.query(sql`SELECT 1`, { signal: controller.signal })).rejects.toThrow("deadline");
  });
});

describe("DuckDB options", () => {
  it("applies a memory limit (CLM_DUCKDB_MEMORY_LIMIT), so large queries spill instead of growing", async () => {
    const limited = await DuckDBConnector.open(undefined, DEFAULT_MAPPING, { memoryLimit: "123MB" });
    try {
      expect(await limited.query(sql`SELECT current_setting('memory_limit') AS m`)).toEqual([{ m: "117.3 MiB" }]);
    } finally {
      await limited.close();
    }
  });
});

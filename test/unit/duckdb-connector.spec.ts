// The DuckDB connector (src/connectors/duckdb.ts) on a real in-memory DuckDB, which costs milliseconds:
// the session it opens (UTC, memory limit, spill directory, query slots per core, a database file kept),
// the dialect's type names, how values go in (dates, numbers beyond 2^53, lists) and come back (BIGINT as
// numbers, DATE as its day), the stream's batches and column chunks, the interrupt on abort, every
// connection closed, the session API and the appender. (The contract shared with the other warehouses:
// test/sql/connectors.spec.ts.) Checks of how a connector opens use one opened in the test itself.
import { getEventListeners } from "node:events";
import { mkdtempSync, rmSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { DuckDBConnection, DuckDBInstance } from "@duckdb/node-api";
import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
import { DEFAULT_BATCH_ROWS } from "../../src/connectors/connector.ts";
import { DuckDBConnector, duckdbDialect, openDuckDB } from "../../src/connectors/duckdb.ts";
import { DEFAULT_MAPPING } from "../../src/sql/contract.ts";
import { cast, render, sql } from "../../src/sql/sql.ts";

// The cores the machine reports, or the count a test sets (the query slots follow them).
const cores = vi.hoisted(() => ({ count: undefined as number | undefined }));
vi.mock("node:os", async (importOriginal) => {
  const os = await importOriginal<typeof import("node:os")>();
  return { ...os, availableParallelism: () => cores.count ?? os.availableParallelism() };
});

let db: DuckDBConnector;

beforeAll(async () => {
  db = await DuckDBConnector.open(undefined, DEFAULT_MAPPING);
});
afterAll(async () => {
  await db?.close();
});

async function collect<T>(rows: AsyncIterable<T>): Promise<T[]> {
  const out: T[] = [];
  for await (const batch of rows) out.push(batch);
  return out;
}

/** `n` rows i = 0 … n-1. */
const range = (n: number) => sql`SELECT i FROM range(${n}) t(i) ORDER BY i`;

describe("DuckDB session settings", () => {
  it("runs in UTC, with DuckDB's own memory limit and 125,000 customers a range by default", async () => {
    // A connector of its own: what the shared one's opening did is not this test's to check.
    const c = await DuckDBConnector.open(undefined, DEFAULT_MAPPING);
    try {
      const [row] = await c.query(sql`SELECT current_setting('TimeZone') AS tz`);
      // (The machine's own zone may be called Etc/UTC.)
      expect(row).toEqual({ tz: "UTC" });
      expect(c.customersPerRange).toBe(125_000);
    } finally {
      await c.close();
    }
  });

  it("takes one query slot per core, and at least two", async () => {
    const slots = async (count: number) => {
      cores.count = count;
      const c = await DuckDBConnector.open(undefined, DEFAULT_MAPPING);
      await c.close();
      return c.concurrentQueries;
    };
    try {
      expect([await slots(1), await slots(2), await slots(8)]).toEqual([2, 2, 8]);
    } finally {
      cores.count = undefined;
    }
  });

  it("keeps a database file's tables, and is closed when closed", async () => {
    const dir = mkdtempSync(join(tmpdir(), "clm-duckdb-"));
    const file = join(dir, "warehouse.duckdb");
    try {
      const first = await DuckDBConnector.open(file, DEFAULT_MAPPING);
      await first.createTables({ replace: false });
      await first.append("marketing_spend", [["2025-12-31", "email", 100]]);
      await first.close();
      await expect(first.ping()).rejects.toThrow(/closed/);
      const again = await DuckDBConnector.open(file, DEFAULT_MAPPING);
      try {
        expect(await again.query(sql`SELECT * FROM marketing_spend`)).toEqual([
          { day: "2025-12-31", channel: "email", amount: 100 },
        ]);
      } finally {
        await again.close();
      }
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it("applies the memory limit, the spill directory (its parent made) and the range size it is given", async () => {
    const dir = mkdtempSync(join(tmpdir(), "clm-duckdb-"));
    try {
      const spill = join(dir, "nested", "spill");
      const c = await openDuckDB(
        { path: undefined, memoryLimit: "123MB", tempDirectory: spill, customersPerRange: 10 },
        DEFAULT_MAPPING,
      );
      try {
        const [row] = await c.query(
          sql`SELECT current_setting('memory_limit') AS memory, current_setting('temp_directory') AS temp`,
        );
        // DuckDB reports 123 MB (10^6 bytes) in MiB.
        expect(row).toEqual({ memory: "117.3 MiB", temp: spill });
        expect(statSync(join(dir, "nested")).isDirectory()).toBe(true);
        expect(c.customersPerRange).toBe(10);
      } finally {
        await c.close();
      }
      // Again, now that the parents are there (as when a server restarts), and two levels down.
      for (const spillAgain of [spill, join(dir, "a", "b", "spill")]) {
        const d = await openDuckDB({ path: undefined, tempDirectory: spillAgain }, DEFAULT_MAPPING);
        await d.close();
      }
      expect(statSync(join(dir, "a", "b")).isDirectory()).toBe(true);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it("takes a null memory limit as DuckDB's default", async () => {
    const c = await DuckDBConnector.open(":memory:", DEFAULT_MAPPING, { memoryLimit: null });
    const d = await DuckDBConnector.open(":memory:", DEFAULT_MAPPING, { memoryLimit: "123MB" });
    try {
      const [plain] = await c.query(sql`SELECT current_setting('memory_limit') AS m`);
      const [limited] = await d.query(sql`SELECT current_setting('memory_limit') AS m`);
      expect(plain!.m).not.toBe(limited!.m);
    } finally {
      await c.close();
      await d.close();
    }
  });
});

describe("DuckDB values", () => {
  it("names the SQL types of the dialect", async () => {
    const day = cast(sql`'2026-01-15'`, "date");
    const at = cast(sql`'2026-01-15 10:30:00+00'`, "instant");
    const [row] = await db.query(
      sql`SELECT ${cast(sql`'1.5'`, "float")} AS f, ${cast(sql`12`, "text")} AS t, ${day} AS d,
        ${cast(sql`'42'`, "int")} AS i, ${at} AS at`,
    );
    expect(row).toEqual({ f: 1.5, t: "12", d: "2026-01-15", i: 42, at: new Date(Date.UTC(2026, 0, 15, 10, 30)) });
  });

  it("binds a Date as its instant, a whole number beyond 2^53 exactly, lists and booleans", async () => {
    const at = new Date(Date.UTC(2026, 0, 15, 10, 30, 0, 123));
    const [row] = await db.query(
      sql`SELECT ${at} AS at, CAST(${2 ** 60} AS DOUBLE) AS big, CAST(${-1e300} AS DOUBLE) AS huge,
        ${["a", "b"]} AS list, ${true} AS yes, ${3} AS small, ${1.5} AS half`,
    );
    expect(row).toEqual({
      at,
      big: 2 ** 60,
      huge: -1e300,
      list: ["a", "b"],
      yes: true,
      small: 3,
      half: 1.5,
    });
  });

  it("returns BIGINT and HUGEINT as numbers, DATE as its day, DECIMAL as a number, NULL as null", async () => {
    const [row] = await db.query(
      sql`SELECT CAST(42 AS BIGINT) AS n, CAST(7 AS HUGEINT) AS h, DATE '2026-01-15' AS day,
        CAST(12.5 AS DECIMAL(18,2)) AS amount, CAST(NULL AS DATE) AS no_day, TIMESTAMP '2026-01-15 10:30:00' AS at`,
    );
    expect(row).toEqual({
      n: 42,
      h: 7,
      day: "2026-01-15",
      amount: 12.5,
      no_day: null,
      at: new Date(Date.UTC(2026, 0, 15, 10, 30)),
    });
  });

  it("keeps a timestamp column a Date even where another column is a DATE", async () => {
    const [row] = await db.query(sql`SELECT DATE '2026-01-15' AS d, TIMESTAMP '2026-01-15 00:00:00' AS t`);
    expect(row!.d).toBe("2026-01-15");
    expect(row!.t).toEqual(new Date(Date.UTC(2026, 0, 15)));
  });
});

describe("DuckDB streams", () => {
  it("hands out batches of batchRows, the rest last, and no empty one", async () => {
    const sizes = (await collect(db.stream(range(5000), { batchRows: 2048 }))).map((b) => b.length);
    expect(sizes).toEqual([2048, 2048, 904]);
    const exact = await collect(db.stream(range(6), { batchRows: 3 }));
    expect(exact).toEqual([
      [{ i: 0 }, { i: 1 }, { i: 2 }],
      [{ i: 3 }, { i: 4 }, { i: 5 }],
    ]);
    expect(await collect(db.stream(range(0), { batchRows: 3 }))).toEqual([]);
  });

  it("batches 5,000 rows unless told", async () => {
    expect(DEFAULT_BATCH_ROWS).toBe(5000);
    const sizes = (await collect(db.stream(range(12_000)))).map((b) => b.length);
    expect(sizes).toEqual([5000, 5000, 2000]);
  });

  it("decodes streamed rows like queried ones", async () => {
    const [batch] = await collect(db.stream(sql`SELECT DATE '2026-01-15' AS day, CAST(3 AS BIGINT) AS n`));
    expect(batch).toEqual([{ day: "2026-01-15", n: 3 }]);
  });

  it("hands out columns by data chunk, BIGINT as numbers, and nothing for no rows", async () => {
    const batches = await collect(
      db.streamColumns(sql`SELECT i, i * 2 AS twice, CAST(i AS HUGEINT) AS huge FROM range(3000) t(i) ORDER BY i`),
    );
    expect(batches.map((b) => b.rowCount)).toEqual([2048, 952]);
    expect(batches[0]!.names).toEqual(["i", "twice", "huge"]);
    const [, twice, huge] = batches[1]!.columns;
    expect(twice!.kind).toBe("numbers");
    expect(Array.from((twice as { values: Float64Array }).values).slice(0, 2)).toEqual([4096, 4098]);
    // HUGEINT is not read directly: its values go through the connector's decoding, bigint to number.
    expect(huge).toMatchObject({ kind: "values" });
    expect((huge as unknown as { values: unknown[] }).values.slice(0, 2)).toEqual([2048, 2049]);
    expect(await collect(db.streamColumns(range(0)))).toEqual([]);
  });

  it("releases the connection of a stream stopped early", async () => {
    for (let k = 0; k < 3; k++) {
      for await (const batch of db.stream(range(10_000), { batchRows: 10 })) {
        expect(batch).toHaveLength(10);
        break;
      }
    }
    await expect(db.ping()).resolves.toBeUndefined();
  });
});

describe("DuckDB aborts", () => {
  const slow = sql`SELECT count(*) AS n FROM range(2000000000) a(i), range(10) b(j) WHERE (i * j) % 7 = 3`;

  it("runs nothing when already aborted", async () => {
    const controller = new AbortController();
    controller.abort(new Error("gone"));
    await expect(db.query(sql`SELECT 1`, { signal: controller.signal })).rejects.toThrow("gone");
    await expect(collect(db.stream(sql`SELECT 1`, { signal: controller.signal }))).rejects.toThrow("gone");
  });

  it("interrupts a running query when its signal aborts", async () => {
    const controller = new AbortController();
    const started = Date.now();
    setTimeout(() => controller.abort(), 50);
    await expect(db.query(slow, { signal: controller.signal })).rejects.toThrow(/interrupt/i);
    expect(Date.now() - started).toBeLessThan(5000);
  });

  it("closes every connection it opens and drops its abort listener, whatever way the work ends", async () => {
    const connect = vi.spyOn(DuckDBInstance.prototype, "connect");
    const closeSync = vi.spyOn(DuckDBConnection.prototype, "closeSync");
    const signal = new AbortController().signal;
    const counts: number[][] = [];
    const c = await DuckDBConnector.open(undefined, DEFAULT_MAPPING);
    try {
      const opened = () => [connect.mock.calls.length, closeSync.mock.calls.length];
      const before = opened();
      await c.createTables({ replace: false });
      await c.query(sql`SELECT 1 AS one`, { signal });
      await expect(c.query(sql`SELECT * FROM no_such_table`, { signal })).rejects.toThrow(/no_such_table/);
      await collect(c.stream(range(10), { signal, batchRows: 3 }));
      for await (const batch of c.stream(range(10), { signal, batchRows: 3 })) {
        expect(batch).toHaveLength(3);
        break;
      }
      await collect(c.streamColumns(range(10), { signal }));
      await c.ping();
      await c.session((s) => s.query(sql`SELECT 1 AS one`));
      await expect(c.session(() => Promise.reject(new Error("work failed")))).rejects.toThrow("work failed");
      await c.append("marketing_spend", [["2025-12-31", "email", 100]]);
      await expect(c.append("marketing_spend", [["not a day", "email", 100]])).rejects.toThrow();
      const after = opened();
      counts.push([after[0]! - before[0]!, after[1]! - before[1]!]);
    } finally {
      await c.close();
      connect.mockRestore();
      closeSync.mockRestore();
    }
    const [[connections, closed]] = counts as [[number, number]];
    expect(connections).toBeGreaterThanOrEqual(13);
    expect(closed).toBe(connections);
    expect(getEventListeners(signal, "abort")).toHaveLength(0);
  });

  it("does not interrupt a later query on a signal whose query is done", async () => {
    const controller = new AbortController();
    await db.query(sql`SELECT 1`, { signal: controller.signal });
    const later = db.query(sql`SELECT count(*) AS n FROM range(3000000)`);
    controller.abort();
    await expect(later).resolves.toEqual([{ n: 3_000_000 }]);
  });
});

describe("DuckDB sessions and writes", () => {
  it("keeps temporary tables within a session and tracks progress there", async () => {
    const out = await db.session(async (s) => {
      await s.query(sql`CREATE TEMP TABLE tmp AS SELECT ${5} AS v, DATE '2026-01-15' AS d, CAST(2 AS BIGINT) AS n`);
      const [settings] = await s.query(
        sql`SELECT current_setting('enable_progress_bar') AS bar, current_setting('enable_progress_bar_print') AS print`,
      );
      return { rows: await s.query(sql`SELECT * FROM tmp`), progress: s.progress(), settings };
    });
    expect(out.rows).toEqual([{ v: 5, d: "2026-01-15", n: 2 }]);
    expect(out.settings).toEqual({ bar: true, print: false });
    expect(out.progress).toBe(-1);
    await expect(db.query(sql`SELECT * FROM tmp`)).rejects.toThrow(/tmp/);
  });

  it("says what creates a table, its schema first when the mapping has one", () => {
    expect(db.createTableSql("transactions")).toHaveLength(1);
    const schemaDb = Object.create(db, { mapping: { value: { ...DEFAULT_MAPPING, schema: "shop" } } });
    const statements = (schemaDb as DuckDBConnector).createTableSql("transactions");
    expect(statements).toHaveLength(2);
    expect(render(statements[0]!, duckdbDialect).text).toBe('CREATE SCHEMA IF NOT EXISTS "shop"');
    expect(render(statements[1]!, duckdbDialect).text).toMatch(/^CREATE TABLE IF NOT EXISTS "shop"."transactions" /);
  });

  it("appends rows: text, instants, money, days and nulls", async () => {
    const c = await DuckDBConnector.open(undefined, DEFAULT_MAPPING);
    try {
      await c.createTables({ replace: false });
      const at = Date.UTC(2026, 0, 15, 10, 30, 0, 250);
      await c.append("transactions", [
        ["c1", at, 12.5, "o1", null],
        ["c2", at + 1000, "3.25", null, 7],
      ]);
      const rows = await c.query(sql`SELECT * FROM transactions ORDER BY customer_id`);
      expect(rows).toEqual([
        { customer_id: "c1", occurred_at: new Date(at), amount: 12.5, order_id: "o1", channel: null },
        { customer_id: "c2", occurred_at: new Date(at + 1000), amount: 3.25, order_id: null, channel: "7" },
      ]);
      await c.append("marketing_spend", [["2025-12-31", "email", 100]]);
      expect(await c.query(sql`SELECT * FROM marketing_spend`)).toEqual([
        { day: "2025-12-31", channel: "email", amount: 100 },
      ]);
    } finally {
      await c.close();
    }
  });

  it("appends into the mapping's schema, and takes a short row's missing values as NULL", async () => {
    const c = await DuckDBConnector.open(undefined, { ...DEFAULT_MAPPING, schema: "shop" });
    try {
      await c.createTables({ replace: false });
      const at = Date.UTC(2026, 0, 15);
      await c.append("transactions", [["c1", at, 12.5]]);
      expect(await c.query(sql`SELECT * FROM shop.transactions`)).toEqual([
        { customer_id: "c1", occurred_at: new Date(at), amount: 12.5, order_id: null, channel: null },
      ]);
    } finally {
      await c.close();
    }
  });
});

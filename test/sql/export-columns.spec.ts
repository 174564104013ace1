// The segment export's column path (DuckDB's streamColumns → memberCsvColumnBytes, written straight into
// UTF-8) against its row path (stream → memberCsvLines → TextEncoder), which every other connector takes:
// the same bytes on random members with every awkward value, the same values per type, the same guards.
import fc from "fast-check";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { pino } from "pino";
import { columnValue, WarehouseUnavailableError, type ColumnBatch } from "../../src/connectors/connector.ts";
import { DEFAULT_MAPPING } from "../../src/sql/contract.ts";
import { DuckDBConnector } from "../../src/connectors/duckdb.ts";
import { ident, join, keyword, sql, type Sql } from "../../src/sql/sql.ts";
import { FEATURES } from "../../src/lifecycle/features.ts";
import { csvField, CsvBytes } from "../../src/server/csv.ts";
import { memberCsvColumnBytes, memberCsvLines } from "../../src/server/export.ts";
import { DEFAULT_GUARD_SETTINGS, GuardedWarehouse } from "../../src/warehouse/guarded-warehouse.ts";

let duck: DuckDBConnector;
beforeAll(async () => {
  duck = await DuckDBConnector.open(undefined, DEFAULT_MAPPING);
});
afterAll(async () => {
  await duck?.close();
});

const encoder = new TextEncoder();

/** Text a CSV writer must get right: separators, quotes, line breaks, formula starts, non-ASCII, long. */
const awkwardText = fc.oneof(
  fc.string({ unit: "binary", maxLength: 30 }),
  fc.constantFrom("", "plain", 'say "hi", ok', "a,b", "line\nbreak", "cr\rlf\r\n", "=SUM(A1)", "+1", "-3", "@x"),
  fc.constantFrom("\ttab", "\rcr", "'quoted", "ünïcödé", "日本語のテキスト", "😀 emoji", "a".repeat(40)),
  fc.tuple(fc.constantFrom("=", "+", "-", "@", "\t", "\r", ""), fc.string({ maxLength: 20 })).map(([a, b]) => a + b),
);

const awkwardNumber = fc.oneof(
  fc.double(),
  fc.integer({ min: -1_000_000, max: 1_000_000 }),
  fc.integer({ min: -100_000_000, max: 100_000_000 }).map((cents) => cents / 100),
  fc.constantFrom(0, -0, 0.1 + 0.2, 1e21, 1e-7, 123456789.125, 2 ** 53, 2 ** 53 + 2, -(2 ** 60), 1e300, 5e-324),
  fc.constantFrom(Number.NaN, Number.POSITIVE_INFINITY, Number.NEGATIVE_INFINITY, Number.MAX_SAFE_INTEGER),
);

describe("CsvBytes", () => {
  it("writes the UTF-8 bytes of csvField's text for any value", () => {
    const value = fc.oneof(
      awkwardText,
      awkwardNumber,
      fc.constantFrom(null, undefined, true, false, new Date(Date.UTC(2026, 5, 30))),
    );
    fc.assert(
      fc.property(fc.array(fc.tuple(value, fc.boolean()), { maxLength: 40 }), (fields) => {
        const csv = new CsvBytes(1); // grows from the smallest buffer
        const expected: string[] = [];
        for (const [v, text] of fields) {
          if (expected.length > 0) csv.comma();
          csv.field(v, text);
          expected.push(csvField(v, text));
        }
        csv.lineEnd();
        expect(Buffer.from(csv.take())).toEqual(Buffer.from(encoder.encode(`${expected.join(",")}\r\n`)));
      }),
      { numRuns: 2_000, seed: 7 },
    );
  });
});

describe("CsvBytes typed fields", () => {
  const written = (write: (csv: CsvBytes) => void) => {
    const csv = new CsvBytes(1);
    write(csv);
    return new TextDecoder().decode(csv.take());
  };

  it("writes a number as String() does: whole, cents and any other double", () => {
    const cents = fc.integer({ min: -(10 ** 15), max: 10 ** 15 }).map((k) => k / 100);
    const near = fc.integer({ min: -(10 ** 15), max: 10 ** 15 }).map((k) => k / 100 + Number.EPSILON * k);
    fc.assert(
      fc.property(fc.oneof(cents, near, awkwardNumber, fc.double({ min: -1e14, max: 1e14 })), (x) => {
        expect(written((csv) => csv.number(x))).toBe(String(x));
      }),
      { numRuns: 20_000, seed: 3 },
    );
    for (const x of [0.01, -0.01, 0.1, 0.5, 1.05, 9999999999999.99, -9999999999999.99, 1e13 + 0.5, 0.07, 123.4])
      expect(written((csv) => csv.number(x))).toBe(String(x));
  });

  it("writes a day as toISOString's YYYY-MM-DD, every year DuckDB and Date can hold", () => {
    const iso = (days: number) => new Date(days * 86_400_000).toISOString().slice(0, 10);
    fc.assert(
      fc.property(fc.integer({ min: -100_000_000, max: 100_000_000 }), fc.boolean(), (days, text) => {
        expect(written((csv) => csv.day(days, text))).toBe(csvField(iso(days), text));
      }),
      { numRuns: 20_000, seed: 5 },
    );
    // Around the ends of years 0 and 9999, leap days and the epoch.
    for (const days of [-719_529, -719_528, -719_162, -1, 0, 59, 11_016, 2_932_896, 2_932_897, 10_957])
      expect(written((csv) => csv.day(days, false))).toBe(iso(days));
    // Beyond Date's range, as toISOString does: an error, never bytes from the cache.
    for (const days of [-(2 ** 31), 2 ** 31 - 1])
      expect(() => written((csv) => csv.day(days, false))).toThrow(RangeError);
  });

  it("writes UTF-8 text as csvField's text of the string", () => {
    fc.assert(
      fc.property(awkwardText, fc.boolean(), (s, text) => {
        const bytes = encoder.encode(`xy${s}z`);
        expect(written((csv) => csv.utf8(bytes, 2, bytes.length - 1, text))).toBe(csvField(s, text));
      }),
      { numRuns: 5_000, seed: 9 },
    );
  });
});

/** Rows of a query by column batch, turned back into row objects. */
async function columnRows(query: Sql): Promise<{ rows: Record<string, unknown>[]; sizes: number[] }> {
  const rows: Record<string, unknown>[] = [];
  const sizes: number[] = [];
  for await (const batch of duck.streamColumns(query)) {
    sizes.push(batch.rowCount);
    for (let i = 0; i < batch.rowCount; i++)
      rows.push(Object.fromEntries(batch.names.map((name, c) => [name, columnValue(batch.columns[c]!, i)])));
  }
  return { rows, sizes };
}

describe("DuckDB column batches", () => {
  it("carry the values its rows carry, type by type, nulls included", async () => {
    const query = sql`
      SELECT i,
        CAST(i % 256 - 128 AS TINYINT) AS tiny, CAST(i * 12 - 30000 AS SMALLINT) AS small,
        CAST(i * 100000 - 2000000000 AS INTEGER) AS int,
        CAST(i % 256 AS UTINYINT) AS utiny, CAST(i * 13 AS USMALLINT) AS usmall, CAST(i * 800000 AS UINTEGER) AS uint,
        CASE i % 4 WHEN 0 THEN 9223372036854775807 WHEN 1 THEN -9223372036854775807 ELSE (i - 2500) * 4611686018427 END AS big,
        CAST(i AS UBIGINT) * 4294967311 AS ubig,
        CAST(i AS HUGEINT) * 1000000007 AS huge,
        CAST(i / 7 AS DECIMAL(18, 2)) AS money,
        i / 7 AS dbl, CAST(i / 3 AS FLOAT) AS flt,
        i % 2 = 0 AS even,
        CASE WHEN i % 5 = 0 THEN NULL ELSE DATE '1970-01-01' + CAST(i * 37 - 90000 AS INTEGER) END AS day,
        TIMESTAMP '2026-01-15 10:30:00' + to_seconds(i) AS ts,
        CASE WHEN i % 3 = 0 THEN NULL WHEN i % 3 = 1 THEN 'id-' || i ELSE 'a longer text, beyond twelve bytes: ' || i || ' ü' END AS txt,
        CASE WHEN i % 7 = 0 THEN NULL ELSE i END AS sparse,
        [i, i + 1] AS list
      FROM range(0, 5000) t(i) WHERE i >= ${0} ORDER BY i`;
    const rows: Record<string, unknown>[] = [];
    for await (const batch of duck.stream(query)) rows.push(...batch);
    const columns = await columnRows(query);
    expect(columns.rows).toEqual(rows);
    // One batch per data chunk.
    expect(columns.sizes.every((size) => size > 0 && size <= 2_048)).toBe(true);
    expect(columns.sizes.reduce((a, b) => a + b)).toBe(5_000);
    expect(columns.rows[1]).toMatchObject({
      big: -9223372036854775807,
      day: new Date((37 - 90_000) * 86_400_000).toISOString().slice(0, 10),
      txt: "id-1",
      money: 0.14,
    });
  });

  it("stop early without keeping the connection", async () => {
    for (let n = 0; n < 12; n++) {
      for await (const batch of duck.streamColumns(sql`SELECT * FROM range(0, 100000) t(i) WHERE i > ${-1}`)) {
        expect(batch.rowCount).toBeGreaterThan(0);
        break;
      }
    }
    expect(await duck.query(sql`SELECT 1 AS ok`)).toEqual([{ ok: 1 }]);
  });
});

/** The export's columns with a type for each: text, dates, whole and fractional numbers. */
const COLUMNS: { name: string; type: string }[] = [
  { name: "customer_id", type: "VARCHAR" },
  { name: "stage_key", type: "VARCHAR" },
  { name: "furthest_stage_key", type: "VARCHAR" },
  ...FEATURES.map((f, i) => ({
    name: f.column,
    type: f.type === "string" ? "VARCHAR" : f.type === "date" ? "DATE" : i % 3 === 0 ? "BIGINT" : "DOUBLE",
  })),
];

const day = fc
  .integer({ min: -600_000, max: 2_900_000 })
  .map((days) => new Date(days * 86_400_000).toISOString().slice(0, 10));

function valueOf(type: string): fc.Arbitrary<string | number | null> {
  const value =
    type === "VARCHAR"
      ? awkwardText
      : type === "DATE"
        ? day
        : type === "BIGINT"
          ? fc.oneof(
              fc.integer({ min: -1_000_000, max: 1_000_000 }),
              fc.bigInt({ min: -(2n ** 63n) + 1n, max: 2n ** 63n - 1n }).map(String),
            )
          : awkwardNumber;
  return fc.option(value, { freq: 4 });
}

const member = fc.tuple(...COLUMNS.map((c) => valueOf(c.type)));

describe("the export's column path", () => {
  it("writes the bytes of the row path on random members", async () => {
    const table = ident("members_csv");
    await duck.query(
      sql`CREATE TABLE ${table} (n INTEGER, ${join(COLUMNS.map((c) => sql`${ident(c.name)} ${keyword(c.type)}`))})`,
    );
    let n = 0;
    await fc.assert(
      fc.asyncProperty(fc.array(member, { minLength: 1, maxLength: 60 }), async (members) => {
        await duck.query(sql`DELETE FROM ${table}`);
        for (const values of members) {
          const cells = values.map((v, i) =>
            v === null ? sql`NULL` : sql`CAST(${v} AS ${keyword(COLUMNS[i]!.type)})`,
          );
          await duck.query(sql`INSERT INTO ${table} VALUES (${n++}, ${join(cells)})`);
        }
        // Row batches smaller than a chunk as well as the default, so lines are split across parts both ways.
        const query = sql`SELECT * EXCLUDE (n) FROM ${table} ORDER BY n`;
        for (const batchRows of [7, undefined]) {
          const rowParts: Uint8Array[] = [];
          for await (const batch of duck.stream(query, { batchRows }))
            rowParts.push(encoder.encode(memberCsvLines(batch)));
          const columnParts: Uint8Array[] = [];
          let rows = 0;
          for await (const batch of duck.streamColumns(query)) {
            columnParts.push(memberCsvColumnBytes(batch));
            rows += batch.rowCount;
          }
          expect(Buffer.concat(columnParts)).toEqual(Buffer.concat(rowParts));
          expect(rows).toBe(members.length);
        }
      }),
      { numRuns: 12, seed: 11 },
    );
  });

  it("writes empty fields for a column the batch lacks, as the row path does", () => {
    const batch: ColumnBatch = {
      names: ["customer_id"],
      columns: [{ kind: "values", values: ["=a", "b,c"] }],
      rowCount: 2,
    };
    const rows = [{ customer_id: "=a" }, { customer_id: "b,c" }];
    expect(new TextDecoder().decode(memberCsvColumnBytes(batch))).toBe(memberCsvLines(rows));
  });
});

describe("GuardedWarehouse and column batches", () => {
  it("offers them only when its connector does, and fails them fast while the circuit is open", async () => {
    const log = pino({ level: "silent" });
    const guarded = new GuardedWarehouse(duck, { ...DEFAULT_GUARD_SETTINGS, cache: null }, log);
    const rowsOnly = new GuardedWarehouse(
      Object.assign(Object.create(duck) as DuckDBConnector, { streamColumns: undefined }),
      { ...DEFAULT_GUARD_SETTINGS, cache: null },
      log,
    );
    expect(rowsOnly.streamColumns).toBeUndefined();
    const batches: ColumnBatch[] = [];
    for await (const batch of guarded.streamColumns!(sql`SELECT ${"x"} AS a`)) batches.push(batch);
    expect(batches.map((b) => [b.names, b.rowCount, columnValue(b.columns[0]!, 0)])).toEqual([[["a"], 1, "x"]]);

    const isolation = guarded.breaker.isolate();
    try {
      await expect(
        guarded.streamColumns!(sql`SELECT 1 AS a`)
          [Symbol.asyncIterator]()
          .next(),
      ).rejects.toThrow(WarehouseUnavailableError);
    } finally {
      isolation.dispose();
    }
  });

  it("stop the query when the caller's signal aborts", async () => {
    const controller = new AbortController();
    const slow = sql`SELECT count(*) AS n FROM range(0, 3000000000) a(i) WHERE i > ${-1}`;
    setTimeout(() => controller.abort(new Error("client left")), 100);
    const iterator = duck.streamColumns(slow, { signal: controller.signal })[Symbol.asyncIterator]();
    await expect(iterator.next()).rejects.toThrow(/client left|INTERRUPT|interrupt/i);
  });
});

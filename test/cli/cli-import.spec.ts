// `clm import`: CSV and Parquet files into a DuckDB warehouse file, checked against the contract, all
// or nothing; problems named by the file's physical line (CSV) or row (Parquet).
import { copyFileSync, existsSync, mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { beforeAll, describe, expect, it } from "vitest";
import { DEFAULT_MAPPING } from "../../src/sql/contract.ts";
import { DuckDBConnector } from "../../src/connectors/duckdb.ts";
import { sql } from "../../src/sql/sql.ts";
import { CsvScanner, type CsvRecord } from "../../src/cli/csv-scan.ts";
import { generateDemoData } from "../../src/demo/generate.ts";
import { defaultStageModel } from "../../src/lifecycle/stage-model.ts";
import { LifecycleService } from "../../src/services/lifecycle/service.ts";
import { runClm } from "../helpers/process.ts";
import { runClmInProcess } from "../helpers/cli-in-process.ts";

const FIXTURES = fileURLToPath(new URL("../fixtures/import/", import.meta.url));
const fixture = (name: string) => join(FIXTURES, name);
const dir = mkdtempSync(join(tmpdir(), "clm-import-"));
const seeded = join(dir, "seeded.duckdb");
const AS_OF = "2026-06-30";
const NOT_A_TIMESTAMP = "is not a timestamp (ISO 8601: YYYY-MM-DD[(T| )HH:MM[:SS[.fraction]][Z|±HH:MM|±HHMM|±HH]])";

/** A fresh copy of the seeded warehouse for one test. */
function copyOfSeeded(name: string): string {
  const file = join(dir, `${name}.duckdb`);
  copyFileSync(seeded, file);
  return file;
}

/** Opens a warehouse file in this process (after the command that used it has exited). */
async function inspect<T>(file: string, work: (db: DuckDBConnector) => Promise<T>): Promise<T> {
  const db = await DuckDBConnector.open(file, DEFAULT_MAPPING);
  try {
    return await work(db);
  } finally {
    await db.close();
  }
}

async function stageCounts(file: string): Promise<Record<string, number>> {
  return inspect(file, async (db) => {
    const lifecycle = await LifecycleService.open(db, defaultStageModel(), "UTC");
    const counts = await lifecycle.stageCounts(AS_OF);
    return Object.fromEntries(counts.map((c) => [c.stage.key, c.count]));
  });
}

const count = (file: string, table: string) =>
  inspect(file, async (db) => {
    const rows = await db.query<{ n: number }>(
      table === "transactions"
        ? sql`SELECT COUNT(*) AS n FROM transactions`
        : table === "customers"
          ? sql`SELECT COUNT(*) AS n FROM customers`
          : sql`SELECT COUNT(*) AS n FROM marketing_spend`,
    );
    return rows[0]!.n;
  });

beforeAll(async () => {
  const db = await DuckDBConnector.open(seeded, DEFAULT_MAPPING);
  await db.createTables({ replace: true });
  await generateDemoData(db, { customers: 300, endDate: AS_OF });
  // Parquet fixtures are written here rather than committed as binaries.
  await db.query(
    sql`COPY (SELECT 'lead' || i AS customer_id, TIMESTAMP '2026-06-10 09:00:00' + to_hours(i) AS created_at,
                     'podcast' AS acquisition_channel, CAST(NULL AS VARCHAR) AS referred_by, 'x' AS extra_column
              FROM range(1, 6) t(i)) TO ${join(dir, "leads.parquet")} (FORMAT parquet)`,
  );
  // Headers that are no SQL identifiers, as exports name them.
  await db.query(
    sql`COPY (SELECT 'k' || i AS "Kunden Nr", TIMESTAMP '2026-06-01 08:00:00' + to_hours(i) AS "Order Date",
                     i * 2.5 AS "Betrag (€)" FROM range(1, 4) t(i)) TO ${join(dir, "renamed.parquet")} (FORMAT parquet)`,
  );
  await db.query(
    sql`COPY (SELECT 'p' || i AS customer_id,
                     CASE WHEN i = 7 THEN 'yesterday' ELSE '2026-06-01 12:00:00' END AS occurred_at,
                     CASE WHEN i = 3 THEN NULL ELSE i * 1.5 END AS amount
              FROM range(10) t(i)) TO ${join(dir, "bad.parquet")} (FORMAT parquet)`,
  );
  await db.close();
});

describe("clm import", () => {
  it("loads a CSV (header, quoted fields, a line break inside quotes, an offset) and the stages count the buyers", async () => {
    const file = copyOfSeeded("good-csv");
    const before = await stageCounts(file);
    const transactions = await count(file, "transactions");
    const { code, stdout, stderr } = await runClm(
      ["import", "transactions", fixture("transactions-good.csv"), "--db", file],
      {},
    );
    expect(code, stderr).toBe(0);
    expect(stdout).toMatch(
      new RegExp(
        `^imported 3 rows into transactions \\(${transactions + 3} rows now\\) from transactions-good\\.csv in [\\d.]+s \\(\\d+ rows/s\\)\\n$`,
      ),
    );
    expect(stderr).toBe("");
    const rows = await inspect(file, (db) =>
      db.query(
        sql`SELECT customer_id, CAST(occurred_at AS VARCHAR) AS at, CAST(amount AS DOUBLE) AS amount, order_id, channel
            FROM transactions WHERE customer_id LIKE 'n00%' ORDER BY customer_id`,
      ),
    );
    expect(rows).toEqual([
      { customer_id: "n001", at: "2026-06-01 10:00:00", amount: 12.5, order_id: "o1", channel: "web" },
      { customer_id: "n002", at: "2026-06-02 06:00:00", amount: 7, order_id: "o2", channel: "shop\nfloor" },
      { customer_id: "n003", at: "2026-06-03 00:00:00", amount: 99.99, order_id: null, channel: null },
    ]);
    // Three people with one purchase day in the last 30 days: new customers.
    const after = await stageCounts(file);
    expect(after.new).toBe(before.new! + 3);
    expect({ ...after, new: before.new }).toEqual(before);
  });

  it("loads a Parquet file by column name (ignoring others) and the new leads are prospects", async () => {
    const file = copyOfSeeded("good-parquet");
    const before = await stageCounts(file);
    const { code, stdout, stderr } = await runClm(
      ["import", "customers", join(dir, "leads.parquet"), "--db", file],
      {},
    );
    expect(code, stderr).toBe(0);
    expect(stdout).toMatch(/^imported 5 rows into customers \(305 rows now\) from leads\.parquet/);
    expect(stderr).toBe("clm: leads.parquet: ignoring column(s) not in the customers contract: extra_column\n");
    const after = await stageCounts(file);
    expect(after.prospect).toBe(before.prospect! + 5);
    const lead = await inspect(file, (db) =>
      db.query(
        sql`SELECT CAST(created_at AS VARCHAR) AS created, acquisition_channel FROM customers WHERE customer_id = 'lead3'`,
      ),
    );
    expect(lead).toEqual([{ created: "2026-06-10 12:00:00", acquisition_channel: "podcast" }]);
  });

  it("reports a bad CSV's problems by physical line, exits 1 and loads nothing", async () => {
    const file = copyOfSeeded("bad-csv");
    const before = await count(file, "transactions");
    const [{ code, stdout, stderr }, short] = await Promise.all([
      runClm(["import", "transactions", fixture("transactions-bad.csv"), "--db", file], {}),
      // At most --max-errors problems are listed; all are counted.
      runClm(
        [
          "import",
          "transactions",
          fixture("transactions-bad.csv"),
          "--db",
          copyOfSeeded("bad-csv-2"),
          "--max-errors",
          "2",
        ],
        {},
      ),
    ]);
    expect(code).toBe(1);
    expect(stdout).toBe("");
    // Line 3 holds a quoted field running on to line 4; line 9 is empty (no row).
    expect(stderr.split("\n")).toEqual([
      'clm: transactions-bad.csv: line 3: amount "abc" is not a number',
      "clm: transactions-bad.csv: line 5: customer_id is missing",
      `clm: transactions-bad.csv: line 6: occurred_at "2026-02-30" ${NOT_A_TIMESTAMP}`,
      "clm: transactions-bad.csv: line 7: 4 fields, the header has 5",
      "clm: transactions-bad.csv: line 8: 6 fields, the header has 5",
      "clm: transactions-bad.csv: line 10: unexpected text after a closing quote",
      `clm: transactions-bad.csv: line 11: occurred_at "2026-06-08 10:00 Europe/Berlin" ${NOT_A_TIMESTAMP}`,
      'clm: transactions-bad.csv: line 11: amount "nan" is not a number',
      'clm: transactions-bad.csv: line 12: occurred_at "1800-01-01" is out of range (years 1900 to 9999)',
      'clm: transactions-bad.csv: line 12: amount "1e20" is out of range (at most 10^16 in absolute value)',
      "clm: transactions-bad.csv: 10 problems in 8 rows; nothing was imported, transactions is unchanged",
      "",
    ]);
    expect(await count(file, "transactions")).toBe(before);
    expect(short.code).toBe(1);
    expect(short.stderr.trim().split("\n")).toHaveLength(3);
    expect(short.stderr).toMatch(/10 problems in 8 rows \(the first 2 shown\); nothing was imported/);
  });

  it("names a line whose ending differs from the header's instead of DuckDB's reader's state", async () => {
    const file = copyOfSeeded("mixed");
    const csv = join(dir, "mixed.csv");
    // The CDNOW master file's lines end in CR LF; a header written by hand in front of them does not.
    writeFileSync(csv, "customer_id,occurred_at,amount\n00001,1997-01-01,11.77\r\n00002,1997-01-12,12.00\r\n");
    const { code, stderr } = await runClm(["import", "transactions", csv, "--db", file], {});
    expect(code).toBe(1);
    expect(stderr).toContain("clm: mixed.csv: line 2: the line ends in CR LF where the first ends in LF");
    expect(stderr).not.toContain("state machine");
  });

  it("counts lines the same with CRLF line ends and a byte order mark", async () => {
    const file = copyOfSeeded("crlf");
    const csv = join(dir, "crlf.csv");
    writeFileSync(
      csv,
      '\ufeffcustomer_id,occurred_at,amount\r\nc1,2026-06-01,1\r\n"c\r\n2",2026-06-02,2\r\n\r\nc3,2026-06-03,x\r\n',
    );
    const { code, stderr } = await runClm(["import", "transactions", csv, "--db", file], {});
    expect(code).toBe(1);
    expect(stderr).toContain('clm: crlf.csv: line 6: amount "x" is not a number\n');
  });

  it("reports a bad Parquet file's problems by row", async () => {
    const file = copyOfSeeded("bad-parquet");
    const { code, stderr } = await runClm(["import", "transactions", join(dir, "bad.parquet"), "--db", file], {});
    expect(code).toBe(1);
    expect(stderr.split("\n")).toEqual([
      "clm: bad.parquet: row 4: amount is missing",
      `clm: bad.parquet: row 8: occurred_at "yesterday" ${NOT_A_TIMESTAMP}`,
      "clm: bad.parquet: 2 problems in 2 rows; nothing was imported, transactions is unchanged",
      "",
    ]);
  });

  it("takes timestamps with an offset (Z, +02:00, +0200, +02) to their UTC instant", async () => {
    const file = join(dir, "offsets.duckdb");
    const { code, stderr } = await runClm(
      ["import", "transactions", fixture("transactions-offsets.csv"), "--db", file],
      {},
    );
    expect(code, stderr).toBe(0);
    const rows = await inspect(file, (db) =>
      db.query(sql`SELECT customer_id, CAST(occurred_at AS VARCHAR) AS at FROM transactions ORDER BY customer_id`),
    );
    expect(rows).toEqual([
      { customer_id: "z1", at: "2026-01-05 08:00:00" }, // 10:00+02:00, without seconds
      { customer_id: "z2", at: "2026-01-05 10:00:00" }, // T10:00Z
      { customer_id: "z3", at: "2026-01-05 08:00:00" }, // +0200
      { customer_id: "z4", at: "2026-01-05 15:30:00.5" }, // -05:30
      { customer_id: "z5", at: "2026-01-06 00:30:00" }, // 23:30-01: the next day in UTC
      { customer_id: "z6", at: "2026-01-05 10:00:00" }, // z
      { customer_id: "z7", at: "2026-01-05 10:15:00" }, // no offset: UTC
      { customer_id: "z8", at: "2026-01-05 00:00:00" },
    ]);
  });

  it("refuses dates that are not ISO 8601, with the format it takes", async () => {
    const csv = join(dir, "not-iso.csv");
    writeFileSync(
      csv,
      "customer_id,occurred_at,amount\n" +
        ["2026-1-5", "19970101", "05/01/2026", "2026-01-05+02:00", "2026-01-05 9:00", "2026-01-05 10:00 +02:00"]
          .map((at, i) => `c${i},${at},1\n`)
          .join(""),
    );
    const spend = join(dir, "not-iso-spend.csv");
    writeFileSync(spend, "day,channel,amount\n2026-06-01,web,1\n2026-6-2,web,1\n");
    const [transactions, spent] = await Promise.all([
      runClm(["import", "transactions", csv, "--db", join(dir, "not-iso.duckdb")], {}),
      runClm(["import", "spend", spend, "--db", join(dir, "not-iso-spend.duckdb")], {}),
    ]);
    expect(transactions.code).toBe(1);
    expect(transactions.stderr.split("\n")).toEqual([
      `clm: not-iso.csv: line 2: occurred_at "2026-1-5" ${NOT_A_TIMESTAMP}`,
      `clm: not-iso.csv: line 3: occurred_at "19970101" ${NOT_A_TIMESTAMP}`,
      `clm: not-iso.csv: line 4: occurred_at "05/01/2026" ${NOT_A_TIMESTAMP}`,
      `clm: not-iso.csv: line 5: occurred_at "2026-01-05+02:00" ${NOT_A_TIMESTAMP}`,
      `clm: not-iso.csv: line 6: occurred_at "2026-01-05 9:00" ${NOT_A_TIMESTAMP}`,
      `clm: not-iso.csv: line 7: occurred_at "2026-01-05 10:00 +02:00" ${NOT_A_TIMESTAMP}`,
      "clm: not-iso.csv: 6 problems in 6 rows; nothing was imported, transactions is unchanged",
      "",
    ]);
    expect(spent.code).toBe(1);
    expect(spent.stderr).toContain('clm: not-iso-spend.csv: line 3: day "2026-6-2" is not a date (YYYY-MM-DD)\n');
  });

  it("reads contract columns from other headers with --map (CSV and Parquet)", async () => {
    const file = join(dir, "mapped.duckdb");
    const mapped = await runClm(
      [
        "import",
        "transactions",
        fixture("transactions-renamed.csv"),
        "--db",
        file,
        "--map",
        "customer_id=cust",
        "--map",
        "occurred_at=when",
        "--map",
        "amount=VALUE",
      ],
      {},
    );
    expect(mapped.code, mapped.stderr).toBe(0);
    expect(mapped.stdout).toMatch(/^imported 2 rows into transactions \(2 rows now\) from transactions-renamed\.csv/);
    // Channel still matches by its name.
    const rows = await inspect(file, (db) =>
      db.query(
        sql`SELECT customer_id, CAST(occurred_at AS VARCHAR) AS at, CAST(amount AS VARCHAR) AS amount, channel
            FROM transactions ORDER BY customer_id`,
      ),
    );
    expect(rows).toEqual([
      { customer_id: "r1", at: "2026-06-01 10:00:00", amount: "12.50", channel: "web" },
      { customer_id: "r2", at: "2026-06-02 00:00:00", amount: "7.00", channel: "shop" },
    ]);
    // Without the mapping the file lacks the contract's columns.
    const unmapped = await runClmInProcess([
      "import",
      "transactions",
      fixture("transactions-renamed.csv"),
      "--db",
      join(dir, "never-mapped.duckdb"),
    ]);
    expect(unmapped.code).toBe(1);
    expect(unmapped.stderr).toMatch(/line 1: missing required columns customer_id, occurred_at, amount/);

    // A mapped column's own header is then ignored like any other column.
    const leads = await runClm(
      [
        "import",
        "customers",
        join(dir, "leads.parquet"),
        "--db",
        join(dir, "mapped-leads.duckdb"),
        "--map",
        "acquisition_channel=extra_column",
      ],
      {},
    );
    expect(leads.code, leads.stderr).toBe(0);
    expect(leads.stderr).toBe(
      "clm: leads.parquet: ignoring column(s) not in the customers contract: acquisition_channel\n",
    );
    const channels = await inspect(join(dir, "mapped-leads.duckdb"), (db) =>
      db.query(sql`SELECT DISTINCT acquisition_channel FROM customers`),
    );
    expect(channels).toEqual([{ acquisition_channel: "x" }]);

    // Parquet columns are read by position: names with spaces or symbols map like any other.
    const exported = await runClm(
      [
        "import",
        "transactions",
        join(dir, "renamed.parquet"),
        "--db",
        join(dir, "mapped-parquet.duckdb"),
        "--map",
        "customer_id=Kunden Nr",
        "--map",
        "occurred_at=Order Date",
        "--map",
        "amount=Betrag (€)",
      ],
      {},
    );
    expect(exported.code, exported.stderr).toBe(0);
    const amounts = await inspect(join(dir, "mapped-parquet.duckdb"), (db) =>
      db.query(sql`SELECT customer_id, CAST(amount AS VARCHAR) AS amount FROM transactions ORDER BY customer_id`),
    );
    expect(amounts).toEqual([
      { customer_id: "k1", amount: "2.50" },
      { customer_id: "k2", amount: "5.00" },
      { customer_id: "k3", amount: "7.50" },
    ]);
  });

  it("reads a decimal comma with --decimal-comma, fields then separated by ';'", async () => {
    const file = join(dir, "decimal-comma.duckdb");
    const read = await runClm(
      ["import", "transactions", fixture("transactions-decimal-comma.csv"), "--db", file, "--decimal-comma"],
      {},
    );
    expect(read.code, read.stderr).toBe(0);
    expect(read.stdout).toMatch(/^imported 6 rows .* \(\d+ rows\/s\); 1 refund \(negative amounts\)\n$/);
    const amounts = await inspect(file, (db) =>
      db.query(sql`SELECT customer_id, CAST(amount AS VARCHAR) AS amount FROM transactions ORDER BY customer_id`),
    );
    expect(amounts).toEqual([
      { customer_id: "d1", amount: "12.50" },
      { customer_id: "d2", amount: "1234.56" },
      { customer_id: "d3", amount: "-3.50" },
      { customer_id: "d4", amount: "1234.50" },
      { customer_id: "d5", amount: "7.00" },
      { customer_id: "d6", amount: "0.25" },
    ]);

    // With "," between fields, a decimal comma must be quoted; a point is no decimal separator then.
    const commas = join(dir, "decimal-comma-commas.csv");
    writeFileSync(
      commas,
      'customer_id,occurred_at,amount\nq1,2026-06-01,"12,50"\nq2,2026-06-02,12,50\nq3,2026-06-03,12.50\n',
    );
    const [quoted, plain] = await Promise.all([
      runClm(
        ["import", "transactions", commas, "--db", join(dir, "commas.duckdb"), "--decimal-comma", "--delimiter", ","],
        {},
      ),
      // Without --decimal-comma such amounts are not numbers, and the message says why.
      runClm(
        [
          "import",
          "transactions",
          fixture("transactions-decimal-comma.csv"),
          "--db",
          join(dir, "no-decimal-comma.duckdb"),
          "--delimiter",
          ";",
        ],
        {},
      ),
    ]);
    expect(quoted.code).toBe(1);
    expect(quoted.stderr.split("\n")).toEqual([
      'clm: decimal-comma-commas.csv: line 3: 4 fields, the header has 3 (with --decimal-comma and "," between fields, quote numbers such as "12,50")',
      'clm: decimal-comma-commas.csv: line 4: amount "12.50" is not a number (with --decimal-comma: 1234,56 or 1.234,56)',
      "clm: decimal-comma-commas.csv: 2 problems in 2 rows; nothing was imported, transactions is unchanged",
      "",
    ]);
    expect(plain.code).toBe(1);
    expect(plain.stderr).toContain(
      'clm: transactions-decimal-comma.csv: line 2: amount "12,50" is not a number (a decimal comma? see --decimal-comma)\n',
    );
  });

  it("stores amounts at their column's scale, rounded from the digits as written, and counts roundings and refunds", async () => {
    const file = join(dir, "precision.duckdb");
    const precision = fixture("transactions-precision.csv");
    const [checked, loaded] = await Promise.all([
      runClm(["import", "transactions", precision, "--db", join(dir, "precision-dry.duckdb"), "--dry-run"], {}),
      runClm(["import", "transactions", precision, "--db", file], {}),
    ]);
    expect(checked.stdout).toBe(
      "checked 8 rows of transactions-precision.csv: no problems; 2 refunds (negative amounts), " +
        "6 amounts to be rounded to cents (nothing imported: --dry-run)\n",
    );
    expect(loaded.code, loaded.stderr).toBe(0);
    expect(loaded.stdout).toMatch(
      /^imported 8 rows into transactions \(8 rows now\) from transactions-precision\.csv in [\d.]+s \(\d+ rows\/s\); 2 refunds \(negative amounts\), 6 amounts rounded to cents\n$/,
    );
    const stored = (db: string) =>
      inspect(db, async (d) =>
        (
          await d.query<{ amount: string }>(
            sql`SELECT CAST(amount AS VARCHAR) AS amount FROM transactions ORDER BY customer_id`,
          )
        ).map((r) => r.amount),
      );
    // Half away from zero on the decimal digits: through a double 1.005 would be 1.00.
    expect(await stored(file)).toEqual(["1.01", "2.68", "-1.01", "10.10", "3.14", "-20.00", "0.10", "0.00"]);

    // A table of one's own keeps more decimals, and fewer amounts are rounded.
    const wider = join(dir, "precision-wider.duckdb");
    const db = await DuckDBConnector.open(wider, DEFAULT_MAPPING);
    await db.query(
      sql`CREATE TABLE transactions (customer_id VARCHAR, occurred_at TIMESTAMP, amount DECIMAL(18,4), order_id VARCHAR, channel VARCHAR)`,
    );
    await db.close();
    const kept = await runClm(["import", "transactions", precision, "--db", wider], {});
    expect(kept.code, kept.stderr).toBe(0);
    expect(kept.stdout).toMatch(/; 2 refunds \(negative amounts\), 2 amounts rounded to 4 decimals\n$/);
    expect(await stored(wider)).toEqual([
      "1.0050",
      "2.6750",
      "-1.0050",
      "10.1000",
      "3.1416",
      "-20.0000",
      "0.1000",
      "0.0015",
    ]);
  });

  it("replaces a table's rows with --replace; spend files may use another delimiter", async () => {
    const file = copyOfSeeded("replace");
    const replaced = await runClm(
      ["import", "spend", fixture("spend-semicolon.csv"), "--db", file, "--delimiter", ";", "--replace"],
      {},
    );
    expect(replaced.code, replaced.stderr).toBe(0);
    expect(replaced.stdout).toMatch(/^replaced the rows of marketing_spend with 2 rows from spend-semicolon\.csv/);
    expect(await count(file, "marketing_spend")).toBe(2);
    // Without the delimiter the header is one column: a hint, not a list of missing columns.
    const wrong = await runClm(["import", "spend", fixture("spend-semicolon.csv"), "--db", file], {});
    expect(wrong.code).toBe(1);
    expect(wrong.stderr).toMatch(/line 1: the header is one column "day;channel;amount"; .* give --delimiter ';'/);
  });

  it("creates a new database file only when the import succeeds", async () => {
    const fresh = join(dir, "fresh.duckdb");
    const [failed, checked] = await Promise.all([
      runClm(["import", "transactions", fixture("transactions-bad.csv"), "--db", fresh], {}),
      runClm(
        ["import", "transactions", fixture("transactions-good.csv"), "--db", join(dir, "dry.duckdb"), "--dry-run"],
        {},
      ),
    ]);
    expect(failed.code).toBe(1);
    expect(checked.stdout).toBe("checked 3 rows of transactions-good.csv: no problems (nothing imported: --dry-run)\n");
    expect(existsSync(fresh)).toBe(false);
    expect(existsSync(join(dir, "dry.duckdb"))).toBe(false);
    // CLM_DUCKDB_PATH stands in for --db.
    const made = await runClm(["import", "transactions", fixture("transactions-good.csv")], { CLM_DUCKDB_PATH: fresh });
    expect(made.code, made.stderr).toBe(0);
    expect(await count(fresh, "transactions")).toBe(3);
  });

  it("refuses bad usage with exit code 2 and failures with 1 before opening anything, one line each", async () => {
    const db = join(dir, "never.duckdb");
    const header = join(dir, "no-amount.csv");
    writeFileSync(header, "customer_id,occurred_at\nc1,2026-06-01\n");
    const good = fixture("transactions-good.csv");
    const cases: [string[], number, RegExp][] = [
      [["import", "transactions", good], 2, /give --db FILE\.duckdb or set CLM_DUCKDB_PATH/],
      [["import", "orders", good, "--db", db], 2, /argument 'kind'.*transactions, customers, events, spend/],
      [["import", "transactions", join(dir, "x.json"), "--db", db], 2, /give --format csv\|parquet/],
      [["import", "transactions", good, "--db", db, "--max-errors", "0"], 2, /--max-errors/],
      [["import", "transactions", good, "--db", db, "--delimiter", "ab"], 2, /--delimiter.*one ASCII character/],
      [["import", "transactions", join(dir, "missing.csv"), "--db", db], 1, /cannot read .*missing\.csv: no such file/],
      [["import", "transactions", header, "--db", db], 1, /no-amount\.csv: line 1: missing required column amount/],
      [["import", "transactions", good, "--db", db, "--map", "cust"], 2, /--map.*must be column=header/],
      [
        ["import", "transactions", good, "--db", db, "--map", "customer=cust"],
        2,
        /--map customer=cust: transactions has no column customer \(its columns: customer_id, occurred_at, amount/,
      ],
      [
        ["import", "transactions", good, "--db", db, "--map", "amount=a", "--map", "amount=b"],
        2,
        /--map: amount is given twice/,
      ],
      [
        ["import", "transactions", good, "--db", db, "--map", "amount=value"],
        1,
        /transactions-good\.csv: line 1: no column "value" for --map amount=value \(the file's columns: customer_id, occurred_at, amount, order_id, channel\)/,
      ],
      [
        ["import", "transactions", join(dir, "leads.parquet"), "--db", db, "--decimal-comma"],
        2,
        /--decimal-comma .* for CSV files/,
      ],
      [
        // With --decimal-comma fields are separated by ";" unless --delimiter says otherwise.
        ["import", "transactions", good, "--db", db, "--decimal-comma"],
        1,
        /line 1: the header is one column "customer_id,occurred_at,amount,order_id,…"; are the fields separated by ","\? give --delimiter ','/,
      ],
    ];
    // In this process (CLM_DUCKDB_PATH unset here): nothing is opened on these paths.
    expect(process.env.CLM_DUCKDB_PATH).toBeUndefined();
    for (const [args, exit, pattern] of cases) {
      const result = await runClmInProcess(args);
      expect(result.code, args.join(" ")).toBe(exit);
      expect(result.stderr).toMatch(pattern);
      expect(result.stdout).toBe("");
    }
    expect(existsSync(db)).toBe(false);
  });
});

describe("the CSV record scan behind the line numbers", () => {
  function scan(text: string, chunk = 3): CsvRecord[] {
    const records: CsvRecord[] = [];
    const scanner = new CsvScanner(",".charCodeAt(0), (r) => void records.push(r), 1);
    const bytes = Buffer.from(text);
    // Small chunks: a quote pair or a CRLF split across two reads must not matter.
    for (let i = 0; i < bytes.length; i += chunk) scanner.feed(bytes.subarray(i, i + chunk));
    scanner.end();
    return records;
  }

  it("gives each record its first physical line, skipping empty lines", () => {
    const records = scan('a,b\n"x\r\ny",1\n\n\nz,"q""uote"\nlast,row');
    expect(records.map((r) => [r.line, r.fields, r.problem])).toEqual([
      [1, 2, undefined],
      [2, 2, undefined],
      [6, 2, undefined],
      [7, 2, undefined],
    ]);
    expect(records[0]!.values).toEqual(["a", "b"]);
  });

  it("names the first line whose ending differs from the first line's (DuckDB's reader gives up on those)", () => {
    const problems = (text: string) => scan(text).map((r) => [r.line, r.problem ?? null]);
    const mixed = (ending: string, first: string) =>
      `the line ends in ${ending} where the first ends in ${first}: the file mixes line endings (convert it, e.g. tr -d '\\r' < in.csv > out.csv)`;
    expect(problems("h\na\r\nb\r\nc\n")).toEqual([
      [1, null],
      [2, mixed("CR LF", "LF")],
      [3, null],
      [4, null],
    ]);
    expect(problems("h\r\n\na\n")).toEqual([
      [1, null],
      [3, mixed("LF", "CR LF")],
    ]);
    // A CR LF inside quotes is part of the value; the records end alike.
    expect(problems('h\n"x\r\ny"\nz\n').every(([, p]) => p === null)).toBe(true);
  });

  it("names a quote left open and text after a closing quote", () => {
    expect(scan('h\n"open\nnever closed').map((r) => [r.line, r.problem])).toEqual([
      [1, undefined],
      [2, "a quoted field is not closed before the end of the file"],
    ]);
    expect(scan('h\n"a"b,c\n').map((r) => r.problem)).toEqual([undefined, "unexpected text after a closing quote"]);
    // A quote inside an unquoted field is a plain character.
    expect(scan('h\nab"c,d\n').map((r) => [r.fields, r.problem])).toEqual([
      [1, undefined],
      [2, undefined],
    ]);
  });

  it("reads the header's values, unquoted, without a byte order mark", () => {
    expect(scan('\ufeff"customer_id", "amount",x""y\n1,2,3', 1)[0]!.values).toEqual([
      "customer_id",
      ' "amount"',
      'x""y',
    ]);
  });
});

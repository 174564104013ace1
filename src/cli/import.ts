// `clm import <kind> <file>`: a CSV or Parquet file of one contract table loaded into the embedded
// warehouse (a DuckDB file), all or nothing.
//
// 1. The file is read by DuckDB (read_csv with every column as text, or read_parquet) into a temporary
//    table on one connection, each row with its number: the data row's position in a CSV (DuckDB keeps
//    the file's order), `file_row_number` + 1 in a Parquet file.
// 2. Every value is checked in SQL against the contract (src/sql/contract.ts): required values
//    present, numbers finite and within DECIMAL(18,2), timestamps and dates ISO 8601 in 1900–9999.
//    Columns are the file's of the same name, or the ones --map names.
// 3. With any problem nothing is loaded. A CSV's problems are reported by physical line — the line of
//    the file (1 = the header) on which the bad row starts, counting line breaks inside quoted fields —
//    found by a scan of the file's record boundaries (src/cli/csv-scan.ts), which also names
//    structurally broken rows (wrong number of fields, a quote not closed).
// 4. Otherwise one transaction creates the table if it is missing, empties it with --replace, and
//    inserts the rows: a failure rolls everything back, and the table is as it was. Numbers are
//    stored at the scale of their column (cents in the contract's DECIMAL(18,2)); the summary says
//    how many were rounded, and how many transactions are refunds (negative amounts).
import { existsSync, rmSync, statSync } from "node:fs";
import { basename } from "node:path";
import { columnSpec, columnsOf, type ColumnSpec, type LogicalTable } from "../sql/contract.ts";
import { DuckDBConnector, type DuckDBSession } from "../connectors/duckdb.ts";
import { ident, integer, join, sql, type Sql } from "../sql/sql.ts";
import { loadConfigFile } from "../config/file.ts";
import { openBytes, readCsvHeader, scanCsv } from "./csv-scan.ts";
import { CliError, firstLine, UsageError } from "./exit.ts";
import { IMPORT_TABLES, type HeaderMapping, type ImportKind } from "./options.ts";
import { formatCount, progressWanted, startProgress, type Progress } from "./progress.ts";

export type ImportFormat = "csv" | "parquet";

export interface ImportOptions {
  /** The DuckDB file; default CLM_DUCKDB_PATH. */
  readonly db?: string;
  readonly replace?: boolean;
  readonly format?: ImportFormat;
  /** The CSV field separator; default "," (";" with decimalComma). */
  readonly delimiter?: string;
  /** Contract columns read from headers of other names. */
  readonly map?: readonly HeaderMapping[];
  /** CSV numbers written 1.234,56. */
  readonly decimalComma?: boolean;
  /** Problems listed at most (all are counted). */
  readonly maxErrors: number;
  /** Check the file only; load nothing. */
  readonly dryRun?: boolean;
  readonly quiet?: boolean;
}

/** The format by the file's name: .csv, .tsv, .txt (also gzipped) or .parquet. */
export function formatOf(file: string): ImportFormat | undefined {
  const name = file.toLowerCase().replace(/\.gz$/, "");
  if (/\.(csv|tsv|txt)$/.test(name)) return "csv";
  if (/\.(parquet|pq)$/.test(name)) return "parquet";
  return undefined;
}

// The staging table has, per contract column, its text `c` (trimmed when the column is typed; NULL when
// the file lacks the column) and, for typed columns, the value it parses to as `t_c` (NULL when it
// does not parse); a number bound for a DECIMAL column also has the value that column stores as `d_c`.
// Values are parsed once, when the file is read; checks and the load read the table.
const text = (column: string): Sql => ident(column);
const typed = (column: string): Sql => ident(`t_${column}`);
const isTyped = (spec: ColumnSpec): boolean => spec.type !== "text";
/** A number as its DECIMAL column stores it (see ValueRules.decimals). */
const stored = (column: string): Sql => ident(`d_${column}`);

/** A DECIMAL(precision, scale) column. */
interface Decimal {
  readonly precision: number;
  readonly scale: number;
}

/** How the file's values are read and stored beyond what the contract's types say. */
interface ValueRules {
  /** Numbers are written 1.234,56. */
  readonly decimalComma: boolean;
  /**
   * Per numeric column, the DECIMAL type of its table column (integers as DECIMAL(18,0)); null for a
   * floating-point one, which takes the number as a double reads it. Numbers bound for a DECIMAL are
   * cast to it from their text, once, when staged: rounded half away from zero from the digits as
   * written (1.005 to 1.01, where a double would give 1.00), and NULL when they do not fit.
   */
  readonly decimals: ReadonlyMap<string, Decimal | null>;
}

/** The contract's numbers as DuckDBConnector creates them: 16 digits before the point, cents. */
const CONTRACT_DECIMAL: Decimal = { precision: 18, scale: 2 };

/** What the messages state as the accepted format: what the pattern in parsedSql takes. */
const TIMESTAMP_FORMAT = "ISO 8601: YYYY-MM-DD[(T| )HH:MM[:SS[.fraction]][Z|±HH:MM|±HHMM|±HH]]";

/** How a file's column comes into the staging table's text column (`source`: the file's column). */
function stagedText(source: Sql, spec: ColumnSpec): Sql {
  return isTyped(spec) ? sql`trim(${source})` : source;
}

/** A number's text as DuckDB reads numbers: with a decimal comma, 1.234,56 (or 1 234,56) as 1234.56. */
function numberText(v: Sql, rules: ValueRules): Sql {
  if (!rules.decimalComma) return v;
  // Thousands separators only in groups of three: 12.50 (a decimal point) is refused, not read as 1250.
  return sql`CASE WHEN regexp_full_match(${v},
      '^[+-]?([0-9]+|[0-9]{1,3}([.][0-9]{3})+|[0-9]{1,3}([ \u00a0\u202f][0-9]{3})+)?(,[0-9]+)?$')
    THEN replace(regexp_replace(${v}, '[. \u00a0\u202f]', '', 'g'), ',', '.') END`;
}

/** The value a (trimmed) text parses to, or NULL. */
function parsedSql(column: string, spec: ColumnSpec, rules: ValueRules): Sql {
  const v = text(column);
  switch (spec.type) {
    case "text":
      return v;
    case "numeric":
      return sql`TRY_CAST(${numberText(v, rules)} AS DOUBLE)`;
    case "timestamp":
      // The pattern decides what is ISO 8601: DuckDB's casts take more (2026-1-5) and less. Text without
      // an offset is UTC (the contract's, and the session's time zone, see DuckDBConnector.open) and
      // takes the fast TIMESTAMP cast, which would ignore an offset; text with one goes to its UTC
      // instant by the TIMESTAMPTZ cast, which needs seconds before the offset and a capital Z. Named
      // zones never reach it: DuckDB 1.5 carries a zone named in one value over to the next values of
      // the batch. (CASE evaluates a branch only on the rows no earlier branch took.)
      return sql`CASE
  WHEN NOT regexp_full_match(${v},
      '^[0-9]{4}-[0-9]{2}-[0-9]{2}([T ][0-9]{2}:[0-9]{2}(:[0-9]{2}([.][0-9]{1,9})?)?([Zz]|[+-]([01][0-9]|2[0-3])(:?[0-5][0-9])?)?)?$')
    THEN NULL
  WHEN NOT (contains(${v}, '+') OR contains(${v}, 'Z') OR contains(${v}, 'z') OR contains(substr(${v}, 11), '-'))
    THEN TRY_CAST(${v} AS TIMESTAMP)
  ELSE CAST(TRY_CAST(upper(CASE WHEN substr(${v}, 17, 1) = ':' THEN ${v} ELSE left(${v}, 16) || ':00' || substr(${v}, 17) END)
    AS TIMESTAMPTZ) AS TIMESTAMP) END`;
    case "date":
      // The pattern first: DuckDB's DATE cast also takes a time after the date (and drops it), and 2026-1-5.
      return sql`CASE WHEN regexp_full_match(${v}, '^[0-9]{4}-[0-9]{2}-[0-9]{2}$') THEN TRY_CAST(${v} AS DATE) END`;
  }
}

/** A staged number as its column stores it. */
function storedNumberSql(column: string, rules: ValueRules): Sql {
  return rules.decimals.get(column) ? stored(column) : typed(column);
}

/**
 * Whether a staged number's digits go beyond what its DECIMAL column keeps (not for a floating-point
 * one): exactly, on the text, as a double cannot tell 0.1000000000000000001 from 0.1.
 */
function roundedSql(column: string, rules: ValueRules): Sql | undefined {
  const decimal = rules.decimals.get(column);
  if (!decimal) return undefined;
  const n = numberText(text(column), rules);
  // A digit other than 0 after the kept ones; with an exponent (rare), a comparison at a scale beyond
  // any column's (DECIMAL(38,22) holds 16 digits before the point; its cast is slow, hence only here).
  return sql`CASE WHEN contains(lower(${n}), 'e')
    THEN TRY_CAST(${n} AS DECIMAL(38, 22)) <> ${stored(column)}
    ELSE rtrim(substr(split_part(${n}, '.', 2), ${integer(decimal.scale + 1)}), '0') <> '' END`;
}

/** The problem of a required value that is absent or blank. */
const MISSING = "is missing";

/** The problem with a staged value as SQL: a phrase ("is not a number"), or NULL when it is fine. */
function problemSql(column: string, spec: ColumnSpec, rules: ValueRules): Sql {
  const missing = spec.nullable ? sql`NULL` : sql`${MISSING}`;
  const v = text(column);
  const t = typed(column);
  const outOfYears = sql`WHEN NOT isfinite(${t}) OR year(${t}) NOT BETWEEN 1900 AND 9999 THEN ${"is out of range (years 1900 to 9999)"}`;
  switch (spec.type) {
    case "text":
      return sql`CASE WHEN ${v} IS NULL OR trim(${v}) = '' THEN ${missing} END`;
    case "numeric": {
      // The contract's amounts are DECIMAL(18,2) in DuckDB: below 10^16 in absolute value once rounded
      // (the cast to the column's DECIMAL says exactly); a DECIMAL column of another table may hold less.
      const decimal = rules.decimals.get(column);
      const digits = Math.min(16, decimal ? decimal.precision - decimal.scale : 16);
      const outOfRange = `is out of range (at most 10^${digits} in absolute value)`;
      const unfit = decimal ? sql`${stored(column)} IS NULL` : sql`abs(${t}) >= 1e16`;
      const notANumber = rules.decimalComma
        ? sql`${"is not a number (with --decimal-comma: 1234,56 or 1.234,56)"}`
        : sql`CASE WHEN regexp_full_match(${v}, '^[+-]?[0-9.]*[0-9],[0-9]+$')
      THEN ${"is not a number (a decimal comma? see --decimal-comma)"} ELSE ${"is not a number"} END`;
      return sql`CASE WHEN ${v} IS NULL OR ${v} = '' THEN ${missing}
  WHEN ${t} IS NULL OR NOT isfinite(${t}) THEN ${notANumber}
  WHEN ${unfit} THEN ${outOfRange} END`;
    }
    case "timestamp":
      return sql`CASE WHEN ${v} IS NULL OR ${v} = '' THEN ${missing}
  WHEN ${t} IS NULL THEN ${`is not a timestamp (${TIMESTAMP_FORMAT})`}
  ${outOfYears} END`;
    case "date":
      return sql`CASE WHEN ${v} IS NULL OR ${v} = '' THEN ${missing}
  WHEN ${t} IS NULL THEN ${"is not a date (YYYY-MM-DD)"}
  ${outOfYears} END`;
  }
}

/** A checked value as the table stores it. */
function valueSql(column: string, spec: ColumnSpec, rules: ValueRules): Sql {
  if (spec.type === "numeric") return storedNumberSql(column, rules);
  if (isTyped(spec)) return typed(column);
  return spec.nullable ? sql`CASE WHEN trim(${text(column)}) = '' THEN NULL ELSE ${text(column)} END` : text(column);
}

/** The staging table from a source that reads rn and every contract column as (trimmed) text. */
function stagingSql(table: LogicalTable, source: Sql, rules: ValueRules): Sql {
  const columns = columnsOf(table) as string[];
  const parsed = columns
    .filter((c) => isTyped(columnSpec(table, c)))
    .map((c) => sql`${parsedSql(c, columnSpec(table, c), rules)} AS ${typed(c)}`);
  const decimals = columns.flatMap((c) => {
    const decimal = rules.decimals.get(c);
    if (!decimal) return [];
    const type = sql`DECIMAL(${integer(decimal.precision)}, ${integer(decimal.scale)})`;
    return [sql`TRY_CAST(${numberText(text(c), rules)} AS ${type}) AS ${stored(c)}`];
  });
  return sql`CREATE TEMP TABLE ${ident(STAGING)} AS
SELECT rn, ${join([...columns.map(text), ...parsed, ...decimals])} FROM (${source}) AS f`;
}

/** One reported problem: where (a CSV line or a Parquet row) and what. */
interface Problem {
  readonly at: number;
  readonly message: string;
}

const STAGING = "clm_import";

/** A value as shown in a message: quoted, escaped, at most 40 characters. */
function shown(value: unknown): string {
  const text = String(value);
  return JSON.stringify([...text].length > 40 ? `${[...text].slice(0, 40).join("")}…` : text);
}

/** How to read a file into the staging table: rn, then every contract column as text (NULL when absent). */
interface Source {
  readonly read: Sql;
  /** The file's columns that are not in the contract (ignored). */
  readonly ignored: readonly string[];
}

/** A file's column name as it is matched (case-insensitively, without surrounding spaces). */
const nameKey = (name: string): string => name.trim().toLowerCase();

/**
 * Where in the file each contract column is: the column --map names for it, else the column of its
 * own name; a column that --map takes is not also matched by its name. Problems are for line/row 1.
 */
function matchColumns(
  table: LogicalTable,
  names: readonly string[],
  where: string,
  map: readonly HeaderMapping[],
): { at: Map<string, number>; ignored: string[] } {
  const wanted = columnsOf(table) as string[];
  const at = new Map<string, number>();
  const problems: string[] = [];
  for (const { column, header } of map) {
    const found = names.flatMap((name, i) => (nameKey(name) === nameKey(header) ? [i] : []));
    if (found.length === 0) {
      problems.push(
        `${where}: no column ${shown(header)} for --map ${column}=${header} (the file's columns: ${names.map((n) => n.trim()).join(", ")})`,
      );
    } else if (found.length > 1) problems.push(`${where}: column ${shown(header)} appears twice`);
    else at.set(column, found[0]!);
  }
  const mapped = new Set(map.flatMap((m) => [m.column, nameKey(m.header)]));
  names.forEach((name, i) => {
    const key = nameKey(name);
    if (!wanted.includes(key) || mapped.has(key)) return;
    if (at.has(key)) problems.push(`${where}: column ${key} appears twice`);
    else at.set(key, i);
  });
  const missing = wanted.filter(
    (c) => !at.has(c) && !columnSpec(table, c).nullable && !map.some((m) => m.column === c),
  );
  if (missing.length > 0) {
    problems.push(
      `${where}: missing required column${missing.length > 1 ? "s" : ""} ${missing.join(", ")} ` +
        `(the ${table} contract: ${wanted.map((c) => `${c}${columnSpec(table, c).nullable ? "?" : ""}`).join(", ")}; ? = optional)`,
    );
  }
  if (problems.length > 0) throw new CliError(problems);
  const used = new Set(at.values());
  return { at, ignored: names.filter((_, i) => !used.has(i)) };
}

async function csvSource(
  table: LogicalTable,
  file: string,
  delimiter: string,
  map: readonly HeaderMapping[],
): Promise<Source & { fields: number }> {
  const header = await readCsvHeader(file, delimiter);
  if (!header) throw new CliError(`${basename(file)} is empty: its first line must name the columns`);
  const names = header.values ?? [];
  if (header.problem) throw new CliError(`${basename(file)}: line ${header.line}: ${header.problem}`);
  // A comma too: --decimal-comma makes ";" the default.
  const guess = names.length === 1 ? [";", "\t", "|", ","].find((d) => names[0]!.includes(d)) : undefined;
  if (guess) {
    throw new CliError(
      `${basename(file)}: line ${header.line}: the header is one column ${shown(names[0])}; ` +
        `are the fields separated by ${guess === "\t" ? "tabs" : `"${guess}"`}? give --delimiter ${guess === "\t" ? "tab" : `'${guess}'`}`,
    );
  }
  const { at, ignored } = matchColumns(table, names, `${basename(file)}: line ${header.line}`, map);
  const columns = columnsOf(table) as string[];
  const select = columns.map((c) =>
    at.has(c)
      ? sql`${stagedText(ident(`c${at.get(c)}`), columnSpec(table, c))} AS ${ident(c)}`
      : sql`CAST(NULL AS VARCHAR) AS ${ident(c)}`,
  );
  const declared = join(names.map((_, i) => sql`'c${integer(i)}': 'VARCHAR'`));
  return {
    fields: names.length,
    ignored,
    read: sql`SELECT row_number() OVER () AS rn, ${join(select)}
FROM read_csv(${file}, auto_detect = false, header = true, delim = ${delimiter}, quote = '"', escape = '"',
  columns = {${declared}}, store_rejects = true,
  rejects_table = 'clm_import_rejects', rejects_scan = 'clm_import_scans')`,
  };
}

async function parquetSource(
  table: LogicalTable,
  file: string,
  connector: DuckDBConnector,
  map: readonly HeaderMapping[],
): Promise<Source> {
  let names: string[];
  try {
    const described = await connector.query<{ column_name: string }>(sql`DESCRIBE SELECT * FROM read_parquet(${file})`);
    names = described.map((d) => d.column_name);
  } catch (error) {
    throw new CliError(`${basename(file)}: cannot read it as Parquet: ${firstLine(error)}`);
  }
  const { at, ignored } = matchColumns(table, names, basename(file), map);
  const columns = columnsOf(table) as string[];
  // Columns by position (c0, c1, …), as the CSV's: a file's names ("Order Date") need not be identifiers.
  const select = columns.map((c) =>
    at.has(c)
      ? sql`${stagedText(sql`CAST(${ident(`c${at.get(c)}`)} AS VARCHAR)`, columnSpec(table, c))} AS ${ident(c)}`
      : sql`CAST(NULL AS VARCHAR) AS ${ident(c)}`,
  );
  const positions = join(names.map((_, i) => ident(`c${i}`)));
  return {
    ignored,
    read: sql`SELECT file_row_number + 1 AS rn, ${join(select)}
FROM read_parquet(${file}, file_row_number = true) AS f(${positions})`,
  };
}

/** Runs one statement while the bar follows DuckDB's progress (a share of the statement's work). */
async function withProgress<T>(
  session: DuckDBSession,
  progress: Progress,
  work: Promise<T>,
  toRows: (percentage: number) => number | undefined,
  phase: string,
  total: number | undefined,
): Promise<T> {
  progress.phase(phase, { total });
  const timer = setInterval(() => {
    const percentage = session.progress();
    if (percentage < 0) return;
    const rows = toRows(percentage);
    if (rows === undefined) progress.phase(`${phase} ${Math.floor(percentage)}%`);
    else progress.update(rows);
  }, 100);
  try {
    return await work;
  } finally {
    clearInterval(timer);
  }
}

/** Rows in a CSV file, estimated from the size and the lines of its first megabyte (null when compressed). */
async function estimateCsvRows(file: string): Promise<number | undefined> {
  if (file.toLowerCase().endsWith(".gz")) return undefined;
  const size = statSync(file).size;
  let bytes = 0;
  let lines = 0;
  for await (const chunk of openBytes(file, { end: 1 << 20 })) {
    const buffer = chunk as Buffer;
    bytes += buffer.length;
    for (let i = buffer.indexOf(10); i >= 0; i = buffer.indexOf(10, i + 1)) lines++;
  }
  if (lines <= 1 || bytes === 0) return undefined;
  return Math.max(0, Math.round((size / bytes) * lines) - 1);
}

/** Rows in a Parquet file, from its metadata. */
async function parquetRows(file: string, connector: DuckDBConnector): Promise<number | undefined> {
  const rows = await connector
    .query<{ n: number }>(sql`SELECT SUM(num_rows) AS n FROM parquet_file_metadata(${file})`)
    .catch(() => []);
  return rows[0]?.n === undefined || rows[0]?.n === null ? undefined : Number(rows[0].n);
}

/** Checks every staged value; the first `limit` problems by row, and how many there are. */
async function checkValues(
  session: DuckDBSession,
  table: LogicalTable,
  rules: ValueRules,
  limit: number,
): Promise<{ problems: number; rows: number; first: { rn: number; message: string }[] }> {
  const columns = columnsOf(table) as string[];
  const checks = columns.map((c) => problemSql(c, columnSpec(table, c), rules));
  const [totals] = await session.query<Record<string, number>>(
    sql`SELECT ${join(checks.map((check, i) => sql`COUNT(${check}) AS ${ident(`p${i}`)}`))},
  COUNT(*) FILTER (WHERE ${join(
    checks.map((check) => sql`${check} IS NOT NULL`),
    " OR ",
  )}) AS bad_rows
FROM ${ident(STAGING)}`,
  );
  const problems = columns.reduce((n, _, i) => n + Number(totals![`p${i}`] ?? 0), 0);
  if (problems === 0) return { problems: 0, rows: 0, first: [] };
  const each = columns.map(
    (c, i) =>
      sql`SELECT rn, ${integer(i)} AS col, ${checks[i]!} AS problem, ${text(c)} AS value FROM ${ident(STAGING)}`,
  );
  const found = await session.query<{ rn: number; col: number; problem: string; value: string | null }>(
    sql`SELECT rn, col, problem, value FROM (${join(each, " UNION ALL ")}) AS p
WHERE problem IS NOT NULL ORDER BY rn, col LIMIT ${integer(limit)}`,
  );
  return {
    problems,
    rows: Number(totals!.bad_rows ?? 0),
    first: found.map((f) => {
      const column = columns[Number(f.col)]!;
      const message = f.problem === MISSING ? `${column} ${MISSING}` : `${column} ${shown(f.value)} ${f.problem}`;
      return { rn: Number(f.rn), message };
    }),
  };
}

/** What the summary tells of checked values besides their number. */
interface ValueCounts {
  /** Transactions with a negative amount (stored as they are). */
  readonly refunds: number;
  /** Per numeric column whose DECIMAL rounds: the values it changes. */
  readonly rounded: readonly { column: string; scale: number; count: number }[];
}

const NO_COUNTS: ValueCounts = { refunds: 0, rounded: [] };

async function countValues(session: DuckDBSession, table: LogicalTable, rules: ValueRules): Promise<ValueCounts> {
  const rounding = (columnsOf(table) as string[]).flatMap((c) => {
    const rounded = roundedSql(c, rules);
    return rounded ? [{ column: c, rounded, scale: rules.decimals.get(c)!.scale }] : [];
  });
  const refunds = table === "transactions";
  if (rounding.length === 0 && !refunds) return NO_COUNTS;
  const counts = [
    ...rounding.map((r, i) => sql`COUNT(*) FILTER (WHERE ${r.rounded}) AS ${ident(`r${i}`)}`),
    refunds ? sql`COUNT(*) FILTER (WHERE ${storedNumberSql("amount", rules)} < 0) AS refunds` : sql`0 AS refunds`,
  ];
  const [row] = await session.query<Record<string, number>>(sql`SELECT ${join(counts)} FROM ${ident(STAGING)}`);
  return {
    refunds: Number(row!.refunds),
    rounded: rounding
      .map((r, i) => ({ column: r.column, scale: r.scale, count: Number(row![`r${i}`]) }))
      .filter((r) => r.count > 0),
  };
}

/** The counts as the summary's words, e.g. "2 refunds (negative amounts), 1 amount rounded to cents". */
function describeCounts(counts: ValueCounts, dryRun: boolean): string {
  const plural = (n: number, word: string) => `${n} ${word}${n === 1 ? "" : "s"}`;
  const to = (column: string, scale: number) =>
    scale === 2 && column === "amount" ? "cents" : scale === 0 ? "whole numbers" : `${scale} decimals`;
  const notes = [
    ...(counts.refunds > 0 ? [`${plural(counts.refunds, "refund")} (negative amounts)`] : []),
    ...counts.rounded.map(
      (r) => `${plural(r.count, r.column)} ${dryRun ? "to be rounded" : "rounded"} to ${to(r.column, r.scale)}`,
    ),
  ];
  return notes.length > 0 ? `; ${notes.join(", ")}` : "";
}

/** The DECIMAL type of each numeric column of the destination (ValueRules.decimals); the contract's when it is new. */
async function numericDecimals(
  connector: DuckDBConnector,
  table: LogicalTable,
  present: boolean,
): Promise<Map<string, Decimal | null>> {
  type ColumnType = { data_type: string; numeric_precision: number; numeric_scale: number };
  const mapped = connector.mapping.tables[table];
  const types = new Map<string, ColumnType>();
  if (present) {
    const rows = await connector.query<ColumnType & { column_name: string }>(
      sql`SELECT column_name, data_type, numeric_precision, numeric_scale FROM duckdb_columns()
WHERE database_name = current_database() AND schema_name = ${connector.mapping.schema ?? "main"}
  AND lower(table_name) = lower(${mapped.table})`,
    );
    for (const row of rows) types.set(row.column_name.toLowerCase(), row);
  }
  const numeric = (columnsOf(table) as string[]).filter((c) => columnSpec(table, c).type === "numeric");
  return new Map(
    numeric.map((c): [string, Decimal | null] => {
      const type = types.get((mapped.columns as Record<string, string>)[c]!.toLowerCase());
      if (!type) return [c, CONTRACT_DECIMAL];
      if (/^DECIMAL/i.test(type.data_type)) {
        return [c, { precision: Number(type.numeric_precision), scale: Number(type.numeric_scale) }];
      }
      // Whole numbers of up to 18 digits, more than the contract's 16 before the point.
      if (/^U?(TINY|SMALL|BIG|HUGE)?INT(EGER)?$/i.test(type.data_type)) return [c, { precision: 18, scale: 0 }];
      return [c, null];
    }),
  );
}

/**
 * The lines of a CSV's problems: structural ones found by the scan, and the value problems of the
 * staged rows `rn`, which are the file's well-formed data records in order.
 */
async function locateCsvProblems(
  file: string,
  delimiter: string,
  fields: number,
  staged: number,
  values: { rn: number; message: string }[],
  limit: number,
  /** Said of a record with more fields than the header. */
  extraFieldsHint = "",
): Promise<{ problems: Problem[]; structural: number; aligned: boolean }> {
  const wanted = new Map<number, string[]>();
  for (const v of values) wanted.set(v.rn, [...(wanted.get(v.rn) ?? []), v.message]);
  const located: Problem[] = [];
  const structural: Problem[] = [];
  let structuralCount = 0;
  let good = 0;
  let header = true;
  await scanCsv(file, delimiter, (record) => {
    if (header) {
      header = false;
      return;
    }
    const problem =
      record.problem ??
      (record.fields !== fields
        ? `${record.fields} fields, the header has ${fields}${record.fields > fields ? extraFieldsHint : ""}`
        : undefined);
    if (problem) {
      structuralCount++;
      if (structural.length < limit) structural.push({ at: record.line, message: problem });
      return;
    }
    good++;
    for (const message of wanted.get(good) ?? []) located.push({ at: record.line, message });
  });
  const aligned = good === staged;
  return { problems: aligned ? [...structural, ...located] : structural, structural: structuralCount, aligned };
}

/** What the staged rows came to: their number, and the problems found (none: loadable). */
interface Outcome {
  readonly staged: number;
  /** What the summary says of the values, when they are loadable. */
  readonly counts: ValueCounts;
  /** The problems to list, each at its line (CSV) or row (Parquet); NaN: no place known. */
  readonly problems: readonly Problem[];
  /** All problems, and the rows that have one (0 when unknown). */
  readonly count: number;
  readonly rows: number;
}

const clean = (staged: number, counts: ValueCounts): Outcome => ({ staged, counts, problems: [], count: 0, rows: 0 });

/** The file's problems as the failure of the command: each on its line, then how many, and that nothing changed. */
function problemsError(name: string, table: LogicalTable, csv: boolean, outcome: Outcome, limit: number): CliError {
  const where = (p: Problem) => (Number.isNaN(p.at) ? "" : `${csv ? "line" : "row"} ${p.at}: `);
  const listed = [...outcome.problems]
    .sort((a, b) => (Number.isNaN(a.at) || Number.isNaN(b.at) ? 0 : a.at - b.at))
    .slice(0, limit);
  const plural = (n: number, word: string) => `${formatCount(n)} ${word}${n === 1 ? "" : "s"}`;
  return new CliError([
    ...listed.map((p) => `${name}: ${where(p)}${p.message}`),
    `${name}: ${plural(outcome.count, "problem")}${outcome.rows > 0 ? ` in ${plural(outcome.rows, "row")}` : ""}` +
      (outcome.count > listed.length ? ` (the first ${listed.length} shown)` : "") +
      `; nothing was imported, ${table} is unchanged`,
  ]);
}

/** The import's settings from its options and the environment; usage errors before anything is opened. */
function target(kind: ImportKind, file: string, options: ImportOptions) {
  const db = options.db ?? (process.env.CLM_DUCKDB_PATH || undefined);
  if (!db) {
    throw new UsageError(
      "give --db FILE.duckdb or set CLM_DUCKDB_PATH: import loads into a DuckDB database file",
      "import",
    );
  }
  const format = options.format ?? formatOf(file);
  if (!format)
    throw new UsageError(`cannot tell the format of ${file} by its name: give --format csv|parquet`, "import");
  if (options.decimalComma && format !== "csv") {
    throw new UsageError("--decimal-comma reads numbers written as text: it is for CSV files", "import");
  }
  const table = IMPORT_TABLES[kind];
  const columns = columnsOf(table) as string[];
  const map = options.map ?? [];
  for (const [i, { column, header }] of map.entries()) {
    if (!columns.includes(column)) {
      throw new UsageError(
        `--map ${column}=${header}: ${table} has no column ${column} (its columns: ${columns.join(", ")})`,
        "import",
      );
    }
    if (map.findIndex((m) => m.column === column) !== i) {
      throw new UsageError(`--map: ${column} is given twice`, "import");
    }
  }
  try {
    if (!statSync(file).isFile()) throw new Error("not a file");
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    throw new CliError(`cannot read ${file}: ${code === "ENOENT" ? "no such file" : firstLine(error)}`);
  }
  // With a decimal comma, fields are usually separated by ";" (as spreadsheets write such CSV files).
  const delimiter = options.delimiter ?? (options.decimalComma ? ";" : ",");
  return { db, format, table, map, delimiter, name: basename(file) };
}

export async function importFile(kind: ImportKind, file: string, options: ImportOptions): Promise<void> {
  const { db, format, table, map, delimiter, name } = target(kind, file, options);
  const { mapping } = loadConfigFile(process.env.CLM_CONFIG || undefined);
  const csv = format === "csv" ? await csvSource(table, file, delimiter, map) : undefined;
  // A comma inside an unquoted number splits it into two fields.
  const extraFieldsHint =
    options.decimalComma && delimiter === ","
      ? ' (with --decimal-comma and "," between fields, quote numbers such as "12,50")'
      : "";
  const existed = existsSync(db);
  const connector = await DuckDBConnector.open(db, mapping, {
    // A one-off load, not a server beside other work: DuckDB's own limit unless one is set, since
    // inserting a large file in order needs buffers that cannot all spill.
    memoryLimit: process.env.CLM_DUCKDB_MEMORY_LIMIT || null,
  }).catch((error) => {
    throw new CliError(`cannot open ${db}: ${firstLine(error)}`);
  });
  const destination = ident(mapping.schema, mapping.tables[table].table);
  const columns = columnsOf(table) as string[];
  let loaded = false;
  let bar: Progress | undefined;
  const started = Date.now();
  try {
    const status = (await connector.tableStatus()).find((s) => s.logical === table)!;
    if (status.present && status.missingColumns.length > 0) {
      throw new CliError(
        `table ${status.source} lacks column(s) ${status.missingColumns.join(", ")}; nothing was imported`,
      );
    }
    const source = csv ?? (await parquetSource(table, file, connector, map));
    const rules: ValueRules = {
      decimalComma: Boolean(options.decimalComma),
      decimals: await numericDecimals(connector, table, status.present),
    };
    if (source.ignored.length > 0) {
      process.stderr.write(
        `clm: ${name}: ignoring column(s) not in the ${table} contract: ${source.ignored.join(", ")}\n`,
      );
    }
    const estimate = csv ? await estimateCsvRows(file) : await parquetRows(file, connector);
    const progress = (bar = startProgress({
      label: `importing ${table}`,
      unit: "rows",
      enabled: progressWanted(options.quiet),
      total: estimate,
    }));

    const outcome = await connector.session(async (session): Promise<Outcome> => {
      // 1. Read and parse, into the staging table.
      try {
        await withProgress(
          session,
          progress,
          session.query(stagingSql(table, source.read, rules)),
          (p) => (estimate === undefined ? undefined : Math.round((p / 100) * estimate)),
          "reading",
          estimate,
        );
      } catch (error) {
        // DuckDB gave up on the file (not just on some rows): name its broken lines if the scan finds them.
        const scanned =
          csv && (await locateCsvProblems(file, delimiter, csv.fields, -1, [], options.maxErrors, extraFieldsHint));
        if (!scanned || scanned.problems.length === 0)
          throw new CliError(`${name}: cannot read it: ${firstLine(error)}`);
        return {
          staged: 0,
          counts: NO_COUNTS,
          problems: scanned.problems,
          count: scanned.structural,
          rows: scanned.structural,
        };
      }
      const [{ n: staged }] = (await session.query<{ n: number }>(
        sql`SELECT COUNT(*) AS n FROM ${ident(STAGING)}`,
      )) as [{ n: number }];
      progress.update(staged, staged);

      // 2. Check.
      progress.phase("checking");
      const rejected = csv
        ? Number((await session.query<{ n: number }>(sql`SELECT COUNT(*) AS n FROM clm_import_rejects`))[0]?.n ?? 0)
        : 0;
      const values = await checkValues(session, table, rules, options.maxErrors);
      if (rejected === 0 && values.problems === 0) {
        const counts = await countValues(session, table, rules);
        if (options.dryRun) return clean(staged, counts);
        // 3. Load, in one transaction.
        await session.query(sql`BEGIN TRANSACTION`);
        try {
          for (const statement of connector.createTableSql(table)) await session.query(statement);
          if (options.replace) await session.query(sql`DELETE FROM ${destination}`);
          await withProgress(
            session,
            progress,
            session.query(
              sql`INSERT INTO ${destination} (${join(columns.map((c) => ident(mapping.tables[table].columns[c])))})
SELECT ${join(columns.map((c) => valueSql(c, columnSpec(table, c), rules)))} FROM ${ident(STAGING)}`,
            ),
            (p) => Math.round((p / 100) * staged),
            "loading",
            staged,
          );
          await session.query(sql`COMMIT`);
        } catch (error) {
          await session.query(sql`ROLLBACK`).catch(() => {});
          throw new CliError(`${name}: loading into ${table} failed, nothing was imported: ${firstLine(error)}`);
        }
        loaded = true;
        // The rows reach the file now rather than when the database closes: the time reported is the whole load's.
        progress.phase("saving");
        await session.query(sql`CHECKPOINT`);
        progress.update(staged, staged);
        return clean(staged, counts);
      }

      // 4. Where the problems are.
      if (!csv) {
        const problems = values.first.map((v) => ({ at: v.rn, message: v.message }));
        return { staged, counts: NO_COUNTS, problems, count: values.problems, rows: values.rows };
      }
      progress.phase("locating problems");
      const located = await locateCsvProblems(
        file,
        delimiter,
        csv.fields,
        staged,
        values.first,
        options.maxErrors,
        extraFieldsHint,
      );
      if (located.aligned) {
        const count = located.structural + values.problems;
        const rows = located.structural + values.rows;
        return { staged, counts: NO_COUNTS, problems: located.problems, count, rows };
      }
      // DuckDB and the scan disagree on the records (a case the scan does not model, such as invalid
      // UTF-8): the value problems cannot be given lines; DuckDB's own findings are shown as it counts.
      const rejects = await session.query<{ line: number; error_message: string }>(
        sql`SELECT DISTINCT line, error_message FROM clm_import_rejects ORDER BY line LIMIT ${integer(options.maxErrors)}`,
      );
      const problems = [
        ...located.problems,
        ...rejects.map((r) => ({
          at: NaN,
          message: `record ${r.line} as DuckDB counts: ${firstLine(r.error_message)}`,
        })),
        ...values.first.map((v) => ({ at: NaN, message: `data row ${v.rn} of those read: ${v.message}` })),
      ];
      const count = Math.max(problems.length, located.structural + values.problems);
      return { staged, counts: NO_COUNTS, problems, count, rows: 0 };
    });

    progress.stop({ clear: outcome.count > 0 });
    if (outcome.count > 0) throw problemsError(name, table, Boolean(csv), outcome, options.maxErrors);
    const seconds = (Date.now() - started) / 1000;
    const rate = seconds > 0 ? Math.round(outcome.staged / seconds) : outcome.staged;
    const took = `in ${seconds.toFixed(1)}s (${rate} rows/s)`;
    const counts = describeCounts(outcome.counts, Boolean(options.dryRun));
    if (options.dryRun) {
      process.stdout.write(
        `checked ${outcome.staged} rows of ${name}: no problems${counts} (nothing imported: --dry-run)\n`,
      );
    } else if (options.replace) {
      process.stdout.write(`replaced the rows of ${table} with ${outcome.staged} rows from ${name} ${took}${counts}\n`);
    } else {
      const [{ n: total }] = (await connector.query<{ n: number }>(sql`SELECT COUNT(*) AS n FROM ${destination}`)) as [
        { n: number },
      ];
      process.stdout.write(
        `imported ${outcome.staged} rows into ${table} (${total} rows now) from ${name} ${took}${counts}\n`,
      );
    }
  } finally {
    bar?.stop({ clear: !loaded });
    await connector.close();
    // A database file this import created and did not load into goes again.
    if (!existed && !loaded) for (const f of [db, `${db}.wal`]) rmSync(f, { force: true });
  }
}

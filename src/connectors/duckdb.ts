// DuckDB: the embedded default warehouse, in memory or in a file.
import { mkdirSync } from "node:fs";
import { availableParallelism } from "node:os";
import { dirname } from "node:path";
import {
  DuckDBInstance,
  DuckDBTypeId,
  dateValue,
  listValue,
  timestampValue,
  type DuckDBAppender,
  type DuckDBResult,
  type DuckDBValue,
} from "@duckdb/node-api";
import { columnSpec, columnsOf, type LogicalTable, type WarehouseMapping } from "../sql/contract.ts";
import {
  DEFAULT_BATCH_ROWS,
  DEFAULT_CUSTOMERS_PER_RANGE,
  type ColumnBatch,
  type ContractRow,
  type OwnedRow,
  type OwnedTable,
  type QueryOptions,
  type Row,
  type StreamOptions,
  type WarehouseConnector,
  type WarehouseWriter,
  type Warehouse,
} from "./connector.ts";
import { createContractTables, createTableSql, ownedTableSql } from "./ddl.ts";
import { columnReader } from "./duckdb-columns.ts";
import type { Dialect } from "../sql/dialect.ts";
import { doubleQuoted, ident, integer, render, sql, valuesRows, type Sql, type SqlValue } from "../sql/sql.ts";
import { informationSchemaProbe, probeTables } from "./table-status.ts";

export const duckdbDialect = {
  name: "duckdb",
  quoteIdent: doubleQuoted,
  typeName: (type) => ({ float: "DOUBLE", text: "VARCHAR", date: "DATE", int: "BIGINT", instant: "TIMESTAMPTZ" })[type],
  placeholder: (i) => `$${i + 1}`,
  localDay: (expr, timeZone) =>
    // Sessions run in UTC (DuckDBConnector.open), so a plain cast gives the UTC day of both zoned and
    // unzoned timestamps, at a fraction of the cost of a zone conversion.
    timeZone === "UTC"
      ? sql`CAST(${expr} AS DATE)`
      : sql`CAST(timezone(${timeZone}, CAST(${expr} AS TIMESTAMPTZ)) AS DATE)`,
  // A TIMESTAMP (UTC, as the contract says), so the column is compared as stored: a TIMESTAMPTZ constant
  // would convert every row through ICU and defeat zone maps (bench/README.md, "instants as TIMESTAMP").
  instant: (at) => sql`CAST(${at.toISOString().replace("T", " ").replace("Z", "")} AS TIMESTAMP)`,
  dayDiff: (from, to) => sql`date_diff('day', ${from}, ${to})`,
  inList: (expr, ids) => sql`${expr} = ANY(${ids})`,
  // Structs compare field by field: the latest time, then the greatest value.
  latestBy: (value, time) => sql`max(struct_pack(t := ${time}, v := ${value})).v`,
  median: { kind: "aggregate", aggregate: (expr) => sql`quantile_cont(${expr}, 0.5)` },
  // Without numbering every purchase day by a window, which slowed the export's query; not by
  // min(day, 2) either: its list state cannot spill, and the export ran out of memory under a small
  // limit (bench/README.md, "purchase-day numbering without a window").
  purchaseDayNumbering: {
    kind: "aggregate",
    // arg_min_null, not arg_min: arg_min skips rows whose revenue is NULL, and would give a later day's.
    valueOnFirstDay: (value, day, where) => sql`arg_min_null(${value}, ${day}) FILTER (WHERE ${where})`,
  },
  sampleRows: (select, from, rows) =>
    sql`SELECT ${select} FROM ${from} USING SAMPLE reservoir(${integer(rows)} ROWS) REPEATABLE (1)`,
  literalRows: valuesRows,
} satisfies Dialect;

const DUCKDB_TYPES = { text: "VARCHAR", timestamp: "TIMESTAMP", numeric: "DECIMAL(18,2)", date: "DATE" } as const;
const DAY_MS = 86_400_000;

function toDuckValue(value: SqlValue): DuckDBValue {
  if (value instanceof Date) return timestampValue(BigInt(value.getTime()) * 1000n);
  // The binding turns whole numbers into BIGINT and fails beyond its range (−9.2e18, 1e300): such a
  // value goes as its decimal text, which the CAST(… AS DOUBLE) every number constant sits in reads back exactly.
  if (Number.isInteger(value) && !Number.isSafeInteger(value)) return String(value);
  if (Array.isArray(value)) return listValue(value as DuckDBValue[]);
  return value as DuckDBValue;
}

function fromDuckValue(value: unknown): unknown {
  // BIGINT/HUGEINT come back as bigint; counts and sums fit a double exactly far beyond our sizes.
  if (typeof value === "bigint") return Number(value);
  return value;
}

/** Rows as every connector returns them: calendar days as "YYYY-MM-DD", numbers as JS numbers. */
function normaliseRows(
  rows: Record<string, unknown>[],
  names: readonly string[],
  types: readonly { typeId: DuckDBTypeId }[],
): Record<string, unknown>[] {
  const dateColumns = new Set(names.filter((_, i) => types[i]!.typeId === DuckDBTypeId.DATE));
  for (const row of rows) {
    for (const key in row) {
      const value = row[key];
      row[key] =
        dateColumns.has(key) && value instanceof Date ? value.toISOString().slice(0, 10) : fromDuckValue(value);
    }
  }
  return rows;
}

/**
 * Statements on one connection, for work that needs a session: temporary tables, a transaction
 * spanning several statements (`clm import`), and the progress of the statement running.
 */
export interface DuckDBSession {
  query<R extends Row = Row>(query: Sql): Promise<R[]>;
  /** How far the running statement is, 0–100; -1 when DuckDB cannot tell (or nothing runs). */
  progress(): number;
}

export interface DuckDBOptions {
  /**
   * A DuckDB size such as "512MB"; default (undefined or null) DuckDB's own, 80% of RAM. No lower
   * default: a modest one made the in-memory demo run out of memory under the dashboard's concurrent
   * queries (DuckDB cannot spill everything, and in-memory tables count against the limit; bench/README.md,
   * "DuckDB memory limit default").
   * Servers over large data should set one (CLM_DUCKDB_MEMORY_LIMIT) to bound their memory.
   */
  readonly memoryLimit?: string | null;
  /**
   * Where DuckDB spills what does not fit the memory limit. Default: DuckDB's, "<file>.tmp" beside a
   * database file, and ".tmp" in the working directory for an in-memory one.
   */
  readonly tempDirectory?: string;
  /** Customers per id range of a whole-population export (default DEFAULT_CUSTOMERS_PER_RANGE). */
  readonly customersPerRange?: number;
}

/** The configured embedded warehouse (CLM_DUCKDB_*). */
export interface DuckDBSettings {
  readonly path: string | undefined;
  readonly memoryLimit?: string;
  readonly tempDirectory?: string;
  readonly customersPerRange?: number;
}

export function openDuckDB(settings: DuckDBSettings, mapping: WarehouseMapping): Promise<DuckDBConnector> {
  return DuckDBConnector.open(settings.path, mapping, {
    memoryLimit: settings.memoryLimit,
    tempDirectory: settings.tempDirectory,
    customersPerRange: settings.customersPerRange,
  });
}

/** The embedded DuckDB, as the registry lists it. */
export const duckdbWarehouse = {
  kind: "duckdb",
  description: "Embedded DuckDB (in memory with demo data, or a file).",
  open: openDuckDB,
} as const satisfies Warehouse<DuckDBSettings>;

export class DuckDBConnector implements WarehouseConnector, WarehouseWriter {
  readonly kind = "duckdb" as const;
  readonly dialect = duckdbDialect;
  /**
   * DuckDB runs each query on every core, so more queries at once than cores only share them: one
   * slot per core keeps a caller from crowding out the others (src/warehouse/admission.ts gives one
   * caller at most half), at a small cost to one client alone (bench/README.md, "DuckDB query slots").
   */
  readonly concurrentQueries = Math.max(2, availableParallelism());

  private constructor(
    private readonly instance: DuckDBInstance,
    readonly mapping: WarehouseMapping,
    readonly customersPerRange: number,
  ) {}

  /** `path` ":memory:" (or undefined) is an in-memory database. */
  static async open(
    path: string | undefined,
    mapping: WarehouseMapping,
    options: DuckDBOptions = {},
  ): Promise<DuckDBConnector> {
    // Stryker disable next-line StringLiteral: DuckDB opens "" in memory too
    const location = path ?? ":memory:";
    const config: Record<string, string> = {};
    const memoryLimit = options.memoryLimit ?? null;
    // Stryker disable next-line ConditionalExpression: the binding takes a null setting as unset
    if (memoryLimit !== null) config.memory_limit = memoryLimit;
    if (options.tempDirectory) {
      // DuckDB creates the directory itself when it first spills, but not its parents.
      mkdirSync(dirname(options.tempDirectory), { recursive: true });
      config.temp_directory = options.tempDirectory;
    }
    const instance = await DuckDBInstance.create(location, config);
    // Timestamps without a zone are UTC by the input contract; days are cut in the configured zone.
    const setup = await instance.connect();
    await setup.run("SET GLOBAL TimeZone = 'UTC'");
    setup.closeSync();
    return new DuckDBConnector(instance, mapping, options.customersPerRange ?? DEFAULT_CUSTOMERS_PER_RANGE);
  }

  async query<R extends Row = Row>(query: Sql, options: QueryOptions = {}): Promise<R[]> {
    const statement = await this.statement(query, options.signal);
    try {
      const reader = await statement.connection.runAndReadAll(statement.text, statement.values);
      return normaliseRows(reader.getRowObjectsJS(), reader.columnNames(), reader.columnTypes()) as R[];
    } finally {
      statement.release();
    }
  }

  stream<R extends Row = Row>(query: Sql, options: StreamOptions = {}): AsyncIterable<R[]> {
    const batchRows = options.batchRows ?? DEFAULT_BATCH_ROWS;
    return this.streamResult(query, options, async function* (result) {
      const names = result.columnNames();
      const types = result.columnTypes();
      let batch: Record<string, unknown>[] = [];
      for await (const rows of result.yieldRowObjectJs()) {
        batch.push(...normaliseRows(rows, names, types));
        // Stryker disable next-line EqualityOperator: a full batch held until the next chunk comes out alike
        while (batch.length >= batchRows) {
          yield batch.slice(0, batchRows) as R[];
          batch = batch.slice(batchRows);
        }
      }
      if (batch.length > 0) yield batch as R[];
    });
  }

  /** One batch per data chunk (up to 2,048 rows), its columns copied out as typed arrays. */
  streamColumns(query: Sql, options: StreamOptions = {}): AsyncIterable<ColumnBatch> {
    return this.streamResult(query, options, async function* (result) {
      // Deduplicated as the row objects' keys are, so both name a column alike.
      const names = result.deduplicatedColumnNames();
      const readers = result.columnTypes().map((type) => columnReader(type, fromDuckValue));
      for (;;) {
        const chunk = await result.fetchChunk();
        if (!chunk || chunk.rowCount === 0) return;
        yield { names, columns: readers.map((read, c) => read(chunk, c)), rowCount: chunk.rowCount };
      }
    });
  }

  /** Runs `query` as a streaming result on a connection of its own, closed when `read` ends or is stopped. */
  private async *streamResult<T>(
    query: Sql,
    options: StreamOptions,
    read: (result: DuckDBResult) => AsyncIterable<T>,
  ): AsyncIterable<T> {
    const statement = await this.statement(query, options.signal);
    try {
      // A streaming result computes chunks (2,048 rows) as they are fetched.
      yield* read(await statement.connection.stream(statement.text, statement.values));
    } finally {
      statement.release();
    }
  }

  /**
   * A connection of its own for one statement, interrupted when `signal` aborts, and the statement's
   * text and values; `release` closes it (and must be called once it is got).
   */
  private async statement(query: Sql, signal: AbortSignal | undefined) {
    const { text, params } = render(query, duckdbDialect);
    const values = params.map((p) => toDuckValue(p.value));
    const connection = await this.instance.connect();
    const onAbort = () => connection.interrupt();
    // Stryker disable next-line ObjectLiteral,BooleanLiteral: a signal aborts once; release removes the listener
    signal?.addEventListener("abort", onAbort, { once: true });
    const release = () => {
      signal?.removeEventListener("abort", onAbort);
      connection.closeSync();
    };
    if (signal?.aborted) {
      release();
      signal.throwIfAborted();
    }
    return { connection, text, values, release };
  }

  async ping(): Promise<void> {
    await this.query(sql`SELECT 1 AS ok`);
  }

  tableStatus() {
    return probeTables(this.mapping, informationSchemaProbe(this, "main"));
  }

  createTables(options: { replace: boolean }): Promise<void> {
    return createContractTables(this, DUCKDB_TYPES, options);
  }

  /** What creates one contract table under the mapping when it is missing (and the mapping's schema). */
  createTableSql(table: LogicalTable): Sql[] {
    const schema = this.mapping.schema ? [sql`CREATE SCHEMA IF NOT EXISTS ${ident(this.mapping.schema)}`] : [];
    return [...schema, createTableSql(this.mapping, table, DUCKDB_TYPES)];
  }

  /** Runs `work` on one connection of its own, closed afterwards (temporary tables go with it). */
  async session<T>(work: (session: DuckDBSession) => Promise<T>): Promise<T> {
    const connection = await this.instance.connect();
    try {
      // Progress is tracked only when the progress bar is on; DuckDB's own printing of it stays off.
      await connection.run("SET enable_progress_bar = true");
      await connection.run("SET enable_progress_bar_print = false");
      return await work({
        query: async <R extends Row = Row>(query: Sql) => {
          const { text, params } = render(query, duckdbDialect);
          const reader = await connection.runAndReadAll(
            text,
            params.map((p) => toDuckValue(p.value)),
          );
          return normaliseRows(reader.getRowObjectsJS(), reader.columnNames(), reader.columnTypes()) as R[];
        },
        progress: () => connection.progress.percentage,
      });
    } finally {
      connection.closeSync();
    }
  }

  async append(table: LogicalTable, rows: readonly ContractRow[]): Promise<void> {
    const connection = await this.instance.connect();
    try {
      const appender = await connection.createAppender(this.mapping.tables[table].table, this.mapping.schema ?? null);
      const writers = columnsOf(table).map((c) => appenderFor(columnSpec(table, c).type));
      appendRows(appender, writers, rows);
      appender.closeSync();
    } finally {
      connection.closeSync();
    }
  }

  /**
   * Appends the rows to a loading table on a connection of its own, then replaces the table with it in
   * one statement (CREATE OR REPLACE … AS), so readers and views over it never see it half written.
   */
  async replaceTable(table: OwnedTable, pages: AsyncIterable<readonly OwnedRow[]>): Promise<number> {
    const { schema } = this.mapping;
    const loading = `${table.name}__loading`;
    const connection = await this.instance.connect();
    const run = (query: Sql) => {
      const { text, params } = render(query, duckdbDialect);
      return connection.run(
        text,
        params.map((p) => toDuckValue(p.value)),
      );
    };
    try {
      if (schema) await run(sql`CREATE SCHEMA IF NOT EXISTS ${ident(schema)}`);
      await run(sql`DROP TABLE IF EXISTS ${ident(schema, loading)}`);
      await run(ownedTableSql(duckdbDialect, schema, table, loading));
      const appender = await connection.createAppender(loading, schema ?? null);
      const writers = table.columns.map((c) => appenderFor(OWNED_APPENDED_AS[c.type]));
      let rows = 0;
      try {
        for await (const page of pages) {
          appendRows(appender, writers, page);
          rows += page.length;
        }
      } finally {
        appender.closeSync();
      }
      await run(sql`CREATE OR REPLACE TABLE ${ident(schema, table.name)} AS FROM ${ident(schema, loading)}`);
      return rows;
    } finally {
      await run(sql`DROP TABLE IF EXISTS ${ident(schema, loading)}`).catch(() => {});
      connection.closeSync();
    }
  }

  async close(): Promise<void> {
    this.instance.closeSync();
  }
}

/** The contract column type an owned table's column is appended as. */
export const OWNED_APPENDED_AS = { text: "text", date: "date", number: "numeric" } as const;

/** Appends rows, each value with its column's writer (appenderFor), NULL for null or undefined. */
export function appendRows(
  appender: DuckDBAppender,
  writers: readonly ReturnType<typeof appenderFor>[],
  rows: Iterable<readonly unknown[]>,
): void {
  for (const row of rows) {
    for (let i = 0; i < writers.length; i++) {
      const value = row[i];
      if (value === null || value === undefined) appender.appendNull();
      else writers[i]!(appender, value as string | number);
    }
    appender.endRow();
  }
}

/** Appends a value of a contract column type (days as "YYYY-MM-DD", instants as epoch milliseconds). */
export function appenderFor(type: "text" | "timestamp" | "numeric" | "date") {
  switch (type) {
    case "text":
      return (a: DuckDBAppender, v: string | number) => a.appendVarchar(String(v));
    case "timestamp":
      return (a: DuckDBAppender, v: string | number) => a.appendTimestamp(timestampValue(BigInt(v) * 1000n));
    case "numeric":
      return (a: DuckDBAppender, v: string | number) => a.appendDouble(Number(v));
    case "date":
      return (a: DuckDBAppender, v: string | number) =>
        a.appendDate(dateValue(Math.floor(Date.parse(`${v}T00:00:00Z`) / DAY_MS)));
  }
}

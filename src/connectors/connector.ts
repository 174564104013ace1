// The one interface every warehouse implements. A connector knows its dialect and nothing of GraphQL.
import type { LogicalTable, WarehouseMapping } from "../sql/contract.ts";
import type { Dialect } from "../sql/dialect.ts";
import type { Sql } from "../sql/sql.ts";
import { DependencyError, DomainError } from "../errors.ts";

/**
 * A warehouse as the registry (src/connectors/index.ts) lists it: the name it is configured by
 * (CLM_WAREHOUSE), what it is (GraphQL's WarehouseKind enum says it), and how to open it. Each
 * connector's file exports one.
 */
export interface Warehouse<Settings> {
  readonly kind: string;
  readonly description: string;
  open(settings: Settings, mapping: WarehouseMapping): Promise<WarehouseConnector>;
}

export type Row = Record<string, unknown>;

export interface TableStatus {
  readonly logical: LogicalTable;
  /** The physical, qualified name the mapping points at. */
  readonly source: string;
  readonly required: boolean;
  readonly present: boolean;
  /** Mapped columns the physical table lacks (empty when absent or complete). */
  readonly missingColumns: readonly string[];
  /** Rows in the table; null when the table is absent or incomplete. */
  readonly rowCount: number | null;
}

export interface WarehouseConnector {
  /** The registry's name for it (Warehouse.kind). */
  readonly kind: string;
  readonly dialect: Dialect;
  readonly mapping: WarehouseMapping;
  /** Runs one query; every value in it is a bound parameter. Numbers come back as JS numbers. */
  query<R extends Row = Row>(query: Sql, options?: QueryOptions): Promise<R[]>;
  /**
   * Rows of one query in batches of about `batchRows`, read from the warehouse as the consumer asks
   * for them (a server-side cursor or result pages), so an export never holds all rows at once.
   * Stopping early (break, a closed download) releases the cursor.
   */
  stream<R extends Row = Row>(query: Sql, options?: StreamOptions): AsyncIterable<R[]>;
  /**
   * The same rows as `stream`, the same values, by column: for a connector whose client reads results
   * column-wise (DuckDB's data chunks), a large export then never makes an object per row nor a JS
   * value per field. Batches are the client's own blocks (`batchRows` does not apply). Optional: where
   * it is absent, callers read `stream`.
   */
  streamColumns?(query: Sql, options?: StreamOptions): AsyncIterable<ColumnBatch>;
  /**
   * A query over a list of keys (customer ids) whose rows are cached per key rather than per query, so
   * that only the keys not cached reach the warehouse. `build(keys)` must return one row per key found,
   * `keyOf(row)` its key. Optional: the server's guarded warehouse (src/warehouse/guarded-warehouse.ts)
   * has it, and runs one query when its cache is off; where it is absent, callers run `query(build(keys))`.
   */
  queryPerKey?<R extends Row = Row>(
    keys: readonly string[],
    build: (keys: readonly string[]) => Sql,
    keyOf: (row: R) => string,
    options?: QueryOptions,
  ): Promise<R[]>;
  /**
   * Whether a circuit breaker in front of the warehouse is open (queries fail at once until a trial one
   * succeeds), for /ready. Optional: the server's guarded warehouse has it; a bare connector has no
   * circuit.
   */
  readonly circuitOpen?: boolean;
  /**
   * Set where questions over every customer (the segment export) should read customers in id ranges of
   * about this many (src/services/customer-ranges.ts): an engine running inside the server's process,
   * whose working set is the server's memory (DuckDB). Absent: one query.
   */
  readonly customersPerRange?: number;
  /**
   * Queries the server should run on this warehouse at once (src/warehouse/admission.ts queues the
   * rest fairly): a pool's connections less those kept for cancels and health checks. Absent: a default.
   */
  readonly concurrentQueries?: number;
  /**
   * Queries one caller may run at once (the server's guarded warehouse: its admission queue's share):
   * shared lookups hold their next batch back while that many run. Absent: no such limit.
   */
  readonly queriesPerCaller?: number;
  /**
   * Replaces a table the server owns in the warehouse, outside the contract (the state writeback,
   * `clm_customer_state`), in the mapping's schema (BigQuery: the dataset), with the rows of `pages`:
   * readers see the old rows until all the new ones are in. Returns the rows written. Optional: the
   * server's guarded warehouse forwards it where its connector has it.
   */
  replaceTable?(table: OwnedTable, pages: AsyncIterable<readonly OwnedRow[]>, options?: QueryOptions): Promise<number>;
  /**
   * What a query would scan, in bytes, without running it (BigQuery's dry run, which bills nothing).
   * Optional: warehouses that do not bill by bytes scanned lack it.
   */
  estimateBytes?(query: Sql, options?: QueryOptions): Promise<number>;
  /** Cheap round trip proving the warehouse answers (for /ready). */
  ping(): Promise<void>;
  /** Presence, completeness and size of each contract table under the mapping. */
  tableStatus(): Promise<TableStatus[]>;
  /**
   * A short token that changes whenever the contract tables' data changes (cheap: metadata or
   * counters, not a scan), keying the result cache. Absent: the row counts of tableStatus().
   */
  dataVersion?(): Promise<string>;
  close(): Promise<void>;
}

export interface QueryOptions {
  readonly signal?: AbortSignal;
  /** A short label for logs and BigQuery job labels, e.g. "table_status". */
  readonly label?: string;
  /**
   * The last day whose data the result depends on, when the query has one: a result about a settled
   * day may be cached for long (see src/warehouse/result-cache.ts).
   */
  readonly asOf?: string;
  /** false: never serve this query from the result cache (nor store it). */
  readonly cache?: boolean;
}

export interface StreamOptions extends QueryOptions {
  /** Rows per batch (default 5,000). */
  readonly batchRows?: number;
}

export const DEFAULT_BATCH_ROWS = 5_000;

/**
 * The embedded DuckDB's customersPerRange unless set (CLM_DUCKDB_RANGE_CUSTOMERS): ranges bound the
 * export's memory and, with the next range's query running ahead, its time too. Smaller ranges take
 * less memory and, on data not stored in customer order, more time, since each range scans the tables
 * again (bench/README.md, "Export ranges").
 */
export const DEFAULT_CUSTOMERS_PER_RANGE = 125_000;

/**
 * Rows of a result by column: `columnValue(columns[c], i)` is what `stream` would give as row i's value
 * of `names[c]` (numbers as JS numbers, calendar days as "YYYY-MM-DD", null). One batch per block the
 * client reads (DuckDB: a data chunk, up to 2,048 rows).
 */
export interface ColumnBatch {
  readonly names: readonly string[];
  readonly columns: readonly BatchColumn[];
  readonly rowCount: number;
}

/**
 * A column of a batch. Numbers, days and text come as typed arrays, as the warehouse client holds them,
 * so a large export formats them without making a JS value per field; anything else as JS values.
 * `valid`: bit i (byte i >> 3, bit i & 7) set when row i is not NULL; null when no row is NULL.
 */
export type BatchColumn =
  | { readonly kind: "values"; readonly values: readonly unknown[] }
  | { readonly kind: "numbers"; readonly values: Float64Array; readonly valid: Uint8Array | null }
  /** Calendar days as days since 1970-01-01 (row values "YYYY-MM-DD"). */
  | { readonly kind: "days"; readonly days: Int32Array; readonly valid: Uint8Array | null }
  /** UTF-8 text: row i is bytes[ends[i - 1] ?? 0, ends[i]). */
  | {
      readonly kind: "utf8";
      readonly bytes: Uint8Array;
      readonly ends: Uint32Array;
      readonly valid: Uint8Array | null;
    };

/** Whether row `i` of a typed column is not NULL. */
export function isValidRow(valid: Uint8Array | null, i: number): boolean {
  return valid === null || (valid[i >> 3]! & (1 << (i & 7))) !== 0;
}

const DAY_MS = 86_400_000;
const utf8 = new TextDecoder();

/** "YYYY-MM-DD" of a day counted from 1970-01-01, as a "days" column's row value (toISOString's text). */
export function dayText(days: number): string {
  return new Date(days * DAY_MS).toISOString().slice(0, 10);
}

/** Row i's value of a column, as `stream` gives it. */
export function columnValue(column: BatchColumn, i: number): unknown {
  if (column.kind === "values") return column.values[i];
  if (!isValidRow(column.valid, i)) return null;
  switch (column.kind) {
    case "numbers":
      return column.values[i];
    case "days":
      return dayText(column.days[i]!);
    case "utf8":
      return utf8.decode(column.bytes.subarray(i === 0 ? 0 : column.ends[i - 1], column.ends[i]));
  }
}

/** Rows as tuples in the contract's column order; timestamps as epoch milliseconds, dates as "YYYY-MM-DD". */
export type ContractRow = readonly (string | number | null)[];

/** A column of a table the server owns in the warehouse: a plain lower-case name and what it holds. */
export interface OwnedColumn {
  readonly name: string;
  readonly type: "text" | "date" | "number";
}

/** A table the server owns in the warehouse (WarehouseConnector.replaceTable). */
export interface OwnedTable {
  /** A plain lower-case name (validated by the configuration). */
  readonly name: string;
  readonly columns: readonly OwnedColumn[];
}

/** A row of an owned table, in its columns' order: text, a day as "YYYY-MM-DD", a number, or null. */
export type OwnedRow = readonly (string | number | null)[];

/** Bulk loading into a warehouse the server manages (the embedded DuckDB, or a PostgreSQL test schema). */
export interface WarehouseWriter {
  /** Creates the contract tables (dropping existing ones when `replace`). */
  createTables(options: { replace: boolean }): Promise<void>;
  append(table: LogicalTable, rows: readonly ContractRow[]): Promise<void>;
}

export class WarehouseUnavailableError extends DependencyError {
  readonly code = "WAREHOUSE_UNAVAILABLE";
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = "WarehouseUnavailableError";
  }
}

/**
 * No query slot or connection became free in time: the warehouse is healthy but busy with other work.
 * Back-pressure, not a fault: never retried, never counted toward the circuit (clients see WAREHOUSE_BUSY).
 */
export class WarehouseBusyError extends DependencyError {
  readonly code = "WAREHOUSE_BUSY";
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = "WarehouseBusyError";
  }
}

/** The warehouse would scan more than the configured budget; refused before it ran (or by the warehouse). */
export class QueryTooExpensiveError extends DomainError {
  readonly code = "QUERY_TOO_EXPENSIVE";
  override readonly tellsRequestId = true;
  constructor(
    readonly estimatedBytes: number | null,
    readonly budgetBytes: number,
  ) {
    super(
      estimatedBytes === null
        ? `the query would scan more than the budget of ${budgetBytes} bytes (maximumBytesBilled); narrow it (a shorter period, a segment)`
        : `the query would scan ${estimatedBytes} bytes, over the budget of ${budgetBytes} (maximumBytesBilled); narrow it (a shorter period, a segment)`,
    );
    this.name = "QueryTooExpensiveError";
  }

  override extensions() {
    return { estimatedBytes: this.estimatedBytes, budgetBytes: this.budgetBytes };
  }
}

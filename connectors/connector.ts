// The one interface every warehouse implements. A connector knows its dialect and nothing of GraphQL.
import type { LogicalTable, WarehouseMapping } from "./contract.ts";
import type { Dialect, Sql } from "./sql.ts";

export type WarehouseKind = "duckdb" | "postgres" | "bigquery";

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
  readonly kind: WarehouseKind;
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
   * column-wise (DuckDB's data chunks), a large export then never makes an object per row. Optional:
   * where it is absent, callers read `stream`.
   */
  streamColumns?(query: Sql, options?: StreamOptions): AsyncIterable<ColumnBatch>;
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
 * Rows of a result by column: `columns[c][i]` is what `stream` would give as row i's value of
 * `names[c]` (numbers as JS numbers, calendar days as "YYYY-MM-DD", null). About `batchRows` rows.
 */
export interface ColumnBatch {
  readonly names: readonly string[];
  readonly columns: readonly (readonly unknown[])[];
  readonly rowCount: number;
}

/** Rows as tuples in the contract's column order; timestamps as epoch milliseconds, dates as "YYYY-MM-DD". */
export type ContractRow = readonly (string | number | null)[];

/** Bulk loading into a warehouse the server manages (the embedded DuckDB, or a PostgreSQL test schema). */
export interface WarehouseWriter {
  /** Creates the contract tables (dropping existing ones when `replace`). */
  createTables(options: { replace: boolean }): Promise<void>;
  append(table: LogicalTable, rows: readonly ContractRow[]): Promise<void>;
}

export class WarehouseUnavailableError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = "WarehouseUnavailableError";
  }
}

/** The warehouse would scan more than the configured budget; refused before it ran (or by the warehouse). */
export class QueryTooExpensiveError extends Error {
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
}

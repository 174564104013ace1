// Parquet output of the CLI (`clm export-state --format parquet`), written by an in-memory DuckDB: the
// pages are appended to a table as they are read, then DuckDB's Parquet writer writes the file (typed
// columns, compressed, one pass). No Parquet library beside it: DuckDB is already the embedded warehouse.
import { DuckDBInstance } from "@duckdb/node-api";
import { appenderFor, appendRows, OWNED_APPENDED_AS } from "../connectors/duckdb.ts";
import type { StateColumn } from "../services/state/state-store.ts";
import { doubleQuoted } from "../sql/sql.ts";

const DUCKDB_TYPE = { text: "VARCHAR", date: "DATE", number: "DOUBLE" } as const;

/** A literal for COPY's file name, which DuckDB takes only as a literal (a parameter is refused there). */
function fileLiteral(path: string): string {
  return `'${path.replaceAll("'", "''")}'`;
}

/**
 * Writes `pages` (rows in `columns`' order) to a Parquet file at `path`; returns the rows written.
 * The rows are held by DuckDB, compressed by column, until the file is written.
 */
export async function writeParquet(
  path: string,
  columns: readonly StateColumn[],
  pages: AsyncIterable<readonly (readonly unknown[])[]>,
  onRows?: (rows: number) => void,
): Promise<number> {
  const instance = await DuckDBInstance.create(":memory:");
  const connection = await instance.connect();
  try {
    const definitions = columns.map((c) => `${doubleQuoted(c.name)} ${DUCKDB_TYPE[c.type]}`).join(", ");
    await connection.run(`CREATE TABLE output (${definitions})`);
    const writers = columns.map((c) => appenderFor(OWNED_APPENDED_AS[c.type]));
    const appender = await connection.createAppender("output");
    let rows = 0;
    for await (const page of pages) {
      appendRows(appender, writers, page);
      rows += page.length;
      onRows?.(rows);
    }
    appender.closeSync();
    await connection.run(`COPY output TO ${fileLiteral(path)} (FORMAT parquet, COMPRESSION zstd)`);
    return rows;
  } finally {
    connection.closeSync();
    instance.closeSync();
  }
}

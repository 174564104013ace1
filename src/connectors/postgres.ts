// PostgreSQL as the warehouse, through node-postgres.
import type { PGlite } from "@electric-sql/pglite";
import { Readable } from "node:stream";
import { pipeline } from "node:stream/promises";
import pg from "pg";
import { from as copyFrom } from "pg-copy-streams";
import { columnSpec, columnsOf, type ColumnType, type LogicalTable, type WarehouseMapping } from "../sql/contract.ts";
import {
  DEFAULT_BATCH_ROWS,
  type ContractRow,
  type OwnedRow,
  type OwnedTable,
  type QueryOptions,
  type Row,
  type StreamOptions,
  type WarehouseConnector,
  type WarehouseWriter,
  WarehouseBusyError,
  WarehouseUnavailableError,
  type Warehouse,
} from "./connector.ts";
import { createContractTables, ownedTableSql } from "./ddl.ts";
import { copyText } from "../sql/copy-text.ts";
import type { Dialect } from "../sql/dialect.ts";
import { cast, doubleQuoted, ident, integer, join, keyword, render, sql, valuesRows, type Sql } from "../sql/sql.ts";
import { informationSchemaProbe, probeTables } from "./table-status.ts";

export const postgresDialect = {
  name: "postgres",
  quoteIdent: doubleQuoted,
  typeName: (type) =>
    ({ float: "DOUBLE PRECISION", text: "TEXT", date: "DATE", int: "BIGINT", instant: "TIMESTAMPTZ" })[type],
  placeholder: (i) => `$${i + 1}`,
  localDay: (expr, timeZone) =>
    // Sessions run in UTC (pgPoolSource, pgliteSource), so a plain cast gives the UTC day of both zoned
    // and unzoned timestamps, at a fraction of the cost of a zone conversion.
    timeZone === "UTC"
      ? sql`CAST(${expr} AS DATE)`
      : sql`CAST((CAST(${expr} AS TIMESTAMPTZ) AT TIME ZONE ${timeZone}) AS DATE)`,
  instant: (at) => cast(at.toISOString(), "instant"),
  dayDiff: (from, to) => sql`(${to} - ${from})`,
  inList: (expr, ids) => sql`${expr} = ANY(${ids})`,
  latestBy: (value, time) => sql`(array_agg(${value} ORDER BY ${time} DESC, ${value} DESC))[1]`,
  median: { kind: "aggregate", aggregate: (expr) => sql`percentile_cont(0.5) WITHIN GROUP (ORDER BY ${expr})` },
  purchaseDayNumbering: { kind: "window" },
  // TABLESAMPLE takes a percentage, not a number of rows.
  sampleRows: (select, from, rows) => sql`SELECT ${select} FROM ${from} ORDER BY random() LIMIT ${integer(rows)}`,
  literalRows: valuesRows,
} satisfies Dialect;

/** A PostgreSQL server as the warehouse (CLM_POSTGRES_*). */
export interface PostgresSettings {
  readonly url: string;
  readonly connections?: number;
}

export async function openPostgres(settings: PostgresSettings, mapping: WarehouseMapping): Promise<PostgresConnector> {
  return new PostgresConnector(
    pgPoolSource(settings.url, settings.connections ? { max: settings.connections } : {}),
    mapping,
  );
}

/** A PostgreSQL database, as the registry lists it. */
export const postgresWarehouse = {
  kind: "postgres",
  description: "A PostgreSQL database.",
  open: openPostgres,
} as const satisfies Warehouse<PostgresSettings>;

const PG_TYPES: Record<ColumnType, string> = {
  text: "TEXT",
  timestamp: "TIMESTAMPTZ",
  numeric: "NUMERIC(18,2)",
  date: "DATE",
};
const PG_ARRAY_TYPES: Record<ColumnType, string> = {
  text: "TEXT[]",
  timestamp: "TIMESTAMPTZ[]",
  numeric: "NUMERIC[]",
  date: "DATE[]",
};

// int8 (counts, sums) and numeric (money) as JS numbers; dates stay "YYYY-MM-DD" strings, since a
// calendar day has no time zone to be shifted into.
const typeParsers: pg.CustomTypesConfig = {
  getTypeParser: ((oid: number, format?: "text" | "binary") => {
    if (oid === 20 || oid === 1700) return (value: string) => Number(value);
    if (oid === 1082) return (value: string) => value;
    return pg.types.getTypeParser(oid, format);
  }) as pg.CustomTypesConfig["getTypeParser"],
};

const INSERT_BATCH = 5_000;

/** Statements inside a PgQuerySource's transaction. */
export interface PgTransaction {
  query(text: string, values?: unknown[]): Promise<Record<string, unknown>[]>;
  /** Loads COPY text (src/sql/copy-text.ts), read as it is consumed, into `target` ("table" (columns)). */
  copyIn(target: string, text: AsyncIterable<string>): Promise<void>;
}

/** Where a PostgresConnector sends its SQL: a pg pool on a server, or an embedded PGlite (tests). */
export interface PgQuerySource {
  query(text: string, values: unknown[], signal?: AbortSignal): Promise<Record<string, unknown>[]>;
  /** The rows in batches of `batchRows`, fetched as they are asked for. */
  stream(
    text: string,
    values: unknown[],
    batchRows: number,
    signal?: AbortSignal,
  ): AsyncIterable<Record<string, unknown>[]>;
  /**
   * `work` on one connection in one transaction, committed when it returns and rolled back when it
   * throws (the state writeback). Absent: the source writes no tables.
   */
  transaction?<T>(work: (tx: PgTransaction) => Promise<T>): Promise<T>;
  close(): Promise<void>;
  /** Connections it can hold at once (absent: one at a time, queued inside, as PGlite). */
  readonly connections?: number;
}

/** Connections of the pool by default. */
export const POOL_CONNECTIONS = 10;
/**
 * Connections kept out of the server's query slots: two for the segment export's cursors (at most two
 * exports run at once, and a stream takes no slot: src/warehouse/guarded-warehouse.ts), two so that a
 * cancel (pg_cancel_backend) and the readiness ping find a connection while every slot runs a long query.
 */
const RESERVED_CONNECTIONS = 4;

/** A pool of connections to a PostgreSQL server; an abort cancels the running query on the server. */
export function pgPoolSource(
  connectionString: string,
  poolOptions: Omit<pg.PoolConfig, "connectionString" | "types"> = {},
): PgQuerySource {
  const pool = new pg.Pool({
    connectionString,
    types: typeParsers,
    max: POOL_CONNECTIONS,
    connectionTimeoutMillis: 5_000,
    application_name: "clm-graphql",
    // Timestamps without a zone are UTC by the input contract; days are cut in the configured zone.
    options: "-c TimeZone=UTC",
    ...poolOptions,
  });
  // An idle client losing its connection must not crash the process; the next query reconnects.
  pool.on("error", () => {});
  /** Cancels what the client runs on the server when `signal` aborts; returns the detach. */
  const cancelOnAbort = (client: pg.PoolClient, signal: AbortSignal | undefined) => {
    const onAbort = () => {
      const pid = (client as unknown as { processID?: number }).processID;
      if (pid) void pool.query("SELECT pg_cancel_backend($1)", [pid]).catch(() => {});
    };
    // Stryker disable next-line ObjectLiteral,BooleanLiteral: a signal aborts once; detach removes the listener.
    signal?.addEventListener("abort", onAbort, { once: true });
    return () => signal?.removeEventListener("abort", onAbort);
  };
  return {
    async query(text, values, signal) {
      const client = await pool.connect();
      let broken = false;
      // A connection lost mid-query is also emitted as an event on the checked-out client: unheard,
      // it would crash the process. The query's own rejection reports it.
      const onLost = () => (broken = true);
      client.on("error", onLost);
      const detach = cancelOnAbort(client, signal);
      try {
        signal?.throwIfAborted();
        return (await client.query(text, values)).rows;
      } catch (error) {
        broken ||= isConnectionError(error);
        throw error;
      } finally {
        detach();
        client.off("error", onLost);
        client.release(broken);
      }
    },
    // A server-side cursor in a read-only transaction on a client of its own: the server computes
    // the rows, the client holds one batch at a time.
    async *stream(text, values, batchRows, signal) {
      const client = await pool.connect();
      let broken = false;
      let open = false;
      const onLost = () => (broken = true);
      client.on("error", onLost);
      const detach = cancelOnAbort(client, signal);
      try {
        signal?.throwIfAborted();
        await client.query("BEGIN READ ONLY");
        open = true;
        // A reader that stalls does not keep the cursor (and its snapshot) open for ever.
        await client.query("SET LOCAL idle_in_transaction_session_timeout = '60s'");
        await client.query(`DECLARE clm_export NO SCROLL CURSOR FOR ${text}`, values);
        for (;;) {
          const { rows } = await client.query(`FETCH ${Math.max(1, Math.floor(batchRows))} FROM clm_export`);
          if (rows.length > 0) yield rows;
          if (rows.length < batchRows) break;
        }
        await client.query("COMMIT");
        open = false;
      } catch (error) {
        broken ||= isConnectionError(error);
        throw error;
      } finally {
        detach();
        // Stopped early or failed: the transaction (and its cursor) is rolled back before reuse.
        if (open && !broken) await client.query("ROLLBACK").catch(() => (broken = true));
        client.off("error", onLost);
        client.release(broken);
      }
    },
    async transaction(work) {
      const client = await pool.connect();
      let broken = false;
      const onLost = () => (broken = true);
      client.on("error", onLost);
      try {
        await client.query("BEGIN");
        const result = await work({
          query: async (text, values) => (await client.query(text, values)).rows,
          copyIn: (target, text) => pipeline(Readable.from(text), client.query(copyFrom(`COPY ${target} FROM STDIN`))),
        });
        await client.query("COMMIT");
        return result;
      } catch (error) {
        broken ||= isConnectionError(error);
        if (!broken) await client.query("ROLLBACK").catch(() => (broken = true));
        throw error;
      } finally {
        client.off("error", onLost);
        client.release(broken);
      }
    },
    close: () => pool.end(),
    connections: pool.options.max,
  };
}

/** An embedded PGlite database as the PostgreSQL warehouse: the same dialect with no server (tests). */
export async function pgliteSource(db: PGlite): Promise<PgQuerySource> {
  await db.exec("SET TimeZone TO 'UTC'");
  const parsers = { 20: Number, 1700: Number, 1082: (v: string) => v };
  return {
    async query(text, values, signal) {
      signal?.throwIfAborted();
      return (await db.query<Record<string, unknown>>(text, values, { parsers })).rows;
    },
    // PGlite has one connection, which a cursor's transaction would hold against every other query;
    // it is the test stand-in for the dialect, so it reads the rows at once and hands them out in slices.
    async *stream(text, values, batchRows, signal) {
      signal?.throwIfAborted();
      const { rows } = await db.query<Record<string, unknown>>(text, values, { parsers });
      for (let i = 0; i < rows.length; i += batchRows) yield rows.slice(i, i + batchRows);
    },
    // COPY in PGlite reads a Blob: the text is loaded a chunk at a time.
    transaction: (work) =>
      db.transaction((tx) =>
        work({
          query: async (text, values) => (await tx.query<Record<string, unknown>>(text, values, { parsers })).rows,
          copyIn: async (target, text) => {
            for await (const chunk of text)
              if (chunk) await tx.query(`COPY ${target} FROM '/dev/blob'`, [], { blob: new Blob([chunk]) });
          },
        }),
      ),
    close: () => db.close(),
  };
}

export class PostgresConnector implements WarehouseConnector, WarehouseWriter {
  readonly kind = "postgres" as const;
  readonly dialect = postgresDialect;
  readonly concurrentQueries: number | undefined;

  constructor(
    private readonly source: PgQuerySource,
    readonly mapping: WarehouseMapping,
  ) {
    this.concurrentQueries =
      source.connections === undefined ? undefined : Math.max(1, source.connections - RESERVED_CONNECTIONS);
  }

  async query<R extends Row = Row>(query: Sql, options: QueryOptions = {}): Promise<R[]> {
    const { text, params } = render(query, postgresDialect);
    try {
      return (await this.source.query(
        text,
        params.map((p) => p.value),
        options.signal,
      )) as R[];
    } catch (error) {
      throw unavailable(error);
    }
  }

  async *stream<R extends Row = Row>(query: Sql, options: StreamOptions = {}): AsyncIterable<R[]> {
    const { text, params } = render(query, postgresDialect);
    const values = params.map((p) => p.value);
    try {
      yield* this.source.stream(text, values, options.batchRows ?? DEFAULT_BATCH_ROWS, options.signal) as AsyncIterable<
        R[]
      >;
    } catch (error) {
      throw unavailable(error);
    }
  }

  async ping(): Promise<void> {
    await this.query(sql`SELECT 1 AS ok`);
  }

  tableStatus() {
    return probeTables(this.mapping, informationSchemaProbe(this, "public"));
  }

  createTables(options: { replace: boolean }): Promise<void> {
    return createContractTables(this, PG_TYPES, options);
  }

  async append(table: LogicalTable, rows: readonly ContractRow[]): Promise<void> {
    const mapped = this.mapping.tables[table];
    const columns = columnsOf(table);
    const types = columns.map((c) => columnSpec(table, c).type);
    for (let start = 0; start < rows.length; start += INSERT_BATCH) {
      const batch = rows.slice(start, start + INSERT_BATCH);
      const arrays = columns.map((_, i) =>
        batch.map((row) =>
          types[i] === "timestamp" && row[i] !== null ? new Date(row[i] as number).toISOString() : row[i],
        ),
      );
      const unnestArgs = join(
        arrays.map((values, i) => sql`${values as string[]}::${keyword(PG_ARRAY_TYPES[types[i]!])}`),
      );
      const target = join(columns.map((c) => ident(mapped.columns[c])));
      await this.query(
        sql`INSERT INTO ${ident(this.mapping.schema, mapped.table)} (${target}) SELECT * FROM unnest(${unnestArgs})`,
      );
    }
  }

  /**
   * In one transaction: the table emptied (or made anew when its columns differ) and the rows loaded
   * with COPY. Readers see the old rows until it commits, and views over the table keep working.
   */
  async replaceTable(table: OwnedTable, pages: AsyncIterable<readonly OwnedRow[]>): Promise<number> {
    const { transaction } = this.source;
    if (!transaction) throw new Error("this PostgreSQL source writes no tables");
    const { schema } = this.mapping;
    const target = ident(schema, table.name);
    const text = (query: Sql) => {
      const rendered = render(query, postgresDialect);
      return [rendered.text, rendered.params.map((p) => p.value)] as const;
    };
    let rows = 0;
    try {
      await transaction.call(this.source, async (tx) => {
        if (schema) await tx.query(...text(sql`CREATE SCHEMA IF NOT EXISTS ${ident(schema)}`));
        const existing = await tx.query(
          ...text(
            sql`SELECT column_name FROM information_schema.columns
                WHERE table_schema = COALESCE(${schema ?? null}::text, current_schema()) AND table_name = ${table.name}
                ORDER BY ordinal_position`,
          ),
        );
        const same =
          existing.length === table.columns.length &&
          existing.every((r, i) => r.column_name === table.columns[i]!.name);
        if (same) await tx.query(...text(sql`DELETE FROM ${target}`));
        else {
          await tx.query(...text(sql`DROP TABLE IF EXISTS ${target}`));
          await tx.query(...text(ownedTableSql(postgresDialect, schema, table)));
        }
        const columns = join(table.columns.map((c) => ident(c.name)));
        await tx.copyIn(
          text(sql`${target} (${columns})`)[0],
          (async function* () {
            for await (const page of pages) {
              rows += page.length;
              yield copyText(page);
            }
          })(),
        );
      });
    } catch (error) {
      throw unavailable(error);
    }
    return rows;
  }

  async close(): Promise<void> {
    await this.source.close();
  }
}

function isConnectionError(error: unknown): boolean {
  // Stryker disable next-line StringLiteral: a missing code need only match none of the codes, as any text does.
  const code = (error as { code?: string } | null)?.code ?? "";
  return code.startsWith("08") || code === "57P01" || code === "ECONNRESET" || code === "ECONNREFUSED";
}

/**
 * A failure to reach the server (refused, reset, shut down, a new connection not made within the pool's
 * timeout) as WarehouseUnavailableError, which clients see as WAREHOUSE_UNAVAILABLE. Waiting for a
 * connection of a full pool is not one: pg-pool says "timeout exceeded when trying to connect" for
 * that and "Connection terminated due to connection timeout" for a connect that hung, so the first
 * is WarehouseBusyError (back-pressure: not retried, not counted toward the circuit). Others unchanged.
 */
function unavailable(error: unknown): unknown {
  // Stryker disable next-line StringLiteral: a missing code need only match none of the codes, as any text does.
  const code = (error as { code?: string } | null)?.code ?? "";
  const message = error instanceof Error ? error.message : String(error);
  if (/timeout exceeded when trying to connect/i.test(message))
    return new WarehouseBusyError(`every PostgreSQL warehouse connection stayed busy: ${message}`, { cause: error });
  const reach =
    isConnectionError(error) ||
    ["ETIMEDOUT", "EHOSTUNREACH", "ENOTFOUND", "EPIPE"].includes(code) ||
    /Connection terminated/i.test(message);
  return reach
    ? new WarehouseUnavailableError(`PostgreSQL warehouse unreachable: ${message}`, { cause: error })
    : error;
}

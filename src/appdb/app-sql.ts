// SQL beside Prisma for what Prisma does not do well: bulk loading with COPY, set-based reads over many
// rows, and a lock that keeps several server instances from refreshing the state store at once. One
// interface over a PostgreSQL pool and the embedded PGlite.
import { Readable } from "node:stream";
import { pipeline } from "node:stream/promises";
import type { PGlite, Transaction } from "@electric-sql/pglite";
import type pg from "pg";
import { from as copyFrom } from "pg-copy-streams";
import { postgresDialect } from "../connectors/postgres.ts";
import { copyText } from "../sql/copy-text.ts";
import { render, type Sql } from "../sql/sql.ts";

export interface AppSqlSession {
  query<R = Record<string, unknown>>(text: string, params?: readonly unknown[]): Promise<R[]>;
  /**
   * Loads rows into a table with COPY: each row a list of values (null, number, string, boolean,
   * Date); `rows` is read as it is consumed, so a large load never sits whole in memory.
   */
  copyRows(table: string, columns: readonly string[], rows: AsyncIterable<readonly unknown[][]>): Promise<number>;
}

export interface AppSql extends AppSqlSession {
  /** `work` on one connection, in one transaction (rolled back when it throws). */
  transaction<T>(work: (tx: AppSqlSession) => Promise<T>): Promise<T>;
  /**
   * Runs `work` holding a lock no other holder of `key` has meanwhile, on any instance sharing this
   * database (a PostgreSQL session advisory lock on its own connection; PGlite has one process).
   * Returns undefined without running it when the lock is held elsewhere. `lost` aborts when the lock's
   * connection is lost (the lock is gone with it: work that needs it must stop).
   */
  withLock<T>(key: number, work: (lost: AbortSignal) => Promise<T>): Promise<{ value: T } | undefined>;
  /**
   * Calls `onNotify` for each NOTIFY on `channel` (from any instance sharing this database, delivered
   * at the notifying transaction's commit); resolves to the function that stops listening. On
   * PostgreSQL it holds one connection of the pool while listening; a lost connection is replaced (and
   * `onNotify("")` called then: something may have been missed meanwhile).
   */
  listen(channel: string, onNotify: (payload: string) => void): Promise<() => Promise<void>>;
}

const quoted = (name: string) => {
  if (!/^[a-z_][a-z0-9_]*$/.test(name)) throw new Error(`not a plain name: ${name}`);
  return `"${name}"`;
};

function copyStatement(table: string, columns: readonly string[], source: string): string {
  return `COPY ${quoted(table)} (${columns.map(quoted).join(", ")}) FROM ${source}`;
}

/** A pg client as a session. */
function pgSession(client: pg.PoolClient): AppSqlSession {
  return {
    query: async (text, params) => (await client.query(text, params as unknown[])).rows,
    copyRows: async (table, columns, rows) => {
      let count = 0;
      const lines = Readable.from(
        (async function* () {
          for await (const batch of rows) {
            count += batch.length;
            yield copyText(batch);
          }
        })(),
      );
      await pipeline(lines, client.query(copyFrom(copyStatement(table, columns, "STDIN"))));
      return count;
    },
  };
}

export function postgresAppSql(pool: pg.Pool): AppSql {
  const withClient = async <T>(work: (client: pg.PoolClient) => Promise<T>) => {
    const client = await pool.connect();
    try {
      return await work(client);
    } finally {
      client.release();
    }
  };
  return {
    query: async (text, params) => (await pool.query(text, params as unknown[])).rows,
    copyRows: (table, columns, rows) => withClient((client) => pgSession(client).copyRows(table, columns, rows)),
    transaction: (work) =>
      withClient(async (client) => {
        await client.query("BEGIN");
        try {
          const result = await work(pgSession(client));
          await client.query("COMMIT");
          return result;
        } catch (error) {
          await client.query("ROLLBACK").catch(() => {});
          throw error;
        }
      }),
    withLock: async (key, work) => {
      // The lock lives as long as this connection holds it: a killed process's lock ends with its
      // connection, so a refresh killed midway never keeps the others out.
      const client = await pool.connect();
      // A checked-out client has no error listener of the pool's: without this, a dropped connection
      // would be an uncaught error; with it, the work learns that the lock went with the connection.
      const lost = new AbortController();
      const onError = (error: Error) => {
        if (!lost.signal.aborted) lost.abort(error);
      };
      client.on("error", onError);
      try {
        const [row] = (await client.query("SELECT pg_try_advisory_lock($1) AS locked", [key])).rows;
        if (!row.locked) return undefined;
        try {
          return { value: await work(lost.signal) };
        } finally {
          if (!lost.signal.aborted) await client.query("SELECT pg_advisory_unlock($1)", [key]).catch(() => {});
        }
      } finally {
        client.off("error", onError);
        // A lost connection goes back as broken, so the pool does not hand it out again.
        client.release(lost.signal.aborted ? (lost.signal.reason as Error) : undefined);
      }
    },
    listen: async (channel, onNotify) => {
      let stopped = false;
      let current: pg.PoolClient | undefined;
      const handler = (message: pg.Notification) => {
        if (message.channel === channel) onNotify(message.payload ?? "");
      };
      const connect = async () => {
        const client = await pool.connect();
        client.on("notification", handler);
        // A checked-out client has no error listener of the pool's: a dropped connection is replaced.
        let gone = false;
        client.on("error", (error) => {
          if (gone) return;
          gone = true;
          client.off("notification", handler);
          client.release(error);
          if (current === client) current = undefined;
          void reconnect();
        });
        try {
          await client.query(`LISTEN ${quoted(channel)}`);
        } catch (error) {
          client.off("notification", handler);
          client.release(error as Error);
          throw error;
        }
        current = client;
      };
      const reconnect = async () => {
        while (!stopped && !current) {
          try {
            await connect();
            onNotify("");
          } catch {
            await new Promise((r) => setTimeout(r, 1_000).unref());
          }
        }
      };
      await connect();
      return async () => {
        stopped = true;
        const client = current;
        current = undefined;
        if (!client) return;
        client.off("notification", handler);
        await client.query(`UNLISTEN ${quoted(channel)}`).catch(() => {});
        client.release();
      };
    },
  };
}

/** PGlite as a session: COPY reads a Blob, so rows are loaded a batch at a time. */
function pgliteSession(db: PGlite | Transaction): AppSqlSession {
  return {
    query: async (text, params) => (await db.query(text, params as unknown[])).rows as never,
    copyRows: async (table, columns, rows) => {
      let count = 0;
      for await (const batch of rows) {
        if (batch.length === 0) continue;
        count += batch.length;
        await db.query(copyStatement(table, columns, "'/dev/blob'"), [], { blob: new Blob([copyText(batch)]) });
      }
      return count;
    },
  };
}

export function pgliteAppSql(db: PGlite): AppSql {
  const held = new Set<number>();
  return {
    ...pgliteSession(db),
    transaction: (work) => db.transaction((tx) => work(pgliteSession(tx))),
    withLock: async (key, work) => {
      if (held.has(key)) return undefined;
      held.add(key);
      try {
        // One process, no connection to lose.
        return { value: await work(new AbortController().signal) };
      } finally {
        held.delete(key);
      }
    },
    listen: async (channel, onNotify) => {
      const stop = await db.listen(channel, onNotify);
      return async () => stop();
    },
  };
}

/** A DATE column as "YYYY-MM-DD" whichever way the driver returns it (pg: a Date at UTC midnight; PGlite alike). */
export function storedDay(v: unknown): string | null {
  return v === null || v === undefined
    ? null
    : v instanceof Date
      ? v.toISOString().slice(0, 10)
      : String(v).slice(0, 10);
}

/** Runs SQL made with the sql builder (values bound) in the app database's dialect, PostgreSQL's. */
export function queryBuilt<R = Record<string, unknown>>(session: AppSqlSession, query: Sql): Promise<R[]> {
  const { text, params } = render(query, postgresDialect);
  return session.query<R>(
    text,
    params.map((p) => p.value),
  );
}

// A PostgreSQL warehouse behind a real pg-pool whose every query takes at least `delayMs`: the pool's
// own queueing and timeouts, with the latency of a busy server. On a fresh machine the connections are
// stand-ins that run their SQL on one embedded PGlite; with TEST_DATABASE_URL they are real connections
// to a schema of their own on that server.
import { EventEmitter } from "node:events";
import { setTimeout as sleep } from "node:timers/promises";
import { PGlite } from "@electric-sql/pglite";
import pg from "pg";
import { DEFAULT_MAPPING, resolveMapping } from "../../src/sql/contract.ts";
import { pgliteSource, pgPoolSource, PostgresConnector } from "../../src/connectors/postgres.ts";
import { ident, sql } from "../../src/sql/sql.ts";
import { TEST_DATABASE_URL, testName, type TestWarehouse } from "./databases.ts";

export interface SlowPool {
  /** Milliseconds every query waits before it runs (0 while loading data). */
  delayMs: number;
  /** Queries running or waiting on a connection right now, and the most seen at once. */
  readonly running: { now: number; most: number };
}

export interface SlowPoolOptions {
  readonly connections: number;
  /** pg-pool's connectionTimeoutMillis: how long a query waits for a connection of a full pool. */
  readonly connectionTimeoutMs: number;
}

/** Opens the slow warehouse; `pool.delayMs` can be changed at any time. */
export async function openSlowPoolWarehouse(
  options: SlowPoolOptions,
): Promise<{ warehouse: TestWarehouse; pool: SlowPool }> {
  const pool: SlowPool = { delayMs: 0, running: { now: 0, most: 0 } };
  const delayed = async <T>(run: () => Promise<T>): Promise<T> => {
    pool.running.now += 1;
    pool.running.most = Math.max(pool.running.most, pool.running.now);
    try {
      if (pool.delayMs > 0) await sleep(pool.delayMs);
      return await run();
    } finally {
      pool.running.now -= 1;
    }
  };
  const poolOptions = { max: options.connections, connectionTimeoutMillis: options.connectionTimeoutMs };
  if (TEST_DATABASE_URL) {
    class SlowClient extends pg.Client {
      override query(...args: unknown[]): never {
        const run = () => (super.query as (...a: unknown[]) => Promise<unknown>).apply(this, args);
        return delayed(run) as never;
      }
    }
    const schema = testName();
    const connector = new PostgresConnector(
      pgPoolSource(TEST_DATABASE_URL, { ...poolOptions, Client: SlowClient as never }),
      resolveMapping({ schema }),
    );
    const close = connector.close.bind(connector);
    const warehouse = Object.assign(connector, {
      label: "postgres-slow-pool",
      close: async () => {
        pool.delayMs = 0;
        await connector.query(sql`DROP SCHEMA IF EXISTS ${ident(schema)} CASCADE`);
        await close();
      },
    });
    return { warehouse, pool };
  }
  const db = await PGlite.create("memory://");
  const embedded = await pgliteSource(db);
  /** A connection as pg-pool sees one, running its SQL on the shared PGlite. */
  class StandInClient extends EventEmitter {
    static nextPid = 1;
    readonly processID = StandInClient.nextPid++;
    _queryable = true;
    _ending = false;
    connect(callback: (error: Error | null) => void): void {
      setImmediate(() => callback(null));
    }
    query(text: string, values?: unknown[], callback?: (error: Error | null, result?: unknown) => void) {
      // A cancel (pg_cancel_backend) has no server to reach here; the delay is the query's whole life.
      const result = /pg_cancel_backend/.test(text)
        ? Promise.resolve({ rows: [] })
        : delayed(() => embedded.query(text, values ?? [])).then((rows) => ({ rows }));
      // pg-pool's own pool.query passes a callback, as node-postgres allows.
      if (callback)
        void result.then(
          (r) => callback(null, r),
          (e: Error) => callback(e),
        );
      return result;
    }
    end(callback?: () => void): Promise<void> {
      this._ending = true;
      callback?.();
      return Promise.resolve();
    }
    ref(): void {}
    unref(): void {}
  }
  const connector = new PostgresConnector(
    pgPoolSource("postgresql://stand-in@127.0.0.1:1/pglite", { ...poolOptions, Client: StandInClient as never }),
    DEFAULT_MAPPING,
  );
  const close = connector.close.bind(connector);
  const warehouse = Object.assign(connector, {
    label: "pglite-slow-pool",
    close: async () => {
      await close();
      await db.close();
    },
  });
  return { warehouse, pool };
}

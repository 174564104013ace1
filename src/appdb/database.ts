// The app database (saved segments and other app state): PostgreSQL when DATABASE_URL is set,
// otherwise an embedded PGlite store. Both are migrated on open and reached through Prisma.
import { existsSync, mkdirSync } from "node:fs";
import { PGlite } from "@electric-sql/pglite";
import { PrismaPg } from "@prisma/adapter-pg";
import { PrismaClient } from "@prisma/client";
import type { SqlDriverAdapterFactory } from "@prisma/driver-adapter-utils";
import pg from "pg";
import { PrismaPGlite } from "pglite-prisma-adapter";
import { lockStore } from "./store-lock.ts";
import { pgliteAppSql, postgresAppSql, type AppSql } from "./app-sql.ts";
import { migrate } from "./migrate.ts";

export interface AppDatabase {
  readonly prisma: PrismaClient;
  readonly kind: "postgres" | "pglite";
  /** SQL beside Prisma: COPY, set-based reads, the refresh lock (the state store's tables). */
  readonly sql: AppSql;
  ping(): Promise<void>;
  close(): Promise<void>;
}

export class AppDatabaseUnreachableError extends Error {
  override name = "AppDatabaseUnreachableError";
}

/** `dataDir` "memory://" keeps the embedded store in memory (tests). */
export async function openAppDatabase(options: { databaseUrl?: string; dataDir: string }): Promise<AppDatabase> {
  return options.databaseUrl ? openPostgres(options.databaseUrl) : openPGlite(options.dataDir);
}

function describeUrl(url: string): string {
  const u = new URL(url);
  return `${u.hostname}:${u.port || 5432}${u.pathname}`;
}

const DATE_OID = 1082;

/**
 * A DATE read as the "YYYY-MM-DD" it is: node-postgres would make it midnight in the process' time
 * zone, which east of UTC is the day before in UTC, the day storedDay (app-sql.ts) would read.
 * Prisma's adapter sets its own parsers per query.
 */
const appTypes: pg.CustomTypesConfig = {
  getTypeParser: ((oid: number, format?: "text" | "binary") =>
    oid === DATE_OID
      ? (value: string) => value
      : pg.types.getTypeParser(oid, format)) as pg.CustomTypesConfig["getTypeParser"],
};

async function openPostgres(url: string): Promise<AppDatabase> {
  const pool = new pg.Pool({
    connectionString: url,
    types: appTypes,
    max: 10,
    connectionTimeoutMillis: 5_000,
    application_name: "clm-graphql-app",
    // The state store's dashboard questions over a large state (stageTransitions, stageTimings) cost
    // above jit_above_cost, and LLVM's compiling took longer than it saved: at 1M, 770-810 ms with JIT,
    // 625-655 ms without. Set per session, before the pool hands the client out, rather than as a
    // startup option, which would replace the operator's PGOPTIONS and which connection poolers refuse;
    // a failure only leaves JIT as configured.
    onConnect: async (client) => {
      await client.query("SET jit = off").catch(() => {});
    },
  });
  pool.on("error", () => {});
  let client: pg.PoolClient;
  try {
    client = await pool.connect();
  } catch (error) {
    await pool.end().catch(() => {});
    const reason = (error as NodeJS.ErrnoException).code ?? (error as Error).message;
    throw new AppDatabaseUnreachableError(`DATABASE_URL cannot be reached (${reason} at ${describeUrl(url)})`);
  }
  try {
    await migrate({
      exec: async (script) => void (await client.query(script)),
      query: async (text, params) => (await client.query(text, params)).rows,
    });
  } finally {
    client.release();
  }
  const prisma = new PrismaClient({ adapter: new PrismaPg(pool) });
  return {
    prisma,
    kind: "postgres",
    sql: postgresAppSql(pool),
    ping: async () => void (await pool.query("SELECT 1")),
    close: async () => {
      await prisma.$disconnect();
      await pool.end();
    },
  };
}

async function openPGlite(dataDir: string): Promise<AppDatabase> {
  let location = dataDir;
  let unlock = () => {};
  if (!dataDir.startsWith("memory://")) {
    location = `${dataDir.replace(/\/$/, "")}/appdb`;
    mkdirSync(location, { recursive: true });
    unlock = lockStore(`${location}/clm.lock`, `the embedded app database ${location}`);
  }
  try {
    return await openPGliteAt(location, unlock);
  } catch (error) {
    unlock();
    throw error;
  }
}

async function openPGliteAt(location: string, unlock: () => void): Promise<AppDatabase> {
  // Postgres' default 128MB of shared buffers sit in PGlite's WebAssembly memory, which never shrinks;
  // the app's few tables need far less (bench/README.md, "PGlite memory").
  const options = { startParams: [...PGlite.defaultStartParams, "-c", "shared_buffers=16MB"] };
  const fresh = !location.startsWith("memory://") && !existsSync(`${location}/PG_VERSION`);
  let pglite = await PGlite.create(location, options);
  if (fresh) {
    // Creating the cluster (initdb) grows the WebAssembly memory, kept for the life of the instance; a
    // server's first start would hold it until restarted. Opening the new cluster again starts from
    // PGlite's minimum (bench/README.md, "PGlite memory").
    await pglite.close();
    pglite = await PGlite.create(location, options);
  }
  await migrate({
    exec: async (script) => void (await pglite.exec(script)),
    query: async (text, params) => (await pglite.query(text, params)).rows as never,
  });
  // The 0.6 adapter is typed against an older driver-adapter-utils; at run time it is a valid factory.
  const adapter = new PrismaPGlite(pglite) as unknown as SqlDriverAdapterFactory;
  const prisma = new PrismaClient({ adapter });
  return {
    prisma,
    kind: "pglite",
    sql: pgliteAppSql(pglite),
    ping: async () => void (await pglite.query("SELECT 1")),
    close: async () => {
      try {
        await prisma.$disconnect();
        await pglite.close();
      } finally {
        unlock();
      }
    },
  };
}

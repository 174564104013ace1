// Driver adapters for the Prisma CLI only (`prisma migrate diff|status|deploy`, `db push`), loaded by
// prisma.config.ts. The server applies migrations itself (./migrate.ts) and needs none of this.
import { randomUUID } from "node:crypto";
import { PGlite } from "@electric-sql/pglite";
import { PrismaPg } from "@prisma/adapter-pg";
import type { SqlMigrationAwareDriverAdapterFactory } from "@prisma/driver-adapter-utils";
import pg from "pg";
import { PrismaPGlite } from "pglite-prisma-adapter";

// The schema engine reads catalog columns of type `name` and `"char"`, which the pg adapter cannot
// deserialize (an open Prisma issue). Reporting them as `text` is what the engine expects anyway.
const CATALOG_TYPE_AS_TEXT: Record<number, number> = { 19: 25, 18: 25, 1003: 1009, 1002: 1009 };

class CatalogTextClient extends pg.Client {
  // pg's overloads cannot be re-declared one by one; the wrapper only post-processes results, whether
  // they come back as a promise or (through pg.Pool.query) to a callback.
  override query(...args: unknown[]): any {
    const last = args[args.length - 1];
    if (typeof last === "function") {
      args[args.length - 1] = (error: Error | null, result: pg.QueryResult) => last(error, result && asText(result));
    }
    const result = (super.query as (...a: unknown[]) => unknown)(...args);
    return result instanceof Promise ? result.then(asText) : result;
  }
}

function asText(result: pg.QueryResult): pg.QueryResult {
  for (const field of result.fields ?? []) {
    field.dataTypeID = CATALOG_TYPE_AS_TEXT[field.dataTypeID] ?? field.dataTypeID;
  }
  return result;
}

// The stock adapter drops its shadow database while its own pool still holds a connection to it, which
// PostgreSQL refuses; this one closes the pool first.
class ShadowSafePrismaPg extends PrismaPg {
  constructor(private readonly poolConfig: pg.PoolConfig) {
    super(poolConfig);
  }

  override async connectToShadowDb() {
    const admin = await this.connect();
    const database = `prisma_shadow_${randomUUID().replace(/-/g, "")}`;
    await admin.executeScript(`CREATE DATABASE "${database}"`);
    const pool = new pg.Pool({ ...this.poolConfig, database });
    const shadow = await new PrismaPg(pool).connect();
    return Object.assign(shadow, {
      dispose: async () => {
        await pool.end();
        await admin.executeScript(`DROP DATABASE IF EXISTS "${database}"`);
        await admin.dispose();
      },
    });
  }
}

export function cliAdapterFor(databaseUrl: string): SqlMigrationAwareDriverAdapterFactory {
  if (databaseUrl.startsWith("pglite:") || databaseUrl.includes("clm_unused")) {
    // An in-memory PGlite: enough for `migrate diff --from-migrations` without any server.
    return new PrismaPGlite(new PGlite()) as unknown as SqlMigrationAwareDriverAdapterFactory;
  }
  const url = new URL(databaseUrl);
  return new ShadowSafePrismaPg({
    Client: CatalogTextClient as unknown as typeof pg.Client,
    host: url.hostname,
    port: Number(url.port || 5432),
    user: decodeURIComponent(url.username) || undefined,
    password: decodeURIComponent(url.password) || undefined,
    database: url.pathname.slice(1) || undefined,
  });
}

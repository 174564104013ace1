// Driver adapters for the Prisma CLI only (`prisma migrate diff|status|deploy`, `db push`), loaded by
// prisma.config.ts. The server applies migrations itself (./migrate.ts) and needs none of this.
import { PGlite } from "@electric-sql/pglite";
import { PrismaPg } from "@prisma/adapter-pg";
import type { SqlMigrationAwareDriverAdapterFactory } from "@prisma/driver-adapter-utils";
import pg from "pg";
import { PrismaPGlite } from "pglite-prisma-adapter";

// The schema engine reads catalog columns of type `name` and `"char"`, which the pg adapter cannot
// deserialize (an open Prisma issue). Reporting them as `text` is what the engine expects anyway.
const CATALOG_TYPE_AS_TEXT: Record<number, number> = { 19: 25, 18: 25, 1003: 1009, 1002: 1009 };

class CatalogTextClient extends pg.Client {
  // pg's overloads cannot be re-declared one by one; the wrapper only post-processes results.
  override query(...args: unknown[]): any {
    const result = (super.query as (...a: unknown[]) => unknown)(...args);
    if (result instanceof Promise) {
      return result.then((r: pg.QueryResult) => {
        for (const field of r.fields ?? []) {
          field.dataTypeID = CATALOG_TYPE_AS_TEXT[field.dataTypeID] ?? field.dataTypeID;
        }
        return r;
      });
    }
    return result;
  }
}

export function cliAdapterFor(databaseUrl: string): SqlMigrationAwareDriverAdapterFactory {
  if (databaseUrl.startsWith("pglite:") || databaseUrl.includes("clm_unused")) {
    // An in-memory PGlite: enough for `migrate diff --from-migrations` without any server.
    return new PrismaPGlite(new PGlite()) as unknown as SqlMigrationAwareDriverAdapterFactory;
  }
  const url = new URL(databaseUrl);
  return new PrismaPg({
    Client: CatalogTextClient as unknown as typeof pg.Client,
    host: url.hostname,
    port: Number(url.port || 5432),
    user: decodeURIComponent(url.username) || undefined,
    password: decodeURIComponent(url.password) || undefined,
    database: url.pathname.slice(1) || undefined,
  });
}

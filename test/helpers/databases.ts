// Databases for tests: embedded by default; a real PostgreSQL server when TEST_DATABASE_URL is set.
// Every database or schema a test creates has a clm_test_ name, and only such names are ever dropped.
import { randomBytes } from "node:crypto";
import { PGlite } from "@electric-sql/pglite";
import pg from "pg";
import { DEFAULT_MAPPING, resolveMapping, type LogicalTable } from "../../src/sql/contract.ts";
import { DuckDBConnector } from "../../src/connectors/duckdb.ts";
import { pgliteSource, pgPoolSource, PostgresConnector } from "../../src/connectors/postgres.ts";
import { ident, sql } from "../../src/sql/sql.ts";
import type { ContractRow, WarehouseConnector, WarehouseWriter } from "../../src/connectors/connector.ts";
import { openAppDatabase, type AppDatabase } from "../../src/appdb/database.ts";

export const TEST_DATABASE_URL = process.env.TEST_DATABASE_URL || undefined;

const TEST_NAME = /^clm_test_[a-z0-9_]+$/;

export function testName(): string {
  return `clm_test_${process.pid}_${randomBytes(4).toString("hex")}`;
}

function assertTestName(name: string): void {
  if (!TEST_NAME.test(name)) throw new Error(`refusing to drop ${name}: not a test database or schema`);
}

export function withDatabase(url: string, database: string): string {
  const u = new URL(url);
  u.pathname = `/${database}`;
  return u.toString();
}

export async function adminQuery(text: string): Promise<void> {
  const client = new pg.Client({ connectionString: TEST_DATABASE_URL });
  await client.connect();
  try {
    await client.query(text);
  } finally {
    await client.end();
  }
}

export interface TestAppDatabase extends AppDatabase {
  readonly label: string;
  /** The URL of a fresh database on the server, when one is used. */
  readonly url: string | undefined;
}

/** A fresh, migrated app database: PGlite in memory, or a new database on TEST_DATABASE_URL's server. */
export async function openTestAppDatabase(): Promise<TestAppDatabase> {
  if (!TEST_DATABASE_URL) {
    const db = await openAppDatabase({ dataDir: "memory://" });
    return Object.assign(db, { label: "pglite", url: undefined });
  }
  const name = testName();
  assertTestName(name);
  await adminQuery(`CREATE DATABASE ${name}`);
  const url = withDatabase(TEST_DATABASE_URL, name);
  const db = await openAppDatabase({ databaseUrl: url, dataDir: "" });
  return {
    ...db,
    label: "postgres",
    url,
    close: async () => {
      await db.close();
      await adminQuery(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
    },
  };
}

export type TestWarehouse = WarehouseConnector & WarehouseWriter & { readonly label: string };

export interface WarehouseFactory {
  readonly label: string;
  open(options?: { schema?: string }): Promise<TestWarehouse>;
}

/** The warehouses every connector test runs against: DuckDB always, PostgreSQL when a server is given. */
export function testWarehouses(): WarehouseFactory[] {
  const factories: WarehouseFactory[] = [
    {
      label: "duckdb",
      open: async () => Object.assign(await DuckDBConnector.open(undefined, DEFAULT_MAPPING), { label: "duckdb" }),
    },
  ];
  if (!TEST_DATABASE_URL) {
    // No server: the PostgreSQL dialect still runs, on an embedded PGlite.
    factories.push({
      label: "pglite",
      open: async () => {
        const connector = new PostgresConnector(await pgliteSource(await PGlite.create("memory://")), DEFAULT_MAPPING);
        return Object.assign(connector, { label: "pglite" });
      },
    });
  } else {
    factories.push({
      label: "postgres",
      open: async () => {
        const schema = testName();
        const connector = new PostgresConnector(pgPoolSource(TEST_DATABASE_URL!), resolveMapping({ schema }));
        const close = connector.close.bind(connector);
        return Object.assign(connector, {
          label: "postgres",
          close: async () => {
            assertTestName(schema);
            await connector.query(sql`DROP SCHEMA IF EXISTS ${ident(schema)} CASCADE`);
            await close();
          },
        });
      },
    });
  }
  return factories;
}

/** A warehouse from `factory` with fresh contract tables holding `rows` (tables not named stay empty). */
export async function filledWarehouse(
  factory: WarehouseFactory,
  rows: Partial<Record<LogicalTable, readonly ContractRow[]>>,
): Promise<TestWarehouse> {
  const warehouse = await factory.open();
  await warehouse.createTables({ replace: true });
  for (const [table, tableRows] of Object.entries(rows)) await warehouse.append(table as LogicalTable, tableRows!);
  return warehouse;
}

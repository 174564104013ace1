// prisma/migrations applied on start with `prisma migrate deploy` semantics, on every app store.
import { PGlite } from "@electric-sql/pglite";
import pg from "pg";
import { afterEach, describe, expect, it } from "vitest";
import { migrate, MigrationError, readMigrations, type MigrationSession } from "../../src/appdb/migrate.ts";
import { TEST_DATABASE_URL, testName, withDatabase } from "../helpers/databases.ts";

interface Store {
  session: MigrationSession;
  close(): Promise<void>;
}

const stores: { label: string; open(): Promise<Store> }[] = [
  {
    label: "pglite",
    open: async () => {
      const db = await PGlite.create("memory://");
      return {
        session: {
          exec: async (script) => void (await db.exec(script)),
          query: async (text, params) => (await db.query(text, params)).rows as never,
        },
        close: () => db.close(),
      };
    },
  },
];
if (TEST_DATABASE_URL) {
  stores.push({
    label: "postgres",
    open: async () => {
      const name = testName();
      const admin = new pg.Client({ connectionString: TEST_DATABASE_URL });
      await admin.connect();
      await admin.query(`CREATE DATABASE ${name}`);
      const client = new pg.Client({ connectionString: withDatabase(TEST_DATABASE_URL!, name) });
      await client.connect();
      return {
        session: {
          exec: async (script) => void (await client.query(script)),
          query: async (text, params) => (await client.query(text, params)).rows,
        },
        close: async () => {
          await client.end();
          await admin.query(`DROP DATABASE ${name} WITH (FORCE)`);
          await admin.end();
        },
      };
    },
  });
}

describe.each(stores)("migrations on $label", ({ open }) => {
  let store: Store | undefined;
  afterEach(async () => {
    await store?.close();
    store = undefined;
  });

  it("applies each committed migration once, recorded as Prisma records it", async () => {
    store = await open();
    const committed = readMigrations();
    expect(committed.map((m) => m.name)).toContain("20261123000000_init");
    expect(await migrate(store.session)).toEqual(committed.map((m) => m.name));
    expect(await migrate(store.session)).toEqual([]);
    const rows = await store.session.query<{ migration_name: string; checksum: string; applied_steps_count: number }>(
      `SELECT migration_name, checksum, applied_steps_count FROM "_prisma_migrations" ORDER BY migration_name`,
    );
    expect(rows).toEqual(
      committed.map((m) => ({ migration_name: m.name, checksum: m.checksum, applied_steps_count: 1 })),
    );
    const tables = await store.session.query<{ table_name: string }>(
      `SELECT table_name FROM information_schema.tables WHERE table_schema = 'public' ORDER BY table_name`,
    );
    expect(tables.map((t) => t.table_name)).toEqual([
      "_prisma_migrations",
      "api_key",
      "customer_clv",
      "customer_state",
      "lifecycle_event",
      "segment",
      "segment_member",
      "segment_tracking",
      "segment_version",
      "stage_day_count",
      "stage_spell",
      "state_pointer",
      "state_recent_activity",
      "state_refresh",
      "webhook_attempt",
      "webhook_endpoint",
    ]);
  });

  it("refuses a migration edited after it was applied", async () => {
    store = await open();
    const [first] = readMigrations();
    await migrate(store.session, [first!]);
    await expect(migrate(store.session, [{ ...first!, checksum: "0".repeat(64) }])).rejects.toThrow(
      /was changed after it was applied/,
    );
  });

  it("refuses a database migrated by a newer version", async () => {
    store = await open();
    const [first] = readMigrations();
    await migrate(store.session, [
      first!,
      { name: "29990101000000_future", script: "SELECT 1", checksum: "f".repeat(64) },
    ]);
    await expect(migrate(store.session, [first!])).rejects.toThrow(/does not know: 29990101000000_future/);
  });

  it("rolls a failing migration back whole and records nothing", async () => {
    store = await open();
    const broken = {
      name: "20990101000000_broken",
      script: 'CREATE TABLE "half" (id int); SELECT * FROM no_such_table;',
      checksum: "a".repeat(64),
    };
    await expect(migrate(store.session, [broken])).rejects.toThrow(MigrationError);
    const half = await store.session.query(`SELECT 1 FROM information_schema.tables WHERE table_name = 'half'`);
    expect(half).toEqual([]);
    expect(await store.session.query(`SELECT * FROM "_prisma_migrations"`)).toEqual([]);
  });
});

describe.skipIf(!TEST_DATABASE_URL)("migrations from several processes at once", () => {
  it("lets one apply them while the others wait, on a database that has never been migrated", async () => {
    // Servers started together on a new database all create the bookkeeping table; done outside the
    // lock, two CREATE TABLE IF NOT EXISTS race in the catalogue and one fails.
    const name = testName();
    const admin = new pg.Client({ connectionString: TEST_DATABASE_URL });
    await admin.connect();
    await admin.query(`CREATE DATABASE ${name}`);
    const clients = Array.from(
      { length: 6 },
      () => new pg.Client({ connectionString: withDatabase(TEST_DATABASE_URL!, name) }),
    );
    try {
      await Promise.all(clients.map((c) => c.connect()));
      const applied = await Promise.all(
        clients.map((client) =>
          migrate({
            exec: async (script) => void (await client.query(script)),
            query: async (text, params) => (await client.query(text, params)).rows,
          }),
        ),
      );
      const committed = readMigrations().map((m) => m.name);
      expect(applied.filter((names) => names.length > 0)).toEqual([committed]);
    } finally {
      await Promise.all(clients.map((c) => c.end()));
      await admin.query(`DROP DATABASE ${name} WITH (FORCE)`);
      await admin.end();
    }
  });
});

// A calendar day read from the app database is the day stored, whatever the server process' time zone.
// node-postgres turns a DATE into local midnight, so a server east of UTC (Berlin, Auckland) read every
// day of the state store one day early (its state day, stage histories, next change days). Runs on the
// app database of the run: PGlite, or PostgreSQL when TEST_DATABASE_URL is set (CI).
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { storedDay } from "../../src/appdb/app-sql.ts";
import { openTestAppDatabase, type TestAppDatabase } from "../helpers/databases.ts";

const ZONES = ["Pacific/Auckland", "Europe/Berlin", "UTC", "America/Los_Angeles", "Pacific/Honolulu"];

describe("days read from the app database", () => {
  let db: TestAppDatabase;
  const zoneBefore = process.env.TZ;

  beforeAll(async () => {
    db = await openTestAppDatabase();
  });

  afterAll(async () => {
    if (zoneBefore === undefined) delete process.env.TZ;
    else process.env.TZ = zoneBefore;
    await db?.close();
  });

  it.each(ZONES)("are the days stored when the process runs in %s", async (zone) => {
    process.env.TZ = zone;
    const rows = await db.sql.query(
      `SELECT d::date AS day FROM (VALUES ('2026-01-01'), ('2026-03-29'), ('2026-06-30'), ('2026-12-31')) AS t(d)`,
    );
    expect(rows.map((r) => storedDay(r.day))).toEqual(["2026-01-01", "2026-03-29", "2026-06-30", "2026-12-31"]);
  });
});

describe("the app database's sessions", () => {
  it("run without JIT compilation (PostgreSQL: turned off; PGlite: none to run)", async () => {
    const db = await openTestAppDatabase();
    try {
      const [row] = await db.sql.query(`SELECT current_setting('jit') AS jit, pg_jit_available() AS available`);
      if (db.url) expect(row!.jit).toBe("off");
      else expect(row!.available).toBe(false);
    } finally {
      await db.close();
    }
  });
});

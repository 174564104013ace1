// Following the outbox: a follower hears of events at the commit of the transaction that wrote them
// (NOTIFY, here with the slow poll set to a minute, so only the notification can wake it), from
// another instance's connection on PostgreSQL; it starts after a position, skips what its filter
// leaves out, and ends when its signal aborts.
import pg from "pg";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { postgresAppSql, type AppSql } from "../../src/appdb/app-sql.ts";
import { EventFeed } from "../../src/services/events/event-feed.ts";
import { EVENTS_CHANNEL, type LifecycleEvent } from "../../src/services/events/outbox.ts";
import { openTestAppDatabase, type TestAppDatabase } from "../helpers/databases.ts";

describe("following the outbox", () => {
  let db: TestAppDatabase;
  /** The writing side: another pool on PostgreSQL (another instance), the same database on PGlite. */
  let writer: AppSql;
  let pool: pg.Pool | undefined;
  let n = 0;
  const write = (rows: [customer: string, to: string][]) =>
    writer.transaction(async (tx) => {
      for (const [customer, to] of rows)
        await tx.query(
          `INSERT INTO lifecycle_event (id, type, customer_id, day, from_stage, to_stage, generation)
           VALUES ($1, 'stage.changed', $2, DATE '2026-01-01', NULL, $3, 1)`,
          [`evt_feed_${++n}`, customer, to],
        );
      await tx.query(`SELECT pg_notify($1, '1')`, [EVENTS_CHANNEL]);
    });

  beforeAll(async () => {
    db = await openTestAppDatabase();
    if (db.url) {
      pool = new pg.Pool({ connectionString: db.url, max: 2 });
      writer = postgresAppSql(pool);
    } else writer = db.sql;
  });
  afterAll(async () => {
    await pool?.end();
    await db?.close();
  });

  it("wakes at the writer's commit, after the position it started from, filtered", async () => {
    await write([["old", "new"]]);
    const feed = new EventFeed(async () => db.sql, { pollMs: 60_000 });
    const stop = new AbortController();
    const got: LifecycleEvent[] = [];
    const following = (async () => {
      for await (const e of feed.follow(undefined, { toStages: ["at_risk"] }, stop.signal)) {
        got.push(e);
        if (got.length === 2) stop.abort();
      }
    })();
    // Let it read where the outbox ends and start listening.
    await new Promise((r) => setTimeout(r, 300));
    const committed = Date.now();
    await write([
      ["a", "new"],
      ["b", "at_risk"],
    ]);
    await new Promise((r) => setTimeout(r, 200));
    await write([["c", "at_risk"]]);
    await Promise.race([
      following,
      new Promise((_, reject) => setTimeout(() => reject(new Error("not woken")), 5_000)),
    ]);
    expect(got.map((e) => [e.customerId, e.toStage])).toEqual([
      ["b", "at_risk"],
      ["c", "at_risk"],
    ]);
    expect(Date.now() - committed).toBeLessThan(5_000);
    await feed.close();
  });

  it.skipIf(!process.env.TEST_DATABASE_URL)(
    "listens again when its connection is lost, and wakes its followers then",
    async () => {
      const feed = new EventFeed(async () => db.sql, { pollMs: 60_000 });
      const stop = new AbortController();
      const got: LifecycleEvent[] = [];
      const following = (async () => {
        for await (const e of feed.follow(undefined, { customerId: "after-loss" }, stop.signal)) {
          got.push(e);
          stop.abort();
        }
      })();
      await new Promise((r) => setTimeout(r, 300));
      // The listening connection dies (a restart, a failover): no crash, a new one listens.
      const { rows } = await pool!.query<{ n: number }>(
        `SELECT COUNT(pg_terminate_backend(pid))::int AS n FROM pg_stat_activity
         WHERE datname = current_database() AND query LIKE 'LISTEN%'`,
      );
      expect(rows[0]!.n).toBeGreaterThan(0);
      await new Promise((r) => setTimeout(r, 1_500));
      await write([["after-loss", "at_risk"]]);
      await Promise.race([
        following,
        new Promise((_, reject) => setTimeout(() => reject(new Error("not woken")), 5_000)),
      ]);
      expect(got.map((e) => e.customerId)).toEqual(["after-loss"]);
      await feed.close();
    },
  );

  it("ends when its signal aborts while waiting", async () => {
    const feed = new EventFeed(async () => db.sql, { pollMs: 60_000 });
    const stop = new AbortController();
    const following = (async () => {
      for await (const _ of feed.follow(undefined, {}, stop.signal)) void _;
    })();
    await new Promise((r) => setTimeout(r, 100));
    stop.abort();
    await following;
    await feed.close();
  });
});

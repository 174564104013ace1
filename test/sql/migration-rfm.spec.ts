// The migration that replaces the per-buyer RFM rows by the bounds in the pointer gives a state published
// before it the bounds of its stored scores: every buyer scores from them what their row said. The rows
// are made as the refresh wrote them before (the quintiles of lifecycle/rfm.ts over the stored state),
// on random buyers with many ties.
import { PGlite } from "@electric-sql/pglite";
import fc from "fast-check";
import { expect, it } from "vitest";
import { postgresDialect } from "../../src/connectors/postgres.ts";
import { addDays, daysBetween } from "../../src/lifecycle/calendar.ts";
import { monetaryKey, monetaryKeySql, quintileSql, rfmScoreOf, type RfmBounds } from "../../src/lifecycle/rfm.ts";
import { cast, render, sql } from "../../src/sql/sql.ts";
import { applyMigration, applyMigrationsBefore } from "../helpers/migrations.ts";

const MIGRATION = "20261212000000_rfm_bounds";
const STATE_DAY = "2026-06-30";

/** customer_rfm as the refresh wrote it before this migration. */
const OLD_RFM_ROWS = render(
  sql`INSERT INTO customer_rfm (rows_generation, customer_id, recency, frequency, monetary)
SELECT 2, f.customer_id, ${quintileSql(sql`f.recency_days DESC`)}, ${quintileSql(sql`f.purchase_days ASC`)},
       ${quintileSql(sql`${monetaryKeySql(sql`f.revenue`)} ASC`)}
FROM (SELECT customer_id, ${cast(STATE_DAY, "date")} - last_purchase_date AS recency_days, purchase_days, revenue
      FROM customer_state WHERE rows_generation = 2 AND purchase_days >= 1) AS f`,
  postgresDialect,
);

const buyer = fc.record({
  recency: fc.integer({ min: 0, max: 40 }),
  purchaseDays: fc.integer({ min: 1, max: 6 }),
  // Cents, with amounts that add up unevenly in floating point.
  revenue: fc.integer({ min: 0, max: 3_000 }).map((c) => c / 100 + 0.1 + 0.2 - 0.3),
});

it("gives a served state the bounds of its stored RFM scores", async () => {
  const db = await PGlite.create("memory://");
  try {
    await applyMigrationsBefore(db, MIGRATION);
    await fc.assert(
      fc.asyncProperty(fc.array(buyer, { minLength: 1, maxLength: 40 }), fc.nat(5), async (buyers, prospects) => {
        // Each case runs in a transaction rolled back at its end: the migration is undone with it.
        await db.exec("BEGIN");
        try {
          await db.query(
            `INSERT INTO state_pointer (id, generation, rows_generation, state_day, model_hash, stage_keys, published_at)
             VALUES (1, 3, 2, $1, 'h', '[]', now())`,
            [STATE_DAY],
          );
          const rows = [
            ...buyers.map((b, i) => [`b${i}`, b.purchaseDays, addDays(STATE_DAY, -b.recency), b.revenue]),
            ...Array.from({ length: prospects }, (_, i) => [`p${i}`, 0, null, 0]),
          ];
          for (const [id, days, last, revenue] of rows)
            await db.query(
              `INSERT INTO customer_state (rows_generation, customer_id, stage, furthest, stage_since, first_seen_date,
                 last_purchase_date, purchase_days, order_count, revenue)
               VALUES (2, $1, 0, 0, '2025-01-01', '2025-01-01', $2, $3, $3, $4)`,
              [id, last, days, revenue],
            );
          await db.query(
            OLD_RFM_ROWS.text,
            OLD_RFM_ROWS.params.map((p) => p.value),
          );
          const stored = (
            await db.query<{ customer_id: string; recency: number; frequency: number; monetary: number }>(
              `SELECT customer_id, recency, frequency, monetary FROM customer_rfm ORDER BY customer_id`,
            )
          ).rows;
          expect(stored).toHaveLength(buyers.length);

          await applyMigration(db, MIGRATION);
          const { rows: pointer } = await db.query<{ rfm: RfmBounds }>(`SELECT rfm FROM state_pointer`);
          const bounds = pointer[0]!.rfm;
          const byId = new Map(buyers.map((b, i) => [`b${i}`, b]));
          for (const r of stored) {
            const b = byId.get(r.customer_id)!;
            const recency = daysBetween(addDays(STATE_DAY, -b.recency), STATE_DAY);
            expect(
              [
                rfmScoreOf(bounds, "recency", recency),
                rfmScoreOf(bounds, "frequency", b.purchaseDays),
                rfmScoreOf(bounds, "monetary", monetaryKey(b.revenue)),
              ],
              r.customer_id,
            ).toEqual([r.recency, r.frequency, r.monetary]);
          }
          const { rows: tables } = await db.query(
            `SELECT 1 FROM information_schema.tables WHERE table_name = 'customer_rfm'`,
          );
          expect(tables).toEqual([]);
        } finally {
          await db.exec("ROLLBACK");
        }
      }),
      { numRuns: 30 },
    );
  } finally {
    await db.close();
  }
});

it("leaves a served state without buyers without bounds", async () => {
  const db = await PGlite.create("memory://");
  try {
    await applyMigrationsBefore(db, MIGRATION);
    await db.query(
      `INSERT INTO state_pointer (id, generation, rows_generation, state_day, model_hash, stage_keys, published_at)
       VALUES (1, 3, 2, $1, 'h', '[]', now())`,
      [STATE_DAY],
    );
    await applyMigration(db, MIGRATION);
    const { rows } = await db.query<{ rfm: unknown }>(`SELECT rfm FROM state_pointer`);
    expect(rows).toEqual([{ rfm: null }]);
  } finally {
    await db.close();
  }
});

// The migrations that give each stage spell its days from first seen and first purchase, and the stage
// and first day of the spell before it, fill them in for a state published before them, as a refresh
// would write them.
import { PGlite } from "@electric-sql/pglite";
import { expect, it } from "vitest";
import { applyMigration, applyMigrationsBefore } from "../helpers/migrations.ts";

const BEFORE = [
  "20261123000000_init",
  "20261123230000_api_keys",
  "20261207000000_api_key_expiry",
  "20261207120000_state_store",
];

it("fills in from_seen and from_purchase of the spells already stored", async () => {
  const db = await PGlite.create("memory://");
  try {
    for (const name of BEFORE) await applyMigration(db, name);
    await db.exec(`
      INSERT INTO customer_state (rows_generation, customer_id, stage, furthest, stage_since, first_seen_date,
        first_purchase_date, purchase_days, order_count, revenue)
      VALUES (1, 'a', 1, 1, '2026-02-01', '2026-01-01', '2026-02-01', 1, 1, 10),
             (1, 'b', 0, 0, '2026-03-01', '2026-03-01', NULL, 0, 0, 0);
      INSERT INTO stage_spell (rows_generation, customer_id, from_day, to_day, stage, furthest, stage_since)
      VALUES (1, 'a', '2026-01-01', '2026-02-01', 0, 0, '2026-01-01'),
             (1, 'a', '2026-02-01', NULL, 1, 1, '2026-02-01'),
             (1, 'b', '2026-03-01', NULL, 0, 0, '2026-03-01');`);
    await applyMigration(db, "20261208000000_stage_spell_entries");
    const { rows } = await db.query(
      `SELECT customer_id, from_day::text AS from_day, from_seen, from_purchase FROM stage_spell ORDER BY customer_id, from_day`,
    );
    expect(rows).toEqual([
      { customer_id: "a", from_day: "2026-01-01", from_seen: 0, from_purchase: null },
      { customer_id: "a", from_day: "2026-02-01", from_seen: 31, from_purchase: 0 },
      { customer_id: "b", from_day: "2026-03-01", from_seen: 0, from_purchase: null },
    ]);
  } finally {
    await db.close();
  }
});

it("fills in the previous stage and first day of the spells already stored, generation by generation", async () => {
  const db = await PGlite.create("memory://");
  try {
    await applyMigrationsBefore(db, "20261211000000_stage_spell_previous");
    await db.exec(`
      INSERT INTO stage_spell (rows_generation, customer_id, from_day, to_day, stage, furthest, stage_since, from_seen)
      VALUES (1, 'a', '2026-01-01', '2026-02-01', 0, 0, '2026-01-01', 0),
             (1, 'a', '2026-02-01', '2026-03-05', 1, 1, '2026-02-01', 31),
             (1, 'a', '2026-03-05', NULL, 6, 1, '2026-03-05', 63),
             (1, 'b', '2026-03-01', NULL, 0, 0, '2026-03-01', 0),
             (2, 'a', '2026-02-01', NULL, 2, 2, '2026-02-01', 31);`);
    await applyMigration(db, "20261211000000_stage_spell_previous");
    const { rows } = await db.query(
      `SELECT rows_generation AS g, customer_id AS id, from_day::text AS from_day, previous_stage, previous_from::text AS previous_from
       FROM stage_spell ORDER BY rows_generation, customer_id, from_day`,
    );
    expect(rows).toEqual([
      { g: 1, id: "a", from_day: "2026-01-01", previous_stage: null, previous_from: null },
      { g: 1, id: "a", from_day: "2026-02-01", previous_stage: 0, previous_from: "2026-01-01" },
      { g: 1, id: "a", from_day: "2026-03-05", previous_stage: 1, previous_from: "2026-02-01" },
      { g: 1, id: "b", from_day: "2026-03-01", previous_stage: null, previous_from: null },
      // Another generation's spells are another history.
      { g: 2, id: "a", from_day: "2026-02-01", previous_stage: null, previous_from: null },
    ]);
  } finally {
    await db.close();
  }
});

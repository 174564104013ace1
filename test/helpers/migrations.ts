// The committed migrations (prisma/migrations) run one by one on a PGlite store, for the tests that
// publish a state as an older schema held it and check what a later migration makes of it.
import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import type { PGlite } from "@electric-sql/pglite";

const MIGRATIONS = fileURLToPath(new URL("../../prisma/migrations", import.meta.url));

/** Runs the committed migration `name`. */
export async function applyMigration(db: PGlite, name: string): Promise<void> {
  await db.exec(readFileSync(join(MIGRATIONS, name, "migration.sql"), "utf8"));
}

/** Runs every committed migration before `name`, in order. */
export async function applyMigrationsBefore(db: PGlite, name: string): Promise<void> {
  const before = readdirSync(MIGRATIONS)
    .filter((entry) => /^\d/.test(entry) && entry < name)
    .sort();
  for (const entry of before) await applyMigration(db, entry);
}

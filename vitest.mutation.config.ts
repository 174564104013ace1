import { defineConfig } from "vitest/config";
import { selectedGroup } from "./mutation/groups.mjs";
import base from "./vitest.config.ts";

// Stryker reruns the covering tests once per mutant, so only the fast, in-process specs belong here: the pure
// unit specs, the SQL specs against the embedded warehouses, and the server specs that guard auth and limits.
// CLI, browser and the other server specs start processes or browsers and would make each mutant cost seconds.
// Not mergeConfig: it concatenates arrays, and the base include (test/**) would bring every spec back.
export default defineConfig({
  ...base,
  test: {
    ...base.test,
    // MUTATION_SPECS (comma-separated paths) narrows the set while working on one file: the initial run
    // executes every included spec that imports the mutated file, which for the stage model is most of test/sql.
    // MUTATION_GROUP picks a group's specs (mutation/groups.mjs).
    include: process.env.MUTATION_SPECS?.split(",") ??
      selectedGroup()?.specs ?? [
        "test/unit/**/*.spec.ts",
        "test/sql/**/*.spec.ts",
        "test/server/limits.spec.ts",
        "test/server/limits-each.spec.ts",
        "test/server/auth.spec.ts",
        "test/server/key-cache.spec.ts",
      ],
    // Instrumented code counts coverage per test during the initial run, which makes the CDNOW fits (under a
    // second plain) take longer than the suite's 30 s.
    testTimeout: 180_000,
    // appdb-pglite runs the Prisma CLI in a child process, which sees none of Stryker's instrumented code.
    exclude: ["test/sql/appdb-pglite.spec.ts"],
    // No pool settings here: Stryker's vitest runner overrides them with one worker thread per Stryker process
    // (it reads the mutant coverage back through that thread), so the specs here must run in threads, one
    // at a time, which the embedded DuckDB and PGlite do. Parallelism comes from `concurrency` in stryker.config.mjs.
  },
});

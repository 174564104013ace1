import { defineConfig, mergeConfig } from "vitest/config";
import base from "./vitest.config.ts";

// Stryker reruns the covering tests once per mutant, so only the fast, in-process specs belong here: the pure
// unit specs, the SQL specs against the embedded warehouses, and the server specs that guard auth and limits.
// CLI, browser and the other server specs start processes or browsers and would make each mutant cost seconds.
export default mergeConfig(
  base,
  defineConfig({
    test: {
      include: [
        "test/unit/**/*.spec.ts",
        "test/sql/**/*.spec.ts",
        "test/server/limits.spec.ts",
        "test/server/auth.spec.ts",
        "test/server/key-cache.spec.ts",
      ],
      // appdb-pglite runs the Prisma CLI in a child process, which sees none of Stryker's instrumented code.
      exclude: ["test/sql/appdb-pglite.spec.ts"],
      // The DuckDB native module is not safe to load in worker threads; forks keep each file in its own process.
      pool: "forks",
      maxWorkers: 1,
    },
  }),
);

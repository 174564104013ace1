import { defineConfig } from "vitest/config";

export default defineConfig({
  resolve: {
    // Node loads graphql 16 through its CommonJS entry (the package has no exports map); Vite would pick
    // the .mjs build for our own files, and the two copies refuse each other's types.
    alias: [{ find: /^graphql$/, replacement: "graphql/index.js" }],
  },
  test: {
    include: ["test/**/*.spec.ts"],
    testTimeout: 30_000,
    hookTimeout: 60_000,
    // PGlite and DuckDB instances are heavy; two workers match the two cores of CI.
    maxWorkers: 2,
    env: { METADATA_SERVER_DETECTION: "none", LOG_LEVEL: "silent" },
  },
});

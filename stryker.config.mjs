// Mutation testing for the core (see README, Development, and ARCHITECTURE.md, Tests).
// `npm run mutation` runs it all (hours on two cores); while working on one file:
//   npx stryker run --mutate src/lifecycle/rules.ts
/** @type {import("@stryker-mutator/api/core").PartialStrykerOptions} */
export default {
  testRunner: "vitest",
  vitest: { configFile: "vitest.mutation.config.ts" },
  // perTest: each mutant runs only the tests that executed its code during the initial run.
  coverageAnalysis: "perTest",
  mutate: [
    "src/lifecycle/**/*.ts",
    // The lifecycle files that are not domain logic: the worker entry point only wires piscina.
    "!src/lifecycle/clv/fit-worker.ts",
    // Dialect parts of the connectors; the connection and pooling code is exercised by the slow suites only.
    "src/connectors/duckdb.ts",
    "src/connectors/postgres.ts",
    "src/connectors/bigquery.ts",
    "src/server/csv.ts",
    "src/server/limits.ts",
    "src/auth/*.ts",
  ],
  // Only what was changed since the last run is re-tested; delete the file to start over.
  // Static mutants (module-level code: constant tables, regexes, SQL fragments built at import) cannot use
  // per-test coverage: each reruns every spec in a fresh process. Measured at the first full run: 1,404 of
  // 5,397 mutants, which Stryker estimated at 80% of the run time (a whole day on two cores). They are reported
  // as ignored, not counted in the score. One file's static mutants against its own unit specs:
  //   MUTATION_SPECS=test/unit/rules.spec.ts npx stryker run --mutate src/lifecycle/rules.ts --ignoreStatic false
  ignoreStatic: true,
  incremental: true,
  incrementalFile: "reports/stryker-incremental.json",
  reporters: ["html", "json", "clear-text", "progress"],
  htmlReporter: { fileName: "reports/mutation/mutation.html" },
  jsonReporter: { fileName: "reports/mutation/mutation.json" },
  tempDirName: ".stryker-tmp",
  // Two cores: one Stryker worker leaves the other for the machine.
  concurrency: 1,
  timeoutMS: 20_000,
  // The initial run executes every covering spec once with coverage; over test/sql it takes more than the 5-minute default.
  dryRunTimeoutMinutes: 30,
  cleanTempDir: true,
};

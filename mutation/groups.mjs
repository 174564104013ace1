// The core under mutation testing, in groups: each group's mutants are tested against the specs that can
// kill them cheaply. Stryker reruns a mutant's covering tests per mutant, and a spec's setup (a warehouse
// opened, a CDNOW fit) with them, so a spec set wider than needed multiplies the run time without telling more.
// A group's score is therefore a lower bound: the specs left out can only kill more.
// `npm run mutation` runs every group (mutation/run.mjs); MUTATION_GROUP=<name> npx stryker run runs one.

/** @type {Record<string, { mutate: string[], specs: string[] }>} */
export const GROUPS = {
  // The rule language and its two back ends (TypeScript and SQL).
  rules: {
    mutate: ["src/lifecycle/rules.ts", "src/lifecycle/rule-predicate.ts", "src/lifecycle/rule-sql.ts"],
    specs: [
      "test/unit/rules.spec.ts",
      "test/unit/rule-predicate.spec.ts",
      "test/unit/dialect-sql.spec.ts",
      "test/sql/rule-sql.spec.ts",
      // Rules over configured event types (events.<type>.*), which only these scopes have.
      "test/unit/event-features.spec.ts",
      "test/unit/sales-funnel.spec.ts",
    ],
  },
  // Pure lifecycle logic: the stage model, RFM, calendar, metrics, segment definitions, statistics.
  lifecycle: {
    mutate: [
      "src/lifecycle/stage-model.ts",
      "src/lifecycle/stage-presets.ts",
      "src/lifecycle/sales-funnel.ts",
      "src/lifecycle/rfm.ts",
      "src/lifecycle/calendar.ts",
      "src/lifecycle/random.ts",
      "src/lifecycle/features.ts",
      "src/lifecycle/segment-definition.ts",
      "src/lifecycle/metrics.ts",
      "src/lifecycle/statistics.ts",
      "src/lifecycle/stage-history.ts",
      "src/lifecycle/activity.ts",
    ],
    specs: ["test/unit/**/*.spec.ts"],
  },
  // Lifetime-value models and their numerics, against references at fixed parameters: named CDNOW customers'
  // log-likelihoods and predictions (a slice chosen to cover the regimes: no repeat purchase, many, t_x at T,
  // long silences, α on either side of β), hand-worked and independently computed values.
  // Not the full CDNOW fits (test/unit/cdnow-fits.spec.ts, test/sql/clv-warehouse.spec.ts), nor the checks
  // that evaluate every CDNOW customer at fixed parameters (test/unit/cdnow-likelihoods.spec.ts: published
  // log-likelihoods, grouping, binned expectations): under Stryker's instrumentation each costs seconds to half
  // a minute for every mutant it covers, which is nearly all of them, and the slice's references pin the same
  // formulas; the optimiser has its own spec (clv-optimize) and small fits (clv-bgnbd, clv-predict, clv-fit)
  // check it reaches the maximum.
  clv: {
    mutate: ["src/lifecycle/clv/**/*.ts", "!src/lifecycle/clv/fit-worker.ts"],
    specs: [
      "test/unit/clv*.spec.ts",
      "test/unit/pareto-nbd.spec.ts",
      "test/unit/bgnbd-reference.spec.ts",
      "test/unit/statistics.spec.ts",
    ],
  },
  // SQL the warehouses run: the features query and each dialect.
  sql: {
    mutate: [
      "src/lifecycle/features-sql.ts",
      "src/connectors/duckdb.ts",
      "src/connectors/postgres.ts",
      "src/connectors/bigquery.ts",
    ],
    // Not all of test/sql: with every spec, Stryker estimated over two hours for this group. These are the
    // references for the SQL: the generated texts (snapshots), the features against their TypeScript
    // definition on random data, the cut-off instants, the connectors' decoding, BigQuery's SQL on ZetaSQL;
    // and the connectors' pool, error mapping and paging against stand-in clients (DuckDB in memory).
    specs: [
      "test/unit/dialect-sql.spec.ts",
      "test/sql/purchase-features.spec.ts",
      "test/sql/event-features.spec.ts",
      "test/sql/activity.spec.ts",
      "test/sql/month-index.spec.ts",
      "test/sql/as-of-cutoff.spec.ts",
      "test/sql/as-of-cutoff-people.spec.ts",
      "test/sql/period-bounds.spec.ts",
      "test/sql/connectors.spec.ts",
      "test/sql/lifecycle.spec.ts",
      "test/sql/bigquery.spec.ts",
      "test/sql/bigquery-zetasql.spec.ts",
      "test/unit/postgres-connector.spec.ts",
      "test/unit/bigquery-connector.spec.ts",
      "test/unit/duckdb-connector.spec.ts",
    ],
  },
  // The edge: CSV export cells, query limits, API keys. Unit specs only: the server specs that also guard
  // these (test/server/limits*.spec.ts, auth.spec.ts, key-cache.spec.ts) start a server per file, 8-34 s a
  // mutant, and what they check of these files (each limit at and over it, body sizes, roles, key expiry
  // and revocation, the cache) the unit specs pin too; export-columns.spec.ts compares the CSV writer's two
  // paths, which csv-cells and csv-bytes hold to hand-written text. key-store.spec.ts opens an in-memory PGlite.
  edge: {
    mutate: ["src/server/csv.ts", "src/server/limits.ts", "src/auth/*.ts"],
    specs: [
      "test/unit/csv-cells.spec.ts",
      "test/unit/csv-bytes.spec.ts",
      "test/unit/limits.spec.ts",
      "test/unit/keys.spec.ts",
      "test/unit/key-store.spec.ts",
      "test/unit/request-auth.spec.ts",
      "test/unit/key-cache.spec.ts",
      "test/unit/key-revocations.spec.ts",
    ],
  },
};

/** The group named by MUTATION_GROUP, or undefined (then the whole core against every fast spec). */
export function selectedGroup() {
  const name = process.env.MUTATION_GROUP;
  if (name === undefined || name === "") return undefined;
  const group = GROUPS[name];
  if (!group) throw new Error(`MUTATION_GROUP=${name}: no such group (${Object.keys(GROUPS).join(", ")})`);
  return { name, ...group };
}

// The SQL each dialect renders for the main query shapes, as text and parameters, kept in
// __snapshots__/dialect-sql.spec.ts.snap: every change to the generated SQL shows there in review
// (`npx vitest run test/unit/dialect-sql.spec.ts -u` writes it anew; read the diff). Pure: queries are
// built and rendered, no warehouse is opened.
import { describe, expect, it } from "vitest";
import { bigqueryDialect } from "../../src/connectors/bigquery.ts";
import type { Row, WarehouseConnector } from "../../src/connectors/connector.ts";
import { duckdbDialect } from "../../src/connectors/duckdb.ts";
import { postgresDialect } from "../../src/connectors/postgres.ts";
import { featuresSql, type FeaturesQuery } from "../../src/lifecycle/features-sql.ts";
import { FEATURE_BY_FIELD } from "../../src/lifecycle/features.ts";
import { compileRuleSql } from "../../src/lifecycle/rule-sql.ts";
import { defaultStageModel } from "../../src/lifecycle/stage-model.ts";
import { customerRanges } from "../../src/services/customer-ranges.ts";
import { LifecycleService } from "../../src/services/lifecycle/service.ts";
import { DEFAULT_MAPPING, type LogicalTable } from "../../src/sql/contract.ts";
import type { Dialect } from "../../src/sql/dialect.ts";
import { ident, render, sql, type Sql } from "../../src/sql/sql.ts";

/** The text, then each parameter on a line of its own. */
function rendered(query: Sql, dialect: Dialect): string {
  const { text, params } = render(query, dialect);
  const values = params.map(
    (p, i) => `-- param ${i + 1}: ${JSON.stringify(p.value)}${p.type ? ` ${p.type}${p.array ? "[]" : ""}` : ""}`,
  );
  return [text, ...values].join("\n");
}

/** A connector that answers every query with `answer` and records what it was asked. */
function recordingConnector(
  dialect: Dialect,
  answer: (query: Sql) => Row[] = () => [],
): WarehouseConnector & { sent: Sql[] } {
  const sent: Sql[] = [];
  return {
    kind: "duckdb",
    dialect,
    mapping: DEFAULT_MAPPING,
    sent,
    customersPerRange: 100,
    query: async <R extends Row>(query: Sql) => {
      sent.push(query);
      return answer(query) as R[];
    },
    async *stream<R extends Row>(query: Sql): AsyncIterable<R[]> {
      sent.push(query);
    },
    ping: async () => {},
    tableStatus: async () => [],
    close: async () => {},
  };
}

const ALL_TABLES: ReadonlySet<LogicalTable> = new Set(["customers", "events", "marketing_spend"]);
const AS_OF = "2026-06-30";

function features(dialect: Dialect, options: Partial<FeaturesQuery>): string {
  const timeZone = options.timeZone ?? "UTC";
  return rendered(
    featuresSql({
      dialect,
      mapping: DEFAULT_MAPPING,
      available: ALL_TABLES,
      asOf: AS_OF,
      eventTypes: [],
      // The instant the day after AS_OF begins in the zone (as asOfCutoff computes it).
      cutoff: new Date(timeZone === "UTC" ? "2026-07-01T00:00:00Z" : "2026-06-30T22:00:00Z"),
      ...options,
      timeZone,
    }),
    dialect,
  );
}

function lifecycle(dialect: Dialect, available: ReadonlySet<LogicalTable> = ALL_TABLES) {
  const connector = recordingConnector(dialect);
  return { connector, service: new LifecycleService(connector, defaultStageModel(), "Europe/Berlin", available) };
}

describe("the features query", () => {
  it("with every feature and every optional table, in UTC", () => {
    expect(features(duckdbDialect, {})).toMatchSnapshot();
    expect(features(postgresDialect, {})).toMatchSnapshot();
    expect(features(bigqueryDialect, {})).toMatchSnapshot();
  });

  it("with the purchase-day features only, for a list of customers, in a zone other than UTC", () => {
    const options: Partial<FeaturesQuery> = {
      fields: new Set(["secondPurchaseDate", "firstPurchaseRevenue", "lastEventType"]),
      customerIds: ["c001", "c002"],
      timeZone: "Europe/Berlin",
    };
    expect(features(duckdbDialect, options)).toMatchSnapshot();
    expect(features(postgresDialect, options)).toMatchSnapshot();
    expect(features(bigqueryDialect, options)).toMatchSnapshot();
  });

  it("with the stage rules' features only, for a range of customer ids, without the optional tables", () => {
    const options: Partial<FeaturesQuery> = {
      fields: new Set(["purchaseDays", "recencyDays", "tenureDays", "firstSeenDate"]),
      customerRange: { from: "c100", below: "c200" },
      available: new Set(),
    };
    expect(features(duckdbDialect, options)).toMatchSnapshot();
    expect(features(postgresDialect, options)).toMatchSnapshot();
    expect(features(bigqueryDialect, options)).toMatchSnapshot();
  });
});

describe("stages and RFM", () => {
  const stageCounts = async (dialect: Dialect) => {
    const { connector, service } = lifecycle(dialect);
    await service.stageCounts(AS_OF);
    return rendered(connector.sent[0]!, dialect);
  };

  it("counts customers per stage, each assigned its stage in SQL", async () => {
    expect(await stageCounts(duckdbDialect)).toMatchSnapshot();
    expect(await stageCounts(postgresDialect)).toMatchSnapshot();
    expect(await stageCounts(bigqueryDialect)).toMatchSnapshot();
  });

  const rfmScored = (dialect: Dialect) => rendered(lifecycle(dialect, new Set()).service.rfmScored(AS_OF), dialect);

  it("scores every buyer's recency, frequency and monetary quintiles", () => {
    expect(rfmScored(duckdbDialect)).toMatchSnapshot();
    expect(rfmScored(postgresDialect)).toMatchSnapshot();
    expect(rfmScored(bigqueryDialect)).toMatchSnapshot();
  });
});

describe("dialect hooks a query shape depends on", () => {
  const median = (dialect: Dialect) => {
    const support = dialect.median;
    return support.kind === "window"
      ? `window: ${rendered(support.window(sql`f.days`, sql`f.stage_index`), dialect)}`
      : `aggregate: ${rendered(support.aggregate(sql`f.days`), dialect)}`;
  };

  it("medians: an aggregate, or a window function the grouping query picks from", () => {
    expect(median(duckdbDialect)).toMatchSnapshot();
    expect(median(postgresDialect)).toMatchSnapshot();
    expect(median(bigqueryDialect)).toMatchSnapshot();
  });

  const sampledIds = async (dialect: Dialect) => {
    const connector = recordingConnector(dialect, (query) =>
      render(query, dialect).text.includes("COUNT(*)") ? [{ n: 1_000 }] : [{ id: "c100" }, { id: "c500" }],
    );
    await customerRanges(connector, new Set(["customers"]));
    return rendered(connector.sent[1]!, dialect);
  };

  it("samples customer ids to place the bounds of customer ranges", async () => {
    expect(await sampledIds(duckdbDialect)).toMatchSnapshot();
    expect(await sampledIds(postgresDialect)).toMatchSnapshot();
    expect(await sampledIds(bigqueryDialect)).toMatchSnapshot();
  });

  const rule = (dialect: Dialect) =>
    rendered(
      compileRuleSql(
        {
          all: [
            { field: "purchaseDays", op: "gte", value: 2 },
            { not: { field: "acquisitionChannel", op: "eq", value: "email" } },
            { field: "lastPurchaseDate", op: "lt", value: "2026-01-01" },
          ],
        },
        { column: (field) => ident("f", FEATURE_BY_FIELD.get(field)!.column) },
      ),
      dialect,
    );

  it("compiles a rule to a predicate over the features", () => {
    expect(rule(duckdbDialect)).toMatchSnapshot();
    expect(rule(postgresDialect)).toMatchSnapshot();
    expect(rule(bigqueryDialect)).toMatchSnapshot();
  });
});

// The SQL each dialect renders for the main query shapes, as text and parameters: every change to the
// generated SQL shows here in review. Pure: queries are built and rendered, no warehouse is opened.
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
    expect(features(duckdbDialect, {})).toMatchInlineSnapshot(`
      "WITH tx AS (
        SELECT CAST("t"."customer_id" AS VARCHAR) AS customer_id,
               CAST("t"."occurred_at" AS DATE) AS day,
               "t"."amount" AS amount,
               "t"."order_id" AS order_id
        FROM "transactions" AS t
        WHERE "t"."occurred_at" < CAST($1 AS TIMESTAMP)
      ),
      daily AS (
        SELECT customer_id, day, SUM(revenue) AS revenue, SUM(CASE WHEN order_id IS NULL THEN lines ELSE 1 END) AS orders
        FROM (SELECT customer_id, day, order_id, SUM(amount) AS revenue, COUNT(*) AS lines FROM tx GROUP BY customer_id, day, order_id) AS o
        GROUP BY customer_id, day
      ),
      buyer_days AS (
        SELECT customer_id, COUNT(*) AS purchase_days, MIN(day) AS first_day, MAX(day) AS last_day, SUM(orders) AS order_count, SUM(revenue) AS revenue, arg_min_null(revenue, day) AS first_day_revenue
        FROM daily GROUP BY customer_id
      ),
      buyers AS (
        SELECT b.*, s.second_day
        FROM buyer_days AS b
        LEFT JOIN (
          SELECT d.customer_id, MIN(d.day) AS second_day
          FROM daily AS d JOIN buyer_days AS f ON f.customer_id = d.customer_id AND d.day > f.first_day
          GROUP BY d.customer_id
        ) AS s ON s.customer_id = b.customer_id
      ),
      people AS (
        SELECT CAST("t"."customer_id" AS VARCHAR) AS customer_id,
               MIN(CAST("t"."created_at" AS DATE)) AS created_day,
               MIN("t"."acquisition_channel") AS acquisition_channel
        FROM "customers" AS t
        WHERE "t"."created_at" < CAST($2 AS TIMESTAMP)
        GROUP BY 1
      ),
      referrals AS (
        SELECT CAST("t"."referred_by" AS VARCHAR) AS customer_id, COUNT(*) AS referred_count
        FROM "customers" AS t
        WHERE "t"."referred_by" IS NOT NULL AND "t"."created_at" < CAST($3 AS TIMESTAMP)
        GROUP BY 1
      ),
      ev AS (
        SELECT customer_id, CAST(first_at AS DATE) AS first_day,
               CAST(last_at AS DATE) AS last_day, last_type
        FROM (
          SELECT CAST("t"."customer_id" AS VARCHAR) AS customer_id,
                 MIN("t"."occurred_at") AS first_at, MAX("t"."occurred_at") AS last_at,
                 max(struct_pack(t := "t"."occurred_at", v := "t"."type")).v AS last_type
          FROM "events" AS t
          WHERE "t"."occurred_at" < CAST($4 AS TIMESTAMP)
          GROUP BY 1
        ) AS e
      ),
      known AS (SELECT customer_id FROM buyers UNION DISTINCT SELECT customer_id FROM people UNION DISTINCT SELECT customer_id FROM ev)
      SELECT k.customer_id AS customer_id,
             LEAST(COALESCE(b.first_day, p.created_day, e.first_day), COALESCE(p.created_day, e.first_day, b.first_day), COALESCE(e.first_day, b.first_day, p.created_day)) AS "first_seen_date",
             b.first_day AS "first_purchase_date",
             b.second_day AS "second_purchase_date",
             b.last_day AS "last_purchase_date",
             CAST(COALESCE(b.purchase_days, 0) AS DOUBLE) AS "purchase_days",
             CAST(COALESCE(b.order_count, 0) AS DOUBLE) AS "order_count",
             CAST(COALESCE(b.revenue, 0) AS DOUBLE) AS "revenue",
             CAST(b.first_day_revenue AS DOUBLE) AS "first_purchase_revenue",
             CAST(b.revenue AS DOUBLE) / NULLIF(CAST(b.order_count AS DOUBLE), 0) AS "average_order_value",
             CASE WHEN b.purchase_days = 1 THEN CAST(0 AS DOUBLE) WHEN b.purchase_days > 1 THEN CAST(date_diff('day', b.first_day, b.last_day) AS DOUBLE) / (b.purchase_days - 1) END AS "mean_gap_days",
             CAST(date_diff('day', b.last_day, CAST($5 AS DATE)) AS DOUBLE) AS "recency_days",
             CAST(date_diff('day', LEAST(COALESCE(b.first_day, p.created_day, e.first_day), COALESCE(p.created_day, e.first_day, b.first_day), COALESCE(e.first_day, b.first_day, p.created_day)), CAST($6 AS DATE)) AS DOUBLE) AS "tenure_days",
             CAST(COALESCE(r.referred_count, 0) AS DOUBLE) AS "referred_count",
             CAST(p.acquisition_channel AS VARCHAR) AS "acquisition_channel",
             e.last_day AS "last_event_date",
             CAST(e.last_type AS VARCHAR) AS "last_event_type"
      FROM known AS k
      LEFT JOIN buyers AS b ON b.customer_id = k.customer_id
      LEFT JOIN people AS p ON p.customer_id = k.customer_id
      LEFT JOIN referrals AS r ON r.customer_id = k.customer_id
      LEFT JOIN ev AS e ON e.customer_id = k.customer_id
      -- param 1: "2026-07-01 00:00:00.000"
      -- param 2: "2026-07-01 00:00:00.000"
      -- param 3: "2026-07-01 00:00:00.000"
      -- param 4: "2026-07-01 00:00:00.000"
      -- param 5: "2026-06-30"
      -- param 6: "2026-06-30""
    `);
    expect(features(postgresDialect, {})).toMatchInlineSnapshot(`
      "WITH tx AS (
        SELECT CAST("t"."customer_id" AS TEXT) AS customer_id,
               CAST("t"."occurred_at" AS DATE) AS day,
               "t"."amount" AS amount,
               "t"."order_id" AS order_id
        FROM "transactions" AS t
        WHERE "t"."occurred_at" < CAST($1 AS TIMESTAMPTZ)
      ),
      daily AS (
        SELECT customer_id, day, SUM(revenue) AS revenue, SUM(CASE WHEN order_id IS NULL THEN lines ELSE 1 END) AS orders,
               ROW_NUMBER() OVER (PARTITION BY customer_id ORDER BY day) AS n
        FROM (SELECT customer_id, day, order_id, SUM(amount) AS revenue, COUNT(*) AS lines FROM tx GROUP BY customer_id, day, order_id) AS o
        GROUP BY customer_id, day
      ),
      buyers AS (
        SELECT customer_id, COUNT(*) AS purchase_days, MIN(day) AS first_day, MAX(day) AS last_day, MIN(CASE WHEN n = 2 THEN day END) AS second_day, SUM(orders) AS order_count, SUM(revenue) AS revenue, SUM(CASE WHEN n = 1 THEN revenue END) AS first_day_revenue
        FROM daily GROUP BY customer_id
      ),
      people AS (
        SELECT CAST("t"."customer_id" AS TEXT) AS customer_id,
               MIN(CAST("t"."created_at" AS DATE)) AS created_day,
               MIN("t"."acquisition_channel") AS acquisition_channel
        FROM "customers" AS t
        WHERE "t"."created_at" < CAST($2 AS TIMESTAMPTZ)
        GROUP BY 1
      ),
      referrals AS (
        SELECT CAST("t"."referred_by" AS TEXT) AS customer_id, COUNT(*) AS referred_count
        FROM "customers" AS t
        WHERE "t"."referred_by" IS NOT NULL AND "t"."created_at" < CAST($3 AS TIMESTAMPTZ)
        GROUP BY 1
      ),
      ev AS (
        SELECT customer_id, CAST(first_at AS DATE) AS first_day,
               CAST(last_at AS DATE) AS last_day, last_type
        FROM (
          SELECT CAST("t"."customer_id" AS TEXT) AS customer_id,
                 MIN("t"."occurred_at") AS first_at, MAX("t"."occurred_at") AS last_at,
                 (array_agg("t"."type" ORDER BY "t"."occurred_at" DESC, "t"."type" DESC))[1] AS last_type
          FROM "events" AS t
          WHERE "t"."occurred_at" < CAST($4 AS TIMESTAMPTZ)
          GROUP BY 1
        ) AS e
      ),
      known AS (SELECT customer_id FROM buyers UNION DISTINCT SELECT customer_id FROM people UNION DISTINCT SELECT customer_id FROM ev)
      SELECT k.customer_id AS customer_id,
             LEAST(COALESCE(b.first_day, p.created_day, e.first_day), COALESCE(p.created_day, e.first_day, b.first_day), COALESCE(e.first_day, b.first_day, p.created_day)) AS "first_seen_date",
             b.first_day AS "first_purchase_date",
             b.second_day AS "second_purchase_date",
             b.last_day AS "last_purchase_date",
             CAST(COALESCE(b.purchase_days, 0) AS DOUBLE PRECISION) AS "purchase_days",
             CAST(COALESCE(b.order_count, 0) AS DOUBLE PRECISION) AS "order_count",
             CAST(COALESCE(b.revenue, 0) AS DOUBLE PRECISION) AS "revenue",
             CAST(b.first_day_revenue AS DOUBLE PRECISION) AS "first_purchase_revenue",
             CAST(b.revenue AS DOUBLE PRECISION) / NULLIF(CAST(b.order_count AS DOUBLE PRECISION), 0) AS "average_order_value",
             CASE WHEN b.purchase_days = 1 THEN CAST(0 AS DOUBLE PRECISION) WHEN b.purchase_days > 1 THEN CAST((b.last_day - b.first_day) AS DOUBLE PRECISION) / (b.purchase_days - 1) END AS "mean_gap_days",
             CAST((CAST($5 AS DATE) - b.last_day) AS DOUBLE PRECISION) AS "recency_days",
             CAST((CAST($6 AS DATE) - LEAST(COALESCE(b.first_day, p.created_day, e.first_day), COALESCE(p.created_day, e.first_day, b.first_day), COALESCE(e.first_day, b.first_day, p.created_day))) AS DOUBLE PRECISION) AS "tenure_days",
             CAST(COALESCE(r.referred_count, 0) AS DOUBLE PRECISION) AS "referred_count",
             CAST(p.acquisition_channel AS TEXT) AS "acquisition_channel",
             e.last_day AS "last_event_date",
             CAST(e.last_type AS TEXT) AS "last_event_type"
      FROM known AS k
      LEFT JOIN buyers AS b ON b.customer_id = k.customer_id
      LEFT JOIN people AS p ON p.customer_id = k.customer_id
      LEFT JOIN referrals AS r ON r.customer_id = k.customer_id
      LEFT JOIN ev AS e ON e.customer_id = k.customer_id
      -- param 1: "2026-07-01T00:00:00.000Z"
      -- param 2: "2026-07-01T00:00:00.000Z"
      -- param 3: "2026-07-01T00:00:00.000Z"
      -- param 4: "2026-07-01T00:00:00.000Z"
      -- param 5: "2026-06-30"
      -- param 6: "2026-06-30""
    `);
    expect(features(bigqueryDialect, {})).toMatchInlineSnapshot(`
      "WITH tx AS (
        SELECT CAST(\`t\`.\`customer_id\` AS STRING) AS customer_id,
               DATE(\`t\`.\`occurred_at\`, @p1) AS day,
               \`t\`.\`amount\` AS amount,
               \`t\`.\`order_id\` AS order_id
        FROM \`transactions\` AS t
        WHERE \`t\`.\`occurred_at\` < CAST(@p2 AS TIMESTAMP)
      ),
      daily AS (
        SELECT customer_id, day, SUM(revenue) AS revenue, SUM(CASE WHEN order_id IS NULL THEN lines ELSE 1 END) AS orders,
               ROW_NUMBER() OVER (PARTITION BY customer_id ORDER BY day) AS n
        FROM (SELECT customer_id, day, order_id, SUM(amount) AS revenue, COUNT(*) AS lines FROM tx GROUP BY customer_id, day, order_id) AS o
        GROUP BY customer_id, day
      ),
      buyers AS (
        SELECT customer_id, COUNT(*) AS purchase_days, MIN(day) AS first_day, MAX(day) AS last_day, MIN(CASE WHEN n = 2 THEN day END) AS second_day, SUM(orders) AS order_count, SUM(revenue) AS revenue, SUM(CASE WHEN n = 1 THEN revenue END) AS first_day_revenue
        FROM daily GROUP BY customer_id
      ),
      people AS (
        SELECT CAST(\`t\`.\`customer_id\` AS STRING) AS customer_id,
               MIN(DATE(\`t\`.\`created_at\`, @p3)) AS created_day,
               MIN(\`t\`.\`acquisition_channel\`) AS acquisition_channel
        FROM \`customers\` AS t
        WHERE \`t\`.\`created_at\` < CAST(@p4 AS TIMESTAMP)
        GROUP BY 1
      ),
      referrals AS (
        SELECT CAST(\`t\`.\`referred_by\` AS STRING) AS customer_id, COUNT(*) AS referred_count
        FROM \`customers\` AS t
        WHERE \`t\`.\`referred_by\` IS NOT NULL AND \`t\`.\`created_at\` < CAST(@p5 AS TIMESTAMP)
        GROUP BY 1
      ),
      ev AS (
        SELECT customer_id, DATE(first_at, @p6) AS first_day,
               DATE(last_at, @p7) AS last_day, last_type
        FROM (
          SELECT CAST(\`t\`.\`customer_id\` AS STRING) AS customer_id,
                 MIN(\`t\`.\`occurred_at\`) AS first_at, MAX(\`t\`.\`occurred_at\`) AS last_at,
                 SUBSTR(MAX(CONCAT(FORMAT_TIMESTAMP(@p8, \`t\`.\`occurred_at\`, @p9), \`t\`.\`type\`)), 22) AS last_type
          FROM \`events\` AS t
          WHERE \`t\`.\`occurred_at\` < CAST(@p10 AS TIMESTAMP)
          GROUP BY 1
        ) AS e
      ),
      known AS (SELECT customer_id FROM buyers UNION DISTINCT SELECT customer_id FROM people UNION DISTINCT SELECT customer_id FROM ev)
      SELECT k.customer_id AS customer_id,
             LEAST(COALESCE(b.first_day, p.created_day, e.first_day), COALESCE(p.created_day, e.first_day, b.first_day), COALESCE(e.first_day, b.first_day, p.created_day)) AS \`first_seen_date\`,
             b.first_day AS \`first_purchase_date\`,
             b.second_day AS \`second_purchase_date\`,
             b.last_day AS \`last_purchase_date\`,
             CAST(COALESCE(b.purchase_days, 0) AS FLOAT64) AS \`purchase_days\`,
             CAST(COALESCE(b.order_count, 0) AS FLOAT64) AS \`order_count\`,
             CAST(COALESCE(b.revenue, 0) AS FLOAT64) AS \`revenue\`,
             CAST(b.first_day_revenue AS FLOAT64) AS \`first_purchase_revenue\`,
             CAST(b.revenue AS FLOAT64) / NULLIF(CAST(b.order_count AS FLOAT64), 0) AS \`average_order_value\`,
             CASE WHEN b.purchase_days = 1 THEN CAST(0 AS FLOAT64) WHEN b.purchase_days > 1 THEN CAST(DATE_DIFF(b.last_day, b.first_day, DAY) AS FLOAT64) / (b.purchase_days - 1) END AS \`mean_gap_days\`,
             CAST(DATE_DIFF(CAST(@p11 AS DATE), b.last_day, DAY) AS FLOAT64) AS \`recency_days\`,
             CAST(DATE_DIFF(CAST(@p12 AS DATE), LEAST(COALESCE(b.first_day, p.created_day, e.first_day), COALESCE(p.created_day, e.first_day, b.first_day), COALESCE(e.first_day, b.first_day, p.created_day)), DAY) AS FLOAT64) AS \`tenure_days\`,
             CAST(COALESCE(r.referred_count, 0) AS FLOAT64) AS \`referred_count\`,
             CAST(p.acquisition_channel AS STRING) AS \`acquisition_channel\`,
             e.last_day AS \`last_event_date\`,
             CAST(e.last_type AS STRING) AS \`last_event_type\`
      FROM known AS k
      LEFT JOIN buyers AS b ON b.customer_id = k.customer_id
      LEFT JOIN people AS p ON p.customer_id = k.customer_id
      LEFT JOIN referrals AS r ON r.customer_id = k.customer_id
      LEFT JOIN ev AS e ON e.customer_id = k.customer_id
      -- param 1: "UTC"
      -- param 2: "2026-07-01T00:00:00.000Z"
      -- param 3: "UTC"
      -- param 4: "2026-07-01T00:00:00.000Z"
      -- param 5: "2026-07-01T00:00:00.000Z"
      -- param 6: "UTC"
      -- param 7: "UTC"
      -- param 8: "%Y%m%d%H%M%E6S"
      -- param 9: "UTC"
      -- param 10: "2026-07-01T00:00:00.000Z"
      -- param 11: "2026-06-30"
      -- param 12: "2026-06-30""
    `);
  });

  it("with the purchase-day features only, for a list of customers, in a zone other than UTC", () => {
    const options: Partial<FeaturesQuery> = {
      fields: new Set(["secondPurchaseDate", "firstPurchaseRevenue", "lastEventType"]),
      customerIds: ["c001", "c002"],
      timeZone: "Europe/Berlin",
    };
    expect(features(duckdbDialect, options)).toMatchInlineSnapshot(`
      "WITH tx AS (
        SELECT CAST("t"."customer_id" AS VARCHAR) AS customer_id,
               CAST(timezone($1, CAST("t"."occurred_at" AS TIMESTAMPTZ)) AS DATE) AS day,
               "t"."amount" AS amount,
               "t"."order_id" AS order_id
        FROM "transactions" AS t
        WHERE "t"."occurred_at" < CAST($2 AS TIMESTAMP) AND "t"."customer_id" = ANY($3)
      ),
      daily AS (
        SELECT customer_id, day, SUM(revenue) AS revenue, SUM(CASE WHEN order_id IS NULL THEN lines ELSE 1 END) AS orders
        FROM (SELECT customer_id, day, order_id, SUM(amount) AS revenue, COUNT(*) AS lines FROM tx GROUP BY customer_id, day, order_id) AS o
        GROUP BY customer_id, day
      ),
      buyer_days AS (
        SELECT customer_id, COUNT(*) AS purchase_days, MIN(day) AS first_day, MAX(day) AS last_day, SUM(orders) AS order_count, SUM(revenue) AS revenue, arg_min_null(revenue, day) AS first_day_revenue
        FROM daily GROUP BY customer_id
      ),
      buyers AS (
        SELECT b.*, s.second_day
        FROM buyer_days AS b
        LEFT JOIN (
          SELECT d.customer_id, MIN(d.day) AS second_day
          FROM daily AS d JOIN buyer_days AS f ON f.customer_id = d.customer_id AND d.day > f.first_day
          GROUP BY d.customer_id
        ) AS s ON s.customer_id = b.customer_id
      ),
      ev AS (
        SELECT customer_id, CAST(timezone($4, CAST(first_at AS TIMESTAMPTZ)) AS DATE) AS first_day,
               CAST(timezone($5, CAST(last_at AS TIMESTAMPTZ)) AS DATE) AS last_day, last_type
        FROM (
          SELECT CAST("t"."customer_id" AS VARCHAR) AS customer_id,
                 MIN("t"."occurred_at") AS first_at, MAX("t"."occurred_at") AS last_at,
                 max(struct_pack(t := "t"."occurred_at", v := "t"."type")).v AS last_type
          FROM "events" AS t
          WHERE "t"."occurred_at" < CAST($6 AS TIMESTAMP) AND "t"."customer_id" = ANY($7)
          GROUP BY 1
        ) AS e
      ),
      known AS (SELECT customer_id FROM buyers UNION DISTINCT SELECT CAST("t"."customer_id" AS VARCHAR) AS customer_id
        FROM "customers" AS t
        WHERE "t"."created_at" < CAST($8 AS TIMESTAMP) AND "t"."customer_id" = ANY($9) UNION DISTINCT SELECT customer_id FROM ev)
      SELECT k.customer_id AS customer_id,
             b.second_day AS "second_purchase_date",
             CAST(b.first_day_revenue AS DOUBLE) AS "first_purchase_revenue",
             CAST(e.last_type AS VARCHAR) AS "last_event_type"
      FROM known AS k
      LEFT JOIN buyers AS b ON b.customer_id = k.customer_id
      LEFT JOIN ev AS e ON e.customer_id = k.customer_id
      -- param 1: "Europe/Berlin"
      -- param 2: "2026-06-30 22:00:00.000"
      -- param 3: ["c001","c002"]
      -- param 4: "Europe/Berlin"
      -- param 5: "Europe/Berlin"
      -- param 6: "2026-06-30 22:00:00.000"
      -- param 7: ["c001","c002"]
      -- param 8: "2026-06-30 22:00:00.000"
      -- param 9: ["c001","c002"]"
    `);
    expect(features(postgresDialect, options)).toMatchInlineSnapshot(`
      "WITH tx AS (
        SELECT CAST("t"."customer_id" AS TEXT) AS customer_id,
               CAST((CAST("t"."occurred_at" AS TIMESTAMPTZ) AT TIME ZONE $1) AS DATE) AS day,
               "t"."amount" AS amount,
               "t"."order_id" AS order_id
        FROM "transactions" AS t
        WHERE "t"."occurred_at" < CAST($2 AS TIMESTAMPTZ) AND "t"."customer_id" = ANY($3)
      ),
      daily AS (
        SELECT customer_id, day, SUM(revenue) AS revenue, SUM(CASE WHEN order_id IS NULL THEN lines ELSE 1 END) AS orders,
               ROW_NUMBER() OVER (PARTITION BY customer_id ORDER BY day) AS n
        FROM (SELECT customer_id, day, order_id, SUM(amount) AS revenue, COUNT(*) AS lines FROM tx GROUP BY customer_id, day, order_id) AS o
        GROUP BY customer_id, day
      ),
      buyers AS (
        SELECT customer_id, COUNT(*) AS purchase_days, MIN(day) AS first_day, MAX(day) AS last_day, MIN(CASE WHEN n = 2 THEN day END) AS second_day, SUM(orders) AS order_count, SUM(revenue) AS revenue, SUM(CASE WHEN n = 1 THEN revenue END) AS first_day_revenue
        FROM daily GROUP BY customer_id
      ),
      ev AS (
        SELECT customer_id, CAST((CAST(first_at AS TIMESTAMPTZ) AT TIME ZONE $4) AS DATE) AS first_day,
               CAST((CAST(last_at AS TIMESTAMPTZ) AT TIME ZONE $5) AS DATE) AS last_day, last_type
        FROM (
          SELECT CAST("t"."customer_id" AS TEXT) AS customer_id,
                 MIN("t"."occurred_at") AS first_at, MAX("t"."occurred_at") AS last_at,
                 (array_agg("t"."type" ORDER BY "t"."occurred_at" DESC, "t"."type" DESC))[1] AS last_type
          FROM "events" AS t
          WHERE "t"."occurred_at" < CAST($6 AS TIMESTAMPTZ) AND "t"."customer_id" = ANY($7)
          GROUP BY 1
        ) AS e
      ),
      known AS (SELECT customer_id FROM buyers UNION DISTINCT SELECT CAST("t"."customer_id" AS TEXT) AS customer_id
        FROM "customers" AS t
        WHERE "t"."created_at" < CAST($8 AS TIMESTAMPTZ) AND "t"."customer_id" = ANY($9) UNION DISTINCT SELECT customer_id FROM ev)
      SELECT k.customer_id AS customer_id,
             b.second_day AS "second_purchase_date",
             CAST(b.first_day_revenue AS DOUBLE PRECISION) AS "first_purchase_revenue",
             CAST(e.last_type AS TEXT) AS "last_event_type"
      FROM known AS k
      LEFT JOIN buyers AS b ON b.customer_id = k.customer_id
      LEFT JOIN ev AS e ON e.customer_id = k.customer_id
      -- param 1: "Europe/Berlin"
      -- param 2: "2026-06-30T22:00:00.000Z"
      -- param 3: ["c001","c002"]
      -- param 4: "Europe/Berlin"
      -- param 5: "Europe/Berlin"
      -- param 6: "2026-06-30T22:00:00.000Z"
      -- param 7: ["c001","c002"]
      -- param 8: "2026-06-30T22:00:00.000Z"
      -- param 9: ["c001","c002"]"
    `);
    expect(features(bigqueryDialect, options)).toMatchInlineSnapshot(`
      "WITH tx AS (
        SELECT CAST(\`t\`.\`customer_id\` AS STRING) AS customer_id,
               DATE(\`t\`.\`occurred_at\`, @p1) AS day,
               \`t\`.\`amount\` AS amount,
               \`t\`.\`order_id\` AS order_id
        FROM \`transactions\` AS t
        WHERE \`t\`.\`occurred_at\` < CAST(@p2 AS TIMESTAMP) AND \`t\`.\`customer_id\` IN UNNEST(@p3)
      ),
      daily AS (
        SELECT customer_id, day, SUM(revenue) AS revenue, SUM(CASE WHEN order_id IS NULL THEN lines ELSE 1 END) AS orders,
               ROW_NUMBER() OVER (PARTITION BY customer_id ORDER BY day) AS n
        FROM (SELECT customer_id, day, order_id, SUM(amount) AS revenue, COUNT(*) AS lines FROM tx GROUP BY customer_id, day, order_id) AS o
        GROUP BY customer_id, day
      ),
      buyers AS (
        SELECT customer_id, COUNT(*) AS purchase_days, MIN(day) AS first_day, MAX(day) AS last_day, MIN(CASE WHEN n = 2 THEN day END) AS second_day, SUM(orders) AS order_count, SUM(revenue) AS revenue, SUM(CASE WHEN n = 1 THEN revenue END) AS first_day_revenue
        FROM daily GROUP BY customer_id
      ),
      ev AS (
        SELECT customer_id, DATE(first_at, @p4) AS first_day,
               DATE(last_at, @p5) AS last_day, last_type
        FROM (
          SELECT CAST(\`t\`.\`customer_id\` AS STRING) AS customer_id,
                 MIN(\`t\`.\`occurred_at\`) AS first_at, MAX(\`t\`.\`occurred_at\`) AS last_at,
                 SUBSTR(MAX(CONCAT(FORMAT_TIMESTAMP(@p6, \`t\`.\`occurred_at\`, @p7), \`t\`.\`type\`)), 22) AS last_type
          FROM \`events\` AS t
          WHERE \`t\`.\`occurred_at\` < CAST(@p8 AS TIMESTAMP) AND \`t\`.\`customer_id\` IN UNNEST(@p9)
          GROUP BY 1
        ) AS e
      ),
      known AS (SELECT customer_id FROM buyers UNION DISTINCT SELECT CAST(\`t\`.\`customer_id\` AS STRING) AS customer_id
        FROM \`customers\` AS t
        WHERE \`t\`.\`created_at\` < CAST(@p10 AS TIMESTAMP) AND \`t\`.\`customer_id\` IN UNNEST(@p11) UNION DISTINCT SELECT customer_id FROM ev)
      SELECT k.customer_id AS customer_id,
             b.second_day AS \`second_purchase_date\`,
             CAST(b.first_day_revenue AS FLOAT64) AS \`first_purchase_revenue\`,
             CAST(e.last_type AS STRING) AS \`last_event_type\`
      FROM known AS k
      LEFT JOIN buyers AS b ON b.customer_id = k.customer_id
      LEFT JOIN ev AS e ON e.customer_id = k.customer_id
      -- param 1: "Europe/Berlin"
      -- param 2: "2026-06-30T22:00:00.000Z"
      -- param 3: ["c001","c002"]
      -- param 4: "Europe/Berlin"
      -- param 5: "Europe/Berlin"
      -- param 6: "%Y%m%d%H%M%E6S"
      -- param 7: "UTC"
      -- param 8: "2026-06-30T22:00:00.000Z"
      -- param 9: ["c001","c002"]
      -- param 10: "2026-06-30T22:00:00.000Z"
      -- param 11: ["c001","c002"]"
    `);
  });

  it("with the stage rules' features only, for a range of customer ids, without the optional tables", () => {
    const options: Partial<FeaturesQuery> = {
      fields: new Set(["purchaseDays", "recencyDays", "tenureDays", "firstSeenDate"]),
      customerRange: { from: "c100", below: "c200" },
      available: new Set(),
    };
    expect(features(duckdbDialect, options)).toMatchInlineSnapshot(`
      "WITH tx AS (
        SELECT CAST("t"."customer_id" AS VARCHAR) AS customer_id,
               CAST("t"."occurred_at" AS DATE) AS day
        FROM "transactions" AS t
        WHERE "t"."occurred_at" < CAST($1 AS TIMESTAMP) AND CAST("t"."customer_id" AS VARCHAR) >= $2 AND CAST("t"."customer_id" AS VARCHAR) < $3
      ),
      daily AS (
        SELECT customer_id, day
        FROM tx GROUP BY customer_id, day
      ),
      buyers AS (
        SELECT customer_id, COUNT(*) AS purchase_days, MIN(day) AS first_day, MAX(day) AS last_day
        FROM daily GROUP BY customer_id
      ),
      known AS (SELECT customer_id FROM buyers)
      SELECT k.customer_id AS customer_id,
             b.first_day AS "first_seen_date",
             CAST(COALESCE(b.purchase_days, 0) AS DOUBLE) AS "purchase_days",
             CAST(date_diff('day', b.last_day, CAST($4 AS DATE)) AS DOUBLE) AS "recency_days",
             CAST(date_diff('day', b.first_day, CAST($5 AS DATE)) AS DOUBLE) AS "tenure_days"
      FROM known AS k
      LEFT JOIN buyers AS b ON b.customer_id = k.customer_id
      -- param 1: "2026-07-01 00:00:00.000"
      -- param 2: "c100"
      -- param 3: "c200"
      -- param 4: "2026-06-30"
      -- param 5: "2026-06-30""
    `);
    expect(features(postgresDialect, options)).toMatchInlineSnapshot(`
      "WITH tx AS (
        SELECT CAST("t"."customer_id" AS TEXT) AS customer_id,
               CAST("t"."occurred_at" AS DATE) AS day
        FROM "transactions" AS t
        WHERE "t"."occurred_at" < CAST($1 AS TIMESTAMPTZ) AND CAST("t"."customer_id" AS TEXT) >= $2 AND CAST("t"."customer_id" AS TEXT) < $3
      ),
      daily AS (
        SELECT customer_id, day
        FROM tx GROUP BY customer_id, day
      ),
      buyers AS (
        SELECT customer_id, COUNT(*) AS purchase_days, MIN(day) AS first_day, MAX(day) AS last_day
        FROM daily GROUP BY customer_id
      ),
      known AS (SELECT customer_id FROM buyers)
      SELECT k.customer_id AS customer_id,
             b.first_day AS "first_seen_date",
             CAST(COALESCE(b.purchase_days, 0) AS DOUBLE PRECISION) AS "purchase_days",
             CAST((CAST($4 AS DATE) - b.last_day) AS DOUBLE PRECISION) AS "recency_days",
             CAST((CAST($5 AS DATE) - b.first_day) AS DOUBLE PRECISION) AS "tenure_days"
      FROM known AS k
      LEFT JOIN buyers AS b ON b.customer_id = k.customer_id
      -- param 1: "2026-07-01T00:00:00.000Z"
      -- param 2: "c100"
      -- param 3: "c200"
      -- param 4: "2026-06-30"
      -- param 5: "2026-06-30""
    `);
    expect(features(bigqueryDialect, options)).toMatchInlineSnapshot(`
      "WITH tx AS (
        SELECT CAST(\`t\`.\`customer_id\` AS STRING) AS customer_id,
               DATE(\`t\`.\`occurred_at\`, @p1) AS day
        FROM \`transactions\` AS t
        WHERE \`t\`.\`occurred_at\` < CAST(@p2 AS TIMESTAMP) AND CAST(\`t\`.\`customer_id\` AS STRING) >= @p3 AND CAST(\`t\`.\`customer_id\` AS STRING) < @p4
      ),
      daily AS (
        SELECT customer_id, day
        FROM tx GROUP BY customer_id, day
      ),
      buyers AS (
        SELECT customer_id, COUNT(*) AS purchase_days, MIN(day) AS first_day, MAX(day) AS last_day
        FROM daily GROUP BY customer_id
      ),
      known AS (SELECT customer_id FROM buyers)
      SELECT k.customer_id AS customer_id,
             b.first_day AS \`first_seen_date\`,
             CAST(COALESCE(b.purchase_days, 0) AS FLOAT64) AS \`purchase_days\`,
             CAST(DATE_DIFF(CAST(@p5 AS DATE), b.last_day, DAY) AS FLOAT64) AS \`recency_days\`,
             CAST(DATE_DIFF(CAST(@p6 AS DATE), b.first_day, DAY) AS FLOAT64) AS \`tenure_days\`
      FROM known AS k
      LEFT JOIN buyers AS b ON b.customer_id = k.customer_id
      -- param 1: "UTC"
      -- param 2: "2026-07-01T00:00:00.000Z"
      -- param 3: "c100"
      -- param 4: "c200"
      -- param 5: "2026-06-30"
      -- param 6: "2026-06-30""
    `);
  });
});

describe("stages and RFM", () => {
  const stageCounts = async (dialect: Dialect) => {
    const { connector, service } = lifecycle(dialect);
    await service.stageCounts(AS_OF);
    return rendered(connector.sent[0]!, dialect);
  };

  it("counts customers per stage, each assigned its stage in SQL", async () => {
    expect(await stageCounts(duckdbDialect)).toMatchInlineSnapshot(`
      "SELECT CASE WHEN ("f"."purchase_days" IS NOT NULL AND "f"."purchase_days" = CAST($1 AS DOUBLE)) THEN 0 WHEN ("f"."recency_days" IS NOT NULL AND "f"."recency_days" > CAST($2 AS DOUBLE)) THEN 7 WHEN ("f"."recency_days" IS NOT NULL AND "f"."mean_gap_days" IS NOT NULL AND "f"."recency_days" > GREATEST(CAST($3 AS DOUBLE), (CAST($4 AS DOUBLE) * "f"."mean_gap_days"))) THEN 6 WHEN (("f"."purchase_days" IS NOT NULL AND "f"."purchase_days" >= CAST($5 AS DOUBLE)) AND ("f"."referred_count" IS NOT NULL AND "f"."referred_count" >= CAST($6 AS DOUBLE))) THEN 5 WHEN ("f"."purchase_days" IS NOT NULL AND "f"."purchase_days" >= CAST($7 AS DOUBLE)) THEN 4 WHEN ("f"."purchase_days" IS NOT NULL AND "f"."purchase_days" >= CAST($8 AS DOUBLE)) THEN 3 WHEN (("f"."purchase_days" IS NOT NULL AND "f"."purchase_days" = CAST($9 AS DOUBLE)) AND ("f"."recency_days" IS NOT NULL AND "f"."recency_days" <= CAST($10 AS DOUBLE))) THEN 1 WHEN ("f"."purchase_days" IS NOT NULL AND "f"."purchase_days" = CAST($11 AS DOUBLE)) THEN 2 ELSE 0 END AS stage_index, COUNT(*) AS n FROM (WITH tx AS (
        SELECT CAST("t"."customer_id" AS VARCHAR) AS customer_id,
               CAST(timezone($12, CAST("t"."occurred_at" AS TIMESTAMPTZ)) AS DATE) AS day
        FROM "transactions" AS t
        WHERE "t"."occurred_at" < CAST($13 AS TIMESTAMP)
      ),
      daily AS (
        SELECT customer_id, day
        FROM tx GROUP BY customer_id, day
      ),
      buyers AS (
        SELECT customer_id, COUNT(*) AS purchase_days, MIN(day) AS first_day, MAX(day) AS last_day
        FROM daily GROUP BY customer_id
      ),
      referrals AS (
        SELECT CAST("t"."referred_by" AS VARCHAR) AS customer_id, COUNT(*) AS referred_count
        FROM "customers" AS t
        WHERE "t"."referred_by" IS NOT NULL AND "t"."created_at" < CAST($14 AS TIMESTAMP)
        GROUP BY 1
      ),
      known AS (SELECT customer_id FROM buyers UNION DISTINCT SELECT CAST("t"."customer_id" AS VARCHAR) AS customer_id
        FROM "customers" AS t
        WHERE "t"."created_at" < CAST($15 AS TIMESTAMP) UNION DISTINCT SELECT CAST("t"."customer_id" AS VARCHAR) AS customer_id
        FROM "events" AS t
        WHERE "t"."occurred_at" < CAST($16 AS TIMESTAMP))
      SELECT k.customer_id AS customer_id,
             CAST(COALESCE(b.purchase_days, 0) AS DOUBLE) AS "purchase_days",
             CASE WHEN b.purchase_days = 1 THEN CAST(0 AS DOUBLE) WHEN b.purchase_days > 1 THEN CAST(date_diff('day', b.first_day, b.last_day) AS DOUBLE) / (b.purchase_days - 1) END AS "mean_gap_days",
             CAST(date_diff('day', b.last_day, CAST($17 AS DATE)) AS DOUBLE) AS "recency_days",
             CAST(COALESCE(r.referred_count, 0) AS DOUBLE) AS "referred_count"
      FROM known AS k
      LEFT JOIN buyers AS b ON b.customer_id = k.customer_id
      LEFT JOIN referrals AS r ON r.customer_id = k.customer_id) AS f GROUP BY 1
      -- param 1: 0
      -- param 2: 365
      -- param 3: 60
      -- param 4: 3
      -- param 5: 2
      -- param 6: 1
      -- param 7: 4
      -- param 8: 2
      -- param 9: 1
      -- param 10: 30
      -- param 11: 1
      -- param 12: "Europe/Berlin"
      -- param 13: "2026-06-30 22:00:00.000"
      -- param 14: "2026-06-30 22:00:00.000"
      -- param 15: "2026-06-30 22:00:00.000"
      -- param 16: "2026-06-30 22:00:00.000"
      -- param 17: "2026-06-30""
    `);
    expect(await stageCounts(postgresDialect)).toMatchInlineSnapshot(`
      "SELECT CASE WHEN ("f"."purchase_days" IS NOT NULL AND "f"."purchase_days" = CAST($1 AS DOUBLE PRECISION)) THEN 0 WHEN ("f"."recency_days" IS NOT NULL AND "f"."recency_days" > CAST($2 AS DOUBLE PRECISION)) THEN 7 WHEN ("f"."recency_days" IS NOT NULL AND "f"."mean_gap_days" IS NOT NULL AND "f"."recency_days" > GREATEST(CAST($3 AS DOUBLE PRECISION), (CAST($4 AS DOUBLE PRECISION) * "f"."mean_gap_days"))) THEN 6 WHEN (("f"."purchase_days" IS NOT NULL AND "f"."purchase_days" >= CAST($5 AS DOUBLE PRECISION)) AND ("f"."referred_count" IS NOT NULL AND "f"."referred_count" >= CAST($6 AS DOUBLE PRECISION))) THEN 5 WHEN ("f"."purchase_days" IS NOT NULL AND "f"."purchase_days" >= CAST($7 AS DOUBLE PRECISION)) THEN 4 WHEN ("f"."purchase_days" IS NOT NULL AND "f"."purchase_days" >= CAST($8 AS DOUBLE PRECISION)) THEN 3 WHEN (("f"."purchase_days" IS NOT NULL AND "f"."purchase_days" = CAST($9 AS DOUBLE PRECISION)) AND ("f"."recency_days" IS NOT NULL AND "f"."recency_days" <= CAST($10 AS DOUBLE PRECISION))) THEN 1 WHEN ("f"."purchase_days" IS NOT NULL AND "f"."purchase_days" = CAST($11 AS DOUBLE PRECISION)) THEN 2 ELSE 0 END AS stage_index, COUNT(*) AS n FROM (WITH tx AS (
        SELECT CAST("t"."customer_id" AS TEXT) AS customer_id,
               CAST((CAST("t"."occurred_at" AS TIMESTAMPTZ) AT TIME ZONE $12) AS DATE) AS day
        FROM "transactions" AS t
        WHERE "t"."occurred_at" < CAST($13 AS TIMESTAMPTZ)
      ),
      daily AS (
        SELECT customer_id, day
        FROM tx GROUP BY customer_id, day
      ),
      buyers AS (
        SELECT customer_id, COUNT(*) AS purchase_days, MIN(day) AS first_day, MAX(day) AS last_day
        FROM daily GROUP BY customer_id
      ),
      referrals AS (
        SELECT CAST("t"."referred_by" AS TEXT) AS customer_id, COUNT(*) AS referred_count
        FROM "customers" AS t
        WHERE "t"."referred_by" IS NOT NULL AND "t"."created_at" < CAST($14 AS TIMESTAMPTZ)
        GROUP BY 1
      ),
      known AS (SELECT customer_id FROM buyers UNION DISTINCT SELECT CAST("t"."customer_id" AS TEXT) AS customer_id
        FROM "customers" AS t
        WHERE "t"."created_at" < CAST($15 AS TIMESTAMPTZ) UNION DISTINCT SELECT CAST("t"."customer_id" AS TEXT) AS customer_id
        FROM "events" AS t
        WHERE "t"."occurred_at" < CAST($16 AS TIMESTAMPTZ))
      SELECT k.customer_id AS customer_id,
             CAST(COALESCE(b.purchase_days, 0) AS DOUBLE PRECISION) AS "purchase_days",
             CASE WHEN b.purchase_days = 1 THEN CAST(0 AS DOUBLE PRECISION) WHEN b.purchase_days > 1 THEN CAST((b.last_day - b.first_day) AS DOUBLE PRECISION) / (b.purchase_days - 1) END AS "mean_gap_days",
             CAST((CAST($17 AS DATE) - b.last_day) AS DOUBLE PRECISION) AS "recency_days",
             CAST(COALESCE(r.referred_count, 0) AS DOUBLE PRECISION) AS "referred_count"
      FROM known AS k
      LEFT JOIN buyers AS b ON b.customer_id = k.customer_id
      LEFT JOIN referrals AS r ON r.customer_id = k.customer_id) AS f GROUP BY 1
      -- param 1: 0
      -- param 2: 365
      -- param 3: 60
      -- param 4: 3
      -- param 5: 2
      -- param 6: 1
      -- param 7: 4
      -- param 8: 2
      -- param 9: 1
      -- param 10: 30
      -- param 11: 1
      -- param 12: "Europe/Berlin"
      -- param 13: "2026-06-30T22:00:00.000Z"
      -- param 14: "2026-06-30T22:00:00.000Z"
      -- param 15: "2026-06-30T22:00:00.000Z"
      -- param 16: "2026-06-30T22:00:00.000Z"
      -- param 17: "2026-06-30""
    `);
    expect(await stageCounts(bigqueryDialect)).toMatchInlineSnapshot(`
      "SELECT CASE WHEN (\`f\`.\`purchase_days\` IS NOT NULL AND \`f\`.\`purchase_days\` = CAST(@p1 AS FLOAT64)) THEN 0 WHEN (\`f\`.\`recency_days\` IS NOT NULL AND \`f\`.\`recency_days\` > CAST(@p2 AS FLOAT64)) THEN 7 WHEN (\`f\`.\`recency_days\` IS NOT NULL AND \`f\`.\`mean_gap_days\` IS NOT NULL AND \`f\`.\`recency_days\` > GREATEST(CAST(@p3 AS FLOAT64), (CAST(@p4 AS FLOAT64) * \`f\`.\`mean_gap_days\`))) THEN 6 WHEN ((\`f\`.\`purchase_days\` IS NOT NULL AND \`f\`.\`purchase_days\` >= CAST(@p5 AS FLOAT64)) AND (\`f\`.\`referred_count\` IS NOT NULL AND \`f\`.\`referred_count\` >= CAST(@p6 AS FLOAT64))) THEN 5 WHEN (\`f\`.\`purchase_days\` IS NOT NULL AND \`f\`.\`purchase_days\` >= CAST(@p7 AS FLOAT64)) THEN 4 WHEN (\`f\`.\`purchase_days\` IS NOT NULL AND \`f\`.\`purchase_days\` >= CAST(@p8 AS FLOAT64)) THEN 3 WHEN ((\`f\`.\`purchase_days\` IS NOT NULL AND \`f\`.\`purchase_days\` = CAST(@p9 AS FLOAT64)) AND (\`f\`.\`recency_days\` IS NOT NULL AND \`f\`.\`recency_days\` <= CAST(@p10 AS FLOAT64))) THEN 1 WHEN (\`f\`.\`purchase_days\` IS NOT NULL AND \`f\`.\`purchase_days\` = CAST(@p11 AS FLOAT64)) THEN 2 ELSE 0 END AS stage_index, COUNT(*) AS n FROM (WITH tx AS (
        SELECT CAST(\`t\`.\`customer_id\` AS STRING) AS customer_id,
               DATE(\`t\`.\`occurred_at\`, @p12) AS day
        FROM \`transactions\` AS t
        WHERE \`t\`.\`occurred_at\` < CAST(@p13 AS TIMESTAMP)
      ),
      daily AS (
        SELECT customer_id, day
        FROM tx GROUP BY customer_id, day
      ),
      buyers AS (
        SELECT customer_id, COUNT(*) AS purchase_days, MIN(day) AS first_day, MAX(day) AS last_day
        FROM daily GROUP BY customer_id
      ),
      referrals AS (
        SELECT CAST(\`t\`.\`referred_by\` AS STRING) AS customer_id, COUNT(*) AS referred_count
        FROM \`customers\` AS t
        WHERE \`t\`.\`referred_by\` IS NOT NULL AND \`t\`.\`created_at\` < CAST(@p14 AS TIMESTAMP)
        GROUP BY 1
      ),
      known AS (SELECT customer_id FROM buyers UNION DISTINCT SELECT CAST(\`t\`.\`customer_id\` AS STRING) AS customer_id
        FROM \`customers\` AS t
        WHERE \`t\`.\`created_at\` < CAST(@p15 AS TIMESTAMP) UNION DISTINCT SELECT CAST(\`t\`.\`customer_id\` AS STRING) AS customer_id
        FROM \`events\` AS t
        WHERE \`t\`.\`occurred_at\` < CAST(@p16 AS TIMESTAMP))
      SELECT k.customer_id AS customer_id,
             CAST(COALESCE(b.purchase_days, 0) AS FLOAT64) AS \`purchase_days\`,
             CASE WHEN b.purchase_days = 1 THEN CAST(0 AS FLOAT64) WHEN b.purchase_days > 1 THEN CAST(DATE_DIFF(b.last_day, b.first_day, DAY) AS FLOAT64) / (b.purchase_days - 1) END AS \`mean_gap_days\`,
             CAST(DATE_DIFF(CAST(@p17 AS DATE), b.last_day, DAY) AS FLOAT64) AS \`recency_days\`,
             CAST(COALESCE(r.referred_count, 0) AS FLOAT64) AS \`referred_count\`
      FROM known AS k
      LEFT JOIN buyers AS b ON b.customer_id = k.customer_id
      LEFT JOIN referrals AS r ON r.customer_id = k.customer_id) AS f GROUP BY 1
      -- param 1: 0
      -- param 2: 365
      -- param 3: 60
      -- param 4: 3
      -- param 5: 2
      -- param 6: 1
      -- param 7: 4
      -- param 8: 2
      -- param 9: 1
      -- param 10: 30
      -- param 11: 1
      -- param 12: "Europe/Berlin"
      -- param 13: "2026-06-30T22:00:00.000Z"
      -- param 14: "2026-06-30T22:00:00.000Z"
      -- param 15: "2026-06-30T22:00:00.000Z"
      -- param 16: "2026-06-30T22:00:00.000Z"
      -- param 17: "2026-06-30""
    `);
  });

  const rfmScored = (dialect: Dialect) => rendered(lifecycle(dialect, new Set()).service.rfmScored(AS_OF), dialect);

  it("scores every buyer's recency, frequency and monetary quintiles", () => {
    expect(rfmScored(duckdbDialect)).toMatchInlineSnapshot(`
      "SELECT f.customer_id AS customer_id, f.revenue AS revenue,
             CAST(1 + FLOOR(CAST(5 * (RANK() OVER (ORDER BY f.recency_days DESC) - 1) AS DOUBLE) / COUNT(*) OVER ()) AS BIGINT) AS r,
             CAST(1 + FLOOR(CAST(5 * (RANK() OVER (ORDER BY f.purchase_days ASC) - 1) AS DOUBLE) / COUNT(*) OVER ()) AS BIGINT) AS fq,
             CAST(1 + FLOOR(CAST(5 * (RANK() OVER (ORDER BY f.revenue ASC) - 1) AS DOUBLE) / COUNT(*) OVER ()) AS BIGINT) AS m
      FROM (WITH tx AS (
        SELECT CAST("t"."customer_id" AS VARCHAR) AS customer_id,
               CAST(timezone($1, CAST("t"."occurred_at" AS TIMESTAMPTZ)) AS DATE) AS day,
               "t"."amount" AS amount,
               "t"."order_id" AS order_id
        FROM "transactions" AS t
        WHERE "t"."occurred_at" < CAST($2 AS TIMESTAMP)
      ),
      daily AS (
        SELECT customer_id, day, SUM(revenue) AS revenue, SUM(CASE WHEN order_id IS NULL THEN lines ELSE 1 END) AS orders
        FROM (SELECT customer_id, day, order_id, SUM(amount) AS revenue, COUNT(*) AS lines FROM tx GROUP BY customer_id, day, order_id) AS o
        GROUP BY customer_id, day
      ),
      buyer_days AS (
        SELECT customer_id, COUNT(*) AS purchase_days, MIN(day) AS first_day, MAX(day) AS last_day, SUM(orders) AS order_count, SUM(revenue) AS revenue, arg_min_null(revenue, day) AS first_day_revenue
        FROM daily GROUP BY customer_id
      ),
      buyers AS (
        SELECT b.*, s.second_day
        FROM buyer_days AS b
        LEFT JOIN (
          SELECT d.customer_id, MIN(d.day) AS second_day
          FROM daily AS d JOIN buyer_days AS f ON f.customer_id = d.customer_id AND d.day > f.first_day
          GROUP BY d.customer_id
        ) AS s ON s.customer_id = b.customer_id
      ),
      known AS (SELECT customer_id FROM buyers)
      SELECT k.customer_id AS customer_id,
             b.first_day AS "first_seen_date",
             b.first_day AS "first_purchase_date",
             b.second_day AS "second_purchase_date",
             b.last_day AS "last_purchase_date",
             CAST(COALESCE(b.purchase_days, 0) AS DOUBLE) AS "purchase_days",
             CAST(COALESCE(b.order_count, 0) AS DOUBLE) AS "order_count",
             CAST(COALESCE(b.revenue, 0) AS DOUBLE) AS "revenue",
             CAST(b.first_day_revenue AS DOUBLE) AS "first_purchase_revenue",
             CAST(b.revenue AS DOUBLE) / NULLIF(CAST(b.order_count AS DOUBLE), 0) AS "average_order_value",
             CASE WHEN b.purchase_days = 1 THEN CAST(0 AS DOUBLE) WHEN b.purchase_days > 1 THEN CAST(date_diff('day', b.first_day, b.last_day) AS DOUBLE) / (b.purchase_days - 1) END AS "mean_gap_days",
             CAST(date_diff('day', b.last_day, CAST($3 AS DATE)) AS DOUBLE) AS "recency_days",
             CAST(date_diff('day', b.first_day, CAST($4 AS DATE)) AS DOUBLE) AS "tenure_days",
             CAST($5 AS DOUBLE) AS "referred_count",
             CAST($6 AS VARCHAR) AS "acquisition_channel",
             CAST($7 AS DATE) AS "last_event_date",
             CAST($8 AS VARCHAR) AS "last_event_type"
      FROM known AS k
      LEFT JOIN buyers AS b ON b.customer_id = k.customer_id) AS f
      WHERE f.purchase_days >= 1
      -- param 1: "Europe/Berlin"
      -- param 2: "2026-06-30 22:00:00.000"
      -- param 3: "2026-06-30"
      -- param 4: "2026-06-30"
      -- param 5: null
      -- param 6: null
      -- param 7: null
      -- param 8: null"
    `);
    expect(rfmScored(postgresDialect)).toMatchInlineSnapshot(`
      "SELECT f.customer_id AS customer_id, f.revenue AS revenue,
             CAST(1 + FLOOR(CAST(5 * (RANK() OVER (ORDER BY f.recency_days DESC) - 1) AS DOUBLE PRECISION) / COUNT(*) OVER ()) AS BIGINT) AS r,
             CAST(1 + FLOOR(CAST(5 * (RANK() OVER (ORDER BY f.purchase_days ASC) - 1) AS DOUBLE PRECISION) / COUNT(*) OVER ()) AS BIGINT) AS fq,
             CAST(1 + FLOOR(CAST(5 * (RANK() OVER (ORDER BY f.revenue ASC) - 1) AS DOUBLE PRECISION) / COUNT(*) OVER ()) AS BIGINT) AS m
      FROM (WITH tx AS (
        SELECT CAST("t"."customer_id" AS TEXT) AS customer_id,
               CAST((CAST("t"."occurred_at" AS TIMESTAMPTZ) AT TIME ZONE $1) AS DATE) AS day,
               "t"."amount" AS amount,
               "t"."order_id" AS order_id
        FROM "transactions" AS t
        WHERE "t"."occurred_at" < CAST($2 AS TIMESTAMPTZ)
      ),
      daily AS (
        SELECT customer_id, day, SUM(revenue) AS revenue, SUM(CASE WHEN order_id IS NULL THEN lines ELSE 1 END) AS orders,
               ROW_NUMBER() OVER (PARTITION BY customer_id ORDER BY day) AS n
        FROM (SELECT customer_id, day, order_id, SUM(amount) AS revenue, COUNT(*) AS lines FROM tx GROUP BY customer_id, day, order_id) AS o
        GROUP BY customer_id, day
      ),
      buyers AS (
        SELECT customer_id, COUNT(*) AS purchase_days, MIN(day) AS first_day, MAX(day) AS last_day, MIN(CASE WHEN n = 2 THEN day END) AS second_day, SUM(orders) AS order_count, SUM(revenue) AS revenue, SUM(CASE WHEN n = 1 THEN revenue END) AS first_day_revenue
        FROM daily GROUP BY customer_id
      ),
      known AS (SELECT customer_id FROM buyers)
      SELECT k.customer_id AS customer_id,
             b.first_day AS "first_seen_date",
             b.first_day AS "first_purchase_date",
             b.second_day AS "second_purchase_date",
             b.last_day AS "last_purchase_date",
             CAST(COALESCE(b.purchase_days, 0) AS DOUBLE PRECISION) AS "purchase_days",
             CAST(COALESCE(b.order_count, 0) AS DOUBLE PRECISION) AS "order_count",
             CAST(COALESCE(b.revenue, 0) AS DOUBLE PRECISION) AS "revenue",
             CAST(b.first_day_revenue AS DOUBLE PRECISION) AS "first_purchase_revenue",
             CAST(b.revenue AS DOUBLE PRECISION) / NULLIF(CAST(b.order_count AS DOUBLE PRECISION), 0) AS "average_order_value",
             CASE WHEN b.purchase_days = 1 THEN CAST(0 AS DOUBLE PRECISION) WHEN b.purchase_days > 1 THEN CAST((b.last_day - b.first_day) AS DOUBLE PRECISION) / (b.purchase_days - 1) END AS "mean_gap_days",
             CAST((CAST($3 AS DATE) - b.last_day) AS DOUBLE PRECISION) AS "recency_days",
             CAST((CAST($4 AS DATE) - b.first_day) AS DOUBLE PRECISION) AS "tenure_days",
             CAST($5 AS DOUBLE PRECISION) AS "referred_count",
             CAST($6 AS TEXT) AS "acquisition_channel",
             CAST($7 AS DATE) AS "last_event_date",
             CAST($8 AS TEXT) AS "last_event_type"
      FROM known AS k
      LEFT JOIN buyers AS b ON b.customer_id = k.customer_id) AS f
      WHERE f.purchase_days >= 1
      -- param 1: "Europe/Berlin"
      -- param 2: "2026-06-30T22:00:00.000Z"
      -- param 3: "2026-06-30"
      -- param 4: "2026-06-30"
      -- param 5: null
      -- param 6: null
      -- param 7: null
      -- param 8: null"
    `);
    expect(rfmScored(bigqueryDialect)).toMatchInlineSnapshot(`
      "SELECT f.customer_id AS customer_id, f.revenue AS revenue,
             CAST(1 + FLOOR(CAST(5 * (RANK() OVER (ORDER BY f.recency_days DESC) - 1) AS FLOAT64) / COUNT(*) OVER ()) AS INT64) AS r,
             CAST(1 + FLOOR(CAST(5 * (RANK() OVER (ORDER BY f.purchase_days ASC) - 1) AS FLOAT64) / COUNT(*) OVER ()) AS INT64) AS fq,
             CAST(1 + FLOOR(CAST(5 * (RANK() OVER (ORDER BY f.revenue ASC) - 1) AS FLOAT64) / COUNT(*) OVER ()) AS INT64) AS m
      FROM (WITH tx AS (
        SELECT CAST(\`t\`.\`customer_id\` AS STRING) AS customer_id,
               DATE(\`t\`.\`occurred_at\`, @p1) AS day,
               \`t\`.\`amount\` AS amount,
               \`t\`.\`order_id\` AS order_id
        FROM \`transactions\` AS t
        WHERE \`t\`.\`occurred_at\` < CAST(@p2 AS TIMESTAMP)
      ),
      daily AS (
        SELECT customer_id, day, SUM(revenue) AS revenue, SUM(CASE WHEN order_id IS NULL THEN lines ELSE 1 END) AS orders,
               ROW_NUMBER() OVER (PARTITION BY customer_id ORDER BY day) AS n
        FROM (SELECT customer_id, day, order_id, SUM(amount) AS revenue, COUNT(*) AS lines FROM tx GROUP BY customer_id, day, order_id) AS o
        GROUP BY customer_id, day
      ),
      buyers AS (
        SELECT customer_id, COUNT(*) AS purchase_days, MIN(day) AS first_day, MAX(day) AS last_day, MIN(CASE WHEN n = 2 THEN day END) AS second_day, SUM(orders) AS order_count, SUM(revenue) AS revenue, SUM(CASE WHEN n = 1 THEN revenue END) AS first_day_revenue
        FROM daily GROUP BY customer_id
      ),
      known AS (SELECT customer_id FROM buyers)
      SELECT k.customer_id AS customer_id,
             b.first_day AS \`first_seen_date\`,
             b.first_day AS \`first_purchase_date\`,
             b.second_day AS \`second_purchase_date\`,
             b.last_day AS \`last_purchase_date\`,
             CAST(COALESCE(b.purchase_days, 0) AS FLOAT64) AS \`purchase_days\`,
             CAST(COALESCE(b.order_count, 0) AS FLOAT64) AS \`order_count\`,
             CAST(COALESCE(b.revenue, 0) AS FLOAT64) AS \`revenue\`,
             CAST(b.first_day_revenue AS FLOAT64) AS \`first_purchase_revenue\`,
             CAST(b.revenue AS FLOAT64) / NULLIF(CAST(b.order_count AS FLOAT64), 0) AS \`average_order_value\`,
             CASE WHEN b.purchase_days = 1 THEN CAST(0 AS FLOAT64) WHEN b.purchase_days > 1 THEN CAST(DATE_DIFF(b.last_day, b.first_day, DAY) AS FLOAT64) / (b.purchase_days - 1) END AS \`mean_gap_days\`,
             CAST(DATE_DIFF(CAST(@p3 AS DATE), b.last_day, DAY) AS FLOAT64) AS \`recency_days\`,
             CAST(DATE_DIFF(CAST(@p4 AS DATE), b.first_day, DAY) AS FLOAT64) AS \`tenure_days\`,
             CAST(@p5 AS FLOAT64) AS \`referred_count\`,
             CAST(@p6 AS STRING) AS \`acquisition_channel\`,
             CAST(@p7 AS DATE) AS \`last_event_date\`,
             CAST(@p8 AS STRING) AS \`last_event_type\`
      FROM known AS k
      LEFT JOIN buyers AS b ON b.customer_id = k.customer_id) AS f
      WHERE f.purchase_days >= 1
      -- param 1: "Europe/Berlin"
      -- param 2: "2026-06-30T22:00:00.000Z"
      -- param 3: "2026-06-30"
      -- param 4: "2026-06-30"
      -- param 5: null
      -- param 6: null
      -- param 7: null
      -- param 8: null"
    `);
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
    expect(median(duckdbDialect)).toMatchInlineSnapshot(`"aggregate: quantile_cont(f.days, 0.5)"`);
    expect(median(postgresDialect)).toMatchInlineSnapshot(
      `"aggregate: percentile_cont(0.5) WITHIN GROUP (ORDER BY f.days)"`,
    );
    expect(median(bigqueryDialect)).toMatchInlineSnapshot(
      `"window: PERCENTILE_CONT(f.days, 0.5) OVER (PARTITION BY f.stage_index)"`,
    );
  });

  const sampledIds = async (dialect: Dialect) => {
    const connector = recordingConnector(dialect, (query) =>
      render(query, dialect).text.includes("COUNT(*)") ? [{ n: 1_000 }] : [{ id: "c100" }, { id: "c500" }],
    );
    await customerRanges(connector, new Set(["customers"]));
    return rendered(connector.sent[1]!, dialect);
  };

  it("samples customer ids to place the bounds of customer ranges", async () => {
    expect(await sampledIds(duckdbDialect)).toMatchInlineSnapshot(`
      "SELECT id FROM (SELECT CAST("customer_id" AS VARCHAR) AS id FROM "customers" USING SAMPLE reservoir(4096 ROWS) REPEATABLE (1)) AS s
      WHERE id IS NOT NULL ORDER BY id"
    `);
    expect(await sampledIds(postgresDialect)).toMatchInlineSnapshot(`
      "SELECT id FROM (SELECT CAST("customer_id" AS TEXT) AS id FROM "customers" ORDER BY random() LIMIT 4096) AS s
      WHERE id IS NOT NULL ORDER BY id"
    `);
    expect(await sampledIds(bigqueryDialect)).toMatchInlineSnapshot(`
      "SELECT id FROM (SELECT CAST(\`customer_id\` AS STRING) AS id FROM \`customers\` ORDER BY RAND() LIMIT 4096) AS s
      WHERE id IS NOT NULL ORDER BY id"
    `);
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
    expect(rule(duckdbDialect)).toMatchInlineSnapshot(`
      "(("f"."purchase_days" IS NOT NULL AND "f"."purchase_days" >= CAST($1 AS DOUBLE)) AND (NOT ("f"."acquisition_channel" IS NOT NULL AND "f"."acquisition_channel" = CAST($2 AS VARCHAR))) AND ("f"."last_purchase_date" IS NOT NULL AND "f"."last_purchase_date" < CAST($3 AS DATE)))
      -- param 1: 2
      -- param 2: "email"
      -- param 3: "2026-01-01""
    `);
    expect(rule(postgresDialect)).toMatchInlineSnapshot(`
      "(("f"."purchase_days" IS NOT NULL AND "f"."purchase_days" >= CAST($1 AS DOUBLE PRECISION)) AND (NOT ("f"."acquisition_channel" IS NOT NULL AND "f"."acquisition_channel" = CAST($2 AS TEXT))) AND ("f"."last_purchase_date" IS NOT NULL AND "f"."last_purchase_date" < CAST($3 AS DATE)))
      -- param 1: 2
      -- param 2: "email"
      -- param 3: "2026-01-01""
    `);
    expect(rule(bigqueryDialect)).toMatchInlineSnapshot(`
      "((\`f\`.\`purchase_days\` IS NOT NULL AND \`f\`.\`purchase_days\` >= CAST(@p1 AS FLOAT64)) AND (NOT (\`f\`.\`acquisition_channel\` IS NOT NULL AND \`f\`.\`acquisition_channel\` = CAST(@p2 AS STRING))) AND (\`f\`.\`last_purchase_date\` IS NOT NULL AND \`f\`.\`last_purchase_date\` < CAST(@p3 AS DATE)))
      -- param 1: 2
      -- param 2: "email"
      -- param 3: "2026-01-01""
    `);
  });
});

// Hand-written SQL for the answers the API gives, as someone who knows the engine would write it for
// this one question (the default stage model, UTC days, the contract's tables and semantics: order ids
// may repeat, people may be known from customers, events or purchases alone). The benchmark checks
// that each gives exactly the API's answer before timing it. Constants are literals, not parameters.
// Refunds as the contract says: a negative amount is a refund, netted in revenue, making no order and no
// purchase day; a customer known only by refunds is a prospect.
//
// Per engine, several formulations were tried while writing this (bench/README.md); the fastest is used.

export type Engine = "duckdb" | "postgres";

export interface HandQuestion {
  /** The as-of day, YYYY-MM-DD (UTC). */
  readonly asOf: string;
}

/** The instant the day after asOf begins (UTC): rows before it count. */
function cutoffLiteral(engine: Engine, asOf: string): string {
  const next = new Date(Date.parse(`${asOf}T00:00:00Z`) + 86_400_000).toISOString().slice(0, 10);
  return engine === "duckdb" ? `TIMESTAMP '${next} 00:00:00'` : `TIMESTAMPTZ '${next} 00:00:00+00'`;
}

function dayDiff(engine: Engine, from: string, to: string): string {
  return engine === "duckdb" ? `date_diff('day', ${from}, ${to})` : `(${to} - ${from})`;
}

const DOUBLE = { duckdb: "DOUBLE", postgres: "DOUBLE PRECISION" } as const;

/**
 * The default stage model as one CASE over pd (purchase days, NULL for prospects), rec (recency days),
 * gap (mean gap days) and ref (referred count); `furthest` skips the lapse stages.
 */
function stageCase(furthest: boolean): string {
  const lapse = furthest
    ? ""
    : `
    WHEN rec > 365 THEN 'churned'
    WHEN rec > GREATEST(60, 3 * gap) THEN 'at_risk'`;
  return `CASE
    WHEN pd IS NULL THEN 'prospect'${lapse}
    WHEN pd >= 2 AND ref >= 1 THEN 'advocate'
    WHEN pd >= 4 THEN 'loyal'
    WHEN pd >= 2 THEN 'retained'
    WHEN rec <= 30 THEN 'new'
    ELSE 'developing' END`;
}

/** Customers per stage as of the day: (stage, n). */
export function handStageCounts(engine: Engine, q: HandQuestion): string {
  const ts = cutoffLiteral(engine, q.asOf);
  const asOf = `DATE '${q.asOf}'`;
  // Only what the rules read: purchase days, first/last purchase day, referrals; the known set needs
  // every table's ids (refunds too). Distinct days by a two-level GROUP BY (cheaper than COUNT(DISTINCT)
  // in both engines).
  return `WITH days AS (
  SELECT customer_id, CAST(occurred_at AS DATE) AS day, MAX(CASE WHEN amount >= 0 THEN 1 ELSE 0 END) AS bought
  FROM transactions WHERE occurred_at < ${ts}
  GROUP BY 1, 2
), b AS (
  SELECT customer_id, COUNT(*) AS pd, MIN(day) AS first_day, MAX(day) AS last_day FROM days WHERE bought = 1 GROUP BY 1
), r AS (
  SELECT referred_by AS customer_id, COUNT(*) AS ref FROM customers
  WHERE referred_by IS NOT NULL AND created_at < ${ts} GROUP BY 1
), k AS (
  SELECT customer_id FROM customers WHERE created_at < ${ts}
  UNION SELECT customer_id FROM events WHERE occurred_at < ${ts}
  UNION SELECT customer_id FROM days
), s AS (
  SELECT b.pd AS pd, ${dayDiff(engine, "b.last_day", asOf)} AS rec,
         CASE WHEN b.pd = 1 THEN 0 ELSE CAST(${dayDiff(engine, "b.first_day", "b.last_day")} AS ${DOUBLE[engine]}) / (b.pd - 1) END AS gap,
         COALESCE(r.ref, 0) AS ref
  FROM k LEFT JOIN b ON b.customer_id = k.customer_id LEFT JOIN r ON r.customer_id = k.customer_id
)
SELECT ${stageCase(false)} AS stage, COUNT(*) AS n FROM s GROUP BY 1`;
}

/**
 * Every known customer's features and current / furthest stage keys, ordered by id: the columns of the
 * segment export (customer_id, stage_key, furthest_stage_key, then the features under their SQL names).
 */
export function handFeatures(engine: Engine, q: HandQuestion): string {
  const ts = cutoffLiteral(engine, q.asOf);
  const asOf = `DATE '${q.asOf}'`;
  const D = DOUBLE[engine];
  // Per customer from their days (a purchase day is one with an order): second purchase day and the first
  // one's revenue without a window (DuckDB: min(x, 2) keeps the two smallest, arg_min the revenue at the
  // first day; PostgreSQL has neither, and a filtered aggregate over a ROW_NUMBER is its fastest form
  // here); pd NULL for a customer known only by refunds.
  const buyers =
    engine === "duckdb"
      ? `b AS (
  SELECT customer_id, NULLIF(COUNT(*) FILTER (WHERE orders > 0), 0) AS pd,
         MIN(day) FILTER (WHERE orders > 0) AS first_day, MAX(day) FILTER (WHERE orders > 0) AS last_day,
         list_extract(min(day, 2) FILTER (WHERE orders > 0), 2) AS second_day, SUM(orders) AS orders,
         SUM(revenue) AS revenue, arg_min(revenue, day) FILTER (WHERE orders > 0) AS first_rev, MIN(day) AS first_row_day
  FROM d GROUP BY customer_id
)`
      : `b AS (
  SELECT customer_id, NULLIF(COUNT(*) FILTER (WHERE orders > 0), 0) AS pd,
         MIN(day) FILTER (WHERE orders > 0) AS first_day, MAX(day) FILTER (WHERE orders > 0) AS last_day,
         MIN(day) FILTER (WHERE orders > 0 AND n = 2) AS second_day, SUM(orders) AS orders, SUM(revenue) AS revenue,
         SUM(revenue) FILTER (WHERE orders > 0 AND n = 1) AS first_rev, MIN(day) AS first_row_day
  FROM (SELECT d.*, ROW_NUMBER() OVER (PARTITION BY customer_id ORDER BY orders > 0 DESC, day) AS n FROM d) AS dn
  GROUP BY customer_id
)`;
  const lastType =
    engine === "duckdb"
      ? "max(struct_pack(t := occurred_at, v := type)).v"
      : "(array_agg(type ORDER BY occurred_at DESC, type DESC))[1]";
  return `WITH o AS (
  SELECT customer_id, CAST(occurred_at AS DATE) AS day, order_id, SUM(amount) AS revenue,
         SUM(CASE WHEN amount >= 0 THEN 1 ELSE 0 END) AS lines
  FROM transactions WHERE occurred_at < ${ts}
  GROUP BY 1, 2, 3
), d AS (
  SELECT customer_id, day, SUM(revenue) AS revenue,
         SUM(CASE WHEN order_id IS NULL THEN lines WHEN lines > 0 THEN 1 ELSE 0 END) AS orders
  FROM o GROUP BY 1, 2
), ${buyers}, p AS (
  SELECT customer_id, MIN(CAST(created_at AS DATE)) AS created_day, MIN(acquisition_channel) AS channel
  FROM customers WHERE created_at < ${ts} GROUP BY 1
), r AS (
  SELECT referred_by AS customer_id, COUNT(*) AS ref FROM customers
  WHERE referred_by IS NOT NULL AND created_at < ${ts} GROUP BY 1
), e AS (
  SELECT customer_id, MIN(occurred_at) AS first_at, MAX(occurred_at) AS last_at, ${lastType} AS last_type
  FROM events WHERE occurred_at < ${ts} GROUP BY 1
), k AS (
  SELECT customer_id FROM p UNION SELECT customer_id FROM e UNION SELECT customer_id FROM b
), f AS (
  SELECT k.customer_id, b.pd, b.first_day, b.second_day, b.last_day, b.orders, b.revenue, b.first_rev,
         LEAST(b.first_row_day, p.created_day, CAST(e.first_at AS DATE)) AS first_seen,
         ${dayDiff(engine, "b.last_day", asOf)} AS rec,
         CASE WHEN b.pd = 1 THEN 0 ELSE CAST(${dayDiff(engine, "b.first_day", "b.last_day")} AS ${D}) / (b.pd - 1) END AS gap,
         COALESCE(r.ref, 0) AS ref, p.channel, CAST(e.last_at AS DATE) AS last_event_day, e.last_type
  FROM k LEFT JOIN b ON b.customer_id = k.customer_id LEFT JOIN p ON p.customer_id = k.customer_id
         LEFT JOIN r ON r.customer_id = k.customer_id LEFT JOIN e ON e.customer_id = k.customer_id
)
SELECT customer_id, ${stageCase(false)} AS stage_key, ${stageCase(true)} AS furthest_stage_key,
       first_seen AS first_seen_date, first_day AS first_purchase_date, second_day AS second_purchase_date,
       last_day AS last_purchase_date, CAST(COALESCE(pd, 0) AS ${D}) AS purchase_days,
       CAST(COALESCE(orders, 0) AS ${D}) AS order_count, CAST(COALESCE(revenue, 0) AS ${D}) AS revenue,
       CAST(first_rev AS ${D}) AS first_purchase_revenue,
       CAST(revenue AS ${D}) / NULLIF(CAST(orders AS ${D}), 0) AS average_order_value,
       CAST(gap AS ${D}) AS mean_gap_days, CAST(rec AS ${D}) AS recency_days,
       CAST(${dayDiff(engine, "first_seen", asOf)} AS ${D}) AS tenure_days, CAST(ref AS ${D}) AS referred_count,
       channel AS acquisition_channel, last_event_day AS last_event_date, last_type AS last_event_type
FROM f
ORDER BY customer_id`;
}

// The customer-features query as of a day, in each dialect: computed where the data lives, one row
// per known customer (a purchase, a customers row or an event before the cut-off).
import { ACTIVITY_SOURCE } from "./activity.ts";
import {
  EVENT_MEASURES,
  eventFeatureField,
  eventFeatureSpec,
  featureCatalog,
  FEATURES,
  type EventMeasure,
  type EventType,
  type FeatureField,
} from "./features.ts";
import type { LogicalTable, WarehouseMapping } from "../sql/contract.ts";
import type { Dialect } from "../sql/dialect.ts";
import { cast, ident, integer, join, sql, typeName, type Sql } from "../sql/sql.ts";

/**
 * Customer ids `from` ≤ id < `below`, compared as text in the warehouse's own order (the order of an
 * ORDER BY customer_id there); an absent end is open.
 */
export interface CustomerRange {
  readonly from?: string;
  readonly below?: string;
}

export interface FeaturesQuery {
  readonly dialect: Dialect;
  readonly mapping: WarehouseMapping;
  /** Optional tables present and complete; the features that need others are NULL. */
  readonly available: ReadonlySet<LogicalTable>;
  /** The as-of day, "YYYY-MM-DD". */
  readonly asOf: string;
  /** The instant the day after asOf begins in the time zone: inputs before it count. */
  readonly cutoff: Date;
  readonly timeZone: string;
  /** Restrict to these customers (a batch of lookups); all customers when absent. */
  readonly customerIds?: readonly string[];
  /** Restrict to the customers whose id (as text) lies in this range (a part of a split export). */
  readonly customerRange?: CustomerRange;
  /** The event types configured (CLM_CONFIG events.types; none is []): each adds its features to the catalog. */
  readonly eventTypes: readonly EventType[];
  /** The features to compute (columns in catalog order after customer_id); the whole catalog when absent. */
  readonly fields?: ReadonlySet<string>;
  /**
   * Features as of each of these days at once (`asOf` and `cutoff` are then the latest, which bound
   * every scan): one row per day and customer known that day, the day first in column `as_of`. The
   * periods of a series are computed this way in one query rather than one query per day.
   */
  readonly eachDay?: readonly AsOfDay[];
}

/** One of several days features are computed as of: the day and the instant after it ends. */
export interface AsOfDay {
  readonly asOf: string;
  readonly cutoff: Date;
}

/** ` AND` the text of `expr` lies in `range` (nothing for no range). */
function inRange(expr: Sql, range: CustomerRange | undefined): Sql {
  const text = cast(expr, "text");
  const from = range?.from === undefined ? sql`` : sql` AND ${text} >= ${range.from}`;
  const below = range?.below === undefined ? sql`` : sql` AND ${text} < ${range.below}`;
  return sql`${from}${below}`;
}

/** The smallest non-null of some DATE expressions (LEAST differs on NULL between dialects). */
export function earliest(values: readonly Sql[]): Sql {
  if (values.length === 1) return values[0]!;
  const rotations = values.map((_, i) => sql`COALESCE(${join([...values.slice(i), ...values.slice(0, i)])})`);
  return sql`LEAST(${join(rotations)})`;
}

/**
 * Of the rows grouped, those that are purchases: a negative amount is a refund, which counts in revenue
 * (net) but makes no order and no purchase day.
 */
export const PURCHASE_LINES = sql`SUM(CASE WHEN amount >= 0 THEN 1 ELSE 0 END)`;

/** Whether any of `fields` is wanted. */
function wantsAny(wanted: ReadonlySet<string>, ...fields: FeatureField[]): boolean {
  return fields.some((f) => wanted.has(f));
}

export function featuresSql(q: FeaturesQuery): Sql {
  const { dialect, mapping } = q;
  const table = (logical: LogicalTable) => ident(mapping.schema, mapping.tables[logical].table);
  const col = (logical: LogicalTable, column: string, alias = "t") =>
    ident(alias, mapping.tables[logical].columns[column]);
  const cutoff = dialect.instant(q.cutoff);
  // Several days at once: each table row is joined to every day whose cut-off it precedes, and every
  // grouping, numbering and join below keys on that day (`as_of`) before the customer.
  const asOfDays = q.eachDay
    ? dialect.literalRows(
        ["as_of", "cutoff"],
        q.eachDay.map((d) => [cast(d.asOf, "date"), dialect.instant(d.cutoff)]),
      )
    : undefined;
  /** The day key leading a column or grouping list (of relation `alias`); nothing for one day. */
  const byDay = (alias?: string) => (asOfDays ? sql`${ident(alias, "as_of")}, ` : sql``);
  /** ` AND` rows of `a` and `b` are as of the same day; nothing for one day. */
  const sameDay = (a: string, b: string) => (asOfDays ? sql` AND ${ident(a, "as_of")} = ${ident(b, "as_of")}` : sql``);
  /** A table, each row counted for every day whose cut-off it precedes (`each_day`, the CTE of the days). */
  const scan = (logical: LogicalTable, time: string) =>
    asOfDays
      ? sql`${table(logical)} AS t JOIN as_of_days AS each_day ON ${col(logical, time)} < each_day.cutoff`
      : sql`${table(logical)} AS t`;
  const dayOfRow = asOfDays ? sql`each_day.as_of AS as_of, ` : sql``;
  /** GROUP BY the leading customer column, after the day's. */
  const byFirst = asOfDays ? sql`1, 2` : sql`1`;
  const asOf = asOfDays ? sql`k.as_of` : cast(q.asOf, "date");
  // Every table is restricted by its own customer column, so a restriction prunes each scan.
  const only = (expr: Sql) =>
    sql`${q.customerIds ? sql` AND ${dialect.inList(expr, q.customerIds)}` : sql``}${inRange(expr, q.customerRange)}`;
  const hasCustomers = q.available.has("customers");
  const hasEvents = q.available.has("events");
  const catalog = featureCatalog(q.eventTypes);
  const wanted: ReadonlySet<string> = q.fields ?? new Set(catalog.map((f) => f.field));
  // The configured event types any of whose features are wanted, with their position (for CTE column names).
  // Stryker disable next-line MethodExpression: unfiltered, the unwanted types' aggregates are computed and never selected
  const eventTypes = q.eventTypes
    .map((type, i) => ({ ...type, i }))
    .filter((t) => EVENT_MEASURES.some((m) => wanted.has(eventFeatureField(t.key, m.measure))));
  const firstSeen = wantsAny(wanted, "firstSeenDate", "tenureDays");
  // Only the parts the wanted features read are computed: the stage rules read four features, and
  // order-level grouping, the purchase-day numbering and the events' latest type were most of the cost
  // of a stage count (bench/README.md, "Features computed only where read").
  const orders = wantsAny(wanted, "orderCount", "revenue", "averageOrderValue", "firstPurchaseRevenue");
  // The second purchase day and the first day's revenue, as the dialect finds them (PurchaseDayNumbering).
  const numbering = dialect.purchaseDayNumbering;
  const numberDays = numbering.kind === "window";
  const numbered = numberDays && wantsAny(wanted, "secondPurchaseDate", "firstPurchaseRevenue");
  const peopleDetails = hasCustomers && (firstSeen || wanted.has("acquisitionChannel"));
  const eventDetails =
    hasEvents && (firstSeen || wantsAny(wanted, "lastEventDate", "lastEventType") || eventTypes.length > 0);
  const referrals = hasCustomers && wanted.has("referredCount");

  /** Only who a table makes known before the cut-off (the union into `known` removes duplicates). */
  const idsBefore = (logical: "customers" | "events", time: "created_at" | "occurred_at") =>
    sql`SELECT ${dayOfRow}CAST(${col(logical, "customer_id")} AS ${typeName("text")}) AS customer_id
  FROM ${scan(logical, time)}
  WHERE ${col(logical, time)} < ${cutoff}${only(col(logical, "customer_id"))}`;

  // The amount always: a day whose rows are all refunds (negative amounts) is not a purchase day.
  const txColumns = sql`,
         ${col("transactions", "amount")} AS amount${
           orders
             ? sql`,
         ${col("transactions", "order_id")} AS order_id`
             : sql``
         }`;
  const ctes: Sql[] = [
    ...(asOfDays ? [sql`as_of_days AS (${asOfDays})`] : []),
    sql`tx AS (
  SELECT ${dayOfRow}CAST(${col("transactions", "customer_id")} AS ${typeName("text")}) AS customer_id,
         ${dialect.localDay(col("transactions", "occurred_at"), q.timeZone)} AS day${txColumns}
  FROM ${scan("transactions", "occurred_at")}
  WHERE ${col("transactions", "occurred_at")} < ${cutoff}${only(col("transactions", "customer_id"))}
)`,
  ];
  // Purchase days are numbered apart from refund-only days (`bought` 0), which are numbered too and never read.
  const dayNumbers = numbered
    ? sql`,
         ROW_NUMBER() OVER (PARTITION BY ${byDay()}customer_id, bought ORDER BY day) AS n`
    : sql``;
  ctes.push(
    orders
      ? // Orders per day: distinct order ids with a purchase row, each purchase row without one counting
        // alone; revenue is net of the day's refunds. Grouping by order id first is cheaper than
        // COUNT(DISTINCT) over millions of groups.
        sql`days AS (
  SELECT ${byDay()}customer_id, day, SUM(revenue) AS revenue,
         SUM(CASE WHEN order_id IS NULL THEN purchase_lines WHEN purchase_lines > 0 THEN 1 ELSE 0 END) AS orders,
         CASE WHEN SUM(purchase_lines) > 0 THEN 1 ELSE 0 END AS bought
  FROM (SELECT ${byDay()}customer_id, day, order_id, SUM(amount) AS revenue, ${PURCHASE_LINES} AS purchase_lines
        FROM tx GROUP BY ${byDay()}customer_id, day, order_id) AS o
  GROUP BY ${byDay()}customer_id, day
)`
      : sql`days AS (
  SELECT ${byDay()}customer_id, day, CASE WHEN ${PURCHASE_LINES} > 0 THEN 1 ELSE 0 END AS bought
  FROM tx GROUP BY ${byDay()}customer_id, day
)`,
  );
  ctes.push(sql`daily AS (
  SELECT *${dayNumbers}
  FROM days
)`);
  const onPurchaseDay = (expr: Sql) => sql`CASE WHEN bought = 1 THEN ${expr} END`;
  // Every customer with a transaction row; a refund-only one has no purchase day, and is known from its first row.
  const buyerColumns = [
    sql`SUM(bought) AS purchase_days`,
    sql`MIN(${onPurchaseDay(sql`day`)}) AS first_day`,
    sql`MAX(${onPurchaseDay(sql`day`)}) AS last_day`,
    sql`MIN(day) AS first_row_day`,
    ...(wanted.has("secondPurchaseDate") && numberDays
      ? [sql`MIN(CASE WHEN n = 2 AND bought = 1 THEN day END) AS second_day`]
      : []),
    ...(orders ? [sql`SUM(orders) AS order_count`, sql`SUM(revenue) AS revenue`] : []),
    ...(wanted.has("firstPurchaseRevenue")
      ? [
          numberDays
            ? sql`SUM(CASE WHEN n = 1 AND bought = 1 THEN revenue END) AS first_day_revenue`
            : sql`${numbering.valueOnFirstDay(sql`revenue`, sql`day`, sql`bought = 1`)} AS first_day_revenue`,
        ]
      : []),
  ];
  const perBuyer = sql`SELECT ${byDay()}customer_id, ${join(buyerColumns)}
  FROM daily GROUP BY ${byDay()}customer_id`;
  if (wanted.has("secondPurchaseDate") && !numberDays) {
    ctes.push(sql`buyer_days AS (
  ${perBuyer}
)`);
    ctes.push(sql`buyers AS (
  SELECT b.*, s.second_day
  FROM buyer_days AS b
  LEFT JOIN (
    SELECT ${byDay("d")}d.customer_id, MIN(d.day) AS second_day
    FROM daily AS d JOIN buyer_days AS f ON f.customer_id = d.customer_id${sameDay("f", "d")} AND d.bought = 1 AND d.day > f.first_day
    GROUP BY ${byDay("d")}d.customer_id
  ) AS s ON s.customer_id = b.customer_id${sameDay("s", "b")}
)`);
  } else {
    ctes.push(sql`buyers AS (
  ${perBuyer}
)`);
  }
  const knownFrom = [sql`SELECT ${byDay()}customer_id FROM buyers`];
  if (hasCustomers) {
    if (peopleDetails) {
      ctes.push(sql`people AS (
  SELECT ${dayOfRow}CAST(${col("customers", "customer_id")} AS ${typeName("text")}) AS customer_id,
         MIN(${dialect.localDay(col("customers", "created_at"), q.timeZone)}) AS created_day,
         MIN(${col("customers", "acquisition_channel")}) AS acquisition_channel
  FROM ${scan("customers", "created_at")}
  WHERE ${col("customers", "created_at")} < ${cutoff}${only(col("customers", "customer_id"))}
  GROUP BY ${byFirst}
)`);
      knownFrom.push(sql`SELECT ${byDay()}customer_id FROM people`);
    } else {
      knownFrom.push(idsBefore("customers", "created_at"));
    }
    if (referrals) {
      ctes.push(sql`referrals AS (
  SELECT ${dayOfRow}CAST(${col("customers", "referred_by")} AS ${typeName("text")}) AS customer_id, COUNT(*) AS referred_count
  FROM ${scan("customers", "created_at")}
  WHERE ${col("customers", "referred_by")} IS NOT NULL AND ${col("customers", "created_at")} < ${cutoff}${only(col("customers", "referred_by"))}
  GROUP BY ${byFirst}
)`);
    }
  }
  if (hasEvents) {
    if (eventDetails) {
      // Per configured type: how many, and the first and last instants (each type's values a bound list).
      const occurred = col("events", "occurred_at");
      const typeAggregates = eventTypes.map((t) => {
        const isType = dialect.inList(col("events", "type"), t.values);
        return sql`,
           SUM(CASE WHEN ${isType} THEN 1 ELSE 0 END) AS ${ident(`et${t.i}_count`)},
           MIN(CASE WHEN ${isType} THEN ${occurred} END) AS ${ident(`et${t.i}_first_at`)},
           MAX(CASE WHEN ${isType} THEN ${occurred} END) AS ${ident(`et${t.i}_last_at`)}`;
      });
      const typeDays = eventTypes.map(
        (t) => sql`, ${ident(`et${t.i}_count`)},
         ${dialect.localDay(ident(`et${t.i}_first_at`), q.timeZone)} AS ${ident(`et${t.i}_first_day`)},
         ${dialect.localDay(ident(`et${t.i}_last_at`), q.timeZone)} AS ${ident(`et${t.i}_last_day`)}`,
      );
      // First and last instants, then their days: one zone conversion per customer, not per event.
      ctes.push(sql`ev AS (
  SELECT ${byDay()}customer_id, ${dialect.localDay(sql`first_at`, q.timeZone)} AS first_day,
         ${dialect.localDay(sql`last_at`, q.timeZone)} AS last_day, last_type${join(typeDays, "")}
  FROM (
    SELECT ${dayOfRow}CAST(${col("events", "customer_id")} AS ${typeName("text")}) AS customer_id,
           MIN(${occurred}) AS first_at, MAX(${occurred}) AS last_at,
           ${dialect.latestBy(col("events", "type"), occurred)} AS last_type${join(typeAggregates, "")}
    FROM ${scan("events", "occurred_at")}
    WHERE ${col("events", "occurred_at")} < ${cutoff}${only(col("events", "customer_id"))}
    GROUP BY ${byFirst}
  ) AS e
)`);
      knownFrom.push(sql`SELECT ${byDay()}customer_id FROM ev`);
    } else {
      knownFrom.push(idsBefore("events", "occurred_at"));
    }
  }
  ctes.push(sql`known AS (${join(knownFrom, " UNION DISTINCT ")})`);

  const firstSeenDay = () =>
    earliest([
      sql`b.first_row_day`,
      ...(hasCustomers ? [sql`p.created_day`] : []),
      ...(hasEvents ? [sql`e.first_day`] : []),
    ]);
  const float = (expr: Sql) => cast(expr, "float");
  const nullOf = (type: "float" | "date" | "text") => cast(null, type);
  // Thunks: a column's expression names the CTEs it reads, so only wanted columns are built.
  const columns: Record<FeatureField, () => Sql> = {
    firstSeenDate: firstSeenDay,
    firstPurchaseDate: () => sql`b.first_day`,
    secondPurchaseDate: () => sql`b.second_day`,
    lastPurchaseDate: () => sql`b.last_day`,
    purchaseDays: () => float(sql`COALESCE(b.purchase_days, 0)`),
    orderCount: () => float(sql`COALESCE(b.order_count, 0)`),
    revenue: () => float(sql`COALESCE(b.revenue, 0)`),
    firstPurchaseRevenue: () => float(sql`b.first_day_revenue`),
    averageOrderValue: () => sql`${float(sql`b.revenue`)} / NULLIF(${float(sql`b.order_count`)}, 0)`,
    meanGapDays: () =>
      sql`CASE WHEN b.purchase_days = 1 THEN ${float(sql`0`)} WHEN b.purchase_days > 1 THEN ${float(
        dialect.dayDiff(sql`b.first_day`, sql`b.last_day`),
      )} / (b.purchase_days - 1) END`,
    recencyDays: () => float(dialect.dayDiff(sql`b.last_day`, asOf)),
    tenureDays: () => float(dialect.dayDiff(firstSeenDay(), asOf)),
    referredCount: () => (hasCustomers ? float(sql`COALESCE(r.referred_count, 0)`) : nullOf("float")),
    acquisitionChannel: () => (hasCustomers ? cast(sql`p.acquisition_channel`, "text") : nullOf("text")),
    lastEventDate: () => (hasEvents ? sql`e.last_day` : nullOf("date")),
    lastEventType: () => (hasEvents ? cast(sql`e.last_type`, "text") : nullOf("text")),
  };
  // Each type's five, in catalog order after the fixed features.
  const eventColumns = eventTypes.flatMap((t) => {
    // Stryker disable next-line StringLiteral: ident drops an empty qualifier, and no other relation has et<i>_ columns
    const e = (name: string) => ident("e", `et${t.i}_${name}`);
    const expressions: Record<EventMeasure, () => Sql> = {
      count: () => (hasEvents ? float(sql`COALESCE(${e("count")}, 0)`) : nullOf("float")),
      firstDate: () => (hasEvents ? e("first_day") : nullOf("date")),
      lastDate: () => (hasEvents ? e("last_day") : nullOf("date")),
      daysSinceFirst: () => (hasEvents ? float(dialect.dayDiff(e("first_day"), asOf)) : nullOf("float")),
      daysSinceLast: () => (hasEvents ? float(dialect.dayDiff(e("last_day"), asOf)) : nullOf("float")),
    };
    return EVENT_MEASURES.flatMap(({ measure }) => {
      const field = eventFeatureField(t.key, measure);
      return wanted.has(field)
        ? [
            sql`,
       ${expressions[measure]()} AS ${ident(eventFeatureSpec(field)!.column)}`,
          ]
        : [];
    });
  });
  const selected = [
    ...FEATURES.filter((f) => wanted.has(f.field)).map(
      (f) => sql`,
       ${columns[f.field]()} AS ${ident(f.column)}`,
    ),
    ...eventColumns,
  ];
  const joins = [
    sql`LEFT JOIN buyers AS b ON b.customer_id = k.customer_id${sameDay("b", "k")}`,
    ...(peopleDetails ? [sql`LEFT JOIN people AS p ON p.customer_id = k.customer_id${sameDay("p", "k")}`] : []),
    ...(referrals ? [sql`LEFT JOIN referrals AS r ON r.customer_id = k.customer_id${sameDay("r", "k")}`] : []),
    ...(eventDetails ? [sql`LEFT JOIN ev AS e ON e.customer_id = k.customer_id${sameDay("e", "k")}`] : []),
  ];
  return sql`WITH ${join(ctes, ",\n")}
SELECT ${asOfDays ? sql`k.as_of AS as_of, ` : sql``}k.customer_id AS customer_id${join(selected, "")}
FROM known AS k
${join(joins, "\n")}`;
}

/**
 * Months since year 0 of a DATE (year × 12 + month − 1), an integer in every dialect: callers group
 * and subtract months without per-dialect date formatting, and format "YYYY-MM" in TypeScript.
 */
export function monthIndex(day: Sql): Sql {
  return cast(sql`EXTRACT(YEAR FROM ${day}) * 12 + EXTRACT(MONTH FROM ${day}) - 1`, "int");
}

export interface ActivityQuery {
  readonly dialect: Dialect;
  readonly mapping: WarehouseMapping;
  /** Optional tables present and complete: only their activity is read. */
  readonly available: ReadonlySet<LogicalTable>;
  /** Rows before this instant count (the cut-off of the last day asked for). */
  readonly cutoff: Date;
  readonly timeZone: string;
  readonly eventTypes: readonly EventType[];
  /** Restrict to these customers; all when absent. */
  readonly customerIds?: readonly string[];
  readonly customerRange?: CustomerRange;
  /**
   * Only customers with a row at or after this instant (and before the cut-off): those an incremental
   * refresh reads again. Each table is filtered on its time column first, so a warehouse that
   * partitions by day reads only the new partitions to find them.
   */
  readonly changedSince?: Date;
  /** Rows in no order: for a query that groups them (sorting all activity would be wasted). */
  readonly unordered?: boolean;
}

/**
 * Every customer's activity per local day up to the cut-off, one row per (customer, day, source), in
 * customer id then day order: what the features query aggregates at once, kept by day so that features
 * on any day follow in TypeScript (lifecycle/activity.ts). Columns: customer_id, day, source, orders and
 * revenue (purchases), channel (sign-ups: the smallest that day), referrals (customers created that day
 * naming this one in referred_by), last_type and et<i>_count per configured type (events).
 */
export function activitySql(q: ActivityQuery): Sql {
  const { dialect, mapping } = q;
  const table = (logical: LogicalTable) => ident(mapping.schema, mapping.tables[logical].table);
  const col = (logical: LogicalTable, column: string, alias = "t") =>
    ident(alias, mapping.tables[logical].columns[column]);
  const cutoff = dialect.instant(q.cutoff);
  const text = (expr: Sql) => sql`CAST(${expr} AS ${typeName("text")})`;
  const changed = q.changedSince ? changedCustomersSql(q, q.changedSince) : undefined;
  const only = (expr: Sql) =>
    sql`${q.customerIds ? sql` AND ${dialect.inList(expr, q.customerIds)}` : sql``}${inRange(expr, q.customerRange)}${
      changed ? sql` AND ${text(expr)} IN (SELECT customer_id FROM changed)` : sql``
    }`;
  const none = { orders: cast(null, "float"), revenue: cast(null, "float"), channel: cast(null, "text") };
  const noEvents = [
    sql`${cast(null, "text")} AS last_type`,
    ...q.eventTypes.map((_, i) => sql`${cast(null, "float")} AS ${ident(`et${i}_count`)}`),
  ];
  /** One part of the union: its own columns, NULL for the others'. */
  const part = (
    source: number,
    from: Sql,
    columns: { orders?: Sql; revenue?: Sql; channel?: Sql; referrals?: Sql; events?: Sql[] },
  ) =>
    sql`SELECT customer_id, day, ${integer(source)} AS source,
       ${columns.orders ?? none.orders} AS orders, ${columns.revenue ?? none.revenue} AS revenue,
       ${columns.channel ?? none.channel} AS channel, ${columns.referrals ?? cast(null, "float")} AS referrals,
       ${join(columns.events ?? noEvents)}
FROM (${from}) AS a`;

  // Purchases per day as the features query's `daily`: orders are distinct order ids, each row without one alone.
  const tx = sql`SELECT ${text(col("transactions", "customer_id"))} AS customer_id,
         ${dialect.localDay(col("transactions", "occurred_at"), q.timeZone)} AS day,
         ${col("transactions", "amount")} AS amount, ${col("transactions", "order_id")} AS order_id
  FROM ${table("transactions")} AS t
  WHERE ${col("transactions", "occurred_at")} < ${cutoff}${only(col("transactions", "customer_id"))}`;
  // A refund-only day is a row with no orders: its revenue counts, and it is not a purchase day.
  const purchases = sql`SELECT customer_id, day, SUM(revenue) AS revenue,
         SUM(CASE WHEN order_id IS NULL THEN purchase_lines WHEN purchase_lines > 0 THEN 1 ELSE 0 END) AS orders
  FROM (SELECT customer_id, day, order_id, SUM(amount) AS revenue, ${PURCHASE_LINES} AS purchase_lines
        FROM (${tx}) AS x GROUP BY customer_id, day, order_id) AS o
  GROUP BY customer_id, day`;
  const parts = [
    part(ACTIVITY_SOURCE.purchase, purchases, {
      orders: cast(sql`orders`, "float"),
      revenue: cast(sql`revenue`, "float"),
    }),
  ];
  if (q.available.has("customers")) {
    const created = (idColumn: "customer_id" | "referred_by", extra: Sql) =>
      sql`SELECT ${text(col("customers", idColumn))} AS customer_id,
         ${dialect.localDay(col("customers", "created_at"), q.timeZone)} AS day,
         ${col("customers", "acquisition_channel")} AS channel
  FROM ${table("customers")} AS t
  WHERE ${col("customers", "created_at")} < ${cutoff}${extra}${only(col("customers", idColumn))}`;
    parts.push(
      part(
        ACTIVITY_SOURCE.signUp,
        sql`SELECT customer_id, day, MIN(channel) AS channel FROM (${created("customer_id", sql``)}) AS c GROUP BY customer_id, day`,
        { channel: cast(sql`channel`, "text") },
      ),
      part(
        ACTIVITY_SOURCE.referral,
        sql`SELECT customer_id, day, COUNT(*) AS referrals FROM (${created("referred_by", sql` AND ${col("customers", "referred_by")} IS NOT NULL`)}) AS c GROUP BY customer_id, day`,
        { referrals: cast(sql`referrals`, "float") },
      ),
    );
  }
  if (q.available.has("events")) {
    const occurred = col("events", "occurred_at");
    const perType = q.eventTypes.map(
      (t, i) =>
        sql`, SUM(CASE WHEN ${dialect.inList(sql`event_type`, t.values)} THEN 1 ELSE 0 END) AS ${ident(`et${i}_count`)}`,
    );
    const events = sql`SELECT customer_id, day, ${dialect.latestBy(sql`event_type`, sql`occurred_at`)} AS last_type${join(perType, "")}
  FROM (SELECT ${text(col("events", "customer_id"))} AS customer_id,
               ${dialect.localDay(occurred, q.timeZone)} AS day, ${col("events", "type")} AS event_type, ${occurred} AS occurred_at
        FROM ${table("events")} AS t
        WHERE ${occurred} < ${cutoff}${only(col("events", "customer_id"))}) AS e
  GROUP BY customer_id, day`;
    parts.push(
      part(ACTIVITY_SOURCE.events, events, {
        events: [
          sql`${cast(sql`last_type`, "text")} AS last_type`,
          ...q.eventTypes.map((_, i) => sql`${cast(ident(`et${i}_count`), "float")} AS ${ident(`et${i}_count`)}`),
        ],
      }),
    );
  }
  const withChanged = changed ? sql`WITH changed AS (${changed})\n` : sql``;
  const order = q.unordered ? sql`` : sql`\nORDER BY customer_id, day, source`;
  return sql`${withChanged}SELECT * FROM (${join(parts, "\nUNION ALL\n")}) AS activity${order}`;
}

/**
 * Rows per customer and local day in [since, cut-off), every table's rows counted (a customers row once
 * for its customer and once for the referrer it names) and purchase amounts summed: how an incremental
 * refresh tells which customers got rows late, by comparing with the counts kept at the last refresh.
 * Each table is filtered on its time column only. Columns: customer_id, day, row_count, amount_sum.
 */
export function recentActivitySql(q: Omit<ActivityQuery, "eventTypes">, since: Date): Sql {
  const { dialect, mapping } = q;
  const [from, cutoff] = [dialect.instant(since), dialect.instant(q.cutoff)];
  const rows = (logical: LogicalTable, idColumn: string, time: string, amount: string | null) => {
    const column = (name: string) => ident(mapping.tables[logical].columns[name]);
    return sql`SELECT CAST(${column(idColumn)} AS ${typeName("text")}) AS customer_id,
         ${dialect.localDay(column(time), q.timeZone)} AS day,
         ${amount ? cast(column(amount), "float") : cast(null, "float")} AS amount
  FROM ${ident(mapping.schema, mapping.tables[logical].table)}
  WHERE ${column(time)} >= ${from} AND ${column(time)} < ${cutoff} AND ${column(idColumn)} IS NOT NULL`;
  };
  const parts = [rows("transactions", "customer_id", "occurred_at", "amount")];
  if (q.available.has("customers"))
    parts.push(
      rows("customers", "customer_id", "created_at", null),
      rows("customers", "referred_by", "created_at", null),
    );
  if (q.available.has("events")) parts.push(rows("events", "customer_id", "occurred_at", null));
  return sql`SELECT customer_id, day, ${cast(sql`COUNT(*)`, "float")} AS row_count, ${cast(sql`SUM(amount)`, "float")} AS amount_sum
FROM (${join(parts, "\nUNION ALL\n")}) AS r
GROUP BY customer_id, day`;
}

/** The activity tables present and the time column that dates each row (customers: the sign-up). */
function datedTables(available: ReadonlySet<LogicalTable>): { logical: LogicalTable; time: string }[] {
  const tables: { logical: LogicalTable; time: string }[] = [{ logical: "transactions", time: "occurred_at" }];
  if (available.has("customers")) tables.push({ logical: "customers", time: "created_at" });
  if (available.has("events")) tables.push({ logical: "events", time: "occurred_at" });
  return tables;
}

/**
 * The first and last local day with a row in the activity tables (transactions, and customers and
 * events when present), whatever the row: one row, first_day and last_day as YYYY-MM-DD text (null
 * when every table is empty). The day of the earliest and latest instant: the local day only grows
 * with the instant, so each table is read for MIN and MAX of its time column alone.
 */
export function dataRangeSql(q: Pick<ActivityQuery, "dialect" | "mapping" | "available" | "timeZone">): Sql {
  const { dialect, mapping } = q;
  const tables = datedTables(q.available);
  const parts = tables.map(({ logical, time }) => {
    const column = ident(mapping.tables[logical].columns[time]);
    return sql`SELECT MIN(${column}) AS first_at, MAX(${column}) AS last_at FROM ${ident(mapping.schema, mapping.tables[logical].table)}`;
  });
  const day = (instant: Sql) => cast(dialect.localDay(instant, q.timeZone), "text");
  return sql`SELECT ${day(sql`MIN(first_at)`)} AS first_day, ${day(sql`MAX(last_at)`)} AS last_day
FROM (${join(parts, "\nUNION ALL\n")}) AS r`;
}

/** Ids of customers with a row in [since, cut-off): a purchase, a sign-up, a referral made, an event. */
function changedCustomersSql(q: Omit<ActivityQuery, "eventTypes">, since: Date): Sql {
  const { dialect, mapping } = q;
  const [from, cutoff] = [dialect.instant(since), dialect.instant(q.cutoff)];
  const ids = (logical: LogicalTable, idColumn: string, time: string, extra = sql``) => {
    const column = (name: string) => ident(mapping.tables[logical].columns[name]);
    return sql`SELECT CAST(${column(idColumn)} AS ${typeName("text")}) AS customer_id
  FROM ${ident(mapping.schema, mapping.tables[logical].table)}
  WHERE ${column(time)} >= ${from} AND ${column(time)} < ${cutoff}${extra}`;
  };
  const parts = [ids("transactions", "customer_id", "occurred_at")];
  if (q.available.has("customers")) {
    parts.push(ids("customers", "customer_id", "created_at"));
    const referrer = ident(mapping.tables.customers.columns.referred_by);
    parts.push(ids("customers", "referred_by", "created_at", sql` AND ${referrer} IS NOT NULL`));
  }
  if (q.available.has("events")) parts.push(ids("events", "customer_id", "occurred_at"));
  return join(parts, "\nUNION DISTINCT\n");
}

/**
 * What the activity query leaves out, counted: rows dated at or after the cut-off (they wait for their
 * day), rows without a customer id, and customers rows repeating an id. One row: future_rows,
 * null_id_rows, duplicate_customer_rows. With `since` (an incremental refresh's watermark) only rows
 * dated from it on are read, each table filtered on its time column alone, so a table partitioned by day
 * is pruned to those days: future rows are all among them, rows without an id are those of the window,
 * and repeated ids are not counted (that needs every customers row; full rebuilds count them).
 */
export function activityAuditSql(
  q: Omit<ActivityQuery, "customerIds" | "customerRange" | "eventTypes">,
  since: Date | null = null,
): Sql {
  const { dialect, mapping } = q;
  const cutoff = dialect.instant(q.cutoff);
  const tables = datedTables(q.available);
  const counts = tables.map(({ logical, time }) => {
    const column = (name: string) => ident(mapping.tables[logical].columns[name]);
    const window = since ? sql`\nWHERE ${column(time)} >= ${dialect.instant(since)}` : sql``;
    return sql`SELECT SUM(CASE WHEN ${column(time)} >= ${cutoff} THEN 1 ELSE 0 END) AS future_rows,
       SUM(CASE WHEN ${column("customer_id")} IS NULL AND ${column(time)} < ${cutoff} THEN 1 ELSE 0 END) AS null_id_rows
FROM ${ident(mapping.schema, mapping.tables[logical].table)}${window}`;
  });
  const duplicates =
    q.available.has("customers") && !since
      ? sql`(SELECT COUNT(${ident(mapping.tables.customers.columns.customer_id)}) - COUNT(DISTINCT ${ident(mapping.tables.customers.columns.customer_id)}) FROM ${ident(mapping.schema, mapping.tables.customers.table)})`
      : sql`0`;
  return sql`SELECT ${cast(sql`COALESCE(SUM(future_rows), 0)`, "float")} AS future_rows,
       ${cast(sql`COALESCE(SUM(null_id_rows), 0)`, "float")} AS null_id_rows,
       ${cast(duplicates, "float")} AS duplicate_customer_rows
FROM (${join(counts, "\nUNION ALL\n")}) AS c`;
}

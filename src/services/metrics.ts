// Lifecycle metrics over a period, aggregated in the warehouse: one query per period for the customer
// measures (with an optional breakdown), one for marketing spend and one for stays in stages, each
// only when a requested metric needs it. A series of periods is measured by the same three queries, each
// joined to the list of periods and grouped by period (one query per source, not per period). The
// metric catalog (lifecycle/metrics.ts) turns measures into values.
import type { LogicalTable } from "../sql/contract.ts";
import { earliest, monthIndex, PURCHASE_LINES } from "../lifecycle/features-sql.ts";
import { eventFeatureField, eventFeatureSpec, featureSpec } from "../lifecycle/features.ts";
import type { Dialect } from "../sql/dialect.ts";
import { cast, ident, integer, join, sql, typeName, type Sql } from "../sql/sql.ts";
import { addDays, asOfCutoff, daysBetween, monthLabel, startOfDay, type Period } from "../lifecycle/calendar.ts";
import {
  MEASURE_SOURCES,
  type Breakdown,
  type Measure,
  type Measures,
  type MetricDefinition,
} from "../lifecycle/metrics.ts";
import { compileRuleSql } from "../lifecycle/rule-sql.ts";
import { fieldsOf, type Rule } from "../lifecycle/rules.ts";
import { readsRfm } from "../lifecycle/segment-definition.ts";
import { featureColumns } from "./lifecycle/features.ts";
import type { LifecycleService } from "./lifecycle/service.ts";
import type { SegmentService } from "./segments.ts";

/** Measures of one breakdown group; `key` null for customers without a value (e.g. no channel). */
export interface MeasureGroup {
  readonly key: string | null;
  readonly measures: Measures;
}

export interface PeriodMeasures {
  readonly period: Period;
  readonly total: Measures;
  /** Present when a breakdown was asked for. */
  readonly groups?: readonly MeasureGroup[];
}

export interface MeasureRequest {
  readonly period: Period;
  readonly metrics: readonly MetricDefinition[];
  readonly breakdown?: Breakdown;
  /** Only customers matching this segment definition, resolved for the period's last day. */
  readonly segmentRule?: Rule;
  /** The saved segments a segment breakdown splits by (each customer counts in every one they match), resolved likewise. */
  readonly segments?: readonly { readonly id: string; readonly rule: Rule }[];
}

/** The periods of a series to measure at once: each value as `measure` gives it for that period alone. */
export interface SeriesMeasureRequest {
  /** In order, each starting after the one before ends. */
  readonly periods: readonly Period[];
  readonly metrics: readonly MetricDefinition[];
  /** Per period, in the same order: only customers matching it (a definition resolved for the period's last day). */
  readonly segmentRules?: readonly Rule[];
}

/**
 * A series as one query covers it: the periods as a relation (period_index, written in; period_from,
 * period_to, day_before (DATE) and period_start, period_end, prior_start, prior_end (the instants
 * bounding the period and the equally long window before it), bound values), joined wherever one
 * period's query binds its bounds; rows are per period and customer, grouped by period_index in `dim`.
 */
interface SeriesScope {
  readonly periods: readonly Period[];
  /** The periods relation, read from the query's `series_periods` CTE (`withPeriods`): bound once per query. */
  readonly relation: Sql;
  /** That CTE's definition: the literal rows (dialect.literalRows). */
  readonly rows: Sql;
  /** The first period's first day to the last one's last day: the bounds every scan is pruned to. */
  readonly span: Period;
  readonly segmentRules?: readonly Rule[];
}

/** The equally long window just before a period (retention's prior buyers). */
function priorWindow(period: Period): Period {
  const length = daysBetween(period.from, period.to) + 1;
  return { from: addDays(period.from, -length), to: addDays(period.from, -1) };
}

/** The most snapshot days a stay-in-stage measure evaluates stages on. */
export const STAGE_STAY_SNAPSHOTS = 13;

/** The snapshot days for stays in stages: `from`, then evenly spaced, ending on `to`. */
export function stageStaySnapshots(period: Period): string[] {
  const days = daysBetween(period.from, period.to);
  const step = Math.max(1, Math.ceil(days / (STAGE_STAY_SNAPSHOTS - 1)));
  const out: string[] = [];
  for (let d = 0; d < days; d += step) out.push(addDays(period.from, d));
  out.push(period.to);
  return out;
}

const keyOf = (key: string | null) => key ?? "\u0000";

const earlier = (a: string, b: string) => (b < a ? b : a);

/** `query` with the series' periods defined once, as the CTE its `relation` reads. */
function withPeriods(series: SeriesScope, query: Sql): Sql {
  return sql`WITH series_periods AS (${series.rows})
${query}`;
}

/** One group per period of a series (keyed by its index), `empty` for a period the query gave no row. */
function everyPeriod(series: SeriesScope, groups: readonly MeasureGroup[], empty: Measures): MeasureGroup[] {
  const byKey = new Map(groups.map((g) => [g.key, g]));
  return series.periods.map((_, i) => byKey.get(String(i)) ?? { key: String(i), measures: empty });
}

/** The measures of nobody: counts and sums 0; a median, a rank and a mean length have no value. */
function emptyMeasures(needed: ReadonlySet<Measure>): Measures {
  const none = new Set<Measure>([
    "median_days_to_convert",
    "median_days_interest_to_purchase",
    "customers_for_80",
    "stage_spell_days",
    "spend",
  ]);
  return Object.fromEntries([...needed].map((m) => [m, none.has(m) ? null : 0]));
}

export class MetricsService {
  constructor(
    readonly lifecycle: LifecycleService,
    /** Builds the population a segment restricts or splits. */
    private readonly segments: SegmentService,
  ) {}

  private get dialect(): Dialect {
    return this.lifecycle.warehouse.dialect;
  }

  private table(logical: LogicalTable): Sql {
    const { mapping } = this.lifecycle.warehouse;
    return ident(mapping.schema, mapping.tables[logical].table);
  }

  private col(logical: LogicalTable, column: string, alias = "t"): Sql {
    return ident(alias, this.lifecycle.warehouse.mapping.tables[logical].columns[column]);
  }

  /** The measures the metrics need, for the whole population and, with a breakdown, per group. */
  async measure(request: MeasureRequest): Promise<PeriodMeasures> {
    const needed = new Set(request.metrics.flatMap((m) => m.measures));
    const withBreakdown = request.breakdown
      ? this.measureGroups({ ...request, breakdown: request.breakdown }, needed)
      : undefined;
    const [total, groups] = await Promise.all([
      this.measureGroups({ ...request, breakdown: undefined }, needed),
      withBreakdown,
    ]);
    return { period: request.period, total: total[0]?.measures ?? {}, groups };
  }

  /**
   * The measures of every period of a series, each what `measure` gives for that period alone (no
   * breakdown), in one warehouse query per source the metrics need (customers, spend, stays in
   * stages), each joined to the list of periods: the number of queries does not grow with the periods.
   */
  async measureSeries(request: SeriesMeasureRequest): Promise<PeriodMeasures[]> {
    if (request.periods.length === 0) return [];
    const needed = new Set(request.metrics.flatMap((m) => m.measures));
    const sources = new Set([...needed].map((m) => MEASURE_SOURCES[m]));
    const series = this.seriesScope(request);
    // One period's request standing for the series: its span bounds every scan; a segment's presence
    // is what the spend query asks (spend is not attributed to segments).
    const spanning: MeasureRequest = {
      period: series.span,
      metrics: request.metrics,
      segmentRule: request.segmentRules?.[0],
    };
    const parts: Promise<MeasureGroup[]>[] = [];
    if (sources.has("customers")) parts.push(this.customerMeasures(spanning, needed, series));
    if (sources.has("spend")) parts.push(this.spendMeasures(spanning, series));
    if (sources.has("stage_stays")) parts.push(this.stageStayMeasures(spanning, series));
    const merged = request.periods.map((): Measures => ({}));
    for (const groups of await Promise.all(parts)) {
      for (const g of groups) Object.assign(merged[Number(g.key)]!, g.measures);
    }
    return request.periods.map((period, i) => ({ period, total: merged[i]! }));
  }

  /** One group per breakdown value (a single group without a breakdown), every needed measure merged. */
  private async measureGroups(request: MeasureRequest, needed: ReadonlySet<Measure>): Promise<MeasureGroup[]> {
    const parts: Promise<MeasureGroup[]>[] = [];
    const sources = new Set([...needed].map((m) => MEASURE_SOURCES[m]));
    if (sources.has("customers")) parts.push(this.customerMeasures(request, needed));
    if (sources.has("spend")) parts.push(this.spendMeasures(request));
    if (sources.has("stage_stays")) parts.push(this.stageStayMeasures(request));
    const merged = new Map<string, MeasureGroup>();
    for (const groups of await Promise.all(parts)) {
      for (const g of groups) {
        const existing = merged.get(keyOf(g.key));
        merged.set(keyOf(g.key), { key: g.key, measures: { ...existing?.measures, ...g.measures } });
      }
    }
    if (!request.breakdown && merged.size === 0) return [{ key: null, measures: {} }];
    // Every saved segment of a segment breakdown is listed, a segment without members with zero counts.
    for (const { id } of request.breakdown === "segment" ? (request.segments ?? []) : []) {
      if (!merged.has(id)) merged.set(id, { key: id, measures: emptyMeasures(needed) });
    }
    return [...merged.values()];
  }

  /** The breakdown value of a customer, as text, over the relation `f` (features + stage_index + rfm). */
  private dimension(breakdown: Breakdown | undefined): Sql {
    const text = (expr: Sql) => cast(expr, "text");
    switch (breakdown) {
      case undefined:
        return cast("", "text");
      case "stage":
        return text(sql`f.stage_index`);
      case "acquisition_channel":
        return text(sql`f.acquisition_channel`);
      case "cohort_month":
        return text(monthIndex(sql`f.first_purchase_date`));
      case "segment":
        throw new Error("the segment breakdown is built by population()");
      case "rfm_segment":
        return sql`f.rfm_segment`;
    }
  }

  /**
   * Customers known on the period's last day (matching the segment rule), with their stage, RFM scores
   * when the breakdown needs them, and their breakdown value in `dim`.
   */
  private population(request: MeasureRequest): Sql {
    const { segments } = this;
    const rules = [
      ...(request.segmentRule ? [request.segmentRule] : []),
      ...(request.segments ?? []).map((s) => s.rule),
    ];
    const withRfm = request.breakdown === "rfm_segment" || rules.some((r) => readsRfm(fieldsOf(r)));
    const staged = segments.relation(request.period.to, withRfm);
    const conditions: Sql[] = [];
    if (request.segmentRule) conditions.push(compileRuleSql(request.segmentRule, segments.columns));
    if (request.breakdown === "segment") {
      // A customer counts once in every segment they match: one row per (customer, segment), the
      // features computed once.
      const list = request.segments ?? [];
      if (list.length === 0) throw new Error("a segment breakdown needs at least one segment");
      const ids = join(
        list.map((s) => sql`SELECT ${cast(s.id, "text")} AS segment_id`),
        " UNION ALL ",
      );
      const member = list.map(
        (s) => sql`(sg.segment_id = ${cast(s.id, "text")} AND ${compileRuleSql(s.rule, segments.columns)})`,
      );
      conditions.push(sql`(${join(member, " OR ")})`);
      return sql`SELECT f.*, sg.segment_id AS dim FROM (${staged}) AS f CROSS JOIN (${ids}) AS sg
WHERE ${join(conditions, " AND ")}`;
    }
    const where = conditions.length > 0 ? sql` WHERE ${join(conditions, " AND ")}` : sql``;
    return sql`SELECT f.*, ${this.dimension(request.breakdown)} AS dim FROM (${staged}) AS f${where}`;
  }

  /**
   * For each period of a series, the customers known on its last day (matching its segment rule), as
   * `population()` gives them for that period alone, with period_index (also in `dim`), period_from and
   * period_to. Only the features in `fields` (and those the stage rules and segment rules read) are
   * computed: a features query per period end costs most of a series.
   */
  private seriesPopulation(series: SeriesScope, fields: Iterable<string>): Sql {
    const rules = series.segmentRules ?? [];
    const read = new Set([...fields, ...rules.flatMap((r) => [...fieldsOf(r)].filter((f) => featureSpec(f)))]);
    const staged = this.segments.relationEach(
      series.periods.map((p) => p.to),
      rules.some((r) => readsRfm(fieldsOf(r))),
      read,
    );
    // A rule resolved alike for several periods (no relative dates) is compiled once for them.
    const periodsByRule = new Map<string, { rule: Rule; indexes: number[] }>();
    rules.forEach((rule, i) => {
      const key = JSON.stringify(rule);
      const entry = periodsByRule.get(key) ?? { rule, indexes: [] };
      entry.indexes.push(i);
      periodsByRule.set(key, entry);
    });
    const matches = [...periodsByRule.values()].map(({ rule, indexes }) => {
      const compiled = compileRuleSql(rule, this.segments.columns);
      return periodsByRule.size === 1
        ? compiled
        : sql`(pr.period_index IN (${join(indexes.map(integer))}) AND ${compiled})`;
    });
    const where = matches.length > 0 ? sql`\nWHERE ${join(matches, " OR ")}` : sql``;
    return sql`SELECT f.*, pr.period_index AS dim, pr.period_index AS period_index, pr.period_from AS period_from,
       pr.period_to AS period_to
FROM (${staged}) AS f JOIN (${series.relation}) AS pr ON pr.period_to = f.as_of${where}`;
  }

  /** A series' periods as one query joins them (SeriesScope), every bound a parameter. */
  private seriesScope(request: SeriesMeasureRequest): SeriesScope {
    const { dialect } = this;
    const zone = this.lifecycle.timeZone;
    const { periods } = request;
    const instant = (day: string) => dialect.instant(startOfDay(day, zone));
    const rows = periods.map((p, i) => {
      const prior = priorWindow(p);
      return [
        integer(i),
        cast(p.from, "date"),
        cast(p.to, "date"),
        cast(addDays(p.from, -1), "date"),
        instant(p.from),
        instant(addDays(p.to, 1)),
        instant(prior.from),
        instant(addDays(prior.to, 1)),
      ];
    });
    const columns = [
      "period_index",
      "period_from",
      "period_to",
      "day_before",
      "period_start",
      "period_end",
      "prior_start",
      "prior_end",
    ];
    return {
      periods,
      relation: sql`SELECT * FROM series_periods`,
      rows: dialect.literalRows(columns, rows),
      span: { from: periods[0]!.from, to: periods.at(-1)!.to },
      segmentRules: request.segmentRules,
    };
  }

  /** The instant a period's first day begins and the one after its last day ends. */
  private bounds(period: Period): { start: Sql; end: Sql } {
    const zone = this.lifecycle.timeZone;
    return {
      start: this.dialect.instant(startOfDay(period.from, zone)),
      end: this.dialect.instant(asOfCutoff(period.to, zone)),
    };
  }

  /** Per customer, purchase days, orders and revenue within the period (orders counted as in the features). */
  private activity(period: Period, series?: SeriesScope): Sql {
    const { start, end } = this.bounds(period);
    const c = (name: string) => this.col("transactions", name);
    // A series' periods are whole local days: each purchase day is counted in the period it falls in.
    const perPeriod = series ? sql`pr.period_index AS period_index, ` : sql``;
    const inPeriod = series
      ? sql` JOIN (${series.relation}) AS pr ON d.day >= pr.period_from AND d.day <= pr.period_to`
      : sql``;
    // Revenue is net of refunds; a day of refunds only is no purchase day (features-sql.ts PURCHASE_LINES).
    return sql`SELECT ${perPeriod}customer_id, SUM(CASE WHEN orders > 0 THEN 1 ELSE 0 END) AS p_days, SUM(orders) AS p_orders,
       SUM(revenue) AS p_revenue FROM (
  SELECT customer_id, day, SUM(revenue) AS revenue,
         SUM(CASE WHEN order_id IS NULL THEN purchase_lines WHEN purchase_lines > 0 THEN 1 ELSE 0 END) AS orders
  FROM (
    SELECT customer_id, day, order_id, SUM(amount) AS revenue, ${PURCHASE_LINES} AS purchase_lines
    FROM (
      SELECT CAST(${c("customer_id")} AS ${typeName("text")}) AS customer_id,
             ${this.dialect.localDay(c("occurred_at"), this.lifecycle.timeZone)} AS day,
             ${c("order_id")} AS order_id, ${c("amount")} AS amount
      FROM ${this.table("transactions")} AS t
      WHERE ${c("occurred_at")} >= ${start} AND ${c("occurred_at")} < ${end}
    ) AS x
    GROUP BY customer_id, day, order_id
  ) AS o
  GROUP BY customer_id, day
) AS d${inPeriod}
GROUP BY ${series ? sql`pr.period_index, ` : sql``}customer_id`;
  }

  /**
   * Customers with a purchase in the period (a refund is none); for a series, in each period's prior
   * window (the windows may overlap: a purchase counts in every one it falls in).
   */
  private buyersIn(period: Period, series?: SeriesScope): Sql {
    const { start, end } = this.bounds(period);
    const c = (name: string) => this.col("transactions", name);
    return sql`SELECT DISTINCT ${series ? sql`pr.period_index AS period_index, ` : sql``}CAST(${c("customer_id")} AS ${typeName("text")}) AS customer_id
FROM ${this.table("transactions")} AS t${this.eachPeriod(series, c("occurred_at"), "prior_start", "prior_end")}
WHERE ${c("occurred_at")} >= ${start} AND ${c("occurred_at")} < ${end} AND ${c("amount")} >= 0`;
  }

  /** Per customer (and period of a series), survey answers in the period. */
  private surveys(period: Period, series?: SeriesScope): Sql {
    const { start, end } = this.bounds(period);
    const c = (name: string) => this.col("events", name);
    const value = cast(c("value"), "float");
    return sql`SELECT ${series ? sql`pr.period_index AS period_index, ` : sql``}CAST(${c("customer_id")} AS ${typeName("text")}) AS customer_id, COUNT(*) AS responses,
       SUM(CASE WHEN ${value} >= 9 THEN 1 ELSE 0 END) AS promoters,
       SUM(CASE WHEN ${value} <= 6 THEN 1 ELSE 0 END) AS detractors, SUM(${value}) AS score_total
FROM ${this.table("events")} AS t${this.eachPeriod(series, c("occurred_at"), "period_start", "period_end")}
WHERE ${c("type")} = ${this.lifecycle.surveyEventType} AND ${c("value")} IS NOT NULL
  AND ${c("occurred_at")} >= ${start} AND ${c("occurred_at")} < ${end}
GROUP BY ${series ? sql`1, 2` : sql`1`}`;
  }

  /**
   * ` JOIN` a series' periods to the rows of `t` whose `instant` lies in [`start`, `end`) of a period
   * (columns of the periods relation); nothing for one period, whose bounds the WHERE binds.
   */
  private eachPeriod(series: SeriesScope | undefined, instant: Sql, start: string, end: string): Sql {
    if (!series) return sql``;
    return sql` JOIN (${series.relation}) AS pr ON ${instant} >= ${ident("pr", start)} AND ${instant} < ${ident("pr", end)}`;
  }

  /**
   * The customer measures of a period, or with `series` of each of its periods in the same one query:
   * the population, purchases, prior buyers, stages the day before and survey answers are computed for
   * every period at once and joined on (period, customer), the period's bounds read from its row.
   */
  private async customerMeasures(
    request: MeasureRequest,
    needed: ReadonlySet<Measure>,
    series?: SeriesScope,
  ): Promise<MeasureGroup[]> {
    const { dialect } = this;
    const { period } = request;
    // A series reads each row's own period bounds (columns of the population, unique among the joined relations).
    const from = series ? sql`period_from` : cast(period.from, "date");
    const to = series ? sql`period_to` : cast(period.to, "date");
    /** ` AND` the relation `alias` is of the same period as the population's row; nothing for one period. */
    const samePeriod = (alias: string) => (series ? sql` AND ${ident(alias, "period_index")} = f.period_index` : sql``);
    const joins: Sql[] = [
      sql`LEFT JOIN (${this.activity(period, series)}) AS pa ON pa.customer_id = f.customer_id${samePeriod("pa")}`,
    ];
    const extra: Sql[] = [];
    const has = (...m: Measure[]) => m.some((x) => needed.has(x));

    if (has("prior_buyers", "retained")) {
      const windows = (series?.periods ?? [period]).map(priorWindow);
      const prior = { from: windows.map((w) => w.from).reduce(earlier), to: windows.at(-1)!.to };
      joins.push(
        sql`LEFT JOIN (${this.buyersIn(prior, series)}) AS prior ON prior.customer_id = f.customer_id${samePeriod("prior")}`,
      );
      extra.push(sql`CASE WHEN prior.customer_id IS NULL THEN 0 ELSE 1 END AS prior_buyer`);
    }
    const churnedIndex = this.lifecycle.model.indexOf("churned");
    const churn = has("start_active", "churned") && churnedIndex !== undefined;
    if (churn) {
      const stageIndex = this.lifecycle.model.stageIndexSql(featureColumns);
      const dayBefore = series
        ? sql`(${this.lifecycle.stagedFeaturesEach(
            series.periods.map((p) => addDays(p.from, -1)),
            ["purchaseDays"],
          )}) AS f
  JOIN (${series.relation}) AS pr ON pr.day_before = f.as_of`
        : sql`(${this.lifecycle.features(addDays(period.from, -1))}) AS f`;
      joins.push(sql`LEFT JOIN (SELECT ${series ? sql`pr.period_index AS period_index, ` : sql``}f.customer_id AS customer_id, ${stageIndex} AS stage_index, f.purchase_days AS purchase_days
  FROM ${dayBefore}) AS s ON s.customer_id = f.customer_id${samePeriod("s")}`);
      extra.push(
        sql`CASE WHEN s.purchase_days >= 1 AND s.stage_index <> ${integer(churnedIndex)} THEN 1 ELSE 0 END AS start_active`,
      );
    }
    const surveys = has("survey_responses", "promoters", "detractors", "survey_score_total");
    if (surveys && this.lifecycle.available.has("events")) {
      joins.push(
        sql`LEFT JOIN (${this.surveys(period, series)}) AS sv ON sv.customer_id = f.customer_id${samePeriod("sv")}`,
      );
      extra.push(
        sql`sv.responses AS responses, sv.promoters AS promoters, sv.detractors AS detractors, sv.score_total AS score_total`,
      );
    }
    const convertDays = sql`CASE WHEN f.first_seen_date >= ${from} AND f.first_purchase_date IS NOT NULL
  THEN ${cast(dialect.dayDiff(sql`f.first_seen_date`, sql`f.first_purchase_date`), "float")} END`;
    const median = has("median_days_to_convert");
    if (median && dialect.median.kind === "window") {
      // A median that is a window function only (BigQuery's): computed per group here, picked once below.
      extra.push(sql`${dialect.median.window(convertDays, sql`f.dim`)} AS convert_median`);
    }
    // A lead's first interest event: the earliest first day of the interest types (event features).
    const interest =
      has("interest_leads", "interest_converted", "median_days_interest_to_purchase") &&
      this.lifecycle.interestEvents.length > 0 &&
      this.lifecycle.available.has("events");
    if (interest) {
      const firstInterest = earliest(
        this.lifecycle.interestEvents.map((type) =>
          ident("f", eventFeatureSpec(eventFeatureField(type, "firstDate"))!.column),
        ),
      );
      extra.push(sql`${firstInterest} AS first_interest_date`);
      // A lead is someone whose first interest event fell in the period with no purchase before it.
      const lead = sql`${firstInterest} >= ${from} AND ${firstInterest} <= ${to}
  AND (f.first_purchase_date IS NULL OR f.first_purchase_date >= ${firstInterest})`;
      const leadDays = sql`CASE WHEN ${lead} AND f.first_purchase_date IS NOT NULL
  THEN ${cast(dialect.dayDiff(firstInterest, sql`f.first_purchase_date`), "float")} END`;
      extra.push(sql`${leadDays} AS lead_days`);
      if (has("median_days_interest_to_purchase") && dialect.median.kind === "window") {
        extra.push(sql`${dialect.median.window(leadDays, sql`f.dim`)} AS lead_median`);
      }
    }
    const pareto = has("top20_revenue", "customers_for_80");
    if (pareto) {
      // Ranked among the group's period buyers, biggest first; ties broken by id, which cannot change
      // the top-k revenue sum nor the first rank whose running sum reaches 80%.
      const buyerPartition = sql`PARTITION BY f.dim, CASE WHEN pa.p_days >= 1 THEN 1 ELSE 0 END`;
      const order = sql`ORDER BY pa.p_revenue DESC, f.customer_id`;
      extra.push(sql`ROW_NUMBER() OVER (${buyerPartition} ${order}) AS revenue_rank`);
      extra.push(sql`COUNT(*) OVER (${buyerPartition}) AS ranked`);
      extra.push(
        sql`SUM(pa.p_revenue) OVER (${buyerPartition} ${order} ROWS BETWEEN UNBOUNDED PRECEDING AND CURRENT ROW) AS running_revenue`,
      );
      extra.push(sql`SUM(pa.p_revenue) OVER (${buyerPartition}) AS ranked_revenue`);
    }
    // The features read from the population here: a series computes only these (and the stage and
    // segment rules'), as of every period's end.
    const populationFields = [
      "firstSeenDate",
      "firstPurchaseDate",
      "purchaseDays",
      "referredCount",
      "revenue",
      ...(interest ? this.lifecycle.interestEvents.map((type) => eventFeatureField(type, "firstDate")) : []),
    ];
    const base = sql`SELECT f.*, pa.p_days AS p_days, pa.p_orders AS p_orders, pa.p_revenue AS p_revenue${join(
      extra.map((e) => sql`, ${e}`),
      "",
    )}
FROM (${series ? this.seriesPopulation(series, populationFields) : this.population(request)}) AS f
${join(joins, "\n")}`;

    // COALESCE: an empty population (a segment without members) counts 0, not null.
    const count = (condition: Sql) => sql`COALESCE(SUM(CASE WHEN ${condition} THEN 1 ELSE 0 END), 0)`;
    const seenInPeriod = sql`b.first_seen_date >= ${from} AND b.first_seen_date <= ${to}`;
    const bought = sql`b.p_days >= 1`;
    const aggregates: Partial<Record<Measure, Sql>> = {
      leads: count(seenInPeriod),
      converted: count(sql`${seenInPeriod} AND b.first_purchase_date IS NOT NULL`),
      median_days_to_convert:
        dialect.median.kind === "window"
          ? sql`ANY_VALUE(b.convert_median)`
          : dialect.median.aggregate(
              sql`CASE WHEN ${seenInPeriod} AND b.first_purchase_date IS NOT NULL
  THEN ${cast(dialect.dayDiff(sql`b.first_seen_date`, sql`b.first_purchase_date`), "float")} END`,
            ),
      period_buyers: count(bought),
      period_repeaters: count(sql`${bought} AND b.purchase_days >= 2`),
      period_orders: sql`COALESCE(SUM(b.p_orders), 0)`,
      period_revenue: sql`COALESCE(SUM(b.p_revenue), 0)`,
      period_buyer_revenue: sql`COALESCE(SUM(CASE WHEN ${bought} THEN b.p_revenue END), 0)`,
      prior_buyers: sql`COALESCE(SUM(b.prior_buyer), 0)`,
      retained: count(sql`b.prior_buyer = 1 AND ${bought}`),
      buyers: count(sql`b.purchase_days >= 1`),
      advocates: count(sql`b.purchase_days >= 1 AND b.referred_count >= 1`),
      lifetime_revenue: sql`COALESCE(SUM(CASE WHEN b.purchase_days >= 1 THEN b.revenue END), 0)`,
      new_customers: count(sql`b.first_purchase_date >= ${from} AND b.first_purchase_date <= ${to}`),
      top20_revenue: sql`COALESCE(SUM(CASE WHEN ${bought} AND b.revenue_rank <= CEIL(0.2 * b.ranked) THEN b.p_revenue ELSE 0 END), 0)`,
      // A relative tolerance keeps float summation order (which differs by engine) from moving the rank.
      customers_for_80: sql`MIN(CASE WHEN ${bought} AND b.ranked_revenue > 0
  AND b.running_revenue >= 0.8 * b.ranked_revenue * (1 - 1e-12) THEN b.revenue_rank END)`,
    };
    if (interest) {
      aggregates.interest_leads = count(sql`b.first_interest_date >= ${from} AND b.first_interest_date <= ${to}
  AND (b.first_purchase_date IS NULL OR b.first_purchase_date >= b.first_interest_date)`);
      aggregates.interest_converted = count(sql`b.lead_days IS NOT NULL`);
      aggregates.median_days_interest_to_purchase =
        dialect.median.kind === "window" ? sql`ANY_VALUE(b.lead_median)` : dialect.median.aggregate(sql`b.lead_days`);
    }
    if (churn) {
      aggregates.start_active = sql`COALESCE(SUM(b.start_active), 0)`;
      aggregates.churned = count(sql`b.start_active = 1 AND b.stage_index = ${integer(churnedIndex)}`);
    }
    if (surveys && this.lifecycle.available.has("events")) {
      aggregates.survey_responses = sql`COALESCE(SUM(b.responses), 0)`;
      aggregates.promoters = sql`COALESCE(SUM(b.promoters), 0)`;
      aggregates.detractors = sql`COALESCE(SUM(b.detractors), 0)`;
      aggregates.survey_score_total = sql`COALESCE(SUM(b.score_total), 0)`;
    }
    const selected = [...needed].filter((m) => aggregates[m] !== undefined);
    if (selected.length === 0) return [];
    const columns = selected.map((m) => sql`${cast(aggregates[m]!, "float")} AS ${ident(m)}`);
    const grouped = sql`SELECT b.dim AS dim, ${join(columns, ",\n       ")}
FROM (${base}) AS b
GROUP BY b.dim`;
    const rows = await this.lifecycle.warehouse.query(
      // Without a breakdown there is no GROUP BY, so an empty population still gives its one row.
      series
        ? withPeriods(series, grouped)
        : request.breakdown
          ? grouped
          : sql`SELECT ${join(columns, ",\n       ")}
FROM (${base}) AS b`,
      { label: series ? "metric_series_measures" : "metric_measures" },
    );
    const groups = rows.map((row) => ({
      key: series ? String(row.dim) : request.breakdown ? this.groupKey(request.breakdown, row.dim) : null,
      measures: Object.fromEntries(
        selected.map((m) => [m, row[m] === null || row[m] === undefined ? null : Number(row[m])]),
      ),
    }));
    // A period without customers has no group: it counts what an empty population does alone.
    return series ? everyPeriod(series, groups, emptyMeasures(new Set(selected))) : groups;
  }

  /** Marketing spend in the period (or each period of a series), in total or per channel (the acquisition-channel breakdown). */
  private async spendMeasures(request: MeasureRequest, series?: SeriesScope): Promise<MeasureGroup[]> {
    if (!this.lifecycle.available.has("marketing_spend")) return [];
    // Spend belongs to channels; other breakdowns, and a segment's customers, have no known share of it.
    if (request.breakdown && request.breakdown !== "acquisition_channel") return [];
    if (request.segmentRule) return [];
    const c = (name: string) => this.col("marketing_spend", name);
    const dim = series ? sql`pr.period_index` : request.breakdown ? cast(c("channel"), "text") : cast("", "text");
    const perPeriod = series
      ? sql` JOIN (${series.relation}) AS pr ON ${c("day")} >= pr.period_from AND ${c("day")} <= pr.period_to`
      : sql``;
    const query = sql`SELECT ${dim} AS dim, ${cast(sql`SUM(${c("amount")})`, "float")} AS spend
FROM ${this.table("marketing_spend")} AS t${perPeriod}
WHERE ${c("day")} >= ${cast(request.period.from, "date")} AND ${c("day")} <= ${cast(request.period.to, "date")}
GROUP BY 1`;
    const rows = await this.lifecycle.warehouse.query<{ dim: string | null; spend: number }>(
      series ? withPeriods(series, query) : query,
      { label: series ? "metric_series_spend" : "metric_spend" },
    );
    if (!request.breakdown && !series && rows.length === 0) return [{ key: null, measures: { spend: 0 } }];
    const groups = rows.map((r) => ({
      key: series ? String(r.dim) : request.breakdown ? (r.dim === null ? null : String(r.dim)) : null,
      measures: { spend: Number(r.spend) },
    }));
    return series ? everyPeriod(series, groups, { spend: 0 }) : groups;
  }

  /**
   * Stays in stages that began and ended within the period, seen on snapshot days. A stay begins on
   * the first snapshot a customer is in the stage after being elsewhere (or unknown) on the one before,
   * and ends on the first snapshot they are elsewhere: its length is the days between those snapshots.
   */
  private async stageStayMeasures(request: MeasureRequest, series?: SeriesScope): Promise<MeasureGroup[]> {
    const { dialect } = this;
    const days = stageStaySnapshots(request.period);
    const stageIndex = this.lifecycle.model.stageIndexSql(featureColumns);
    // A series: every period's snapshots at once, stages computed as of each distinct snapshot day in
    // one features query, and every step below keyed by period too (one query for the series; its work
    // grows with the periods' snapshot days, up to 13 each).
    const perPeriod = series ? sql`period_index, ` : sql``;
    const snapshots = series
      ? [this.seriesSnapshots(series, stageIndex)]
      : days.map(
          (day, k) => sql`SELECT f.customer_id AS customer_id, ${stageIndex} AS stage_index, ${integer(k)} AS k,
       ${cast(day, "date")} AS snapshot_day
FROM (${this.lifecycle.features(day)}) AS f`,
        );
    // Islands of consecutive snapshots in one stage: k minus the row number within (customer, stage)
    // is constant along an island.
    const marked = sql`SELECT ${series ? sql`period_index, last_k AS period_last_k, ` : sql``}customer_id, stage_index, k, snapshot_day,
       k - ROW_NUMBER() OVER (PARTITION BY ${perPeriod}customer_id, stage_index ORDER BY k) AS island,
       LEAD(snapshot_day) OVER (PARTITION BY ${perPeriod}customer_id ORDER BY k) AS next_day
FROM (${join(snapshots, "\nUNION ALL\n")}) AS s`;
    const stays = sql`SELECT ${series ? sql`period_index, MAX(period_last_k) AS period_last_k, ` : sql``}customer_id, stage_index, MIN(k) AS first_k, MAX(k) AS last_k,
       MIN(snapshot_day) AS entered, MAX(next_day) AS last_next
FROM (${marked}) AS m
GROUP BY ${perPeriod}customer_id, stage_index, island`;
    // A stay is complete when it was entered after the first snapshot and left before the last one.
    const lastK = series ? sql`st.period_last_k` : integer(days.length - 1);
    const complete = sql`SELECT ${series ? sql`st.period_index AS period_index, ` : sql``}st.customer_id AS customer_id, st.stage_index AS stage_index,
       ${cast(dialect.dayDiff(sql`st.entered`, sql`st.left_day`), "float")} AS stay_days
FROM (SELECT x.*, x.last_next AS left_day FROM (${stays}) AS x) AS st
WHERE st.first_k > 0 AND st.last_k < ${lastK}`;
    const byStage = request.breakdown === "stage";
    const dim = byStage ? cast(sql`c.stage_index`, "text") : sql`p.dim`;
    const population = series
      ? sql`(${this.seriesPopulation(series, [])}) AS p ON p.customer_id = c.customer_id AND p.period_index = c.period_index`
      : sql`(${this.population(request)}) AS p ON p.customer_id = c.customer_id`;
    const query = sql`SELECT ${dim} AS dim, ${cast(sql`COUNT(*)`, "float")} AS spells, ${cast(sql`SUM(c.stay_days)`, "float")} AS spell_days
FROM (${complete}) AS c JOIN ${population}
GROUP BY 1`;
    const rows = await this.lifecycle.warehouse.query<{ dim: string | null; spells: number; spell_days: number }>(
      series ? withPeriods(series, query) : query,
      { label: series ? "metric_series_stage_stays" : "metric_stage_stays" },
    );
    const none = { stage_spells: 0, stage_spell_days: null };
    if (!request.breakdown && !series && rows.length === 0) return [{ key: null, measures: none }];
    const groups = rows.map((r) => ({
      key: series ? String(r.dim) : request.breakdown ? this.groupKey(request.breakdown, r.dim) : null,
      measures: {
        stage_spells: Number(r.spells),
        stage_spell_days: r.spell_days === null ? null : Number(r.spell_days),
      },
    }));
    return series ? everyPeriod(series, groups, none) : groups;
  }

  /**
   * Every snapshot of every period of a series (`stageStaySnapshots` of each), with the customers'
   * stages as of its day: period_index, customer_id, stage_index, k, snapshot_day and the period's last
   * k, from one features query over the distinct days.
   */
  private seriesSnapshots(series: SeriesScope, stageIndex: Sql): Sql {
    const perPeriod = series.periods.map(stageStaySnapshots);
    const rows = perPeriod.flatMap((days, i) =>
      days.map((day, k) => [integer(i), integer(k), cast(day, "date"), integer(days.length - 1)]),
    );
    const snapshots = this.dialect.literalRows(["period_index", "k", "snapshot_day", "last_k"], rows);
    return sql`SELECT sd.period_index AS period_index, f.customer_id AS customer_id, ${stageIndex} AS stage_index,
       sd.k AS k, sd.snapshot_day AS snapshot_day, sd.last_k AS last_k
FROM (${this.lifecycle.stagedFeaturesEach([...new Set(perPeriod.flat())])}) AS f
JOIN (${snapshots}) AS sd ON sd.snapshot_day = f.as_of`;
  }

  /** A breakdown value as the API shows it: a stage key, a channel, "YYYY-MM", an RFM segment. */
  private groupKey(breakdown: Breakdown, dim: unknown): string | null {
    if (dim === null || dim === undefined) return null;
    const text = String(dim);
    switch (breakdown) {
      case "stage":
        return this.lifecycle.model.stages[Number(text)]?.key ?? text;
      case "cohort_month":
        return monthLabel(Number(text));
      default:
        return text;
    }
  }
}

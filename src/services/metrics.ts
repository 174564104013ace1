// Lifecycle metrics over a period, aggregated in the warehouse: one query per period for the customer
// measures (with an optional breakdown), one for marketing spend and one for stays in stages, each
// only when a requested metric needs it. The metric catalog (lifecycle/metrics.ts) turns measures into values.
import type { LogicalTable } from "../sql/contract.ts";
import { earliest, monthIndex } from "../lifecycle/features-sql.ts";
import { eventFeatureField, eventFeatureSpec } from "../lifecycle/features.ts";
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

  /** The instant a period's first day begins and the one after its last day ends. */
  private bounds(period: Period): { start: Sql; end: Sql } {
    const zone = this.lifecycle.timeZone;
    return {
      start: this.dialect.instant(startOfDay(period.from, zone)),
      end: this.dialect.instant(asOfCutoff(period.to, zone)),
    };
  }

  /** Per customer, purchase days, orders and revenue within the period (orders counted as in the features). */
  private activity(period: Period): Sql {
    const { start, end } = this.bounds(period);
    const c = (name: string) => this.col("transactions", name);
    return sql`SELECT customer_id, COUNT(*) AS p_days, SUM(orders) AS p_orders, SUM(revenue) AS p_revenue FROM (
  SELECT customer_id, day, SUM(revenue) AS revenue, SUM(CASE WHEN order_id IS NULL THEN lines ELSE 1 END) AS orders
  FROM (
    SELECT CAST(${c("customer_id")} AS ${typeName("text")}) AS customer_id,
           ${this.dialect.localDay(c("occurred_at"), this.lifecycle.timeZone)} AS day,
           ${c("order_id")} AS order_id, SUM(${c("amount")}) AS revenue, COUNT(*) AS lines
    FROM ${this.table("transactions")} AS t
    WHERE ${c("occurred_at")} >= ${start} AND ${c("occurred_at")} < ${end}
    GROUP BY 1, 2, 3
  ) AS o
  GROUP BY customer_id, day
) AS d
GROUP BY customer_id`;
  }

  /** Customers with a purchase in the period. */
  private buyersIn(period: Period): Sql {
    const { start, end } = this.bounds(period);
    const c = (name: string) => this.col("transactions", name);
    return sql`SELECT DISTINCT CAST(${c("customer_id")} AS ${typeName("text")}) AS customer_id
FROM ${this.table("transactions")} AS t
WHERE ${c("occurred_at")} >= ${start} AND ${c("occurred_at")} < ${end}`;
  }

  /** Per customer, survey answers in the period. */
  private surveys(period: Period): Sql {
    const { start, end } = this.bounds(period);
    const c = (name: string) => this.col("events", name);
    const value = cast(c("value"), "float");
    return sql`SELECT CAST(${c("customer_id")} AS ${typeName("text")}) AS customer_id, COUNT(*) AS responses,
       SUM(CASE WHEN ${value} >= 9 THEN 1 ELSE 0 END) AS promoters,
       SUM(CASE WHEN ${value} <= 6 THEN 1 ELSE 0 END) AS detractors, SUM(${value}) AS score_total
FROM ${this.table("events")} AS t
WHERE ${c("type")} = ${this.lifecycle.surveyEventType} AND ${c("value")} IS NOT NULL
  AND ${c("occurred_at")} >= ${start} AND ${c("occurred_at")} < ${end}
GROUP BY 1`;
  }

  private async customerMeasures(request: MeasureRequest, needed: ReadonlySet<Measure>): Promise<MeasureGroup[]> {
    const { dialect } = this;
    const { period } = request;
    const from = cast(period.from, "date");
    const to = cast(period.to, "date");
    const joins: Sql[] = [sql`LEFT JOIN (${this.activity(period)}) AS pa ON pa.customer_id = f.customer_id`];
    const extra: Sql[] = [];
    const has = (...m: Measure[]) => m.some((x) => needed.has(x));

    if (has("prior_buyers", "retained")) {
      const length = daysBetween(period.from, period.to) + 1;
      const prior = { from: addDays(period.from, -length), to: addDays(period.from, -1) };
      joins.push(sql`LEFT JOIN (${this.buyersIn(prior)}) AS prior ON prior.customer_id = f.customer_id`);
      extra.push(sql`CASE WHEN prior.customer_id IS NULL THEN 0 ELSE 1 END AS prior_buyer`);
    }
    const churnedIndex = this.lifecycle.model.indexOf("churned");
    const churn = has("start_active", "churned") && churnedIndex !== undefined;
    if (churn) {
      const stageIndex = this.lifecycle.model.stageIndexSql(featureColumns);
      joins.push(sql`LEFT JOIN (SELECT f.customer_id AS customer_id, ${stageIndex} AS stage_index, f.purchase_days AS purchase_days
  FROM (${this.lifecycle.features(addDays(period.from, -1))}) AS f) AS s ON s.customer_id = f.customer_id`);
      extra.push(
        sql`CASE WHEN s.purchase_days >= 1 AND s.stage_index <> ${integer(churnedIndex)} THEN 1 ELSE 0 END AS start_active`,
      );
    }
    const surveys = has("survey_responses", "promoters", "detractors", "survey_score_total");
    if (surveys && this.lifecycle.available.has("events")) {
      joins.push(sql`LEFT JOIN (${this.surveys(period)}) AS sv ON sv.customer_id = f.customer_id`);
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
    const base = sql`SELECT f.*, pa.p_days AS p_days, pa.p_orders AS p_orders, pa.p_revenue AS p_revenue${join(
      extra.map((e) => sql`, ${e}`),
      "",
    )}
FROM (${this.population(request)}) AS f
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
    const rows = await this.lifecycle.warehouse.query(
      // Without a breakdown there is no GROUP BY, so an empty population still gives its one row.
      request.breakdown
        ? sql`SELECT b.dim AS dim, ${join(columns, ",\n       ")}
FROM (${base}) AS b
GROUP BY b.dim`
        : sql`SELECT ${join(columns, ",\n       ")}
FROM (${base}) AS b`,
      { label: "metric_measures" },
    );
    return rows.map((row) => ({
      key: request.breakdown ? this.groupKey(request.breakdown, row.dim) : null,
      measures: Object.fromEntries(
        selected.map((m) => [m, row[m] === null || row[m] === undefined ? null : Number(row[m])]),
      ),
    }));
  }

  /** Marketing spend in the period, in total or per channel (the acquisition-channel breakdown). */
  private async spendMeasures(request: MeasureRequest): Promise<MeasureGroup[]> {
    if (!this.lifecycle.available.has("marketing_spend")) return [];
    // Spend belongs to channels; other breakdowns, and a segment's customers, have no known share of it.
    if (request.breakdown && request.breakdown !== "acquisition_channel") return [];
    if (request.segmentRule) return [];
    const c = (name: string) => this.col("marketing_spend", name);
    const dim = request.breakdown ? cast(c("channel"), "text") : cast("", "text");
    const rows = await this.lifecycle.warehouse.query<{ dim: string | null; spend: number }>(
      sql`SELECT ${dim} AS dim, ${cast(sql`SUM(${c("amount")})`, "float")} AS spend
FROM ${this.table("marketing_spend")} AS t
WHERE ${c("day")} >= ${cast(request.period.from, "date")} AND ${c("day")} <= ${cast(request.period.to, "date")}
GROUP BY 1`,
      { label: "metric_spend" },
    );
    if (!request.breakdown && rows.length === 0) return [{ key: null, measures: { spend: 0 } }];
    return rows.map((r) => ({
      key: request.breakdown ? (r.dim === null ? null : String(r.dim)) : null,
      measures: { spend: Number(r.spend) },
    }));
  }

  /**
   * Stays in stages that began and ended within the period, seen on snapshot days. A stay begins on
   * the first snapshot a customer is in the stage after being elsewhere (or unknown) on the one before,
   * and ends on the first snapshot they are elsewhere: its length is the days between those snapshots.
   */
  private async stageStayMeasures(request: MeasureRequest): Promise<MeasureGroup[]> {
    const { dialect } = this;
    const days = stageStaySnapshots(request.period);
    const stageIndex = this.lifecycle.model.stageIndexSql(featureColumns);
    const snapshots = days.map(
      (day, k) => sql`SELECT f.customer_id AS customer_id, ${stageIndex} AS stage_index, ${integer(k)} AS k,
       ${cast(day, "date")} AS snapshot_day
FROM (${this.lifecycle.features(day)}) AS f`,
    );
    // Islands of consecutive snapshots in one stage: k minus the row number within (customer, stage)
    // is constant along an island.
    const marked = sql`SELECT customer_id, stage_index, k, snapshot_day,
       k - ROW_NUMBER() OVER (PARTITION BY customer_id, stage_index ORDER BY k) AS island,
       LEAD(snapshot_day) OVER (PARTITION BY customer_id ORDER BY k) AS next_day
FROM (${join(snapshots, "\nUNION ALL\n")}) AS s`;
    const stays = sql`SELECT customer_id, stage_index, MIN(k) AS first_k, MAX(k) AS last_k,
       MIN(snapshot_day) AS entered, MAX(next_day) AS last_next
FROM (${marked}) AS m
GROUP BY customer_id, stage_index, island`;
    // A stay is complete when it was entered after the first snapshot and left before the last one.
    const lastK = days.length - 1;
    const complete = sql`SELECT st.customer_id AS customer_id, st.stage_index AS stage_index,
       ${cast(dialect.dayDiff(sql`st.entered`, sql`st.left_day`), "float")} AS stay_days
FROM (SELECT x.*, x.last_next AS left_day FROM (${stays}) AS x) AS st
WHERE st.first_k > 0 AND st.last_k < ${integer(lastK)}`;
    const byStage = request.breakdown === "stage";
    const dim = byStage ? cast(sql`c.stage_index`, "text") : sql`p.dim`;
    const rows = await this.lifecycle.warehouse.query<{ dim: string | null; spells: number; spell_days: number }>(
      sql`SELECT ${dim} AS dim, ${cast(sql`COUNT(*)`, "float")} AS spells, ${cast(sql`SUM(c.stay_days)`, "float")} AS spell_days
FROM (${complete}) AS c JOIN (${this.population(request)}) AS p ON p.customer_id = c.customer_id
GROUP BY 1`,
      { label: "metric_stage_stays" },
    );
    if (!request.breakdown && rows.length === 0)
      return [{ key: null, measures: { stage_spells: 0, stage_spell_days: null } }];
    return rows.map((r) => ({
      key: request.breakdown ? this.groupKey(request.breakdown, r.dim) : null,
      measures: {
        stage_spells: Number(r.spells),
        stage_spell_days: r.spell_days === null ? null : Number(r.spell_days),
      },
    }));
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

// The metric catalog: every lifecycle metric's key, unit and definition, and how its value follows from
// a few additive measures the warehouse aggregates (see services/metrics.ts). Pure: no I/O.
import type { LogicalTable } from "../sql/contract.ts";
import { seriesLength, type Period, type SeriesInterval } from "./calendar.ts";

export type MetricUnit = "ratio" | "multiple" | "currency" | "days" | "count" | "score";

/**
 * What the warehouse aggregates per period and breakdown group, and which query computes it: the
 * customer query, marketing spend, or stays in stages. A metric names the measures it needs; only
 * those are computed.
 */
export const MEASURE_SOURCES = {
  leads: "customers",
  converted: "customers",
  median_days_to_convert: "customers",
  interest_leads: "customers",
  interest_converted: "customers",
  median_days_interest_to_purchase: "customers",
  period_buyers: "customers",
  period_repeaters: "customers",
  period_orders: "customers",
  period_revenue: "customers",
  period_buyer_revenue: "customers",
  prior_buyers: "customers",
  retained: "customers",
  start_active: "customers",
  churned: "customers",
  buyers: "customers",
  advocates: "customers",
  lifetime_revenue: "customers",
  new_customers: "customers",
  spend: "spend",
  top20_revenue: "customers",
  customers_for_80: "customers",
  stage_spells: "stage_stays",
  stage_spell_days: "stage_stays",
  survey_responses: "customers",
  promoters: "customers",
  detractors: "customers",
  survey_score_total: "customers",
} as const satisfies Record<string, "customers" | "spend" | "stage_stays">;

export type Measure = keyof typeof MEASURE_SOURCES;
export type Measures = Partial<Record<Measure, number | null>>;

export interface MetricDefinition {
  readonly key: string;
  readonly name: string;
  readonly unit: MetricUnit;
  /** The definition, shown in the GraphQL description of the value. */
  readonly description: string;
  readonly measures: readonly Measure[];
  /** A share of customers (successes / population), so two groups' values can be tested for a difference. */
  readonly proportion?: boolean;
  /** Optional tables without which the metric has no value (null). */
  readonly requires?: readonly (readonly LogicalTable[])[];
  /** Needs the interest event types of CLM_CONFIG (events.interest, or the sales-funnel preset's). */
  readonly needsInterestEvents?: boolean;
  /** The value from the measures; null when undefined (an empty denominator). */
  value(m: Measures): number | null;
  /** How many customers (orders, responses, spells) the value is computed over. */
  population(m: Measures): number | null;
}

/** a / b, null when either is unknown or b is 0. */
export function ratio(a: number | null | undefined, b: number | null | undefined): number | null {
  if (a === null || a === undefined || b === null || b === undefined || b === 0) return null;
  return a / b;
}

const get = (m: Measures, key: Measure): number | null => m[key] ?? null;

function rate(
  key: string,
  name: string,
  unit: MetricUnit,
  numerator: Measure,
  denominator: Measure,
  description: string,
  requires?: readonly (readonly LogicalTable[])[],
): MetricDefinition {
  return {
    key,
    name,
    unit,
    description,
    measures: [numerator, denominator],
    requires,
    value: (m) => ratio(get(m, numerator), get(m, denominator)),
    population: (m) => get(m, denominator),
  };
}

function count(key: string, name: string, unit: MetricUnit, measure: Measure, description: string): MetricDefinition {
  return {
    key,
    name,
    unit,
    description,
    measures: unit === "count" ? [measure] : [measure, "period_buyers"],
    value: (m) => get(m, measure),
    population: (m) => (unit === "count" ? get(m, measure) : get(m, "period_buyers")),
  };
}

/** A ratio of amounts computed over the period's buyers: its population is theirs, not its denominator. */
const overBuyers = (metric: MetricDefinition): MetricDefinition => ({
  ...metric,
  measures: [...metric.measures, "period_buyers"],
  population: (m) => get(m, "period_buyers"),
});

/** A rate over customers: value × population counts the customers with the property. */
const proportion = (metric: MetricDefinition): MetricDefinition => ({ ...metric, proportion: true });

// One of these lists is enough: a lead is known before buying through a customers row or an event.
const NEEDS_LEADS = [["customers"], ["events"]] as const;

export const METRICS: readonly MetricDefinition[] = [
  proportion(
    rate(
      "conversion_rate",
      "Lead conversion rate",
      "ratio",
      "converted",
      "leads",
      "Leads: people first seen (customers.created_at, first event or first purchase) during the period. Value: the share of them with a first purchase on or before the period's last day. Needs the customers or events table (otherwise every known person is a buyer).",
      NEEDS_LEADS,
    ),
  ),
  {
    key: "median_days_to_convert",
    name: "Median days to first purchase",
    unit: "days",
    description:
      "Over the period's converted leads (see conversion_rate): the median of whole days from first seen to first purchase (0 when they bought on the day they appeared).",
    measures: ["median_days_to_convert", "converted"],
    requires: NEEDS_LEADS,
    value: (m) => (get(m, "converted") ? get(m, "median_days_to_convert") : null),
    population: (m) => get(m, "converted"),
  },
  proportion({
    ...rate(
      "lead_to_customer_rate",
      "Lead-to-customer rate",
      "ratio",
      "interest_converted",
      "interest_leads",
      "Leads: people whose first interest event (events of the types in CLM_CONFIG's events.interest, by default the sales-funnel preset's interestEvents) fell in the period, and who had not bought before that day. Value: the share of them with a first purchase on or after that day, by the period's last day. Broken down by channel, stage or segment like every metric. Null without interest event types or the events table.",
      [["events"]],
    ),
    needsInterestEvents: true,
  }),
  {
    key: "median_days_lead_to_customer",
    name: "Median days from lead to customer",
    unit: "days",
    description:
      "Over the period's converted leads (see lead_to_customer_rate): the median of whole days from the first interest event to the first purchase (0 when they bought that day).",
    measures: ["median_days_interest_to_purchase", "interest_converted"],
    requires: [["events"]],
    needsInterestEvents: true,
    value: (m) => (get(m, "interest_converted") ? get(m, "median_days_interest_to_purchase") : null),
    population: (m) => get(m, "interest_converted"),
  },
  proportion(
    rate(
      "repeat_purchase_rate",
      "Repeat-purchase rate",
      "ratio",
      "period_repeaters",
      "period_buyers",
      "Of the customers who bought during the period, the share with two or more purchase days in all (by the period's last day).",
    ),
  ),
  proportion(
    rate(
      "retention_rate",
      "Retention rate",
      "ratio",
      "retained",
      "prior_buyers",
      "Of the customers who bought during the equally long window just before the period, the share who bought again during the period.",
    ),
  ),
  proportion(
    rate(
      "churn_rate",
      "Churn rate",
      "ratio",
      "churned",
      "start_active",
      "Of the buyers not in the churned stage on the day before the period, the share in the churned stage on its last day. Null when the stage model has no stage keyed churned.",
    ),
  ),
  proportion(
    rate(
      "referral_rate",
      "Referral rate",
      "ratio",
      "advocates",
      "buyers",
      "Advocates / customers: of the buyers known by the period's last day, the share who referred at least one customer known by then (customers.referred_by). Needs the customers table.",
      [["customers"]],
    ),
  ),
  rate(
    "average_order_value",
    "Average order value",
    "currency",
    "period_revenue",
    "period_orders",
    "Revenue during the period / orders during the period (distinct order_id per day; rows without one count as one order each).",
  ),
  rate(
    "purchase_frequency",
    "Purchase frequency",
    "count",
    "period_orders",
    "period_buyers",
    "Orders during the period / customers who bought during the period.",
  ),
  rate(
    "revenue_per_customer",
    "Revenue per customer",
    "currency",
    "period_revenue",
    "period_buyers",
    "Revenue during the period / customers who bought during the period.",
  ),
  rate(
    "historical_ltv",
    "Historical lifetime value",
    "currency",
    "lifetime_revenue",
    "buyers",
    "Mean revenue per buyer from their first purchase to the period's last day, over every buyer known by then.",
  ),
  rate(
    "cac",
    "Customer acquisition cost",
    "currency",
    "spend",
    "new_customers",
    "Marketing spend during the period / new customers (first purchase during the period). Broken down by acquisition channel: the channel's spend / the new customers whose customers.acquisition_channel is that channel. Null for other breakdowns and for a segment's customers (spend is not attributed to segments). Needs the marketing_spend table.",
    [["marketing_spend"]],
  ),
  {
    key: "ltv_to_cac",
    name: "LTV : CAC",
    unit: "multiple",
    description:
      "historical_ltv / cac over the same customers and period: how many times the acquisition cost a buyer has paid back so far. Needs the marketing_spend table.",
    measures: ["lifetime_revenue", "buyers", "spend", "new_customers"],
    requires: [["marketing_spend"]],
    value: (m) =>
      ratio(ratio(get(m, "lifetime_revenue"), get(m, "buyers")), ratio(get(m, "spend"), get(m, "new_customers"))),
    population: (m) => get(m, "new_customers"),
  },
  overBuyers(
    rate(
      "pareto_top20_revenue_share",
      "Revenue share of the top 20%",
      "ratio",
      "top20_revenue",
      "period_buyer_revenue",
      "Pareto concentration: the share of the period buyers' revenue (net of their refunds) made by the top 20% of them by revenue (the top ceil(0.2 × buyers) customers; ties cannot change the sum).",
    ),
  ),
  rate(
    "pareto_customer_share_for_80",
    "Customer share making 80% of revenue",
    "ratio",
    "customers_for_80",
    "period_buyers",
    "Pareto concentration: the smallest share of the period's buyers, biggest spenders first, whose revenue reaches 80% of the period buyers' revenue (net of their refunds).",
  ),
  {
    key: "average_days_in_stage",
    name: "Average days in a stage",
    unit: "days",
    description:
      "Mean length of the stays in a stage that began and ended during the period. Stages are evaluated on about 13 snapshot days spread evenly over the period, so lengths are exact to within the snapshot step; stays cut by the period's ends are left out. Broken down by stage: the stage stayed in.",
    measures: ["stage_spell_days", "stage_spells"],
    value: (m) => ratio(get(m, "stage_spell_days"), get(m, "stage_spells")),
    population: (m) => get(m, "stage_spells"),
  },
  {
    key: "nps",
    name: "Net promoter score",
    unit: "score",
    description:
      "Over survey events (type nps by default, value 0–10) during the period: 100 × (promoters (9–10) − detractors (0–6)) / responses, from −100 to 100. Broken down by stage: the respondent's stage on the period's last day. Needs the events table.",
    measures: ["promoters", "detractors", "survey_responses"],
    requires: [["events"]],
    value: (m) => {
      const share = ratio((get(m, "promoters") ?? 0) - (get(m, "detractors") ?? 0), get(m, "survey_responses"));
      return share === null ? null : 100 * share;
    },
    population: (m) => get(m, "survey_responses"),
  },
  rate(
    "satisfaction",
    "Mean survey score",
    "score",
    "survey_score_total",
    "survey_responses",
    "Mean value of the survey events (type nps by default) during the period. Needs the events table.",
    [["events"]],
  ),
  count("active_customers", "Active customers", "count", "period_buyers", "Customers who bought during the period."),
  count(
    "new_customers",
    "New customers",
    "count",
    "new_customers",
    "Customers whose first purchase was during the period.",
  ),
  count("orders", "Orders", "count", "period_orders", "Orders during the period."),
  count(
    "revenue",
    "Revenue",
    "currency",
    "period_revenue",
    "Sum of transaction amounts during the period, net of refunds.",
  ),
];

export const METRIC_BY_KEY: ReadonlyMap<string, MetricDefinition> = new Map(METRICS.map((m) => [m.key, m]));

/** Whether the optional tables a metric needs are there, and interest event types when it reads them. */
export function metricAvailable(
  metric: MetricDefinition,
  available: ReadonlySet<LogicalTable>,
  interestEvents: readonly string[] = [],
): boolean {
  if (metric.needsInterestEvents && interestEvents.length === 0) return false;
  return !metric.requires || metric.requires.some((tables) => tables.every((t) => available.has(t)));
}

export const BREAKDOWNS = ["stage", "acquisition_channel", "cohort_month", "rfm_segment", "segment"] as const;
export type Breakdown = (typeof BREAKDOWNS)[number];

/** The most saved segments one breakdown splits by. */
export const MAX_BREAKDOWN_SEGMENTS = 50;

/** How a breakdown's groups are shown. */
export interface GroupDisplay {
  /** Display labels by key, where they differ from the key (stage and segment names). */
  readonly labels: ReadonlyMap<string, string>;
  /** Sort position of a key; keys without one keep metricResult's order (by key), null last. */
  order(key: string | null): number;
}

/** Stages in display order with their names, saved segments in the order given (by name) with theirs. */
export function groupDisplay(
  breakdown: Breakdown | undefined,
  stages: readonly { readonly key: string; readonly name: string }[],
  segments: readonly { readonly id: string; readonly name: string }[] = [],
): GroupDisplay {
  const positions = (keys: readonly string[]) => {
    const at = new Map(keys.map((k, i) => [k, i]));
    return (key: string | null) => (key === null ? Infinity : (at.get(key) ?? keys.length));
  };
  if (breakdown === "stage") {
    return { labels: new Map(stages.map((s) => [s.key, s.name])), order: positions(stages.map((s) => s.key)) };
  }
  if (breakdown === "segment") {
    return { labels: new Map(segments.map((s) => [s.id, s.name])), order: positions(segments.map((s) => s.id)) };
  }
  return { labels: new Map(), order: (key) => (key === null ? Infinity : 0) };
}

/** The measures of one period: for everyone, and per breakdown group when one was asked for. */
export interface MeasuredPeriod {
  readonly period: Period;
  readonly total: Measures;
  readonly groups?: readonly { readonly key: string | null; readonly measures: Measures }[];
}

export interface MetricValue {
  readonly value: number | null;
  readonly population: number | null;
}

export interface MetricComparison extends MetricValue {
  readonly period: Period;
  /** value − comparison value. */
  readonly change: number | null;
  /** change / |comparison value|; null when the comparison value is 0 or unknown. */
  readonly relativeChange: number | null;
}

export interface MetricGroupResult extends MetricValue {
  readonly key: string | null;
  readonly comparison: MetricComparison | null;
}

export interface MetricResult extends MetricValue {
  readonly definition: MetricDefinition;
  readonly available: boolean;
  readonly period: Period;
  readonly comparison: MetricComparison | null;
  readonly breakdown: readonly MetricGroupResult[] | null;
}

function valueOf(metric: MetricDefinition, measures: Measures | undefined, available: boolean): MetricValue {
  if (!available || !measures) return { value: null, population: measures ? metric.population(measures) : null };
  return { value: metric.value(measures), population: metric.population(measures) };
}

function compare(current: MetricValue, previous: MetricValue, period: Period): MetricComparison {
  const change = current.value === null || previous.value === null ? null : current.value - previous.value;
  return {
    ...previous,
    period,
    change,
    relativeChange: change === null || !previous.value ? null : change / Math.abs(previous.value),
  };
}

/** A metric's value, its comparison and its breakdown from measured periods. */
export function metricResult(
  metric: MetricDefinition,
  available: boolean,
  current: MeasuredPeriod,
  previous?: MeasuredPeriod,
): MetricResult {
  const value = valueOf(metric, current.total, available);
  const comparison = previous ? compare(value, valueOf(metric, previous.total, available), previous.period) : null;
  let breakdown: MetricGroupResult[] | null = null;
  if (current.groups) {
    const previousGroups = new Map(previous?.groups?.map((g) => [g.key, g.measures]));
    const currentGroups = new Map(current.groups.map((g) => [g.key, g.measures]));
    // Groups come from every query of the request; a metric lists those its own measures reached.
    const measured = (m: Measures | undefined) => metric.measures.some((k) => m?.[k] !== undefined);
    const keys = [...new Set([...currentGroups.keys(), ...previousGroups.keys()])].filter(
      (key) => measured(currentGroups.get(key)) || measured(previousGroups.get(key)),
    );
    // By key (the default sort compares strings by code unit, as < does), the null group last.
    const named = keys.filter((key) => key !== null).sort();
    breakdown = (keys.includes(null) ? [...named, null] : named).map((key) => {
      const v = valueOf(metric, currentGroups.get(key) ?? {}, available);
      const p = previous
        ? compare(v, valueOf(metric, previousGroups.get(key) ?? {}, available), previous.period)
        : null;
      return { key, ...v, comparison: p };
    });
  }
  return { definition: metric, available, period: current.period, ...value, comparison, breakdown };
}

/**
 * The most periods one metric series may have, by interval: 400 days (a year and a month, day by day),
 * 260 weeks (five years), 120 months and 40 quarters (ten years, the longest metrics period). Every
 * period is computed in the same few warehouse queries, whose work grows with the periods.
 */
export const MAX_SERIES_PERIODS: Readonly<Record<SeriesInterval, number>> = {
  day: 400,
  week: 260,
  month: 120,
  quarter: 40,
};

/** What is wrong with a metric series' range, and the argument at fault; undefined when it may be computed. */
export function seriesProblem(
  from: string,
  to: string,
  interval: SeriesInterval,
): { readonly argument: "to" | "interval"; readonly message: string } | undefined {
  if (to < from) return { argument: "to", message: `to (${to}) is before from (${from})` };
  const periods = seriesLength(from, to, interval);
  const max = MAX_SERIES_PERIODS[interval];
  if (periods <= max) return undefined;
  return {
    argument: "interval",
    message: `${from} to ${to} is ${periods} periods of a ${interval}; at most ${max}: use a longer interval or a shorter range`,
  };
}

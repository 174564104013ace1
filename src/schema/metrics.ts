// Lifecycle metrics over a period, compared with another period, optionally broken down; and over each
// period of a series.
import type { Period, SeriesInterval } from "../lifecycle/calendar.ts";
import {
  MAX_SERIES_PERIODS,
  METRICS,
  METRIC_BY_KEY,
  type Breakdown,
  type MetricComparison,
} from "../lifecycle/metrics.ts";
import type { LabelledGroup, MetricAnswer, MetricSeriesPoint } from "../services/metrics-report.ts";
import { builder } from "./builder.ts";
import { checkPeriod, PeriodInput, PeriodRef, SeriesIntervalEnum } from "./period.ts";
import { savedDefinition } from "./segment-access.ts";
import type { RequestContext } from "./context.ts";
import type { Rule } from "../lifecycle/rules.ts";

const MetricUnitEnum = builder.enumType("MetricUnit", {
  description: "What a metric's value measures.",
  values: {
    RATIO: { value: "ratio", description: "A share between 0 and 1 (multiply by 100 for a percentage)." },
    MULTIPLE: {
      value: "multiple",
      description: "How many times one amount covers another (LTV : CAC of 3 means 3×); not a share, may exceed 1.",
    },
    CURRENCY: { value: "currency", description: "Money, in the currency of the transaction amounts." },
    DAYS: { value: "days", description: "A duration in days." },
    COUNT: { value: "count", description: "A count, or a count per customer." },
    SCORE: { value: "score", description: "A survey score (NPS from −100 to 100, or a mean answer)." },
  } as const,
});

const MetricKeyEnum = builder.enumType("MetricKey", {
  description: "The metrics the server computes; each value's description is its definition.",
  values: Object.fromEntries(
    METRICS.map((m) => [m.key.toUpperCase(), { value: m.key, description: `${m.name}. ${m.description}` }]),
  ),
});

const BreakdownEnum = builder.enumType("MetricBreakdown", {
  description: "How to split a metric's customers into groups.",
  values: {
    STAGE: { value: "stage", description: "The customer's lifecycle stage on the period's last day (a stage key)." },
    ACQUISITION_CHANNEL: {
      value: "acquisition_channel",
      description: "customers.acquisition_channel; null key for customers without one.",
    },
    COHORT_MONTH: {
      value: "cohort_month",
      description: "Month of the first purchase, YYYY-MM; null key for prospects.",
    },
    RFM_SEGMENT: {
      value: "rfm_segment",
      description: "Named RFM segment on the period's last day; null key for prospects.",
    },
    SEGMENT: {
      value: "segment",
      description:
        "Every saved segment that is not archived (at most 50), key = its id, label = its name: a customer counts in each segment they match on the period's last day, so groups may overlap.",
    },
  } as const,
});

const valueFields = {
  value: "The value; null when it is undefined (nobody to compute it over) or the data it needs is missing.",
  population: "How many customers (orders, survey answers, stays) the value is computed over.",
};

const MetricComparisonRef = builder.objectRef<MetricComparison>("MetricComparison").implement({
  description: "The same metric over the comparison period, and the change from it.",
  fields: (t) => ({
    period: t.field({ type: PeriodRef, description: "The comparison period.", resolve: (c) => c.period }),
    value: t.float({ nullable: true, description: valueFields.value, resolve: (c) => c.value }),
    population: t.float({ nullable: true, description: valueFields.population, resolve: (c) => c.population }),
    change: t.float({
      nullable: true,
      description: "value in the period − value in the comparison period (in the metric's unit).",
      resolve: (c) => c.change,
    }),
    relativeChange: t.float({
      nullable: true,
      description: "change / |comparison value| (ratio); null when the comparison value is 0 or null.",
      resolve: (c) => c.relativeChange,
    }),
  }),
});

export type MetricShape = MetricAnswer;

const MetricGroupRef = builder.objectRef<LabelledGroup>("MetricGroup").implement({
  description: "A metric for one group of a breakdown.",
  fields: (t) => ({
    key: t.string({
      nullable: true,
      description:
        "The group: a stage key, a channel, a month YYYY-MM, an RFM segment or a saved segment's id; null for no value.",
      resolve: (g) => g.key,
    }),
    label: t.string({
      nullable: true,
      description: "The group for display: a stage's or saved segment's name, otherwise the key.",
      resolve: (g) => g.label,
    }),
    value: t.float({ nullable: true, description: valueFields.value, resolve: (g) => g.value }),
    population: t.float({ nullable: true, description: valueFields.population, resolve: (g) => g.population }),
    comparison: t.field({
      type: MetricComparisonRef,
      nullable: true,
      description: "The group in the comparison period; null without compareTo.",
      resolve: (g) => g.comparison,
    }),
  }),
});

export const MetricRef = builder.objectRef<MetricShape>("Metric").implement({
  description: "A lifecycle metric over a period, aggregated in the warehouse.",
  fields: (t) => ({
    key: t.field({
      type: MetricKeyEnum,
      description: "Stable identifier of the metric, for code (the name may change).",
      resolve: (m) => m.definition.key,
    }),
    name: t.string({ description: "Display name of the metric.", resolve: (m) => m.definition.name }),
    description: t.string({
      description: "How the metric is computed, in one or two sentences (its numerator, denominator and window).",
      resolve: (m) => m.definition.description,
    }),
    unit: t.field({ type: MetricUnitEnum, description: "What the value measures.", resolve: (m) => m.definition.unit }),
    available: t.boolean({
      description: "False when the warehouse lacks a table the metric needs (its values are then null).",
      resolve: (m) => m.available,
    }),
    period: t.field({ type: PeriodRef, description: "The period the value covers.", resolve: (m) => m.period }),
    value: t.float({ nullable: true, description: valueFields.value, resolve: (m) => m.value }),
    population: t.float({ nullable: true, description: valueFields.population, resolve: (m) => m.population }),
    comparison: t.field({
      type: MetricComparisonRef,
      nullable: true,
      description: "The value over compareTo and the change; null without compareTo.",
      resolve: (m) => m.comparison,
    }),
    breakdown: t.field({
      type: [MetricGroupRef],
      nullable: true,
      description: "The value per group of the breakdown asked for; null without one.",
      resolve: (m) => m.breakdown,
    }),
  }),
});

/** What a metrics question asks, from `metrics` or from a segment's `metrics`. */
export interface MetricsQuery {
  readonly keys?: readonly string[] | null;
  readonly period: Period;
  readonly compareTo?: Period;
  readonly breakdown?: Breakdown;
  /** Only customers of this segment definition (resolved for each period's last day). */
  readonly definition?: Rule;
}

/** Checks the periods, then computes the metrics in the warehouse with their comparison and breakdown. */
export async function computeMetrics(q: MetricsQuery, ctx: RequestContext): Promise<MetricShape[]> {
  checkPeriod(q.period, "period");
  if (q.compareTo) checkPeriod(q.compareTo, "compareTo");
  const metrics = [...new Set(q.keys ?? METRICS.map((m) => m.key))].map((key) => METRIC_BY_KEY.get(key)!);
  const answer = await ctx.services.metrics.answer(
    { metrics, period: q.period, compareTo: q.compareTo, breakdown: q.breakdown, definition: q.definition },
    { segment: "segmentId", breakdown: "breakdown" },
  );
  return answer.metrics;
}

/** The arguments a metrics field takes besides a segment. */
export const metricArgs = builder.args((t) => ({
  keys: t.field({
    type: [MetricKeyEnum],
    description: "The metrics to compute, in this order. Default: all of them.",
  }),
  period: t.field({ type: PeriodInput, required: true, description: "The period the metrics cover." }),
  compareTo: t.field({
    type: PeriodInput,
    description: "A period to compare with, e.g. the previous period or the same one a year before.",
  }),
  breakdown: t.field({ type: BreakdownEnum, description: "Also give each metric per group of this breakdown." }),
}));

/** The metrics question of a field's arguments. */
export function metricsQuery(
  args: {
    keys?: readonly string[] | null;
    period: Period;
    compareTo?: Period | null;
    breakdown?: string | null;
  },
  definition?: Rule,
): MetricsQuery {
  return {
    keys: args.keys,
    period: { from: args.period.from, to: args.period.to },
    compareTo: args.compareTo ? { from: args.compareTo.from, to: args.compareTo.to } : undefined,
    breakdown: (args.breakdown ?? undefined) as Breakdown | undefined,
    definition,
  };
}

builder.queryField("metrics", (t) =>
  t.field({
    type: [MetricRef],
    description:
      "Lifecycle metrics over a period, each with its definition, optionally compared with another period (the before/after of a campaign) and broken down by stage, channel, cohort month, RFM segment or saved segment. Every aggregate is computed in the warehouse.",
    args: {
      ...metricArgs,
      segmentId: t.arg.id({
        description: "Only customers of this saved segment (its definition evaluated on each period's last day).",
      }),
    },
    resolve: async (_root, args, ctx) =>
      computeMetrics(
        metricsQuery(args, args.segmentId ? await savedDefinition(String(args.segmentId), ctx) : undefined),
        ctx,
      ),
  }),
);

const MetricSeriesPointRef = builder.objectRef<MetricSeriesPoint>("MetricSeriesPoint").implement({
  description: "One period of a metric series: each metric asked, as `metrics` answers for that period alone.",
  fields: (t) => ({
    period: t.field({
      type: PeriodRef,
      description: "The period: a calendar day, week, month or quarter, the first and last clipped to the series.",
      resolve: (p) => p.period,
    }),
    values: t.field({
      type: [MetricRef],
      description: "Every metric asked for, in the order of keys (comparison and breakdown are null).",
      resolve: (p) => p.metrics,
    }),
  }),
});

const limits = Object.entries(MAX_SERIES_PERIODS)
  .map(([interval, max]) => `${max} ${interval}s`)
  .join(", ");

builder.queryField("metricSeries", (t) =>
  t.field({
    type: [MetricSeriesPointRef],
    description: `Lifecycle metrics over each period of a series (a trend): one point per calendar day, week (from Monday), month or quarter meeting \`from\`..\`to\`, the first and last clipped to it. Each value equals what \`metrics\` answers for that period alone; all periods are computed in the warehouse together, one query per group of measures (customer measures, marketing spend, stays in stages), not one per period. At most ${limits}.`,
    args: {
      keys: t.arg({
        type: [MetricKeyEnum],
        required: true,
        description: "The metrics to compute for every period, in this order.",
      }),
      from: t.arg({ type: "Date", required: true, description: "The first day of the series." }),
      to: t.arg({ type: "Date", required: true, description: "The last day of the series (on or after from)." }),
      interval: t.arg({
        type: SeriesIntervalEnum,
        defaultValue: "month",
        description: "The periods of the series (default MONTH).",
      }),
      segmentId: t.arg.id({
        description: "Only customers of this saved segment (its definition evaluated on each period's last day).",
      }),
    },
    resolve: async (_root, args, ctx) => {
      const definition = args.segmentId ? await savedDefinition(String(args.segmentId), ctx) : undefined;
      return ctx.services.metrics.series({
        metrics: [...new Set(args.keys)].map((key) => METRIC_BY_KEY.get(key)!),
        from: args.from,
        to: args.to,
        interval: (args.interval ?? "month") as SeriesInterval,
        definition,
      });
    },
  }),
);

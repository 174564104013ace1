// Lifecycle metrics over a period, compared with another period, optionally broken down.
import type { Period } from "../lifecycle/calendar.ts";
import {
  METRICS,
  METRIC_BY_KEY,
  metricAvailable,
  metricResult,
  type Breakdown,
  type MetricComparison,
  type MetricGroupResult,
  type MetricResult,
} from "../lifecycle/metrics.ts";
import { MetricsService } from "../services/metrics.ts";
import { builder } from "./builder.ts";
import { checkPeriod, PeriodInput, PeriodRef } from "./period.ts";
import { segmentRule } from "./segment.ts";

const MetricUnitEnum = builder.enumType("MetricUnit", {
  description: "What a metric's value measures.",
  values: {
    RATIO: { value: "ratio", description: "A share between 0 and 1 (multiply by 100 for a percentage)." },
    CURRENCY: { value: "currency", description: "Money, in the currency of the transaction amounts." },
    DAYS: { value: "days", description: "Days." },
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

const MetricGroupRef = builder.objectRef<MetricGroupResult>("MetricGroup").implement({
  description: "A metric for one group of a breakdown.",
  fields: (t) => ({
    key: t.string({
      nullable: true,
      description: "The group: a stage key, a channel, a month YYYY-MM or an RFM segment; null for no value.",
      resolve: (g) => g.key,
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

const MetricRef = builder.objectRef<MetricResult>("Metric").implement({
  description: "A lifecycle metric over a period, aggregated in the warehouse.",
  fields: (t) => ({
    key: t.field({ type: MetricKeyEnum, description: "Stable identifier.", resolve: (m) => m.definition.key }),
    name: t.string({ description: "Display name.", resolve: (m) => m.definition.name }),
    description: t.string({ description: "The definition.", resolve: (m) => m.definition.description }),
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

builder.queryField("metrics", (t) =>
  t.field({
    type: [MetricRef],
    description:
      "Lifecycle metrics over a period, each with its definition, optionally compared with another period (the before/after of a campaign) and broken down by stage, channel, cohort month or RFM segment. Every aggregate is computed in the warehouse.",
    args: {
      keys: t.arg({
        type: [MetricKeyEnum],
        description: "The metrics to compute, in this order. Default: all of them.",
      }),
      period: t.arg({ type: PeriodInput, required: true, description: "The period the metrics cover." }),
      compareTo: t.arg({
        type: PeriodInput,
        description: "A period to compare with, e.g. the previous period or the same one a year before.",
      }),
      breakdown: t.arg({ type: BreakdownEnum, description: "Also give each metric per group of this breakdown." }),
      segmentId: t.arg.id({
        description: "Only customers of this saved segment (its definition evaluated on each period's last day).",
      }),
    },
    resolve: async (_root, args, ctx) => {
      const period = { from: args.period.from, to: args.period.to };
      checkPeriod(period, "period");
      const compareTo = args.compareTo ? { from: args.compareTo.from, to: args.compareTo.to } : undefined;
      if (compareTo) checkPeriod(compareTo, "compareTo");
      const metrics = [...new Set(args.keys ?? METRICS.map((m) => m.key))].map((key) => METRIC_BY_KEY.get(key)!);
      const segment = args.segmentId ? await segmentRule(String(args.segmentId), ctx) : undefined;
      const service = ctx.lifecycle.service;
      const available = metrics.filter((m) => metricAvailable(m, service.available));
      const measures = new MetricsService(service);
      const breakdown = (args.breakdown ?? undefined) as Breakdown | undefined;
      const ask = (p: Period) => measures.measure({ period: p, metrics: available, breakdown, segmentRule: segment });
      const [current, previous] = await Promise.all([ask(period), compareTo ? ask(compareTo) : undefined]);
      const stageOrder = new Map(service.model.stages.map((s, i) => [s.key, i]));
      return metrics.map((m) => {
        const result = metricResult(m, available.includes(m), current, previous);
        if (breakdown !== "stage" || !result.breakdown) return result;
        // Stages in the model's display order rather than by key.
        const order = (key: string | null) => (key === null ? Infinity : (stageOrder.get(key) ?? Infinity));
        return { ...result, breakdown: [...result.breakdown].sort((a, b) => order(a.key) - order(b.key)) };
      });
    },
  }),
);

// Comparing two saved segments: metrics side by side over a period, with the difference and, for
// rates, whether it is significant (the A/B comparison of a treated and an untreated group).
import type { Rule } from "../lifecycle/rules.ts";
import { twoProportionTest, type TwoProportionTest } from "../lifecycle/statistics.ts";
import { builder } from "./builder.ts";
import { computeMetrics, metricArgs, metricsQuery, MetricRef, type MetricShape } from "./metrics.ts";
import { savedDefinition } from "./segment-access.ts";

interface SideBySide {
  readonly metric: MetricShape;
  readonly other: MetricShape;
}

const TwoProportionTestRef = builder.objectRef<TwoProportionTest>("TwoProportionTest").implement({
  description:
    "Two-proportion z-test of the rates' difference (pooled standard error): are the groups different beyond chance?",
  fields: (t) => ({
    z: t.exposeFloat("z", { description: "(rate a − rate b) / standard error." }),
    pValue: t.exposeFloat("pValue", { description: "Two-sided p-value of no difference." }),
    significantAt95: t.boolean({
      description: "Whether the difference is significant at the 5% level (pValue < 0.05, two-sided).",
      resolve: (x) => x.pValue < 0.05,
    }),
  }),
});

const SegmentMetricComparisonRef = builder.objectRef<SideBySide>("SegmentMetricComparison").implement({
  description: "One metric for two segments side by side.",
  fields: (t) => ({
    metric: t.field({ type: MetricRef, description: "The metric for segment a.", resolve: (x) => x.metric }),
    other: t.field({ type: MetricRef, description: "The metric for segment b.", resolve: (x) => x.other }),
    difference: t.float({
      nullable: true,
      description: "a − b in the metric's unit; null when either is null.",
      resolve: (x) => (x.metric.value === null || x.other.value === null ? null : x.metric.value - x.other.value),
    }),
    significance: t.field({
      type: TwoProportionTestRef,
      nullable: true,
      description:
        "For rates over customers (conversion, repeat purchase, retention, churn, referral): the two-proportion z-test; null for other metrics or without variation.",
      resolve: ({ metric: a, other: b }) => {
        if (!a.definition.proportion || a.value === null || b.value === null) return null;
        if (a.population === null || b.population === null) return null;
        return twoProportionTest(
          Math.round(a.value * a.population),
          a.population,
          Math.round(b.value * b.population),
          b.population,
        );
      },
    }),
  }),
});

builder.queryField("compareSegments", (t) =>
  t.field({
    type: [SegmentMetricComparisonRef],
    description:
      "Metrics of two saved segments side by side over a period, with the difference and, for rates, whether it is significant (the A/B comparison of a treated and an untreated group).",
    args: {
      a: t.arg.id({ required: true, description: "The first segment (e.g. the treated group)." }),
      b: t.arg.id({ required: true, description: "The second segment (e.g. the control group)." }),
      keys: metricArgs.keys,
      period: metricArgs.period,
    },
    resolve: async (_root, args, ctx) => {
      const [a, b] = await Promise.all([
        savedDefinition(String(args.a), ctx, "a"),
        savedDefinition(String(args.b), ctx, "b"),
      ]);
      const ask = (definition: Rule) => computeMetrics(metricsQuery({ ...args, compareTo: null }, definition), ctx);
      const [forA, forB] = await Promise.all([ask(a), ask(b)]);
      return forA.map((metric, i) => ({ metric, other: forB[i]! }));
    },
  }),
);

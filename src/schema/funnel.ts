// The stage funnel with drop-off between consecutive progress stages.
import type { FunnelStep } from "../services/funnel.ts";
import { builder } from "./builder.ts";
import { AS_OF_DESCRIPTION, resolveAsOf } from "./lifecycle-args.ts";
import { checkPeriod, PeriodInput } from "./period.ts";
import { segmentRuleOn } from "./segment-access.ts";
import { StageRef } from "./refs.ts";

type FunnelStepShape = FunnelStep & { readonly asOf: string; readonly previous: number | null; readonly first: number };

const FunnelStepRef = builder.objectRef<FunnelStepShape>("FunnelStep").implement({
  description:
    "A progress stage of the funnel: customers who got at least this far (their furthest stage is this one or a later progress stage in display order; lapsing does not undo progress).",
  fields: (t) => ({
    stage: t.field({
      type: StageRef,
      description: "The progress stage this step of the funnel counts (at least this far).",
      resolve: (s) => ({ stage: s.stage, asOf: s.asOf }),
    }),
    reached: t.exposeInt("reached", { description: "Customers who got at least this far (count)." }),
    atStage: t.exposeInt("atStage", { description: "Customers whose furthest stage is this one (count)." }),
    shareOfFirst: t.float({
      nullable: true,
      description: "reached / reached of the first step (ratio); null when nobody is in the funnel.",
      resolve: (s) => (s.first === 0 ? null : s.reached / s.first),
    }),
    conversionFromPrevious: t.float({
      nullable: true,
      description: "reached / reached of the previous step (ratio); null for the first step or an empty previous one.",
      resolve: (s) => (s.previous ? s.reached / s.previous : null),
    }),
    dropOffFromPrevious: t.float({
      nullable: true,
      description: "1 − conversionFromPrevious: the share lost between the previous step and this one (ratio).",
      resolve: (s) => (s.previous ? 1 - s.reached / s.previous : null),
    }),
  }),
});

builder.queryField("funnel", (t) =>
  t.field({
    type: [FunnelStepRef],
    description:
      "The stage funnel as of a day: for each progress stage in display order, how many customers got at least that far, and the drop-off from the step before. From the state store's history when it serves the day (without a segment), else counted in the warehouse.",
    args: {
      asOf: t.arg({ type: "Date", description: AS_OF_DESCRIPTION }),
      firstSeen: t.arg({
        type: PeriodInput,
        description: "Only customers first seen in this period: the funnel of one cohort of leads.",
      }),
      segmentId: t.arg.id({ description: "Only customers of this saved segment (evaluated on asOf)." }),
    },
    resolve: async (_root, args, ctx) => {
      const asOf = await resolveAsOf(args.asOf, ctx);
      const firstSeen = args.firstSeen ? { from: args.firstSeen.from, to: args.firstSeen.to } : undefined;
      if (firstSeen) checkPeriod(firstSeen, "firstSeen");
      const rule = args.segmentId ? await segmentRuleOn(String(args.segmentId), asOf, ctx) : undefined;
      // Without a segment, from the state store's history when it serves the day.
      const stored = rule ? undefined : await ctx.lifecycle.state?.furthestCounts(asOf, firstSeen);
      const steps = stored
        ? ctx.services.funnel.steps(stored)
        : await ctx.services.funnel.stageFunnel({ asOf, firstSeen, segmentRule: rule });
      return steps.map((s, i) => ({
        ...s,
        asOf,
        previous: i === 0 ? null : steps[i - 1]!.reached,
        first: steps[0]?.reached ?? 0,
      }));
    },
  }),
);

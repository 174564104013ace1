// Who is in a segment: the members, stages and metrics of a definition on a day, saved or previewed,
// and the saved segments one customer belongs to.
import type { RequestContext } from "./context.ts";
import type { Rule } from "../lifecycle/rules.ts";
import { segmentRow } from "../lifecycle/segment-definition.ts";
import type { StageCount } from "../services/lifecycle/stages.ts";
import { builder } from "./builder.ts";
import { customerPage } from "./customer.ts";
import { AS_OF_DESCRIPTION, resolveAsOf } from "./lifecycle-args.ts";
import { computeMetrics, metricArgs, metricsQuery, MetricRef } from "./metrics.ts";
import { CustomerRef, StageRef } from "./refs.ts";
import { compiledSegments, resolvedFor, segmentQuestions, segmentStore, storedDefinition } from "./segment-access.ts";

/** A definition seen on one day: what a saved segment's or a preview's fields are computed from. */
interface DefinitionOnDay {
  readonly definition: Rule;
  readonly asOf: string;
}

async function membersRule(d: DefinitionOnDay, ctx: RequestContext): Promise<Rule> {
  return resolvedFor(d.definition, d.asOf, ctx, "definition");
}

const SegmentStageCountRef = builder
  .objectRef<{ stage: StageCount["stage"]; count: number; share: number; asOf: string }>("SegmentStageCount")
  .implement({
    description: "How many of a segment's members are in one stage.",
    fields: (t) => ({
      stage: t.field({
        type: StageRef,
        description: "The stage these members are in on the as-of day.",
        resolve: (s) => ({ stage: s.stage, asOf: s.asOf }),
      }),
      count: t.exposeInt("count", { description: "Members in the stage (count)." }),
      share: t.exposeFloat("share", { description: "count / members (ratio); 0 for an empty segment." }),
    }),
  });

async function stageBreakdownOf(d: DefinitionOnDay, ctx: RequestContext) {
  const counts = await segmentQuestions(ctx).stageCounts(d.asOf, await membersRule(d, ctx));
  const total = counts.reduce((n, c) => n + c.count, 0);
  return counts.map((c) => ({ ...c, share: total === 0 ? 0 : c.count / total, asOf: d.asOf }));
}

const SegmentMembershipRef = builder.objectRef<DefinitionOnDay>("SegmentMembership").implement({
  description:
    "A segment's members on one day: from the state store on its state day (the definition evaluated in the app database), else computed in the warehouse.",
  fields: (t) => ({
    asOf: t.field({ type: "Date", description: "The day membership is for.", resolve: (d) => d.asOf }),
    size: t.int({
      description: "How many customers match the definition on the as-of day (count).",
      resolve: async (d, _args, ctx) => segmentQuestions(ctx).size(d.asOf, await membersRule(d, ctx)),
    }),
    stageBreakdown: t.field({
      type: [SegmentStageCountRef],
      description: "Every stage with the members in it, in display order.",
      resolve: (d, _args, ctx) => stageBreakdownOf(d, ctx),
    }),
    members: t.connection(
      {
        type: CustomerRef,
        description: "The members, ordered by id (cursors stay valid while membership does not change).",
        resolve: async (d, args, ctx) => {
          const rule = await membersRule(d, ctx);
          return customerPage(args, d.asOf, ctx, (size, after) =>
            segmentQuestions(ctx).page(d.asOf, rule, size, after),
          );
        },
      },
      { name: "SegmentMemberConnection", description: "A page of a segment's members." },
      { name: "SegmentMemberEdge", description: "A member and its cursor." },
    ),
  }),
});

builder.prismaObjectFields("Segment", (t) => ({
  membership: t.field({
    type: SegmentMembershipRef,
    description:
      "Members, size and stage breakdown as of a day (the definition evaluated on the state store on its state day, else in the warehouse).",
    args: { asOf: t.arg({ type: "Date", description: AS_OF_DESCRIPTION }) },
    resolve: async (segment, args, ctx) => ({
      definition: storedDefinition(segment, ctx),
      asOf: await resolveAsOf(args.asOf, ctx),
    }),
  }),
  members: t.connection(
    {
      type: CustomerRef,
      description: "Members as of a day, ordered by id (cursors stay valid while membership does not change).",
      args: { asOf: t.arg({ type: "Date", description: AS_OF_DESCRIPTION }) },
      resolve: async (segment, args, ctx) => {
        const asOf = await resolveAsOf(args.asOf, ctx);
        const rule = await resolvedFor(storedDefinition(segment, ctx), asOf, ctx, "definition");
        return customerPage(args, asOf, ctx, (size, after) => segmentQuestions(ctx).page(asOf, rule, size, after));
      },
    },
    { name: "SegmentCustomerConnection", description: "A page of a saved segment's members." },
    { name: "SegmentCustomerEdge", description: "A member and its cursor." },
  ),
  stageBreakdown: t.field({
    type: [SegmentStageCountRef],
    description: "Every stage with the members in it as of a day, in display order.",
    args: { asOf: t.arg({ type: "Date", description: AS_OF_DESCRIPTION }) },
    resolve: async (segment, args, ctx) =>
      stageBreakdownOf({ definition: storedDefinition(segment, ctx), asOf: await resolveAsOf(args.asOf, ctx) }, ctx),
  }),
  size: t.int({
    description: "Members as of a day (count); membership.size without the other fields.",
    args: { asOf: t.arg({ type: "Date", description: AS_OF_DESCRIPTION }) },
    resolve: async (segment, args, ctx) => {
      const asOf = await resolveAsOf(args.asOf, ctx);
      const rule = await resolvedFor(storedDefinition(segment, ctx), asOf, ctx, "definition");
      return segmentQuestions(ctx).size(asOf, rule);
    },
  }),
  metrics: t.field({
    type: [MetricRef],
    description:
      "The metrics of `metrics`, restricted to this segment's members (evaluated on each period's last day).",
    args: metricArgs,
    resolve: (segment, args, ctx) => computeMetrics(metricsQuery(args, storedDefinition(segment, ctx)), ctx),
  }),
}));

// ---- Preview -------------------------------------------------------------------------------------

builder.queryField("previewSegment", (t) =>
  t.field({
    type: SegmentMembershipRef,
    description:
      "What a definition would select, without saving it: size, stage breakdown and members. An invalid definition is a BAD_USER_INPUT error listing each problem with the path to its node.",
    args: {
      definition: t.arg({
        type: "JSON",
        required: true,
        description: "A segment definition (see Segment.definition).",
      }),
      asOf: t.arg({ type: "Date", description: AS_OF_DESCRIPTION }),
    },
    resolve: async (_root, args, ctx) => {
      const definition = await segmentStore(ctx).check(args.definition, undefined, "definition");
      return { definition, asOf: await resolveAsOf(args.asOf, ctx) };
    },
  }),
);

// ---- The segments of one customer ------------------------------------------------------------------

builder.objectField(CustomerRef, "segments", (t) =>
  t.prismaField({
    type: ["Segment"],
    description:
      "The saved segments (not archived) this customer belongs to on the day, by name. Evaluated in TypeScript on the customer's features (batched: one warehouse query for all customers of the request), plus RFM scores when a definition reads them.",
    resolve: async (_query, customer, _args, ctx) => {
      const compiled = await compiledSegments(ctx, customer.asOf);
      const needsRfm = compiled.some((s) => s.readsRfm);
      const rfm = needsRfm ? await ctx.lifecycle.rfm(customer.asOf).load(customer.id) : null;
      const row = segmentRow(customer.features, ctx.lifecycle.service.model, rfm);
      return compiled.filter((s) => s.predicate(row)).map((s) => s.segment);
    },
  }),
);

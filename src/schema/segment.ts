// Saved segments: reading, membership and metrics of a definition, preview, changes with versions, the
// segments of a customer and the comparison of two segments.
import { isUuid } from "../appdb/ids.ts";
import type { RequestContext } from "../context.ts";
import type { Rule } from "../lifecycle/rules.ts";
import { segmentRow } from "../lifecycle/segment-definition.ts";
import { twoProportionTest, type TwoProportionTest } from "../lifecycle/statistics.ts";
import type { StageCount } from "../services/lifecycle.ts";
import { SegmentService } from "../services/segments.ts";
import { builder } from "./builder.ts";
import { CustomerRef, customerPage } from "./customer.ts";
import { AS_OF_DESCRIPTION, resolveAsOf } from "./lifecycle-args.ts";
import { computeMetrics, metricArgs, metricsQuery, MetricRef, type MetricShape } from "./metrics.ts";
import { compiledSegments, resolvedFor, savedDefinition, segmentStore, storedDefinition } from "./segment-access.ts";
import { StageRef } from "./stage.ts";

builder.prismaObject("SegmentVersion", {
  description: "An immutable snapshot of a segment at one version.",
  fields: (t) => ({
    version: t.exposeInt("version", { description: "The version number, from 1." }),
    name: t.exposeString("name", { description: "The segment's name at this version." }),
    description: t.exposeString("description", { description: "The segment's description at this version." }),
    definition: t.expose("definition", { type: "JSON", description: "The filter tree at this version." }),
    archived: t.exposeBoolean("archived", { description: "Whether this version archived the segment." }),
    changedBy: t.exposeString("changedBy", { nullable: true, description: "Who made this version." }),
    createdAt: t.expose("createdAt", { type: "DateTime", description: "When this version was written." }),
  }),
});

builder.prismaObject("Segment", {
  description: "A saved definition of a group of customers, shared by dashboards and apps.",
  fields: (t) => ({
    id: t.exposeID("id", { description: "Stable identifier (UUID)." }),
    name: t.exposeString("name", {
      description: "Unique name among segments (1–100 characters), shown in lists and pickers.",
    }),
    description: t.exposeString("description", { description: "What the segment is for, in the analyst's words." }),
    definition: t.expose("definition", {
      type: "JSON",
      description:
        'The definition that selects members: the rule language over features, plus stage, furthestStage, rfmRecency/rfmFrequency/rfmMonetary/rfmSegment, {"daysAgo": n} dates and {"segment": id} references.',
    }),
    owner: t.exposeString("owner", { nullable: true, description: "Who created the segment (the API key's owner)." }),
    version: t.exposeInt("version", { description: "Grows by one with every change; send it back when updating." }),
    archived: t.exposeBoolean("archived", {
      description: "Archived segments are hidden from lists but kept with their history.",
    }),
    createdAt: t.expose("createdAt", { type: "DateTime", description: "When the segment was created." }),
    updatedAt: t.expose("updatedAt", { type: "DateTime", description: "When the segment last changed." }),
    versions: t.relation("versions", {
      description: "Every version, newest first.",
      query: { orderBy: { version: "desc" } },
    }),
  }),
});

const SegmentFilter = builder.inputType("SegmentFilter", {
  description: "Which saved segments to list.",
  fields: (t) => ({
    nameContains: t.string({
      description: "Only names containing this text (any case; % and _ match themselves, not any text).",
    }),
    owner: t.string({ description: "Only segments of this owner." }),
    includeArchived: t.boolean({ defaultValue: false, description: "Also list archived segments." }),
  }),
});

builder.queryFields((t) => ({
  segment: t.prismaField({
    type: "Segment",
    nullable: true,
    description: "One saved segment by id; null when there is none.",
    args: { id: t.arg.id({ required: true, description: "The segment's id." }) },
    resolve: (query, _root, { id }, ctx) =>
      isUuid(String(id)) ? ctx.prisma.segment.findUnique({ ...query, where: { id: String(id) } }) : null,
  }),
  segments: t.prismaConnection(
    {
      type: "Segment",
      cursor: "id",
      description: "Saved segments by name.",
      args: {
        filter: t.arg({ type: SegmentFilter, description: "Which segments to list (default: all not archived)." }),
      },
      resolve: (query, _root, { filter }, ctx) =>
        ctx.prisma.segment.findMany({
          ...query,
          where: listed(filter),
          orderBy: [{ name: "asc" }, { id: "asc" }],
        }),
    },
    {
      name: "SegmentConnection",
      description: "A page of saved segments.",
      fields: (t) => ({
        totalCount: t.int({
          description: "Segments matching the filter, over all pages.",
          resolve: (connection, _args, ctx) => ctx.prisma.segment.count({ where: listed(connection.args.filter) }),
        }),
      }),
    },
    { name: "SegmentEdge", description: "A saved segment and its cursor." },
  ),
}));

interface SegmentFilterShape {
  nameContains?: string | null;
  owner?: string | null;
  includeArchived?: boolean | null;
}

/**
 * Text for a Prisma `contains`, matched literally. Prisma passes it into LIKE/ILIKE as it is, where `%`
 * and `_` are wildcards and `\` (PostgreSQL's default escape) escapes: "%" alone would match every name.
 */
function likeLiteral(text: string): string {
  return text.replace(/[\\%_]/g, "\\$&");
}

/** The Prisma filter of a SegmentFilter: a name fragment (any case, literally), an owner, archived or not. */
function listed(filter: SegmentFilterShape | null | undefined) {
  return {
    ...(filter?.includeArchived ? {} : { archived: false }),
    ...(filter?.nameContains
      ? { name: { contains: likeLiteral(filter.nameContains), mode: "insensitive" as const } }
      : {}),
    ...(filter?.owner ? { owner: filter.owner } : {}),
  };
}

// ---- Members, stages and metrics of a definition (saved or previewed) -------------------------------

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
  const counts = await new SegmentService(ctx.lifecycle.service).stageCounts(d.asOf, await membersRule(d, ctx));
  const total = counts.reduce((n, c) => n + c.count, 0);
  return counts.map((c) => ({ ...c, share: total === 0 ? 0 : c.count / total, asOf: d.asOf }));
}

const SegmentMembershipRef = builder.objectRef<DefinitionOnDay>("SegmentMembership").implement({
  description: "A segment's members on one day, computed in the warehouse.",
  fields: (t) => ({
    asOf: t.field({ type: "Date", description: "The day membership is for.", resolve: (d) => d.asOf }),
    size: t.int({
      description: "How many customers match the definition on the as-of day (count).",
      resolve: async (d, _args, ctx) =>
        new SegmentService(ctx.lifecycle.service).size(d.asOf, await membersRule(d, ctx)),
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
            new SegmentService(ctx.lifecycle.service).page(d.asOf, rule, size, after),
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
    description: "Members, size and stage breakdown as of a day (the definition evaluated in the warehouse).",
    args: { asOf: t.arg({ type: "Date", description: AS_OF_DESCRIPTION }) },
    resolve: (segment, args, ctx) => ({
      definition: storedDefinition(segment, ctx),
      asOf: resolveAsOf(args.asOf, ctx),
    }),
  }),
  members: t.connection(
    {
      type: CustomerRef,
      description: "Members as of a day, ordered by id (cursors stay valid while membership does not change).",
      args: { asOf: t.arg({ type: "Date", description: AS_OF_DESCRIPTION }) },
      resolve: async (segment, args, ctx) => {
        const asOf = resolveAsOf(args.asOf, ctx);
        const rule = await resolvedFor(storedDefinition(segment, ctx), asOf, ctx, "definition");
        return customerPage(args, asOf, ctx, (size, after) =>
          new SegmentService(ctx.lifecycle.service).page(asOf, rule, size, after),
        );
      },
    },
    { name: "SegmentCustomerConnection", description: "A page of a saved segment's members." },
    { name: "SegmentCustomerEdge", description: "A member and its cursor." },
  ),
  stageBreakdown: t.field({
    type: [SegmentStageCountRef],
    description: "Every stage with the members in it as of a day, in display order.",
    args: { asOf: t.arg({ type: "Date", description: AS_OF_DESCRIPTION }) },
    resolve: (segment, args, ctx) =>
      stageBreakdownOf({ definition: storedDefinition(segment, ctx), asOf: resolveAsOf(args.asOf, ctx) }, ctx),
  }),
  size: t.int({
    description: "Members as of a day (count); membership.size without the other fields.",
    args: { asOf: t.arg({ type: "Date", description: AS_OF_DESCRIPTION }) },
    resolve: async (segment, args, ctx) => {
      const asOf = resolveAsOf(args.asOf, ctx);
      const rule = await resolvedFor(storedDefinition(segment, ctx), asOf, ctx, "definition");
      return new SegmentService(ctx.lifecycle.service).size(asOf, rule);
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
      return { definition, asOf: resolveAsOf(args.asOf, ctx) };
    },
  }),
);

// ---- Changes -------------------------------------------------------------------------------------

const CreateSegmentInput = builder.inputType("CreateSegmentInput", {
  description: "A new saved segment.",
  fields: (t) => ({
    name: t.string({ required: true, description: "Unique name (1–100 characters)." }),
    description: t.string({ description: "What the segment is for (at most 2,000 characters)." }),
    definition: t.field({ type: "JSON", required: true, description: "The definition (see Segment.definition)." }),
  }),
});

const UpdateSegmentInput = builder.inputType("UpdateSegmentInput", {
  description: "A change to a saved segment; fields left out stay as they are.",
  fields: (t) => ({
    id: t.id({ required: true, description: "The segment's id." }),
    version: t.int({
      required: true,
      description:
        "The version the change was made to; if the segment has changed since, the update is refused (CONFLICT).",
    }),
    name: t.string({ description: "New unique name (1–100 characters); omitted: unchanged." }),
    description: t.string({ description: "New description (at most 2,000 characters); omitted: unchanged." }),
    definition: t.field({
      type: "JSON",
      description: "New definition, checked like a new one (see Segment.definition); omitted: unchanged.",
    }),
  }),
});

/** The segment as written, with what the selection asks for (its versions, for instance) in one read. */
function reload<Q extends object>(query: Q, id: string, ctx: RequestContext) {
  return ctx.prisma.segment.findUniqueOrThrow({ ...query, where: { id } });
}

// Changing saved state needs an analyst (admins included).
builder.mutationType({
  description: "Changes to the app's saved state; each runs in one transaction.",
  authScopes: { analyst: true },
});

builder.mutationFields((t) => ({
  createSegment: t.prismaField({
    type: "Segment",
    description:
      "Saves a new segment at version 1. BAD_USER_INPUT lists every problem with its path; CONFLICT when the name is taken.",
    args: {
      input: t.arg({
        type: CreateSegmentInput,
        required: true,
        description: "Name, description and definition of the new segment.",
      }),
    },
    resolve: async (query, _root, { input }, ctx) => {
      const { id } = await segmentStore(ctx).create(
        { name: input.name, description: input.description ?? undefined, definition: input.definition },
        ctx.auth.principal,
      );
      return reload(query, id, ctx);
    },
  }),
  updateSegment: t.prismaField({
    type: "Segment",
    description:
      "Changes a segment made at `version`, writing version + 1 and keeping the old one in `versions`. CONFLICT when someone changed it since (no lost update) or the name is taken; NOT_FOUND for an unknown id.",
    args: {
      input: t.arg({
        type: UpdateSegmentInput,
        required: true,
        description: "The segment, the version the change was made to, and the fields to change.",
      }),
    },
    resolve: async (query, _root, { input }, ctx) => {
      const { id } = await segmentStore(ctx).update(
        {
          id: String(input.id),
          version: input.version,
          name: input.name ?? undefined,
          description: input.description ?? undefined,
          definition: input.definition ?? undefined,
        },
        ctx.auth.principal,
      );
      return reload(query, id, ctx);
    },
  }),
  archiveSegment: t.prismaField({
    type: "Segment",
    description: "Hides a segment from lists (a new version; history and references keep working).",
    args: { id: t.arg.id({ required: true, description: "The segment's id." }) },
    resolve: async (query, _root, { id }, ctx) =>
      reload(query, (await segmentStore(ctx).setArchived(String(id), true, ctx.auth.principal)).id, ctx),
  }),
  restoreSegment: t.prismaField({
    type: "Segment",
    description: "Lists an archived segment again (a new version).",
    args: { id: t.arg.id({ required: true, description: "The segment's id." }) },
    resolve: async (query, _root, { id }, ctx) =>
      reload(query, (await segmentStore(ctx).setArchived(String(id), false, ctx.auth.principal)).id, ctx),
  }),
}));

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

// ---- Comparing two segments ------------------------------------------------------------------------

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

// Saved segments: the Segment type with its versions, and reading them (one by id, a filtered list).
// Their members and metrics are in segment-membership.ts, changes in segment-mutations.ts, the
// comparison of two in segment-comparison.ts.
import { isUuid } from "../appdb/ids.ts";
import { builder } from "./builder.ts";

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

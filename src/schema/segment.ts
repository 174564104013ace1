// Saved segments, read from the app database. (Creating and editing them is the segments capability.)
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
    name: t.exposeString("name", { description: "Unique name." }),
    description: t.exposeString("description", { description: "What the segment is for, in the analyst's words." }),
    definition: t.expose("definition", { type: "JSON", description: "The filter tree that selects members." }),
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
      args: { includeArchived: t.arg.boolean({ defaultValue: false, description: "Also list archived segments." }) },
      resolve: (query, _root, { includeArchived }, ctx) =>
        ctx.prisma.segment.findMany({
          ...query,
          where: listed(includeArchived),
          orderBy: [{ name: "asc" }, { id: "asc" }],
        }),
    },
    {
      name: "SegmentConnection",
      description: "A page of saved segments.",
      fields: (t) => ({
        totalCount: t.int({
          description: "Segments matching the filter, over all pages.",
          resolve: (connection, _args, ctx) =>
            ctx.prisma.segment.count({ where: listed(connection.args.includeArchived) }),
        }),
      }),
    },
    { name: "SegmentEdge", description: "A saved segment and its cursor." },
  ),
}));

const listed = (includeArchived: boolean | null | undefined) => (includeArchived ? {} : { archived: false });

function isUuid(value: string): boolean {
  return /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i.test(value);
}

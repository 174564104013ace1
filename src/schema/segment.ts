// Saved segments, read from the app database. (Creating and editing them is the segments capability.)
import { builder } from "./builder.ts";

builder.prismaObject("SegmentVersion", {
  description: "An immutable snapshot of a segment at one version.",
  fields: (t) => ({
    version: t.exposeInt("version", { description: "The version number, from 1." }),
    name: t.exposeString("name"),
    description: t.exposeString("description"),
    definition: t.expose("definition", { type: "JSON", description: "The filter tree at this version." }),
    archived: t.exposeBoolean("archived"),
    changedBy: t.exposeString("changedBy", { nullable: true, description: "Who made this version." }),
    createdAt: t.expose("createdAt", { type: "DateTime", description: "When this version was written." }),
  }),
});

builder.prismaObject("Segment", {
  description: "A saved definition of a group of customers, shared by dashboards and apps.",
  fields: (t) => ({
    id: t.exposeID("id"),
    name: t.exposeString("name", { description: "Unique name." }),
    description: t.exposeString("description"),
    definition: t.expose("definition", { type: "JSON", description: "The filter tree that selects members." }),
    owner: t.exposeString("owner", { nullable: true }),
    version: t.exposeInt("version", { description: "Grows by one with every change; send it back when updating." }),
    archived: t.exposeBoolean("archived"),
    createdAt: t.expose("createdAt", { type: "DateTime" }),
    updatedAt: t.expose("updatedAt", { type: "DateTime" }),
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
    args: { id: t.arg.id({ required: true }) },
    resolve: (query, _root, { id }, ctx) =>
      isUuid(String(id)) ? ctx.prisma.segment.findUnique({ ...query, where: { id: String(id) } }) : null,
  }),
  segments: t.prismaConnection(
    {
      type: "Segment",
      cursor: "id",
      totalCount: (_root, { includeArchived }, ctx) => ctx.prisma.segment.count({ where: listed(includeArchived) }),
      description: "Saved segments by name.",
      args: { includeArchived: t.arg.boolean({ defaultValue: false, description: "Also list archived segments." }) },
      resolve: (query, _root, { includeArchived }, ctx) =>
        ctx.prisma.segment.findMany({
          ...query,
          where: listed(includeArchived),
          orderBy: [{ name: "asc" }, { id: "asc" }],
        }),
    },
    { name: "SegmentConnection" },
    { name: "SegmentEdge" },
  ),
}));

const listed = (includeArchived: boolean | null | undefined) => (includeArchived ? {} : { archived: false });

function isUuid(value: string): boolean {
  return /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i.test(value);
}

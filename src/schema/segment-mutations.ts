// Changes to saved segments: create, update (naming the version it was made to), archive and restore,
// each a new version.
import type { RequestContext } from "./context.ts";
import { builder } from "./builder.ts";
import { segmentStore } from "./segment-access.ts";

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

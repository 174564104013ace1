// Lifecycle stages: the model's stages with their distribution as of a day, and moves between days.
import type { Stage } from "../lifecycle/stage-model.ts";
import type { StageTransition } from "../services/lifecycle.ts";
import { builder } from "./builder.ts";
import { CustomerRef } from "./customer.ts";
import { AS_OF_DESCRIPTION, resolveAsOf } from "./lifecycle-args.ts";
import { decodeCursor, encodeCursor, pageSize, refuseBackwardPaging, toPage } from "./paging.ts";

/** A stage as seen on one day (its count and members depend on it). */
export interface StageShape {
  readonly stage: Stage;
  readonly asOf: string;
}

const StageKind = builder.enumType("StageKind", {
  description: "Whether a stage is a step forward in the relationship or a lapse to win back from.",
  values: {
    PROGRESS: {
      value: "progress",
      description: "A step forward: prospect, new, developing, retained, loyal, advocate.",
    },
    LAPSE: { value: "lapse", description: "A lapse state for win-back: at risk, churned." },
  } as const,
});

export const StageRef = builder.objectRef<StageShape>("Stage");

StageRef.implement({
  description: "A lifecycle stage of the stage model, with its customers as of a day.",
  fields: (t) => ({
    key: t.string({ description: "Stable identifier, e.g. loyal.", resolve: (s) => s.stage.key }),
    name: t.string({ description: "Display name.", resolve: (s) => s.stage.name }),
    description: t.string({ description: "Who is in this stage, in words.", resolve: (s) => s.stage.description }),
    order: t.int({ description: "Position in the lifecycle, for display (1 = first).", resolve: (s) => s.stage.order }),
    kind: t.field({ type: StageKind, description: "Progress or lapse.", resolve: (s) => s.stage.kind }),
    recommendedActions: t.stringList({
      description: "What marketing does for customers in this stage.",
      resolve: (s) => [...s.stage.recommendedActions],
    }),
    asOf: t.field({ type: "Date", description: "The day the count and members are for.", resolve: (s) => s.asOf }),
    count: t.int({
      description: "Customers in this stage as of the day (count), computed in the warehouse.",
      resolve: async (s, _args, ctx) =>
        (await ctx.lifecycle.stageCounts(s.asOf)).find((c) => c.stage.key === s.stage.key)!.count,
    }),
    share: t.float({
      description: "count / all known customers as of the day (ratio 0–1); 0 when there are none.",
      resolve: async (s, _args, ctx) => {
        const counts = await ctx.lifecycle.stageCounts(s.asOf);
        const total = counts.reduce((sum, c) => sum + c.count, 0);
        return total === 0 ? 0 : counts.find((c) => c.stage.key === s.stage.key)!.count / total;
      },
    }),
    customers: t.connection(
      {
        type: CustomerRef,
        description: "The stage's customers as of the day, ordered by id.",
        resolve: async (s, args, ctx) => {
          refuseBackwardPaging(args);
          const size = pageSize(args);
          const after = decodeCursor("customer", args.after);
          const members = await ctx.lifecycle.service.stageMembers(s.asOf, s.stage.key, size + 1, after);
          const loader = ctx.lifecycle.features(s.asOf);
          for (const features of members) loader.prime(features.customerId, features);
          const nodes = members.map((features) => ({ id: features.customerId, asOf: s.asOf, features }));
          return toPage(nodes, size, (n) => encodeCursor("customer", n.id), after !== undefined);
        },
      },
      { name: "StageCustomerConnection", description: "A page of a stage's customers." },
      { name: "StageCustomerEdge", description: "A customer of the stage and its cursor." },
    ),
  }),
});

const StageTransitionRef = builder
  .objectRef<StageTransition & { fromDay: string; toDay: string }>("StageTransition")
  .implement({
    description: "Customers who were in one stage on the first day and in another (or the same) on the second.",
    fields: (t) => ({
      from: t.field({
        type: StageRef,
        nullable: true,
        description: "Stage on the first day; null for customers not yet known then (newly acquired).",
        resolve: (x) => (x.from ? { stage: x.from, asOf: x.fromDay } : null),
      }),
      to: t.field({
        type: StageRef,
        description: "Stage on the second day.",
        resolve: (x) => ({ stage: x.to, asOf: x.toDay }),
      }),
      count: t.int({ description: "Customers who made this move (count).", resolve: (x) => x.count }),
    }),
  });

builder.queryFields((t) => ({
  stages: t.field({
    type: [StageRef],
    description: "Every stage of the model in display order, with its distribution as of a day.",
    args: { asOf: t.arg({ type: "Date", description: AS_OF_DESCRIPTION }) },
    resolve: (_root, args, ctx) => {
      const asOf = resolveAsOf(args.asOf, ctx);
      return ctx.lifecycle.service.model.stages.map((stage) => ({ stage, asOf }));
    },
  }),
  stageTransitions: t.field({
    type: [StageTransitionRef],
    description:
      "How many customers moved from each stage on `from` to each stage on `to` (customers known on `to`), computed in the warehouse.",
    args: {
      from: t.arg({ type: "Date", required: true, description: "The first day." }),
      to: t.arg({ type: "Date", required: true, description: "The second day (after the first)." }),
    },
    resolve: async (_root, args, ctx) => {
      const transitions = await ctx.lifecycle.service.transitions(args.from, args.to);
      return transitions.map((x) => ({ ...x, fromDay: args.from, toDay: args.to }));
    },
  }),
}));

// Lifecycle stages: the model's stages with their distribution as of a day, and moves between days.
import { daysBetween, seriesPoints } from "../lifecycle/calendar.ts";
import type { CustomerFeatures } from "../lifecycle/features.ts";
import {
  isFeatureRanking,
  predictionRankingUnavailable,
  MAX_TIMING_SNAPSHOTS,
  type RankedList,
  type StageCount,
  type StageTransition,
  type StageTiming as StageTimingResult,
} from "../services/lifecycle/stages.ts";
import { InvalidInputError } from "../errors.ts";
import { segmentQuestions, segmentRuleOn } from "./segment-access.ts";
import type { RequestContext as Context } from "./context.ts";

type StageTiming = StageTimingResult & { readonly asOf: string };
import { builder } from "./builder.ts";
import { customerPage } from "./customer.ts";
import { encodeCursor, forwardPage, toPage } from "./paging.ts";
import { AS_OF_DESCRIPTION, resolveAsOf } from "./lifecycle-args.ts";
import { SeriesIntervalEnum } from "./period.ts";
import { MAX_SERIES_POINTS } from "./page-size.ts";
import { CustomerRef, StageRef } from "./refs.ts";

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

StageRef.implement({
  description: "A lifecycle stage of the stage model, with its customers as of a day.",
  fields: (t) => ({
    key: t.string({ description: "Stable identifier, e.g. loyal.", resolve: (s) => s.stage.key }),
    name: t.string({ description: "Display name of the stage, from the stage model.", resolve: (s) => s.stage.name }),
    description: t.string({ description: "Who is in this stage, in words.", resolve: (s) => s.stage.description }),
    order: t.int({ description: "Position in the lifecycle, for display (1 = first).", resolve: (s) => s.stage.order }),
    kind: t.field({
      type: StageKind,
      description: "PROGRESS (a step forward in the lifecycle) or LAPSE (at risk, churned: a step back).",
      resolve: (s) => s.stage.kind,
    }),
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
        resolve: (s, args, ctx) =>
          customerPage(args, s.asOf, ctx, (size, after) =>
            ctx.lifecycle.service.stageMembers(s.asOf, s.stage.key, size, after),
          ),
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

const StageTimingRef = builder.objectRef<StageTiming>("StageTiming").implement({
  description:
    "How long customers took to reach a stage. Stages are evaluated on snapshot days (from, then every stepDays up to to); a customer enters a stage on the first snapshot where they are in it after being elsewhere or unknown on the previous one, so entry days are exact to within stepDays.",
  fields: (t) => ({
    stage: t.field({
      type: StageRef,
      description: "The stage entered.",
      resolve: (x) => ({ stage: x.stage, asOf: x.asOf }),
    }),
    entries: t.int({ description: "Entries into the stage seen in the period (count).", resolve: (x) => x.entries }),
    meanDaysFromFirstSeen: t.float({
      nullable: true,
      description: "Mean days from firstSeenDate to the entry. Unit: days. Null without entries.",
      resolve: (x) => x.meanDaysFromFirstSeen,
    }),
    medianDaysFromFirstSeen: t.float({
      nullable: true,
      description: "Median days from firstSeenDate to the entry. Unit: days. Null without entries.",
      resolve: (x) => x.medianDaysFromFirstSeen,
    }),
    meanDaysFromFirstPurchase: t.float({
      nullable: true,
      description:
        "Mean days from firstPurchaseDate to the entry, over entries by customers who had bought. Unit: days.",
      resolve: (x) => x.meanDaysFromFirstPurchase,
    }),
    medianDaysFromFirstPurchase: t.float({
      nullable: true,
      description:
        "Median days from firstPurchaseDate to the entry, over entries by customers who had bought. Unit: days.",
      resolve: (x) => x.medianDaysFromFirstPurchase,
    }),
  }),
});

interface StageSeriesPoint {
  readonly start: string;
  readonly day: string;
  readonly counts: readonly StageCount[];
}

const StageSeriesCountRef = builder
  .objectRef<StageCount & { readonly day: string; readonly total: number }>("StageSeriesCount")
  .implement({
    description: "Customers in one stage at the end of a series point's day.",
    fields: (t) => ({
      stage: t.field({
        type: StageRef,
        description: "The stage (its own count and members are for the point's day).",
        resolve: (c) => ({ stage: c.stage, asOf: c.day }),
      }),
      count: t.exposeInt("count", { description: "Customers in the stage at the end of the day (count)." }),
      share: t.float({
        description: "count / all customers known that day (ratio 0–1); 0 when there are none.",
        resolve: (c) => (c.total === 0 ? 0 : c.count / c.total),
      }),
    }),
  });

const StageSeriesPointRef = builder.objectRef<StageSeriesPoint>("StageSeriesPoint").implement({
  description: "One period of a stage series: customers per stage at the end of its last day.",
  fields: (t) => ({
    start: t.field({ type: "Date", description: "The period's first day within the series.", resolve: (p) => p.start }),
    day: t.field({
      type: "Date",
      description: "The day the counts are for: the period's last day, or the series' `to` for a period still running.",
      resolve: (p) => p.day,
    }),
    total: t.int({
      description: "Customers known at the end of the day (count).",
      resolve: (p) => p.counts.reduce((n, c) => n + c.count, 0),
    }),
    stages: t.field({
      type: [StageSeriesCountRef],
      description: "Every stage in display order with its count and share.",
      resolve: (p) => {
        const total = p.counts.reduce((n, c) => n + c.count, 0);
        return p.counts.map((c) => ({ ...c, day: p.day, total }));
      },
    }),
  }),
});

const RankFieldEnum = builder.enumType("CustomerRankField", {
  description: "What a ranked list of customers is ordered by.",
  values: {
    REVENUE: { value: "revenue", description: "Revenue to date (currency of the amounts)." },
    PURCHASE_DAYS: { value: "purchaseDays", description: "Distinct days with a purchase." },
    ORDER_COUNT: { value: "orderCount", description: "Orders to date." },
    RECENCY_DAYS: { value: "recencyDays", description: "Days since the last purchase." },
    TENURE_DAYS: { value: "tenureDays", description: "Days since first seen." },
    PREDICTED_CLV: {
      value: "predictedClv",
      description: "Predicted lifetime value (Customer.prediction's defaults); from the state store only.",
    },
    PROBABILITY_ALIVE: {
      value: "probabilityAlive",
      description: "P(still active) of the state's lifetime-value fit; from the state store only.",
    },
  } as const,
});

/** A page of a ranked list: from the state store when it serves the day, else from the warehouse. */
async function rankedRows(
  ctx: Context,
  asOf: string,
  stage: string,
  rank: RankedList,
  segmentId: string | number | null | undefined,
  offset: number,
  limit: number,
): Promise<CustomerFeatures[]> {
  if (segmentId) {
    const rule = await segmentRuleOn(String(segmentId), asOf, ctx);
    return segmentQuestions(ctx).ranked(asOf, rule, stage, rank, offset, limit);
  }
  const stored = await ctx.lifecycle.state?.rankedMembers(asOf, stage, rank, offset, limit);
  if (stored) return stored;
  // Predictions of every customer exist only where a refresh wrote them.
  if (!isFeatureRanking(rank)) throw predictionRankingUnavailable(rank, asOf);
  return ctx.lifecycle.service.rankedMembers(asOf, stage, rank, offset, limit);
}

builder.queryFields((t) => ({
  stageSeries: t.field({
    type: [StageSeriesPointRef],
    description:
      "Customers per stage over time: one point per day, week, month or quarter from `from` to `to`, each counted at the end of its last day. From the state store's day counts in one query when it serves `to`; else each point is counted in the warehouse (at most 60 points then).",
    args: {
      from: t.arg({ type: "Date", required: true, description: "The first day of the series." }),
      to: t.arg({ type: "Date", required: true, description: "The last day of the series (on or after from)." }),
      interval: t.arg({
        type: SeriesIntervalEnum,
        defaultValue: "month",
        description: "The periods to count by (default MONTH).",
      }),
    },
    resolve: async (_root, args, ctx) => {
      if (args.to < args.from) throw new InvalidInputError("to must not be before from", { argument: "to" });
      const points = seriesPoints(args.from, args.to, args.interval ?? "month");
      if (points.length > MAX_SERIES_POINTS)
        throw new InvalidInputError(`the series has ${points.length} points; at most ${MAX_SERIES_POINTS}`, {
          argument: "interval",
        });
      const stored = await ctx.lifecycle.state?.stageSeries(points.map((p) => p.day));
      if (stored) return points.map((p) => ({ ...p, counts: stored.get(p.day)! }));
      if (points.length > MAX_TIMING_SNAPSHOTS)
        throw new InvalidInputError(
          `the series has ${points.length} points; without the state store at most ${MAX_TIMING_SNAPSHOTS} (each is counted in the warehouse): use a longer interval or run clm refresh`,
          { argument: "interval" },
        );
      const counts = [];
      for (const p of points) counts.push({ ...p, counts: await ctx.lifecycle.stageCounts(p.day) });
      return counts;
    },
  }),
  rankedCustomers: t.connection(
    {
      type: CustomerRef,
      description:
        "The customers of a stage ranked by a feature (ties by id), e.g. at-risk customers by revenue: the list to act on first. From the state store's stored columns on its day, else computed in the warehouse. Customers without the feature (prospects have no recency) come last.",
      args: {
        stage: t.arg.string({ required: true, description: "The stage's key, e.g. at_risk." }),
        orderBy: t.arg({
          type: RankFieldEnum,
          defaultValue: "revenue",
          description: "The feature to rank by (default REVENUE).",
        }),
        descending: t.arg.boolean({
          defaultValue: true,
          description: "Largest first (default); false: smallest first.",
        }),
        segmentId: t.arg.id({
          description:
            "Only members of this saved segment (its definition evaluated on the day: in the state store on its state day, else in the warehouse).",
        }),
        asOf: t.arg({ type: "Date", description: AS_OF_DESCRIPTION }),
      },
      resolve: async (_root, args, ctx) => {
        if (ctx.lifecycle.service.model.indexOf(args.stage) === undefined)
          throw new InvalidInputError(`unknown stage ${JSON.stringify(args.stage)}`, { argument: "stage" });
        const asOf = await resolveAsOf(args.asOf, ctx);
        const { size, after } = forwardPage(args, "rank");
        const offset = Number(after ?? 0);
        if (!Number.isSafeInteger(offset) || offset < 0)
          throw new InvalidInputError("after is not a cursor of this connection", { argument: "after" });
        const rank: RankedList = { field: args.orderBy ?? "revenue", descending: args.descending ?? true };
        const rows = await rankedRows(ctx, asOf, args.stage, rank, args.segmentId, offset, size + 1);
        const loader = ctx.lifecycle.features(asOf);
        for (const features of rows) loader.prime(features.customerId, features);
        const nodes = rows.map((features) => ({ id: features.customerId, asOf, features }));
        return toPage(nodes, size, (_n, i) => encodeCursor("rank", String(offset + i + 1)), offset > 0);
      },
    },
    { name: "RankedCustomerConnection", description: "A page of a ranked list of customers." },
    { name: "RankedCustomerEdge", description: "A ranked customer and its cursor (its rank)." },
  ),
  stages: t.field({
    type: [StageRef],
    description: "Every stage of the model in display order, with its distribution as of a day.",
    args: { asOf: t.arg({ type: "Date", description: AS_OF_DESCRIPTION }) },
    resolve: async (_root, args, ctx) => {
      const asOf = await resolveAsOf(args.asOf, ctx);
      return ctx.lifecycle.service.model.stages.map((stage) => ({ stage, asOf }));
    },
  }),
  stageTimings: t.field({
    type: [StageTimingRef],
    description:
      "For each stage, the mean and median days customers took to reach it, for entries in a period. From the state store's history when it serves `to`: every entry, on its exact day (stepDays does not apply); else computed in the warehouse on snapshot days every stepDays.",
    args: {
      from: t.arg({ type: "Date", required: true, description: "First snapshot day (entries are counted after it)." }),
      to: t.arg({ type: "Date", required: true, description: "Last day of the period." }),
      stepDays: t.arg.int({
        defaultValue: 7,
        description:
          "Days between snapshots (1–365): the precision of entry days when computed in the warehouse. Entries from the state store are exact.",
      }),
    },
    resolve: async (_root, args, ctx) => {
      const step = args.stepDays ?? 7;
      if (!(step >= 1 && step <= 365))
        throw new InvalidInputError("stepDays must be between 1 and 365", { argument: "stepDays" });
      if (args.to <= args.from) throw new InvalidInputError("to must be after from", { argument: "to" });
      const exact = await ctx.lifecycle.state?.stageTimings(args.from, args.to);
      if (exact) return exact.map((x) => ({ ...x, asOf: args.to }));
      const snapshots = Math.floor(daysBetween(args.from, args.to) / step) + 1;
      if (snapshots > MAX_TIMING_SNAPSHOTS) {
        throw new InvalidInputError(
          `the period holds ${snapshots} snapshots of ${step} days; at most ${MAX_TIMING_SNAPSHOTS}: use a larger stepDays`,
          { argument: "stepDays" },
        );
      }
      const timings = await ctx.lifecycle.service.stageTimings(args.from, args.to, step);
      return timings.map((x) => ({ ...x, asOf: args.to }));
    },
  }),
  stageTransitions: t.field({
    type: [StageTransitionRef],
    description:
      "How many customers moved from each stage on `from` to each stage on `to` (customers known on `to`, or a saved segment's members on `to`). From the state store's history when it serves `to` (without a segment), else computed in the warehouse.",
    args: {
      from: t.arg({
        type: "Date",
        required: true,
        description: "The earlier day: stages are compared at the end of this day and of `to`.",
      }),
      to: t.arg({ type: "Date", required: true, description: "The second day (after the first)." }),
      segmentId: t.arg.id({
        description:
          "Only customers who are members of this saved segment on `to` (its definition evaluated on `to`); their stage on `from` is read as for everyone.",
      }),
    },
    resolve: async (_root, args, ctx) => {
      if (args.to <= args.from) throw new InvalidInputError("to must be after from", { argument: "to" });
      const service = ctx.lifecycle.service;
      const members = args.segmentId
        ? ctx.services.segments.members(args.to, await segmentRuleOn(String(args.segmentId), args.to, ctx), "read")
        : undefined;
      const stored = members ? undefined : await ctx.lifecycle.state?.transitions(args.from, args.to);
      const transitions = stored ?? (await service.transitions(args.from, args.to, members));
      return transitions.map((x) => ({ ...x, fromDay: args.from, toDay: args.to }));
    },
  }),
}));

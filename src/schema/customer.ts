// A customer as of a day: features, current and furthest stage, transactions. Lookups of one request
// are batched into one warehouse query per day.
import { eventFeatureField, FEATURES, type CustomerFeatures, type EventMeasure } from "../lifecycle/features.ts";
import type { Transaction } from "../services/lifecycle/transactions.ts";
import type { StageSpellView } from "../services/lifecycle/stages.ts";
import type { RequestContext } from "./context.ts";
import { builder } from "./builder.ts";
import { InvalidInputError } from "../errors.ts";
import { AS_OF_DESCRIPTION, resolveAsOf } from "./lifecycle-args.ts";
import { encodeCursor, forwardPage, toPage } from "./paging.ts";
import { CustomerRef, StageRef } from "./refs.ts";

/** The most ids one `customers` request may ask for. */
export const MAX_CUSTOMER_IDS = 5_000;

const UNIT_TEXT = { days: "Unit: days.", count: "Unit: count.", currency: "Unit: currency of the amounts." } as const;

/** One configured event type's features of a customer (the rule language reads them as events.<type>.<measure>). */
interface EventActivity {
  readonly type: string;
  readonly features: CustomerFeatures;
}

const EventActivityRef = builder.objectRef<EventActivity>("EventActivity").implement({
  description:
    "A customer's events of one type named in CLM_CONFIG's events.types, as of the day. Stage rules and segment definitions read these as events.<type>.count, events.<type>.firstDate, …",
  fields: (t) => {
    const read = (a: EventActivity, measure: EventMeasure) => a.features[eventFeatureField(a.type, measure)] ?? null;
    return {
      type: t.string({ description: "The event type's name in events.types.", resolve: (a) => a.type }),
      count: t.int({
        nullable: true,
        description: "Events of this type up to the as-of day; 0 without any, null without the events table.",
        resolve: (a) => read(a, "count") as number | null,
      }),
      firstDate: t.field({
        type: "Date",
        nullable: true,
        description: "Day of the first event of this type.",
        resolve: (a) => read(a, "firstDate") as string | null,
      }),
      lastDate: t.field({
        type: "Date",
        nullable: true,
        description: "Day of the latest event of this type.",
        resolve: (a) => read(a, "lastDate") as string | null,
      }),
      daysSinceFirst: t.int({
        nullable: true,
        description: "Whole days from the first event of this type to the as-of day.",
        resolve: (a) => read(a, "daysSinceFirst") as number | null,
      }),
      daysSinceLast: t.int({
        nullable: true,
        description: "Whole days from the latest event of this type to the as-of day.",
        resolve: (a) => read(a, "daysSinceLast") as number | null,
      }),
    };
  },
});

const CustomerFeaturesRef = builder.objectRef<CustomerFeatures>("CustomerFeatures").implement({
  description:
    "What the lifecycle is computed from, as of a day; computed in the warehouse from the inputs known by then.",
  fields: (t) => ({
    events: t.field({
      type: [EventActivityRef],
      description:
        "Events by type, for each type CLM_CONFIG's events.types names (in that order); empty when none are configured.",
      args: {
        types: t.arg.stringList({ required: false, description: "Only these event types (names in events.types)." }),
      },
      resolve: (features, args, ctx) => {
        const configured = ctx.services.lifecycle.eventTypes.map((e) => e.key);
        const unknown = args.types?.filter((type) => !configured.includes(type)) ?? [];
        if (unknown.length > 0)
          throw new InvalidInputError(`event types not in CLM_CONFIG's events.types: ${unknown.join(", ")}`);
        return configured
          .filter((type) => !args.types || args.types.includes(type))
          .map((type) => ({ type, features }));
      },
    }),
    ...Object.fromEntries(
      FEATURES.map((f) => {
        const description = [
          f.description,
          "unit" in f ? UNIT_TEXT[f.unit] : "",
          "requires" in f ? `Null without the ${f.requires} table.` : "",
        ]
          .filter(Boolean)
          .join(" ");
        const resolve = (features: CustomerFeatures) => features[f.field] as never;
        if (f.type === "date") return [f.field, t.field({ type: "Date", nullable: true, description, resolve })];
        if (f.type === "string") return [f.field, t.string({ nullable: true, description, resolve })];
        const nullable = !["purchaseDays", "orderCount", "revenue"].includes(f.field);
        return [
          f.field,
          "whole" in f ? t.int({ nullable, description, resolve }) : t.float({ nullable, description, resolve }),
        ];
      }),
    ),
  }),
});

const TransactionRef = builder.objectRef<Transaction>("Transaction").implement({
  description: "One row of the transactions table.",
  fields: (t) => ({
    occurredAt: t.field({
      type: "DateTime",
      description: "When the purchase happened (timestamp, UTC).",
      resolve: (x) => x.occurredAt,
    }),
    amount: t.float({ description: "Amount (currency of the amounts).", resolve: (x) => x.amount }),
    orderId: t.string({
      nullable: true,
      description: "The order it belongs to, when known.",
      resolve: (x) => x.orderId,
    }),
    channel: t.string({ nullable: true, description: "Sales channel, when known.", resolve: (x) => x.channel }),
  }),
});

const StageSpellRef = builder.objectRef<StageSpellView>("StageSpell").implement({
  description: "A stretch of days a customer spent in one stage (and one furthest stage).",
  fields: (t) => ({
    stage: t.field({
      type: StageRef,
      description: "The stage on those days.",
      resolve: (s) => ({ stage: s.stage, asOf: s.from }),
    }),
    furthestStage: t.field({
      type: StageRef,
      description: "The furthest stage reached on those days.",
      resolve: (s) => ({ stage: s.furthest, asOf: s.from }),
    }),
    from: t.field({ type: "Date", description: "The first day of the stretch.", resolve: (s) => s.from }),
    to: t.field({
      type: "Date",
      nullable: true,
      description: "The first day after it (the next stretch's first day); null while it lasts on the as-of day.",
      resolve: (s) => s.to,
    }),
    enteredStage: t.field({
      type: "Date",
      description: "The day the customer entered this stage (earlier than from when only the furthest stage changed).",
      resolve: (s) => s.enteredStage,
    }),
  }),
});

CustomerRef.implement({
  description: "A person known to the business (a buyer or a prospect), as of a day.",
  fields: (t) => ({
    id: t.exposeID("id", { description: "customer_id in the warehouse." }),
    asOf: t.field({ type: "Date", description: "The day this view of the customer is for.", resolve: (c) => c.asOf }),
    features: t.field({
      type: CustomerFeaturesRef,
      description: "Features as of the day.",
      resolve: (c) => c.features,
    }),
    stage: t.field({
      type: StageRef,
      description: "Current stage: the first rule of the stage model, in evaluation order, that matches.",
      resolve: (c, _args, ctx) => ({ stage: ctx.lifecycle.service.model.classify(c.features), asOf: c.asOf }),
    }),
    furthestStage: t.field({
      type: StageRef,
      description:
        "The furthest stage of the lifecycle reached: the stage the rules give when lapse stages (at risk, churned) are skipped.",
      resolve: (c, _args, ctx) => ({ stage: ctx.lifecycle.service.model.furthest(c.features), asOf: c.asOf }),
    }),
    stageHistory: t.field({
      type: [StageSpellRef],
      description:
        "Every stage the customer was in up to the day, oldest first, exact to the day: from the state store's history when it serves the day, else worked out from their activity in the warehouse (batched: one query per request).",
      resolve: (c, _args, ctx) => ctx.lifecycle.stageHistory(c.asOf).load(c.id),
    }),
    transactions: t.connection(
      {
        type: TransactionRef,
        description: "Transactions known as of the day, oldest first.",
        resolve: async (c, args, ctx) => {
          const { size, after } = forwardPage(args, "tx");
          const offset = Number(after ?? 0);
          if (!Number.isSafeInteger(offset) || offset < 0)
            throw new InvalidInputError("after is not a cursor of this connection");
          const rows = await ctx.lifecycle.transactions(c.asOf, offset, size + 1).load(c.id);
          return toPage(rows, size, (_row, i) => encodeCursor("tx", String(offset + i + 1)), offset > 0);
        },
      },
      { name: "TransactionConnection", description: "A page of a customer's transactions." },
      { name: "TransactionEdge", description: "A transaction and its cursor." },
    ),
  }),
});

builder.queryFields((t) => ({
  customer: t.field({
    type: CustomerRef,
    nullable: true,
    description: "One customer as of a day; null when the id is not known by then.",
    args: {
      id: t.arg.id({ required: true, description: "customer_id in the warehouse." }),
      asOf: t.arg({ type: "Date", description: AS_OF_DESCRIPTION }),
    },
    resolve: async (_root, args, ctx) => {
      const asOf = await resolveAsOf(args.asOf, ctx);
      const features = await ctx.lifecycle.features(asOf).load(String(args.id));
      return features ? { id: features.customerId, asOf, features } : null;
    },
  }),
  customers: t.field({
    type: [CustomerRef],
    nullable: { list: false, items: true },
    description: `Several customers as of a day, in the order asked (at most ${MAX_CUSTOMER_IDS}); null for ids not known by then. One warehouse query.`,
    args: {
      ids: t.arg.idList({ required: true, description: "customer_ids in the warehouse." }),
      asOf: t.arg({ type: "Date", description: AS_OF_DESCRIPTION }),
    },
    resolve: async (_root, args, ctx) => {
      if (args.ids.length > MAX_CUSTOMER_IDS) {
        throw new InvalidInputError(`ids may hold at most ${MAX_CUSTOMER_IDS} customers, got ${args.ids.length}`, {
          argument: "ids",
        });
      }
      const asOf = await resolveAsOf(args.asOf, ctx);
      const found = await ctx.lifecycle.features(asOf).loadMany(args.ids.map(String));
      return found.map((features) => {
        if (features instanceof Error) throw features;
        return features ? { id: features.customerId, asOf, features } : null;
      });
    },
  }),
}));

/**
 * A connection page of customers fetched by id order (size + 1 rows ask whether more follow); their
 * features prime the request's loader, so fields under them need no further warehouse query.
 */
export async function customerPage(
  args: { first?: number | null; after?: string | null },
  asOf: string,
  ctx: RequestContext,
  fetch: (size: number, afterId: string | undefined) => Promise<CustomerFeatures[]>,
) {
  const { size, after } = forwardPage(args, "customer");
  const rows = await fetch(size + 1, after);
  const loader = ctx.lifecycle.features(asOf);
  for (const features of rows) loader.prime(features.customerId, features);
  const nodes = rows.map((features) => ({ id: features.customerId, asOf, features }));
  return toPage(nodes, size, (n) => encodeCursor("customer", n.id), after !== undefined);
}

// Lifecycle events and webhooks: the outbox the state refreshes write, read page by page (viewers), and
// the webhook endpoints it is delivered to (admins: create with the secret shown once, list, disable,
// enable, rotate the secret, replay from a time, delete, and the delivery log).
import { isUuid } from "../appdb/ids.ts";
import { InvalidInputError, NotFoundError } from "../errors.ts";
import type { RequestContext } from "./context.ts";
import { isPosition, type LifecycleEvent, type LifecycleEventType } from "../services/events/outbox.ts";
import type { WebhookAttempt, WebhookEndpoint } from "../services/events/webhooks.ts";
import { ADMIN_ONLY, builder } from "./builder.ts";
import { PAGE_SIZE } from "./page-size.ts";

const ADMIN_NOTE = "Admins only (others get FORBIDDEN).";

const LifecycleEventTypeRef = builder.enumType("LifecycleEventType", {
  description: "What happened to a customer.",
  values: {
    STAGE_CHANGED: {
      value: "stage.changed" satisfies LifecycleEventType,
      description: "The customer's stage changed (or they became known, fromStage null) on `day`.",
    },
    SEGMENT_ENTERED: {
      value: "segment.entered" satisfies LifecycleEventType,
      description: "The customer became a member of a tracked segment on the state day `day`.",
    },
    SEGMENT_LEFT: {
      value: "segment.left" satisfies LifecycleEventType,
      description: "The customer stopped being a member of a tracked segment on the state day `day`.",
    },
  } as const,
});

const LifecycleEventRef = builder.objectRef<LifecycleEvent>("LifecycleEvent").implement({
  description:
    "A change a state refresh found, written in the transaction that published it. Events are facts as the state showed them: a later refresh that places a change differently (a late row) adds an event, it does not take one back.",
  fields: (t) => ({
    id: t.exposeString("id", {
      description:
        "Stable across refreshes and deliveries (the same change found again keeps it): what receivers deduplicate by.",
    }),
    position: t.string({
      description: "Order of the feed: pass the last one seen as `after` to read on.",
      resolve: (e) => e.position.toString(),
    }),
    type: t.field({
      type: LifecycleEventTypeRef,
      description: "What happened to the customer.",
      resolve: (e) => e.type,
    }),
    customerId: t.exposeID("customerId", { description: "The customer it happened to." }),
    day: t.field({ type: "Date", description: "The first day in the new stage.", resolve: (e) => e.day }),
    fromStage: t.exposeString("fromStage", {
      nullable: true,
      description: "The stage key before; null when the customer was not known the day before.",
    }),
    toStage: t.exposeString("toStage", {
      nullable: true,
      description: "The stage key from `day` on (stage changes; null for segment events).",
    }),
    segmentId: t.exposeID("segmentId", {
      nullable: true,
      description: "The tracked segment entered or left (segment events); null for stage changes.",
    }),
    generation: t.exposeInt("generation", { description: "The state refresh that found it." }),
    createdAt: t.expose("createdAt", { type: "DateTime", description: "When it was written (the refresh's commit)." }),
  }),
});

const LifecycleEventPageRef = builder
  .objectRef<{ events: LifecycleEvent[]; endPosition: string | null; hasMore: boolean }>("LifecycleEventPage")
  .implement({
    description: "Events in feed order.",
    fields: (t) => ({
      events: t.field({ type: [LifecycleEventRef], description: "The events of this page.", resolve: (p) => p.events }),
      endPosition: t.exposeString("endPosition", {
        nullable: true,
        description: "The last event's position (pass as `after` for the next page); null on an empty page.",
      }),
      hasMore: t.exposeBoolean("hasMore", { description: "Whether events after this page exist already." }),
    }),
  });

/** A position argument: digits (an event's `position`). */
function positionArg(value: string | null | undefined, argument: string): bigint {
  if (value === null || value === undefined) return 0n;
  if (!isPosition(value))
    throw new InvalidInputError(`${argument} must be an event position (digits, at most 2^63 - 1)`, { argument });
  return BigInt(value);
}

/** Where a subscription starts: after an event given by position or id; undefined: from now on. */
async function resumeAfter(value: string | null | undefined, ctx: RequestContext): Promise<bigint | undefined> {
  if (value === null || value === undefined) return undefined;
  const position = await ctx.services.events.positionOf(value);
  if (position === null)
    throw new NotFoundError(`no event ${JSON.stringify(value)} (give an event's id or position)`, {
      argument: "after",
    });
  return position;
}

/** A segment id argument: a UUID, or no segment event can carry it. */
function segmentIdArg(value: string | number | null | undefined): string | undefined {
  if (value === null || value === undefined) return undefined;
  const id = String(value);
  if (!isUuid(id)) throw new InvalidInputError("segmentId must be a segment's id (a UUID)", { argument: "segmentId" });
  return id;
}

function pageSize(first: number | null | undefined): number {
  const n = first ?? PAGE_SIZE.default;
  if (!Number.isInteger(n) || n < 1 || n > PAGE_SIZE.max)
    throw new InvalidInputError(`first must be between 1 and ${PAGE_SIZE.max}`, { argument: "first" });
  return n;
}

builder.queryField("lifecycleEvents", (t) =>
  t.field({
    type: LifecycleEventPageRef,
    description:
      "The outbox of lifecycle events, oldest first: what the state refreshes found changed. Read on from `after` (an event's position); webhooks deliver the same events.",
    args: {
      after: t.arg.string({ description: "Events after this position (default: from the first)." }),
      first: t.arg.int({ description: `Events per page (default ${PAGE_SIZE.default}, at most ${PAGE_SIZE.max}).` }),
      types: t.arg({ type: [LifecycleEventTypeRef], description: "Only these types (default: all)." }),
      toStages: t.arg.stringList({ description: "Only changes into these stage keys (default: all)." }),
      customerId: t.arg.id({ description: "Only this customer's events." }),
      segmentId: t.arg.id({ description: "Only entries into and exits from this segment." }),
      newestFirst: t.arg.boolean({
        defaultValue: false,
        description:
          "The latest events first (a dashboard's latest changes): one page of the newest; hasMore says whether older ones exist. Paging on with `after` reads oldest first.",
      }),
    },
    resolve: async (_root, args, ctx) => {
      const limit = pageSize(args.first);
      const filter = {
        types: args.types ?? undefined,
        toStages: args.toStages ?? undefined,
        customerId: args.customerId === null || args.customerId === undefined ? undefined : String(args.customerId),
        segmentId: segmentIdArg(args.segmentId),
      };
      const after = positionArg(args.after, "after");
      const events = await ctx.services.events.feed(after, limit + 1, filter, args.newestFirst ?? false);
      const page = events.slice(0, limit);
      return {
        events: page,
        endPosition: page.at(-1)?.position.toString() ?? null,
        hasMore: events.length > limit,
      };
    },
  }),
);

const WebhookDeliveryRef = builder.objectRef<WebhookAttempt>("WebhookDelivery").implement({
  description: "One attempt to deliver a batch of events.",
  fields: (t) => ({
    messageId: t.exposeString("messageId", {
      description: "The webhook-id header: the same for every attempt of one batch.",
    }),
    firstPosition: t.string({
      description: "The position of the batch's first event.",
      resolve: (a) => a.firstPosition.toString(),
    }),
    lastPosition: t.string({
      description: "The last position the batch covers (events the filters passed over included).",
      resolve: (a) => a.lastPosition.toString(),
    }),
    events: t.exposeInt("events", { description: "Events in the batch." }),
    attempt: t.exposeInt("attempt", { description: "1 for the first attempt of the batch, then 2, 3, …" }),
    status: t.exposeInt("status", { nullable: true, description: "The receiver's HTTP status; null: no answer." }),
    error: t.exposeString("error", { nullable: true, description: "What went wrong (the start of the answer)." }),
    succeeded: t.exposeBoolean("succeeded", { description: "Whether the receiver answered 2xx." }),
    durationMs: t.exposeInt("durationMs", { description: "Milliseconds from sending to the answer." }),
    attemptedAt: t.expose("attemptedAt", { type: "DateTime", description: "When it was sent." }),
  }),
});

const WebhookEndpointRef = builder.objectRef<WebhookEndpoint>("WebhookEndpoint").implement({
  description: `A receiver of lifecycle events: batches posted as JSON, signed per the Standard Webhooks specification (headers webhook-id, webhook-timestamp, webhook-signature). ${ADMIN_NOTE}`,
  fields: (t) => ({
    id: t.exposeID("id", { description: "Stable identifier (UUID)." }),
    url: t.exposeString("url", { description: "Where the batches are posted." }),
    description: t.exposeString("description", { description: "What it is for (may be empty)." }),
    eventTypes: t.field({
      type: [LifecycleEventTypeRef],
      description: "Types delivered; empty: all.",
      resolve: (e) => [...e.eventTypes],
    }),
    toStages: t.exposeStringList("toStages", { description: "Only changes into these stages; empty: all." }),
    segmentIds: t.idList({
      description: "Only entries into and exits from these tracked segments; empty: all.",
      resolve: (e) => [...e.segmentIds],
    }),
    enabled: t.exposeBoolean("enabled", { description: "Whether deliveries are made to it." }),
    disabledReason: t.exposeString("disabledReason", {
      nullable: true,
      description: "Why it is disabled: by an admin, 410 Gone, or failing for the whole retry window.",
    }),
    cursor: t.string({
      description: "The last event position delivered (or passed over by the filters).",
      resolve: (e) => e.cursor.toString(),
    }),
    failingSince: t.expose("failingSince", {
      type: "DateTime",
      nullable: true,
      description: "When the failing batch first failed; null while deliveries succeed.",
    }),
    attempts: t.exposeInt("attempts", { description: "Failed attempts of the batch being tried." }),
    nextAttemptAt: t.expose("nextAttemptAt", {
      type: "DateTime",
      nullable: true,
      description: "When the next attempt is due after a failure.",
    }),
    createdBy: t.exposeString("createdBy", { nullable: true, description: "The label of the key that made it." }),
    createdAt: t.expose("createdAt", { type: "DateTime", description: "When it was made." }),
    deliveries: t.field({
      type: [WebhookDeliveryRef],
      description: "The delivery log, newest first.",
      args: { first: t.arg.int({ description: `Attempts (default ${PAGE_SIZE.default}, at most ${PAGE_SIZE.max}).` }) },
      resolve: (e, args, ctx) => ctx.services.events.endpoints.attempts(e.id, pageSize(args.first)),
    }),
  }),
});

const WebhookSecretPayloadRef = builder
  .objectRef<{ endpoint: WebhookEndpoint; secret: string }>("WebhookSecretPayload")
  .implement({
    description: "An endpoint and its signing secret.",
    fields: (t) => ({
      endpoint: t.field({
        type: WebhookEndpointRef,
        description: "The endpoint as lists show it.",
        resolve: (p) => p.endpoint,
      }),
      secret: t.exposeString("secret", {
        description:
          "The signing secret (whsec_…), shown only this once: verify each delivery's webhook-signature with it (any Standard Webhooks library).",
      }),
    }),
  });

const WebhookEndpointInputRef = builder.inputType("WebhookEndpointInput", {
  description: "A webhook endpoint to make: where, and which events.",
  fields: (t) => ({
    url: t.string({
      required: true,
      description:
        "https URL (http only to a loopback address with CLM_WEBHOOKS_ALLOW_LOOPBACK=1); private and reserved addresses are refused unless CLM_WEBHOOKS_ALLOW_PRIVATE=1.",
    }),
    description: t.string({ description: "What it is for (at most 500 characters)." }),
    eventTypes: t.field({ type: [LifecycleEventTypeRef], description: "Types to deliver (default: all)." }),
    toStages: t.stringList({ description: "Only changes into these stage keys (default: all)." }),
    segmentIds: t.idList({ description: "Only entries into and exits from these tracked segments (default: all)." }),
  }),
});

builder.queryFields((t) => ({
  webhookEndpoints: t.field({
    ...ADMIN_ONLY,
    type: [WebhookEndpointRef],
    description: `Webhook endpoints, oldest first. ${ADMIN_NOTE}`,
    resolve: (_root, _args, ctx) => ctx.services.events.endpoints.list(),
  }),
  webhookEndpoint: t.field({
    ...ADMIN_ONLY,
    type: WebhookEndpointRef,
    description: `One webhook endpoint; NOT_FOUND for an unknown id. ${ADMIN_NOTE}`,
    args: { id: t.arg.id({ required: true, description: "The endpoint's id." }) },
    resolve: (_root, { id }, ctx) => ctx.services.events.endpoints.get(String(id)),
  }),
}));

builder.mutationFields((t) => ({
  createWebhookEndpoint: t.field({
    ...ADMIN_ONLY,
    type: WebhookSecretPayloadRef,
    description: `Creates a webhook endpoint; it receives the events written from now on (replayWebhookEndpoint goes back). The secret is shown only this once. BAD_USER_INPUT, with an issue per problem, for a refused URL, an unknown stage or type. ${ADMIN_NOTE}`,
    args: { input: t.arg({ type: WebhookEndpointInputRef, required: true, description: "The endpoint to make." }) },
    resolve: (_root, { input }, ctx) =>
      ctx.services.events.endpoints.create(
        {
          url: input.url,
          description: input.description ?? undefined,
          eventTypes: input.eventTypes ?? undefined,
          toStages: input.toStages ?? undefined,
          segmentIds: input.segmentIds?.map(String),
        },
        ctx.auth.principal,
      ),
  }),
  disableWebhookEndpoint: t.field({
    ...ADMIN_ONLY,
    type: WebhookEndpointRef,
    description: `Stops deliveries to an endpoint (its place in the outbox is kept). ${ADMIN_NOTE}`,
    args: { id: t.arg.id({ required: true, description: "The endpoint's id." }) },
    resolve: (_root, { id }, ctx) => ctx.services.events.endpoints.setEnabled(String(id), false),
  }),
  enableWebhookEndpoint: t.field({
    ...ADMIN_ONLY,
    type: WebhookEndpointRef,
    description: `Resumes deliveries from where they stopped, the failures forgotten. ${ADMIN_NOTE}`,
    args: { id: t.arg.id({ required: true, description: "The endpoint's id." }) },
    resolve: (_root, { id }, ctx) => ctx.services.events.endpoints.setEnabled(String(id), true),
  }),
  rotateWebhookEndpointSecret: t.field({
    ...ADMIN_ONLY,
    type: WebhookSecretPayloadRef,
    description: `A new signing secret, shown only this once; deliveries from now on are signed with it. ${ADMIN_NOTE}`,
    args: { id: t.arg.id({ required: true, description: "The endpoint's id." }) },
    resolve: (_root, { id }, ctx) => ctx.services.events.endpoints.rotateSecret(String(id)),
  }),
  replayWebhookEndpoint: t.field({
    ...ADMIN_ONLY,
    type: WebhookEndpointRef,
    description: `Delivers again every event written at or after \`from\`, in order (receivers deduplicate by event id). ${ADMIN_NOTE}`,
    args: {
      id: t.arg.id({ required: true, description: "The endpoint's id." }),
      from: t.arg({
        type: "DateTime",
        required: true,
        description: "Events written at or after this instant go again.",
      }),
    },
    resolve: (_root, { id, from }, ctx) => ctx.services.events.endpoints.replayFrom(String(id), from),
  }),
  deleteWebhookEndpoint: t.field({
    ...ADMIN_ONLY,
    type: WebhookEndpointRef,
    description: `Deletes an endpoint and its delivery log; returns it as it was. ${ADMIN_NOTE}`,
    args: { id: t.arg.id({ required: true, description: "The endpoint's id." }) },
    resolve: (_root, { id }, ctx) => ctx.services.events.endpoints.delete(String(id)),
  }),
}));

builder.subscriptionFields((t) => ({
  stageChanged: t.field({
    type: LifecycleEventRef,
    description:
      "Each stage change as a refresh publishes it (on any instance sharing the app database), in feed order. Resume after a dropped connection with `after`: the last event's id or position; events written meanwhile come first.",
    args: {
      toStages: t.arg.stringList({ description: "Only changes into these stage keys (default: all)." }),
      segmentId: t.arg.id({
        description:
          "Only changes of members of this tracked segment (its members as of the last refresh); BAD_USER_INPUT for a segment not tracked.",
      }),
      after: t.arg.string({
        description: "Start after this event (its id or position); default: only events written from now on.",
      }),
    },
    subscribe: async function* (_root, args, ctx) {
      const memberOf = args.segmentId === null || args.segmentId === undefined ? undefined : String(args.segmentId);
      if (memberOf !== undefined) await trackedSegment(memberOf, ctx);
      const after = await resumeAfter(args.after, ctx);
      yield* ctx.services.events.follow(
        after,
        { types: ["stage.changed"], toStages: args.toStages ?? undefined, memberOf },
        ctx.clientSignal,
      );
    },
    resolve: (event) => event,
  }),
  segmentMembershipChanged: t.field({
    type: LifecycleEventRef,
    description:
      "Each entry into and exit from a tracked segment (trackSegment) as a refresh publishes it, in feed order; resumable with `after` as stageChanged is.",
    args: {
      segmentId: t.arg.id({ required: true, description: "The tracked segment." }),
      after: t.arg.string({
        description: "Start after this event (its id or position); default: only events written from now on.",
      }),
    },
    subscribe: async function* (_root, args, ctx) {
      const segmentId = String(args.segmentId);
      await trackedSegment(segmentId, ctx);
      const after = await resumeAfter(args.after, ctx);
      yield* ctx.services.events.follow(
        after,
        { types: ["segment.entered", "segment.left"], segmentId },
        ctx.clientSignal,
      );
    },
    resolve: (event) => event,
  }),
}));

/** A saved segment that is tracked (NOT_FOUND for none, BAD_USER_INPUT for one not tracked). */
async function trackedSegment(id: string, ctx: RequestContext): Promise<void> {
  const { segmentStore } = ctx.services;
  await segmentStore.find(id, "segmentId");
  if (!(await segmentStore.isTracked(id)))
    throw new InvalidInputError(
      "the segment is not tracked: trackSegment(id) first (its entries and exits become events from the next refresh)",
      {
        argument: "segmentId",
      },
    );
}

builder.prismaObjectField("Segment", "tracked", (t) =>
  t.boolean({
    description:
      "Whether each state refresh writes who entered and who left the segment as lifecycle events (trackSegment).",
    resolve: (segment, _args, ctx) => ctx.services.segmentStore.isTracked(segment.id),
  }),
);

builder.mutationFields((t) => ({
  trackSegment: t.prismaField({
    type: "Segment",
    description:
      "Makes each state refresh write who entered and who left the segment on its state day as events (segment.entered, segment.left: webhooks, segmentMembershipChanged). The first refresh after this is the baseline. Idempotent. NOT_FOUND for an unknown id.",
    args: { id: t.arg.id({ required: true, description: "The segment's id." }) },
    resolve: async (query, _root, { id }, ctx) => {
      await ctx.services.segmentStore.setTracked(String(id), true);
      return ctx.prisma.segment.findUniqueOrThrow({ ...query, where: { id: String(id) } });
    },
  }),
  untrackSegment: t.prismaField({
    type: "Segment",
    description: "Stops writing the segment's entries and exits as events (and forgets its kept members). Idempotent.",
    args: { id: t.arg.id({ required: true, description: "The segment's id." }) },
    resolve: async (query, _root, { id }, ctx) => {
      await ctx.services.segmentStore.setTracked(String(id), false);
      return ctx.prisma.segment.findUniqueOrThrow({ ...query, where: { id: String(id) } });
    },
  }),
}));

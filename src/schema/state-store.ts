// The state store as GraphQL shows it: which state is served, how fresh it is, and its last refresh.
import type { PublishedState, RefreshRecord } from "../services/state/state-tables.ts";
import type { StoredClv } from "../services/state/state-clv.ts";
import { builder } from "./builder.ts";
import { ClvModelKindEnum, TimeUnitEnum } from "./clv.ts";

const StateClvRef = builder.objectRef<StoredClv>("StateLifetimeValue").implement({
  description:
    "The lifetime-value fit of the served state: every buyer's Customer.prediction for these settings, and PREDICTED_CLV rankings, come from it.",
  fields: (t) => ({
    model: t.field({ type: ClvModelKindEnum, description: "The purchase model fitted.", resolve: (c) => c.model }),
    timeUnit: t.field({ type: TimeUnitEnum, description: "The model's unit of time.", resolve: (c) => c.timeUnit }),
    horizonDays: t.exposeInt("horizonDays", { description: "Days ahead the predictions cover." }),
    discountRate: t.exposeFloat("discountRate", { description: "Yearly discount rate of the predicted CLV." }),
    customers: t.exposeInt("customers", { description: "Buyers the fit summarised (count)." }),
  }),
});

const StateModeEnum = builder.enumType("StateMode", {
  description: "CLM_STATE: whether answers are read from the state store.",
  values: {
    OFF: { value: "off", description: "Never: every answer is computed in the warehouse." },
    SERVE: {
      value: "serve",
      description: "Customer lookups on the state day and stage counts up to it come from the state, once one exists.",
    },
    REQUIRED: {
      value: "required",
      description: "As SERVE, and what the state should answer but cannot is refused (STATE_NOT_READY).",
    },
  } as const,
});

const RefreshKindEnum = builder.enumType("StateRefreshKind", {
  description: "What a refresh rebuilt.",
  values: {
    FULL: { value: "full", description: "Every customer's history from their first activity." },
    INCREMENTAL: { value: "incremental", description: "Only customers with new rows or a change due." },
  } as const,
});

const StateRefreshRef = builder.objectRef<RefreshRecord>("StateRefresh").implement({
  description: "One refresh of the state store.",
  fields: (t) => ({
    generation: t.exposeInt("generation", { description: "Its generation (one more than the refresh before)." }),
    kind: t.field({ type: RefreshKindEnum, description: "Full or incremental.", resolve: (r) => r.kind }),
    startedAt: t.field({ type: "DateTime", description: "When it started.", resolve: (r) => r.startedAt }),
    finishedAt: t.field({
      type: "DateTime",
      nullable: true,
      description: "When it was published or failed; null while it runs.",
      resolve: (r) => r.finishedAt,
    }),
    stateDay: t.field({ type: "Date", description: "The day it computed the state for.", resolve: (r) => r.stateDay }),
    published: t.exposeBoolean("published", { description: "Whether it is (or was) the served state." }),
    changedCustomers: t.exposeInt("changedCustomers", {
      description: "Customers whose rows it wrote (count; every customer for a full refresh).",
    }),
    customers: t.exposeInt("customers", { description: "Customers known on its state day (count)." }),
    rowsRead: t.float({ description: "Activity rows read from the warehouse (count).", resolve: (r) => r.rowsRead }),
    futureRows: t.float({
      description: "Warehouse rows dated after the state day, left for their day (count).",
      resolve: (r) => r.futureRows,
    }),
    nullIdRows: t.float({
      description:
        "Warehouse rows without a customer id, left out (count); an incremental refresh counts those dated from its watermark on.",
      resolve: (r) => r.nullIdRows,
    }),
    bytesEstimated: t.float({
      nullable: true,
      description:
        "What its warehouse queries would scan by the warehouse's dry runs (bytes; BigQuery); null where the warehouse does not bill by bytes scanned.",
      resolve: (r) => r.bytesEstimated,
    }),
    warnings: t.stringList({ description: "What it noticed and worked around.", resolve: (r) => [...r.warnings] }),
    error: t.exposeString("error", { nullable: true, description: "Why it failed; null when it did not." }),
  }),
});

interface StateStoreStatus {
  readonly mode: "off" | "serve" | "required";
  readonly pointer: PublishedState | null;
  readonly lastRefresh: RefreshRecord | null;
  readonly modelHash: string;
}

const StateStoreRef = builder.objectRef<StateStoreStatus>("StateStore").implement({
  description:
    "The lifecycle state store: each customer's state and exact stage history, kept in the app database and refreshed off the request path.",
  fields: (t) => ({
    mode: t.field({
      type: StateModeEnum,
      description: "Whether answers are read from the state (CLM_STATE).",
      resolve: (s) => s.mode,
    }),
    generation: t.int({
      nullable: true,
      description: "The served generation; null before the first refresh.",
      resolve: (s) => s.pointer?.generation ?? null,
    }),
    stateDay: t.field({
      type: "Date",
      nullable: true,
      description: "The day the served state is for (answers without asOf are for this day).",
      resolve: (s) => s.pointer?.stateDay ?? null,
    }),
    dataThrough: t.field({
      type: "Date",
      nullable: true,
      description: "The last day with any activity in the served state.",
      resolve: (s) => s.pointer?.dataThrough ?? null,
    }),
    publishedAt: t.field({
      type: "DateTime",
      nullable: true,
      description: "When the served state was published.",
      resolve: (s) => s.pointer?.publishedAt ?? null,
    }),
    currentModel: t.boolean({
      description:
        "Whether the served state was built with this server's stage model, mapping and time zone (else answers take the query-time path until a full refresh).",
      resolve: (s) => s.pointer?.modelHash === s.modelHash,
    }),
    lifetimeValue: t.field({
      type: StateClvRef,
      nullable: true,
      description: "The served state's lifetime-value fit; null when none (CLM_STATE_CLV=off, or too few buyers).",
      resolve: (s) => s.pointer?.clv ?? null,
    }),
    lastRefresh: t.field({
      type: StateRefreshRef,
      nullable: true,
      description: "The latest refresh, published, failed or running.",
      resolve: (s) => s.lastRefresh,
    }),
  }),
});

builder.queryField("stateStore", (t) =>
  t.field({
    type: StateStoreRef,
    description: "The state store: what is served, how fresh it is, and its last refresh.",
    resolve: async (_root, _args, ctx) => ({ mode: ctx.services.state.mode, ...(await ctx.services.state.status()) }),
  }),
);

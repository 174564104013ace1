// Every service of the application, built once from what the process has opened (the warehouse, the
// app database) and its configuration (stage model, time zone, RFM map …). The server's yoga context,
// the CLI's commands, the test server and the in-process bench take their services from here; no
// resolver or command builds its own (tests of one service may still build that service alone). What belongs to one request (DataLoaders) is made per request by forRequest().
import type { Logger } from "pino";
import type { WarehouseConnector } from "../connectors/connector.ts";
import type { EventType } from "../lifecycle/features.ts";
import type { RfmSegments } from "../lifecycle/rfm.ts";
import { segmentScope } from "../lifecycle/segment-definition.ts";
import type { StageModel } from "../lifecycle/stage-model.ts";
import type { PurchaseModelKind } from "../lifecycle/clv/predict.ts";
import type { LogicalTable } from "../sql/contract.ts";
import { CohortService } from "./cohorts.ts";
import type { FitPool } from "./fit-pool.ts";
import { FunnelService } from "./funnel.ts";
import type { LifecycleRequest } from "./lifecycle/request.ts";
import { LifecycleService } from "./lifecycle/service.ts";
import { MetricsReport } from "./metrics-report.ts";
import { MetricsService } from "./metrics.ts";
import { SegmentStore, type SegmentDatabase } from "./segment-store.ts";
import { SegmentService } from "./segments.ts";
import type { AppSql } from "../appdb/app-sql.ts";
import { eventsAfter, positionOf, type EventFilter, type LifecycleEvent } from "./events/outbox.ts";
import { WebhookEndpoints } from "./events/webhooks.ts";
import { EventFeed } from "./events/event-feed.ts";
import type { TargetPolicy } from "./events/webhook-targets.ts";
import type { RefreshPolicy } from "./state/refresh.ts";
import { StateStore, type StateMode } from "./state/state-store.ts";

export interface AppServiceInputs {
  /** The warehouse as the services query it (behind the guard in the server and the CLI). */
  readonly warehouse: WarehouseConnector;
  /** The app database (saved segments), or how to open it when first needed. */
  readonly prisma: SegmentDatabase;
  readonly stageModel: StageModel;
  readonly timeZone: string;
  /** Optional contract tables present and complete (availableTables in services/lifecycle/service.ts). */
  readonly available: ReadonlySet<LogicalTable>;
  readonly log: Logger;
  /** The RFM map (default: the built-in one). */
  readonly rfm?: RfmSegments;
  /** The events.type of survey answers (default "nps"). */
  readonly surveyEventType?: string;
  /** Where CLV fits run (default: a pool of the machine's size). */
  readonly fitPool?: FitPool;
  /** The event types CLM_CONFIG names (default: none). */
  readonly eventTypes?: readonly EventType[];
  /** Of those, the types whose first event makes a person a lead (default: none). */
  readonly interestEvents?: readonly string[];
  /** The state store: whether it serves (CLM_STATE) and the app database's SQL it lives in (default: off). */
  readonly state?: {
    readonly mode: StateMode;
    readonly sql: () => Promise<AppSql>;
    readonly policy?: RefreshPolicy;
    /** The purchase model each refresh fits for the stored predictions (none: null or absent). */
    readonly clvModel?: PurchaseModelKind | null;
    /** The warehouse table each refresh writes the state into (none: null or absent). */
    readonly writebackTable?: string | null;
  };
  /** Where webhooks may post (default: public https addresses only). */
  readonly webhookTargets?: TargetPolicy;
}

export interface EventServices {
  /** Events after a position of the outbox, oldest first. */
  feed(after: bigint, limit: number, filter?: EventFilter, newestFirst?: boolean): Promise<LifecycleEvent[]>;
  /** The events after `after` (default: only new ones), then each new one, until `signal` aborts. */
  follow(after: bigint | undefined, filter: EventFilter, signal: AbortSignal): AsyncGenerator<LifecycleEvent>;
  /** Wakes the followers of this process (a refresh published here). */
  wake(): void;
  /** The position of an event given by id or position; null when no event has that id. */
  positionOf(idOrPosition: string): Promise<bigint | null>;
  readonly endpoints: WebhookEndpoints;
}

export interface AppServices {
  readonly warehouse: WarehouseConnector;
  readonly log: Logger;
  /** Customer features, stages, RFM scores, CLV fits and transactions as of a day. */
  readonly lifecycle: LifecycleService;
  /** Saved segments in the app database, and a saved segment's rule for a day. */
  readonly segmentStore: SegmentStore;
  /** A resolved definition's members in the warehouse: size, pages, stage counts, the export's rows. */
  readonly segments: SegmentService;
  /** The metrics question: metrics over a period, compared, restricted to a segment, broken down. */
  readonly metrics: MetricsReport;
  /** Cohorts by first-purchase month. */
  readonly cohorts: CohortService;
  /** The stage funnel. */
  readonly funnel: FunnelService;
  /** Per-customer state and stage history kept in the app database, refreshed off the request path. */
  readonly state: StateStore;
  /** Lifecycle events: the outbox the refreshes write, and the webhook endpoints it is delivered to. */
  readonly events: EventServices;
  /** The lifecycle as one request sees it: loaders that batch and remember the request's lookups. */
  forRequest(): LifecycleRequest<LifecycleService>;
  /** Ends the fit workers; the warehouse and the app database belong to whoever opened them. */
  close(): Promise<void>;
}

export function createAppServices(inputs: AppServiceInputs): AppServices {
  const { warehouse, log } = inputs;
  const lifecycle = new LifecycleService(warehouse, inputs.stageModel, inputs.timeZone, inputs.available, inputs);
  // Definitions are checked against this server's stage model and RFM map.
  const segmentStore = new SegmentStore(
    inputs.prisma,
    segmentScope(lifecycle.model, lifecycle.rfm, lifecycle.eventTypes),
  );
  const segments = new SegmentService(lifecycle);
  const state = new StateStore(
    lifecycle,
    lifecycle.rfm,
    inputs.state?.sql ?? (() => Promise.reject(new Error("this process has no app database for the state store"))),
    inputs.state?.mode ?? "off",
    {
      policy: inputs.state?.policy,
      clv: inputs.state?.clvModel
        ? {
            model: inputs.state.clvModel,
            fit: (input, signal) => lifecycle.fitPool.fit(input, signal),
            predict: (input, signal) => lifecycle.fitPool.predictBuyers(input, signal),
          }
        : undefined,
      writebackTable: inputs.state?.writebackTable ?? undefined,
      trackedSegments: (day) =>
        segmentStore.trackedRules(day, (segmentId, error) =>
          log.warn({ segmentId, err: error }, "tracked segment skipped: its definition does not resolve"),
        ),
    },
  );
  const appSql =
    inputs.state?.sql ?? (() => Promise.reject(new Error("this process has no app database for lifecycle events")));
  const eventFeed = new EventFeed(appSql);
  const events: EventServices = {
    feed: async (after, limit, filter, newestFirst) => eventsAfter(await appSql(), after, limit, filter, newestFirst),
    follow: (after, filter, signal) => eventFeed.follow(after, filter, signal),
    wake: () => eventFeed.wake(),
    positionOf: async (id) => positionOf(await appSql(), id),
    endpoints: new WebhookEndpoints(
      appSql,
      inputs.webhookTargets ?? { allowLoopback: false, allowPrivate: false },
      lifecycle.model.stages.map((s) => s.key),
    ),
  };
  return {
    warehouse,
    log,
    events,
    lifecycle,
    segmentStore,
    segments,
    metrics: new MetricsReport(lifecycle, new MetricsService(lifecycle, segments), segmentStore),
    cohorts: new CohortService(lifecycle, segments),
    funnel: new FunnelService(lifecycle, segments),
    state,
    forRequest: () => lifecycle.forRequest(state.mode === "off" ? undefined : state),
    close: async () => {
      await eventFeed.close();
      await lifecycle.close();
    },
  };
}

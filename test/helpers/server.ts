// An in-process server for GraphQL tests: requests go through yoga.fetch, no port is opened.
import { AsyncResource } from "node:async_hooks";
import { pino } from "pino";
import type { ContractRow } from "../../src/connectors/connector.ts";
import { DEFAULT_MAPPING, type LogicalTable } from "../../src/sql/contract.ts";
import { DuckDBConnector } from "../../src/connectors/duckdb.ts";
import { generateDemoData, type DemoCounts } from "../../src/demo/generate.ts";
import { disableKeyCache, enableKeyCache } from "../../src/auth/key-cache.ts";
import { DEFAULT_KEY_CACHE_SECONDS } from "../../src/config/defaults.ts";
import { RevocationListener } from "../../src/auth/key-revocations.ts";
import { parseConfigFile } from "../../src/config/file.ts";
import { RfmSegments } from "../../src/lifecycle/rfm.ts";
import { createAppServices, type AppServices } from "../../src/services/app-services.ts";
import type { StateMode } from "../../src/services/state/state-store.ts";
import type { PurchaseModelKind } from "../../src/lifecycle/clv/predict.ts";
import type { FitPool } from "../../src/services/fit-pool.ts";
import { availableTables, type LifecycleService } from "../../src/services/lifecycle/service.ts";
import { ServerMetrics } from "../../src/observability/metrics.ts";
import { RateLimit } from "../../src/server/rate-limit.ts";
import { createClmYoga, type ClmYoga, type YogaOptions } from "../../src/server/yoga.ts";
import { DEFAULT_GUARD_SETTINGS, GuardedWarehouse, type GuardSettings } from "../../src/warehouse/guarded-warehouse.ts";
import { openTestAppDatabase, type TestAppDatabase, type TestWarehouse, type WarehouseFactory } from "./databases.ts";

export const DEMO_END_DATE = "2026-06-30";

/**
 * yoga.fetch in an async context of its own. The server enters each request's scope (deadline, id)
 * with AsyncLocalStorage.enterWith in a hook that runs synchronously inside fetch, which would leave
 * that scope current in the caller: a test's later warehouse calls (another server's start-up) would
 * then run under a finished request's deadline. An HTTP server calls it from a context per connection.
 */
export function fetchIsolated(yoga: ClmYoga, url: string, init?: RequestInit): Promise<Response> {
  return new AsyncResource("test-request").runInAsyncScope(() => Promise.resolve(yoga.fetch(url, init ?? {})));
}

export interface TestServer {
  readonly yoga: ClmYoga;
  readonly appDb: TestAppDatabase;
  readonly warehouse: TestWarehouse;
  readonly demoCounts: DemoCounts;
  /** The warehouse as the server uses it (cache, retries, circuit breaker over `warehouse`). */
  readonly guarded: GuardedWarehouse;
  readonly metrics: ServerMetrics;
  /** Labels of the warehouse queries sent, in order (tests reset it). */
  readonly warehouseQueries: string[];
  /** The services the resolvers use, as the server builds them. */
  readonly services: AppServices;
  /** The lifecycle service the resolvers use (its shared lookup batches included). */
  readonly lifecycle: LifecycleService;
  graphql<T = Record<string, unknown>>(query: string, variables?: Record<string, unknown>): Promise<GraphQLResponse<T>>;
  /** yoga.fetch in an async context of its own (see fetchIsolated). */
  fetch(url: string, init?: RequestInit): Promise<Response>;
  close(): Promise<void>;
}

export interface GraphQLResponse<T> {
  data?: T;
  errors?: { message: string; path?: string[]; extensions?: Record<string, unknown> }[];
  extensions?: Record<string, unknown>;
}

/** Empty contract tables in a test warehouse: DuckDB unless another one is given. */
async function openEmptyWarehouse(factory?: WarehouseFactory): Promise<TestWarehouse> {
  const warehouse = factory
    ? await factory.open()
    : Object.assign(await DuckDBConnector.open(undefined, DEFAULT_MAPPING), { label: "duckdb" });
  await warehouse.createTables({ replace: true });
  return warehouse;
}

/** A warehouse filled with the demo shop. */
export async function openDemoWarehouse(
  customers = 400,
  factory?: WarehouseFactory,
): Promise<{ warehouse: TestWarehouse; counts: DemoCounts }> {
  const warehouse = await openEmptyWarehouse(factory);
  const counts = await generateDemoData(warehouse, { customers, endDate: DEMO_END_DATE });
  return { warehouse, counts };
}

/** A warehouse holding exactly these rows (a hand-built fixture). */
export async function openFixtureWarehouse(
  rows: Partial<Record<LogicalTable, readonly ContractRow[]>>,
  factory?: WarehouseFactory,
): Promise<{ warehouse: TestWarehouse; counts: DemoCounts }> {
  const warehouse = await openEmptyWarehouse(factory);
  for (const [table, tableRows] of Object.entries(rows)) await warehouse.append(table as LogicalTable, tableRows!);
  const counts = Object.fromEntries(Object.entries(rows).map(([t, r]) => [t, r.length])) as DemoCounts;
  return { warehouse, counts };
}

export async function startTestServer(
  options: {
    customers?: number;
    warehouseFactory?: WarehouseFactory;
    /** Load these rows instead of the demo shop. */
    rows?: Partial<Record<LogicalTable, readonly ContractRow[]>>;
    /** Requests without a key act as an analyst (default here: on). */
    allowAnonymous?: boolean;
    /** Guard settings; the result cache is off here unless given (tests count warehouse queries). */
    guard?: Partial<GuardSettings>;
    requestTimeoutMs?: number;
    rateLimitPerMinute?: number;
    /** Log lines as objects (default: silent). */
    logLines?: Record<string, unknown>[];
    /** CLM_KEY_CACHE_SECONDS (default: the server's default, so every test runs with the key cache). */
    keyCacheSeconds?: number;
    /** The app database (default: a fresh one from openTestAppDatabase); closed with the server. */
    appDb?: TestAppDatabase;
    /** More of the server's options (CORS origins, metrics token, introspection, /ready's reuse and limit). */
    yoga?: YogaOptions;
    /** Where CLV fits run (default: a pool of the server's default size). */
    fitPool?: FitPool;
    /** CLM_CONFIG's contents (stage model, event types, time zone, …); default: none. */
    clmConfig?: unknown;
    /** CLM_STATE (default: serve, the server's default; nothing is served before a refresh). */
    stateMode?: StateMode;
    /** CLM_STATE_CLV: the purchase model each refresh fits (default BG_NBD, the server's; null: none). */
    stateClv?: PurchaseModelKind | null;
  } = {},
): Promise<TestServer> {
  const config = parseConfigFile(options.clmConfig ?? {});
  const appDb = options.appDb ?? (await openTestAppDatabase());
  const demo = options.rows
    ? await openFixtureWarehouse(options.rows, options.warehouseFactory)
    : await openDemoWarehouse(options.customers, options.warehouseFactory);
  const warehouse = demo.warehouse;
  const warehouseQueries: string[] = [];
  const query = warehouse.query.bind(warehouse);
  warehouse.query = ((q, options) => {
    warehouseQueries.push(options?.label ?? "unlabelled");
    return query(q, options);
  }) as typeof warehouse.query;
  const log = options.logLines
    ? pino({ level: "info" }, { write: (line: string) => void options.logLines!.push(JSON.parse(line)) })
    : pino({ level: "silent" });
  // The key cache as the server sets it up (src/server/boot.ts), revocation listener included on PostgreSQL.
  const keyCacheSeconds = options.keyCacheSeconds ?? DEFAULT_KEY_CACHE_SECONDS;
  const keyCache = enableKeyCache(appDb.prisma, { ttlMs: keyCacheSeconds * 1000, needsListener: !!appDb.url });
  const revocations =
    appDb.url && keyCacheSeconds > 0 ? await RevocationListener.start(appDb.url, keyCache, log) : undefined;
  const metrics = new ServerMetrics();
  const guarded = new GuardedWarehouse(
    warehouse,
    { ...DEFAULT_GUARD_SETTINGS, cache: null, ...options.guard },
    log,
    metrics,
  );
  const services = createAppServices({
    warehouse: guarded,
    prisma: appDb.prisma,
    log,
    stageModel: config.stageModel,
    timeZone: config.timeZone,
    eventTypes: config.eventTypes,
    interestEvents: config.interestEvents,
    surveyEventType: config.surveyEventType,
    rfm: new RfmSegments(config.rfmSegments),
    available: availableTables(await guarded.tableStatus()),
    fitPool: options.fitPool,
    state: {
      mode: options.stateMode ?? "serve",
      sql: async () => appDb.sql,
      clvModel: options.stateClv === undefined ? "BG_NBD" : options.stateClv,
    },
  });
  const rateLimit = options.rateLimitPerMinute ? new RateLimit(options.rateLimitPerMinute) : undefined;
  const yoga = createClmYoga(
    {
      ...services,
      prisma: appDb.prisma,
      pingAppDatabase: () => appDb.ping(),
    },
    {
      allowAnonymous: options.allowAnonymous ?? true,
      metrics,
      requestTimeoutMs: options.requestTimeoutMs,
      rateLimit,
      ...options.yoga,
    },
  );
  return {
    yoga,
    appDb,
    warehouse,
    demoCounts: demo.counts,
    guarded,
    metrics,
    warehouseQueries,
    services,
    lifecycle: services.lifecycle,
    async graphql(query, variables) {
      const response = await fetchIsolated(yoga, "http://test/graphql", {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify({ query, variables }),
      });
      return response.json();
    },
    fetch: (url, init) => fetchIsolated(yoga, url, init),
    async close() {
      await yoga.dispose();
      await services.close();
      await guarded.close();
      await revocations?.close();
      disableKeyCache(appDb.prisma);
      await appDb.close();
    },
  };
}

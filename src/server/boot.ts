// Start-up and shut-down of the server's services, in an order where nothing half-starts: each step
// that fails closes what the earlier steps opened, and reports one line saying why.
import { createServer, type Server } from "node:http";
import type { Logger } from "pino";
import { openWarehouse, type WarehouseConnector } from "../connectors/index.ts";
import { contractProblem } from "../connectors/table-status.ts";
import type { DuckDBConnector } from "../connectors/duckdb.ts";
import { openAppDatabase, type AppDatabase } from "../appdb/database.ts";
import { disableKeyCache, enableKeyCache } from "../auth/key-cache.ts";
import { RevocationListener } from "../auth/key-revocations.ts";
import type { AppConfig } from "../config/env.ts";
import { loadConfigFile, type FileConfig } from "../config/file.ts";
import { generateDemoData } from "../demo/generate.ts";
import { RfmSegments } from "../lifecycle/rfm.ts";
import { createAppServices, type AppServiceInputs, type AppServices } from "../services/app-services.ts";
import { RefreshSchedule } from "../services/state/schedule.ts";
import { DELIVERY_DEFAULTS, WebhookDelivery } from "../services/events/webhook-delivery.ts";
import { FitPool } from "../services/fit-pool.ts";
import { availableTables } from "../services/lifecycle/service.ts";
import type { SegmentDatabase } from "../services/segment-store.ts";
import { DEFAULT_GUARD_SETTINGS, GuardedWarehouse } from "../warehouse/guarded-warehouse.ts";
import { ServerMetrics } from "../observability/metrics.ts";
import { RateLimit } from "./rate-limit.ts";
import { startTracing } from "../observability/tracing.ts";
import { createClmYoga, type ClmYoga } from "./yoga.ts";

/** A start-up failure whose message is the one line to show. */
export class StartupError extends Error {
  override name = "StartupError";
}

/** What a started server holds open. */
export interface ServerResources {
  readonly config: AppConfig;
  readonly appDb: AppDatabase;
  readonly warehouse: WarehouseConnector;
  readonly yoga: ClmYoga;
  close(): Promise<void>;
}

export function todayUtc(): string {
  return new Date().toISOString().slice(0, 10);
}

/** Demo data into the embedded warehouse when it has no transactions (the server's start, and the CLI's reports). */
export async function seedDemoIfEmpty(warehouse: DuckDBConnector, customers: number, log: Logger): Promise<void> {
  const transactions = (await warehouse.tableStatus()).find((t) => t.logical === "transactions");
  if (transactions?.present && (transactions.rowCount ?? 0) > 0) return;
  const started = Date.now();
  await warehouse.createTables({ replace: false });
  const counts = await generateDemoData(warehouse, { customers, endDate: todayUtc() });
  log.info({ ...counts, ms: Date.now() - started }, "seeded demo data into the embedded warehouse");
}

/** The demo's first state compares with one this many days earlier: a month of changes to show. */
const DEMO_BASELINE_DAYS = 28;

/**
 * The application's services over a warehouse, after the contract check that the server and the CLI
 * share: tables reachable and the contract's required ones present, else a one-line StartupError.
 */
export async function openAppServices(
  warehouse: WarehouseConnector,
  kind: string,
  { stageModel, timeZone, rfmSegments, surveyEventType, eventTypes, interestEvents }: FileConfig,
  {
    prisma,
    log,
    fitWorkers,
    state,
    webhookTargets,
  }: {
    prisma: SegmentDatabase;
    log: Logger;
    fitWorkers?: number;
    state?: AppServiceInputs["state"];
    webhookTargets?: AppServiceInputs["webhookTargets"];
  },
): Promise<AppServices> {
  const statuses = await warehouse.tableStatus().catch((error) => {
    throw new StartupError(`warehouse (${kind}) cannot be reached: ${(error as Error).message}`, { cause: error });
  });
  const problem = contractProblem(statuses);
  if (problem) throw new StartupError(`warehouse (${kind}): ${problem}`);
  return createAppServices({
    warehouse,
    prisma,
    log,
    stageModel,
    timeZone,
    available: availableTables(statuses),
    rfm: new RfmSegments(rfmSegments),
    surveyEventType,
    eventTypes,
    interestEvents,
    fitPool: new FitPool(fitWorkers),
    state,
    webhookTargets,
  });
}

export async function openServices(config: AppConfig, log: Logger): Promise<ServerResources> {
  const fileConfig = loadConfigFile(config.configFile);
  const { mapping } = fileConfig;
  const opened: { close(): Promise<void> }[] = [];
  const closeAll = async () => {
    for (const resource of opened.reverse()) await resource.close().catch((err) => log.warn({ err }, "close failed"));
  };
  try {
    const tracing = startTracing(config.tracing);
    if (tracing) opened.push({ close: () => tracing.shutdown() });
    const appDb = await openAppDatabase({ databaseUrl: config.databaseUrl, dataDir: config.dataDir }).catch((error) => {
      throw new StartupError(
        error.name === "AppDatabaseUnreachableError" ? error.message : `app database: ${(error as Error).message}`,
        { cause: error },
      );
    });
    opened.push(appDb);
    // API keys cached for CLM_KEY_CACHE_SECONDS; on PostgreSQL only while revocations by other processes
    // are heard (the embedded store has no other writer while the server holds it).
    const keyCache = enableKeyCache(appDb.prisma, {
      ttlMs: config.keyCacheSeconds * 1000,
      needsListener: appDb.kind === "postgres",
    });
    opened.push({ close: async () => disableKeyCache(appDb.prisma) });
    if (appDb.kind === "postgres" && config.databaseUrl && config.keyCacheSeconds > 0) {
      opened.push(await RevocationListener.start(config.databaseUrl, keyCache, log));
    }

    const metrics = new ServerMetrics();
    const settings =
      config.warehouse.kind === "bigquery"
        ? { ...config.warehouse, onBytesEstimated: (bytes: number) => metrics.warehouseBytes.inc(bytes) }
        : config.warehouse;
    const connector = await openWarehouse(settings, mapping).catch((error) => {
      throw new StartupError(`warehouse (${config.warehouse.kind}) cannot be opened: ${(error as Error).message}`, {
        cause: error,
      });
    });
    if (config.warehouse.kind === "duckdb" && config.warehouse.demo) {
      await seedDemoIfEmpty(connector as DuckDBConnector, config.warehouse.demoCustomers, log).catch(async (error) => {
        await connector.close();
        throw error;
      });
    }
    const warehouse = new GuardedWarehouse(
      connector,
      {
        ...DEFAULT_GUARD_SETTINGS,
        cache: config.cache,
        queriesPerRequest: config.warehouseQueue.perRequest,
        queriesPerCaller: config.warehouseQueue.perCaller,
        queueWaitMs: config.warehouseQueue.waitMs,
      },
      log,
      metrics,
    );
    opened.push(warehouse);
    const rateLimit =
      config.rateLimitPerMinute > 0 ? new RateLimit(config.rateLimitPerMinute, config.redisUrl) : undefined;
    if (rateLimit) opened.push({ close: async () => rateLimit.close() });
    const services = await openAppServices(warehouse, config.warehouse.kind, fileConfig, {
      prisma: appDb.prisma,
      log,
      fitWorkers: config.fitWorkers,
      state: {
        mode: config.state.mode,
        sql: async () => appDb.sql,
        policy: config.state,
        clvModel: config.state.clvModel,
        writebackTable: config.state.writebackTable,
      },
      webhookTargets: config.webhooks,
    });
    opened.push(services);
    // One instance delivers at a time (the delivery lock); every instance runs the worker to take over.
    const delivery = config.webhooks.deliver
      ? new WebhookDelivery(
          async () => appDb.sql,
          {
            ...DELIVERY_DEFAULTS,
            policy: config.webhooks,
            retryWindowMs: config.webhooks.retryHours * 3_600_000,
            timeoutMs: config.webhooks.timeoutMs,
            retryFirstMs: config.webhooks.backoffMs,
            batchSize: config.webhooks.batch,
          },
          log,
        )
      : undefined;
    if (delivery) {
      delivery.start();
      opened.push({ close: () => delivery.stop() });
    }
    const demo = config.warehouse.kind === "duckdb" && config.warehouse.demo;
    if (config.state.mode !== "off" && (demo || config.state.refreshMinutes > 0)) {
      const schedule = new RefreshSchedule(services.state, {
        everyMinutes: config.state.refreshMinutes,
        atStart: true,
        baselineDaysBefore: demo ? DEMO_BASELINE_DAYS : undefined,
        log,
        metrics,
        onPublished: () => {
          services.events.wake();
          delivery?.poke();
        },
      });
      schedule.start();
      opened.push({ close: () => schedule.stop() });
    }
    const yoga = createClmYoga(
      { ...services, prisma: appDb.prisma, pingAppDatabase: () => appDb.ping() },
      {
        allowAnonymous: config.allowAnonymous,
        graphiql: config.graphiql,
        introspection: config.introspection,
        requestTimeoutMs: config.requestTimeoutMs,
        rateLimit,
        metrics,
        serveMetrics: config.metrics,
        metricsToken: config.metricsToken,
        corsOrigins: config.corsOrigins,
      },
    );
    return { config, appDb, warehouse, yoga, close: closeAll };
  } catch (error) {
    await closeAll();
    throw error;
  }
}

export interface RunningServer {
  readonly url: string;
  readonly server: Server;
  /** Stops accepting, lets in-flight requests finish (up to `graceMs`), then closes every connection. */
  close(graceMs?: number): Promise<void>;
}

export async function listen(services: ServerResources, log: Logger): Promise<RunningServer> {
  const { port, host } = services.config;
  const server = createServer(services.yoga);
  await new Promise<void>((resolve, reject) => {
    server.once("error", (error: NodeJS.ErrnoException) => {
      reject(
        new StartupError(
          error.code === "EADDRINUSE"
            ? `PORT ${port} is already in use on ${host}`
            : `cannot listen on ${host}:${port} (${error.code ?? error.message})`,
        ),
      );
    });
    server.listen(port, host, resolve);
  });
  const address = server.address();
  const actualPort = typeof address === "object" && address ? address.port : port;
  const url = `http://${host.includes(":") ? `[${host}]` : host}:${actualPort}`;
  let closing: Promise<void> | undefined;
  return {
    url,
    server,
    close: (graceMs = 10_000) =>
      (closing ??= (async () => {
        const drained = new Promise<void>((resolve) => server.close(() => resolve()));
        // Keep-alive connections turn idle as their last response ends; close them as they do.
        const sweep = setInterval(() => server.closeIdleConnections(), 50);
        server.closeIdleConnections();
        const forced = setTimeout(() => {
          log.warn({ graceMs }, "in-flight requests outlived the grace period; closing their connections");
          server.closeAllConnections();
        }, graceMs);
        await drained;
        clearInterval(sweep);
        clearTimeout(forced);
        await services.yoga.dispose();
        await services.close();
      })()),
  };
}

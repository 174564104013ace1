// What the reporting commands (stages, metrics, export-segment) run on: the warehouse and the lifecycle
// service the server would open from the same environment (CLM_WAREHOUSE, CLM_DUCKDB_PATH, CLM_CONFIG,
// …; with nothing set, the embedded demo as `npm start` has it), in this process. The app database
// (saved segments) is opened only when a command needs a segment: the others then work without it, even
// while a server holds the embedded store.
import type { Segment } from "@prisma/client";
import type { Logger } from "pino";
import { openWarehouse, type WarehouseConnector } from "../connectors/index.ts";
import type { DuckDBConnector } from "../connectors/duckdb.ts";
import { openAppDatabase, type AppDatabase } from "../appdb/database.ts";
import { loadEnv, type AppConfig } from "../config/env.ts";
import { loadConfigFile } from "../config/file.ts";
import type { Rule } from "../lifecycle/rules.ts";
import { savedSegmentRule } from "../server/export.ts";
import { openLifecycle, seedDemoIfEmpty, StartupError } from "../server/boot.ts";
import { createLogger } from "../server/logger.ts";
import type { LifecycleService } from "../services/lifecycle/service.ts";
import { DEFAULT_GUARD_SETTINGS, GuardedWarehouse } from "../warehouse/guarded-warehouse.ts";
import { CliError, firstLine } from "./exit.ts";

export interface CliContext {
  readonly config: AppConfig;
  readonly log: Logger;
  /** The warehouse behind the server's guard (retries, circuit breaker), without the result cache. */
  readonly warehouse: WarehouseConnector;
  readonly lifecycle: LifecycleService;
  /** The app database, opened (and migrated) on first use. */
  appDatabase(): Promise<AppDatabase>;
  close(): Promise<void>;
}

/**
 * Opens what a command needs, with the server's start-up checks and messages (one line saying which
 * store failed and why). Log lines (JSON on stderr) only at warn and above unless
 * LOG_LEVEL asks for more: a command's own messages are its output.
 */
export async function openCliContext(env: NodeJS.ProcessEnv = process.env): Promise<CliContext> {
  const config = loadEnv(env);
  const log = createLogger(env.LOG_LEVEL ? config.logLevel : "warn");
  const fileConfig = loadConfigFile(config.configFile);
  const { mapping } = fileConfig;
  const connector = await openWarehouse(config.warehouse, mapping).catch((error) => {
    throw new CliError(`warehouse (${config.warehouse.kind}) cannot be opened: ${firstLine(error)}`);
  });
  let appDb: Promise<AppDatabase> | undefined;
  const close = async () => {
    const opened = appDb;
    appDb = undefined;
    if (opened) await (await opened.catch(() => undefined))?.close();
    await connector.close();
  };
  try {
    if (config.warehouse.kind === "duckdb" && config.warehouse.demo) {
      // As the server does on start: demo data when the warehouse has none.
      await seedDemoIfEmpty(connector as DuckDBConnector, config.warehouse.demoCustomers, log);
    }
    const warehouse = new GuardedWarehouse(connector, { ...DEFAULT_GUARD_SETTINGS, cache: null }, log);
    const lifecycle = await openLifecycle(warehouse, config.warehouse.kind, fileConfig).catch((error) => {
      throw error instanceof StartupError ? new CliError(firstLine(error)) : error;
    });
    return {
      config,
      log,
      warehouse,
      lifecycle,
      appDatabase: () =>
        (appDb ??= openAppDatabase({ databaseUrl: config.databaseUrl, dataDir: config.dataDir }).catch((error) => {
          throw new CliError(
            error.name === "AppDatabaseUnreachableError" ? error.message : `app database: ${firstLine(error)}`,
          );
        })),
      close,
    };
  } catch (error) {
    await close();
    throw error;
  }
}

/** Runs `work` on the configured warehouse and closes everything after, whatever happens. */
export async function withContext<T>(work: (ctx: CliContext) => Promise<T>): Promise<T> {
  const ctx = await openCliContext();
  try {
    return await work(ctx);
  } finally {
    await ctx.close();
  }
}

/** A saved segment's rule for a day, or a failure naming the id (unknown) or the problems (invalid). */
export async function segmentRuleFor(
  ctx: CliContext,
  id: string,
  asOf: string,
): Promise<{ segment: Segment; rule: Rule }> {
  const appDb = await ctx.appDatabase();
  const saved = await savedSegmentRule(appDb.prisma, ctx.lifecycle, id, asOf);
  if (saved.found) return saved;
  if (saved.code === "NOT_FOUND") throw new CliError(`no segment with id ${JSON.stringify(id)}`);
  throw new CliError([
    saved.message,
    ...saved.issues.map((i) => `  at ${i.path.length > 0 ? i.path.join(".") : "(root)"}: ${i.message}`),
  ]);
}

// What the reporting commands (stages, metrics, export-segment) run on: the warehouse and the services
// the server would open from the same environment (CLM_WAREHOUSE, CLM_DUCKDB_PATH, CLM_CONFIG, …; with
// nothing set, the embedded demo as `npm start` has it), in this process. The app database (saved
// segments) is opened only when a command needs a segment: the others then work without it, even while
// a server holds the embedded store.
import type { Segment } from "@prisma/client";
import { InvalidSegmentError, NotFoundError } from "../errors.ts";
import { openWarehouse } from "../connectors/index.ts";
import type { DuckDBConnector } from "../connectors/duckdb.ts";
import { openAppDatabase, type AppDatabase } from "../appdb/database.ts";
import { loadEnv } from "../config/env.ts";
import { loadConfigFile } from "../config/file.ts";
import type { Rule } from "../lifecycle/rules.ts";
import { DefinitionError } from "../lifecycle/segment-definition.ts";
import { openAppServices, seedDemoIfEmpty, StartupError } from "../server/boot.ts";
import { createLogger } from "../server/logger.ts";
import type { AppServices } from "../services/app-services.ts";
import { TooManySegmentsError } from "../services/segment-store.ts";
import { DEFAULT_GUARD_SETTINGS, GuardedWarehouse } from "../warehouse/guarded-warehouse.ts";
import { CliError, firstLine } from "./exit.ts";

export interface CliContext {
  /**
   * The application's services over the warehouse behind the server's guard (retries, circuit breaker;
   * no result cache); the segment store opens the app database when first used.
   */
  readonly services: AppServices;
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
  const appDatabase = () =>
    (appDb ??= openAppDatabase({ databaseUrl: config.databaseUrl, dataDir: config.dataDir }).catch((error) => {
      throw new CliError(
        error.name === "AppDatabaseUnreachableError" ? error.message : `app database: ${firstLine(error)}`,
      );
    }));
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
    const prisma = async () => (await appDatabase()).prisma;
    const state = {
      mode: config.state.mode,
      sql: async () => (await appDatabase()).sql,
      policy: config.state,
      clvModel: config.state.clvModel,
      writebackTable: config.state.writebackTable,
    };
    const services = await openAppServices(warehouse, config.warehouse.kind, fileConfig, { prisma, log, state }).catch(
      (error) => {
        throw error instanceof StartupError ? new CliError(firstLine(error)) : error;
      },
    );
    return { services, appDatabase, close };
  } catch (error) {
    await close();
    throw error;
  }
}

/** Runs `work` on the configured warehouse and closes everything after, whatever happens. */
export async function withContext<T>(
  work: (ctx: CliContext) => Promise<T>,
  env: NodeJS.ProcessEnv = process.env,
): Promise<T> {
  const ctx = await openCliContext(env);
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
  // The app database first, whatever the id: a command naming a segment cannot run without it.
  await ctx.appDatabase();
  return ctx.services.segmentStore.ruleOn(id, asOf).catch((error: unknown) => {
    throw segmentFailure(error);
  });
}

/** A saved segment with its definition checked, or a failure naming the id (unknown) or the problems (invalid). */
export async function savedSegment(ctx: CliContext, id: string): Promise<{ segment: Segment; definition: Rule }> {
  await ctx.appDatabase();
  const { segmentStore } = ctx.services;
  try {
    const segment = await segmentStore.find(id);
    return { segment, definition: segmentStore.definitionOf(segment) };
  } catch (error) {
    throw segmentFailure(error);
  }
}

/**
 * A saved segment's failure as the command's error: the id unknown, too many segments to break down by,
 * or a definition's problems one per line; anything else as it is.
 */
export function segmentFailure(error: unknown): unknown {
  if (error instanceof NotFoundError || error instanceof TooManySegmentsError) return new CliError(error.message);
  if (error instanceof InvalidSegmentError || error instanceof DefinitionError) {
    return new CliError([
      error.message,
      ...error.issues.map((i) => `  at ${i.path.length > 0 ? i.path.join(".") : "(root)"}: ${i.message}`),
    ]);
  }
  return error;
}

// Defaults of settings that the environment can change (./env.ts) and that modules above the
// configuration use when given nothing: they live here so that the configuration never imports those
// modules, which import their defaults from here instead.
import { availableParallelism } from "node:os";

/** Queries one request runs at once by default: a dashboard's dozen run a few at a time. */
export const DEFAULT_QUERIES_PER_REQUEST = 4;
/** The longest a query waits for a slot by default, less when the request's deadline is nearer. */
export const DEFAULT_QUEUE_WAIT_MS = 10_000;

/** The warehouse result cache (src/warehouse/result-cache.ts). */
export interface CacheSettings {
  /** Seconds an entry lives when the query reads up to today (or says nothing of its day). */
  readonly ttlSeconds: number;
  /** Seconds an entry lives when the query's day is in the past. */
  readonly pastTtlSeconds: number;
  /** Bytes the in-memory cache may hold (serialized results). */
  readonly maxBytes: number;
  /** Results larger than this are not cached (member lists, exports). */
  readonly maxEntryBytes: number;
  /** Shared cache; unset: in memory. */
  readonly redisUrl?: string;
}

export const DEFAULT_CACHE_SETTINGS: CacheSettings = {
  ttlSeconds: 60,
  pastTtlSeconds: 24 * 3600,
  maxBytes: 64 * 1024 * 1024,
  maxEntryBytes: 2 * 1024 * 1024,
};

/** CLM_KEY_CACHE_SECONDS' default: a bound on a lost notification, short enough to matter little. */
export const DEFAULT_KEY_CACHE_SECONDS = 5;

/**
 * One core fewer than the machine has (at least one): the main thread keeps a core to answer other
 * requests while fits run; on 2 cores that is one worker. More workers than cores would only make
 * every fit, and the event loop, wait for CPU.
 */
export function defaultFitWorkers(cores = availableParallelism()): number {
  return Math.max(1, cores - 1);
}

/**
 * CLM_STATE_LATENESS_DAYS' default: an incremental refresh of the state store reads again the rows dated
 * up to this many days before the last state day, for rows that reach the warehouse a little late.
 */
export const DEFAULT_LATENESS_DAYS = 3;

/**
 * The embedded DuckDB's memory limit in a `clm refresh` process over a DuckDB file when
 * CLM_DUCKDB_MEMORY_LIMIT is unset: a refresh's queries (id ranges, counts, rows per day) all spill,
 * and without a limit DuckDB kept the blocks it read (1M customers: peak RSS 1,445 MB without,
 * 1,199 MB with, 146 s either way).
 */
export const REFRESH_DUCKDB_MEMORY_LIMIT = "256MB";

/** CLM_STATE_FULL_EVERY_DAYS' default: a full rebuild at least this often takes rows later than that. */
export const DEFAULT_FULL_EVERY_DAYS = 7;

/** CLM_STATE_WRITEBACK_TABLE's default: the table each refresh writes the state into, for BI tools to join. */
export const DEFAULT_WRITEBACK_TABLE = "clm_customer_state";

/**
 * CLM_WEBHOOKS_RETRY_HOURS' default: a webhook endpoint failing this long is disabled (Stripe and the
 * Standard Webhooks guidance retry for about three days).
 */
export const DEFAULT_WEBHOOK_RETRY_HOURS = 72;

/** CLM_WEBHOOKS_TIMEOUT_MS' default: a receiver that has not answered by then has failed that attempt. */
export const DEFAULT_WEBHOOK_TIMEOUT_MS = 10_000;

/** CLM_WEBHOOKS_BACKOFF_MS' default: the wait after a batch's first failure, doubled per failure up to an hour. */
export const DEFAULT_WEBHOOK_BACKOFF_MS = 5_000;

/** CLM_WEBHOOKS_BATCH's default: events per delivery. */
export const DEFAULT_WEBHOOK_BATCH = 100;

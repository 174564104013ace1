// Cached warehouse results. A result is keyed by the exact query (its SQL parts and bound values, so
// a changed segment definition or another day is another key) and the warehouse's data version, so a
// load of new rows makes old entries unreachable. Entries for a day in the past live long (that day's
// data does not change); the rest briefly. In memory (bounded in bytes, LRU), or in Redis when
// REDIS_URL is set, so several server instances share it. A cache failure is a miss, never an error.
import { createHash } from "node:crypto";
import { Redis } from "ioredis";
import { LRUCache } from "lru-cache";
import type { Logger } from "pino";
import type { CacheSettings } from "../config/defaults.ts";
import type { Row } from "../connectors/connector.ts";
import type { Sql } from "../sql/sql.ts";

export interface ResultStore {
  /** Resolves when the store can answer (a shared store connects first); never rejects. */
  ready(): Promise<void>;
  get(key: string): Promise<string | undefined>;
  set(key: string, value: string, ttlSeconds: number): Promise<void>;
  close(): Promise<void>;
}

export class MemoryResultStore implements ResultStore {
  private readonly entries: LRUCache<string, string>;
  private readonly sweeper: NodeJS.Timeout;

  constructor(maxBytes: number) {
    this.entries = new LRUCache<string, string>({ maxSize: maxBytes, sizeCalculation: (v, k) => v.length + k.length });
    // lru-cache drops an expired entry only when it is read or evicted by size: without a sweep, expired
    // results would keep the cache at its size bound (the soak saw the heap grow towards it).
    this.sweeper = setInterval(() => this.entries.purgeStale(), 30_000).unref();
  }

  async ready(): Promise<void> {}

  async get(key: string): Promise<string | undefined> {
    return this.entries.get(key);
  }

  async set(key: string, value: string, ttlSeconds: number): Promise<void> {
    this.entries.set(key, value, { ttl: ttlSeconds * 1000 });
  }

  async close(): Promise<void> {
    clearInterval(this.sweeper);
    this.entries.clear();
  }
}

/** Redis as the store: a slow or absent Redis costs at most `commandTimeout` per lookup, then misses. */
export class RedisResultStore implements ResultStore {
  private readonly redis: Redis;

  constructor(url: string, log: Logger) {
    this.redis = new Redis(url, {
      // Fail commands at once while disconnected rather than queueing them behind a reconnect.
      enableOfflineQueue: false,
      maxRetriesPerRequest: 0,
      commandTimeout: 250,
      connectTimeout: 2_000,
      lazyConnect: false,
    });
    let reported = false;
    this.redis.on("error", (err) => {
      // ioredis reports every failed reconnect; one line until it is back is enough.
      if (!reported) log.warn({ err }, "redis cache unavailable; lookups miss until it returns");
      reported = true;
    });
    this.redis.on("ready", () => {
      if (reported) log.info("redis cache available again");
      reported = false;
    });
  }

  ready(): Promise<void> {
    if (this.redis.status === "ready") return Promise.resolve();
    return new Promise((resolve) => {
      this.redis.once("ready", resolve);
      this.redis.once("end", resolve);
    });
  }

  async get(key: string): Promise<string | undefined> {
    return (await this.redis.get(key)) ?? undefined;
  }

  async set(key: string, value: string, ttlSeconds: number): Promise<void> {
    await this.redis.set(key, value, "EX", Math.max(1, Math.round(ttlSeconds)));
  }

  async close(): Promise<void> {
    this.redis.disconnect();
  }
}

/** The cache key of a query: its SQL parts (text, identifiers, bound values) and the data version. */
export function cacheKey(warehouse: string, query: Sql, dataVersion: string): string {
  const hash = createHash("sha256")
    .update(warehouse)
    .update("\0")
    .update(dataVersion)
    .update("\0")
    .update(partsJson(query.parts));
  return `clm:result:${hash.digest("base64url")}`;
}

const bigintAsText = (_key: string, value: unknown) => (typeof value === "bigint" ? `${value}n` : value);

/**
 * The parts as JSON, bigints as "<n>n". Every cached lookup computes a key: plain JSON.stringify (which
 * refuses bigints) is tried first, since a replacer function slows every value down; both give the same
 * text when there is no bigint.
 */
function partsJson(parts: unknown): string {
  try {
    return JSON.stringify(parts);
  } catch (error) {
    if (!(error instanceof TypeError)) throw error;
    return JSON.stringify(parts, bigintAsText);
  }
}

const DATE_TAG = "$clmDate";

/** Rows as JSON that keeps Date values (timestamps) Dates when read back. */
export function serializeRows(rows: readonly Row[]): string {
  return JSON.stringify(rows, function (this: Record<string, unknown>, key: string, value: unknown) {
    const raw = this[key];
    if (!(raw instanceof Date)) return value;
    // An invalid Date would come back as 1970-01-01: such a result is not cached.
    if (Number.isNaN(raw.getTime())) throw new Error("an invalid Date cannot be cached");
    return { [DATE_TAG]: raw.getTime() };
  });
}

export function deserializeRows(text: string): Row[] {
  // Most results hold no timestamp: a reviver would slow every value of every cache hit for nothing.
  if (!text.includes(`"${DATE_TAG}"`)) return JSON.parse(text) as Row[];
  return JSON.parse(text, (_key, value: unknown) =>
    value !== null && typeof value === "object" && DATE_TAG in value
      ? new Date((value as Record<string, number>)[DATE_TAG]!)
      : value,
  ) as Row[];
}

/**
 * The TTL of a result whose query reads data up to the day `asOf`. Days before `settledBefore` are
 * settled (the caller passes yesterday in UTC, so no time zone can still be living that day).
 */
export function ttlFor(settings: CacheSettings, asOf: string | undefined, settledBefore: string): number {
  return asOf !== undefined && asOf < settledBefore ? settings.pastTtlSeconds : settings.ttlSeconds;
}

// Authenticated API keys kept in process for a few seconds, so a request does not cost an app-database
// lookup (on the embedded PGlite store that lookup was the largest part of a cached customer lookup).
//
// What keeps "a revoked key is refused at once" true:
// - One cache per app-database client (a Prisma client), shared by every KeyStore over it: the server's,
//   GraphQL's key management, a test's. A revocation through any of them drops the entry before it returns.
// - Revocations from other processes (`clm keys revoke` or another server on the same PostgreSQL app
//   database) arrive as a PostgreSQL notification (./key-revocations.ts); while that listener is not
//   connected nothing is cached, and every entry goes when it disconnects (what it missed is unknown).
// - Every entry lives at most `ttlMs` anyway (CLM_KEY_CACHE_SECONDS), in case a notification is lost
//   without the connection failing.
// - A lookup that started before an invalidation does not store its (possibly stale) answer.
//
// While the app database cannot be reached, a key that was confirmed live in the last
// LAST_KNOWN_KEY_MS keeps working (reads go on through an app-database outage); a key never seen is
// refused with APP_DATABASE_UNAVAILABLE. This widens the revocation window during an outage: a key
// revoked meanwhile (by another instance that still reaches the database, or just before the outage
// with its notification lost) is accepted here until the database answers again or LAST_KNOWN_KEY_MS
// has passed since it was last confirmed. With no cache (CLM_KEY_CACHE_SECONDS=0, strict revocation)
// there is no fallback either.
//
// Keyed by the secret's SHA-256, as the database is. Unknown keys are remembered too (a client retrying a
// bad key costs no lookup each time), in a bound of their own so that a flood of made-up keys cannot push
// the live ones out.
import type { PrismaClient } from "@prisma/client";
import { LRUCache } from "lru-cache";
import { asAppDatabaseError, isAppDatabaseUnreachable } from "../appdb/unavailable.ts";
import type { ApiKeyInfo } from "./api-key.ts";

export interface KeyCacheSettings {
  /** How long an answer (a live key, or "unknown") is trusted; 0: no cache. */
  readonly ttlMs: number;
  /** Live keys kept (least recently used go first); the same bound again for unknown ones. */
  readonly maxEntries?: number;
  /** Revocations from other processes arrive through a listener: nothing is cached until it says so. */
  readonly needsListener?: boolean;
}

const DEFAULT_MAX_ENTRIES = 10_000;

/** How long after its last confirmation a live key is still accepted while the app database is down. */
export const LAST_KNOWN_KEY_MS = 15 * 60_000;

/** Wrapped so that "unknown" (null) can be stored in an LRUCache, which takes no null values. */
interface Entry {
  readonly key: ApiKeyInfo | null;
}

export class KeyCache {
  private readonly live: LRUCache<string, Entry>;
  private readonly unknown: LRUCache<string, Entry>;
  /** Live keys as last confirmed by the app database, for when it cannot be asked. */
  private readonly lastKnown: LRUCache<string, ApiKeyInfo>;
  /** Bumped by every invalidation: a lookup that saw another value must not store its answer. */
  private generation = 0;
  /** Lookups under way, shared by concurrent requests with the same key. */
  private readonly pending = new Map<string, Promise<ApiKeyInfo | null>>();
  private listening: boolean;

  constructor(readonly settings: KeyCacheSettings) {
    const max = settings.maxEntries ?? DEFAULT_MAX_ENTRIES;
    const ttl = Math.max(1, settings.ttlMs);
    this.live = new LRUCache<string, Entry>({ max, ttl });
    this.unknown = new LRUCache<string, Entry>({ max, ttl });
    this.lastKnown = new LRUCache<string, ApiKeyInfo>({ max, ttl: LAST_KNOWN_KEY_MS });
    this.listening = !settings.needsListener;
  }

  /** Whether answers may be kept now: a TTL, and no revocation elsewhere that could go unheard. */
  get active(): boolean {
    return this.settings.ttlMs > 0 && this.listening;
  }

  /**
   * The key a secret's hash belongs to (null: unknown, revoked or of no role), from the cache or from
   * `lookUp`. Concurrent calls for one hash share one lookup.
   */
  async get(hash: string, lookUp: (hash: string) => Promise<ApiKeyInfo | null>): Promise<ApiKeyInfo | null> {
    const confirmed = (key: ApiKeyInfo | null) => {
      if (key) this.lastKnown.set(hash, key);
      else this.lastKnown.delete(hash);
      return key;
    };
    try {
      return await this.current(hash, (h) => lookUp(h).then(confirmed));
    } catch (error) {
      if (!isAppDatabaseUnreachable(error)) throw error;
      const known = this.settings.ttlMs > 0 ? this.lastKnown.get(hash) : undefined;
      if (known) return known;
      throw asAppDatabaseError(error);
    }
  }

  private async current(
    hash: string,
    lookUp: (hash: string) => Promise<ApiKeyInfo | null>,
  ): Promise<ApiKeyInfo | null> {
    if (!this.active) return lookUp(hash);
    const cached = this.live.get(hash) ?? this.unknown.get(hash);
    if (cached) return cached.key;
    const shared = this.pending.get(hash);
    if (shared) return shared;
    const generation = this.generation;
    const settle = () => {
      if (this.pending.get(hash) === lookup) this.pending.delete(hash);
    };
    const lookup: Promise<ApiKeyInfo | null> = lookUp(hash).then(
      (key) => {
        settle();
        if (generation === this.generation && this.active) (key ? this.live : this.unknown).set(hash, { key });
        return key;
      },
      (error: unknown) => {
        settle();
        throw error;
      },
    );
    this.pending.set(hash, lookup);
    return lookup;
  }

  /** Forgets the key with this id (it was revoked); lookups under way keep their answer to themselves. */
  dropKey(id: string): void {
    // Stryker disable next-line UpdateOperator: only that the generation changes matters, not which way
    this.generation++;
    this.pending.clear();
    // Stryker disable next-line OptionalChaining: live holds only keys (unknown answers go to this.unknown)
    for (const [hash, entry] of this.live.entries()) if (entry.key?.id === id) this.live.delete(hash);
    for (const [hash, key] of this.lastKnown.entries()) if (key.id === id) this.lastKnown.delete(hash);
  }

  /**
   * Forgets every cached answer (the revocation listener lost its connection, or the cache closes).
   * The last-known keys stay: they answer only while the app database cannot be asked at all.
   */
  clear(): void {
    // Stryker disable next-line UpdateOperator: only that the generation changes matters, not which way
    this.generation++;
    this.pending.clear();
    this.live.clear();
    this.unknown.clear();
  }

  /** The revocation listener's state: while it is down nothing is cached, and what was is dropped. */
  setListening(listening: boolean): void {
    if (!listening) this.clear();
    this.listening = listening || !this.settings.needsListener;
  }

  /** Entries held (tests). */
  get size(): number {
    return this.live.size + this.unknown.size;
  }
}

const caches = new WeakMap<PrismaClient, KeyCache>();

/**
 * Caches authenticated keys for every KeyStore over `prisma` from now on. A second call for the same
 * client returns the cache already in place (several yoga instances over one app database share it).
 */
export function enableKeyCache(prisma: PrismaClient, settings: KeyCacheSettings): KeyCache {
  let cache = caches.get(prisma);
  if (!cache) {
    cache = new KeyCache(settings);
    caches.set(prisma, cache);
  }
  return cache;
}

/** The cache of this app-database client, if one was enabled. */
export function keyCacheOf(prisma: PrismaClient): KeyCache | undefined {
  return caches.get(prisma);
}

/** Stops caching for this client (its cache is emptied). */
export function disableKeyCache(prisma: PrismaClient): void {
  caches.get(prisma)?.clear();
  caches.delete(prisma);
}

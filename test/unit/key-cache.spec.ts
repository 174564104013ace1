// The API key cache (src/auth/key-cache.ts) on its own: a cached key costs no app-database lookup, unknown
// keys are remembered in a bound of their own, entries expire after their TTL, a revocation drops a key at
// once (and a lookup under way then keeps its answer to itself), nothing is cached while a needed
// revocation listener is down, and a key confirmed lately still answers while the app database cannot be
// reached. The cache in a server: test/server/key-cache.spec.ts.
import { describe, expect, it } from "vitest";
import { AppDatabaseUnavailableError } from "../../src/appdb/unavailable.ts";
import type { ApiKeyInfo } from "../../src/auth/api-key.ts";
import { disableKeyCache, enableKeyCache, KeyCache, keyCacheOf, LAST_KNOWN_KEY_MS } from "../../src/auth/key-cache.ts";

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

function keyInfo(id: string): ApiKeyInfo {
  return {
    id,
    label: "",
    role: "viewer",
    prefix: "clm_abcdef",
    createdAt: new Date(),
    revokedAt: null,
    expiresAt: null,
  };
}

/** A lookup that counts its calls and answers from `table` (null: unknown). */
function countingLookup(table: Record<string, ApiKeyInfo | null>) {
  const calls: string[] = [];
  return {
    calls,
    of: (hash: string) => async () => {
      calls.push(hash);
      await sleep(5);
      return table[hash] ?? null;
    },
  };
}

describe("KeyCache", () => {
  it("answers a known key and an unknown one from the cache until they expire", async () => {
    const cache = new KeyCache({ ttlMs: 150 });
    const lookup = countingLookup({ h1: keyInfo("k1") });
    expect(await cache.get("h1", lookup.of("h1"))).toMatchObject({ id: "k1" });
    expect(await cache.get("h1", lookup.of("h1"))).toMatchObject({ id: "k1" });
    expect(await cache.get("bad", lookup.of("bad"))).toBeNull();
    expect(await cache.get("bad", lookup.of("bad"))).toBeNull();
    expect(lookup.calls).toEqual(["h1", "bad"]);
    await sleep(200);
    expect(await cache.get("h1", lookup.of("h1"))).toMatchObject({ id: "k1" });
    expect(await cache.get("bad", lookup.of("bad"))).toBeNull();
    expect(lookup.calls).toEqual(["h1", "bad", "h1", "bad"]);
  });

  it("shares one lookup among concurrent requests with the same key", async () => {
    const cache = new KeyCache({ ttlMs: 10_000 });
    const lookup = countingLookup({ h1: keyInfo("k1") });
    const answers = await Promise.all(Array.from({ length: 20 }, () => cache.get("h1", lookup.of("h1"))));
    expect(answers.every((a) => a?.id === "k1")).toBe(true);
    expect(lookup.calls).toEqual(["h1"]);
  });

  it("keeps unknown keys in a bound of their own: a flood of made-up keys pushes no live key out", async () => {
    const cache = new KeyCache({ ttlMs: 10_000, maxEntries: 5 });
    const lookup = countingLookup({ h1: keyInfo("k1") });
    await cache.get("h1", lookup.of("h1"));
    for (let i = 0; i < 100; i++) await cache.get(`bad${i}`, lookup.of(`bad${i}`));
    expect(cache.size).toBe(6);
    expect(await cache.get("h1", lookup.of("h1"))).toMatchObject({ id: "k1" });
    expect(lookup.calls.filter((h) => h === "h1")).toHaveLength(1);
  });

  it("drops a revoked key, and a lookup under way at the revocation does not store its answer", async () => {
    const cache = new KeyCache({ ttlMs: 10_000 });
    const table: Record<string, ApiKeyInfo | null> = { h1: keyInfo("k1"), h2: keyInfo("k2") };
    const lookup = countingLookup(table);
    await cache.get("h1", lookup.of("h1"));
    await cache.get("h2", lookup.of("h2"));
    cache.dropKey("k1");
    table.h1 = null;
    expect(await cache.get("h1", lookup.of("h1"))).toBeNull();
    expect(await cache.get("h2", lookup.of("h2"))).toMatchObject({ id: "k2" });
    expect(lookup.calls).toEqual(["h1", "h2", "h1"]);

    // A lookup that read the row before the revocation answers its own request, and nothing else.
    const early = cache.get("h2", async () => {
      await sleep(30);
      return keyInfo("k2");
    });
    cache.clear();
    cache.dropKey("k2");
    table.h2 = null;
    expect(await early).toMatchObject({ id: "k2" });
    expect(await cache.get("h2", lookup.of("h2"))).toBeNull();
  });

  it("caches nothing with a TTL of 0, nor while a needed revocation listener is down", async () => {
    const off = new KeyCache({ ttlMs: 0 });
    const lookup = countingLookup({ h1: keyInfo("k1") });
    await off.get("h1", lookup.of("h1"));
    await off.get("h1", lookup.of("h1"));
    expect(lookup.calls).toHaveLength(2);

    const listened = new KeyCache({ ttlMs: 10_000, needsListener: true });
    expect(listened.active).toBe(false);
    await listened.get("h1", lookup.of("h1"));
    await listened.get("h1", lookup.of("h1"));
    expect(lookup.calls).toHaveLength(4);
    listened.setListening(true);
    await listened.get("h1", lookup.of("h1"));
    await listened.get("h1", lookup.of("h1"));
    expect(lookup.calls).toHaveLength(5);
    // Connection lost: what was cached goes (a revocation may have been missed), nothing new is kept.
    listened.setListening(false);
    expect(listened.size).toBe(0);
    await listened.get("h1", lookup.of("h1"));
    expect(lookup.calls).toHaveLength(6);
    expect(listened.size).toBe(0);
  });
});

/** An error of node-postgres when the app database refuses connections. */
function unreachable(): Error {
  return Object.assign(new Error("connect ECONNREFUSED 127.0.0.1:5432"), { code: "ECONNREFUSED" });
}

describe("KeyCache while the app database cannot be reached", () => {
  it("keeps accepting a key confirmed in the last 15 minutes", async () => {
    expect(LAST_KNOWN_KEY_MS).toBe(15 * 60_000);
    const cache = new KeyCache({ ttlMs: 1 });
    expect(await cache.get("h1", async () => keyInfo("k1"))).toMatchObject({ id: "k1" });
    await sleep(5);
    expect(await cache.get("h1", async () => Promise.reject(unreachable()))).toMatchObject({ id: "k1" });
  });

  it("refuses a key never seen, or last seen unknown, with AppDatabaseUnavailableError", async () => {
    const cache = new KeyCache({ ttlMs: 1 });
    const never = await cache.get("h1", async () => Promise.reject(unreachable())).catch((e: unknown) => e);
    expect(never).toBeInstanceOf(AppDatabaseUnavailableError);
    expect((never as Error).message).toBe("the app database cannot be reached");
    expect((never as Error).cause).toMatchObject({ code: "ECONNREFUSED" });

    await cache.get("h2", async () => keyInfo("k2"));
    await sleep(5);
    // Found unknown (revoked) since: the last confirmation no longer counts.
    expect(await cache.get("h2", async () => null)).toBeNull();
    await sleep(5);
    await expect(cache.get("h2", async () => Promise.reject(unreachable()))).rejects.toBeInstanceOf(
      AppDatabaseUnavailableError,
    );
  });

  it("forgets a revoked key's confirmation, but not on clear()", async () => {
    const cache = new KeyCache({ ttlMs: 1 });
    await cache.get("h1", async () => keyInfo("k1"));
    await cache.get("h2", async () => keyInfo("k2"));
    cache.clear();
    cache.dropKey("k1");
    await sleep(5);
    await expect(cache.get("h1", async () => Promise.reject(unreachable()))).rejects.toBeInstanceOf(
      AppDatabaseUnavailableError,
    );
    expect(await cache.get("h2", async () => Promise.reject(unreachable()))).toMatchObject({ id: "k2" });
  });

  it("has no fallback without a cache (TTL 0: strict revocation)", async () => {
    const cache = new KeyCache({ ttlMs: 0 });
    await cache.get("h1", async () => keyInfo("k1"));
    await expect(cache.get("h1", async () => Promise.reject(unreachable()))).rejects.toBeInstanceOf(
      AppDatabaseUnavailableError,
    );
  });

  it("passes any other failure on as it is, and does not keep it", async () => {
    const cache = new KeyCache({ ttlMs: 10_000 });
    await cache.get("h1", async () => keyInfo("k1"));
    const other = new Error("syntax error at or near");
    const lookups: string[] = [];
    const failing = async (hash: string) => {
      lookups.push(hash);
      throw other;
    };
    await expect(cache.get("h2", failing)).rejects.toBe(other);
    await expect(cache.get("h2", failing)).rejects.toBe(other);
    expect(lookups).toEqual(["h2", "h2"]);
    expect(await cache.get("h2", async () => keyInfo("k2"))).toMatchObject({ id: "k2" });
  });
});

describe("KeyCache failures and states", () => {
  it("passes on a failure other than an outage even for a key it knows", async () => {
    const cache = new KeyCache({ ttlMs: 1 });
    await cache.get("h1", async () => keyInfo("k1"));
    await sleep(5);
    const other = new Error("permission denied for table api_key");
    await expect(cache.get("h1", async () => Promise.reject(other))).rejects.toBe(other);
  });

  it("looks every request up with a TTL of 0, concurrent ones too", async () => {
    const cache = new KeyCache({ ttlMs: 0 });
    const lookup = countingLookup({ h1: keyInfo("k1") });
    await Promise.all([cache.get("h1", lookup.of("h1")), cache.get("h1", lookup.of("h1"))]);
    expect(lookup.calls).toEqual(["h1", "h1"]);
  });

  it("keeps what it holds, and a lookup under way, when told again that its listener is up", async () => {
    const cache = new KeyCache({ ttlMs: 60_000, needsListener: true });
    cache.setListening(true);
    await cache.get("h1", async () => keyInfo("k1"));
    const pending = cache.get("h2", async () => {
      await sleep(10);
      return keyInfo("k2");
    });
    cache.setListening(true);
    await pending;
    expect(cache.size).toBe(2);
  });
});

describe("KeyCache bounds and sharing", () => {
  it("keeps at most 10,000 live keys and 10,000 unknown ones by default", async () => {
    const cache = new KeyCache({ ttlMs: 60_000 });
    for (let i = 0; i < 10_001; i++) await cache.get(`live${i}`, async () => keyInfo(`k${i}`));
    expect(cache.size).toBe(10_000);
    for (let i = 0; i < 10_001; i++) await cache.get(`bad${i}`, async () => null);
    expect(cache.size).toBe(20_000);
  });

  it("counts live and unknown entries in its size", async () => {
    const cache = new KeyCache({ ttlMs: 60_000 });
    expect(cache.size).toBe(0);
    await cache.get("h1", async () => keyInfo("k1"));
    await cache.get("bad", async () => null);
    expect(cache.size).toBe(2);
    cache.dropKey("k1");
    expect(cache.size).toBe(1);
    cache.clear();
    expect(cache.size).toBe(0);
  });

  it("does not let a lookup from before a revocation end the sharing of the one after it", async () => {
    const cache = new KeyCache({ ttlMs: 60_000 });
    const lookup = countingLookup({ h1: keyInfo("k1") });
    const slow = (ms: number) => async (hash: string) => {
      lookup.calls.push(hash);
      await sleep(ms);
      return keyInfo("k1");
    };
    const before = cache.get("h1", slow(10));
    cache.dropKey("k9");
    const after = cache.get("h1", slow(60));
    await before;
    // The lookup started after the revocation is still under way: a third request shares it.
    const third = cache.get("h1", slow(10));
    await Promise.all([after, third]);
    expect(lookup.calls).toEqual(["h1", "h1"]);
  });

  it("stops sharing a lookup once it failed: the next request looks up again", async () => {
    const cache = new KeyCache({ ttlMs: 60_000 });
    let calls = 0;
    const failOnce = async () => {
      calls++;
      await sleep(5);
      if (calls === 1) throw new Error("first one fails");
      return keyInfo("k1");
    };
    await expect(cache.get("h1", failOnce)).rejects.toThrow("first one fails");
    expect(await cache.get("h1", failOnce)).toMatchObject({ id: "k1" });
    expect(calls).toBe(2);
  });

  it("does not keep the answer of a lookup under way when its listener is lost", async () => {
    const cache = new KeyCache({ ttlMs: 60_000, needsListener: true });
    cache.setListening(true);
    const pending = cache.get("h1", async () => {
      await sleep(10);
      return keyInfo("k1");
    });
    cache.setListening(false);
    cache.setListening(true);
    expect(await pending).toMatchObject({ id: "k1" });
    expect(cache.size).toBe(0);
  });

  it("without a listener to wait for, stays active when told the listener is down, but empties", async () => {
    const cache = new KeyCache({ ttlMs: 60_000 });
    expect(cache.active).toBe(true);
    await cache.get("h1", async () => keyInfo("k1"));
    cache.setListening(false);
    expect(cache.active).toBe(true);
    expect(cache.size).toBe(0);
    await cache.get("h1", async () => keyInfo("k1"));
    expect(cache.size).toBe(1);
  });
});

describe("the cache of an app-database client", () => {
  it("is enabled once per client, shared, and emptied when disabled", async () => {
    const client = {} as Parameters<typeof enableKeyCache>[0];
    const other = {} as Parameters<typeof enableKeyCache>[0];
    expect(keyCacheOf(client)).toBeUndefined();
    const cache = enableKeyCache(client, { ttlMs: 60_000 });
    expect(cache.settings).toEqual({ ttlMs: 60_000 });
    expect(enableKeyCache(client, { ttlMs: 1 })).toBe(cache);
    expect(keyCacheOf(client)).toBe(cache);
    expect(keyCacheOf(other)).toBeUndefined();
    await cache.get("h1", async () => keyInfo("k1"));
    disableKeyCache(client);
    expect(cache.size).toBe(0);
    expect(keyCacheOf(client)).toBeUndefined();
    expect(enableKeyCache(client, { ttlMs: 5 })).not.toBe(cache);
    disableKeyCache(other);
  });
});

// The revocation listener (src/auth/key-revocations.ts) against a stand-in for node-postgres' Client:
// it LISTENs on clm_api_key_revoked and drops each key named from the cache; while its connection is down
// the cache holds nothing; it reconnects by itself, waiting 250 ms, then twice as long each time up to 5 s;
// a ping every 5 s that gets no answer within 2 s counts as a lost connection. (Against a real PostgreSQL
// server: test/server/key-cache.spec.ts, with TEST_DATABASE_URL.)
import { EventEmitter } from "node:events";
import type { Logger } from "pino";
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import type { ApiKeyInfo } from "../../src/auth/api-key.ts";
import { KeyCache } from "../../src/auth/key-cache.ts";
import { RevocationListener } from "../../src/auth/key-revocations.ts";

/** Every client made, in order; what each was asked; whether the next connects fail. */
const pg = vi.hoisted(() => ({
  clients: [] as FakeClient[],
  failConnects: 0,
  pingAnswers: true,
  /** When set, connect() waits for it. */
  connectGate: undefined as Promise<void> | undefined,
}));

interface FakeClient extends EventEmitter {
  options: Record<string, unknown>;
  queries: string[];
  ended: boolean;
}

vi.mock("pg", async () => {
  const { EventEmitter } = await import("node:events");
  class Client extends EventEmitter {
    queries: string[] = [];
    ended = false;
    constructor(readonly options: Record<string, unknown>) {
      super();
      pg.clients.push(this as unknown as FakeClient);
    }
    async connect() {
      await pg.connectGate;
      if (pg.failConnects > 0) {
        pg.failConnects--;
        throw new Error("connect ECONNREFUSED");
      }
    }
    query(text: string) {
      this.queries.push(text);
      if (text === "SELECT 1" && !pg.pingAnswers) return new Promise(() => {});
      return Promise.resolve({ rows: [] });
    }
    async end() {
      this.ended = true;
    }
  }
  return { default: { Client } };
});

const URL = "postgres://app@db.test/clm";

function keyInfo(id: string): ApiKeyInfo {
  return {
    id,
    label: "",
    role: "viewer",
    prefix: "clm_abcdef",
    createdAt: new Date(0),
    revokedAt: null,
    expiresAt: null,
  };
}

function logger() {
  const warnings: { fields: Record<string, unknown>; message: string }[] = [];
  const log = { warn: (fields: Record<string, unknown>, message: string) => warnings.push({ fields, message }) };
  return { log: log as unknown as Logger, warnings };
}

/** A cache that waits for a listener, holding key k1 under hash h1 once the listener is up. */
async function cacheWithKey(cache: KeyCache) {
  await cache.get("h1", async () => keyInfo("k1"));
}

const last = () => pg.clients[pg.clients.length - 1]!;

beforeEach(() => {
  vi.useFakeTimers();
  pg.clients.length = 0;
  pg.failConnects = 0;
  pg.pingAnswers = true;
  pg.connectGate = undefined;
});

afterEach(() => {
  vi.useRealTimers();
});

describe("RevocationListener", () => {
  it("listens on clm_api_key_revoked on a connection of its own, then lets the cache keep keys", async () => {
    const cache = new KeyCache({ ttlMs: 60_000, needsListener: true });
    const { log, warnings } = logger();
    const listener = await RevocationListener.start(URL, cache, log);
    expect(pg.clients).toHaveLength(1);
    expect(last().options).toEqual({
      connectionString: URL,
      application_name: "clm-graphql-key-revocations",
      connectionTimeoutMillis: 5_000,
      keepAlive: true,
    });
    expect(last().queries).toEqual(["LISTEN clm_api_key_revoked"]);
    expect(cache.active).toBe(true);
    expect(listener.listening).toBe(true);
    expect(warnings).toEqual([]);
    await listener.close();
  });

  it("drops the key each notification on its channel names, and nothing else", async () => {
    const cache = new KeyCache({ ttlMs: 60_000, needsListener: true });
    const listener = await RevocationListener.start(URL, cache, logger().log);
    await cacheWithKey(cache);
    await cache.get("h2", async () => keyInfo("k2"));
    expect(cache.size).toBe(2);
    last().emit("notification", { channel: "other_channel", payload: "k1" });
    last().emit("notification", { channel: "clm_api_key_revoked", payload: "" });
    expect(cache.size).toBe(2);
    last().emit("notification", { channel: "clm_api_key_revoked", payload: "k1" });
    expect(cache.size).toBe(1);
    expect(await cache.get("h2", async () => null)).toMatchObject({ id: "k2" });
    await listener.close();
  });

  it("empties the cache and keeps nothing while its connection is lost, and reconnects after 250 ms", async () => {
    const cache = new KeyCache({ ttlMs: 60_000, needsListener: true });
    const { log, warnings } = logger();
    const listener = await RevocationListener.start(URL, cache, log);
    await cacheWithKey(cache);
    const first = last();
    const lost = new Error("Connection terminated unexpectedly");
    first.emit("error", lost);
    expect(cache.size).toBe(0);
    expect(cache.active).toBe(false);
    expect(listener.listening).toBe(false);
    expect(first.ended).toBe(true);
    expect(first.listenerCount("notification")).toBe(0);
    expect(warnings).toEqual([
      {
        fields: { err: lost, retryInMs: 250 },
        message:
          "API key revocation listener lost its connection: keys are looked up on every request until it is back",
      },
    ]);
    // The same loss reported again (an end after the error) counts once.
    first.emit("end");
    expect(warnings).toHaveLength(1);

    await vi.advanceTimersByTimeAsync(249);
    expect(pg.clients).toHaveLength(1);
    await vi.advanceTimersByTimeAsync(1);
    expect(pg.clients).toHaveLength(2);
    expect(last().queries).toEqual(["LISTEN clm_api_key_revoked"]);
    expect(cache.active).toBe(true);
    expect(listener.listening).toBe(true);
    // A notification on the old connection is no longer heard.
    await cacheWithKey(cache);
    first.emit("notification", { channel: "clm_api_key_revoked", payload: "k1" });
    expect(cache.size).toBe(1);
    // Nor is its late end: the new connection goes on.
    first.emit("end");
    first.emit("error", new Error("late"));
    expect(cache.size).toBe(1);
    expect(listener.listening).toBe(true);
    expect(warnings).toHaveLength(1);
    await vi.advanceTimersByTimeAsync(5_000);
    expect(last().queries).toEqual(["LISTEN clm_api_key_revoked", "SELECT 1"]);
    await listener.close();
  });

  it("waits twice as long after each failed attempt, up to 5 s, and 250 ms again once connected", async () => {
    const cache = new KeyCache({ ttlMs: 60_000, needsListener: true });
    const { log, warnings } = logger();
    pg.failConnects = 7;
    const listener = await RevocationListener.start(URL, cache, log);
    expect(cache.active).toBe(false);
    expect(listener.listening).toBe(false);
    const waits = [250, 500, 1_000, 2_000, 4_000, 5_000, 5_000];
    for (const wait of waits) {
      const made = pg.clients.length;
      await vi.advanceTimersByTimeAsync(wait - 1);
      expect(pg.clients.length, `before ${wait} ms`).toBe(made);
      await vi.advanceTimersByTimeAsync(1);
      expect(pg.clients.length, `after ${wait} ms`).toBe(made + 1);
    }
    expect(warnings.map((w) => w.fields.retryInMs)).toEqual(waits);
    expect(warnings[0]!.fields.err).toEqual(new Error("connect ECONNREFUSED"));
    expect(cache.active).toBe(true);
    last().emit("end");
    expect(warnings[warnings.length - 1]!.fields).toEqual({ err: undefined, retryInMs: 250 });
    await listener.close();
  });

  it("pings every 5 s, and counts a ping unanswered within 2 s as a lost connection", async () => {
    const cache = new KeyCache({ ttlMs: 60_000, needsListener: true });
    const { log, warnings } = logger();
    const listener = await RevocationListener.start(URL, cache, log);
    await vi.advanceTimersByTimeAsync(4_999);
    expect(last().queries).toEqual(["LISTEN clm_api_key_revoked"]);
    await vi.advanceTimersByTimeAsync(1);
    expect(last().queries).toEqual(["LISTEN clm_api_key_revoked", "SELECT 1"]);
    // An answered ping leaves no timer behind: only the next ping's.
    expect(vi.getTimerCount()).toBe(1);
    await vi.advanceTimersByTimeAsync(5_000);
    expect(last().queries).toEqual(["LISTEN clm_api_key_revoked", "SELECT 1", "SELECT 1"]);
    expect(warnings).toEqual([]);
    expect(cache.active).toBe(true);

    pg.pingAnswers = false;
    await vi.advanceTimersByTimeAsync(5_000 + 1_999);
    expect(warnings).toEqual([]);
    expect(cache.active).toBe(true);
    await vi.advanceTimersByTimeAsync(1);
    expect(cache.active).toBe(false);
    expect(warnings.map((w) => (w.fields.err as Error).message)).toEqual(["no answer within 2000 ms"]);
    expect(pg.clients[0]!.ended).toBe(true);
    // No more pings on the lost connection.
    const pings = pg.clients[0]!.queries.length;
    pg.failConnects = 100;
    await vi.advanceTimersByTimeAsync(20_000);
    expect(pg.clients[0]!.queries).toHaveLength(pings);
    await listener.close();
  });

  it("stops on close: the cache keeps nothing, the connection ends, and it does not reconnect", async () => {
    const cache = new KeyCache({ ttlMs: 60_000, needsListener: true });
    const { log, warnings } = logger();
    const listener = await RevocationListener.start(URL, cache, log);
    await cacheWithKey(cache);
    const client = last();
    await listener.close();
    expect(client.ended).toBe(true);
    expect(cache.active).toBe(false);
    expect(cache.size).toBe(0);
    expect(listener.listening).toBe(false);
    client.emit("end");
    await vi.advanceTimersByTimeAsync(60_000);
    expect(pg.clients).toHaveLength(1);
    expect(client.queries).toEqual(["LISTEN clm_api_key_revoked"]);
    expect(warnings).toEqual([]);
  });

  it("closed while waiting to reconnect, does not reconnect", async () => {
    const cache = new KeyCache({ ttlMs: 60_000, needsListener: true });
    pg.failConnects = 1;
    const listener = await RevocationListener.start(URL, cache, logger().log);
    await listener.close();
    await vi.advanceTimersByTimeAsync(60_000);
    expect(pg.clients).toHaveLength(1);
  });

  it("does not turn the cache on for a connection lost while it was connecting", async () => {
    const cache = new KeyCache({ ttlMs: 60_000, needsListener: true });
    let open!: () => void;
    pg.connectGate = new Promise((resolve) => (open = resolve));
    const starting = RevocationListener.start(URL, cache, logger().log);
    await vi.advanceTimersByTimeAsync(0);
    expect(pg.clients).toHaveLength(1);
    pg.clients[0]!.emit("error", new Error("Connection terminated unexpectedly"));
    pg.connectGate = undefined;
    open();
    const listener = await starting;
    expect(cache.active).toBe(false);
    expect(listener.listening).toBe(false);
    // No pings on it either; the retry connects anew after 250 ms.
    await vi.advanceTimersByTimeAsync(249);
    expect(pg.clients[0]!.queries).toEqual(["LISTEN clm_api_key_revoked"]);
    await vi.advanceTimersByTimeAsync(1);
    expect(pg.clients).toHaveLength(2);
    expect(cache.active).toBe(true);
    await listener.close();
  });

  it("is not listening once its connection is lost, though the cache needs no listener", async () => {
    const cache = new KeyCache({ ttlMs: 60_000 });
    const listener = await RevocationListener.start(URL, cache, logger().log);
    expect(listener.listening).toBe(true);
    last().emit("end");
    expect(cache.active).toBe(true);
    expect(listener.listening).toBe(false);
    await listener.close();
  });

  it("is not listening while the cache has no TTL, though connected", async () => {
    const cache = new KeyCache({ ttlMs: 0, needsListener: true });
    const listener = await RevocationListener.start(URL, cache, logger().log);
    expect(pg.clients).toHaveLength(1);
    expect(listener.listening).toBe(false);
    await listener.close();
  });
});

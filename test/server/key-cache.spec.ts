// The API key cache (src/auth/key-cache.ts) in a server: a cached key costs no app-database lookup (the
// cache on its own: test/unit/key-cache.spec.ts), and a revocation is
// refused at once — through this server (GraphQL or any KeyStore over its app database), and, on a
// PostgreSQL app database, from another connection or process as soon as its notification arrives.
import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
import { openAppDatabase } from "../../src/appdb/database.ts";
import { keyCacheOf } from "../../src/auth/key-cache.ts";
import { KeyStore } from "../../src/auth/keys.ts";
import { adminQuery, TEST_DATABASE_URL } from "../helpers/databases.ts";
import { runClm } from "../helpers/process.ts";
import { startTestServer, type TestServer } from "../helpers/server.ts";
import { METRIC_ROWS } from "../fixtures/metrics.ts";

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

describe(`the server's key cache (${TEST_DATABASE_URL ? "postgres" : "pglite"} app database)`, () => {
  let server: TestServer;
  let keys: KeyStore;

  beforeAll(async () => {
    server = await startTestServer({ rows: METRIC_ROWS, allowAnonymous: false, keyCacheSeconds: 30 });
    keys = new KeyStore(server.appDb.prisma);
  });
  afterAll(async () => {
    await server?.close();
  });

  const STAGES = `{ stages(asOf: "2026-06-30") { key } }`;
  const REVOKE = `mutation($id: ID!) { revokeApiKey(id: $id) { revoked } }`;

  async function ask(secret: string, query = STAGES, variables?: Record<string, unknown>) {
    const response = await server.yoga.fetch("http://test/graphql", {
      method: "POST",
      headers: { "content-type": "application/json", authorization: `Bearer ${secret}` },
      body: JSON.stringify({ query, variables }),
    });
    return (await response.json()) as { data?: unknown; errors?: { extensions?: { code?: string } }[] };
  }

  /** Counts the app-database key lookups made while `work` runs. */
  async function keyLookups(work: () => Promise<unknown>): Promise<number> {
    const spy = vi.spyOn(server.appDb.prisma.apiKey, "findUnique");
    try {
      await work();
      return spy.mock.calls.length;
    } finally {
      spy.mockRestore();
    }
  }

  it("answers a key's later requests without an app-database lookup; unknown keys too", async () => {
    const { secret } = await keys.create("viewer");
    expect(await keyLookups(() => ask(secret))).toBe(1);
    expect(await keyLookups(async () => expect((await ask(secret)).errors).toBeUndefined())).toBe(0);
    const madeUp = `clm_${"x".repeat(43)}`;
    expect(await keyLookups(() => ask(madeUp))).toBe(1);
    expect(
      await keyLookups(async () => expect((await ask(madeUp)).errors![0]!.extensions!.code).toBe("UNAUTHENTICATED")),
    ).toBe(0);
  });

  it("refuses a key revoked through GraphQL on the very next request, though it was cached", async () => {
    const admin = await keys.create("admin");
    const victim = await keys.create("viewer");
    expect((await ask(victim.secret)).errors).toBeUndefined();
    expect(await keyLookups(() => ask(victim.secret))).toBe(0);
    const revoked = await ask(admin.secret, REVOKE, { id: victim.key.id });
    expect(revoked.errors).toBeUndefined();
    expect((await ask(victim.secret)).errors![0]!.extensions!.code).toBe("UNAUTHENTICATED");
    // The admin's own key stays cached.
    expect(await keyLookups(() => ask(admin.secret))).toBe(0);
  });

  it("refuses a key revoked through another KeyStore of this process at once", async () => {
    const { key, secret } = await keys.create("viewer");
    await ask(secret);
    await new KeyStore(server.appDb.prisma).revoke(key.prefix);
    expect((await ask(secret)).errors![0]!.extensions!.code).toBe("UNAUTHENTICATED");
  });
});

describe.skipIf(!TEST_DATABASE_URL)("revocations from other connections and processes (PostgreSQL)", () => {
  let server: TestServer;
  let keys: KeyStore;

  beforeAll(async () => {
    server = await startTestServer({ rows: METRIC_ROWS, allowAnonymous: false, keyCacheSeconds: 60 });
    keys = new KeyStore(server.appDb.prisma);
  });
  afterAll(async () => {
    await server?.close();
  });

  async function code(secret: string): Promise<string | undefined> {
    const response = await server.yoga.fetch("http://test/graphql", {
      method: "POST",
      headers: { "content-type": "application/json", authorization: `Bearer ${secret}` },
      body: JSON.stringify({ query: `{ stages(asOf: "2026-06-30") { key } }` }),
    });
    const body = (await response.json()) as { errors?: { extensions?: { code?: string } }[] };
    return body.errors?.[0]?.extensions?.code;
  }

  /** Milliseconds until the server refuses `secret` (polling every 10 ms, at most `limitMs`). */
  async function refusedWithin(secret: string, limitMs: number): Promise<number> {
    const started = performance.now();
    while (performance.now() - started < limitMs) {
      if ((await code(secret)) === "UNAUTHENTICATED") return performance.now() - started;
      await sleep(10);
    }
    throw new Error(`still accepted after ${limitMs} ms`);
  }

  async function cached(secret: string): Promise<void> {
    expect(await code(secret)).toBeUndefined();
    const spy = vi.spyOn(server.appDb.prisma.apiKey, "findUnique");
    expect(await code(secret)).toBeUndefined();
    expect(spy).not.toHaveBeenCalled();
    spy.mockRestore();
  }

  it("refuses a cached key revoked through another app-database connection within its notification", async () => {
    const { key, secret } = await keys.create("viewer");
    await cached(secret);
    const other = await openAppDatabase({ databaseUrl: server.appDb.url!, dataDir: "" });
    try {
      await new KeyStore(other.prisma).revokeById(key.id);
      // Well inside the 60 s the entry would otherwise live.
      expect(await refusedWithin(secret, 2_000)).toBeLessThan(2_000);
    } finally {
      await other.close();
    }
  });

  it("refuses a cached key revoked by `clm keys revoke` in another process", async () => {
    const { key, secret } = await keys.create("viewer");
    await cached(secret);
    const revoke = await runClm(["keys", "revoke", key.id], { DATABASE_URL: server.appDb.url! });
    expect(revoke.code, revoke.stderr).toBe(0);
    expect(await refusedWithin(secret, 2_000)).toBeLessThan(2_000);
  });

  it("caches nothing while the listener's connection is lost, and resumes when it is back", async () => {
    const cache = keyCacheOf(server.appDb.prisma)!;
    expect(cache.active).toBe(true);
    const { key, secret } = await keys.create("viewer");
    await cached(secret);
    const database = new URL(server.appDb.url!).pathname.slice(1);
    await adminQuery(
      `SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = '${database}' AND application_name = 'clm-graphql-key-revocations'`,
    );
    for (let i = 0; i < 200 && cache.active; i++) await sleep(10);
    expect(cache.active).toBe(false);
    expect(cache.size).toBe(0);
    // Revoked behind the server's back (no notification): with nothing cached, refused at once.
    await server.appDb.prisma.apiKey.update({ where: { id: key.id }, data: { revokedAt: new Date() } });
    expect(await code(secret)).toBe("UNAUTHENTICATED");
    for (let i = 0; i < 500 && !cache.active; i++) await sleep(10);
    expect(cache.active).toBe(true);
    await cached((await keys.create("viewer")).secret);
  });
});

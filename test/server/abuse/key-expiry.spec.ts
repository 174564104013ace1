// Abuse class "keys that live forever": API keys may expire, and an expired key is refused on GraphQL
// and on the CSV export with the same code, even while the key cache still holds it.
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from "vitest";
import { KeyStore, parseExpiry } from "../../../src/auth/keys.ts";
import { keyCacheOf } from "../../../src/auth/key-cache.ts";
import { runClm } from "../../helpers/process.ts";
import { startTestServer, type TestServer } from "../../helpers/server.ts";

let server: TestServer;
let keys: KeyStore;
let segmentId: string;

beforeAll(async () => {
  server = await startTestServer({ customers: 60, allowAnonymous: false });
  keys = new KeyStore(server.appDb.prisma);
  const analyst = await keys.create("analyst", "segment maker");
  const created = await post(
    `mutation { createSegment(input: { name: "expiry", definition: { field: "stage", op: "eq", value: "new" } }) { id } }`,
    analyst.secret,
  );
  segmentId = (created.body as { data: { createSegment: { id: string } } }).data.createSegment.id;
});
afterAll(async () => {
  await server?.close();
});
afterEach(() => {
  vi.useRealTimers();
});

async function post(query: string, secret?: string, variables?: Record<string, unknown>) {
  const response = await server.yoga.fetch("http://test/graphql", {
    method: "POST",
    headers: { "content-type": "application/json", ...(secret ? { authorization: `Bearer ${secret}` } : {}) },
    body: JSON.stringify({ query, variables }),
  });
  return {
    status: response.status,
    body: (await response.json()) as {
      data?: Record<string, unknown> | null;
      errors?: { message: string; extensions?: Record<string, unknown> }[];
    },
  };
}

async function exportWith(secret: string) {
  const response = await server.yoga.fetch(`http://test/segments/${segmentId}/members.csv?asOf=2026-06-30`, {
    headers: { authorization: `Bearer ${secret}` },
  });
  return { status: response.status, text: await response.text() };
}

describe("expiring API keys", () => {
  it("refuses a key after its expiry on GraphQL and the export, though the key cache still holds it", async () => {
    const expiresAt = new Date(Date.now() + 60_000);
    const { key, secret } = await keys.create("viewer", "expires soon", expiresAt);
    expect(key.expiresAt?.toISOString()).toBe(expiresAt.toISOString());

    // Used once: the key (and its expiry) is now in the key cache.
    expect((await post(`{ stages(asOf: "2026-06-30") { key } }`, secret)).body.errors).toBeUndefined();
    expect((await exportWith(secret)).status).toBe(200);
    const cache = keyCacheOf(server.appDb.prisma)!;
    const cachedBefore = cache.size;
    expect(cachedBefore).toBeGreaterThan(0);

    // Only the wall clock moves past the expiry; the cache's own TTL (performance.now) does not.
    vi.useFakeTimers({ toFake: ["Date"] });
    vi.setSystemTime(expiresAt.getTime() + 1);

    const graphql = await post(`{ stages(asOf: "2026-06-30") { key } }`, secret);
    expect(graphql.body.errors?.[0]?.extensions?.code).toBe("UNAUTHENTICATED");
    expect(graphql.body.errors?.[0]?.message).toBe("the API key has expired");
    const exported = await exportWith(secret);
    expect(exported.text).not.toMatch(/customer_id/);
    expect(JSON.parse(exported.text)).toMatchObject({
      errors: [{ message: "the API key has expired", extensions: { code: "UNAUTHENTICATED" } }],
    });
    // The same HTTP status on both.
    expect(exported.status).toBe(graphql.status);
    // Refused from the cache, not because the entry went: no lookup was needed to know.
    expect(cache.size).toBe(cachedBefore);
  });

  it("creates expiring keys over GraphQL, lists their expiry and refuses an expiry in the past", async () => {
    const admin = await keys.create("admin", "ops");
    const create = `mutation ($at: DateTime) { createApiKey(role: VIEWER, label: "bi", expiresAt: $at) {
      secret key { id expiresAt expired } } }`;
    const at = new Date(Date.now() + 90 * 86_400_000);
    const made = await post(create, admin.secret, { at: at.toISOString() });
    expect(made.body.errors).toBeUndefined();
    const payload = (made.body.data as { createApiKey: { key: { id: string; expiresAt: string; expired: boolean } } })
      .createApiKey;
    expect(payload.key).toMatchObject({ expiresAt: at.toISOString(), expired: false });
    const listed = await post(`{ apiKeys { id expiresAt expired } }`, admin.secret);
    expect((listed.body.data as { apiKeys: { id: string; expiresAt: string | null }[] }).apiKeys).toContainEqual({
      id: payload.key.id,
      expiresAt: at.toISOString(),
      expired: false,
    });

    const never = await post(create, admin.secret, { at: null });
    expect((never.body.data as { createApiKey: { key: { expiresAt: null } } }).createApiKey.key.expiresAt).toBeNull();

    const past = await post(create, admin.secret, { at: new Date(Date.now() - 1_000).toISOString() });
    expect(past.body.errors?.[0]?.extensions).toMatchObject({ code: "BAD_USER_INPUT", argument: "expiresAt" });
  });

  it("reads --expires as a duration or a date, and refuses anything else or the past", () => {
    const now = Date.parse("2026-12-07T10:00:00Z");
    expect(parseExpiry("90d", now).toISOString()).toBe("2027-03-07T10:00:00.000Z");
    expect(parseExpiry("12h", now).toISOString()).toBe("2026-12-07T22:00:00.000Z");
    expect(parseExpiry("2w", now).toISOString()).toBe("2026-12-21T10:00:00.000Z");
    expect(parseExpiry("2027-01-01", now).toISOString()).toBe("2027-01-01T00:00:00.000Z");
    expect(parseExpiry("2027-01-01T08:30+02:00", now).toISOString()).toBe("2027-01-01T06:30:00.000Z");
    for (const bad of ["0d", "90", "3 months", "2026-12-01", "2026-02-31", "tomorrow"])
      expect(() => parseExpiry(bad, now), bad).toThrow(RangeError);
  });
});

describe("clm keys create --expires", () => {
  it("creates a key expiring in 90 days, lists its expiry, and refuses a bad one as usage", async () => {
    const env = { CLM_DATA_DIR: join(mkdtempSync(join(tmpdir(), "clm-keys-expiry-")), "data") };
    const before = Date.now();
    const created = await runClm(["keys", "create", "--role", "viewer", "--expires", "90d"], env);
    expect(created.code, created.stderr).toBe(0);
    expect(created.stderr).toMatch(/expires \d{4}-\d{2}-\d{2}T/);
    const listed = await runClm(["keys", "list"], env);
    const [, role, , , , state, expires] = listed.stdout.trim().split("\t");
    expect([role, state]).toEqual(["viewer", "live"]);
    const inDays = (Date.parse(expires!) - before) / 86_400_000;
    expect(inDays).toBeGreaterThan(89.9);
    expect(inDays).toBeLessThan(90.1);

    const bad = await runClm(["keys", "create", "--role", "viewer", "--expires", "2020-01-01"], env);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toMatch(/--expires.*must be in the future/);
  }, 60_000);
});

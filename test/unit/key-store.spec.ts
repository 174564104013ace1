// The API key store (src/auth/keys.ts, KeyStore) over an in-memory PGlite app database: a key is created
// with a secret shown once and stored as its SHA-256, listed, revoked by id or by its prefix, and a secret
// is checked (unknown, revoked, expired), through the key cache when one is enabled. README, Access control.
import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
import { openAppDatabase, type AppDatabase } from "../../src/appdb/database.ts";
import type { ApiKeyInfo } from "../../src/auth/api-key.ts";
import { disableKeyCache, enableKeyCache, keyCacheOf } from "../../src/auth/key-cache.ts";
import { hashSecret, KeyStore } from "../../src/auth/keys.ts";
import { InvalidInputError, NotFoundError } from "../../src/errors.ts";

describe("KeyStore (PGlite app database)", () => {
  let db: AppDatabase;
  let keys: KeyStore;

  beforeAll(async () => {
    db = await openAppDatabase({ dataDir: "memory://" });
    keys = new KeyStore(db.prisma);
  }, 120_000);

  afterAll(async () => {
    await db?.close();
  });

  it("creates a key whose secret is clm_ and 43 base64url characters, stored as its SHA-256 and prefix", async () => {
    const { key, secret } = await keys.create("analyst", "  BI dashboard  ");
    expect(secret).toMatch(/^clm_[A-Za-z0-9_-]{43}$/);
    expect(key).toMatchObject({ role: "analyst", label: "BI dashboard", prefix: secret.slice(0, 10), revokedAt: null });
    expect(key.expiresAt).toBeNull();
    const row = await db.prisma.apiKey.findUnique({ where: { id: key.id } });
    expect(row!.hash).toBe(hashSecret(secret));
    expect(JSON.stringify(row)).not.toContain(secret);
    expect(await keys.authenticate(secret)).toMatchObject({ id: key.id, role: "analyst" });
    // Each secret is new.
    const other = await keys.create("viewer");
    expect(other.secret).not.toBe(secret);
    expect(other.key.label).toBe("");
  });

  it("refuses an invalid label or an expiry not in the future with InvalidInputError, on its argument", async () => {
    const label = await keys.create("viewer", "a\u0000b").catch((e: unknown) => e);
    expect(label).toBeInstanceOf(InvalidInputError);
    expect((label as Error).message).toBe("invalid label: must not contain control characters");
    expect((label as InvalidInputError).extensions()).toMatchObject({
      argument: "label",
      issues: [{ path: ["label"], message: "must not contain control characters" }],
    });
    const long = await keys.create("viewer", `${"a".repeat(101)}\u0001`).catch((e: unknown) => e);
    expect((long as Error).message).toBe("invalid label: at most 100 characters; must not contain control characters");

    const past = await keys.create("viewer", "x", new Date(Date.now() - 1)).catch((e: unknown) => e);
    expect(past).toBeInstanceOf(InvalidInputError);
    expect((past as Error).message).toBe("invalid expiresAt: must be in the future");
    expect((past as InvalidInputError).extensions()).toMatchObject({
      argument: "expiresAt",
      issues: [{ path: ["expiresAt"], message: "must be in the future" }],
    });
    // An expiry at this very instant is not in the future either.
    const now = Date.now();
    vi.spyOn(Date, "now").mockReturnValue(now);
    try {
      const atNow = await keys.create("viewer", "x", new Date(now)).catch((e: unknown) => e);
      expect((atNow as Error).message).toBe("invalid expiresAt: must be in the future");
    } finally {
      vi.restoreAllMocks();
    }
    const invalid = await keys.create("viewer", "x", new Date(Number.NaN)).catch((e: unknown) => e);
    expect((invalid as Error).message).toBe("invalid expiresAt: must be in the future");
  });

  it("keeps an expiry, and refuses the key from that instant as expired", async () => {
    const expiresAt = new Date(Date.now() + 60_000);
    const { key, secret } = await keys.create("viewer", "soon", expiresAt);
    expect(key.expiresAt!.getTime()).toBe(expiresAt.getTime());
    expect(await keys.check(secret)).toEqual({ key: expect.objectContaining({ id: key.id }) });
    await db.prisma.apiKey.update({ where: { id: key.id }, data: { expiresAt: new Date(Date.now() - 1) } });
    expect(await keys.check(secret)).toEqual({ key: null, refused: "expired" });
    expect(await keys.authenticate(secret)).toBeNull();
  });

  it("refuses unknown, malformed and overlong secrets as unknown", async () => {
    const { secret } = await keys.create("viewer");
    expect(await keys.check(`${secret}x`)).toEqual({ key: null, refused: "unknown" });
    expect(await keys.check(secret.slice(4))).toEqual({ key: null, refused: "unknown" });
    expect(await keys.check("")).toEqual({ key: null, refused: "unknown" });
    expect(await keys.check(`clm_${"a".repeat(197)}`)).toEqual({ key: null, refused: "unknown" });
  });

  it("takes a secret of 200 characters but no more", async () => {
    // A row whose secret is exactly 200 characters long, as an older or hand-made key could be.
    const long = `clm_${"b".repeat(196)}`;
    await db.prisma.apiKey.create({ data: { role: "viewer", hash: hashSecret(long), prefix: long.slice(0, 10) } });
    expect((await keys.check(long)).key).toMatchObject({ role: "viewer" });
    const longer = `clm_${"c".repeat(197)}`;
    await db.prisma.apiKey.create({ data: { role: "viewer", hash: hashSecret(longer), prefix: longer.slice(0, 10) } });
    expect(await keys.check(longer)).toEqual({ key: null, refused: "unknown" });
  });

  it("revokes by id, keeping the first revocation's time, and refuses the key from then on", async () => {
    const { key, secret } = await keys.create("admin", "to revoke");
    const revoked = await keys.revoke(key.id);
    expect(revoked.id).toBe(key.id);
    expect(revoked.revokedAt).toBeInstanceOf(Date);
    expect(Math.abs(revoked.revokedAt!.getTime() - Date.now())).toBeLessThan(60_000);
    expect(await keys.check(secret)).toEqual({ key: null, refused: "unknown" });
    const again = await keys.revokeById(key.id);
    expect(again.revokedAt!.getTime()).toBe(revoked.revokedAt!.getTime());
  });

  it("announces a revocation on clm_api_key_revoked, with the key's id", async () => {
    const raw: { operation: string; args: unknown }[] = [];
    const watched = db.prisma.$extends({
      query: {
        $allOperations({ operation, args, query }) {
          if (operation.startsWith("$executeRaw")) raw.push({ operation, args });
          return query(args);
        },
      },
    });
    const { key } = await keys.create("viewer", "announced");
    await new KeyStore(watched as unknown as typeof db.prisma).revokeById(key.id);
    expect(raw).toHaveLength(1);
    const { strings, values } = raw[0]!.args as { strings: string[]; values: unknown[] };
    expect(strings.join("?")).toBe("SELECT pg_notify(?, ?)");
    expect(values).toEqual(["clm_api_key_revoked", key.id]);
  });

  it("revokes by the prefix a list shows, when it names exactly one live key", async () => {
    const { key, secret } = await keys.create("viewer", "by prefix");
    expect((await keys.revoke(key.prefix)).id).toBe(key.id);
    expect(await keys.authenticate(secret)).toBeNull();
    // Now no live key has it.
    await expect(keys.revoke(key.prefix)).rejects.toThrow(
      new NotFoundError(`no live API key ${JSON.stringify(key.prefix)}`),
    );
    await expect(keys.revoke(key.prefix)).rejects.toBeInstanceOf(NotFoundError);
  });

  it("refuses a prefix shared by several live keys: revoke by id", async () => {
    const shared = "clm_shared";
    for (const tail of ["1", "2"]) {
      await db.prisma.apiKey.create({ data: { role: "viewer", hash: hashSecret(shared + tail), prefix: shared } });
    }
    await expect(keys.revoke(shared)).rejects.toThrow("2 keys start with clm_shared: revoke by id");
    expect(await keys.authenticate(`${shared}1`)).toMatchObject({ prefix: shared });
  });

  it("answers NotFoundError for an unknown or malformed id", async () => {
    const unknown = "00000000-0000-4000-8000-000000000000";
    await expect(keys.revokeById(unknown)).rejects.toThrow(
      new NotFoundError(`no API key with id ${JSON.stringify(unknown)}`),
    );
    await expect(keys.revokeById(unknown)).rejects.toBeInstanceOf(NotFoundError);
    await expect(keys.revokeById("nope")).rejects.toThrow(new NotFoundError('no API key with id "nope"'));
    await expect(keys.revokeById("nope")).rejects.toBeInstanceOf(NotFoundError);
    await expect(keys.revoke(unknown)).rejects.toBeInstanceOf(NotFoundError);
  });

  it("lists keys oldest first, revoked ones too unless asked not to", async () => {
    const a = await keys.create("viewer", "list a");
    const b = await keys.create("analyst", "list b");
    const c = await keys.create("admin", "list c");
    await keys.revoke(b.key.id);
    const ours = (list: ApiKeyInfo[]) => list.filter((k) => k.label.startsWith("list ")).map((k) => k.label);
    expect(ours(await keys.list())).toEqual(["list a", "list b", "list c"]);
    expect(ours(await keys.list({ includeRevoked: true }))).toEqual(["list a", "list b", "list c"]);
    expect(ours(await keys.list({ includeRevoked: false }))).toEqual(["list a", "list c"]);
    const all = await keys.list();
    const times = all.map((k) => k.createdAt.getTime());
    expect(times).toEqual([...times].sort((x, y) => x - y));
    expect(all.some((k) => k.revokedAt !== null)).toBe(true);
    expect((await keys.list({ includeRevoked: false })).every((k) => k.revokedAt === null)).toBe(true);
    expect(a.key.id).not.toBe(c.key.id);
  });

  it("answers from the key cache when one is enabled, and drops a key it revokes from it at once", async () => {
    const { key, secret } = await keys.create("viewer", "cached");
    const cache = enableKeyCache(db.prisma, { ttlMs: 60_000 });
    try {
      expect(keyCacheOf(db.prisma)).toBe(cache);
      expect((await keys.check(secret)).key).toMatchObject({ id: key.id });
      expect(cache.size).toBe(1);
      // Changed behind the cache's back: the cached answer stands.
      await db.prisma.apiKey.update({ where: { id: key.id }, data: { label: "changed" } });
      expect((await keys.check(secret)).key).toMatchObject({ label: "cached" });
      // Expiry is checked at every use, cached or not.
      await db.prisma.apiKey.update({ where: { id: key.id }, data: { expiresAt: new Date(Date.now() + 300) } });
      cache.clear();
      expect((await keys.check(secret)).key).toMatchObject({ label: "changed" });
      await new Promise((resolve) => setTimeout(resolve, 350));
      expect(await keys.check(secret)).toEqual({ key: null, refused: "expired" });
      await db.prisma.apiKey.update({ where: { id: key.id }, data: { expiresAt: null } });
      cache.clear();
      expect((await keys.check(secret)).key).toMatchObject({ id: key.id });
      // A revocation through any store over this client drops the key before it returns.
      await new KeyStore(db.prisma).revoke(key.id);
      expect(cache.size).toBe(0);
      expect(await keys.check(secret)).toEqual({ key: null, refused: "unknown" });
    } finally {
      disableKeyCache(db.prisma);
    }
    expect(keyCacheOf(db.prisma)).toBeUndefined();
  });
});

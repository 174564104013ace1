// API keys: random secrets handed out once; the app database keeps only their SHA-256. A slow password
// hash is not needed: the secrets are 256 random bits, which no dictionary or brute force reaches.
import * as nodeCrypto from "node:crypto";
import { createHash, randomBytes } from "node:crypto";
import type { PrismaClient } from "@prisma/client";
import { isUuid } from "../appdb/ids.ts";
import { InvalidInputError, NotFoundError } from "../errors.ts";
import { isRole, KEY_REVOKED_CHANNEL, type ApiKeyInfo, type Role } from "./api-key.ts";
import { keyCacheOf } from "./key-cache.ts";

const PREFIX = "clm_";

/** crypto.hash, from Node 20.12 on (a namespace import: a named one would fail to load on 20.10). */
const oneShotHash = (nodeCrypto as Partial<typeof nodeCrypto>).hash;

export function hashSecret(secret: string): string {
  // Every request hashes its key: the one-shot hash skips building a Hash object.
  return oneShotHash ? oneShotHash("sha256", secret, "hex") : createHash("sha256").update(secret).digest("hex");
}

/** The longest label a key may have (characters, after trimming). */
export const LABEL_MAX = 100;

/** A label as stored (trimmed), or the reasons it cannot be one. */
export function checkLabel(label: string): { label: string; problems: string[] } {
  const trimmed = label.trim();
  const problems: string[] = [];
  if (trimmed.length > LABEL_MAX) problems.push(`at most ${LABEL_MAX} characters`);
  // NUL cannot be stored in PostgreSQL text, and other control characters break the CLI's tab-separated list.
  if (/[\u0000-\u001f\u007f]/.test(trimmed)) problems.push("must not contain control characters");
  return { label: trimmed, problems };
}

/** Why a key sent with a request is refused. */
export type KeyRefusal = "unknown" | "expired";

/** A secret checked: its key, or why there is none. */
export type KeyCheck = { readonly key: ApiKeyInfo } | { readonly key: null; readonly refused: KeyRefusal };

/** Whether a key has expired at `now`. */
export function hasExpired(key: ApiKeyInfo, now = Date.now()): boolean {
  return key.expiresAt !== null && key.expiresAt.getTime() <= now;
}

const EXPIRY_UNIT_MS = { h: 3_600_000, d: 86_400_000, w: 7 * 86_400_000 } as const;

/**
 * When a key given `--expires` stops working: a duration from now (`90d`, `12h`, `2w`) or an instant
 * (`2027-01-01`, the start of that day in UTC, or an ISO 8601 time with `Z` or an offset). Throws a
 * RangeError saying what is accepted, or that the instant is not in the future.
 */
export function parseExpiry(text: string, now = Date.now()): Date {
  const duration = /^(\d{1,6})([hdw])$/.exec(text.trim());
  let at: Date;
  if (duration) {
    const amount = Number(duration[1]);
    if (amount === 0) throw new RangeError("must be a positive duration");
    at = new Date(now + amount * EXPIRY_UNIT_MS[duration[2] as keyof typeof EXPIRY_UNIT_MS]);
  } else if (/^\d{4}-\d{2}-\d{2}$/.test(text.trim())) {
    at = new Date(`${text.trim()}T00:00:00Z`);
    // Date rolls 2027-02-31 over into March; a day that does not exist is refused instead.
    if (!Number.isNaN(at.getTime()) && at.toISOString().slice(0, 10) !== text.trim())
      throw new RangeError("is not a valid date");
  } else if (/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2}(\.\d{1,3})?)?(Z|[+-]\d{2}:\d{2})$/.test(text.trim())) {
    at = new Date(text.trim());
  } else {
    throw new RangeError("must be a duration such as 90d, 12h or 2w, or a date such as 2027-01-01 (UTC)");
  }
  if (Number.isNaN(at.getTime()) || at.getUTCFullYear() > 9999) throw new RangeError("is not a valid date");
  if (at.getTime() <= now) throw new RangeError(`must be in the future (got ${at.toISOString()})`);
  return at;
}

export class KeyStore {
  constructor(private readonly prisma: PrismaClient) {}

  /**
   * A new key; the secret is returned once and never stored. The label is trimmed, InvalidInputError if
   * invalid, as is an expiry that is not in the future.
   */
  async create(role: Role, label = "", expiresAt: Date | null = null): Promise<{ key: ApiKeyInfo; secret: string }> {
    const checked = checkLabel(label);
    if (checked.problems.length > 0) {
      throw new InvalidInputError(`invalid label: ${checked.problems.join("; ")}`, {
        argument: "label",
        issues: checked.problems.map((message) => ({ path: ["label"], message })),
      });
    }
    if (expiresAt !== null && !(expiresAt.getTime() > Date.now())) {
      const message = "must be in the future";
      throw new InvalidInputError(`invalid expiresAt: ${message}`, {
        argument: "expiresAt",
        issues: [{ path: ["expiresAt"], message }],
      });
    }
    label = checked.label;
    const secret = `${PREFIX}${randomBytes(32).toString("base64url")}`;
    const row = await this.prisma.apiKey.create({
      data: { role, label, hash: hashSecret(secret), prefix: secret.slice(0, PREFIX.length + 6), expiresAt },
    });
    return { key: row as ApiKeyInfo, secret };
  }

  /** Keys, oldest first; revoked ones too unless `includeRevoked` is false. */
  async list(options: { includeRevoked?: boolean } = {}): Promise<ApiKeyInfo[]> {
    return (await this.prisma.apiKey.findMany({
      where: options.includeRevoked === false ? { revokedAt: null } : {},
      orderBy: [{ createdAt: "asc" }, { id: "asc" }],
    })) as ApiKeyInfo[];
  }

  /** Revokes a key by id or by its shown prefix (which must name exactly one live key). */
  async revoke(idOrPrefix: string): Promise<ApiKeyInfo> {
    if (isUuid(idOrPrefix)) return this.revokeById(idOrPrefix);
    const matches = await this.prisma.apiKey.findMany({ where: { prefix: idOrPrefix, revokedAt: null } });
    if (matches.length === 0) throw new NotFoundError(`no live API key ${JSON.stringify(idOrPrefix)}`);
    if (matches.length > 1) throw new Error(`${matches.length} keys start with ${idOrPrefix}: revoke by id`);
    return this.revokeById(matches[0]!.id);
  }

  /**
   * Revokes the key with this id (NotFoundError for an unknown or malformed id). Idempotent: a key
   * revoked before stays as it was, with the time of its first revocation, even when two revokes race.
   */
  async revokeById(id: string): Promise<ApiKeyInfo> {
    if (!isUuid(id)) throw new NotFoundError(`no API key with id ${JSON.stringify(id)}`);
    // The notification goes out when the revocation commits, never without it: servers caching keys on
    // the same PostgreSQL app database drop this one (auth/key-revocations.ts). Sent again for a key
    // revoked before, in case a server missed it. PGlite has no other listener; it costs nothing there.
    await this.prisma.$transaction([
      this.prisma.apiKey.updateMany({ where: { id, revokedAt: null }, data: { revokedAt: new Date() } }),
      this.prisma.$executeRaw`SELECT pg_notify(${KEY_REVOKED_CHANNEL}, ${id})`,
    ]);
    // This process' own cache, before the caller hears the key is revoked.
    keyCacheOf(this.prisma)?.dropKey(id);
    const key = await this.prisma.apiKey.findUnique({ where: { id } });
    if (!key) throw new NotFoundError(`no API key with id ${JSON.stringify(id)}`);
    return key as ApiKeyInfo;
  }

  /** The live, unexpired key a secret belongs to, or null (unknown, revoked or expired). */
  async authenticate(secret: string): Promise<ApiKeyInfo | null> {
    return (await this.check(secret)).key;
  }

  /**
   * The key a secret belongs to, or why it is refused. Looked up in the app database, or in the key
   * cache when the server enabled one (auth/key-cache.ts says when a revocation reaches it); the cache
   * keeps each key's expiry, which is checked here at every use, so a cached key stops at its expiry.
   */
  async check(secret: string): Promise<KeyCheck> {
    if (!secret.startsWith(PREFIX) || secret.length > 200) return { key: null, refused: "unknown" };
    const secretHash = hashSecret(secret);
    const cache = keyCacheOf(this.prisma);
    const key = await (cache ? cache.get(secretHash, this.lookUp) : this.lookUp(secretHash));
    if (!key) return { key: null, refused: "unknown" };
    return hasExpired(key) ? { key: null, refused: "expired" } : { key };
  }

  /** The live key (expired or not) with this hash in the app database (made once per store: it runs on every request). */
  private readonly lookUp = async (secretHash: string): Promise<ApiKeyInfo | null> => {
    const key = await this.prisma.apiKey.findUnique({ where: { hash: secretHash } });
    return key && !key.revokedAt && isRole(key.role) ? (key as ApiKeyInfo) : null;
  };
}

// API keys: random secrets handed out once; the app database keeps only their SHA-256. A slow password
// hash is not needed: the secrets are 256 random bits, which no dictionary or brute force reaches.
import { createHash, randomBytes } from "node:crypto";
import type { PrismaClient } from "@prisma/client";
import { isUuid } from "../appdb/ids.ts";

export const ROLES = ["viewer", "analyst", "admin"] as const;
export type Role = (typeof ROLES)[number];

/** What each role may do, each including the one before. */
export const ROLE_RANK: Readonly<Record<Role, number>> = { viewer: 1, analyst: 2, admin: 3 };

export function isRole(value: string): value is Role {
  return (ROLES as readonly string[]).includes(value);
}

/** Whether `role` may do what `needed` may. */
export function allows(role: Role | null, needed: Role): boolean {
  return role !== null && ROLE_RANK[role] >= ROLE_RANK[needed];
}

const PREFIX = "clm_";

export function hashSecret(secret: string): string {
  return createHash("sha256").update(secret).digest("hex");
}

export interface ApiKeyInfo {
  readonly id: string;
  readonly label: string;
  readonly role: Role;
  readonly prefix: string;
  readonly createdAt: Date;
  readonly revokedAt: Date | null;
}

export class KeyStore {
  constructor(private readonly prisma: PrismaClient) {}

  /** A new key; the secret is returned once and never stored. */
  async create(role: Role, label = ""): Promise<{ key: ApiKeyInfo; secret: string }> {
    const secret = `${PREFIX}${randomBytes(32).toString("base64url")}`;
    const row = await this.prisma.apiKey.create({
      data: { role, label, hash: hashSecret(secret), prefix: secret.slice(0, PREFIX.length + 6) },
    });
    return { key: row as ApiKeyInfo, secret };
  }

  async list(): Promise<ApiKeyInfo[]> {
    return (await this.prisma.apiKey.findMany({ orderBy: { createdAt: "asc" } })) as ApiKeyInfo[];
  }

  /** Revokes a key by id or by its shown prefix (which must name exactly one live key). */
  async revoke(idOrPrefix: string): Promise<ApiKeyInfo> {
    const matches = await this.prisma.apiKey.findMany({
      where: isUuid(idOrPrefix) ? { id: idOrPrefix } : { prefix: idOrPrefix, revokedAt: null },
    });
    if (matches.length === 0) throw new Error(`no live API key ${JSON.stringify(idOrPrefix)}`);
    if (matches.length > 1) throw new Error(`${matches.length} keys start with ${idOrPrefix}: revoke by id`);
    const key = matches[0]!;
    if (key.revokedAt) return key as ApiKeyInfo;
    return (await this.prisma.apiKey.update({ where: { id: key.id }, data: { revokedAt: new Date() } })) as ApiKeyInfo;
  }

  /** The live key a secret belongs to, or null (unknown or revoked: looked up on every request). */
  async authenticate(secret: string): Promise<ApiKeyInfo | null> {
    if (!secret.startsWith(PREFIX) || secret.length > 200) return null;
    const key = await this.prisma.apiKey.findUnique({ where: { hash: hashSecret(secret) } });
    return key && !key.revokedAt && isRole(key.role) ? (key as ApiKeyInfo) : null;
  }
}

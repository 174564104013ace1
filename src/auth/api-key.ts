// What an API key is, shared by the store (./keys.ts), the key cache (./key-cache.ts) and the revocation
// listener (./key-revocations.ts): its role, the record the app database keeps, and the channel on which
// a revocation is announced.

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

export interface ApiKeyInfo {
  readonly id: string;
  readonly label: string;
  readonly role: Role;
  readonly prefix: string;
  readonly createdAt: Date;
  readonly revokedAt: Date | null;
  /** After this instant the key is refused; null: never. */
  readonly expiresAt: Date | null;
}

/** The channel KeyStore.revoke notifies, the key id as payload. */
export const KEY_REVOKED_CHANNEL = "clm_api_key_revoked";

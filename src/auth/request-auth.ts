// Who a request is: the role of its API key (Authorization: Bearer …), anonymous when the server allows
// it, or nobody. Looked up on every request, through the key cache when the server has one (a revoked key
// is still refused at once: auth/key-cache.ts says how).
import { allows, type Role } from "./api-key.ts";
import type { KeyRefusal, KeyStore } from "./keys.ts";

export interface RequestAuth {
  /** The role the request acts with; null: nobody (no key, anonymous access off, or a bad key). */
  readonly role: Role | null;
  readonly keyId: string | null;
  /** Who the key belongs to, for owner and changedBy of saved segments: its label, else its prefix. */
  readonly principal: string | null;
  /** A key was sent but is unknown, revoked or malformed. */
  readonly badKey: boolean;
  /** Why the key sent was refused (with badKey). */
  readonly keyRefused?: KeyRefusal;
}

/** Without a key, when anonymous access is on: an analyst, so the demo can save segments. */
export const ANONYMOUS_ROLE: Role = "analyst";

export async function authenticate(
  authorization: string | null,
  keys: KeyStore,
  allowAnonymous: boolean,
): Promise<RequestAuth> {
  if (authorization === null || authorization.trim() === "") {
    return { role: allowAnonymous ? ANONYMOUS_ROLE : null, keyId: null, principal: null, badKey: false };
  }
  const match = /^Bearer\s+(\S+)\s*$/i.exec(authorization);
  const checked = match ? await keys.check(match[1]!) : ({ key: null, refused: "unknown" } as const);
  if (!checked.key) return { role: null, keyId: null, principal: null, badKey: true, keyRefused: checked.refused };
  const key = checked.key;
  return { role: key.role, keyId: key.id, principal: key.label || `${key.prefix}…`, badKey: false };
}

/** The error code for a request that may not do what needs `needed`: no identity, or too little. */
export function refusal(
  auth: RequestAuth,
  needed: Role,
): { code: "UNAUTHENTICATED" | "FORBIDDEN"; message: string } | null {
  if (allows(auth.role, needed)) return null;
  if (auth.role === null) {
    return {
      code: "UNAUTHENTICATED",
      message: auth.badKey
        ? auth.keyRefused === "expired"
          ? "the API key has expired"
          : "the API key is unknown or revoked"
        : "an API key is required: send Authorization: Bearer <key> (create one with npx clm keys create)",
    };
  }
  return { code: "FORBIDDEN", message: `the ${auth.role} role may not do this; it needs ${needed}` };
}

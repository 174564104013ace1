// Who a request is (src/auth/request-auth.ts): the role of the key in `Authorization: Bearer …`, an
// analyst without one where anonymous access is on, else nobody; and the answer to a request whose role
// does not reach what it asks (README, Access control: UNAUTHENTICATED for no, a bad, a revoked or an
// expired key; FORBIDDEN for too small a role). The key store is a table of secrets here.
import { describe, expect, it } from "vitest";
import type { ApiKeyInfo, Role } from "../../src/auth/api-key.ts";
import type { KeyCheck, KeyStore } from "../../src/auth/keys.ts";
import { ANONYMOUS_ROLE, authenticate, refusal, type RequestAuth } from "../../src/auth/request-auth.ts";

function keyInfo(role: Role, label: string): ApiKeyInfo {
  return {
    id: `id-${role}`,
    label,
    role,
    prefix: "clm_AbCdEf",
    createdAt: new Date(0),
    revokedAt: null,
    expiresAt: null,
  };
}

/** A store that knows clm_admin (labelled "ops"), clm_viewer (no label) and clm_old (expired), recording what it was asked. */
function store() {
  const asked: string[] = [];
  const table: Record<string, KeyCheck> = {
    clm_admin: { key: keyInfo("admin", "ops") },
    clm_viewer: { key: keyInfo("viewer", "") },
    clm_old: { key: null, refused: "expired" },
  };
  const keys = {
    check: async (secret: string): Promise<KeyCheck> => {
      asked.push(secret);
      return table[secret] ?? { key: null, refused: "unknown" };
    },
  } as unknown as KeyStore;
  return { keys, asked };
}

describe("authenticate", () => {
  it("acts as an analyst without a key when anonymous access is on, else as nobody", async () => {
    expect(ANONYMOUS_ROLE).toBe("analyst");
    const { keys, asked } = store();
    for (const header of [null, "", "   "]) {
      expect(await authenticate(header, keys, true)).toEqual({
        role: "analyst",
        keyId: null,
        principal: null,
        badKey: false,
      });
      expect(await authenticate(header, keys, false)).toEqual({
        role: null,
        keyId: null,
        principal: null,
        badKey: false,
      });
    }
    expect(asked).toEqual([]);
  });

  it("takes the role and id of the key sent as a bearer token, its label as the principal", async () => {
    const { keys, asked } = store();
    expect(await authenticate("Bearer clm_admin", keys, false)).toEqual({
      role: "admin",
      keyId: "id-admin",
      principal: "ops",
      badKey: false,
    });
    // The scheme in any case, any white space around the token.
    expect(await authenticate("bearer \t clm_viewer  ", keys, true)).toEqual({
      role: "viewer",
      keyId: "id-viewer",
      principal: "clm_AbCdEf…",
      badKey: false,
    });
    expect((await authenticate("BEARER clm_admin", keys, false)).role).toBe("admin");
    expect(asked).toEqual(["clm_admin", "clm_viewer", "clm_admin"]);
  });

  it("makes a request with a bad key nobody, even where anonymous access is on, saying why", async () => {
    const { keys } = store();
    const bad = { role: null, keyId: null, principal: null, badKey: true };
    expect(await authenticate("Bearer clm_nope", keys, true)).toEqual({ ...bad, keyRefused: "unknown" });
    expect(await authenticate("Bearer clm_old", keys, true)).toEqual({ ...bad, keyRefused: "expired" });
  });

  it("refuses a header that is not one bearer token as an unknown key, without looking it up", async () => {
    const { keys, asked } = store();
    const malformed = [
      "clm_admin",
      "Basic clm_admin",
      "Bearer",
      "Bearer ",
      "Bearer clm_admin extra",
      "Bearerclm_admin",
      "x Bearer clm_admin",
    ];
    for (const header of malformed) {
      expect(await authenticate(header, keys, true), header).toEqual({
        role: null,
        keyId: null,
        principal: null,
        badKey: true,
        keyRefused: "unknown",
      });
    }
    expect(asked).toEqual([]);
  });
});

const auth = (role: Role | null, extra: Partial<RequestAuth> = {}): RequestAuth => ({
  role,
  keyId: null,
  principal: null,
  badKey: false,
  ...extra,
});

describe("refusal", () => {
  it("lets a role do what it or a role below it may", () => {
    expect(refusal(auth("viewer"), "viewer")).toBeNull();
    expect(refusal(auth("analyst"), "viewer")).toBeNull();
    expect(refusal(auth("admin"), "analyst")).toBeNull();
    expect(refusal(auth("admin"), "admin")).toBeNull();
  });

  it("answers FORBIDDEN to too small a role, naming both", () => {
    expect(refusal(auth("viewer"), "analyst")).toEqual({
      code: "FORBIDDEN",
      message: "the viewer role may not do this; it needs analyst",
    });
    expect(refusal(auth("analyst"), "admin")).toEqual({
      code: "FORBIDDEN",
      message: "the analyst role may not do this; it needs admin",
    });
  });

  it("answers UNAUTHENTICATED to nobody: no key, an unknown or revoked one, an expired one", () => {
    expect(refusal(auth(null), "viewer")).toEqual({
      code: "UNAUTHENTICATED",
      message: "an API key is required: send Authorization: Bearer <key> (create one with npx clm keys create)",
    });
    expect(refusal(auth(null, { badKey: true, keyRefused: "unknown" }), "viewer")).toEqual({
      code: "UNAUTHENTICATED",
      message: "the API key is unknown or revoked",
    });
    expect(refusal(auth(null, { badKey: true }), "admin")).toEqual({
      code: "UNAUTHENTICATED",
      message: "the API key is unknown or revoked",
    });
    expect(refusal(auth(null, { badKey: true, keyRefused: "expired" }), "viewer")).toEqual({
      code: "UNAUTHENTICATED",
      message: "the API key has expired",
    });
  });
});

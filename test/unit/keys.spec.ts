// API keys (src/auth/keys.ts, api-key.ts) on their own: roles each including the one before, the SHA-256
// the app database keeps, labels, expiry (`--expires 90d`, a day in UTC, an ISO time). The store over an
// app database is key-store.spec.ts. README, Access control, is the contract.
import { describe, expect, it, vi } from "vitest";
import { allows, isRole, KEY_REVOKED_CHANNEL, ROLE_RANK, ROLES } from "../../src/auth/api-key.ts";
import { checkLabel, hashSecret, hasExpired, LABEL_MAX, parseExpiry } from "../../src/auth/keys.ts";
import type { ApiKeyInfo } from "../../src/auth/api-key.ts";
import { fileURLToPath } from "node:url";

const KEYS_MODULE = new URL("../../src/auth/keys.ts", import.meta.url);
/** The file of a module keys.ts imports, by the path keys.ts names it with. */
const besideKeys = (path: string) => fileURLToPath(new URL(path, KEYS_MODULE));

describe("roles", () => {
  it("are viewer, analyst and admin, each including the one before", () => {
    expect(ROLES).toEqual(["viewer", "analyst", "admin"]);
    expect(ROLE_RANK).toEqual({ viewer: 1, analyst: 2, admin: 3 });
    const table = ROLES.map((role) => ROLES.map((needed) => allows(role, needed)));
    expect(table).toEqual([
      [true, false, false],
      [true, true, false],
      [true, true, true],
    ]);
  });

  it("allow nothing to nobody", () => {
    for (const needed of ROLES) expect(allows(null, needed)).toBe(false);
  });

  it("are recognised by their exact names only", () => {
    for (const role of ROLES) expect(isRole(role)).toBe(true);
    for (const other of ["", "Admin", "owner", "viewer ", "toString"]) expect(isRole(other)).toBe(false);
  });

  it("announce revocations on clm_api_key_revoked", () => {
    expect(KEY_REVOKED_CHANNEL).toBe("clm_api_key_revoked");
  });
});

describe("hashSecret", () => {
  it("is the hex SHA-256 of the secret", () => {
    // sha256("abc"), the FIPS 180-2 example.
    expect(hashSecret("abc")).toBe("ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
    expect(hashSecret("")).toBe("e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
  });

  it("is the same on a Node without crypto.hash (before 20.12), for the keys made there too", async () => {
    // Only keys.ts is loaded anew: the project modules it imports are handed over as already loaded, so
    // their module-level constants are not re-run inside this test (mutation testing would take them for
    // this test's to kill).
    const kept = ["../appdb/ids.ts", "../errors.ts", "./api-key.ts", "./key-cache.ts"];
    const modules = await Promise.all(kept.map((path) => import(besideKeys(path))));
    vi.resetModules();
    kept.forEach((path, i) => vi.doMock(besideKeys(path), () => modules[i]));
    vi.doMock("node:crypto", async (importOriginal) => ({
      ...(await importOriginal<typeof import("node:crypto")>()),
      hash: undefined,
    }));
    try {
      const older = await import("../../src/auth/keys.ts");
      expect(older.hashSecret("abc")).toBe("ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
      // A stand-in app database that keeps what it is given (the module is loaded anew for this test).
      const stored: Record<string, unknown>[] = [];
      const prisma = { apiKey: { create: async ({ data }: { data: Record<string, unknown> }) => stored.push(data) } };
      const { secret } = await new older.KeyStore(prisma as never).create("viewer");
      expect(secret).toMatch(/^clm_[A-Za-z0-9_-]{43}$/);
      expect(stored).toEqual([
        expect.objectContaining({ prefix: secret.slice(0, 10), hash: older.hashSecret(secret), role: "viewer" }),
      ]);
    } finally {
      vi.doUnmock("node:crypto");
      for (const path of kept) vi.doUnmock(besideKeys(path));
      vi.resetModules();
    }
  });
});

describe("checkLabel", () => {
  it("trims a label and takes up to 100 characters", () => {
    expect(LABEL_MAX).toBe(100);
    expect(checkLabel("  BI dashboard \n")).toEqual({ label: "BI dashboard", problems: [] });
    expect(checkLabel(` ${"a".repeat(100)} `)).toEqual({ label: "a".repeat(100), problems: [] });
    expect(checkLabel("")).toEqual({ label: "", problems: [] });
  });

  it("refuses more than 100 characters and control characters, saying which", () => {
    expect(checkLabel("a".repeat(101)).problems).toEqual(["at most 100 characters"]);
    for (const c of ["\u0000", "\u0001", "\t", "\u001f", "\u007f"]) {
      expect(checkLabel(`a${c}b`).problems, JSON.stringify(c)).toEqual(["must not contain control characters"]);
    }
    expect(checkLabel(`${"a".repeat(101)}\u0007`).problems).toEqual([
      "at most 100 characters",
      "must not contain control characters",
    ]);
    // Printable characters around the control range pass: space, "~", "\u0080", "é".
    expect(checkLabel("a ~\u0080é b").problems).toEqual([]);
  });
});

function keyExpiring(expiresAt: Date | null): ApiKeyInfo {
  const createdAt = new Date(0);
  return { id: "k", label: "", role: "viewer", prefix: "clm_abcdef", createdAt, revokedAt: null, expiresAt };
}

describe("hasExpired", () => {
  it("is true from the expiry instant on, and never without one", () => {
    const key = keyExpiring(new Date(1_000));
    expect(hasExpired(key, 999)).toBe(false);
    expect(hasExpired(key, 1_000)).toBe(true);
    expect(hasExpired(key, 1_001)).toBe(true);
    expect(hasExpired(keyExpiring(null), Number.MAX_SAFE_INTEGER)).toBe(false);
  });

  it("compares with the current time by default", () => {
    expect(hasExpired(keyExpiring(new Date(Date.now() - 1_000)))).toBe(true);
    expect(hasExpired(keyExpiring(new Date(Date.now() + 60_000)))).toBe(false);
  });
});

describe("parseExpiry", () => {
  const now = Date.UTC(2026, 5, 15, 12, 0, 0);
  const at = (text: string) => parseExpiry(text, now).toISOString();

  it("takes hours, days and weeks from now", () => {
    expect(at("12h")).toBe("2026-06-16T00:00:00.000Z");
    expect(at("90d")).toBe("2026-09-13T12:00:00.000Z");
    expect(at("2w")).toBe("2026-06-29T12:00:00.000Z");
    expect(at(" 1d ")).toBe("2026-06-16T12:00:00.000Z");
    expect(at("999999h")).toBe(new Date(now + 999_999 * 3_600_000).toISOString());
  });

  it("takes a day as its start in UTC, and an ISO time with Z or an offset", () => {
    expect(at("2027-01-01")).toBe("2027-01-01T00:00:00.000Z");
    expect(at(" 2027-01-01 ")).toBe("2027-01-01T00:00:00.000Z");
    expect(at("2026-06-15T12:00:01Z")).toBe("2026-06-15T12:00:01.000Z");
    expect(at("2026-06-16T08:30+02:00")).toBe("2026-06-16T06:30:00.000Z");
    expect(at("2026-06-16T08:30:15.5-01:00")).toBe("2026-06-16T09:30:15.500Z");
    expect(at(" 2026-06-16T08:30+02:00\n")).toBe("2026-06-16T06:30:00.000Z");
    expect(at("9999-12-31")).toBe("9999-12-31T00:00:00.000Z");
  });

  it("uses the current time by default", () => {
    const expiry = parseExpiry("1h").getTime();
    expect(Math.abs(expiry - (Date.now() + 3_600_000))).toBeLessThan(5_000);
  });

  it("refuses a zero duration", () => {
    expect(() => parseExpiry("0d", now)).toThrow(new RangeError("must be a positive duration"));
  });

  it("refuses what is neither a duration nor a day nor an ISO time with a zone, saying what is accepted", () => {
    const accepted = "must be a duration such as 90d, 12h or 2w, or a date such as 2027-01-01 (UTC)";
    for (const text of [
      "",
      "90",
      "d",
      "1y",
      "1000000h",
      "-1d",
      "1.5d",
      "90 d",
      "90D",
      "x90d",
      "90dx",
      "2027-1-1",
      "2027-01-01T00:00",
      "2027-01-01 00:00Z",
      "2027-01-01T00:00:00.1234Z",
      "x2027-01-01",
      "x2026-06-16T08:30Z",
      "2026-06-16T08:30Zx",
      "2027-01-01x",
    ]) {
      expect(() => parseExpiry(text, now), text).toThrow(new RangeError(accepted));
    }
  });

  it("refuses a day that does not exist rather than rolling it over, and years past 9999", () => {
    for (const text of ["2027-02-29", "2027-02-31", "2027-13-01", "2027-00-10", "2026-06-15T25:00Z", "10000-01-01"]) {
      expect(() => parseExpiry(text, now), text).toThrow(RangeError);
    }
    expect(() => parseExpiry("2027-02-31", now)).toThrow(new RangeError("is not a valid date"));
    expect(() => parseExpiry("2027-13-01", now)).toThrow(new RangeError("is not a valid date"));
    expect(() => parseExpiry("2026-06-15T25:00Z", now)).toThrow(new RangeError("is not a valid date"));
    // 2028 is a leap year.
    expect(at("2028-02-29")).toBe("2028-02-29T00:00:00.000Z");
    // A duration beyond year 9999.
    expect(() => parseExpiry("999999w", now)).toThrow(new RangeError("is not a valid date"));
  });

  it("refuses an instant that is not in the future, naming it", () => {
    expect(() => parseExpiry("2026-06-15T12:00Z", now)).toThrow(
      new RangeError("must be in the future (got 2026-06-15T12:00:00.000Z)"),
    );
    expect(() => parseExpiry("2026-06-15", now)).toThrow(
      new RangeError("must be in the future (got 2026-06-15T00:00:00.000Z)"),
    );
    expect(at("2026-06-15T12:00:00.001Z")).toBe("2026-06-15T12:00:00.001Z");
  });
});

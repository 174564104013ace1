// API-key management over GraphQL: admins only (viewers and analysts FORBIDDEN, no key UNAUTHENTICATED),
// the secret shown once and working at once, never a hash in an answer, revocation refused on the next
// request (the caller's own key included), NOT_FOUND for unknown ids and BAD_USER_INPUT for bad labels.
import { createHash } from "node:crypto";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { KeyStore } from "../../src/auth/keys.ts";
import { startTestServer, type TestServer } from "../helpers/server.ts";
import { METRIC_ROWS } from "../fixtures/metrics.ts";

interface Answer {
  data?: Record<string, unknown> | null;
  errors?: { message: string; path?: (string | number)[]; extensions?: Record<string, unknown> }[];
}

interface ApiKeyShape {
  id: string;
  label: string;
  role: string;
  prefix: string;
  createdAt: string;
  revokedAt: string | null;
  revoked: boolean;
}

let server: TestServer;
let keys: KeyStore;
/** The first admin comes from the key store, as `clm keys create --role admin` makes it. */
let admin: { id: string; secret: string };
let viewerSecret: string;
let analystSecret: string;

beforeAll(async () => {
  server = await startTestServer({ rows: METRIC_ROWS, allowAnonymous: false });
  keys = new KeyStore(server.appDb.prisma);
  const created = await keys.create("admin", "ops");
  admin = { id: created.key.id, secret: created.secret };
  viewerSecret = (await keys.create("viewer", "dashboard")).secret;
  analystSecret = (await keys.create("analyst", "crm team")).secret;
});
afterAll(async () => {
  await server?.close();
});

async function ask(query: string, secret?: string, variables?: Record<string, unknown>): Promise<Answer> {
  const response = await server.yoga.fetch("http://test/graphql", {
    method: "POST",
    headers: { "content-type": "application/json", ...(secret ? { authorization: `Bearer ${secret}` } : {}) },
    body: JSON.stringify({ query, variables }),
  });
  return (await response.json()) as Answer;
}

const KEY_FIELDS = "id label role prefix createdAt revokedAt revoked";
const LIST = `query($all: Boolean) { apiKeys(includeRevoked: $all) { ${KEY_FIELDS} } }`;
const LIST_DEFAULT = `{ apiKeys { ${KEY_FIELDS} } }`;
const CREATE = `mutation($role: ApiKeyRole!, $label: String) { createApiKey(role: $role, label: $label) { secret key { ${KEY_FIELDS} } } }`;
const REVOKE = `mutation($id: ID!) { revokeApiKey(id: $id) { ${KEY_FIELDS} } }`;
const STAGES = `{ stages(asOf: "2026-06-30") { key } }`;
const CREATE_SEGMENT = `mutation($name: String!) { createSegment(input: { name: $name, definition: { field: "stage", op: "eq", value: "new" } }) { name owner } }`;

/** The three fields, each asked alone, with variables that would succeed for an admin. */
function fieldsToRefuse(): { field: string; query: string; variables: Record<string, unknown> }[] {
  return [
    { field: "apiKeys", query: LIST, variables: { all: true } },
    { field: "createApiKey", query: CREATE, variables: { role: "ADMIN", label: "escalation" } },
    { field: "revokeApiKey", query: REVOKE, variables: { id: admin.id } },
  ];
}

/** A key as the API shows it, from its row in the app database. */
async function shownKey(id: string): Promise<ApiKeyShape> {
  const row = await server.appDb.prisma.apiKey.findUniqueOrThrow({ where: { id } });
  return {
    id: row.id,
    label: row.label,
    role: row.role.toUpperCase(),
    prefix: row.prefix,
    createdAt: row.createdAt.toISOString(),
    revokedAt: row.revokedAt?.toISOString() ?? null,
    revoked: row.revokedAt !== null,
  };
}

async function createKey(role: string, label: string, secret = admin.secret) {
  const answer = await ask(CREATE, secret, { role, label });
  expect(answer.errors).toBeUndefined();
  return answer.data!.createApiKey as { secret: string; key: ApiKeyShape };
}

describe("who may manage API keys", () => {
  it("refuses all three fields without a key (UNAUTHENTICATED) and with a bad one", async () => {
    for (const { field, query, variables } of fieldsToRefuse()) {
      const none = await ask(query, undefined, variables);
      expect(none.data ?? null, field).toBeNull();
      expect(none.errors, field).toHaveLength(1);
      expect(none.errors![0]!.extensions!.code, field).toBe("UNAUTHENTICATED");
      expect(none.errors![0]!.message, field).toBe(
        "an API key is required: send Authorization: Bearer <key> (create one with npx clm keys create)",
      );
      // Refused whole with 401 (as the export refuses it), before any field runs: no path.
      expect(none.errors![0]!.path, field).toBeUndefined();
      const madeUp = await ask(query, "clm_madeup", variables);
      expect(madeUp.errors![0]!.extensions!.code, field).toBe("UNAUTHENTICATED");
      expect(madeUp.errors![0]!.message, field).toBe("the API key is unknown or revoked");
    }
  });

  it("refuses all three fields to viewers and analysts (FORBIDDEN, needs admin) and changes nothing", async () => {
    const before = await server.appDb.prisma.apiKey.findMany({ orderBy: { id: "asc" } });
    for (const [role, secret] of [
      ["viewer", viewerSecret],
      ["analyst", analystSecret],
    ] as const) {
      for (const { field, query, variables } of fieldsToRefuse()) {
        const refused = await ask(query, secret, variables);
        expect(refused.data ?? null, `${role} ${field}`).toBeNull();
        expect(refused.errors, `${role} ${field}`).toHaveLength(1);
        expect(refused.errors![0]!.extensions!.code, `${role} ${field}`).toBe("FORBIDDEN");
        expect(refused.errors![0]!.message, `${role} ${field}`).toBe(
          `the ${role} role may not do this; it needs admin`,
        );
        expect(refused.errors![0]!.path, `${role} ${field}`).toEqual([field]);
      }
    }
    // No key was created and the admin key the refused revokes named is still live.
    expect(await server.appDb.prisma.apiKey.findMany({ orderBy: { id: "asc" } })).toEqual(before);
    expect((await ask(STAGES, admin.secret)).errors).toBeUndefined();
  });
});

describe("managing API keys as an admin", () => {
  it("creates a key whose secret works at once for its role, and stores only its hash", async () => {
    const created = await createKey("ANALYST", "  etl job  ");
    expect(created.secret).toMatch(/^clm_[A-Za-z0-9_-]{43}$/);
    expect(created.key).toEqual(await shownKey(created.key.id));
    expect(created.key).toMatchObject({
      label: "etl job",
      role: "ANALYST",
      prefix: created.secret.slice(0, 10),
      revokedAt: null,
      revoked: false,
    });
    const row = await server.appDb.prisma.apiKey.findUniqueOrThrow({ where: { id: created.key.id } });
    expect(row.hash).toBe(createHash("sha256").update(created.secret).digest("hex"));
    expect(JSON.stringify(row)).not.toContain(created.secret.slice(10));

    // The new analyst key reads and saves segments (as their owner), but may not manage keys.
    expect(await ask(STAGES, created.secret)).toEqual({ data: { stages: expect.any(Array) } });
    expect(await ask(CREATE_SEGMENT, created.secret, { name: "by etl" })).toEqual({
      data: { createSegment: { name: "by etl", owner: "etl job" } },
    });
    expect((await ask(LIST_DEFAULT, created.secret)).errors![0]!.extensions!.code).toBe("FORBIDDEN");

    // A viewer key made over GraphQL reads but may not save a segment.
    const viewer = await createKey("VIEWER", "");
    expect(viewer.key).toMatchObject({ label: "", role: "VIEWER", revoked: false });
    expect((await ask(STAGES, viewer.secret)).errors).toBeUndefined();
    const refused = await ask(CREATE_SEGMENT, viewer.secret, { name: "by viewer" });
    expect(refused.errors![0]!.extensions!.code).toBe("FORBIDDEN");
    expect(refused.errors![0]!.message).toBe("the viewer role may not do this; it needs analyst");

    // An admin key made over GraphQL manages keys in turn.
    const second = await createKey("ADMIN", "second admin");
    expect((await ask(LIST_DEFAULT, second.secret)).errors).toBeUndefined();
  });

  it("lists keys oldest first without any hash or secret; revoked ones only when asked", async () => {
    const rows = await server.appDb.prisma.apiKey.findMany({ orderBy: [{ createdAt: "asc" }, { id: "asc" }] });
    const expected = await Promise.all(rows.map((r) => shownKey(r.id)));
    // (Keys made in the same millisecond are ordered by id, so the order of these is not asserted.)
    expect(expected.map((k) => `${k.role} ${k.label}`).sort()).toEqual([
      "ADMIN ops",
      "ADMIN second admin",
      "ANALYST crm team",
      "ANALYST etl job",
      "VIEWER ",
      "VIEWER dashboard",
    ]);
    const listed = await ask(LIST_DEFAULT, admin.secret);
    expect(listed).toEqual({ data: { apiKeys: expected } });
    const text = JSON.stringify(listed);
    for (const row of rows) expect(text).not.toContain(row.hash);

    // The type has no field that could carry the hash.
    const type = await ask(`{ __type(name: "ApiKey") { fields { name } } }`, admin.secret);
    expect((type.data!.__type as { fields: { name: string }[] }).fields.map((f) => f.name).sort()).toEqual([
      "createdAt",
      "expired",
      "expiresAt",
      "id",
      "label",
      "prefix",
      "revoked",
      "revokedAt",
      "role",
    ]);
    const hash = await ask(`{ apiKeys { hash } }`, admin.secret);
    expect(hash.errors![0]!.message).toBe('Cannot query field "hash" on type "ApiKey".');
  });

  it("revokes a key: its next request is refused; revoking again changes nothing", async () => {
    const { key, secret } = await createKey("VIEWER", "to revoke");
    expect((await ask(STAGES, secret)).errors).toBeUndefined();
    const revoked = await ask(REVOKE, admin.secret, { id: key.id });
    expect(revoked.errors).toBeUndefined();
    const shown = revoked.data!.revokeApiKey as ApiKeyShape;
    expect(shown).toEqual(await shownKey(key.id));
    expect(shown).toMatchObject({ id: key.id, label: "to revoke", role: "VIEWER", revoked: true });
    expect(Date.parse(shown.revokedAt!)).toBeGreaterThanOrEqual(Date.parse(key.createdAt));

    const refused = await ask(STAGES, secret);
    expect(refused.data ?? null).toBeNull();
    expect(refused.errors![0]!.extensions!.code).toBe("UNAUTHENTICATED");
    expect(refused.errors![0]!.message).toBe("the API key is unknown or revoked");

    // Idempotent: the same key, still with the time of the first revocation.
    expect(await ask(REVOKE, admin.secret, { id: key.id })).toEqual({ data: { revokeApiKey: shown } });

    // Hidden from the default list, shown with includeRevoked.
    const live = (await ask(LIST, admin.secret, { all: false })).data!.apiKeys as ApiKeyShape[];
    const all = (await ask(LIST, admin.secret, { all: true })).data!.apiKeys as ApiKeyShape[];
    expect(live.map((k) => k.id)).not.toContain(key.id);
    expect(live.every((k) => !k.revoked)).toBe(true);
    expect(all.filter((k) => k.revoked)).toEqual([shown]);
    expect(all).toHaveLength(live.length + 1);
  });

  it("lets an admin revoke the key they are using: the request completes, the next one is refused", async () => {
    const own = await createKey("ADMIN", "short-lived admin");
    const revoked = await ask(REVOKE, own.secret, { id: own.key.id });
    expect(revoked.errors).toBeUndefined();
    expect(revoked.data!.revokeApiKey).toMatchObject({ id: own.key.id, revoked: true });
    const next = await ask(LIST_DEFAULT, own.secret);
    expect(next.data ?? null).toBeNull();
    expect(next.errors![0]!.extensions!.code).toBe("UNAUTHENTICATED");
    expect(next.errors![0]!.message).toBe("the API key is unknown or revoked");
  });

  it("answers NOT_FOUND with the path for an unknown, a malformed or a prefix id", async () => {
    const { key } = await createKey("VIEWER", "kept");
    for (const id of ["00000000-0000-0000-0000-000000000000", "nope", key.prefix, ""]) {
      const answer = await ask(REVOKE, admin.secret, { id });
      expect(answer.data ?? null, id).toBeNull();
      expect(answer.errors, id).toHaveLength(1);
      expect(answer.errors![0]!.extensions!.code, id).toBe("NOT_FOUND");
      expect(answer.errors![0]!.message, id).toBe(`no API key with id ${JSON.stringify(id)}`);
      expect(answer.errors![0]!.path, id).toEqual(["revokeApiKey"]);
    }
    // Revoking by prefix is for the CLI only: the key named by its prefix is still live.
    expect((await shownKey(key.id)).revoked).toBe(false);
  });

  it("refuses a label over 100 characters or with control characters (BAD_USER_INPUT with the path)", async () => {
    const count = await server.appDb.prisma.apiKey.count();
    const cases: [string, string[]][] = [
      ["x".repeat(101), ["at most 100 characters"]],
      ["soh\u0001byte", ["must not contain control characters"]],
      ["tab\there", ["must not contain control characters"]],
      [`${"y".repeat(101)}\u0001`, ["at most 100 characters", "must not contain control characters"]],
    ];
    for (const [label, messages] of cases) {
      const answer = await ask(CREATE, admin.secret, { role: "VIEWER", label });
      expect(answer.data ?? null, label).toBeNull();
      expect(answer.errors, label).toHaveLength(1);
      expect(answer.errors![0]!.path, label).toEqual(["createApiKey"]);
      expect(answer.errors![0]!.message, label).toBe(`invalid label: ${messages.join("; ")}`);
      expect(answer.errors![0]!.extensions, label).toMatchObject({
        code: "BAD_USER_INPUT",
        argument: "label",
        issues: messages.map((message) => ({ path: ["label"], message })),
      });
    }
    // NUL is refused for every argument before anything runs (server/input-hygiene.ts).
    const nul = await ask(CREATE, admin.secret, { role: "VIEWER", label: "nul\u0000byte" });
    expect(nul.errors?.[0]?.extensions?.code).toBe("BAD_USER_INPUT");
    expect(await server.appDb.prisma.apiKey.count()).toBe(count);
    // 100 characters is the limit, and spaces around a label do not count toward it.
    const longest = await createKey("VIEWER", ` ${"z".repeat(100)} `);
    expect(longest.key.label).toBe("z".repeat(100));
    expect(await server.appDb.prisma.apiKey.count()).toBe(count + 1);
  });

  it("refuses a role that is not one of the enum's values", async () => {
    const answer = await ask(CREATE, admin.secret, { role: "admin", label: "lower case" });
    expect(answer.data ?? null).toBeNull();
    expect(answer.errors![0]!.message).toMatch(/Value "admin" does not exist in "ApiKeyRole" enum/);
  });
});

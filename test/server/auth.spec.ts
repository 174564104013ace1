// Access control: API keys with roles (viewer ⊂ analyst ⊂ admin), only hashes stored, revocation at
// once, anonymous access only when allowed; the CSV export and introspection follow the same rules.
import { createHash } from "node:crypto";
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { pino } from "pino";
import { KeyStore } from "../../src/auth/keys.ts";
import { defaultStageModel } from "../../src/lifecycle/stage-model.ts";
import { createAppServices } from "../../src/services/app-services.ts";
import { availableTables } from "../../src/services/lifecycle/service.ts";
import { createClmYoga } from "../../src/server/yoga.ts";
import { runClm } from "../helpers/process.ts";
import { startTestServer, type TestServer } from "../helpers/server.ts";
import { METRIC_ROWS } from "../fixtures/metrics.ts";

let server: TestServer;
let keys: KeyStore;
beforeAll(async () => {
  server = await startTestServer({ rows: METRIC_ROWS, allowAnonymous: false });
  keys = new KeyStore(server.appDb.prisma);
});
afterAll(async () => {
  await server?.close();
});

async function ask(query: string, secret?: string, variables?: Record<string, unknown>) {
  const response = await server.yoga.fetch("http://test/graphql", {
    method: "POST",
    headers: { "content-type": "application/json", ...(secret ? { authorization: `Bearer ${secret}` } : {}) },
    body: JSON.stringify({ query, variables }),
  });
  return (await response.json()) as {
    data?: Record<string, unknown> | null;
    errors?: { message: string; path?: string[]; extensions?: { code?: string } }[];
  };
}

const CREATE = `mutation($name: String!) { createSegment(input: { name: $name, definition: { field: "stage", op: "eq", value: "new" } }) { id } }`;

describe("API keys and roles", () => {
  it("refuses every field without a key when anonymous access is off", async () => {
    const { data, errors } = await ask(`{ stages(asOf: "2026-06-30") { key } }`);
    expect(data?.stages ?? null).toBeNull();
    expect(errors![0]!.extensions!.code).toBe("UNAUTHENTICATED");
    expect(errors![0]!.message).toMatch(/API key is required/);
    // Refused whole (401) before anything runs, as the export refuses it: no field path.
    expect(errors![0]!.path).toBeUndefined();
  });

  it("lets a viewer read but not create a segment; an analyst may", async () => {
    const viewer = await keys.create("viewer", "dashboard");
    const analyst = await keys.create("analyst", "crm team");
    const read = await ask(`{ stages(asOf: "2026-06-30") { key count } }`, viewer.secret);
    expect(read.errors).toBeUndefined();
    const refused = await ask(CREATE, viewer.secret, { name: "by viewer" });
    expect(refused.errors![0]!.extensions!.code).toBe("FORBIDDEN");
    expect(refused.errors![0]!.message).toMatch(/viewer role may not do this; it needs analyst/);
    expect(await server.appDb.prisma.segment.count({ where: { name: "by viewer" } })).toBe(0);
    const created = await ask(CREATE, analyst.secret, { name: "by analyst" });
    expect(created.errors).toBeUndefined();
    // The key's label is the segment's owner and the version's author.
    const saved = await server.appDb.prisma.segment.findFirstOrThrow({
      where: { name: "by analyst" },
      include: { versions: true },
    });
    expect(saved.owner).toBe("crm team");
    expect(saved.versions[0]!.changedBy).toBe("crm team");
  });

  it("stores only a hash of each secret", async () => {
    const { key, secret } = await keys.create("admin", "ops");
    const row = await server.appDb.prisma.apiKey.findUniqueOrThrow({ where: { id: key.id } });
    expect(row.hash).toBe(createHash("sha256").update(secret).digest("hex"));
    expect(JSON.stringify(row)).not.toContain(secret.slice(12));
    expect(secret).toMatch(/^clm_[A-Za-z0-9_-]{43}$/);
  });

  it("refuses a revoked key at once, and a made-up or malformed one", async () => {
    const { key, secret } = await keys.create("analyst");
    expect((await ask(`{ stages { key } }`, secret)).errors).toBeUndefined();
    await keys.revoke(key.id);
    const revoked = await ask(`{ stages { key } }`, secret);
    expect(revoked.errors![0]!.extensions!.code).toBe("UNAUTHENTICATED");
    expect(revoked.errors![0]!.message).toMatch(/unknown or revoked/);
    expect((await ask(`{ stages { key } }`, "clm_madeup")).errors![0]!.extensions!.code).toBe("UNAUTHENTICATED");
    const response = await server.yoga.fetch("http://test/graphql?query=%7Bstages%7Bkey%7D%7D", {
      headers: { authorization: "Basic dXNlcjpwdw==" },
    });
    const body = (await response.json()) as { errors: { extensions: { code: string } }[] };
    expect(body.errors[0]!.extensions.code).toBe("UNAUTHENTICATED");
  });

  it("guards the CSV export like GraphQL", async () => {
    const segment = (await server.appDb.prisma.segment.findFirst({ where: { name: "by analyst" } }))!;
    const url = `http://test/segments/${segment.id}/members.csv?asOf=2026-06-30`;
    const anonymous = await server.yoga.fetch(url);
    expect(anonymous.status).toBe(401);
    expect(await anonymous.json()).toMatchObject({ errors: [{ extensions: { code: "UNAUTHENTICATED" } }] });
    const viewer = await keys.create("viewer");
    const allowed = await server.yoga.fetch(url, { headers: { authorization: `Bearer ${viewer.secret}` } });
    expect(allowed.status).toBe(200);
    expect((await allowed.text()).split("\r\n")[1]).toMatch(/^A,new,/);
  });

  it("lets anonymous requests act as an analyst only when allowed", async () => {
    const open = createClmYoga(
      {
        ...createAppServices({
          warehouse: server.warehouse,
          prisma: server.appDb.prisma,
          log: pino({ level: "silent" }),
          stageModel: defaultStageModel(),
          timeZone: "UTC",
          available: availableTables(await server.warehouse.tableStatus()),
        }),
        prisma: server.appDb.prisma,
        pingAppDatabase: () => server.appDb.ping(),
      },
      { allowAnonymous: true, introspection: false },
    );
    const post = (query: string) =>
      open.fetch("http://test/graphql", {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify({ query }),
      });
    const read = (await (await post(`{ stages { key } }`)).json()) as { errors?: unknown };
    expect(read.errors).toBeUndefined();
    const introspection = (await (await post(`{ __schema { types { name } } }`)).json()) as {
      errors?: { message: string }[];
    };
    expect(introspection.errors![0]!.message).toMatch(/introspection/i);
  });
});

describe("clm keys", () => {
  it("creates (printing the key once), lists and revokes keys in the app database", async () => {
    const env = { CLM_DATA_DIR: join(mkdtempSync(join(tmpdir(), "clm-keys-")), "data") };
    const created = await runClm(["keys", "create", "--role", "analyst", "--label", "etl"], env);
    expect(created.code, created.stderr).toBe(0);
    const secret = created.stdout.trim();
    expect(secret).toMatch(/^clm_/);
    expect(created.stderr).toMatch(/shown only this once/);
    const listed = await runClm(["keys", "list"], env);
    const [id, role, prefix, label, , state] = listed.stdout.trim().split("\t");
    expect([role, label, state]).toEqual(["analyst", "etl", "live"]);
    expect(secret.startsWith(prefix!.replace("…", ""))).toBe(true);
    expect(listed.stdout).not.toContain(secret);
    const revoked = await runClm(["keys", "revoke", prefix!.replace("…", "")], env);
    expect(revoked.code, revoked.stderr).toBe(0);
    expect((await runClm(["keys", "list"], env)).stdout).toMatch(new RegExp(`^${id}\\t.*\\trevoked `));
    const bad = await runClm(["keys", "create", "--role", "boss"], env);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toMatch(/must be one of viewer, analyst, admin/);
  }, 60_000);
});

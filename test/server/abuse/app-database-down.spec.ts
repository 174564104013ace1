// The app database going away: every answer is coded JSON with a request id (never the adapter's
// text/plain stack trace), the failure is logged and counted, keys already known keep reading the
// warehouse, and the server recovers by itself. On a fresh machine the outage is the error Prisma's
// PostgreSQL adapter gives for an unreachable server, raised by every app-database call; with
// TEST_DATABASE_URL it is real: the app database sits behind a TCP proxy that is stopped and started.
import { Prisma, type PrismaClient } from "@prisma/client";
import { afterEach, describe, expect, it } from "vitest";
import { KeyStore } from "../../../src/auth/keys.ts";
import { openAppDatabase } from "../../../src/appdb/database.ts";
import {
  adminQuery,
  openTestAppDatabase,
  TEST_DATABASE_URL,
  testName,
  withDatabase,
  type TestAppDatabase,
} from "../../helpers/databases.ts";
import { startTestServer, type TestServer } from "../../helpers/server.ts";
import { startProxy } from "../../helpers/tcp-proxy.ts";

/** An app database that a test can take down and bring back. */
interface Outage {
  readonly appDb: TestAppDatabase;
  down(): Promise<void>;
  up(): Promise<void>;
}

/** The embedded store whose every call fails as Prisma's pg adapter fails for an unreachable server. */
async function simulatedOutage(): Promise<Outage> {
  const real = await openTestAppDatabase();
  let down = false;
  const unreachable = () =>
    new Prisma.PrismaClientKnownRequestError("Can't reach database server at 127.0.0.1:5432", {
      code: "P1001",
      clientVersion: Prisma.prismaVersion.client,
      meta: { driverAdapterError: { name: "DriverAdapterError", cause: { kind: "DatabaseNotReachable" } } },
    });
  const prisma = real.prisma.$extends({
    query: {
      async $allOperations({ args, query }) {
        if (down) throw unreachable();
        return query(args);
      },
    },
  }) as unknown as PrismaClient;
  const appDb: TestAppDatabase = {
    ...real,
    prisma,
    ping: async () => {
      if (down) throw Object.assign(new Error("connect ECONNREFUSED 127.0.0.1:5432"), { code: "ECONNREFUSED" });
      await real.ping();
    },
  };
  return { appDb, down: async () => void (down = true), up: async () => void (down = false) };
}

/** A PostgreSQL app database reached through a TCP proxy that stops and starts. */
async function proxiedOutage(): Promise<Outage> {
  const name = testName();
  await adminQuery(`CREATE DATABASE ${name}`);
  const target = new URL(TEST_DATABASE_URL!);
  const proxy = await startProxy({ host: target.hostname, port: Number(target.port || 5432) });
  const via = new URL(withDatabase(TEST_DATABASE_URL!, name));
  via.port = String(proxy.port());
  const db = await openAppDatabase({ databaseUrl: via.toString(), dataDir: "" });
  const appDb: TestAppDatabase = {
    ...db,
    label: "postgres-via-proxy",
    url: via.toString(),
    close: async () => {
      await db.close();
      await adminQuery(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
    },
  };
  let stopped = false;
  return {
    appDb,
    down: async () => {
      stopped = true;
      await proxy.stop();
    },
    up: async () => {
      if (stopped) await proxy.start();
      stopped = false;
    },
  };
}

const outages: [string, () => Promise<Outage>][] = [["simulated (pg adapter's error)", simulatedOutage]];
if (TEST_DATABASE_URL) outages.push(["real (TCP proxy stopped)", proxiedOutage]);

let server: TestServer | undefined;
afterEach(async () => {
  await server?.close();
  server = undefined;
});

async function ask(key: string | undefined, query: string) {
  const response = await server!.yoga.fetch("http://test/graphql", {
    method: "POST",
    headers: { "content-type": "application/json", ...(key ? { authorization: `Bearer ${key}` } : {}) },
    body: JSON.stringify({ query }),
  });
  const text = await response.text();
  return { status: response.status, type: response.headers.get("content-type") ?? "", text, body: JSON.parse(text) };
}

const NO_STACK = /\n\s+at |node_modules|\.ts:\d+/;

describe.each(outages)("the app database going away, %s", (_label, open) => {
  it("answers coded JSON, keeps known keys reading, logs and counts, and recovers", async () => {
    const outage = await open();
    const logLines: Record<string, unknown>[] = [];
    // A 1 s key cache, so that the key below is answered from the last-known keys, not the cache.
    server = await startTestServer({
      customers: 60,
      allowAnonymous: false,
      logLines,
      appDb: outage.appDb,
      keyCacheSeconds: 1,
    });
    const keys = new KeyStore(outage.appDb.prisma);
    const known = (await keys.create("analyst", "dashboard")).secret;
    const unseen = (await keys.create("viewer", "new app")).secret;
    const created = await ask(
      known,
      `mutation { createSegment(input: { name: "lapsing", definition: { field: "stage", op: "eq", value: "at_risk" } }) { id } }`,
    );
    expect(created.body.errors).toBeUndefined();
    const segmentId = created.body.data.createSegment.id as string;

    await new Promise((r) => setTimeout(r, 1_200));
    await outage.down();
    try {
      // A key confirmed before the outage keeps reading the warehouse.
      const read = await ask(known, "{ stages { key count } }");
      expect(read.body.errors).toBeUndefined();
      expect(read.body.data.stages.length).toBeGreaterThan(0);

      // A key never seen cannot be checked: 503, coded, with the request id, no stack.
      const refused = await ask(unseen, "{ stages { key count } }");
      expect(refused.status).toBe(503);
      expect(refused.type).toMatch(/application\/json/);
      expect(refused.text).not.toMatch(NO_STACK);
      expect(refused.body.errors[0].extensions).toMatchObject({
        code: "APP_DATABASE_UNAVAILABLE",
        retryAfterSeconds: 5,
      });
      expect(refused.body.errors[0].extensions.requestId).toEqual(expect.any(String));

      // A field that reads the app database fails alone, coded, with its path.
      const saved = await ask(known, "{ stages { key } segments { edges { node { id } } } }");
      expect(saved.body.data?.stages ?? null).toBeNull(); // non-null root: data is null, as GraphQL says
      expect(saved.body.errors[0]).toMatchObject({
        path: ["segments"],
        extensions: { code: "APP_DATABASE_UNAVAILABLE" },
      });
      expect(saved.text).not.toMatch(NO_STACK);

      // Outside GraphQL: the export and /ready.
      const exported = await server.yoga.fetch(`http://test/segments/${segmentId}/members.csv`, {
        headers: { authorization: `Bearer ${known}` },
      });
      const exportText = await exported.text();
      expect(exported.status).toBe(503);
      expect(JSON.parse(exportText).errors[0].extensions.code).toBe("APP_DATABASE_UNAVAILABLE");
      expect(exportText).not.toMatch(NO_STACK);
      const ready = await server.yoga.fetch("http://test/ready");
      expect(ready.status).toBe(503);
      expect(await ready.text()).not.toMatch(NO_STACK);

      // Logged under the request id, and counted.
      const requestId = refused.body.errors[0].extensions.requestId;
      expect(logLines.some((l) => l.requestId === requestId && l.code === "APP_DATABASE_UNAVAILABLE")).toBe(true);
      const metrics = await server.metrics.registry.metrics();
      expect(metrics).toMatch(/clm_request_failures_total\{code="APP_DATABASE_UNAVAILABLE"\} [1-9]/);
      expect(metrics).toMatch(/clm_graphql_errors_total\{code="APP_DATABASE_UNAVAILABLE"\} [1-9]/);
    } finally {
      await outage.up();
    }

    // Recovery by itself: the unseen key works, and the saved segments answer.
    let recovered: Awaited<ReturnType<typeof ask>> | undefined;
    for (let i = 0; i < 50; i++) {
      recovered = await ask(unseen, "{ stages { key } segments { edges { node { id } } } }");
      if (!recovered.body.errors) break;
      await new Promise((r) => setTimeout(r, 100));
    }
    expect(recovered!.body.errors).toBeUndefined();
  }, 60_000);
});

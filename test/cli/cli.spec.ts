// The server as a user starts it: `clm serve` in its own process, good and bad configurations.
import { mkdtempSync, writeFileSync } from "node:fs";
import { createServer } from "node:net";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { adminQuery, TEST_DATABASE_URL, testName, withDatabase } from "../helpers/databases.ts";
import { runClm, serveClm, type Served } from "../helpers/process.ts";

const dir = mkdtempSync(join(tmpdir(), "clm-cli-"));
const embedded = { CLM_DATA_DIR: join(dir, "data"), CLM_DEMO_CUSTOMERS: "300", PORT: "0" };

function expectOneClearLine(stderr: string, pattern: RegExp): void {
  const lines = stderr.trim().split("\n");
  expect(lines, stderr).toHaveLength(1);
  expect(lines[0]).toMatch(/^clm: /);
  expect(lines[0]).toMatch(pattern);
  expect(stderr).not.toMatch(/\n\s+at /);
}

describe("clm serve on the embedded default", () => {
  let served: Served;
  beforeAll(async () => {
    served = await serveClm(embedded);
  });
  afterAll(async () => {
    if (served && served.child.exitCode === null) await served.stop("SIGKILL");
  });

  it("answers { __typename } over HTTP, /health and /ready, and GraphiQL to browsers", async () => {
    const health = await fetch(`${served.url}/health`);
    expect(health.status).toBe(200);
    const ready = await fetch(`${served.url}/ready`);
    expect(await ready.json()).toEqual({ ready: true, appDatabase: "ok", warehouse: "ok", circuit: "closed" });
    const graphql = await fetch(`${served.url}/graphql`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ query: "{ __typename warehouse { tables { name rowCount } } }" }),
    });
    const body = (await graphql.json()) as {
      data: { __typename: string; warehouse: { tables: { name: string; rowCount: number }[] } };
    };
    expect(body.data.__typename).toBe("Query");
    expect(body.data.warehouse.tables.find((t) => t.name === "customers")?.rowCount).toBe(300);
    const page = await fetch(`${served.url}/graphql`, { headers: { accept: "text/html" } });
    expect(await page.text()).toContain("<title>CLM GraphQL</title>");
  });

  it("exits 0 on SIGTERM", async () => {
    expect(await served.stop("SIGTERM")).toBe(0);
  });
});

describe("clm serve refuses a bad configuration with one clear line and exit code 1", () => {
  const cases: [string, Record<string, string>, RegExp][] = [
    [
      "an unknown warehouse",
      { CLM_WAREHOUSE: "oracle" },
      /CLM_WAREHOUSE must be one of duckdb \| postgres \| bigquery \(got "oracle"\)/,
    ],
    ["a port that is no number", { PORT: "abc" }, /PORT must be a whole number from 0 to 65535 \(got "abc"\)/],
    [
      "an unreachable DATABASE_URL",
      { CLM_WAREHOUSE: "duckdb", DATABASE_URL: "postgresql://clm:pw@127.0.0.1:1/app" },
      /DATABASE_URL cannot be reached \(ECONNREFUSED at 127\.0\.0\.1:1\/app\)/,
    ],
    [
      "a PostgreSQL warehouse without its URL",
      { CLM_WAREHOUSE: "postgres" },
      /CLM_POSTGRES_URL is required when CLM_WAREHOUSE=postgres/,
    ],
    [
      "a mapping with a hostile identifier",
      { CLM_CONFIG: join(dir, "bad-mapping.json") },
      /CLM_CONFIG \(.*\) at warehouse\.tables\.transactions\.table: must be an SQL identifier/,
    ],
    [
      "a stage model with a duplicate key",
      { CLM_CONFIG: join(dir, "bad-model.json") },
      /CLM_CONFIG \(.*\) at stageModel\.stages\[1\]\.key: duplicate stage key "a"/,
    ],
    [
      "a DuckDB file without the required table",
      { CLM_DUCKDB_PATH: join(dir, "empty.duckdb") },
      /warehouse \(duckdb\): required table main\.transactions \(transactions\) not found/,
    ],
  ];
  beforeAll(() => {
    const stage = (key: string, order: number) => ({ key, name: key, order, kind: "progress", rule: { all: [] } });
    writeFileSync(
      join(dir, "bad-model.json"),
      JSON.stringify({ stageModel: { stages: [stage("a", 1), stage("a", 2)], evaluationOrder: ["a"], fallback: "a" } }),
    );
    writeFileSync(
      join(dir, "bad-mapping.json"),
      JSON.stringify({ warehouse: { tables: { transactions: { table: "x; DROP" } } } }),
    );
  });

  it("a port already in use (after opening and closing both stores)", async () => {
    const blocker = createServer();
    await new Promise<void>((resolve) => blocker.listen(0, "127.0.0.1", resolve));
    const { port } = blocker.address() as AddressInfo;
    try {
      const { code, stderr } = await runClm(["serve"], { ...embedded, PORT: String(port) });
      expect(code).toBe(1);
      expectOneClearLine(stderr, new RegExp(`PORT ${port} is already in use on 127\\.0\\.0\\.1`));
    } finally {
      blocker.close();
    }
  });

  it.each(cases)("%s", async (_name, env, pattern) => {
    const { code, stderr } = await runClm(["serve"], { ...embedded, ...env });
    expect(code).toBe(1);
    expectOneClearLine(stderr, pattern);
    expect(stderr).not.toContain(":pw@");
  });
});

describe("clm seed", () => {
  // Three CLI processes (seed, keys create, serve), each starting tsx: 28.5 s and over 30 s in one CI run
  // while a mutation run had both cores busy.
  it("writes a DuckDB file the server then serves without demo seeding", { timeout: 60_000 }, async () => {
    const file = join(dir, "shop.duckdb");
    const seeded = await runClm(["seed", "--customers", "500", "--end-date", "2026-06-30", "--out", file], {});
    expect(seeded.code).toBe(0);
    expect(seeded.stdout).toMatch(
      /^seeded 500 customers, \d+ transactions, \d+ events, 2920 spend rows in [\d.]+s into .*shop\.duckdb\n$/,
    );
    // A warehouse of one's own is not the demo: no anonymous access, so a key is made first.
    const env = { ...embedded, CLM_DUCKDB_PATH: file, CLM_DATA_DIR: join(dir, "data2") };
    const key = (await runClm(["keys", "create", "--role", "viewer"], env)).stdout.trim();
    const served = await serveClm(env);
    try {
      const url = `${served.url}/graphql?query=${encodeURIComponent("{ warehouse { tables { name rowCount } } }")}`;
      const anonymous = (await (await fetch(url)).json()) as { errors: { extensions: { code: string } }[] };
      expect(anonymous.errors[0]!.extensions.code).toBe("UNAUTHENTICATED");
      const response = await fetch(url, { headers: { authorization: `Bearer ${key}` } });
      const body = (await response.json()) as { data: { warehouse: { tables: { name: string; rowCount: number }[] } } };
      expect(body.data.warehouse.tables.find((t) => t.name === "customers")?.rowCount).toBe(500);
    } finally {
      expect(await served.stop()).toBe(0);
    }
  });

  it("rejects bad arguments with usage exit code 2", async () => {
    const { code, stderr } = await runClm(["seed", "--customers", "many", "--out", join(dir, "x.duckdb")], {});
    expect(code).toBe(2);
    expect(stderr).toMatch(/--customers.*must be a positive whole number/);
  });

  it("prints help", async () => {
    const { code, stdout } = await runClm(["seed", "--help"], {});
    expect(code).toBe(0);
    expect(stdout).toMatch(/Usage: clm seed \[options\]/);
  });
});

// With a real PostgreSQL server (CI sets TEST_DATABASE_URL): both the app database and the warehouse on it.
describe.runIf(TEST_DATABASE_URL)("clm on a PostgreSQL server", () => {
  const appDatabase = testName();
  const warehouseSchema = testName();
  const config = join(dir, "pg-mapping.json");
  beforeAll(async () => {
    writeFileSync(config, JSON.stringify({ warehouse: { schema: warehouseSchema } }));
    await adminQuery(`CREATE DATABASE ${appDatabase}`);
  });
  afterAll(async () => {
    await adminQuery(`DROP SCHEMA IF EXISTS ${warehouseSchema} CASCADE`);
    await adminQuery(`DROP DATABASE IF EXISTS ${appDatabase} WITH (FORCE)`);
  });

  it("seeds a PostgreSQL warehouse and serves it with the app database on the same server", async () => {
    const seeded = await runClm(
      ["seed", "--customers", "400", "--end-date", "2026-06-30", "--postgres-url", TEST_DATABASE_URL!],
      {
        CLM_CONFIG: config,
      },
    );
    expect(seeded.code, seeded.stderr).toBe(0);
    const served = await serveClm({
      PORT: "0",
      CLM_WAREHOUSE: "postgres",
      CLM_POSTGRES_URL: TEST_DATABASE_URL!,
      CLM_CONFIG: config,
      DATABASE_URL: withDatabase(TEST_DATABASE_URL!, appDatabase),
      // Keys are tested on the embedded store; here anonymous access is turned on explicitly.
      CLM_ALLOW_ANONYMOUS: "1",
    });
    try {
      expect(await (await fetch(`${served.url}/ready`)).json()).toEqual({
        ready: true,
        appDatabase: "ok",
        warehouse: "ok",
        circuit: "closed",
      });
      const response = await fetch(
        `${served.url}/graphql?query=${encodeURIComponent("{ warehouse { kind tables { source rowCount } } }")}`,
      );
      const body = (await response.json()) as {
        data: { warehouse: { kind: string; tables: { source: string; rowCount: number }[] } };
      };
      expect(body.data.warehouse.kind).toBe("POSTGRES");
      expect(body.data.warehouse.tables[1]).toEqual({ source: `${warehouseSchema}.customers`, rowCount: 400 });
    } finally {
      expect(await served.stop()).toBe(0);
    }
  });
});

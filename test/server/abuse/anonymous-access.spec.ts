// Anonymous access only where it cannot hurt: the in-memory demo warehouse with the embedded app
// database, outside production. Before, a real DuckDB file with CLM_DEMO=1, or DATABASE_URL beside an
// unset CLM_WAREHOUSE (which served the demo), gave keyless analyst access to a real app database.
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { anonymousAccessRisk, ConfigError, loadEnv } from "../../../src/config/env.ts";
import { serveClm } from "../../helpers/process.ts";

const PG = "postgresql://u@127.0.0.1:5432/app";

describe("anonymous access by configuration", () => {
  it("is on only for the in-memory demo with the embedded app database, outside production", () => {
    expect(loadEnv({}).allowAnonymous).toBe(true);
    expect(loadEnv({ CLM_DUCKDB_PATH: "/tmp/shop.duckdb", CLM_DEMO: "1" }).allowAnonymous).toBe(false);
    expect(loadEnv({ CLM_WAREHOUSE: "duckdb", DATABASE_URL: PG }).allowAnonymous).toBe(false);
    expect(loadEnv({ NODE_ENV: "production" }).allowAnonymous).toBe(false);
    expect(loadEnv({ CLM_WAREHOUSE: "postgres", CLM_POSTGRES_URL: PG }).allowAnonymous).toBe(false);
  });

  it("refuses DATABASE_URL beside an unset CLM_WAREHOUSE instead of serving the demo (not for clm keys)", () => {
    expect(() => loadEnv({ DATABASE_URL: PG })).toThrow(ConfigError);
    expect(() => loadEnv({ DATABASE_URL: PG, CLM_WAREHOUSE: "" })).toThrow(
      /CLM_WAREHOUSE is required when DATABASE_URL/,
    );
    expect(() => loadEnv({ DATABASE_URL: PG, CLM_WAREHOUSE: "duckd" })).toThrow(/CLM_WAREHOUSE must be one of/);
    expect(loadEnv({ DATABASE_URL: PG }, { readsWarehouse: false }).databaseUrl).toBe(PG);
    expect(loadEnv({ DATABASE_URL: PG, CLM_DUCKDB_PATH: "/tmp/shop.duckdb" }).allowAnonymous).toBe(false);
  });

  it("is on anywhere when CLM_ALLOW_ANONYMOUS=1 says so, with the risk named for the warning", () => {
    const production = loadEnv({ NODE_ENV: "production", CLM_ALLOW_ANONYMOUS: "1" });
    expect(production.allowAnonymous).toBe(true);
    expect(anonymousAccessRisk(production)).toMatch(/NODE_ENV=production/);
    const real = loadEnv({ CLM_DUCKDB_PATH: "/tmp/shop.duckdb", CLM_ALLOW_ANONYMOUS: "1" });
    expect(anonymousAccessRisk(real)).toMatch(/a warehouse of real data/);
    expect(anonymousAccessRisk(loadEnv({}))).toBeUndefined();
  });
});

describe("clm serve says how it can be reached", () => {
  it("in production: API key required, GraphiQL off, and a keyless request is refused", async () => {
    const dir = mkdtempSync(join(tmpdir(), "clm-anon-"));
    const served = await serveClm({
      NODE_ENV: "production",
      PORT: "0",
      CLM_DATA_DIR: "memory://",
      CLM_DUCKDB_PATH: join(dir, "shop.duckdb"),
      CLM_DEMO: "1",
      CLM_DEMO_CUSTOMERS: "50",
    });
    try {
      expect(served.stderr()).toMatch(/GraphiQL off/);
      expect(served.stderr()).toMatch(/API key required/);
      const response = await fetch(`${served.url}/graphql`, {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify({ query: "{ stages { key count } }" }),
      });
      const body = (await response.json()) as { errors?: { extensions?: { code?: string } }[] };
      expect(body.errors?.[0]?.extensions?.code).toBe("UNAUTHENTICATED");
    } finally {
      await served.stop();
      rmSync(dir, { recursive: true, force: true });
    }
  }, 60_000);

  it("warns at start when CLM_ALLOW_ANONYMOUS=1 opens a production server", async () => {
    const served = await serveClm({
      NODE_ENV: "production",
      CLM_ALLOW_ANONYMOUS: "1",
      PORT: "0",
      CLM_DATA_DIR: "memory://",
      CLM_DEMO_CUSTOMERS: "50",
    });
    try {
      await new Promise((r) => setTimeout(r, 100));
      expect(served.stderr()).toMatch(/anonymous requests act as an analyst/);
      expect(served.stderr()).toMatch(/warning: CLM_ALLOW_ANONYMOUS=1: .*NODE_ENV=production/);
    } finally {
      await served.stop();
    }
  }, 60_000);
});

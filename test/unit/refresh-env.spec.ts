// `clm refresh` bounds the embedded DuckDB's memory unless told otherwise (config/defaults.ts,
// REFRESH_DUCKDB_MEMORY_LIMIT): its queries all spill, and without a limit DuckDB kept what it read.
import { describe, expect, it } from "vitest";
import { refreshEnv } from "../../src/cli/refresh.ts";
import { loadEnv } from "../../src/config/env.ts";
import { REFRESH_DUCKDB_MEMORY_LIMIT } from "../../src/config/defaults.ts";

const duckdbOf = (env: NodeJS.ProcessEnv) => {
  const { warehouse } = loadEnv(env);
  if (warehouse.kind !== "duckdb") throw new Error(`expected duckdb, got ${warehouse.kind}`);
  return warehouse;
};

describe("a refresh process's DuckDB memory", () => {
  const FILE = { CLM_DUCKDB_PATH: "/data/shop.duckdb" };

  it("is bounded by default over a DuckDB file, where a server's is DuckDB's own", () => {
    expect(REFRESH_DUCKDB_MEMORY_LIMIT).toBe("256MB");
    expect(duckdbOf(refreshEnv(FILE)).memoryLimit).toBe("256MB");
    expect(duckdbOf(FILE).memoryLimit).toBeUndefined();
  });

  it("is what CLM_DUCKDB_MEMORY_LIMIT says when set, and DuckDB's own for an in-memory demo", () => {
    expect(duckdbOf(refreshEnv({ ...FILE, CLM_DUCKDB_MEMORY_LIMIT: "2GB" })).memoryLimit).toBe("2GB");
    // The demo's tables live in DuckDB's memory: they are not bounded by a refresh's default.
    expect(duckdbOf(refreshEnv({})).memoryLimit).toBeUndefined();
  });
});

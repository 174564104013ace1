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
  it("is bounded by default, where a server's is DuckDB's own", () => {
    expect(REFRESH_DUCKDB_MEMORY_LIMIT).toBe("256MB");
    expect(duckdbOf(refreshEnv({})).memoryLimit).toBe("256MB");
    expect(duckdbOf({}).memoryLimit).toBeUndefined();
  });

  it("is what CLM_DUCKDB_MEMORY_LIMIT says when set", () => {
    expect(duckdbOf(refreshEnv({ CLM_DUCKDB_MEMORY_LIMIT: "2GB" })).memoryLimit).toBe("2GB");
  });
});

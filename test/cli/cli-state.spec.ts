// `clm refresh` and `clm export-state` as a user runs them, in processes of their own, on a seeded
// warehouse file and an embedded app database: the first refresh is full, the next one incremental;
// export-state says there is nothing to export before a refresh, and afterwards writes one row per
// customer known on the state day whose stages and RFM codes are the API's (clm stages, GraphQL), as
// CSV and as Parquet with the same values.
import { mkdtempSync, readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { DuckDBInstance } from "@duckdb/node-api";
import { beforeAll, describe, expect, it } from "vitest";
import { runClm } from "../helpers/process.ts";

const dir = mkdtempSync(join(tmpdir(), "clm-state-"));
const AS_OF = "2026-06-30";
const env = { CLM_DUCKDB_PATH: join(dir, "shop.duckdb"), CLM_DATA_DIR: dir };

/** A CSV of this export (no quoted field holds a comma in the demo) as objects by header. */
function parse(csv: string): Record<string, string>[] {
  const [header, ...lines] = csv.trimEnd().split("\r\n");
  const names = header!.split(",");
  return lines.map((line) => Object.fromEntries(line.split(",").map((v, i) => [names[i], v])));
}

describe("clm refresh and clm export-state", () => {
  beforeAll(async () => {
    const seeded = await runClm(
      ["seed", "--customers", "800", "--end-date", AS_OF, "--out", env.CLM_DUCKDB_PATH, "-q"],
      {},
    );
    expect(seeded.code, seeded.stderr).toBe(0);
  }, 120_000);

  it("refreshes in full, then incrementally, and exports what the API answers", { timeout: 180_000 }, async () => {
    const before = await runClm(["export-state"], env);
    expect(before.code).toBe(1);
    expect(before.stderr).toBe(
      "clm: export of the state failed: no state of this stage model to export: run clm refresh first\n",
    );
    expect(before.stdout).toBe("");

    const full = await runClm(["refresh", "--as-of", AS_OF, "-q"], env);
    expect(full.code, full.stderr).toBe(0);
    expect(full.stdout).toMatch(/^generation 1 \(full\) for 2026-06-30: 800 customers, [\d,]+ rows read, [\d.]+ s\n$/);
    const incremental = await runClm(["refresh", "--as-of", AS_OF, "-q"], env);
    expect(incremental.stdout).toMatch(/^generation 2 \(incremental\) for 2026-06-30: 800 customers/);

    const out = join(dir, "state.csv");
    const exported = await runClm(["export-state", "--out", out, "-q"], env);
    expect(exported.code, exported.stderr).toBe(0);
    expect(exported.stderr).toBe(`clm: exported the state of 800 customers to ${out}\n`);
    const rows = parse(readFileSync(out, "utf8"));
    expect(rows).toHaveLength(800);
    expect(new Set(rows.map((r) => r.state_day))).toEqual(new Set([AS_OF]));

    // Stage counts as clm stages counts them in the warehouse.
    const stages = await runClm(["stages", "--as-of", AS_OF, "--format", "json"], { ...env, CLM_STATE: "off" });
    const counts = JSON.parse(stages.stdout).stages as { stage: string; count: number }[];
    for (const { stage, count } of counts) expect(rows.filter((r) => r.stage === stage).length, stage).toBe(count);
    // Buyers have RFM codes, prospects none; stdout gives the same bytes as the file.
    for (const r of rows) expect(r.rfm_code === "", r.customer_id).toBe(r.purchase_days === "0");
    const stdout = await runClm(["export-state"], env);
    expect(stdout.stdout).toBe(readFileSync(out, "utf8"));

    // Parquet: the same rows, typed; read back with DuckDB and compared with the CSV, column by column.
    const parquet = join(dir, "state.parquet");
    const written = await runClm(["export-state", "--format", "parquet", "--out", parquet, "-q"], env);
    expect(written.code, written.stderr).toBe(0);
    expect(written.stderr).toBe(`clm: exported the state of 800 customers to ${parquet}\n`);
    const instance = await DuckDBInstance.create(":memory:");
    const connection = await instance.connect();
    try {
      const reader = await connection.runAndReadAll(`SELECT * FROM read_parquet('${parquet}') ORDER BY customer_id`);
      const types = Object.fromEntries(reader.columnNames().map((n, i) => [n, reader.columnTypes()[i]!.toString()]));
      expect(types).toMatchObject({
        customer_id: "VARCHAR",
        state_day: "DATE",
        stage_since: "DATE",
        rfm_recency: "DOUBLE",
        predicted_clv: "DOUBLE",
      });
      const fromParquet = reader
        .getRowObjectsJson()
        .map((row) => Object.fromEntries(Object.entries(row).map(([k, v]) => [k, v === null ? "" : String(v)])));
      const fromCsv = [...rows].sort((a, b) => (a.customer_id! < b.customer_id! ? -1 : 1));
      expect(fromParquet.map((r) => Object.keys(r))).toEqual(fromCsv.map((r) => Object.keys(r)));
      for (const [i, row] of fromCsv.entries())
        for (const [key, value] of Object.entries(row)) {
          const got = fromParquet[i]![key]!;
          // Numbers as the CSV writes them and as DuckDB prints a double may differ in form, not value.
          if (value !== "" && !Number.isNaN(Number(value)) && key !== "customer_id")
            expect(Number(got), `${row.customer_id} ${key}`).toBe(Number(value));
          else expect(got, `${row.customer_id} ${key}`).toBe(value);
        }
    } finally {
      connection.closeSync();
      instance.closeSync();
    }
    const refused = await runClm(["export-state", "--format", "parquet"], env);
    expect(refused.code).toBe(1);
    expect(refused.stderr).toBe("clm: --format parquet writes a file: give --out\n");
  });
});

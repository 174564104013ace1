// `clm metrics --interval`: the GraphQL `metricSeries` answer for the same warehouse and app database,
// a row per period and a column per metric (as a table, CSV or JSON); usage errors exit 2 before
// anything is opened.
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { pino } from "pino";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { DEFAULT_MAPPING } from "../../src/sql/contract.ts";
import { DuckDBConnector } from "../../src/connectors/duckdb.ts";
import { openAppDatabase } from "../../src/appdb/database.ts";
import { periodStartBefore } from "../../src/lifecycle/calendar.ts";
import { formatMetric } from "../../src/cli/reports.ts";
import { loadEnv } from "../../src/config/env.ts";
import { generateDemoData } from "../../src/demo/generate.ts";
import { RfmSegments } from "../../src/lifecycle/rfm.ts";
import { segmentScope } from "../../src/lifecycle/segment-definition.ts";
import { CompiledStageModel, defaultStageModel } from "../../src/lifecycle/stage-model.ts";
import { openServices } from "../../src/server/boot.ts";
import { SegmentStore } from "../../src/services/segment-store.ts";
import { openTestAppDatabase, TEST_DATABASE_URL, type TestAppDatabase } from "../helpers/databases.ts";
import { runClm } from "../helpers/process.ts";
import { runClmInProcess } from "../helpers/cli-in-process.ts";

const dir = mkdtempSync(join(tmpdir(), "clm-series-"));
const AS_OF = "2026-06-30";
const FROM = "2026-01-15";
const KEYS = ["active_customers", "revenue", "repeat_purchase_rate", "churn_rate"];
const env: Record<string, string> = { CLM_DUCKDB_PATH: join(dir, "shop.duckdb") };
let serverAppDb: TestAppDatabase | undefined;

interface Point {
  period: { from: string; to: string };
  values: { key: string; unit: string; value: number | null; population: number | null }[];
}

/** What the server answers, asked once before the commands run: the whole series and a segment's. */
let server: { all: Point[]; lapsing: Point[] };
let segmentId: string;

beforeAll(async () => {
  const warehouse = await DuckDBConnector.open(env.CLM_DUCKDB_PATH!, DEFAULT_MAPPING);
  await warehouse.createTables({ replace: true });
  await generateDemoData(warehouse, { customers: 300, endDate: AS_OF });
  await warehouse.close();
  const appDb = TEST_DATABASE_URL
    ? (serverAppDb = await openTestAppDatabase())
    : await openAppDatabase({ dataDir: join(dir, "data") });
  if (serverAppDb) env.DATABASE_URL = serverAppDb.url!;
  else env.CLM_DATA_DIR = join(dir, "data");
  const store = new SegmentStore(
    appDb.prisma,
    segmentScope(new CompiledStageModel(defaultStageModel()), new RfmSegments()),
  );
  const segment = await store.create({
    name: "lapsing",
    definition: { field: "stage", op: "in", value: ["at_risk", "churned"] },
  });
  segmentId = segment.id;
  if (!serverAppDb) await appDb.close();

  const services = await openServices(loadEnv({ ...env, CLM_ALLOW_ANONYMOUS: "1" }), pino({ level: "silent" }));
  try {
    const series = (segment: string) => `metricSeries(keys: [${KEYS.map((k) => k.toUpperCase()).join(", ")}],
      from: "${FROM}", to: "${AS_OF}", interval: MONTH${segment}) { period { from to } values { key unit value population } }`;
    const response = await services.yoga.fetch("http://test/graphql", {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ query: `{ all: ${series("")} lapsing: ${series(`, segmentId: "${segmentId}"`)} }` }),
    });
    const body = (await response.json()) as { data: typeof server; errors?: unknown };
    expect(body.errors).toBeUndefined();
    server = body.data;
  } finally {
    await services.yoga.dispose();
    await services.close();
  }
});

afterAll(async () => {
  await serverAppDb?.close();
});

/** The cells of a psql-like table: rows between the separator line and "(n rows)". */
function tableCells(output: string): { title: string; header: string[]; rows: string[][] } {
  const lines = output.trimEnd().split("\n");
  const separator = lines.findIndex((l) => /^-+(\+-+)+$/.test(l));
  const end = lines.findIndex((l) => /^\(\d+ rows?\)$/.test(l));
  const split = (line: string) => line.split("|").map((c) => c.trim());
  return {
    title: lines
      .slice(0, separator - 1)
      .join("\n")
      .trim(),
    header: split(lines[separator - 1]!),
    rows: lines.slice(separator + 1, end).map(split),
  };
}

const seriesArgs = ["metrics", "--from", FROM, "--to", AS_OF, "--interval", "month", "--keys", KEYS.join(",")];

describe("clm metrics --interval", () => {
  it("prints a row per month and a column per metric, the metricSeries answer", async () => {
    const { code, stdout, stderr } = await runClm(seriesArgs, env);
    expect(code, stderr).toBe(0);
    const table = tableCells(stdout);
    expect(table.title).toBe(`Metrics by month from ${FROM} to ${AS_OF} (6 periods)`);
    expect(table.header).toEqual(["from", "to", ...KEYS]);
    expect(table.rows).toEqual(
      server.all.map((p) => [
        p.period.from,
        p.period.to,
        ...p.values.map((v) => formatMetric(v.value, v.unit.toLowerCase() as Parameters<typeof formatMetric>[1])),
      ]),
    );
    expect(table.rows[0]!.slice(0, 2)).toEqual([FROM, "2026-01-31"]);
  });

  it("gives the raw values as CSV and JSON (--json), and a segment's members with --segment", async () => {
    // One after the other: a DuckDB file is open to one process at a time.
    const csv = await runClm([...seriesArgs, "--format", "csv"], env);
    const json = await runClm([...seriesArgs, "--segment", segmentId, "--json"], env);
    expect(csv.code, csv.stderr).toBe(0);
    const lines = csv.stdout.trimEnd().split("\n");
    expect(lines[0]).toBe(["from", "to", ...KEYS].join(","));
    expect(lines.slice(1).map((l) => l.split(","))).toEqual(
      server.all.map((p) => [
        p.period.from,
        p.period.to,
        ...p.values.map((v) => (v.value === null ? "" : String(v.value))),
      ]),
    );
    expect(json.code, json.stderr).toBe(0);
    const printed = JSON.parse(json.stdout) as {
      interval: string;
      segmentId: string;
      metrics: { key: string }[];
      points: { period: { from: string; to: string }; values: { key: string; value: number | null }[] }[];
    };
    expect(printed.interval).toBe("month");
    expect(printed.segmentId).toBe(segmentId);
    expect(printed.metrics.map((m) => m.key)).toEqual(KEYS);
    expect(printed.points).toEqual(
      server.lapsing.map((p) => ({
        period: p.period,
        values: p.values.map((v) => ({ key: v.key.toLowerCase(), value: v.value, population: v.population })),
      })),
    );
  });

  it("refuses bad usage with exit code 2 before opening anything", async () => {
    const cases: [string[], RegExp][] = [
      [["metrics", "--interval", "year"], /--interval.*Allowed choices are day, week, month, quarter/],
      [["metrics", "--interval", "month", "--compare"], /--interval gives one value per period: it takes neither/],
      [["metrics", "--interval", "week", "--breakdown", "stage"], /it takes neither --compare nor --breakdown/],
      [
        ["metrics", "--interval", "day", "--from", "2025-01-01", "--to", "2026-06-30"],
        /2025-01-01 to 2026-06-30 is 546 periods of a day; at most 400/,
      ],
      [["metrics", "--interval", "month", "--from", "2026-06-30", "--to", "2026-06-01"], /before/],
    ];
    for (const [args, pattern] of cases) {
      const result = await runClmInProcess(args);
      expect(result.code, args.join(" ")).toBe(2);
      expect(result.stderr).toMatch(pattern);
      expect(result.stdout).toBe("");
    }
  });

  it("starts a series without --from twelve calendar periods back", () => {
    expect(periodStartBefore("2026-06-30", "month", 11)).toBe("2025-07-01");
    expect(periodStartBefore("2026-06-30", "quarter", 11)).toBe("2023-07-01");
    // 2026-06-30 is a Tuesday: its week began on Monday the 29th.
    expect(periodStartBefore("2026-06-30", "week", 11)).toBe("2026-04-13");
    expect(periodStartBefore("2026-06-30", "day", 11)).toBe("2026-06-19");
  });
});

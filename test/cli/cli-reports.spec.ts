// `clm stages`, `clm metrics` and `clm export-segment` give what the GraphQL API gives for the same
// warehouse and app database; usage errors exit 2, failures 1, and every command has --help.
import { mkdtempSync, readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { pino } from "pino";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { DEFAULT_MAPPING } from "../../src/sql/contract.ts";
import { DuckDBConnector } from "../../src/connectors/duckdb.ts";
import { openAppDatabase } from "../../src/appdb/database.ts";
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

const dir = mkdtempSync(join(tmpdir(), "clm-reports-"));
const AS_OF = "2026-06-30";
/** The environment of every command: the seeded warehouse file and the app database holding a segment. */
const env: Record<string, string> = { CLM_DUCKDB_PATH: join(dir, "shop.duckdb") };
let segmentId: string;
let serverAppDb: TestAppDatabase | undefined;

const METRIC_KEYS = ["revenue", "orders", "churn_rate", "ltv_to_cac", "average_days_in_stage"];

interface Answers {
  stages: { key: string; name: string; count: number; share: number }[];
  segment: {
    membership: { size: number; stageBreakdown: { stage: { key: string }; count: number; share: number }[] };
  };
  metrics: {
    key: string;
    name: string;
    unit: string;
    value: number | null;
    population: number | null;
    comparison: { value: number | null };
  }[];
  csv: string;
  byStage: BrokenDown;
  bySegment: BrokenDown;
  byChannel: BrokenDown;
}

type BrokenDown = { key: string; value: number | null; breakdown: Record<string, unknown>[] }[];

/** Breakdowns asked of the server and of `clm metrics --breakdown`, under these aliases. */
const BREAKDOWN_CASES = [
  { by: "stage", alias: "byStage" },
  { by: "segment", alias: "bySegment" },
  { by: "acquisition_channel", alias: "byChannel" },
] as const;
/** What the server answers for the same warehouse and app database, asked once before the commands run. */
let server: Answers;

beforeAll(async () => {
  const warehouse = await DuckDBConnector.open(env.CLM_DUCKDB_PATH!, DEFAULT_MAPPING);
  await warehouse.createTables({ replace: true });
  await generateDemoData(warehouse, { customers: 400, endDate: AS_OF });
  await warehouse.close();
  // The app database: PostgreSQL when the tests have a server, else the embedded store in a directory
  // (which one process at a time may open: it is closed before the commands run).
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
    description: "at risk or churned",
    definition: { field: "stage", op: "in", value: ["at_risk", "churned"] },
  });
  segmentId = segment.id;
  if (!serverAppDb) await appDb.close();

  // The server, in this process, on the same environment; closed before any command opens the files.
  const services = await openServices(loadEnv({ ...env, CLM_ALLOW_ANONYMOUS: "1" }), pino({ level: "silent" }));
  try {
    const response = await services.yoga.fetch("http://test/graphql", {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({
        query: `{
  stages(asOf: "${AS_OF}") { key name count share }
  segment(id: "${segmentId}") { membership(asOf: "${AS_OF}") { size stageBreakdown { stage { key } count share } } }
  metrics(keys: [${METRIC_KEYS.map((k) => k.toUpperCase()).join(", ")}], period: { from: "2026-06-01", to: "${AS_OF}" },
          compareTo: { from: "2026-05-02", to: "2026-05-31" }) { key name unit value population comparison { value } }
  ${BREAKDOWN_CASES.map(
    (c) => `${c.alias}: metrics(keys: [REVENUE, CHURN_RATE], period: { from: "2026-06-01", to: "${AS_OF}" },
          compareTo: { from: "2026-05-02", to: "2026-05-31" }, breakdown: ${c.by.toUpperCase()}) {
      key value breakdown { key label value population comparison { value change relativeChange } } }`,
  ).join("\n")}
}`,
      }),
    });
    const body = (await response.json()) as { data: Omit<Answers, "csv">; errors?: unknown };
    expect(body.errors).toBeUndefined();
    const csv = await (await services.yoga.fetch(`http://test/segments/${segmentId}/members.csv?asOf=${AS_OF}`)).text();
    server = { ...body.data, csv };
  } finally {
    await services.yoga.dispose();
    await services.close();
  }
});

afterAll(async () => {
  await serverAppDb?.close();
});

/** The cells of a psql-like table: rows between the separator line and "(n rows)". */
function tableCells(output: string): { title: string; header: string[]; rows: string[][]; raw: string[] } {
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
    raw: lines.slice(separator + 1, end),
  };
}

describe("clm stages", () => {
  it("prints an aligned table whose counts are the GraphQL stages answer", async () => {
    const { code, stdout, stderr } = await runClm(["stages", "--as-of", AS_OF], env);
    expect(code, stderr).toBe(0);
    expect(stderr).toBe("");
    const table = tableCells(stdout);
    expect(table.title).toBe(`Stages on ${AS_OF}: 400 customers`);
    expect(table.header).toEqual(["stage", "name", "count", "share"]);
    expect(stdout.trimEnd().split("\n").at(-1)).toBe("(8 rows)");
    // Numbers right-aligned: every count cell ends at the same column.
    const ends = table.raw.map((line) => line.split("|")[2]!.length);
    expect(new Set(ends).size).toBe(1);
    expect(table.raw.every((line) => /\s\d+ $/.test(line.split("|")[2]!))).toBe(true);
    const { stages } = server;
    expect(table.rows).toEqual(stages.map((s) => [s.key, s.name, String(s.count), `${(s.share * 100).toFixed(1)}%`]));
  });

  it("answers for the last day with data when no --as-of is given and the data ends before today", async () => {
    // The shop ends on AS_OF, months ago: today would show every buyer at risk or churned.
    const { code, stdout, stderr } = await runClm(["stages"], env);
    expect(code, stderr).toBe(0);
    expect(stderr).toMatch(
      new RegExp(
        `^clm: no --as-of: answering for ${AS_OF}, the last day with data \\(today is \\d{4}-\\d{2}-\\d{2}\\)\n$`,
      ),
    );
    expect(tableCells(stdout)).toEqual(tableCells((await runClm(["stages", "--as-of", AS_OF], env)).stdout));
  });

  it("counts a saved segment's members by stage with --segment (as its membership's stageBreakdown)", async () => {
    const { code, stdout, stderr } = await runClm(
      ["stages", "--as-of", AS_OF, "--segment", segmentId, "--format", "json"],
      env,
    );
    expect(code, stderr).toBe(0);
    const answer = JSON.parse(stdout) as { total: number; stages: { stage: string; count: number; share: number }[] };
    const { segment } = server;
    expect(answer.total).toBe(segment.membership.size);
    expect(answer.stages.map((s) => [s.stage, s.count, s.share])).toEqual(
      segment.membership.stageBreakdown.map((s) => [s.stage.key, s.count, s.share]),
    );
    expect(answer.stages.filter((s) => s.count > 0).map((s) => s.stage)).toEqual(["at_risk", "churned"]);
  });
});

describe("clm metrics", () => {
  it("prints the metrics query's values over a period, against the period before", async () => {
    const { code, stdout, stderr } = await runClm(
      ["metrics", "--from", "2026-06-01", "--to", AS_OF, "--keys", METRIC_KEYS.join(","), "--compare"],
      env,
    );
    expect(code, stderr).toBe(0);
    const table = tableCells(stdout);
    expect(table.title).toBe("Metrics 2026-06-01 to 2026-06-30 (30 days), against 2026-05-02 to 2026-05-31");
    expect(table.header).toEqual(["metric", "name", "value", "population", "previous", "change"]);
    const { metrics } = server;
    expect(table.rows.map((r) => r.slice(0, 5))).toEqual(
      metrics.map((m) => {
        const unit = m.unit.toLowerCase() as Parameters<typeof formatMetric>[1];
        return [
          m.key.toLowerCase(),
          m.name,
          formatMetric(m.value, unit),
          m.population === null ? "" : formatMetric(m.population, "count"),
          formatMetric(m.comparison.value, unit),
        ];
      }),
    );
  });
  it.each(BREAKDOWN_CASES)("gives the metrics query's breakdown by $by (--breakdown, json)", async ({ by, alias }) => {
    const { code, stdout, stderr } = await runClm(
      [
        ...["metrics", "--from", "2026-06-01", "--to", AS_OF, "--keys", "revenue,churn_rate", "--compare"],
        ...["--breakdown", by, "--format", "json"],
      ],
      env,
    );
    expect(code, stderr).toBe(0);
    const printed = JSON.parse(stdout) as {
      breakdownBy: string;
      metrics: { key: string; value: number | null; breakdown: unknown[] }[];
    };
    expect(printed.breakdownBy).toBe(by);
    const expected = server[alias];
    expect(expected.every((m) => m.breakdown.length > 0)).toBe(true);
    // The fields the server was asked for, of each group and its comparison.
    const asked = (g: Record<string, unknown>) => {
      const c = g.comparison as Record<string, unknown> | null;
      return {
        key: g.key,
        label: g.label,
        value: g.value,
        population: g.population,
        comparison: c && { value: c.value, change: c.change, relativeChange: c.relativeChange },
      };
    };
    expect(
      printed.metrics.map((m) => ({
        key: m.key.toUpperCase(),
        value: m.value,
        breakdown: (m.breakdown as Record<string, unknown>[]).map(asked),
      })),
    ).toEqual(expected);
  });

  it("prints a breakdown as an indented line per group under each metric's total", async () => {
    const { code, stdout, stderr } = await runClm(
      ["metrics", "--from", "2026-06-01", "--to", AS_OF, "--keys", "revenue", "--breakdown", "stage"],
      env,
    );
    expect(code, stderr).toBe(0);
    const table = tableCells(stdout);
    expect(table.title).toBe("Metrics 2026-06-01 to 2026-06-30 (30 days) by stage");
    expect(table.header).toEqual(["metric", "name", "stage", "value", "population"]);
    const revenue = server.byStage.find((m) => m.key === "REVENUE")!;
    expect(table.rows.map((r) => r[2])).toEqual(["all", ...revenue.breakdown.map((g) => String(g.label))]);
    expect(table.rows.map((r) => r[3])).toEqual(
      [revenue.value, ...revenue.breakdown.map((g) => g.value as number | null)].map((v) =>
        formatMetric(v, "currency"),
      ),
    );
  });
});

describe("clm export-segment", () => {
  it("writes the members' CSV to a file and to stdout, the same bytes as GET /segments/:id/members.csv", async () => {
    const out = join(dir, "lapsing.csv");
    const written = await runClm(["export-segment", segmentId, "--as-of", AS_OF, "--out", out], env);
    expect(written.code, written.stderr).toBe(0);
    expect(written.stdout).toBe("");
    // No progress bar without a terminal: only the closing line.
    expect(written.stderr).toMatch(
      /^clm: exported \d+ members of "lapsing" \(2026-06-30\) to .*lapsing\.csv in [\d.]+s\n$/,
    );
    const printed = await runClm(["export-segment", segmentId, "--as-of", AS_OF], env);
    expect(printed.code, printed.stderr).toBe(0);
    const served = server.csv;
    expect(readFileSync(out, "utf8")).toBe(served);
    expect(printed.stdout).toBe(served);
    const lines = served.trimEnd().split("\r\n");
    expect(lines[0]).toMatch(/^customer_id,stage,furthest_stage,/);
    expect(written.stderr).toContain(`exported ${lines.length - 1} members`);
    expect(new Set(lines.slice(1).map((l) => l.split(",")[1]))).toEqual(new Set(["at_risk", "churned"]));
  });

  it("exits 1 with one line for an unknown segment", async () => {
    const { code, stdout, stderr } = await runClm(["export-segment", "00000000-0000-0000-0000-000000000000"], env);
    expect(code).toBe(1);
    expect(stdout).toBe("");
    expect(stderr).toBe('clm: no segment with id "00000000-0000-0000-0000-000000000000"\n');
  });
});

describe("clm usage and help", () => {
  it("refuses bad usage with exit code 2 before opening anything", async () => {
    const cases: [string[], RegExp][] = [
      [["stages", "--as-of", "2026-02-31"], /--as-of.*must be a calendar day/],
      [["stages", "--format", "xml"], /--format.*Allowed choices are table, csv, json/],
      [["stages", "extra"], /too many arguments/],
      [["metrics", "--keys", "revenue,bogus"], /unknown metric "bogus"; known: conversion_rate/],
      [
        ["metrics", "--breakdown", "weekday"],
        /--breakdown.*Allowed choices are stage, acquisition_channel, cohort_month/,
      ],
      [
        ["metrics", "--from", "2026-06-30", "--to", "2026-06-01"],
        /--to \(2026-06-01\) is before --from \(2026-06-30\)/,
      ],
      [["export-segment"], /missing required argument 'id'/],
      [["seed", "--customers", "10"], /give --out FILE\.duckdb or --postgres-url URL/],
      [["frobnicate"], /unknown command 'frobnicate'/],
    ];
    for (const [args, pattern] of cases) {
      const result = await runClmInProcess(args);
      expect(result.code, args.join(" ")).toBe(2);
      expect(result.stderr).toMatch(pattern);
      expect(result.stdout).toBe("");
    }
  });

  it("prints help and exits 0 for every command", async () => {
    const commands = [
      [],
      ["serve"],
      ["seed"],
      ["import"],
      ["stages"],
      ["metrics"],
      ["export-segment"],
      ["keys"],
      ["keys", "create"],
      ["keys", "list"],
      ["keys", "revoke"],
    ];
    for (const command of commands) {
      const result = await runClmInProcess([...command, "--help"]);
      expect(result.code, command.join(" ")).toBe(0);
      expect(result.stdout).toMatch(new RegExp(`^Usage: clm${command.length > 0 ? ` ${command.join(" ")}` : ""} `));
      expect(result.stderr).toBe("");
    }
    const main = await runClmInProcess(["--help"]);
    expect(main.stdout).toMatch(/Examples:\n  \$ clm serve/);
    expect(main.stdout).toMatch(/Exit codes: 0 success, 1 failure .*, 2 bad usage/);
    const importHelp = await runClmInProcess(["import", "--help"]);
    expect(importHelp.stdout).toMatch(
      /transactions +customer_id \(text\), occurred_at \(timestamp\), amount \(numeric\)/,
    );
  });

  it("exits with those codes as a process too", async () => {
    const [help, usage] = await Promise.all([runClm(["--help"], {}), runClm(["stages", "--as-of", "2026-02-31"], {})]);
    expect([help.code, usage.code]).toEqual([0, 2]);
    expect(help.stdout).toMatch(/^Usage: clm \[options\] \[command\]/);
    expect(usage.stderr).toMatch(/must be a calendar day/);
  });
});

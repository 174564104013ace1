// `clm clv-validate` gives the holdout validation the service (and the GraphQL clvValidation field) gives
// for the same warehouse: the CDNOW sample in a DuckDB file. Usage errors exit 2, a holdout past the data 1.
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { beforeAll, describe, expect, it } from "vitest";
import { DuckDBConnector } from "../../src/connectors/duckdb.ts";
import { defaultStageModel } from "../../src/lifecycle/stage-model.ts";
import { DEFAULT_MAPPING } from "../../src/sql/contract.ts";
import type { ClvValidation } from "../../src/services/lifecycle/clv.ts";
import { LifecycleService } from "../../src/services/lifecycle/service.ts";
import { cdnowSampleTransactions } from "../helpers/cdnow.ts";
import { runClmInProcess } from "../helpers/cli-in-process.ts";
import { runClm } from "../helpers/process.ts";

const dir = mkdtempSync(join(tmpdir(), "clm-clv-validate-"));
const env: Record<string, string> = { CLM_DUCKDB_PATH: join(dir, "cdnow.duckdb"), CLM_DATA_DIR: join(dir, "data") };
const DATES = ["--calibration-end", "1997-09-30", "--holdout-end", "1998-06-30"];

/** What the service answers for the same file, asked before any command opens it (one process at a time). */
const direct: Partial<Record<"BG_NBD" | "PARETO_NBD", ClvValidation>> = {};

beforeAll(async () => {
  const warehouse = await DuckDBConnector.open(env.CLM_DUCKDB_PATH!, DEFAULT_MAPPING);
  await warehouse.createTables({ replace: true });
  await warehouse.append("transactions", cdnowSampleTransactions());
  const lifecycle = await LifecycleService.open(warehouse, defaultStageModel(), "UTC");
  try {
    for (const model of ["BG_NBD", "PARETO_NBD"] as const) {
      direct[model] = await lifecycle.clvValidation({ calibrationEnd: "1997-09-30", holdoutEnd: "1998-06-30", model });
    }
  } finally {
    await lifecycle.close();
    await warehouse.close();
  }
});

/** The psql-like tables of an output: each one's title, header and rows. */
function tables(output: string): { title: string; header: string[]; rows: string[][] }[] {
  const split = (line: string) => line.split("|").map((c) => c.trim());
  return output
    .trimEnd()
    .split("\n\n")
    .map((block) => {
      const lines = block.split("\n");
      const separator = lines.findIndex((l) => /^-+(\+-+)+$/.test(l));
      const end = lines.findIndex((l) => /^\(\d+ rows?\)$/.test(l));
      return {
        title: lines
          .slice(0, separator - 1)
          .join("\n")
          .trim(),
        header: split(lines[separator - 1]!),
        rows: lines.slice(separator + 1, end).map(split),
      };
    });
}

interface Printed {
  model: string;
  fit: { customers: number; bgnbd: Record<string, number> | null; paretoNbd: Record<string, number> | null };
  customers: number;
  calibrationRepeatPurchases: number;
  actualHoldoutPurchases: number;
  predictedHoldoutPurchases: number;
  meanAbsoluteError: number;
  rootMeanSquaredError: number;
  byCalibrationPurchases: { calibrationPurchases: number; customers: number; meanPredictedPurchases: number }[];
  tracking: { week: number; to: string; period: string; cumulativeRepeatPurchases: number }[];
  spend: { customers: number; meanPredictedSpend: number; meanActualSpend: number };
}

describe("clm clv-validate", () => {
  it("prints the service's validation as JSON with --json", async () => {
    const { code, stdout, stderr } = await runClm(["clv-validate", ...DATES, "--json"], env);
    expect(code, stderr).toBe(0);
    expect(stderr).toBe("");
    const printed = JSON.parse(stdout) as Printed;
    const v = direct.BG_NBD!;
    expect(printed.model).toBe("BG_NBD");
    expect(printed.fit.customers).toBe(2_357);
    expect(printed.fit.paretoNbd).toBeNull();
    for (const k of ["r", "alpha", "a", "b"] as const) expect(printed.fit.bgnbd![k]).toBeCloseTo(v.fit.bgnbd![k], 10);
    expect([printed.customers, printed.calibrationRepeatPurchases, printed.actualHoldoutPurchases]).toEqual([
      v.customers,
      v.calibrationRepeatPurchases,
      v.actualHoldoutPurchases,
    ]);
    expect(printed.predictedHoldoutPurchases).toBeCloseTo(v.predictedHoldoutPurchases, 8);
    expect(printed.meanAbsoluteError).toBeCloseTo(v.meanAbsoluteError, 10);
    expect(printed.rootMeanSquaredError).toBeCloseTo(v.rootMeanSquaredError, 10);
    expect(printed.byCalibrationPurchases.map((b) => [b.calibrationPurchases, b.customers])).toEqual(
      v.byCalibrationPurchases.map((b) => [b.calibrationPurchases, b.customers]),
    );
    printed.byCalibrationPurchases.forEach((b, i) =>
      expect(b.meanPredictedPurchases).toBeCloseTo(v.byCalibrationPurchases[i]!.meanPredicted!, 10),
    );
    expect(printed.tracking.map((w) => [w.week, w.to, w.period, w.cumulativeRepeatPurchases])).toEqual(
      v.tracking.map((w) => [w.week, w.to, w.holdout ? "HOLDOUT" : "CALIBRATION", w.cumulativeActual]),
    );
    expect(printed.spend.customers).toBe(v.spend!.customers);
    expect(printed.spend.meanActualSpend).toBeCloseTo(v.spend!.meanActual, 8);
  });

  it("prints the figures, the bins and the weekly tracking as aligned tables", async () => {
    const { code, stdout, stderr } = await runClm(["clv-validate", ...DATES], env);
    expect(code, stderr).toBe(0);
    const v = direct.BG_NBD!;
    const [figures, bins, tracking] = tables(stdout);
    expect(figures!.title).toBe("BG/NBD fitted to 1997-09-30, holdout to 1998-06-30 (273 days)");
    const figure = (name: string) => figures!.rows.find((r) => r[0] === name)?.[1];
    expect(figure("calibration buyers")).toBe("2357");
    expect(figure("holdout purchases, actual")).toBe(String(v.actualHoldoutPurchases));
    expect(figure("holdout purchases, predicted")).toBe(v.predictedHoldoutPurchases.toFixed(2));
    expect(figure("mean absolute error (per customer)")).toBe(v.meanAbsoluteError.toFixed(4));
    expect(figure("root mean squared error (per customer)")).toBe(v.rootMeanSquaredError.toFixed(4));
    expect(figure("BG/NBD parameters (weeks)")).toMatch(/^r 0\.24\d\d, alpha 4\.41\d\d, a 0\.79\d\d, b 2\.42\d\d$/);
    expect(bins!.header).toEqual(["calibration purchases", "customers", "holdout actual", "holdout predicted"]);
    expect(bins!.rows.map((r) => r[0])).toEqual(["0", "1", "2", "3", "4", "5", "6", "7+"]);
    expect(bins!.rows.map((r) => r[3])).toEqual(v.byCalibrationPurchases.map((b) => b.meanPredicted!.toFixed(3)));
    expect(tracking!.header).toEqual(["week", "to", "period", "actual", "expected"]);
    expect(tracking!.rows).toHaveLength(78);
    expect(tracking!.rows[77]).toEqual([
      "78",
      "1998-06-30",
      "holdout",
      String(v.calibrationRepeatPurchases + v.actualHoldoutPurchases),
      v.tracking[77]!.cumulativeExpected.toFixed(1),
    ]);
  });

  it("fits Pareto/NBD with --model pareto-nbd", async () => {
    const { code, stdout, stderr } = await runClm(["clv-validate", ...DATES, "--model", "pareto-nbd", "--json"], env);
    expect(code, stderr).toBe(0);
    const printed = JSON.parse(stdout) as Printed;
    const v = direct.PARETO_NBD!;
    expect(printed.model).toBe("PARETO_NBD");
    expect(printed.fit.bgnbd).toBeNull();
    expect(printed.fit.paretoNbd!.s).toBeCloseTo(v.fit.paretoNbd!.s, 8);
    expect(printed.predictedHoldoutPurchases).toBeCloseTo(v.predictedHoldoutPurchases, 6);
  });

  it("exits 1 naming --holdout-end when the holdout runs past the data", async () => {
    const { code, stdout, stderr } = await runClm(
      ["clv-validate", "--calibration-end", "1997-09-30", "--holdout-end", "1998-07-01"],
      env,
    );
    expect(code).toBe(1);
    expect(stdout).toBe("");
    expect(stderr).toBe("clm: --holdout-end (1998-07-01) is after the last day with data (1998-06-30)\n");
  });

  it("refuses bad usage with exit code 2 before opening anything, and has --help", async () => {
    const cases: [string[], RegExp][] = [
      [
        ["clv-validate", "--calibration-end", "1998-06-30", "--holdout-end", "1997-09-30"],
        /--holdout-end \(1997-09-30\) must be after --calibration-end \(1998-06-30\)\nclm: see: clm clv-validate --help/,
      ],
      [["clv-validate", "--calibration-end", "1997-09-30"], /required option '--holdout-end <day>' not specified/],
      [["clv-validate", ...DATES, "--model", "gamma"], /--model.*Allowed choices are bgnbd, pareto-nbd/],
      [["clv-validate", "--calibration-end", "1997-02-30", "--holdout-end", "1998-06-30"], /must be a calendar day/],
    ];
    for (const [args, pattern] of cases) {
      const result = await runClmInProcess(args);
      expect(result.code, args.join(" ")).toBe(2);
      expect(result.stderr).toMatch(pattern);
      expect(result.stdout).toBe("");
    }
    const help = await runClmInProcess(["clv-validate", "--help"]);
    expect(help.code).toBe(0);
    expect(help.stdout).toMatch(/^Usage: clm clv-validate \[options\]/);
    expect(help.stdout).toContain("--model <model>");
  });
});

// CLV end to end: transactions rebuilt from the CDNOW summary, summarised and grouped in each warehouse,
// fitted in Node, reproduce the published BG/NBD and Gamma-Gamma parameters.
import { readFileSync } from "node:fs";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { ContractRow } from "../../src/connectors/connector.ts";
import { addDays } from "../../src/lifecycle/calendar.ts";
import { defaultStageModel } from "../../src/lifecycle/stage-model.ts";
import { LifecycleService } from "../../src/services/lifecycle/service.ts";
import { filledWarehouse, testWarehouses, type TestWarehouse } from "../helpers/databases.ts";

const CALIBRATION_END = "1997-09-30";

/**
 * Each CDNOW customer becomes purchase days: the first T weeks before 1997-09-30, the last t_x weeks
 * after the first, the x repeat days spread evenly in between, each repeat day spending zbar (so their
 * mean is zbar). Whole days shift T and t_x by at most 0.03 days.
 */
function cdnowTransactions(): ContractRow[] {
  const text = readFileSync(new URL("../fixtures/cdnow_summary.csv", import.meta.url), "utf8");
  const out: ContractRow[] = [];
  for (const line of text.trim().split("\n").slice(1)) {
    const [id, x, tx, T, zbar] = line.split(",").map(Number) as [number, number, number, number, number];
    const first = addDays(CALIBRATION_END, -Math.round(T * 7));
    const span = Math.round(tx * 7);
    const at = (day: string) => Date.parse(`${day}T12:00:00Z`);
    out.push([`k${id}`, at(first), 10, `k${id}-0`, null]);
    for (let k = 1; k <= x; k++)
      out.push([`k${id}`, at(addDays(first, Math.round((k * span) / x))), zbar, `k${id}-${k}`, null]);
  }
  return out;
}

describe.each(testWarehouses())("CLV on the CDNOW base in $label", (factory) => {
  let warehouse: TestWarehouse;
  let lifecycle: LifecycleService;
  beforeAll(async () => {
    warehouse = await filledWarehouse(factory, { transactions: cdnowTransactions() });
    lifecycle = await LifecycleService.open(warehouse, defaultStageModel(), "UTC");
  });
  afterAll(async () => {
    await warehouse?.close();
  });

  it("reproduces the published parameters from summaries grouped in the warehouse", async () => {
    const model = await lifecycle.clvModel(CALIBRATION_END, "WEEK");
    expect(model.customers).toBe(2_357);
    expect(model.summaryGroups).toBeLessThan(2_357);
    const { gammaGamma } = model;
    const bgnbd = model.bgnbd!;
    expect(bgnbd.r).toBeCloseTo(0.243, 2);
    expect(bgnbd.alpha).toBeCloseTo(4.414, 2);
    expect(bgnbd.a).toBeCloseTo(0.793, 2);
    expect(bgnbd.b).toBeCloseTo(2.426, 2);
    expect(bgnbd.logLikelihood).toBeCloseTo(-9582.4, 0);
    expect(gammaGamma.customers).toBe(946);
    expect(gammaGamma.p).toBeCloseTo(6.25, 2);
    expect(gammaGamma.q).toBeCloseTo(3.74, 2);
    expect(Math.abs(gammaGamma.gamma - 15.44)).toBeLessThan(0.01);
    // Kept per (day, unit, model): the second ask sends nothing to the warehouse.
    expect(await lifecycle.clvModel(CALIBRATION_END, "WEEK")).toBe(model);
    expect(model.paretoNbd).toBeNull();
  });

  it("fits Pareto/NBD to the published values from the same warehouse summaries", async () => {
    const model = await lifecycle.clvModel(CALIBRATION_END, "WEEK", "PARETO_NBD");
    expect(model.bgnbd).toBeNull();
    const p = model.paretoNbd!;
    // Fader, Hardie & Lee (2005), "A Note on Implementing the Pareto/NBD Model in MATLAB".
    expect(p.r).toBeCloseTo(0.55, 2);
    expect(p.alpha).toBeCloseTo(10.58, 1);
    expect(p.s).toBeCloseTo(0.61, 2);
    expect(p.beta).toBeCloseTo(11.67, 1);
    expect(p.logLikelihood).toBeCloseTo(-9595.0, 0);
  });
});

// The fit pool: fits in worker threads give what the same maths gives in this thread, thin data is
// still ThinDataError, and a worker that cannot start fails the fit instead of hanging or ending the
// process.
import { readFileSync } from "node:fs";
import { pathToFileURL } from "node:url";
import { afterAll, describe, expect, it } from "vitest";
import { ThinDataError } from "../../src/lifecycle/clv/bgnbd.ts";
import { fitClvSummaries, type ClvFitInput } from "../../src/lifecycle/clv/fit.ts";
import { FitPool } from "../../src/services/fit-pool.ts";
import { defaultFitWorkers } from "../../src/config/defaults.ts";

/** The CDNOW calibration summaries as the warehouse returns them: grouped, in days and cents. */
function cdnowInput(model: ClvFitInput["model"]): ClvFitInput {
  const recency = new Map<string, { x: number; txDays: number; tDays: number; count: number }>();
  const spend = new Map<string, { x: number; zbarCents: number; count: number }>();
  const text = readFileSync(new URL("../fixtures/cdnow_summary.csv", import.meta.url), "utf8");
  for (const line of text.trim().split("\n").slice(1)) {
    const [, x, tx, T, zbar] = line.split(",").map(Number) as [number, number, number, number, number];
    const r = { x, txDays: Math.round(tx * 7), tDays: Math.round(T * 7) };
    const rk = `${r.x}|${r.txDays}|${r.tDays}`;
    recency.set(rk, { ...r, count: (recency.get(rk)?.count ?? 0) + 1 });
    if (x > 0) {
      const sk = `${x}|${Math.round(zbar * 100)}`;
      spend.set(sk, { x, zbarCents: Math.round(zbar * 100), count: (spend.get(sk)?.count ?? 0) + 1 });
    }
  }
  return { timeUnit: "WEEK", model, recency: [...recency.values()], spend: [...spend.values()] };
}

function withoutTime<T extends { fitMs: number }>(fit: T): Omit<T, "fitMs"> {
  const { fitMs: _, ...rest } = fit;
  return rest;
}

describe("the CLV fit pool", () => {
  const pool = new FitPool(1);
  afterAll(() => pool.close());

  it("gives exactly the in-thread fit, for both purchase models", async () => {
    for (const model of ["BG_NBD", "PARETO_NBD"] as const) {
      const input = cdnowInput(model);
      const [inWorker, here] = [await pool.fit(input), fitClvSummaries(input)];
      expect(withoutTime(inWorker)).toEqual(withoutTime(here));
      expect(inWorker.customers).toBe(2_357);
    }
  });

  it("answers data too thin to fit with ThinDataError, as in this thread", async () => {
    const input = { ...cdnowInput("BG_NBD"), spend: [] };
    await expect(pool.fit(input)).rejects.toBeInstanceOf(ThinDataError);
    expect(() => fitClvSummaries(input)).toThrow(ThinDataError);
  });

  it("fails the fit when its worker cannot start, and the process goes on", async () => {
    const broken = new FitPool(1, { filename: pathToFileURL("/nonexistent/clm-fit-worker.mjs").href });
    try {
      await expect(broken.fit(cdnowInput("BG_NBD"))).rejects.toThrow(/CLV fit worker failed: .*Cannot find module/);
    } finally {
      await broken.close();
    }
  });

  it("sizes itself one worker below the cores, at least one", () => {
    expect([1, 2, 4, 16].map((cores) => defaultFitWorkers(cores))).toEqual([1, 1, 3, 15]);
    expect(() => new FitPool(0)).toThrow(RangeError);
  });
});

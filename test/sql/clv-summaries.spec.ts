// The mean repeat spend the CLV fits are grouped by is the same whole number of cents on every warehouse:
// the repeat revenue to whole cents, its mean rounded half up. Float sums of cents land a hair off the
// half cent (0.05 + 0.10 is not 0.15), and ROUND breaks exact ties to even on PostgreSQL but away from
// zero on DuckDB and BigQuery; either made the Gamma-Gamma fit differ by warehouse.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { ContractRow } from "../../src/connectors/connector.ts";
import type { ClvFitInput } from "../../src/lifecycle/clv/fit.ts";
import { defaultStageModel } from "../../src/lifecycle/stage-model.ts";
import type { FitPool } from "../../src/services/fit-pool.ts";
import { LifecycleService } from "../../src/services/lifecycle/service.ts";
import { filledWarehouse, testWarehouses, type TestWarehouse } from "../helpers/databases.ts";

const AS_OF = "2026-06-30";
const day = (d: number) => Date.parse(`2026-06-${String(d).padStart(2, "0")}T12:00:00Z`);

// Purchase days per customer (first, then repeats) and the mean repeat spend in cents, by hand.
const BUYERS: [string, number[], number][] = [
  // 5 cents over 2 repeat days: 2.5, half up to 3 (PostgreSQL's ROUND gave 2; the float 0.0499… gave 2).
  ["a", [10, 0.02, 0.03], 3],
  // 15 cents over 2: 7.5 → 8, from sums that are a hair under 0.15 in floating point.
  ["b", [1, 0.1, 0.05], 8],
  ["c", [0.7, 0.1, 0.05], 8],
  // 301 cents over 3: 100.33 → 100.
  ["d", [5, 1, 2, 0.01], 100],
  // One repeat of 33 cents.
  ["e", [3, 0.33], 33],
  // 2.5 dollars over 2 repeat days of which one has two orders: 1.25 → 125 cents exactly.
  ["f", [4, 1, 0.5, 1], 125],
];

function rows(): ContractRow[] {
  return BUYERS.flatMap(([id, amounts]) =>
    amounts.map((amount, i): ContractRow => {
      // f's last two amounts are two orders on one day.
      const d = id === "f" && i === 3 ? 2 + 2 : 2 + 2 * i;
      return [id, day(d), amount, `${id}${i}`, null];
    }),
  );
}

/** A fit pool that records what it is asked to fit and fits nothing. */
function recordingPool(seen: ClvFitInput[]): FitPool {
  return {
    fit: async (input: ClvFitInput) => {
      seen.push(input);
      throw new Error("recorded");
    },
    close: async () => {},
  } as unknown as FitPool;
}

describe.each(testWarehouses())("CLV summaries on $label", (factory) => {
  let warehouse: TestWarehouse;
  let lifecycle: LifecycleService;
  const seen: ClvFitInput[] = [];
  beforeAll(async () => {
    warehouse = await filledWarehouse(factory, { transactions: rows() });
    lifecycle = new LifecycleService(warehouse, defaultStageModel(), "UTC", new Set(), {
      fitPool: recordingPool(seen),
    });
  });
  afterAll(async () => {
    await warehouse?.close();
  });

  it("groups mean repeat spend in whole cents, rounded half up", async () => {
    await expect(lifecycle.clvModel(AS_OF, "WEEK")).rejects.toThrow("recorded");
    expect(seen).toHaveLength(1);
    // In ascending order whatever order the warehouse sent (the fit sums the groups in this order).
    expect(seen[0]!.spend).toEqual([
      { x: 1, zbarCents: 33, count: 1 },
      { x: 2, zbarCents: 3, count: 1 },
      { x: 2, zbarCents: 8, count: 2 },
      { x: 2, zbarCents: 125, count: 1 },
      { x: 3, zbarCents: 100, count: 1 },
    ]);
    const recency = seen[0]!.recency.map((g) => [g.x, g.txDays, g.tDays]);
    expect(recency).toEqual([
      [1, 2, 28],
      [2, 4, 28],
      [3, 6, 28],
    ]);
  });
});

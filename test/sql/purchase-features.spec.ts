// The purchase features the warehouse computes equal a plain TypeScript reference on random purchases,
// on every warehouse. The dialects compute some of them differently (DuckDB by aggregates such as
// arg_min_null and min(day, 2), the others by numbering purchase days with a window), so each is held to
// the same reference rather than to the other. The hand-worked fixture (lifecycle.spec.ts) has the
// edge cases named; this covers what random data finds: repeated and missing order ids, orders spanning
// days, purchases after the cut-off, refunds (alone on a day, beside purchases, in one order with them).
import fc from "fast-check";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { ContractRow } from "../../src/connectors/connector.ts";
import type { CustomerFeatures } from "../../src/lifecycle/features.ts";
import { defaultStageModel } from "../../src/lifecycle/stage-model.ts";
import { LifecycleService } from "../../src/services/lifecycle/service.ts";
import { testWarehouses, type TestWarehouse } from "../helpers/databases.ts";

const AS_OF = "2026-06-30";
const DAY_MS = 86_400_000;
const CUTOFF = Date.parse(`${AS_OF}T00:00:00Z`) + DAY_MS;

interface Purchase {
  readonly customer: string;
  readonly at: number;
  readonly amount: number;
  readonly orderId: string | null;
}

// A few customers, times from 60 days before the cut-off to 5 days after it (those must not count),
// amounts in cents, about one in four a refund (negative) and some zero, order ids drawn from a small
// pool so they repeat within and across days, and an order mixes purchase and refund rows.
const purchase: fc.Arbitrary<Purchase> = fc.record({
  customer: fc.constantFrom("c0", "c1", "c2", "c3", "c4"),
  at: fc.integer({ min: CUTOFF - 60 * DAY_MS, max: CUTOFF + 5 * DAY_MS - 1 }),
  amount: fc
    .oneof(
      { weight: 6, arbitrary: fc.integer({ min: 0, max: 50_000 }) },
      { weight: 2, arbitrary: fc.integer({ min: -50_000, max: -1 }) },
    )
    .map((cents) => cents / 100),
  orderId: fc.option(fc.constantFrom("o1", "o2", "o3"), { nil: null, freq: 3 }),
});

type PurchaseFeatures = Pick<
  CustomerFeatures,
  | "firstPurchaseDate"
  | "secondPurchaseDate"
  | "lastPurchaseDate"
  | "purchaseDays"
  | "orderCount"
  | "revenue"
  | "firstPurchaseRevenue"
  | "averageOrderValue"
  | "meanGapDays"
  | "recencyDays"
>;

/** The features by their catalog definitions, from the rows before the cut-off, days in UTC. */
function reference(purchases: readonly Purchase[]): Map<string, PurchaseFeatures> {
  const byCustomer = new Map<string, Map<string, Purchase[]>>();
  for (const p of purchases) {
    if (p.at >= CUTOFF) continue;
    const day = new Date(p.at).toISOString().slice(0, 10);
    const days = byCustomer.get(p.customer) ?? new Map<string, Purchase[]>();
    byCustomer.set(p.customer, days);
    days.set(day, [...(days.get(day) ?? []), p]);
  }
  const dayNumber = (day: string) => Date.parse(`${day}T00:00:00Z`) / DAY_MS;
  const result = new Map<string, PurchaseFeatures>();
  for (const [customer, days] of byCustomer) {
    // Orders of a day: the distinct order ids of its purchase rows, and each purchase row without one on
    // its own; a refund (negative amount) makes no order. Revenue is every row's amount, refunds too.
    const ordersOn = (rows: Purchase[]) => {
      const bought = rows.filter((r) => r.amount >= 0);
      return (
        new Set(bought.flatMap((r) => (r.orderId === null ? [] : [r.orderId]))).size +
        bought.filter((r) => r.orderId === null).length
      );
    };
    const revenueOn = (rows: Purchase[]) => rows.reduce((sum, r) => sum + r.amount, 0);
    const allDays = [...days.keys()].sort();
    const revenue = allDays.reduce((sum, day) => sum + revenueOn(days.get(day)!), 0);
    const sorted = allDays.filter((day) => ordersOn(days.get(day)!) > 0);
    const orderCount = sorted.reduce((sum, day) => sum + ordersOn(days.get(day)!), 0);
    if (sorted.length === 0) {
      // Refunds only: known, and no buyer.
      result.set(customer, {
        firstPurchaseDate: null,
        secondPurchaseDate: null,
        lastPurchaseDate: null,
        purchaseDays: 0,
        orderCount: 0,
        revenue,
        firstPurchaseRevenue: null,
        averageOrderValue: null,
        meanGapDays: null,
        recencyDays: null,
      });
      continue;
    }
    const first = sorted[0]!;
    const last = sorted[sorted.length - 1]!;
    result.set(customer, {
      firstPurchaseDate: first,
      secondPurchaseDate: sorted[1] ?? null,
      lastPurchaseDate: last,
      purchaseDays: sorted.length,
      orderCount,
      revenue,
      firstPurchaseRevenue: revenueOn(days.get(first)!),
      averageOrderValue: revenue / orderCount,
      meanGapDays: sorted.length === 1 ? 0 : (dayNumber(last) - dayNumber(first)) / (sorted.length - 1),
      recencyDays: dayNumber(AS_OF) - dayNumber(last),
    });
  }
  return result;
}

describe.each(testWarehouses())("purchase features against a TypeScript reference on $label", (factory) => {
  let warehouse: TestWarehouse;
  let lifecycle: LifecycleService;

  beforeAll(async () => {
    warehouse = await factory.open();
    await warehouse.createTables({ replace: true });
    lifecycle = await LifecycleService.open(warehouse, defaultStageModel(), "UTC");
  });
  afterAll(async () => {
    await warehouse?.close();
  });

  it("computes every customer's purchase features as the reference does", async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(purchase, { minLength: 1, maxLength: 30 }), async (purchases) => {
        await warehouse.createTables({ replace: true });
        const rows: ContractRow[] = purchases.map((p) => [p.customer, p.at, p.amount, p.orderId, null]);
        await warehouse.append("transactions", rows);
        const expected = reference(purchases);
        const actual = await lifecycle.featuresOf(AS_OF, ["c0", "c1", "c2", "c3", "c4"]);
        expect([...actual.keys()].sort()).toEqual([...expected.keys()].sort());
        for (const [customer, want] of expected) {
          const got = actual.get(customer)!;
          for (const [field, value] of Object.entries(want)) {
            const seen = got[field as keyof PurchaseFeatures];
            if (typeof value === "number") expect(seen, `${customer}.${field}`).toBeCloseTo(value, 9);
            else expect(seen, `${customer}.${field}`).toBe(value);
          }
        }
      }),
      { numRuns: 40, seed: 20261124 },
    );
  });
});

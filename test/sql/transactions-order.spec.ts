// A customer's transactions come in one documented order on every warehouse: oldest first, then by order
// id, amount and channel, rows without an order id or a channel first. The warehouses disagree on where
// NULL sorts unless told (BigQuery first, DuckDB and PostgreSQL last), and pages are cut from this order,
// so rows at the same instant are the case that matters.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { ContractRow } from "../../src/connectors/connector.ts";
import { defaultStageModel } from "../../src/lifecycle/stage-model.ts";
import { LifecycleService } from "../../src/services/lifecycle/service.ts";
import { filledWarehouse, testWarehouses, type TestWarehouse } from "../helpers/databases.ts";

const NOON = Date.parse("2026-05-01T12:00:00Z");

// Listed in the expected order; appended in another.
const EXPECTED: [number, number, string | null, string | null][] = [
  [NOON - 1_000, 9, "o9", "email"],
  [NOON, 3, null, "email"],
  [NOON, 5, null, null],
  [NOON, 5, null, "email"],
  [NOON, 5, "o1", null],
  [NOON, 5, "o1", "email"],
  [NOON, 2, "o2", "email"],
];
const APPEND_ORDER = [5, 2, 6, 0, 3, 1, 4];

describe.each(testWarehouses())("transaction order on $label", (factory) => {
  let warehouse: TestWarehouse;
  let lifecycle: LifecycleService;
  beforeAll(async () => {
    const rows: ContractRow[] = APPEND_ORDER.map((i) => {
      const [at, amount, orderId, channel] = EXPECTED[i]!;
      return ["a", at, amount, orderId, channel];
    });
    warehouse = await filledWarehouse(factory, { transactions: rows });
    lifecycle = new LifecycleService(warehouse, defaultStageModel(), "UTC", new Set());
  });
  afterAll(async () => {
    await warehouse?.close();
  });

  const listed = (page: { occurredAt: Date; amount: number; orderId: string | null; channel: string | null }[]) =>
    page.map((t) => [t.occurredAt.getTime(), t.amount, t.orderId, t.channel]);

  it("lists them oldest first, NULL order ids and channels before the others", async () => {
    const all = await lifecycle.transactionsOf("2026-05-01", ["a"], 0, 50);
    expect(listed(all.get("a")!)).toEqual(EXPECTED);
  });

  it("cuts pages from that order", async () => {
    const pages = [];
    for (let offset = 0; offset < EXPECTED.length; offset += 3) {
      pages.push(...listed((await lifecycle.transactionsOf("2026-05-01", ["a"], offset, 3)).get("a")!));
    }
    expect(pages).toEqual(EXPECTED);
  });
});

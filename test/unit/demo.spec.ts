import { createHash } from "node:crypto";
import { describe, expect, it } from "vitest";
import type { ContractRow } from "../../src/connectors/connector.ts";
import type { LogicalTable } from "../../src/sql/contract.ts";
import { generateDemoData } from "../../src/demo/generate.ts";

type Tables = Record<LogicalTable, ContractRow[]>;

async function generate(customers: number, seed = 42, endDate = "2026-06-30"): Promise<Tables> {
  const tables: Tables = { transactions: [], customers: [], events: [], marketing_spend: [] };
  const counts = await generateDemoData(
    { append: async (table, rows) => void tables[table].push(...rows) },
    { customers, seed, endDate },
  );
  for (const table of Object.keys(tables) as LogicalTable[]) expect(tables[table]).toHaveLength(counts[table]);
  return tables;
}

const digest = (tables: Tables) => createHash("sha256").update(JSON.stringify(tables)).digest("hex");

describe("demo data generator", () => {
  it("is deterministic: the same seed gives the same rows, another seed other rows", async () => {
    expect(digest(await generate(300))).toBe(digest(await generate(300)));
    expect(digest(await generate(300, 7))).not.toBe(digest(await generate(300)));
  });

  const end = Date.parse("2026-06-30T23:59:59.999Z");
  const start = Date.parse("2024-07-01T00:00:00Z");

  it("describes a plausible shop within the history window", async () => {
    const { transactions, customers, events, marketing_spend } = await generate(2_000);
    const createdAt = new Map(customers.map((c) => [c[0] as string, c[1] as number]));
    expect(createdAt.size).toBe(2_000);

    // Every purchase belongs to a known customer, after they became known and within the window.
    for (const [id, at, amount] of transactions) {
      expect(createdAt.get(id as string)).toBeLessThanOrEqual(at as number);
      expect(at as number).toBeLessThanOrEqual(end);
      expect(amount as number).toBeGreaterThan(0);
    }
    for (const [, at] of customers) expect((at as number) >= start && (at as number) <= end).toBe(true);
    for (const [, at] of events) expect(at as number).toBeLessThanOrEqual(end);

    // Leads that never buy, one-time buyers and repeat buyers all exist.
    const purchaseDays = new Map<string, Set<number>>();
    for (const [id, at] of transactions) {
      const days = purchaseDays.get(id as string) ?? new Set();
      days.add(Math.floor((at as number) / 86_400_000));
      purchaseDays.set(id as string, days);
    }
    const buyers = purchaseDays.size;
    const oneDay = [...purchaseDays.values()].filter((d) => d.size === 1).length;
    const fourPlus = [...purchaseDays.values()].filter((d) => d.size >= 4).length;
    expect(buyers / 2_000).toBeGreaterThan(0.4);
    expect(buyers / 2_000).toBeLessThan(0.75);
    expect(oneDay / buyers).toBeGreaterThan(0.2);
    expect(fourPlus / buyers).toBeGreaterThan(0.1);

    // Same-day repeat orders exist (they must count as one purchase day downstream).
    const perCustomerDay = new Map<string, number>();
    for (const [id, at] of transactions) {
      const key = `${id}/${Math.floor((at as number) / 86_400_000)}`;
      perCustomerDay.set(key, (perCustomerDay.get(key) ?? 0) + 1);
    }
    expect([...perCustomerDay.values()].some((n) => n > 1)).toBe(true);

    // Referrals point at an earlier buyer.
    const referred = customers.filter((c) => c[3] !== null);
    expect(referred.length).toBeGreaterThan(50);
    for (const [id, at, channel, referrer] of referred) {
      expect(channel).toBe("referral");
      expect(purchaseDays.has(referrer as string)).toBe(true);
      expect(createdAt.get(referrer as string)).toBeLessThanOrEqual(at as number);
      expect(referrer).not.toBe(id);
    }

    // Every event type the lifecycle needs, NPS scores from 0 to 10.
    const types = new Set(events.map((e) => e[2]));
    expect([...types].sort()).toEqual(["lead", "nps", "quote_request", "sign_up", "subscribe", "visit"]);
    for (const e of events.filter((e) => e[2] === "nps"))
      expect(e[3]).toSatisfy((v) => Number.isInteger(v) && (v as number) >= 0 && (v as number) <= 10);

    // Spend every day of the window for each paid channel.
    const days = new Set(marketing_spend.map((s) => s[0]));
    expect(days.size).toBe(730);
    expect(new Set(marketing_spend.map((s) => s[1]))).toEqual(new Set(["paid_search", "social", "display", "email"]));
  });

  it("scales transactions per buyer with the intensity, over the same people", async () => {
    const count = async (intensity: number) => {
      const rows = { transactions: 0, customers: 0 };
      await generateDemoData(
        { append: async (table, r) => void (table in rows && (rows[table as keyof typeof rows] += r.length)) },
        { customers: 3_000, endDate: "2026-06-30", intensity },
      );
      return rows;
    };
    const base = await count(1);
    const intense = await count(4);
    expect(intense.customers).toBe(base.customers);
    expect(intense.transactions / base.transactions).toBeGreaterThan(3);
    expect(intense.transactions / base.transactions).toBeLessThan(5);
  });

  it("reports progress up to the total", async () => {
    const seen: number[] = [];
    await generateDemoData(
      { append: async () => {} },
      { customers: 25_000, endDate: "2026-06-30", onProgress: (n) => seen.push(n) },
    );
    expect(seen).toEqual([10_000, 20_000, 25_000]);
  });
});

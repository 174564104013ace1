// The denominator of every rate metric, pinned on a small shop worked out by hand (UTC, June 2026 compared
// with the 30 days before it, 2026-05-02 … 2026-05-31). The shop holds the people a denominator can wrongly
// take in or leave out: a prospect known before the period who never bought, a lead known only by an event,
// a refund-only customer and a customer who appeared and bought on the same day.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { ContractRow } from "../../src/connectors/connector.ts";
import type { LogicalTable } from "../../src/sql/contract.ts";
import { testWarehouses } from "../helpers/databases.ts";
import { startTestServer, type TestServer } from "../helpers/server.ts";

const JUNE = { from: "2026-06-01", to: "2026-06-30" };
const at = (iso: string) => Date.parse(iso);

const ROWS: Record<LogicalTable, ContractRow[]> = {
  transactions: [
    ["R", at("2026-06-05T12:00:00Z"), -20, "r1", "web"], // refund-only: never a positive amount
    ["S", at("2026-06-12T15:00:00Z"), 30, "s1", "web"], // same day as S's customers row
    ["K", at("2025-06-15T12:00:00Z"), 50, "k1", "web"],
    ["X", at("2025-01-10T12:00:00Z"), 40, "x1", "web"],
    ["M", at("2026-05-20T12:00:00Z"), 25, "m1", "web"],
    ["M", at("2026-06-20T12:00:00Z"), 35, "m2", "web"],
    ["N", at("2026-05-25T12:00:00Z"), 15, "n1", "web"],
  ],
  customers: [
    ["P", at("2026-03-01T12:00:00Z"), "search", "M"], // the prospect; M referred them
    ["S", at("2026-06-12T08:00:00Z"), "social", null],
  ],
  events: [
    ["L", at("2026-06-10T12:00:00Z"), "visit", null], // the lead: an event, no purchase
    // Survey answers in June from a buyer, the prospect and the lead; one in May that June leaves out.
    ["S", at("2026-06-15T12:00:00Z"), "nps", 10],
    ["P", at("2026-06-20T12:00:00Z"), "nps", 3],
    ["L", at("2026-06-22T12:00:00Z"), "nps", 9],
    ["M", at("2026-05-28T12:00:00Z"), "nps", 0],
  ],
  marketing_spend: [
    ["2026-06-03", "search", 60],
    ["2026-05-30", "search", 1000], // before June
  ],
};

/*
Known by 06-30: P L R S K X M N (8). First seen: P 03-01, L 06-10, R 06-05 (its refund), S 06-12.
A refund is no purchase: R is known from its refund row and never a buyer; its −20 counts in revenue (net).
- conversion_rate: leads first seen in June = L, R, S (3; not P, seen in March); with a first purchase
  by 06-30: S only → 1/3. median_days_to_convert over S 0 → 0.
- June buyers (a purchase day in June): S, M (2; R refunded only, P and L never bought). Orders: s1, m2
  = 2; June revenue, net: −20 + 30 + 35 = 45.
  repeat_purchase_rate: purchase days in all ≥ 2 → M only → 1/2.
  average_order_value 45/2 over 2 orders; purchase_frequency 2/2 = 1; revenue_per_customer 45/2.
- retention_rate: buyers of 05-02…05-31 = M, N (2); M bought again in June → 1/2.
- churn_rate: stages on 05-31 of those with a purchase by then: K (one purchase 350 days ago: not
  churned), X (506 days: churned, left out), M (11 days: new), N (6 days: new) → start_active K, M, N = 3.
  P is a prospect on 05-31 and must not count; L, R, S are unknown or buyers only from June.
  On 06-30 K is 380 > 365 days → churned; M advocate, N developing → 1/3.
- referral_rate: buyers by 06-30 S K X M N = 5 (not P, L, R); advocates: M referred P → 1/5.
- historical_ltv: lifetime revenue of those 5: 30 + 50 + 40 + 60 + 15 = 195 → 195/5 = 39.
- Pareto among June buyers by June revenue M 35, S 30 (sum 65): top ceil(0.2 × 2) = 1 → 35/65
  over the 2 June buyers; 80% of 65 = 52: running sums 35, 65 → 2 customers of 2 → 1.
- cac: June spend 60 / new customers (first purchase in June: S; M first bought in May) 1 → 60;
  ltv_to_cac 39 / 60 over that 1.
- Surveys in June: S 10 (promoter), P 3 (detractor), L 9 (promoter); M's May answer is outside →
  3 responses: nps 100 × (2 − 1)/3; satisfaction (10 + 3 + 9)/3 = 22/3.
*/
const EXPECTED: Record<string, { value: number; population: number }> = {
  conversion_rate: { value: 1 / 3, population: 3 },
  median_days_to_convert: { value: 0, population: 1 },
  repeat_purchase_rate: { value: 1 / 2, population: 2 },
  retention_rate: { value: 1 / 2, population: 2 },
  churn_rate: { value: 1 / 3, population: 3 },
  referral_rate: { value: 1 / 5, population: 5 },
  average_order_value: { value: 45 / 2, population: 2 },
  purchase_frequency: { value: 1, population: 2 },
  revenue_per_customer: { value: 45 / 2, population: 2 },
  historical_ltv: { value: 39, population: 5 },
  // A share of revenue computed over June's 2 buyers: the population is them, not the revenue (65).
  pareto_top20_revenue_share: { value: 35 / 65, population: 2 },
  pareto_customer_share_for_80: { value: 1, population: 2 },
  cac: { value: 60, population: 1 },
  ltv_to_cac: { value: 39 / 60, population: 1 },
  nps: { value: 100 / 3, population: 3 },
  satisfaction: { value: 22 / 3, population: 3 },
};

const QUERY = `query($keys: [MetricKey!], $period: PeriodInput!) {
  metrics(keys: $keys, period: $period) { key available value population }
}`;

describe.each(testWarehouses())("rate denominators on $label", (factory) => {
  let server: TestServer;

  beforeAll(async () => {
    server = await startTestServer({ warehouseFactory: factory, rows: ROWS });
  });
  afterAll(async () => {
    await server?.close();
  });

  it("divides each rate by the population worked out by hand", async () => {
    const keys = Object.keys(EXPECTED).map((k) => k.toUpperCase());
    const { data, errors } = await server.graphql<{
      metrics: { key: string; available: boolean; value: number | null; population: number | null }[];
    }>(QUERY, { keys, period: JUNE });
    expect(errors).toBeUndefined();
    const byKey = new Map(data!.metrics.map((m) => [m.key.toLowerCase(), m]));
    expect([...byKey.keys()].sort()).toEqual(Object.keys(EXPECTED).sort());
    for (const [key, { value, population }] of Object.entries(EXPECTED)) {
      const m = byKey.get(key)!;
      expect(m.available, key).toBe(true);
      expect(m.population, `${key} population`).toBe(population);
      expect(m.value, key).toBeCloseTo(value, 9);
    }
  });
});

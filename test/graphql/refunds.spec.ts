// Refunds (negative amounts) through the whole API, on every warehouse: a customer with refunds only is
// known and no buyer (no stage of a buyer, no prediction), a day of refunds only is no purchase day,
// revenue and lifetime value are net, and Gamma-Gamma is fitted on the buyers whose repeat purchases
// net of refunds are positive; the others are expected to spend the population's mean.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { ContractRow } from "../../src/connectors/connector.ts";
import { testWarehouses } from "../helpers/databases.ts";
import { startTestServer, type TestServer } from "../helpers/server.ts";

const AS_OF = "2026-06-30";
const at = (day: string) => Date.parse(`${day}T12:00:00Z`);
const dayOf = (offset: number) =>
  new Date(Date.parse("2026-01-05T00:00:00Z") + offset * 86_400_000).toISOString().slice(0, 10);

// Forty ordinary buyers with 1–4 purchase days each (enough repeat buyers for a Gamma-Gamma fit), then
// the customers with refunds.
const ordinary: ContractRow[] = Array.from({ length: 40 }, (_, i) =>
  Array.from(
    { length: 1 + (i % 4) },
    (_, k): ContractRow => [`b${i}`, at(dayOf(i * 2 + k * 23)), 10 + ((i * 7 + k * 3) % 25), `b${i}-${k}`, "web"],
  ),
).flat();

const ROWS = {
  transactions: [
    ...ordinary,
    // R: refunds only, on two days.
    ["R", at("2026-03-01"), -40, "r1", "web"],
    ["R", at("2026-04-01"), -10, null, "web"],
    // Q: one purchase, refunded whole a week later: one purchase day, revenue 0.
    ["Q", at("2026-05-01"), 30, "q1", "web"],
    ["Q", at("2026-05-08"), -30, "q1", "web"],
    // Z: three purchase days; the two repeat ones refunded on later days: repeat spend 5 + 5 − 30 < 0.
    ["Z", at("2026-02-01"), 50, "z1", "web"],
    ["Z", at("2026-03-01"), 5, "z2", "web"],
    ["Z", at("2026-04-01"), 5, "z3", "web"],
    ["Z", at("2026-04-15"), -30, "z1", "web"],
  ] satisfies ContractRow[],
};

interface CustomerAnswer {
  stage: { key: string };
  features: { purchaseDays: number; orderCount: number; revenue: number; firstPurchaseDate: string | null };
  prediction: { expectedAverageSpend: number; predictedClv: number } | null;
}

describe.each(testWarehouses())("refunds on $label", (factory) => {
  let server: TestServer;

  beforeAll(async () => {
    server = await startTestServer({ warehouseFactory: factory, rows: ROWS, stateClv: null });
  });
  afterAll(async () => {
    await server?.close();
  });

  const customer = `stage { key } features { purchaseDays orderCount revenue firstPurchaseDate }
    prediction(horizonDays: 365) { expectedAverageSpend predictedClv }`;

  it("keeps a refund-only customer known and no buyer, and counts revenue net", async () => {
    const { data, errors } = await server.graphql<{
      r: CustomerAnswer;
      q: CustomerAnswer;
      model: { gammaGamma: { p: number; q: number; gamma: number; customers: number } };
    }>(`{ r: customer(id: "R", asOf: "${AS_OF}") { ${customer} }
          q: customer(id: "Q", asOf: "${AS_OF}") { ${customer} }
          model: clvModel(asOf: "${AS_OF}") { gammaGamma { p q gamma customers } } }`);
    expect(errors).toBeUndefined();
    const { r, q } = data!;
    expect(r.features).toEqual({ purchaseDays: 0, orderCount: 0, revenue: -50, firstPurchaseDate: null });
    expect(r.stage.key).toBe("prospect");
    expect(r.prediction).toBeNull();
    expect(q.features).toEqual({ purchaseDays: 1, orderCount: 1, revenue: 0, firstPurchaseDate: "2026-05-01" });
    expect(q.prediction).not.toBeNull();
  });

  it("fits Gamma-Gamma on positive repeat spend only, and gives the others the population mean", async () => {
    const { data, errors } = await server.graphql<{
      z: CustomerAnswer;
      model: { gammaGamma: { p: number; q: number; gamma: number; customers: number } };
    }>(`{ z: customer(id: "Z", asOf: "${AS_OF}") { ${customer} }
          model: clvModel(asOf: "${AS_OF}") { gammaGamma { p q gamma customers } } }`);
    expect(errors).toBeUndefined();
    const { z, model } = data!;
    expect(z.features).toMatchObject({ purchaseDays: 3, orderCount: 3, revenue: 30 });
    // The ordinary buyers with repeat purchases: i % 4 ≠ 0, 30 of the 40; not Z.
    expect(model.gammaGamma.customers).toBe(30);
    const { p, q, gamma } = model.gammaGamma;
    expect(z.prediction!.expectedAverageSpend).toBeCloseTo((p * gamma) / (q - 1), 6);
  });
});

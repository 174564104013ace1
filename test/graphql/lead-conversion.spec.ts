// The lead-to-customer metrics through GraphQL on the hand-built shop of test/fixtures/lead-conversion.ts,
// on every warehouse and on BigQuery's SQL as ZetaSQL runs it: June's leads (first interest event in the
// period, no purchase before it), the share who bought and the median days it took, in total and per
// acquisition channel; the interest types CLM_CONFIG names instead of the preset's; and no value without
// interest types.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { testWarehouses, type WarehouseFactory } from "../helpers/databases.ts";
import { startTestServer, type TestServer } from "../helpers/server.ts";
import { describeOnZetaSql } from "../helpers/zetasql-warehouse.ts";
import { LEAD_CONFIG, LEAD_EXPECTED, LEAD_PERIOD, LEAD_ROWS } from "../fixtures/lead-conversion.ts";

interface MetricData {
  key: string;
  available: boolean;
  value: number | null;
  population: number | null;
  breakdown: { key: string | null; value: number | null; population: number | null }[] | null;
}

const QUERY = `query($period: PeriodInput!, $breakdown: MetricBreakdown) {
  metrics(keys: [LEAD_TO_CUSTOMER_RATE, MEDIAN_DAYS_LEAD_TO_CUSTOMER], period: $period, breakdown: $breakdown) {
    key available value population breakdown { key value population }
  }
}`;

function leadMetricsOn(label: string, factory: () => WarehouseFactory): void {
  describe(`lead-to-customer metrics on ${label}`, () => {
    const servers: TestServer[] = [];
    const serve = async (clmConfig: object) => {
      const server = await startTestServer({ warehouseFactory: factory(), rows: LEAD_ROWS, clmConfig });
      servers.push(server);
      return server;
    };
    const metrics = async (server: TestServer, breakdown?: string) => {
      const { data, errors } = await server.graphql<{ metrics: MetricData[] }>(QUERY, {
        period: LEAD_PERIOD,
        breakdown,
      });
      expect(errors).toBeUndefined();
      const [rate, days] = data!.metrics;
      return { rate: rate!, days: days! };
    };
    let server: TestServer;
    beforeAll(async () => {
      server = await serve(LEAD_CONFIG);
    });
    afterAll(async () => {
      for (const s of servers) await s.close();
    });

    it("counts June's leads, the share who bought and the median days, as worked out by hand", async () => {
      const { rate, days } = await metrics(server);
      const { leads, converted, medianDays } = LEAD_EXPECTED.total;
      expect([rate.available, rate.population, days.available, days.population]).toEqual([
        true,
        leads,
        true,
        converted,
      ]);
      expect(rate.value).toBeCloseTo(LEAD_EXPECTED.total.rate, 12);
      expect(days.value).toBeCloseTo(medianDays, 12);
    });

    it("splits them by acquisition channel, people without one in the null group", async () => {
      const { rate, days } = await metrics(server, "ACQUISITION_CHANNEL");
      const expected = LEAD_EXPECTED.byChannel;
      expect(rate.breakdown!.map((g) => [g.key, g.population])).toEqual(expected.map((g) => [g.key, g.leads]));
      expect(days.breakdown!.map((g) => [g.key, g.population])).toEqual(expected.map((g) => [g.key, g.converted]));
      for (const [i, g] of expected.entries()) {
        expect(rate.breakdown![i]!.value, `${g.key} rate`).toBeCloseTo(g.rate, 12);
        expect(days.breakdown![i]!.value, `${g.key} days`).toBeCloseTo(g.medianDays, 12);
      }
    });

    it("takes CLM_CONFIG's events.interest over the preset's interest events", async () => {
      // Only subscribe: l2 (subscribed 10 June, bought that day) is the one lead; l6 bought before subscribing.
      const subscribeOnly = await serve({ ...LEAD_CONFIG, events: { ...LEAD_CONFIG.events, interest: ["subscribe"] } });
      const { rate, days } = await metrics(subscribeOnly);
      expect([rate.value, rate.population, days.value, days.population]).toEqual([1, 1, 0, 1]);
    });

    it("has no value without interest event types", async () => {
      const ecommerce = await serve({ events: LEAD_CONFIG.events });
      const { rate, days } = await metrics(ecommerce, "ACQUISITION_CHANNEL");
      for (const m of [rate, days]) {
        expect([m.available, m.value], m.key).toEqual([false, null]);
        expect(m.breakdown, m.key).toEqual([]);
      }
    });
  });
}

for (const factory of testWarehouses()) leadMetricsOn(factory.label, () => factory);

describeOnZetaSql("lead-to-customer metrics on BigQuery", (warehouses) => {
  leadMetricsOn("BigQuery on ZetaSQL", () => warehouses({ numericAs: "NUMERIC" }));
});

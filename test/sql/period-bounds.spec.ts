// A metric period's bounds in a zone that is not UTC, worked out by hand: June 2026 in America/New_York
// (EDT, UTC−4) runs from 2026-06-01T04:00:00.000Z up to, not including, 2026-07-01T04:00:00.000Z. Purchases
// and survey answers at each bound and one millisecond on the other side of it; every customer is known
// from a customers row in April, so a row outside the period can only leak through the period's own bounds.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { ContractRow } from "../../src/connectors/connector.ts";
import { METRIC_BY_KEY } from "../../src/lifecycle/metrics.ts";
import { defaultStageModel } from "../../src/lifecycle/stage-model.ts";
import { LifecycleService } from "../../src/services/lifecycle/service.ts";
import { MetricsService } from "../../src/services/metrics.ts";
import { SegmentService } from "../../src/services/segments.ts";
import { filledWarehouse, testWarehouses, type TestWarehouse } from "../helpers/databases.ts";

const JUNE = { from: "2026-06-01", to: "2026-06-30" };
const ZONE = "America/New_York";
const at = (iso: string) => Date.parse(iso);

// customer, instant, amount, survey answer
const CASES: [string, number, number, number][] = [
  ["at_start", at("2026-06-01T04:00:00.000Z"), 1, 10], // local 06-01 00:00: in
  ["ms_before_start", at("2026-06-01T03:59:59.999Z"), 10, 0], // local 05-31: out
  ["ms_before_end", at("2026-07-01T03:59:59.999Z"), 100, 9], // local 06-30 23:59:59.999: in
  ["at_end", at("2026-07-01T04:00:00.000Z"), 1000, 3], // local 07-01 00:00: out
  // The 30 days before June (retention's prior window) run from local 05-02 00:00, 2026-05-02T04:00Z, up
  // to June's start; ms_before_start above falls in it, at_start does not.
  ["prior_at_start", at("2026-05-02T04:00:00.000Z"), 10000, 5], // in the prior window
  ["prior_ms_before_start", at("2026-05-02T03:59:59.999Z"), 100000, 5], // local 05-01: before it
];

describe.each(testWarehouses())("metric period bounds on $label", (factory) => {
  let warehouse: TestWarehouse;
  let metrics: MetricsService;

  beforeAll(async () => {
    warehouse = await filledWarehouse(factory, {
      customers: CASES.map(([id]): ContractRow => [id, at("2026-04-01T16:00:00.000Z"), "search", null]),
      transactions: CASES.map(([id, instant, amount]): ContractRow => [id, instant, amount, `${id}-1`, null]),
      events: CASES.map(([id, instant, , answer]): ContractRow => [id, instant, "nps", answer]),
    });
    const lifecycle = await LifecycleService.open(warehouse, defaultStageModel(), ZONE);
    metrics = new MetricsService(lifecycle, new SegmentService(lifecycle));
  });
  afterAll(async () => {
    await warehouse?.close();
  });

  it("counts purchases and survey answers from the first local midnight up to, not at, the last", async () => {
    const keys = ["revenue", "orders", "active_customers", "satisfaction", "retention_rate"];
    const { total } = await metrics.measure({ period: JUNE, metrics: keys.map((k) => METRIC_BY_KEY.get(k)!) });
    // In June: at_start (1, answer 10) and ms_before_end (100, answer 9). Prior buyers: ms_before_start and
    // prior_at_start, neither buying again in June.
    expect({
      period_revenue: total.period_revenue,
      period_orders: total.period_orders,
      period_buyers: total.period_buyers,
      survey_responses: total.survey_responses,
      survey_score_total: total.survey_score_total,
      prior_buyers: total.prior_buyers,
      retained: total.retained,
    }).toEqual({
      period_revenue: 101,
      period_orders: 2,
      period_buyers: 2,
      survey_responses: 2,
      survey_score_total: 19,
      prior_buyers: 2,
      retained: 0,
    });
  });
});

// The metric catalog against hand-computed numbers: every metric's value and population from one table of
// measures, the empty and zero-denominator cases, availability by table, the breakdown's display order and
// metricResult's comparison and breakdown (see README, "Metrics, funnel and cohorts").
import { readFileSync } from "node:fs";
import { beforeAll, describe, expect, it } from "vitest";
import {
  groupDisplay,
  METRIC_BY_KEY,
  metricAvailable,
  metricResult,
  METRICS,
  ratio,
  type MeasuredPeriod,
  type MetricDefinition,
  type Measures,
} from "../../src/lifecycle/metrics.ts";
import type { LogicalTable } from "../../src/sql/contract.ts";

const metric = (key: string): MetricDefinition => {
  const found = METRIC_BY_KEY.get(key);
  if (!found) throw new Error(`no metric ${key}`);
  return found;
};

// One period of a shop, every measure set, numbers chosen so no two results coincide by accident.
const SHOP: Required<{ [K in keyof Measures]: number }> = {
  leads: 200,
  converted: 50,
  median_days_to_convert: 3,
  interest_leads: 90,
  interest_converted: 27,
  median_days_interest_to_purchase: 11,
  period_buyers: 80,
  period_repeaters: 30,
  period_orders: 120,
  period_revenue: 6000,
  period_buyer_revenue: 6250,
  prior_buyers: 40,
  retained: 12,
  start_active: 100,
  churned: 5,
  buyers: 250,
  advocates: 25,
  lifetime_revenue: 50_000,
  new_customers: 16,
  spend: 800,
  top20_revenue: 3000,
  customers_for_80: 32,
  stage_spells: 8,
  stage_spell_days: 60,
  survey_responses: 40,
  promoters: 22,
  detractors: 6,
  survey_score_total: 300,
};

/*
Worked out by hand from SHOP:
- conversion_rate 50 converted / 200 leads; median_days_to_convert 3 over the 50 converted.
- lead_to_customer_rate 27 / 90 interest leads; median_days_lead_to_customer 11 over the 27 converted.
- repeat_purchase_rate 30 / 80 buyers; retention_rate 12 / 40 prior buyers; churn_rate 5 / 100 start active;
  referral_rate 25 advocates / 250 buyers.
- average_order_value 6000 / 120 orders = 50; purchase_frequency 120 / 80 = 1.5; revenue_per_customer 6000 / 80.
- historical_ltv 50000 / 250 = 200; cac 800 / 16 new = 50; ltv_to_cac 200 / 50 = 4 over the 16 new customers.
- Pareto: 3000 / 6250 (the buyers' revenue; refunds of others make the period's 6000) over the period's 80 buyers; 32 / 80 buyers.
- average_days_in_stage 60 / 8 spells = 7.5; nps 100 × (22 − 6) / 40 = 40; satisfaction 300 / 40 = 7.5.
- Counts: their own measure, over themselves; revenue (a currency sum) over the period's 80 buyers.
*/
const EXPECTED: Record<string, { value: number; population: number }> = {
  conversion_rate: { value: 0.25, population: 200 },
  median_days_to_convert: { value: 3, population: 50 },
  lead_to_customer_rate: { value: 0.3, population: 90 },
  median_days_lead_to_customer: { value: 11, population: 27 },
  repeat_purchase_rate: { value: 0.375, population: 80 },
  retention_rate: { value: 0.3, population: 40 },
  churn_rate: { value: 0.05, population: 100 },
  referral_rate: { value: 0.1, population: 250 },
  average_order_value: { value: 50, population: 120 },
  purchase_frequency: { value: 1.5, population: 80 },
  revenue_per_customer: { value: 75, population: 80 },
  historical_ltv: { value: 200, population: 250 },
  cac: { value: 50, population: 16 },
  ltv_to_cac: { value: 4, population: 16 },
  pareto_top20_revenue_share: { value: 3000 / 6250, population: 80 },
  pareto_customer_share_for_80: { value: 0.4, population: 80 },
  average_days_in_stage: { value: 7.5, population: 8 },
  nps: { value: 40, population: 40 },
  satisfaction: { value: 7.5, population: 40 },
  active_customers: { value: 80, population: 80 },
  new_customers: { value: 16, population: 16 },
  orders: { value: 120, population: 120 },
  revenue: { value: 6000, population: 80 },
};

const JUNE = { from: "2026-06-01", to: "2026-06-30" };
const MAY = { from: "2026-05-02", to: "2026-05-31" };

describe("the metric catalog", () => {
  it("lists the README's metrics in its order, each under its own key", () => {
    expect(METRICS.map((m) => m.key)).toEqual([
      "conversion_rate",
      "median_days_to_convert",
      "lead_to_customer_rate",
      "median_days_lead_to_customer",
      "repeat_purchase_rate",
      "retention_rate",
      "churn_rate",
      "referral_rate",
      "average_order_value",
      "purchase_frequency",
      "revenue_per_customer",
      "historical_ltv",
      "cac",
      "ltv_to_cac",
      "pareto_top20_revenue_share",
      "pareto_customer_share_for_80",
      "average_days_in_stage",
      "nps",
      "satisfaction",
      "active_customers",
      "new_customers",
      "orders",
      "revenue",
    ]);
    for (const m of METRICS) expect(METRIC_BY_KEY.get(m.key)).toBe(m);
  });

  it("gives each metric its unit: shares are ratios, money is currency, LTV : CAC a multiple", () => {
    const units = Object.fromEntries(METRICS.map((m) => [m.key, m.unit]));
    expect(units).toEqual({
      conversion_rate: "ratio",
      median_days_to_convert: "days",
      lead_to_customer_rate: "ratio",
      median_days_lead_to_customer: "days",
      repeat_purchase_rate: "ratio",
      retention_rate: "ratio",
      churn_rate: "ratio",
      referral_rate: "ratio",
      average_order_value: "currency",
      purchase_frequency: "count",
      revenue_per_customer: "currency",
      historical_ltv: "currency",
      cac: "currency",
      ltv_to_cac: "multiple",
      pareto_top20_revenue_share: "ratio",
      pareto_customer_share_for_80: "ratio",
      average_days_in_stage: "days",
      nps: "score",
      satisfaction: "score",
      active_customers: "count",
      new_customers: "count",
      orders: "count",
      revenue: "currency",
    });
  });

  it("names each metric as the dashboard and the CLI show it", () => {
    expect(Object.fromEntries(METRICS.map((m) => [m.key, m.name]))).toEqual({
      conversion_rate: "Lead conversion rate",
      median_days_to_convert: "Median days to first purchase",
      lead_to_customer_rate: "Lead-to-customer rate",
      median_days_lead_to_customer: "Median days from lead to customer",
      repeat_purchase_rate: "Repeat-purchase rate",
      retention_rate: "Retention rate",
      churn_rate: "Churn rate",
      referral_rate: "Referral rate",
      average_order_value: "Average order value",
      purchase_frequency: "Purchase frequency",
      revenue_per_customer: "Revenue per customer",
      historical_ltv: "Historical lifetime value",
      cac: "Customer acquisition cost",
      ltv_to_cac: "LTV : CAC",
      pareto_top20_revenue_share: "Revenue share of the top 20%",
      pareto_customer_share_for_80: "Customer share making 80% of revenue",
      average_days_in_stage: "Average days in a stage",
      nps: "Net promoter score",
      satisfaction: "Mean survey score",
      active_customers: "Active customers",
      new_customers: "New customers",
      orders: "Orders",
      revenue: "Revenue",
    });
  });

  it("describes each metric as the committed schema's MetricKey values do (name. definition)", () => {
    const sdl = readFileSync(new URL("../../schema/schema.graphql", import.meta.url), "utf8");
    const block = /^enum MetricKey \{\n([\s\S]*?)^\}/m.exec(sdl)![1]!;
    const described = new Map(
      [...block.matchAll(/"""\s*([\s\S]*?)\s*"""\s*([A-Z0-9_]+)/g)].map((m) => [m[2]!.toLowerCase(), m[1]!]),
    );
    expect([...described.keys()].sort()).toEqual(METRICS.map((m) => m.key).sort());
    for (const m of METRICS) expect(described.get(m.key), m.key).toBe(`${m.name}. ${m.description}`);
  });

  it("marks as proportions exactly the shares of customers", () => {
    expect(METRICS.filter((m) => m.proportion).map((m) => m.key)).toEqual([
      "conversion_rate",
      "lead_to_customer_rate",
      "repeat_purchase_rate",
      "retention_rate",
      "churn_rate",
      "referral_rate",
    ]);
  });

  it("names the measures each metric needs, numerator first; a sum's population is the period's buyers", () => {
    expect(Object.fromEntries(METRICS.map((m) => [m.key, m.measures]))).toEqual({
      conversion_rate: ["converted", "leads"],
      median_days_to_convert: ["median_days_to_convert", "converted"],
      lead_to_customer_rate: ["interest_converted", "interest_leads"],
      median_days_lead_to_customer: ["median_days_interest_to_purchase", "interest_converted"],
      repeat_purchase_rate: ["period_repeaters", "period_buyers"],
      retention_rate: ["retained", "prior_buyers"],
      churn_rate: ["churned", "start_active"],
      referral_rate: ["advocates", "buyers"],
      average_order_value: ["period_revenue", "period_orders"],
      purchase_frequency: ["period_orders", "period_buyers"],
      revenue_per_customer: ["period_revenue", "period_buyers"],
      historical_ltv: ["lifetime_revenue", "buyers"],
      cac: ["spend", "new_customers"],
      ltv_to_cac: ["lifetime_revenue", "buyers", "spend", "new_customers"],
      pareto_top20_revenue_share: ["top20_revenue", "period_buyer_revenue", "period_buyers"],
      pareto_customer_share_for_80: ["customers_for_80", "period_buyers"],
      average_days_in_stage: ["stage_spell_days", "stage_spells"],
      nps: ["promoters", "detractors", "survey_responses"],
      satisfaction: ["survey_score_total", "survey_responses"],
      active_customers: ["period_buyers"],
      new_customers: ["new_customers"],
      orders: ["period_orders"],
      revenue: ["period_revenue", "period_buyers"],
    });
  });
});

describe("metric values and populations", () => {
  it("computes every metric from one period's measures as worked out by hand", () => {
    const computed = Object.fromEntries(
      METRICS.map((m) => [m.key, { value: m.value(SHOP), population: m.population(SHOP) }]),
    );
    expect(computed).toEqual(EXPECTED);
  });

  it("has no value and no population without measures", () => {
    for (const m of METRICS) {
      expect(m.value({}), m.key).toBeNull();
      expect(m.population({}), m.key).toBeNull();
    }
  });

  it("gives a rate no value when its denominator is 0, but keeps the population 0", () => {
    expect(metric("conversion_rate").value({ converted: 0, leads: 0 })).toBeNull();
    expect(metric("conversion_rate").population({ converted: 0, leads: 0 })).toBe(0);
    expect(metric("average_days_in_stage").value({ stage_spell_days: 0, stage_spells: 0 })).toBeNull();
    expect(metric("satisfaction").value({ survey_score_total: 0, survey_responses: 0 })).toBeNull();
    expect(metric("retention_rate").value({ retained: 0, prior_buyers: 4 })).toBe(0);
  });

  it("gives a rate no value when its numerator is unknown (null or missing)", () => {
    expect(metric("churn_rate").value({ churned: null, start_active: 10 })).toBeNull();
    expect(metric("churn_rate").value({ start_active: 10 })).toBeNull();
    expect(metric("churn_rate").population({ churned: null, start_active: 10 })).toBe(10);
  });

  it("has no median days to convert when nobody converted, and 0 days when all bought the day they appeared", () => {
    const median = metric("median_days_to_convert");
    expect(median.value({ converted: 0, median_days_to_convert: 0 })).toBeNull();
    expect(median.value({ converted: null, median_days_to_convert: 4 })).toBeNull();
    expect(median.value({ median_days_to_convert: 4 })).toBeNull();
    expect(median.value({ converted: 3, median_days_to_convert: 0 })).toBe(0);
    expect(median.value({ converted: 3 })).toBeNull();
    expect(median.population({ converted: 0 })).toBe(0);
  });

  it("takes LTV : CAC as the ratio of historical LTV to CAC, null when either is undefined", () => {
    const ltvToCac = metric("ltv_to_cac");
    // LTV 900 / 3 = 300, CAC 500 / 4 = 125: 300 / 125 = 2.4 (not 900 / 500 nor 3 / 4).
    expect(ltvToCac.value({ lifetime_revenue: 900, buyers: 3, spend: 500, new_customers: 4 })).toBeCloseTo(2.4, 12);
    expect(ltvToCac.value({ lifetime_revenue: 900, buyers: 0, spend: 500, new_customers: 4 })).toBeNull();
    expect(ltvToCac.value({ lifetime_revenue: 900, buyers: 3, spend: 500, new_customers: 0 })).toBeNull();
    // No spend: a CAC of 0 is no denominator.
    expect(ltvToCac.value({ lifetime_revenue: 900, buyers: 3, spend: 0, new_customers: 4 })).toBeNull();
    expect(ltvToCac.value({ lifetime_revenue: 0, buyers: 3, spend: 500, new_customers: 4 })).toBe(0);
    expect(ltvToCac.value({ buyers: 3, spend: 500, new_customers: 4 })).toBeNull();
    expect(ltvToCac.population({ lifetime_revenue: 900, buyers: 3, spend: 500, new_customers: 4 })).toBe(4);
  });

  it("scores NPS as 100 × (promoters − detractors) / responses, a missing side counting as none", () => {
    const nps = metric("nps");
    expect(nps.value({ promoters: 2, detractors: 6, survey_responses: 10 })).toBe(-40);
    expect(nps.value({ promoters: 5, survey_responses: 8 })).toBe(62.5);
    expect(nps.value({ detractors: 2, survey_responses: 8 })).toBe(-25);
    expect(nps.value({ promoters: null, detractors: null, survey_responses: 8 })).toBe(0);
    expect(nps.value({ promoters: 3, detractors: 1, survey_responses: 0 })).toBeNull();
    expect(nps.value({ promoters: 3, detractors: 1 })).toBeNull();
  });

  it("reports a count over itself, and a sum over the period's buyers", () => {
    expect(metric("orders").population({ period_orders: 7, period_buyers: 3 })).toBe(7);
    expect(metric("revenue").population({ period_revenue: 70, period_buyers: 3 })).toBe(3);
    expect(metric("revenue").value({ period_revenue: -5, period_buyers: 3 })).toBe(-5);
    expect(metric("active_customers").value({ period_buyers: 0 })).toBe(0);
  });
});

describe("ratio", () => {
  it("divides, and is null when either side is unknown or the denominator is 0", () => {
    expect(ratio(3, 4)).toBe(0.75);
    expect(ratio(-3, 4)).toBe(-0.75);
    expect(ratio(0, 4)).toBe(0);
    expect(ratio(3, 0)).toBeNull();
    expect(ratio(null, 4)).toBeNull();
    expect(ratio(undefined, 4)).toBeNull();
    expect(ratio(3, null)).toBeNull();
    expect(ratio(3, undefined)).toBeNull();
  });
});

describe("metricAvailable", () => {
  const tables = (...names: LogicalTable[]) => new Set<LogicalTable>(names);

  it("needs no optional table for a metric without requirements", () => {
    expect(metricAvailable(metric("revenue"), tables())).toBe(true);
    expect(metricAvailable(metric("average_days_in_stage"), tables())).toBe(true);
  });

  it("takes either the customers or the events table for conversion", () => {
    const conversion = metric("conversion_rate");
    expect(metricAvailable(conversion, tables("customers"))).toBe(true);
    expect(metricAvailable(conversion, tables("events"))).toBe(true);
    expect(metricAvailable(conversion, tables("marketing_spend"))).toBe(false);
    expect(metricAvailable(conversion, tables())).toBe(false);
    expect(metricAvailable(metric("median_days_to_convert"), tables("events"))).toBe(true);
    expect(metricAvailable(metric("median_days_to_convert"), tables())).toBe(false);
  });

  it("needs the events table and interest event types for the lead-to-customer metrics", () => {
    for (const key of ["lead_to_customer_rate", "median_days_lead_to_customer"]) {
      expect(metricAvailable(metric(key), tables("events"), ["lead"]), key).toBe(true);
      expect(metricAvailable(metric(key), tables("events")), key).toBe(false);
      expect(metricAvailable(metric(key), tables("customers", "marketing_spend"), ["lead"]), key).toBe(false);
    }
    expect(metricAvailable(metric("conversion_rate"), tables("events"))).toBe(true);
  });

  it("needs marketing spend for CAC and LTV : CAC, events for surveys, customers for referrals", () => {
    const all = tables("customers", "events");
    expect(metricAvailable(metric("cac"), all)).toBe(false);
    expect(metricAvailable(metric("ltv_to_cac"), all)).toBe(false);
    expect(metricAvailable(metric("cac"), tables("marketing_spend"))).toBe(true);
    expect(metricAvailable(metric("ltv_to_cac"), tables("marketing_spend"))).toBe(true);
    expect(metricAvailable(metric("nps"), tables("customers"))).toBe(false);
    expect(metricAvailable(metric("nps"), tables("events"))).toBe(true);
    expect(metricAvailable(metric("satisfaction"), tables("customers"))).toBe(false);
    expect(metricAvailable(metric("satisfaction"), tables("events"))).toBe(true);
    expect(metricAvailable(metric("referral_rate"), tables("events"))).toBe(false);
    expect(metricAvailable(metric("referral_rate"), tables("customers"))).toBe(true);
  });

  it("needs every table of one list, not just one of them", () => {
    const both: MetricDefinition = { ...metric("revenue"), requires: [["customers", "events"], ["marketing_spend"]] };
    expect(metricAvailable(both, tables("customers"))).toBe(false);
    expect(metricAvailable(both, tables("customers", "events"))).toBe(true);
    expect(metricAvailable(both, tables("marketing_spend"))).toBe(true);
  });
});

describe("groupDisplay", () => {
  const STAGES = [
    { key: "lead", name: "Lead" },
    { key: "active", name: "Active customer" },
    { key: "churned", name: "Churned" },
  ];
  const SEGMENTS = [
    { id: "s-9", name: "Big spenders" },
    { id: "s-1", name: "Newcomers" },
  ];

  it("shows stages by name in the stage model's display order, unknown keys after them and null last", () => {
    const display = groupDisplay("stage", STAGES, SEGMENTS);
    expect([...display.labels]).toEqual([
      ["lead", "Lead"],
      ["active", "Active customer"],
      ["churned", "Churned"],
    ]);
    expect(["lead", "active", "churned", "gone", null].map((k) => display.order(k))).toEqual([0, 1, 2, 3, Infinity]);
  });

  it("shows saved segments by name in the order given, unknown ids after them and null last", () => {
    const display = groupDisplay("segment", STAGES, SEGMENTS);
    expect([...display.labels]).toEqual([
      ["s-9", "Big spenders"],
      ["s-1", "Newcomers"],
    ]);
    expect(["s-9", "s-1", "s-5", null].map((k) => display.order(k))).toEqual([0, 1, 2, Infinity]);
  });

  it("has no segment labels when no segments are given", () => {
    const display = groupDisplay("segment", STAGES);
    expect(display.labels.size).toBe(0);
    expect(display.order("s-1")).toBe(0);
    expect(display.order(null)).toBe(Infinity);
  });

  it("labels other breakdowns by their keys, in one rank, null last", () => {
    for (const breakdown of ["acquisition_channel", "cohort_month", "rfm_segment", undefined] as const) {
      const display = groupDisplay(breakdown, STAGES, SEGMENTS);
      expect(display.labels.size, breakdown).toBe(0);
      expect(display.order("lead"), breakdown).toBe(0);
      expect(display.order("zzz"), breakdown).toBe(0);
      expect(display.order(null), breakdown).toBe(Infinity);
    }
  });
});

describe("metricResult", () => {
  // Looked up per test: a catalog that fails to build fails the tests instead of the file's collection.
  let revenue: MetricDefinition;
  beforeAll(() => {
    revenue = metric("revenue");
  });
  const period = (p: typeof JUNE, total: Measures, groups?: MeasuredPeriod["groups"]): MeasuredPeriod =>
    groups ? { period: p, total, groups } : { period: p, total };

  it("gives the value and population of the period with no comparison or breakdown unless asked", () => {
    const result = metricResult(revenue, true, period(JUNE, { period_revenue: 6000, period_buyers: 80 }));
    expect(result).toEqual({
      definition: revenue,
      available: true,
      period: JUNE,
      value: 6000,
      population: 80,
      comparison: null,
      breakdown: null,
    });
  });

  it("compares with the previous period: its value, the change and the change relative to it", () => {
    const result = metricResult(
      revenue,
      true,
      period(JUNE, { period_revenue: 6000, period_buyers: 80 }),
      period(MAY, { period_revenue: 4800, period_buyers: 60 }),
    );
    expect(result.comparison).toEqual({ period: MAY, value: 4800, population: 60, change: 1200, relativeChange: 0.25 });
    const fall = metricResult(
      revenue,
      true,
      period(JUNE, { period_revenue: 3600 }),
      period(MAY, { period_revenue: 4800 }),
    );
    expect(fall.comparison).toMatchObject({ change: -1200, relativeChange: -0.25 });
  });

  it("relates the change to the size of a negative previous value, so a rise stays positive", () => {
    const nps = metric("nps");
    const result = metricResult(
      nps,
      true,
      period(JUNE, { promoters: 6, detractors: 2, survey_responses: 10 }), // 40
      period(MAY, { promoters: 1, detractors: 3, survey_responses: 10 }), // −20
    );
    expect(result.comparison).toMatchObject({ value: -20, change: 60, relativeChange: 3 });
  });

  it("has a change but no relative change against a previous value of 0", () => {
    const result = metricResult(
      revenue,
      true,
      period(JUNE, { period_revenue: 500 }),
      period(MAY, { period_revenue: 0 }),
    );
    expect(result.comparison).toMatchObject({ value: 0, change: 500, relativeChange: null });
  });

  it("has no change when either period has no value", () => {
    const before = metricResult(revenue, true, period(JUNE, { period_revenue: 500 }), period(MAY, {}));
    expect(before.comparison).toEqual({
      period: MAY,
      value: null,
      population: null,
      change: null,
      relativeChange: null,
    });
    const now = metricResult(revenue, true, period(JUNE, {}), period(MAY, { period_revenue: 500 }));
    expect(now.comparison).toEqual({ period: MAY, value: 500, population: null, change: null, relativeChange: null });
  });

  it("gives an unavailable metric no value in either period but keeps the populations", () => {
    const conversion = metric("conversion_rate");
    const result = metricResult(
      conversion,
      false,
      period(JUNE, { converted: 5, leads: 20 }, [{ key: "web", measures: { converted: 1, leads: 4 } }]),
      period(MAY, { converted: 2, leads: 10 }, [{ key: "web", measures: { converted: 1, leads: 2 } }]),
    );
    expect(result).toMatchObject({ available: false, value: null, population: 20 });
    expect(result.comparison).toEqual({ period: MAY, value: null, population: 10, change: null, relativeChange: null });
    expect(result.breakdown).toEqual([
      {
        key: "web",
        value: null,
        population: 4,
        comparison: { period: MAY, value: null, population: 2, change: null, relativeChange: null },
      },
    ]);
  });

  it("breaks down by the groups of both periods, sorted by key with null last", () => {
    const result = metricResult(
      revenue,
      true,
      period(JUNE, { period_revenue: 100, period_buyers: 10 }, [
        { key: null, measures: { period_revenue: 5, period_buyers: 1 } },
        { key: "social", measures: { period_revenue: 60, period_buyers: 6 } },
        { key: "email", measures: { period_revenue: 35, period_buyers: 3 } },
      ]),
      period(MAY, { period_revenue: 80, period_buyers: 8 }, [
        { key: "email", measures: { period_revenue: 70, period_buyers: 7 } },
        { key: "affiliate", measures: { period_revenue: 10, period_buyers: 1 } },
      ]),
    );
    expect(result.breakdown).toEqual([
      {
        key: "affiliate",
        value: null,
        population: null,
        comparison: { period: MAY, value: 10, population: 1, change: null, relativeChange: null },
      },
      {
        key: "email",
        value: 35,
        population: 3,
        comparison: { period: MAY, value: 70, population: 7, change: -35, relativeChange: -0.5 },
      },
      {
        key: "social",
        value: 60,
        population: 6,
        comparison: { period: MAY, value: null, population: null, change: null, relativeChange: null },
      },
      {
        key: null,
        value: 5,
        population: 1,
        comparison: { period: MAY, value: null, population: null, change: null, relativeChange: null },
      },
    ]);
  });

  it("sorts the groups by key whatever order they come in, null last", () => {
    const keys = (groupKeys: (string | null)[]) =>
      metricResult(
        revenue,
        true,
        period(
          JUNE,
          {},
          groupKeys.map((key) => ({ key, measures: { period_revenue: 1 } })),
        ),
      ).breakdown!.map((g) => g.key);
    expect(keys(["c", "a", null, "d", "b"])).toEqual(["a", "b", "c", "d", null]);
    expect(keys(["a", "b", null])).toEqual(["a", "b", null]);
    expect(keys([null, "b", "a"])).toEqual(["a", "b", null]);
    expect(keys(["b", null, "a", "c"])).toEqual(["a", "b", "c", null]);
    // By code unit, as the warehouse's keys compare in JavaScript: capitals before small letters.
    expect(keys(["é", "b", "B", "a"])).toEqual(["B", "a", "b", "é"]);
  });

  it("has no comparison per group without a previous period, and none from a previous period without groups", () => {
    const alone = metricResult(revenue, true, period(JUNE, {}, [{ key: "web", measures: { period_revenue: 9 } }]));
    expect(alone.breakdown).toEqual([{ key: "web", value: 9, population: null, comparison: null }]);
    const noPreviousGroups = metricResult(
      revenue,
      true,
      period(JUNE, {}, [{ key: "web", measures: { period_revenue: 9 } }]),
      period(MAY, { period_revenue: 4 }),
    );
    expect(noPreviousGroups.breakdown).toEqual([
      {
        key: "web",
        value: 9,
        population: null,
        comparison: { period: MAY, value: null, population: null, change: null, relativeChange: null },
      },
    ]);
    const noCurrentGroups = metricResult(
      revenue,
      true,
      period(JUNE, {}),
      period(MAY, {}, [{ key: "web", measures: { period_revenue: 9 } }]),
    );
    expect(noCurrentGroups.breakdown).toBeNull();
  });

  it("leaves out groups that only other metrics' measures reached, keeping those measured as null", () => {
    const cac = metric("cac");
    const current = period(JUNE, { spend: 100, new_customers: 4 }, [
      { key: "search", measures: { spend: 100, new_customers: 4 } },
      { key: "web", measures: { period_revenue: 50, period_buyers: 2 } }, // the customer query only
      { key: "social", measures: { spend: null } },
    ]);
    const previous = period(MAY, {}, [{ key: "email", measures: { new_customers: 2 } }]);
    expect(metricResult(cac, true, current, previous).breakdown!.map((g) => g.key)).toEqual([
      "email",
      "search",
      "social",
    ]);
    expect(metricResult(revenue, true, current).breakdown!.map((g) => g.key)).toEqual(["web"]);
  });
});

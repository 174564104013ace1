// The sample the lifetime-value fits use on large bases: reproducible, independent of row order, and a
// fair share of every kind of customer.
import { describe, expect, it } from "vitest";
import { readCdnow } from "../helpers/cdnow.ts";
import { bgnbdLogLikelihood, fitBgNbdGroups } from "../../src/lifecycle/clv/bgnbd.ts";
import { sampleCustomers } from "../../src/lifecycle/clv/sample.ts";

const groups = Array.from({ length: 5_000 }, (_, i) => ({
  key: `${i % 7}|${i % 50}|${i}`,
  summary: { x: i % 7, tx: i % 7 === 0 ? 0 : (i % 50) / 2, T: 30 + (i % 50) / 2 },
  count: 1 + (i % 13),
}));
const customers = groups.reduce((n, g) => n + g.count, 0);

describe("sampling customers for the CLV fits", () => {
  it("keeps everyone at or below the limit", () => {
    const all = sampleCustomers(groups, (g) => g.key, customers);
    expect(all.fraction).toBe(1);
    expect(all.groups).toEqual(groups);
  });

  it("gives the same sample whatever order the warehouse returns the groups in", () => {
    const a = sampleCustomers(groups, (g) => g.key, 5_000);
    const b = sampleCustomers([...groups].reverse(), (g) => g.key, 5_000);
    const asMap = (s: typeof a) => new Map(s.groups.map((g) => [g.key, g.count]));
    expect(asMap(b)).toEqual(asMap(a));
    expect(a.fraction).toBeCloseTo(5_000 / customers, 12);
  });

  it("returns the kept groups in key order, each with at least one customer", () => {
    // 500 of 35,000 customers: most groups keep nobody and are left out.
    const sampled = sampleCustomers([...groups].reverse(), (g) => g.key, 500);
    const keys = sampled.groups.map((g) => g.key);
    expect(keys).toEqual([...keys].sort());
    expect(new Set(keys).size).toBe(keys.length);
    expect(sampled.groups.length).toBeLessThan(groups.length / 2);
    expect(sampled.groups.every((g) => g.count >= 1)).toBe(true);
  });

  it("keeps about limit customers, in proportion for each repeat count", () => {
    const sampled = sampleCustomers(groups, (g) => g.key, 10_000);
    const kept = sampled.groups.reduce((n, g) => n + g.count, 0);
    // Binomial(customers, f): 5 standard deviations is about 480 customers here.
    expect(Math.abs(kept - 10_000)).toBeLessThan(500);
    for (let x = 0; x < 7; x++) {
      const share = (gs: typeof groups) => gs.filter((g) => g.summary.x === x).reduce((n, g) => n + g.count, 0);
      expect(share(sampled.groups) / kept).toBeCloseTo(share(groups) / customers, 1);
    }
  });

  it("fits a sample to estimates that describe the whole base nearly as well as its own", () => {
    // CDNOW (test/fixtures/cdnow_summary.csv) ten times over: 23,570 customers, sampled down to 8,000.
    const cdnow = readCdnow().map(({ id, x, tx, T }) => ({ key: String(id), summary: { x, tx, T }, count: 10 }));
    // The fits see the customers merged by summary (1,016 groups for 2,357 keys): the same likelihood,
    // a fraction of the cost, which under mutation testing is paid for every mutant the fits cover.
    const merge = (gs: readonly (typeof cdnow)[number][]) => {
      const bySummary = new Map<string, { summary: (typeof cdnow)[number]["summary"]; count: number }>();
      for (const { summary, count } of gs) {
        const key = `${summary.x}|${summary.tx}|${summary.T}`;
        const g = bySummary.get(key);
        if (g) g.count += count;
        else bySummary.set(key, { summary, count });
      }
      return [...bySummary.values()];
    };
    const all = merge(cdnow);
    const whole = fitBgNbdGroups(all);
    const sample = fitBgNbdGroups(merge(sampleCustomers(cdnow, (g) => g.key, 8_000).groups));
    const perCustomer = (ll: number) => ll / 23_570;
    // Expected loss is about (parameters / 2) / sample size = 0.00025 nats per customer; a biased sample loses far more.
    expect(perCustomer(whole.logLikelihood - bgnbdLogLikelihood(sample, all))).toBeLessThan(0.001);
    expect(perCustomer(whole.logLikelihood - bgnbdLogLikelihood(sample, all))).toBeGreaterThanOrEqual(0);
  });
});

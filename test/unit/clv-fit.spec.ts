// The CPU part of a CLV fit (src/lifecycle/clv/fit.ts): warehouse groups in days and cents become model
// summaries in the chosen time unit, bases above CLV_SAMPLE_CUSTOMERS are sampled, and thin data crosses
// the worker boundary as a value. Small fits (60 CDNOW customers), so each check is fast.
import { describe, expect, it } from "vitest";
import { fitBgNbdGroups, ThinDataError } from "../../src/lifecycle/clv/bgnbd.ts";
import { fitClvResult, fitClvSummaries, fitFromResult, type ClvFitInput } from "../../src/lifecycle/clv/fit.ts";
import { fitGammaGamma } from "../../src/lifecycle/clv/gamma-gamma.ts";
import { fitParetoNbdGroups } from "../../src/lifecycle/clv/pareto-nbd.ts";
import { readCdnow } from "../helpers/cdnow.ts";

// CDNOW customers 1–60 (test/fixtures/cdnow_summary.csv) in whole days and cents, each `count` times.
function input(model: ClvFitInput["model"], count = 1): ClvFitInput {
  const rows = readCdnow().slice(0, 60);
  return {
    timeUnit: "WEEK",
    model,
    recency: rows.map((r) => ({ x: r.x, txDays: Math.round(r.tx * 7), tDays: Math.round(r.T * 7), count })),
    spend: rows.filter((r) => r.x > 0).map((r) => ({ x: r.x, zbarCents: Math.round(r.zbar * 100), count })),
  };
}

const weeks = (i: ClvFitInput) =>
  i.recency.map((r) => ({ summary: { x: r.x, tx: r.txDays / 7, T: r.tDays / 7 }, count: r.count }));
const dollars = (i: ClvFitInput) => i.spend.map((s) => ({ x: s.x, zbar: s.zbarCents / 100, count: s.count }));

describe("fitting CLV models from warehouse summaries", () => {
  it("fits BG/NBD on summaries in weeks and Gamma-Gamma on spend in dollars, timing the fit", () => {
    const i = input("BG_NBD");
    const before = performance.now();
    const fit = fitClvSummaries(i);
    const elapsed = performance.now() - before;
    expect(fit.customers).toBe(60);
    expect(fit.sampleFraction).toBe(1);
    expect(fit.fittedCustomers).toBe(60);
    expect(fit.summaryGroups).toBe(60);
    expect(fit.paretoNbd).toBeNull();
    expect(fit.bgnbd).toEqual(fitBgNbdGroups(weeks(i)));
    expect(fit.gammaGamma).toEqual(fitGammaGamma(dollars(i)));
    expect(fit.fitMs).toBeGreaterThanOrEqual(0);
    expect(fit.fitMs).toBeLessThanOrEqual(elapsed);
  });

  it("fits Pareto/NBD instead when asked", () => {
    const i = input("PARETO_NBD");
    const fit = fitClvSummaries(i);
    expect(fit.bgnbd).toBeNull();
    expect(fit.paretoNbd).toEqual(fitParetoNbdGroups(weeks(i)));
  });

  it("samples a base above 50,000 buyers to about 50,000, reporting the share kept", () => {
    // 60 summaries × 1,000 buyers = 60,000.
    const fit = fitClvSummaries(input("BG_NBD", 1_000));
    expect(fit.customers).toBe(60_000);
    expect(fit.sampleFraction).toBeCloseTo(50_000 / 60_000, 12);
    // Binomial(60,000, 5/6): 5 standard deviations is about 460 buyers.
    expect(Math.abs(fit.fittedCustomers - 50_000)).toBeLessThan(500);
    expect(fit.summaryGroups).toBe(60);
    expect(fit.gammaGamma.customers).toBeLessThan(fit.fittedCustomers);
  });

  it("samples the same buyers whatever order the warehouse returns the groups in", () => {
    // Spend too above 50,000 buyers: its groups are sampled on their own.
    const base = input("BG_NBD", 1_000);
    const i = { ...base, spend: base.spend.map((g) => ({ ...g, count: 3_000 })) };
    expect(i.spend.length * 3_000).toBeGreaterThan(50_000);
    const reversed = { ...i, recency: [...i.recency].reverse(), spend: [...i.spend].reverse() };
    const [a, b] = [fitClvSummaries(i), fitClvSummaries(reversed)];
    expect(b.fittedCustomers).toBe(a.fittedCustomers);
    expect(b.gammaGamma.customers).toBe(a.gammaGamma.customers);
    // The same buyers, hence the same maximum (up to the order of the sums).
    expect(b.bgnbd!.logLikelihood).toBeCloseTo(a.bgnbd!.logLikelihood, 6);
    expect(b.gammaGamma.logLikelihood).toBeCloseTo(a.gammaGamma.logLikelihood, 6);
  });

  it("turns thin data into a value for the worker's answer, and back into ThinDataError", () => {
    const thin = { ...input("BG_NBD"), recency: input("BG_NBD").recency.slice(0, 3) };
    const message = "too little data to fit BG/NBD: 3 customers, 2 with a repeat purchase (need at least 10 and 2)";
    const result = fitClvResult(thin);
    expect(result).toEqual({ thinData: message });
    expect(() => fitFromResult(result)).toThrow(ThinDataError);
    expect(() => fitFromResult(result)).toThrow(message);
    const ok = fitClvResult(input("BG_NBD"));
    expect("fit" in ok && fitFromResult(ok)).toBe("fit" in ok ? ok.fit : undefined);
    expect("fit" in ok && ok.fit.customers).toBe(60);
  });

  it("lets any other error through", () => {
    const broken = { ...input("BG_NBD"), recency: null } as unknown as ClvFitInput;
    expect(() => fitClvResult(broken)).toThrow(TypeError);
  });
});

// Benchmark 6 — CLV fit time: BG/NBD + Gamma-Gamma by maximum likelihood in Node (src/lifecycle/clv),
// on the CDNOW summary (test/fixtures/cdnow_summary.csv, 2,357 customers, weeks) and on 1M synthetic
// customers drawn from known BG/NBD and Gamma-Gamma parameters with a seeded generator (pure-rand, via
// src/lifecycle/random.ts), summarised as the warehouse summarises them (whole days, grouped (x, t_x, T) with
// counts; repeat spend to the cent) and fitted the way LifecycleService.clvModel fits them: the seeded
// ~50,000-customer sample above 50,000 buyers, then both fits. Estimates are reported against the truth.
import { readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { Random } from "../src/lifecycle/random.ts";
import { fitBgNbd, fitBgNbdGroups, type BgNbdParams, type SummaryGroup } from "../src/lifecycle/clv/bgnbd.ts";
import { fitGammaGamma, type GammaGammaParams, type SpendSummary } from "../src/lifecycle/clv/gamma-gamma.ts";
import { sampleCustomers } from "../src/lifecycle/clv/sample.ts";
import type { BenchContext } from "./lib/context.ts";
import { bar, log } from "./lib/progress.ts";
import { figure, targetAtMost, type Section } from "./lib/report.ts";
import { fmt } from "./lib/stats.ts";

/** The published CDNOW estimates (Fader, Hardie & Lee 2005), also the synthetic truth. */
const TRUE_BGNBD: BgNbdParams = { r: 0.243, alpha: 4.414, a: 0.793, b: 2.426 };
const TRUE_GG: GammaGammaParams = { p: 6.25, q: 3.74, gamma: 15.44 };

interface CdnowRow {
  readonly x: number;
  readonly tx: number;
  readonly T: number;
  readonly zbar: number;
}

function readCdnow(): CdnowRow[] {
  const path = fileURLToPath(new URL("../test/fixtures/cdnow_summary.csv", import.meta.url));
  return readFileSync(path, "utf8")
    .trim()
    .split("\n")
    .slice(1)
    .map((line) => {
      const [, x, tx, T, zbar] = line.split(",").map(Number);
      return { x: x!, tx: tx!, T: T!, zbar: zbar! };
    });
}

/** Per-customer summaries in whole days, as the warehouse computes them. */
interface Synthetic {
  readonly x: Int32Array;
  readonly txDays: Int32Array;
  readonly tDays: Int32Array;
  /** Mean repeat spend in cents (0 without repeats). */
  readonly zbarCents: Float64Array;
}

/**
 * BG/NBD: λ ~ Gamma(r, α) purchases per week, p ~ Beta(a, b); the first purchase at day 0, then
 * exponential gaps, and after each repeat purchase the customer drops out with probability p.
 * Observed for T of 27 to 39 weeks (CDNOW's cohort). Spend: ν ~ Gamma(q, γ), each repeat ~ Gamma(p, ν).
 */
function synthesize(n: number, seed: number): Synthetic {
  const random = new Random(seed);
  const out: Synthetic = {
    x: new Int32Array(n),
    txDays: new Int32Array(n),
    tDays: new Int32Array(n),
    zbarCents: new Float64Array(n),
  };
  for (let i = 0; i < n; i++) {
    const tDays = 189 + random.int(85);
    const T = tDays / 7;
    const lambda = random.gamma(TRUE_BGNBD.r, 1 / TRUE_BGNBD.alpha);
    const p = random.beta(TRUE_BGNBD.a, TRUE_BGNBD.b);
    const nu = random.gamma(TRUE_GG.q, 1 / TRUE_GG.gamma);
    let t = 0;
    let x = 0;
    let txDays = 0;
    let spend = 0;
    for (;;) {
      t += random.exponential(1 / Math.max(lambda, 1e-12));
      if (t > T) break;
      const day = Math.floor(t * 7);
      if (day > tDays) break;
      x++;
      txDays = day;
      spend += random.gamma(TRUE_GG.p, 1 / nu);
      if (random.chance(p)) break;
    }
    out.x[i] = x;
    out.txDays[i] = txDays;
    out.tDays[i] = tDays;
    out.zbarCents[i] = x > 0 ? Math.round((100 * spend) / x) : 0;
  }
  return out;
}

/** What clvModel does after the warehouse query: groups (here from raw summaries), the sample, both fits. */
function fitLikeTheService(s: Synthetic, sample: boolean) {
  const t0 = performance.now();
  const recency = new Map<string, { key: string; summary: { x: number; tx: number; T: number }; count: number }>();
  const spend = new Map<string, { x: number; zbar: number; count: number }>();
  for (let i = 0; i < s.x.length; i++) {
    const x = s.x[i]!;
    const key = `${x}|${s.txDays[i]}|${s.tDays[i]}`;
    const g = recency.get(key);
    if (g) g.count++;
    else recency.set(key, { key, summary: { x, tx: s.txDays[i]! / 7, T: s.tDays[i]! / 7 }, count: 1 });
    if (x > 0) {
      const k = `${x}|${s.zbarCents[i]}`;
      const h = spend.get(k);
      if (h) h.count++;
      else spend.set(k, { x, zbar: s.zbarCents[i]! / 100, count: 1 });
    }
  }
  const t1 = performance.now();
  const limit = sample ? undefined : Number.MAX_SAFE_INTEGER;
  const r = sampleCustomers([...recency.values()], (g) => g.key, limit);
  const sp = sampleCustomers([...spend.values()], (g) => `${g.x}|${g.zbar}`, limit);
  const t2 = performance.now();
  const bgnbd = fitBgNbdGroups(r.groups as SummaryGroup[]);
  const t3 = performance.now();
  const gg = fitGammaGamma(sp.groups as SpendSummary[]);
  const t4 = performance.now();
  return {
    bgnbd,
    gg,
    groups: recency.size,
    sampledGroups: r.groups.length,
    fraction: r.fraction,
    ms: { total: t4 - t0, group: t1 - t0, sample: t2 - t1, bgnbd: t3 - t2, gammaGamma: t4 - t3, fits: t4 - t2 },
  };
}

export async function runClv(ctx: BenchContext, section: Section): Promise<void> {
  const rows = readCdnow();
  const repeats = Math.max(ctx.options.repeats, 5);
  // ---- CDNOW
  fitBgNbd(rows);
  const cdnow: { total: number[]; bgnbd: number[]; gg: number[] } = { total: [], bgnbd: [], gg: [] };
  let last: { bg: ReturnType<typeof fitBgNbd>; gg: ReturnType<typeof fitGammaGamma> } | undefined;
  const spendRows = rows.filter((r) => r.x > 0).map((r) => ({ x: r.x, zbar: r.zbar }));
  const b = bar("clv cdnow", repeats);
  for (let i = 0; i < repeats; i++) {
    const t0 = performance.now();
    const bg = fitBgNbd(rows);
    const t1 = performance.now();
    const gg = fitGammaGamma(spendRows);
    const t2 = performance.now();
    cdnow.total.push(t2 - t0);
    cdnow.bgnbd.push(t1 - t0);
    cdnow.gg.push(t2 - t1);
    last = { bg, gg };
    b.increment();
  }
  b.stop();
  section.figures.push(
    figure(`CDNOW (${rows.length.toLocaleString("en-US")} customers): BG/NBD + Gamma-Gamma`, "ms", cdnow.total, {
      target: (v) => targetAtMost(v.median, 100, "≤ 100 ms"),
    }),
    figure("CDNOW: BG/NBD alone", "ms", cdnow.bgnbd),
    figure("CDNOW: Gamma-Gamma alone", "ms", cdnow.gg),
  );

  // ---- 1M synthetic
  const n = ctx.sizes.clvCustomers;
  log(`clv: drawing ${n.toLocaleString("en-US")} synthetic customers`);
  const g0 = performance.now();
  const synthetic = synthesize(n, 2_005);
  const drawMs = performance.now() - g0;
  fitLikeTheService(synthetic, true); // warm-up
  const synth: { total: number[]; service: number[]; fits: number[]; group: number[]; sample: number[] } = {
    total: [],
    service: [],
    fits: [],
    group: [],
    sample: [],
  };
  let fit: ReturnType<typeof fitLikeTheService> | undefined;
  const b2 = bar("clv synthetic", ctx.options.repeats);
  for (let i = 0; i < ctx.options.repeats; i++) {
    fit = fitLikeTheService(synthetic, true);
    synth.total.push(fit.ms.total);
    synth.service.push(fit.ms.sample + fit.ms.fits);
    synth.fits.push(fit.ms.fits);
    synth.group.push(fit.ms.group);
    synth.sample.push(fit.ms.sample);
    b2.increment();
  }
  b2.stop();
  log("clv: one fit on every synthetic customer (no sample), for comparison");
  const whole = fitLikeTheService(synthetic, false);
  section.figures.push(
    figure(
      `${n.toLocaleString("en-US")} synthetic: sample + BG/NBD + Gamma-Gamma (clvModel's fitMs)`,
      "ms",
      synth.service,
      {
        target: (v) => targetAtMost(v.median, 3_000, "≤ 3 s"),
      },
    ),
    figure(`${n.toLocaleString("en-US")} synthetic: the two fits alone (on the ~50,000 sample)`, "ms", synth.fits),
    figure(`${n.toLocaleString("en-US")} synthetic: the seeded sample alone`, "ms", synth.sample),
    figure(
      `${n.toLocaleString("en-US")} synthetic: grouping the 1M summaries in JS (the warehouse's GROUP BY in production; not in fitMs)`,
      "ms",
      synth.group,
    ),
    figure(`${n.toLocaleString("en-US")} synthetic: grouping + sample + fits`, "ms", synth.total),
    figure(`${n.toLocaleString("en-US")} synthetic: no sample, every customer (one run)`, "ms", [whole.ms.total]),
  );
  const p = (x: number) => fmt(x, 3);
  const c = last!;
  section.tables.push({
    title: "Estimated vs true (published CDNOW estimates; synthetic truth = the same values)",
    rows: [
      [
        "parameter",
        "true / published",
        "CDNOW fit",
        `synthetic fit (sample ${fmt(fit!.fraction * 100, 1)}%)`,
        "synthetic fit (all customers)",
      ],
      ["r", p(TRUE_BGNBD.r), p(c.bg.r), p(fit!.bgnbd.r), p(whole.bgnbd.r)],
      ["α", p(TRUE_BGNBD.alpha), p(c.bg.alpha), p(fit!.bgnbd.alpha), p(whole.bgnbd.alpha)],
      ["a", p(TRUE_BGNBD.a), p(c.bg.a), p(fit!.bgnbd.a), p(whole.bgnbd.a)],
      ["b", p(TRUE_BGNBD.b), p(c.bg.b), p(fit!.bgnbd.b), p(whole.bgnbd.b)],
      ["p", p(TRUE_GG.p), p(c.gg.p), p(fit!.gg.p), p(whole.gg.p)],
      ["q", p(TRUE_GG.q), p(c.gg.q), p(fit!.gg.q), p(whole.gg.q)],
      ["γ", p(TRUE_GG.gamma), p(c.gg.gamma), p(fit!.gg.gamma), p(whole.gg.gamma)],
      [
        "BG/NBD LL",
        "−9582.4 (CDNOW)",
        fmt(c.bg.logLikelihood, 1),
        fmt(fit!.bgnbd.logLikelihood, 1),
        fmt(whole.bgnbd.logLikelihood, 1),
      ],
    ],
  });
  const buyersWithRepeat = synthetic.x.reduce((k, x) => k + (x > 0 ? 1 : 0), 0);
  section.notes.push(
    `CDNOW: fitBgNbd on the 2,357 summaries (grouped inside), fitGammaGamma on the ${spendRows.length} with repeats; ${repeats} runs after a warm-up.`,
    `Synthetic: ${n.toLocaleString("en-US")} customers drawn in ${fmt(drawMs / 1000, 1)} s (seed 2005; ${buyersWithRepeat.toLocaleString("en-US")} with a repeat purchase), T 27–39 weeks, times cut to whole days as the warehouse does; ${fit!.groups.toLocaleString("en-US")} distinct (x, t_x, T) groups, ${fit!.sampledGroups.toLocaleString("en-US")} after the seeded sample (src/lifecycle/clv/sample.ts). The target figure times what LifecycleService.clvModel times as fitMs after its warehouse query: the seeded sample and both fits; grouping the raw summaries (the warehouse's GROUP BY in production) is timed apart. Without the sample: ${fmt(whole.ms.total / 1000, 2)} s (BG/NBD ${fmt(whole.ms.bgnbd / 1000, 2)} s on ${whole.groups.toLocaleString("en-US")} groups).`,
    "Absolute targets: no baseline fit exists to compare with; the repeats and the machine's load average (header) say how steady the figures are.",
  );
  Object.assign(section.data, { cdnow, synth, drawMs, cdnowFit: c, syntheticFit: fit, wholeFit: whole });
}

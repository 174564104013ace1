// Small statistics for the benchmarks: summaries of repeated runs, ratios against a baseline measured
// in the same run, and the log-log slope of time against size.

/** min / median / max of repeated measurements, with the raw values (in the order they were taken). */
export interface Summary {
  readonly n: number;
  readonly min: number;
  readonly median: number;
  readonly max: number;
  readonly values: readonly number[];
}

export function summarize(values: readonly number[]): Summary {
  const sorted = [...values].filter(Number.isFinite).sort((a, b) => a - b);
  const n = sorted.length;
  if (n === 0) return { n: 0, min: NaN, median: NaN, max: NaN, values };
  const median = n % 2 === 1 ? sorted[(n - 1) / 2]! : (sorted[n / 2 - 1]! + sorted[n / 2]!) / 2;
  return { n, min: sorted[0]!, median, max: sorted[n - 1]!, values };
}

/**
 * Ratios of paired measurements a[i] / b[i] (each pair taken side by side, interleaved), summarized.
 * Pairing cancels most of the drift of a shared machine: both halves of a pair saw the same load.
 */
export function pairedRatios(a: readonly number[], b: readonly number[]): Summary {
  const n = Math.min(a.length, b.length);
  return summarize(Array.from({ length: n }, (_, i) => a[i]! / b[i]!));
}

/** Least-squares slope of log(y) over log(x): the exponent k of y ∝ x^k. */
export function logLogSlope(points: readonly (readonly [number, number])[]): number {
  const finite = points.filter(([x, y]) => x > 0 && y > 0 && Number.isFinite(x) && Number.isFinite(y));
  if (finite.length < 2) return NaN;
  const xs = finite.map(([x]) => Math.log(x));
  const ys = finite.map(([, y]) => Math.log(y));
  const mx = xs.reduce((s, v) => s + v, 0) / xs.length;
  const my = ys.reduce((s, v) => s + v, 0) / ys.length;
  let sxy = 0;
  let sxx = 0;
  for (let i = 0; i < xs.length; i++) {
    sxy += (xs[i]! - mx) * (ys[i]! - my);
    sxx += (xs[i]! - mx) ** 2;
  }
  return sxx === 0 ? NaN : sxy / sxx;
}

/** Nearest-rank percentile of sorted values. */
export function percentile(sorted: readonly number[], p: number): number {
  if (sorted.length === 0) return NaN;
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))]!;
}

/** Milliseconds since `start` (performance.now()). */
export function since(start: number): number {
  return performance.now() - start;
}

/**
 * Runs each variant once per round, `rounds` times, rotating the order every round (A,B,C / B,C,A / …)
 * so no variant always runs first (warm caches, JIT) or last (heat, GC debt). Returns the measurements
 * per variant in round order, so round i of each variant forms a pair.
 */
export async function interleave<K extends string>(
  variants: readonly K[],
  rounds: number,
  run: (variant: K, round: number) => Promise<number>,
  onStep?: () => void,
): Promise<Record<K, number[]>> {
  const out = Object.fromEntries(variants.map((v) => [v, [] as number[]])) as Record<K, number[]>;
  for (let round = 0; round < rounds; round++) {
    for (let i = 0; i < variants.length; i++) {
      const variant = variants[(i + round) % variants.length]!;
      out[variant].push(await run(variant, round));
      onStep?.();
    }
  }
  return out;
}

export const fmt = (x: number | null | undefined, digits = 1): string =>
  x === null || x === undefined || !Number.isFinite(x) ? "n/a" : x.toFixed(digits);

/** A number with thousands separators (1,234,567). */
export const grouped = (x: number): string => (Number.isFinite(x) ? Math.round(x).toLocaleString("en-US") : "n/a");

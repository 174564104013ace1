// Nelder–Mead minimisation, used for maximum-likelihood fits of a handful of parameters. Parameters are
// optimised on a log scale by the callers, so every step stays in the positive reals.

export interface MinimizeResult {
  readonly x: number[];
  readonly value: number;
  readonly iterations: number;
  readonly converged: boolean;
}

export function nelderMead(
  f: (x: readonly number[]) => number,
  start: readonly number[],
  options: { maxIterations?: number; tolerance?: number; step?: number } = {},
): MinimizeResult {
  const n = start.length;
  const maxIterations = options.maxIterations ?? 5_000;
  const tolerance = options.tolerance ?? 1e-10;
  const step = options.step ?? 0.5;
  let simplex = [start.slice(), ...start.map((_, i) => start.map((v, j) => (i === j ? v + step : v)))];
  let values = simplex.map((p) => f(p));
  const order = () => {
    const idx = values.map((_, i) => i).sort((a, b) => values[a]! - values[b]!);
    simplex = idx.map((i) => simplex[i]!);
    values = idx.map((i) => values[i]!);
  };
  let iterations = 0;
  for (; iterations < maxIterations; iterations++) {
    order();
    if (Math.abs(values[n]! - values[0]!) <= tolerance * (Math.abs(values[0]!) + tolerance)) {
      return { x: simplex[0]!, value: values[0]!, iterations, converged: true };
    }
    const centroid = Array.from({ length: n }, (_, j) => simplex.slice(0, n).reduce((s, p) => s + p[j]!, 0) / n);
    const along = (t: number) => centroid.map((c, j) => c + t * (simplex[n]![j]! - c));
    const reflected = along(-1);
    const fr = f(reflected);
    if (fr < values[0]!) {
      const expanded = along(-2);
      const fe = f(expanded);
      if (fe < fr) [simplex[n], values[n]] = [expanded, fe];
      else [simplex[n], values[n]] = [reflected, fr];
    } else if (fr < values[n - 1]!) {
      [simplex[n], values[n]] = [reflected, fr];
    } else {
      const contracted = fr < values[n]! ? along(-0.5) : along(0.5);
      const fc = f(contracted);
      if (fc < Math.min(fr, values[n]!)) [simplex[n], values[n]] = [contracted, fc];
      else {
        // Shrink towards the best point.
        simplex = simplex.map((p, i) => (i === 0 ? p : p.map((v, j) => simplex[0]![j]! + 0.5 * (v - simplex[0]![j]!))));
        values = simplex.map((p, i) => (i === 0 ? values[0]! : f(p)));
      }
    }
  }
  order();
  return { x: simplex[0]!, value: values[0]!, iterations, converged: false };
}

export interface LikelihoodMaximum<K extends string> {
  readonly params: Record<K, number>;
  readonly logLikelihood: number;
  readonly iterations: number;
  readonly converged: boolean;
}

/**
 * Maximum likelihood over positive parameters, searched on a log scale from 1 each. A likelihood that
 * is not finite (parameters at the edge of the space) counts as the worst value.
 */
export function maximizeLikelihood<K extends string>(
  names: readonly K[],
  logLikelihood: (params: Record<K, number>) => number,
): LikelihoodMaximum<K> {
  const params = (v: readonly number[]) =>
    Object.fromEntries(names.map((name, i) => [name, Math.exp(v[i]!)])) as Record<K, number>;
  const result = nelderMead(
    (v) => {
      const ll = logLikelihood(params(v));
      return Number.isFinite(ll) ? -ll : Number.MAX_VALUE;
    },
    names.map(() => 0),
    { maxIterations: 10_000, tolerance: 1e-12 },
  );
  return {
    params: params(result.x),
    logLikelihood: -result.value,
    iterations: result.iterations,
    converged: result.converged,
  };
}

// Nelder–Mead and the maximum-likelihood search on a log scale (src/lifecycle/clv/optimize.ts), on
// functions whose minimum is known in closed form: no model fit, so each check is fast.
import { describe, expect, it } from "vitest";
import { maximizeLikelihood, nelderMead } from "../../src/lifecycle/clv/optimize.ts";

const rosenbrock = ([x, y]: readonly number[]) => (1 - x!) ** 2 + 100 * (y! - x! * x!) ** 2;

describe("Nelder–Mead", () => {
  it("finds Rosenbrock's minimum at (1, 1) down its curved valley", () => {
    const result = nelderMead(rosenbrock, [-1.2, 1]);
    expect(result.converged).toBe(true);
    expect(result.x[0]).toBeCloseTo(1, 4);
    expect(result.x[1]).toBeCloseTo(1, 4);
    expect(result.value).toBeLessThan(1e-9);
    expect(result.value).toBe(rosenbrock(result.x));
    expect(result.iterations).toBeGreaterThan(50);
    expect(result.iterations).toBeLessThan(5_000);
  });

  it("finds the minimum of a quadratic in three dimensions from a start far off", () => {
    const f = ([x, y, z]: readonly number[]) => (x! - 3) ** 2 + 2 * (y! + 1) ** 2 + 0.5 * (z! - 0.25) ** 2 + 7;
    const result = nelderMead(f, [20, 20, -20]);
    expect(result.converged).toBe(true);
    expect(result.value).toBeCloseTo(7, 8);
    expect(result.x[0]).toBeCloseTo(3, 3);
    expect(result.x[1]).toBeCloseTo(-1, 3);
    expect(result.x[2]).toBeCloseTo(0.25, 3);
  });

  it("starts from the given point and one step (0.5 unless set) along each axis", () => {
    const seen: number[][] = [];
    const record = (x: readonly number[]) => (seen.push([...x]), rosenbrock(x));
    nelderMead(record, [2, 3], { maxIterations: 0 });
    expect(seen).toEqual([
      [2, 3],
      [2.5, 3],
      [2, 3.5],
    ]);
    seen.length = 0;
    nelderMead(record, [2, 3], { maxIterations: 0, step: 2 });
    expect(seen).toEqual([
      [2, 3],
      [4, 3],
      [2, 5],
    ]);
  });

  it("stops unconverged at maxIterations with the best point so far", () => {
    const result = nelderMead(rosenbrock, [-1.2, 1], { maxIterations: 10 });
    expect(result.converged).toBe(false);
    expect(result.iterations).toBe(10);
    expect(result.value).toBe(rosenbrock(result.x));
    expect(result.value).toBeLessThan(rosenbrock([-1.2, 1]));
    // With no iteration, the best of the starting simplex: (−1.2, 1.5) at 5.2, not the start at 24.2.
    const unstarted = nelderMead(rosenbrock, [-1.2, 1], { maxIterations: 0 });
    expect(unstarted).toEqual({ x: [-1.2, 1.5], value: rosenbrock([-1.2, 1.5]), iterations: 0, converged: false });
  });

  it("stops as soon as the simplex's values agree to the relative tolerance (1e-10 unless set)", () => {
    const loose = nelderMead(rosenbrock, [-1.2, 1], { tolerance: 1e-3 });
    const tight = nelderMead(rosenbrock, [-1.2, 1]);
    expect(loose.converged).toBe(true);
    expect(loose.iterations).toBeLessThan(tight.iterations);
    // A flat function has converged before its first step.
    expect(nelderMead(() => 5, [1, 2])).toEqual({ x: [1, 2], value: 5, iterations: 0, converged: true });
  });
});

describe("one Nelder–Mead step in one dimension, from 1 with a step of 0.5", () => {
  // The simplex is {1, 1.5}, its centroid 1 (the better point); the worst point is reflected to 0.5.
  const firstStep = (f: (x: number) => number) => {
    const seen: number[] = [];
    const result = nelderMead(([x]) => (seen.push(x!), f(x!)), [1], { maxIterations: 1 });
    return { seen, best: result.x[0] };
  };

  it("expands a reflection better than the best point to twice as far, and keeps the expansion if better", () => {
    expect(firstStep((x) => x * x)).toEqual({ seen: [1, 1.5, 0.5, 0], best: 0 });
    // The expansion (0) is worse than the reflection (0.5): the reflection is kept.
    expect(firstStep((x) => (x - 0.4) ** 2)).toEqual({ seen: [1, 1.5, 0.5, 0], best: 0.5 });
  });

  it("contracts outside towards a reflection that improves on the worst point only", () => {
    // f(0.5) = 0.4 lies between f(1) = 0.1 and f(1.5) = 0.6: the contraction is to 1 − 0.25 = 0.75.
    expect(firstStep((x) => Math.abs(x - 0.9)).seen).toEqual([1, 1.5, 0.5, 0.75]);
  });

  it("contracts inside when the reflection is worse than every point", () => {
    expect(firstStep((x) => (x - 1.2) ** 2)).toEqual({ seen: [1, 1.5, 0.5, 1.25], best: 1.25 });
  });

  it("shrinks towards the best point when the contraction does not improve", () => {
    const table = new Map([
      [1, 0],
      [1.5, 1],
      [0.5, 2],
      [1.25, 5],
    ]);
    const { seen, best } = firstStep((x) => table.get(x) ?? 10);
    expect(seen).toEqual([1, 1.5, 0.5, 1.25, 1.25]);
    expect(best).toBe(1);
  });

  it("breaks ties towards the cheaper step: no expansion, reflection or contraction that does not improve", () => {
    const tabled = (entries: [number, number][]) => {
      const table = new Map(entries);
      return (x: number) => table.get(x) ?? 10;
    };
    // A reflection as good as the best point is neither expanded nor kept: an outside contraction follows.
    expect(
      firstStep(
        tabled([
          [1, 0],
          [1.5, 1],
          [0.5, 0],
          [0.75, -1],
        ]),
      ).seen,
    ).toEqual([1, 1.5, 0.5, 0.75]);
    // An expansion only as good as the reflection is not taken.
    expect(
      firstStep(
        tabled([
          [1, 1],
          [1.5, 2],
          [0.5, 0],
          [0, 0],
        ]),
      ).best,
    ).toBe(0.5);
    // A reflection as bad as the worst point: an inside contraction.
    expect(
      firstStep(
        tabled([
          [1, 0],
          [1.5, 1],
          [0.5, 1],
          [1.25, 0.5],
        ]),
      ).seen,
    ).toEqual([1, 1.5, 0.5, 1.25]);
    // A contraction only as good as the better of the reflection and the worst point, or between them: shrink.
    expect(
      firstStep(
        tabled([
          [1, 0],
          [1.5, 1],
          [0.5, 2],
          [1.25, 1],
        ]),
      ).seen,
    ).toEqual([1, 1.5, 0.5, 1.25, 1.25]);
    expect(
      firstStep(
        tabled([
          [1, 0],
          [1.5, 1],
          [0.5, 2],
          [1.25, 1.5],
        ]),
      ).seen,
    ).toEqual([1, 1.5, 0.5, 1.25, 1.25]);
  });

  it("with tolerance 0 stops when the simplex's values are exactly equal", () => {
    expect(nelderMead(() => 0, [1], { tolerance: 0 })).toEqual({ x: [1], value: 0, iterations: 0, converged: true });
  });

  it("returns its own copy of the start, not the caller's array", () => {
    const start = [1, 2];
    expect(nelderMead(() => 5, start).x).not.toBe(start);
  });
});

describe("maximum likelihood over positive parameters", () => {
  it("finds the maximum on a log scale and reports it by parameter name", () => {
    // Maximum 2 at p = 3, q = 0.5.
    const ll = ({ p, q }: { p: number; q: number }) => 2 - Math.log(p / 3) ** 2 - 4 * Math.log(q / 0.5) ** 2;
    const best = maximizeLikelihood(["p", "q"] as const, ll);
    expect(best.converged).toBe(true);
    expect(best.params.p).toBeCloseTo(3, 4);
    expect(best.params.q).toBeCloseTo(0.5, 4);
    expect(best.logLikelihood).toBeCloseTo(2, 10);
    expect(best.logLikelihood).toBe(ll(best.params));
    expect(best.iterations).toBeGreaterThan(0);
  });

  it("searches from 1 for every parameter, and treats a non-finite likelihood as the worst", () => {
    const first: Record<string, number>[] = [];
    // +Infinity (an overflow) beyond 2.5, NaN beyond 10 and −Infinity below 0.1: all count as the worst, so
    // the search stays at the finite maximum, r = 2.
    const ll = ({ r }: { r: number }) => {
      if (first.length === 0) first.push({ r });
      return r > 10 ? NaN : r > 2.5 ? Infinity : r < 0.1 ? -Infinity : -((r - 2) ** 2);
    };
    const best = maximizeLikelihood(["r"] as const, ll);
    expect(first).toEqual([{ r: 1 }]);
    expect(best.params.r).toBeCloseTo(2, 4);
    expect(best.converged).toBe(true);
  });
});

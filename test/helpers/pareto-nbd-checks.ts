// Properties of the Pareto/NBD likelihood that hold on any data, checked by pareto-nbd.spec.ts on a slice of
// CDNOW (inside the mutation group) and by cdnow-likelihoods.spec.ts on all of it (outside).
import { expect } from "vitest";
import type { SummaryGroup } from "../../src/lifecycle/clv/bgnbd.ts";
import { paretoNbdLogLikelihood } from "../../src/lifecycle/clv/pareto-nbd.ts";

/** Finite at every corner of a grid over 12 orders of magnitude of r, α, s and β. */
export function expectFiniteOnGrid(groups: readonly SummaryGroup[]): void {
  for (const r of [1e-6, 1, 1e6])
    for (const alpha of [1e-6, 1, 1e6])
      for (const s of [1e-6, 1, 1e6])
        for (const beta of [1e-6, 1, 1e6]) {
          expect(Number.isFinite(paretoNbdLogLikelihood({ r, alpha, s, beta }, groups))).toBe(true);
        }
}

/** Continuous where α and β swap the 2F1 the likelihood uses, and at α = β exactly. */
export function expectContinuousAcrossAlphaEqualsBeta(groups: readonly SummaryGroup[]): void {
  const at = (alpha: number, beta: number) => paretoNbdLogLikelihood({ r: 0.55, alpha, s: 0.61, beta }, groups);
  const equal = at(11, 11);
  for (const d of [1e-12, 1e-9, 1e-6]) {
    expect(at(11 * (1 + d), 11)).toBeCloseTo(equal, 4);
    expect(at(11, 11 * (1 + d))).toBeCloseTo(equal, 4);
  }
}

/**
 * Tends to its limit as s, β → ∞ with s/β fixed (exponential lifetimes with rate s/β, no heterogeneity):
 * the differences between successive steps shrink like 1/s.
 */
export function expectDropoutLimit(groups: readonly SummaryGroup[]): void {
  const at = (s: number) => paretoNbdLogLikelihood({ r: 0.55, alpha: 10.58, s, beta: s / 0.05 }, groups);
  const values = [1e4, 1e5, 1e6, 1e7].map(at);
  for (const v of values) expect(Number.isFinite(v)).toBe(true);
  const steps = values.slice(1).map((v, i) => Math.abs(v - values[i]!));
  expect(steps[1]!).toBeLessThan(steps[0]! / 5);
  expect(steps[2]!).toBeLessThan(steps[1]! / 5);
}

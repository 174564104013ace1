// Significance of the difference between two groups' rates (the A/B comparison of segments).

/**
 * erfc(x) for x ≥ 0, all a two-sided p-value needs, by the continued-fraction-free Chebyshev fit of
 * Numerical Recipes (erfcc): relative error below 1.2e-7 everywhere, enough for p-values.
 */
function erfc(x: number): number {
  const t = 1 / (1 + 0.5 * x);
  return (
    t *
    Math.exp(
      -x * x -
        1.26551223 +
        t *
          (1.00002368 +
            t *
              (0.37409196 +
                t *
                  (0.09678418 +
                    t *
                      (-0.18628806 +
                        t *
                          (0.27886807 + t * (-1.13520398 + t * (1.48851587 + t * (-0.82215223 + t * 0.17087277)))))))),
    )
  );
}

export interface TwoProportionTest {
  /** (p_a − p_b) / standard error under the pooled proportion. */
  readonly z: number;
  /** Two-sided p-value of no difference. */
  readonly pValue: number;
}

/**
 * The two-proportion z-test of successes a of na against b of nb (pooled standard error). Null when
 * a group is empty or the pooled proportion is 0 or 1 (no variation to test against).
 */
export function twoProportionTest(a: number, na: number, b: number, nb: number): TwoProportionTest | null {
  if (na <= 0 || nb <= 0) return null;
  const pooled = (a + b) / (na + nb);
  const se = Math.sqrt(pooled * (1 - pooled) * (1 / na + 1 / nb));
  if (!(se > 0)) return null;
  const z = (a / na - b / nb) / se;
  return { z, pValue: erfc(Math.abs(z) / Math.SQRT2) };
}

// BG/NBD individual predictions for named CDNOW customers (test/fixtures/cdnow_summary.csv) with the
// published parameters (Fader, Hardie & Lee 2005: r 0.243, α 4.414, a 0.793, b 2.426), against the
// paper's closed forms computed here independently: P(alive) (eq. 13) and the conditional expectation
// (eq. 10) with the Gaussian hypergeometric 2F1 summed by its power series, not by the code's special.ts.
// A swapped or mis-signed term in src/lifecycle/clv/bgnbd.ts moves these far past the 1e-9 tolerance.
import { describe, expect, it } from "vitest";
import { bgnbdExpectedPurchases, bgnbdProbabilityAlive } from "../../src/lifecycle/clv/bgnbd.ts";
import { readCdnow } from "../helpers/cdnow.ts";

const PUBLISHED = { r: 0.243, alpha: 4.414, a: 0.793, b: 2.426 };
const { r, alpha, a, b } = PUBLISHED;

/** 2F1(p, q; c; z) = Σ (p)_k (q)_k / ((c)_k k!) z^k, for 0 ≤ z < 1, summed until the terms vanish. */
function hyp2f1Series(p: number, q: number, c: number, z: number): number {
  let term = 1;
  let sum = 1;
  for (let k = 0; k < 100_000; k++) {
    term *= ((p + k) * (q + k) * z) / ((c + k) * (k + 1));
    sum += term;
    if (Math.abs(term) < 1e-17 * Math.abs(sum)) return sum;
  }
  throw new Error("2F1 series did not converge");
}

/** FHL 2005 eq. 13: 1 / (1 + a/(b+x−1) · ((α+T)/(α+t_x))^(r+x)) for x > 0; 1 for x = 0. */
function pAlive(x: number, tx: number, T: number): number {
  if (x === 0) return 1;
  return 1 / (1 + (a / (b + x - 1)) * Math.pow((alpha + T) / (alpha + tx), r + x));
}

/** FHL 2005 eq. 10: E[Y(t) | x, t_x, T]. */
function expectedPurchases(x: number, tx: number, T: number, t: number): number {
  const hyp = hyp2f1Series(r + x, b + x, a + b + x - 1, t / (alpha + T + t));
  const numerator = ((a + b + x - 1) / (a - 1)) * (1 - Math.pow((alpha + T) / (alpha + T + t), r + x) * hyp);
  const denominator = 1 + (x > 0 ? (a / (b + x - 1)) * Math.pow((alpha + T) / (alpha + tx), r + x) : 0);
  return numerator / denominator;
}

const byId = new Map(readCdnow().map((row) => [row.id, row]));
// Named customers: none, one and a few repeat purchases, recent and long-silent, the heaviest buyers.
const NAMED = [1, 2, 3, 6, 7, 9, 11, 157, 325, 509, 841, 1516];

function relative(actual: number, expected: number): number {
  return Math.abs(actual - expected) / Math.abs(expected);
}

describe("BG/NBD against the paper's closed forms (published CDNOW parameters)", () => {
  it.each(NAMED)("customer %i: P(alive)", (id) => {
    const c = byId.get(id)!;
    expect(relative(bgnbdProbabilityAlive(PUBLISHED, c), pAlive(c.x, c.tx, c.T))).toBeLessThanOrEqual(1e-9);
  });

  it.each(NAMED)("customer %i: expected purchases in the next 39 and 52 weeks", (id) => {
    const c = byId.get(id)!;
    for (const t of [39, 52]) {
      expect(
        relative(bgnbdExpectedPurchases(PUBLISHED, c, t), expectedPurchases(c.x, c.tx, c.T, t)),
      ).toBeLessThanOrEqual(1e-9);
    }
  });

  it("the references themselves are what the hand checks give", () => {
    // x = 0: alive by definition; a customer seen right at T (t_x = T) has P(alive) = 1 / (1 + a/(b+x−1)).
    expect(pAlive(0, 0, 38.86)).toBe(1);
    expect(pAlive(2, 38.86, 38.86)).toBeCloseTo(1 / (1 + 0.793 / 3.426), 15);
    // 2F1(1, 1; 2; z) = −ln(1 − z) / z.
    expect(hyp2f1Series(1, 1, 2, 0.5)).toBeCloseTo(-Math.log(0.5) / 0.5, 14);
  });

  it("matches the paper's worked example for customer 1", () => {
    // Fader, Hardie & Lee (2005), the conditional expectation's example: a customer with x 2, t_x 30.43,
    // T 38.86 (CDNOW's customer 1) is expected to make 1.226 purchases in the next 39 weeks.
    expect(bgnbdExpectedPurchases(PUBLISHED, byId.get(1)!, 39)).toBeCloseTo(1.226, 3);
  });
});

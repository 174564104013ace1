// The two-proportion z-test against values computed independently (Python: math.erfc).
import { describe, expect, it } from "vitest";
import { twoProportionTest } from "../../src/lifecycle/statistics.ts";

describe("two-proportion z-test", () => {
  it.each([
    [45, 100, 30, 100, 2.1908902300206647, 0.02845973691631057],
    [10, 2000, 31, 2100, -3.140144878904453, 0.001688643010345675],
    [5, 8, 3, 9, 1.2025724741384844, 0.22914180480841895],
  ])("%i/%i vs %i/%i", (a, na, b, nb, z, p) => {
    const test = twoProportionTest(a, na, b, nb)!;
    expect(test.z).toBeCloseTo(z, 12);
    expect(Math.abs(test.pValue - p) / p).toBeLessThan(2e-7);
  });

  it("has nothing to test without variation or without a group", () => {
    expect(twoProportionTest(0, 10, 0, 20)).toBeNull();
    expect(twoProportionTest(10, 10, 20, 20)).toBeNull();
    expect(twoProportionTest(1, 0, 2, 20)).toBeNull();
    expect(twoProportionTest(1, 10, 0, 0)).toBeNull();
    expect(twoProportionTest(0, 0, 0, 0)).toBeNull();
    expect(twoProportionTest(3, 10, 3, 10)!.pValue).toBeCloseTo(1, 6);
  });
});

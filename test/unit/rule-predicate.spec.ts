// The TypeScript back end compiles rules to JavaScript source (src/lifecycle/rule-predicate.ts). Its
// agreement with SQL is the property tests' job (rule-agreement, segment-agreement); these check what
// compiling to source adds: nothing a rule holds becomes code, and the compiled stage model is the
// default model as a person would write it.
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { compileFirstMatch, compilePredicate } from "../../src/lifecycle/rule-predicate.ts";
import type { Rule } from "../../src/lifecycle/rules.ts";
import { CompiledStageModel, defaultStageModel } from "../../src/lifecycle/stage-model.ts";

describe("rules compiled to source", () => {
  it("treats hostile field names and strings as data, never as code", () => {
    const field = '"]; globalThis.pwned = 1; //';
    const value = 'a"b\\c\u2028${globalThis.pwned = 2}`\n';
    const rule: Rule = { all: [{ field, op: "eq", value }, { not: { field: "x`${1}`", op: "isNull" } }] };
    const predicate = compilePredicate(rule);
    expect(predicate({ [field]: value, "x`${1}`": 3 })).toBe(true);
    expect(predicate({ [field]: value })).toBe(false);
    expect(predicate({ [field]: "a" })).toBe(false);
    expect((globalThis as { pwned?: unknown }).pwned).toBeUndefined();
  });

  it("answers `in` the same with a short list (=== chain) and a long one (a Set)", () => {
    const values = [1, 2, 3, "4", 5, 6, 7, 8, 9, 10];
    const long = compilePredicate({ field: "v", op: "in", value: values });
    const short = (v: unknown) => values.slice(0, 8).includes(v as never) || v === 9 || v === 10;
    for (const v of [1, "1", 4, "4", 10, 11, null, undefined, NaN, {}]) expect(long({ v }), String(v)).toBe(short(v));
  });

  it("is null-safe: a comparison with a missing, null or non-scalar value is false, its negation true", () => {
    const gt: Rule = { field: "a", op: "gt", value: { max: [1, { field: "b" }] } };
    for (const row of [{}, { a: null, b: 1 }, { a: 5, b: null }, { a: 5, b: "x" }, { a: 5, b: {} }, { a: [5], b: 1 }]) {
      expect(compilePredicate(gt)(row), JSON.stringify(row)).toBe(false);
      expect(compilePredicate({ not: gt })(row), JSON.stringify(row)).toBe(true);
    }
    expect(compilePredicate(gt)({ a: 5, b: 2 })).toBe(true);
    expect(compilePredicate(gt)({ a: 5, b: 5 })).toBe(false);
  });

  it("first match: the first rule that holds wins, the fallback otherwise", () => {
    const pick = compileFirstMatch(
      [
        { rule: { field: "n", op: "gte", value: 10 }, result: 2 },
        { rule: { field: "n", op: "gte", value: 0 }, result: 1 },
      ],
      7,
    );
    expect([pick({ n: 11 }), pick({ n: 3 }), pick({ n: -1 }), pick({})]).toEqual([2, 1, 7, 7]);
  });

  it("classifies like the default model written by hand, for random thresholds and features", () => {
    const maybe = (arb: fc.Arbitrary<number>) => fc.option(arb, { nil: null, freq: 5 });
    fc.assert(
      fc.property(
        fc.record({
          churnDays: fc.integer({ min: 1, max: 400 }),
          atRiskMinDays: fc.integer({ min: 1, max: 200 }),
          atRiskGapMultiple: fc.constantFrom(0.5, 1, 2.5, 3),
          loyalPurchaseDays: fc.integer({ min: 3, max: 6 }),
          newMaxDays: fc.integer({ min: 1, max: 60 }),
        }),
        fc.array(
          fc.record({
            purchaseDays: maybe(fc.integer({ min: 0, max: 8 })),
            recencyDays: maybe(fc.integer({ min: 0, max: 500 })),
            meanGapDays: maybe(fc.double({ min: 0, max: 200, noNaN: true })),
            referredCount: maybe(fc.integer({ min: 0, max: 2 })),
          }),
          { maxLength: 50 },
        ),
        (t, rows) => {
          const model = new CompiledStageModel(defaultStageModel(t));
          for (const f of rows) {
            const known = (v: number | null): v is number => v !== null;
            const { purchaseDays: pd, recencyDays: rec, meanGapDays: gap, referredCount: ref } = f;
            const byHand =
              pd === 0
                ? "prospect"
                : known(rec) && rec > t.churnDays
                  ? "churned"
                  : known(rec) && known(gap) && rec > Math.max(t.atRiskMinDays, t.atRiskGapMultiple * gap)
                    ? "at_risk"
                    : known(pd) && pd >= 2 && known(ref) && ref >= 1
                      ? "advocate"
                      : known(pd) && pd >= t.loyalPurchaseDays
                        ? "loyal"
                        : known(pd) && pd >= 2
                          ? "retained"
                          : pd === 1 && known(rec) && rec <= t.newMaxDays
                            ? "new"
                            : pd === 1
                              ? "developing"
                              : "prospect";
            expect(model.classify(f).key, JSON.stringify(f)).toBe(byHand);
          }
        },
      ),
      { numRuns: 300, seed: 11 },
    );
  });
});

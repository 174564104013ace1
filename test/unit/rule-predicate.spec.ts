// The TypeScript back end compiles rules to JavaScript source (src/lifecycle/rule-predicate.ts). Its
// agreement with SQL is the property tests' job (rule-agreement, segment-agreement); these check what
// compiling to source adds: nothing a rule holds becomes code, and the compiled stage model is the
// default model as a person would write it.
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { compileFirstMatch, compilePredicate, type FeatureRow } from "../../src/lifecycle/rule-predicate.ts";
import type { Rule, ValueExpr } from "../../src/lifecycle/rules.ts";
import { CompiledStageModel, defaultStageModel } from "../../src/lifecycle/stage-model.ts";
import { ARITHMETIC_CASES, ARITHMETIC_ROW } from "../helpers/rule-arithmetic.ts";

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

describe("rule predicates: exact answers", () => {
  /** Whether `x` equals the value `expr` computes over `row`; null when it computes null (eq and neq both false). */
  function computed(expr: ValueExpr, row: FeatureRow, x: number): boolean | null {
    const eq = compilePredicate({ field: "x", op: "eq", value: expr })({ ...row, x });
    const neq = compilePredicate({ field: "x", op: "neq", value: expr })({ ...row, x });
    if (eq && neq) throw new Error("eq and neq both hold");
    return eq === neq ? null : eq;
  }

  it("max, min, add and mul combine every part, left to right", () => {
    const row = { ...ARITHMETIC_ROW, tenth: 0.1, fifth: 0.2, third: 0.3 };
    const cases: (readonly [ValueExpr, number])[] = [
      ...ARITHMETIC_CASES,
      [{ mul: [{ field: "a" }, 0.5] }, 1],
      // Left to right: (0.1 + 0.2) + 0.3, which is not 0.1 + (0.2 + 0.3) in floating point.
      [{ add: [{ field: "tenth" }, { field: "fifth" }, { field: "third" }] }, 0.6000000000000001],
    ];
    for (const [expr, expected] of cases) {
      expect(computed(expr, row, expected), JSON.stringify(expr)).toBe(true);
      expect(computed(expr, row, expected + 1), JSON.stringify(expr)).toBe(false);
    }
  });

  it("arithmetic is null when any part is null, missing or not a number", () => {
    const row = { a: 2, b: 7, n: null, s: "3" };
    const ops: Record<string, (args: ValueExpr[]) => ValueExpr> = {
      max: (args) => ({ max: args }),
      min: (args) => ({ min: args }),
      add: (args) => ({ add: args }),
      mul: (args) => ({ mul: args }),
    };
    for (const [op, of] of Object.entries(ops)) {
      for (const bad of [{ field: "n" }, { field: "missing" }, { field: "s" }]) {
        for (const args of [[bad], [{ field: "a" }, bad], [bad, { field: "b" }], [{ field: "a" }, 1, bad]]) {
          // Math.max(2, null) would be 2 and 2 + null 2: null must not count as 0.
          for (const x of [0, 1, 2, 7, 14])
            expect(computed(of(args), row, x), `${op} ${JSON.stringify(args)} ${x}`).toBe(null);
        }
      }
    }
  });

  it("compares with each operator, ties included", () => {
    const answers = (value: ValueExpr, row: FeatureRow) =>
      (["eq", "neq", "lt", "lte", "gt", "gte"] as const).map((op) => compilePredicate({ field: "v", op, value })(row));
    expect(answers(5, { v: 5 })).toEqual([true, false, false, true, false, true]);
    expect(answers(5, { v: 4 })).toEqual([false, true, true, true, false, false]);
    expect(answers(5, { v: 6 })).toEqual([false, true, false, false, true, true]);
    expect(answers({ field: "w" }, { v: "2026-01-02", w: "2026-01-10" })).toEqual([
      false,
      true,
      true,
      true,
      false,
      false,
    ]);
    expect(answers("b", { v: "b" })).toEqual([true, false, false, true, false, true]);
    expect(answers(Infinity, { v: 1e308 })).toEqual([false, true, true, true, false, false]);
    expect(answers(5, { v: null })).toEqual([false, false, false, false, false, false]);
    expect(answers({ field: "w" }, { v: 5 })).toEqual([false, false, false, false, false, false]);
  });

  it("between includes both bounds and is false when either bound is null", () => {
    const between = compilePredicate({
      field: "v",
      op: "between",
      value: [{ field: "lo" }, { add: [{ field: "lo" }, 10] }],
    });
    expect([0, 1, 5, 11, 12].map((v) => between({ v, lo: 1 }))).toEqual([false, true, true, true, false]);
    expect(between({ v: 5, lo: null })).toBe(false);
    expect(between({ v: null, lo: 1 })).toBe(false);
    const upper = compilePredicate({ field: "v", op: "between", value: [0, { field: "hi" }] });
    expect([upper({ v: 3, hi: 3 }), upper({ v: 3, hi: 2 }), upper({ v: 3 }), upper({ v: -1, hi: 3 })]).toEqual([
      true,
      false,
      false,
      false,
    ]);
  });

  it("isNull and notNull see missing and non-scalar values as null", () => {
    const isNull = compilePredicate({ field: "v", op: "isNull" });
    const notNull = compilePredicate({ field: "v", op: "notNull" });
    for (const row of [{}, { v: null }, { v: undefined }, { v: {} }, { v: true }])
      expect([isNull(row), notNull(row)], JSON.stringify(row)).toEqual([true, false]);
    for (const row of [{ v: 0 }, { v: "" }, { v: NaN }]) expect([isNull(row), notNull(row)]).toEqual([false, true]);
  });

  it("in: a short list matches its numbers and strings exactly, never null", () => {
    const short = compilePredicate({ field: "v", op: "in", value: [1, "2", 3.5] });
    expect([1, "1", 2, "2", 3.5, "3.5", 4, null, undefined].map((v) => short({ v }))).toEqual([
      true,
      false,
      false,
      true,
      true,
      false,
      false,
      false,
      false,
    ]);
    const nine = compilePredicate({ field: "v", op: "in", value: [1, 2, 3, 4, 5, 6, 7, 8, "9"] });
    expect([1, 8, "9", 9, 0, null].map((v) => nine({ v }))).toEqual([true, true, true, false, false, false]);
  });

  it("all of nothing holds, any of nothing does not, not negates", () => {
    expect(compilePredicate({ all: [] })({})).toBe(true);
    expect(compilePredicate({ any: [] })({})).toBe(false);
    expect(compilePredicate({ not: { all: [] } })({})).toBe(false);
    const both = compilePredicate({
      all: [
        { field: "a", op: "gt", value: 1 },
        { field: "b", op: "gt", value: 1 },
      ],
    });
    const either = compilePredicate({
      any: [
        { field: "a", op: "gt", value: 1 },
        { field: "b", op: "gt", value: 1 },
      ],
    });
    const rows = [
      { a: 2, b: 2 },
      { a: 2, b: 0 },
      { a: 0, b: 2 },
      { a: 0, b: 0 },
    ];
    expect(rows.map(both)).toEqual([true, false, false, false]);
    expect(rows.map(either)).toEqual([true, true, true, false]);
  });

  it("reads each field by its own key, identifier-like or not", () => {
    const names = ["a", "a1", "_y", "$x", "A_$9", "a-b", "1a", "a b", "a.b", "a-", "", "é", "constructor"];
    for (const name of names) {
      const predicate = compilePredicate({ field: name, op: "eq", value: 1 });
      const others = { a: 5, b: 4, y: 3, x: 2, _: 6 };
      expect(predicate({ ...others, [name]: 1 }), name).toBe(true);
      expect(predicate({ ...others, [name]: 2 }), name).toBe(false);
    }
    const gap = compilePredicate({ field: "a-b", op: "gt", value: { field: "1a" } });
    expect([gap({ "a-b": 2, "1a": 1, a: 0, b: 9 }), gap({ "a-b": 1, "1a": 2, a: 9, b: 0 })]).toEqual([true, false]);
  });

  it("keeps its temporaries local: running a rule leaves no globals behind", () => {
    const rule: Rule = {
      all: [
        { field: "v", op: "between", value: [{ min: [{ field: "a" }, 1] }, { add: [{ field: "a" }, 5] }] },
        { field: "v", op: "lt", value: { mul: [{ field: "a" }, 4] } },
      ],
    };
    const answers = [compilePredicate(rule)({ v: 3, a: 2 }), compilePredicate(rule)({ v: 8, a: 2 })];
    const leaked = Object.keys(globalThis).filter((name) => /^t\d/.test(name));
    // Removed before asserting, so that a leak fails this test only and not the ones after it.
    for (const name of leaked) delete (globalThis as Record<string, unknown>)[name];
    expect(answers).toEqual([true, false]);
    expect(leaked).toEqual([]);
  });

  it("first match returns whole numbers: results and fallback truncated", () => {
    const pick = compileFirstMatch([{ rule: { field: "n", op: "gt", value: 0 }, result: 2.7 }], -1.5);
    expect([pick({ n: 1 }), pick({ n: 0 })]).toEqual([2, -1]);
  });

  it("refuses rules whose segment references and relative dates are not resolved", () => {
    const relative: Rule = { field: "lastPurchaseDate", op: "gt", value: { daysAgo: 30 } };
    const nested: Rule = { field: "v", op: "between", value: [0, { max: [1, { daysAgo: 3 }] }] };
    for (const rule of [relative, nested, { all: [{ field: "v", op: "isNull" }, relative] } as Rule]) {
      expect(() => compilePredicate(rule)).toThrow(
        new Error("resolve relative dates (resolveDefinition) before compiling"),
      );
    }
    for (const rule of [{ segment: "s1" }, { any: [{ not: { segment: "s1" } }] }] as Rule[]) {
      expect(() => compilePredicate(rule)).toThrow(
        new Error("resolve segment references (resolveDefinition) before compiling"),
      );
      expect(() => compileFirstMatch([{ rule, result: 1 }], 0)).toThrow(
        new Error("resolve segment references (resolveDefinition) before compiling"),
      );
    }
  });
});

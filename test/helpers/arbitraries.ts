// fast-check arbitraries for the rule language: random rules and feature values.
import fc from "fast-check";
import { FEATURES, FEATURE_BY_FIELD, type FeatureType } from "../../src/lifecycle/features.ts";
import type { Rule, ValueExpr } from "../../src/lifecycle/rules.ts";

// Values exactly representable in binary floating point, so sums and products agree everywhere.
const NUMBERS = [-2, 0, 0.5, 1, 1.25, 2, 3, 4, 7.5, 30, 60, 365, 400];
const DATES = ["2025-12-31", "2026-01-01", "2026-02-15", "2026-06-30"];
const STRINGS = ["email", "paid_search", "", "o'neil", "Email"];

const pool: Record<FeatureType, readonly (number | string)[]> = { number: NUMBERS, date: DATES, string: STRINGS };
const fieldsOfType = (type: FeatureType) => FEATURES.filter((f) => f.type === type).map((f) => f.field);

export const constantOf = (type: FeatureType) => fc.constantFrom(...pool[type]);

function valueExpr(type: FeatureType, depth: number): fc.Arbitrary<ValueExpr> {
  const leaves: fc.Arbitrary<ValueExpr>[] = [
    constantOf(type),
    fc.constantFrom(...fieldsOfType(type)).map((field) => ({ field })),
  ];
  if (type !== "number" || depth <= 0) return fc.oneof(...leaves);
  const args = fc.array(valueExpr("number", depth - 1), { minLength: 1, maxLength: 3 });
  return fc.oneof(
    ...leaves,
    args.map((a) => ({ max: a })),
    args.map((a) => ({ min: a })),
    args.map((a) => ({ add: a })),
    args.map((a) => ({ mul: a })),
  );
}

const comparison: fc.Arbitrary<Rule> = fc
  .constantFrom(...FEATURES.map((f) => f.field))
  .chain((field): fc.Arbitrary<Rule> => {
    const type = FEATURE_BY_FIELD.get(field)!.type;
    const ordered = type === "string" ? (["eq", "neq"] as const) : (["eq", "neq", "lt", "lte", "gt", "gte"] as const);
    const options: fc.Arbitrary<Rule>[] = [
      fc.record({ field: fc.constant(field), op: fc.constantFrom(...ordered), value: valueExpr(type, 2) }),
      fc.record({
        field: fc.constant(field),
        op: fc.constant("in" as const),
        value: fc.array(constantOf(type), { minLength: 1, maxLength: 12 }),
      }),
      fc.record({ field: fc.constant(field), op: fc.constantFrom("isNull" as const, "notNull" as const) }),
    ];
    if (type !== "string") {
      options.push(
        fc.record({
          field: fc.constant(field),
          op: fc.constant("between" as const),
          value: fc.tuple(valueExpr(type, 1), valueExpr(type, 1)),
        }),
      );
    }
    return fc.oneof(...options);
  });

/** Random trees of all / any / not over the given comparisons. */
function treeOf(leaf: fc.Arbitrary<Rule>): fc.Arbitrary<Rule> {
  return fc.letrec<{ rule: Rule }>((tie) => ({
    rule: fc.oneof(
      { depthSize: "small", withCrossShrink: true },
      leaf,
      fc.record({ all: fc.array(tie("rule"), { maxLength: 3 }) }),
      fc.record({ any: fc.array(tie("rule"), { maxLength: 3 }) }),
      fc.record({ not: tie("rule") }),
    ),
  })).rule;
}

export const rule: fc.Arbitrary<Rule> = treeOf(comparison);

/**
 * Comparisons only segment definitions may make: stages, RFM scores, relative dates. Stage and RFM
 * segment keys come from the model and map in use.
 */
export function segmentComparison(stageKeys: readonly string[], rfmSegments: readonly string[]): fc.Arbitrary<Rule> {
  const key = (field: string, keys: readonly string[]) =>
    fc.oneof(
      fc.record({
        field: fc.constant(field),
        op: fc.constantFrom("eq" as const, "neq" as const),
        value: fc.constantFrom(...keys),
      }),
      fc.record({
        field: fc.constant(field),
        op: fc.constant("in" as const),
        value: fc.uniqueArray(fc.constantFrom(...keys), { minLength: 1, maxLength: 3 }),
      }),
    );
  const score = fc.record({
    field: fc.constantFrom("rfmRecency", "rfmFrequency", "rfmMonetary"),
    op: fc.constantFrom("eq" as const, "gte" as const, "lte" as const),
    value: fc.integer({ min: 1, max: 5 }),
  });
  const recent = fc.record({
    field: fc.constantFrom(...fieldsOfType("date")),
    op: fc.constantFrom("gte" as const, "lt" as const),
    value: fc.constantFrom(0, 30, 90, 365).map((daysAgo) => ({ daysAgo })),
  });
  return fc.oneof(
    key("stage", stageKeys),
    key("furthestStage", stageKeys),
    key("rfmSegment", rfmSegments),
    score,
    fc.record({
      field: fc.constantFrom("rfmSegment", "rfmRecency"),
      op: fc.constantFrom("isNull" as const, "notNull" as const),
    }),
    recent,
  );
}

/** Random segment definitions: feature comparisons mixed with stage, RFM and relative-date ones. */
export function definition(stageKeys: readonly string[], rfmSegments: readonly string[]): fc.Arbitrary<Rule> {
  return treeOf(
    fc.oneof(comparison, segmentComparison(stageKeys, rfmSegments), segmentComparison(stageKeys, rfmSegments)),
  );
}

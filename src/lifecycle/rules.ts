// The rule language shared by the stage model and segments: a JSON tree over customer features.
//   {"all":[…]} {"any":[…]} {"not":…}
//   {"field":"purchaseDays","op":"gte","value":4}
// Values are constants, references to other fields ({"field":"meanGapDays"}) or arithmetic over
// numbers ({"max":[60,{"mul":[3,{"field":"meanGapDays"}]}]}).
// Semantics, identical in the TypeScript and SQL back ends: a comparison is false when the field or
// any value it needs is null (so `not` of it is true); only isNull/notNull look at nulls.
import { z } from "zod";
import { FEATURE_BY_FIELD, type FeatureType } from "./features.ts";

export const COMPARISON_OPS = ["eq", "neq", "lt", "lte", "gt", "gte"] as const;
export type ComparisonOp = (typeof COMPARISON_OPS)[number];

export type ValueExpr =
  | number
  | string
  | { readonly field: string }
  | { readonly max: readonly ValueExpr[] }
  | { readonly min: readonly ValueExpr[] }
  | { readonly add: readonly ValueExpr[] }
  | { readonly mul: readonly ValueExpr[] };

export type Rule =
  | { readonly all: readonly Rule[] }
  | { readonly any: readonly Rule[] }
  | { readonly not: Rule }
  | { readonly field: string; readonly op: ComparisonOp; readonly value: ValueExpr }
  | { readonly field: string; readonly op: "in"; readonly value: readonly (number | string)[] }
  | { readonly field: string; readonly op: "between"; readonly value: readonly [ValueExpr, ValueExpr] }
  | { readonly field: string; readonly op: "isNull" | "notNull" };

const valueExpr: z.ZodType<ValueExpr> = z.lazy(() =>
  z.union([
    z.number().refine(Number.isFinite, "must be a finite number"),
    z.string(),
    z.object({ field: z.string() }).strict(),
    z.object({ max: z.array(valueExpr).min(1) }).strict(),
    z.object({ min: z.array(valueExpr).min(1) }).strict(),
    z.object({ add: z.array(valueExpr).min(1) }).strict(),
    z.object({ mul: z.array(valueExpr).min(1) }).strict(),
  ]),
);

export const ruleSchema: z.ZodType<Rule> = z.lazy(() =>
  z.union([
    z.object({ all: z.array(ruleSchema) }).strict(),
    z.object({ any: z.array(ruleSchema) }).strict(),
    z.object({ not: ruleSchema }).strict(),
    z.object({ field: z.string(), op: z.enum(COMPARISON_OPS), value: valueExpr }).strict(),
    z
      .object({ field: z.string(), op: z.literal("in"), value: z.array(z.union([z.number(), z.string()])).min(1) })
      .strict(),
    z.object({ field: z.string(), op: z.literal("between"), value: z.tuple([valueExpr, valueExpr]) }).strict(),
    z.object({ field: z.string(), op: z.enum(["isNull", "notNull"]) }).strict(),
  ]),
);

/** Fields a rule may read besides the features, with their types (segments add `stage`). */
export interface RuleScope {
  readonly extraFields?: ReadonlyMap<string, { type: FeatureType; values?: readonly string[] }>;
}

export interface RuleIssue {
  readonly path: (string | number)[];
  readonly message: string;
}

const DATE = /^\d{4}-\d{2}-\d{2}$/;

function fieldType(field: string, scope: RuleScope): { type: FeatureType; values?: readonly string[] } | undefined {
  return FEATURE_BY_FIELD.get(field) ?? scope.extraFields?.get(field);
}

/** Checks fields, operators and value types beyond the JSON shape; returns every problem with its path. */
export function checkRule(rule: Rule, scope: RuleScope = {}, path: (string | number)[] = []): RuleIssue[] {
  if ("all" in rule) return rule.all.flatMap((r, i) => checkRule(r, scope, [...path, "all", i]));
  if ("any" in rule) return rule.any.flatMap((r, i) => checkRule(r, scope, [...path, "any", i]));
  if ("not" in rule) return checkRule(rule.not, scope, [...path, "not"]);
  const spec = fieldType(rule.field, scope);
  if (!spec) return [{ path: [...path, "field"], message: `unknown field ${JSON.stringify(rule.field)}` }];
  const issues: RuleIssue[] = [];
  const checkValue = (value: ValueExpr, valuePath: (string | number)[], expected: FeatureType) => {
    issues.push(...checkValueExpr(value, expected, scope, valuePath, spec.values));
  };
  switch (rule.op) {
    case "isNull":
    case "notNull":
      break;
    case "in":
      rule.value.forEach((v, i) => checkValue(v, [...path, "value", i], spec.type));
      break;
    case "between":
      if (spec.type === "string")
        issues.push({ path: [...path, "op"], message: "between applies to number and date fields" });
      else rule.value.forEach((v, i) => checkValue(v, [...path, "value", i], spec.type));
      break;
    default:
      if (spec.type === "string" && rule.op !== "eq" && rule.op !== "neq") {
        issues.push({
          path: [...path, "op"],
          message: `${rule.op} applies to number and date fields; use eq, neq or in`,
        });
      } else checkValue(rule.value, [...path, "value"], spec.type);
  }
  return issues;
}

function checkValueExpr(
  value: ValueExpr,
  expected: FeatureType,
  scope: RuleScope,
  path: (string | number)[],
  allowed?: readonly string[],
): RuleIssue[] {
  if (typeof value === "number") {
    return expected === "number" ? [] : [{ path, message: `expected a ${expected} value, got a number` }];
  }
  if (typeof value === "string") {
    if (expected === "number") return [{ path, message: "expected a number, got a string" }];
    if (expected === "date" && !(DATE.test(value) && !Number.isNaN(Date.parse(`${value}T00:00:00Z`)))) {
      return [{ path, message: "expected a date YYYY-MM-DD" }];
    }
    if (allowed && !allowed.includes(value)) return [{ path, message: `expected one of ${allowed.join(", ")}` }];
    return [];
  }
  if ("field" in value) {
    const spec = fieldType(value.field, scope);
    if (!spec) return [{ path: [...path, "field"], message: `unknown field ${JSON.stringify(value.field)}` }];
    return spec.type === expected
      ? []
      : [{ path: [...path, "field"], message: `${value.field} is a ${spec.type}, expected a ${expected}` }];
  }
  const [op, args] = Object.entries(value)[0] as [string, readonly ValueExpr[]];
  if (expected !== "number")
    return [{ path: [...path, op], message: `${op} computes numbers, expected a ${expected}` }];
  return args.flatMap((arg, i) => checkValueExpr(arg, "number", scope, [...path, op, i]));
}

/** The fields a rule reads (for knowing which features it needs). */
export function fieldsOf(rule: Rule): Set<string> {
  const out = new Set<string>();
  const visitValue = (v: ValueExpr) => {
    if (typeof v === "object") {
      if ("field" in v) out.add(v.field);
      else for (const arg of Object.values(v)[0] as ValueExpr[]) visitValue(arg);
    }
  };
  const visit = (r: Rule) => {
    if ("all" in r) r.all.forEach(visit);
    else if ("any" in r) r.any.forEach(visit);
    else if ("not" in r) visit(r.not);
    else {
      out.add(r.field);
      if (r.op === "between") r.value.forEach(visitValue);
      else if (r.op !== "in" && "value" in r) visitValue(r.value);
    }
  };
  visit(rule);
  return out;
}

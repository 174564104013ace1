// The rule language shared by the stage model and segments: a JSON tree over customer features.
//   {"all":[…]} {"any":[…]} {"not":…}
//   {"field":"purchaseDays","op":"gte","value":4}
// Values are constants, references to other fields ({"field":"meanGapDays"}) or arithmetic over
// numbers ({"max":[60,{"mul":[3,{"field":"meanGapDays"}]}]}).
// Segment definitions add two forms, resolved before compiling (see segment-definition.ts):
//   {"segment":"<id>"}   membership of another saved segment
//   {"daysAgo":90}       a date value: the as-of day minus 90 days
// Semantics, identical in the TypeScript and SQL back ends: a comparison is false when the field or
// any value it needs is null (so `not` of it is true); only isNull/notNull look at nulls.
import { z } from "zod";
import { eventFeatureSpec, FEATURE_BY_FIELD, parseEventFeatureField, type FeatureType } from "./features.ts";

export const COMPARISON_OPS = ["eq", "neq", "lt", "lte", "gt", "gte"] as const;
export type ComparisonOp = (typeof COMPARISON_OPS)[number];

export type ValueExpr =
  | number
  | string
  | { readonly field: string }
  | { readonly max: readonly ValueExpr[] }
  | { readonly min: readonly ValueExpr[] }
  | { readonly add: readonly ValueExpr[] }
  | { readonly mul: readonly ValueExpr[] }
  | { readonly daysAgo: number };

export type Rule =
  | { readonly all: readonly Rule[] }
  | { readonly any: readonly Rule[] }
  | { readonly not: Rule }
  | { readonly segment: string }
  | { readonly field: string; readonly op: ComparisonOp; readonly value: ValueExpr }
  | { readonly field: string; readonly op: "in"; readonly value: readonly (number | string)[] }
  | { readonly field: string; readonly op: "between"; readonly value: readonly [ValueExpr, ValueExpr] }
  | { readonly field: string; readonly op: "isNull" | "notNull" };

const OPS = [...COMPARISON_OPS, "in", "between", "isNull", "notNull"] as const;

/** The furthest back a relative date may reach (100 years). */
export const MAX_DAYS_AGO = 36_500;
const ARITHMETIC = ["max", "min", "add", "mul"] as const;

type Path = (string | number)[];

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === "object" && v !== null && !Array.isArray(v);
}

function unexpectedKeys(v: Record<string, unknown>, allowed: readonly string[], path: Path): RuleIssue[] {
  return Object.keys(v)
    .filter((k) => !allowed.includes(k))
    .map((k) => ({ path: [...path, k], message: `unexpected key ${JSON.stringify(k)}` }));
}

/** Number.isInteger, which refuses anything but a number, told to TypeScript. */
function isWholeNumber(v: unknown): v is number {
  return Number.isInteger(v);
}

function parseValue(v: unknown, path: Path, issues: RuleIssue[]): void {
  if (typeof v === "number") {
    if (!Number.isFinite(v)) issues.push({ path, message: "must be a finite number" });
    return;
  }
  if (typeof v === "string") return;
  if (!isObject(v)) {
    issues.push({ path, message: "expected a number, a string, {field}, or {max|min|add|mul: [values]}" });
    return;
  }
  if ("field" in v) {
    if (typeof v.field !== "string") issues.push({ path: [...path, "field"], message: "must be a field name" });
    issues.push(...unexpectedKeys(v, ["field"], path));
    return;
  }
  if ("daysAgo" in v) {
    const days = v.daysAgo;
    if (!isWholeNumber(days) || days < 0 || days > MAX_DAYS_AGO)
      issues.push({ path: [...path, "daysAgo"], message: `must be a whole number of days from 0 to ${MAX_DAYS_AGO}` });
    issues.push(...unexpectedKeys(v, ["daysAgo"], path));
    return;
  }
  const keys = Object.keys(v);
  const op = keys[0] as (typeof ARITHMETIC)[number];
  if (keys.length !== 1 || !ARITHMETIC.includes(op)) {
    issues.push({ path, message: "expected {field} or one of {max|min|add|mul: [values]}" });
    return;
  }
  const args = v[op];
  if (!Array.isArray(args) || args.length === 0) {
    issues.push({ path: [...path, op], message: "must be a non-empty list of values" });
    return;
  }
  args.forEach((arg, i) => parseValue(arg, [...path, op, i], issues));
}

/**
 * Checks the JSON shape of a rule and reports every problem with the path to the offending node
 * (zod's union errors would only say "Invalid input" at the top).
 */
export function parseRuleShape(input: unknown, path: Path = [], issues: RuleIssue[] = []): RuleIssue[] {
  if (!isObject(input)) {
    issues.push({ path, message: 'expected a rule: {"all":[…]}, {"any":[…]}, {"not":…} or {"field","op","value"}' });
    return issues;
  }
  for (const group of ["all", "any"] as const) {
    if (group in input) {
      issues.push(...unexpectedKeys(input, [group], path));
      const parts = input[group];
      if (!Array.isArray(parts)) issues.push({ path: [...path, group], message: "must be a list of rules" });
      else parts.forEach((part, i) => parseRuleShape(part, [...path, group, i], issues));
      return issues;
    }
  }
  if ("not" in input) {
    issues.push(...unexpectedKeys(input, ["not"], path));
    parseRuleShape(input.not, [...path, "not"], issues);
    return issues;
  }
  if ("segment" in input) {
    issues.push(...unexpectedKeys(input, ["segment"], path));
    if (typeof input.segment !== "string" || input.segment.length === 0 || input.segment.length > 100)
      issues.push({ path: [...path, "segment"], message: "must be a saved segment's id" });
    return issues;
  }
  if (!("field" in input)) {
    issues.push({ path, message: 'expected all, any, not, or a comparison {"field","op","value"}' });
    return issues;
  }
  if (typeof input.field !== "string") issues.push({ path: [...path, "field"], message: "must be a field name" });
  const op = input.op as (typeof OPS)[number];
  if (!OPS.includes(op)) {
    issues.push({ path: [...path, "op"], message: `must be one of ${OPS.join(", ")}` });
    return issues;
  }
  if (op === "isNull" || op === "notNull") {
    issues.push(...unexpectedKeys(input, ["field", "op"], path));
    return issues;
  }
  issues.push(...unexpectedKeys(input, ["field", "op", "value"], path));
  if (!("value" in input)) {
    issues.push({ path: [...path, "value"], message: `is required with op ${op}` });
    return issues;
  }
  const value = input.value;
  if (op === "in") {
    if (!Array.isArray(value) || value.length === 0)
      issues.push({ path: [...path, "value"], message: "must be a non-empty list" });
    else
      value.forEach((v, i) => {
        if (typeof v !== "number" && typeof v !== "string")
          issues.push({ path: [...path, "value", i], message: "must be a number or a string" });
      });
  } else if (op === "between") {
    if (!Array.isArray(value) || value.length !== 2)
      issues.push({ path: [...path, "value"], message: "must be [low, high]" });
    else value.forEach((v, i) => parseValue(v, [...path, "value", i], issues));
  } else parseValue(value, [...path, "value"], issues);
  return issues;
}

/** A rule as a zod schema: the shape checked by parseRuleShape, each problem at its own path. */
export const ruleSchema: z.ZodType<Rule> = z.unknown().transform((input, ctx) => {
  for (const issue of parseRuleShape(input)) ctx.addIssue({ code: "custom", path: issue.path, message: issue.message });
  return input as Rule;
});

/** Fields a rule may read besides the features, with their types (segments add `stage`). */
export interface RuleScope {
  readonly extraFields?: ReadonlyMap<string, { type: FeatureType; values?: readonly string[] }>;
  /** The event types CLM_CONFIG names (events.types): their features (`events.<type>.count` …) may be read. */
  readonly eventTypes?: ReadonlySet<string>;
  /** Whether {"segment"} references and {"daysAgo"} dates are allowed (segment definitions). */
  readonly definitions?: boolean;
}

export interface RuleIssue {
  readonly path: (string | number)[];
  readonly message: string;
}

const DATE = /^\d{4}-\d{2}-\d{2}$/;

/** Whether a "YYYY-MM-DD" string names a real day: Date.parse takes 2025-02-30 as March 2nd. */
function isDay(value: string): boolean {
  const time = Date.parse(`${value}T00:00:00Z`);
  return DATE.test(value) && !Number.isNaN(time) && new Date(time).toISOString().startsWith(value);
}

function fieldType(field: string, scope: RuleScope): { type: FeatureType; values?: readonly string[] } | undefined {
  const event = parseEventFeatureField(field);
  if (event && scope.eventTypes?.has(event.key)) return eventFeatureSpec(field);
  return FEATURE_BY_FIELD.get(field) ?? scope.extraFields?.get(field);
}

function unknownField(field: string, path: (string | number)[]): RuleIssue[] {
  const event = parseEventFeatureField(field);
  const message = event
    ? `unknown field ${JSON.stringify(field)}: event type ${event.key} is not in CLM_CONFIG's events.types`
    : `unknown field ${JSON.stringify(field)}`;
  return [{ path: [...path, "field"], message }];
}

/** Checks fields, operators and value types beyond the JSON shape; returns every problem with its path. */
export function checkRule(rule: Rule, scope: RuleScope = {}, path: (string | number)[] = []): RuleIssue[] {
  if ("all" in rule) return rule.all.flatMap((r, i) => checkRule(r, scope, [...path, "all", i]));
  if ("any" in rule) return rule.any.flatMap((r, i) => checkRule(r, scope, [...path, "any", i]));
  if ("not" in rule) return checkRule(rule.not, scope, [...path, "not"]);
  if ("segment" in rule) {
    return scope.definitions
      ? []
      : [{ path: [...path, "segment"], message: "segment references are only allowed in segment definitions" }];
  }
  const spec = fieldType(rule.field, scope);
  if (!spec) return unknownField(rule.field, path);
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
    if (expected === "date" && !isDay(value)) {
      return [{ path, message: "expected a date YYYY-MM-DD" }];
    }
    if (allowed && !allowed.includes(value)) return [{ path, message: `expected one of ${allowed.join(", ")}` }];
    return [];
  }
  if ("daysAgo" in value) {
    if (!scope.definitions)
      return [{ path: [...path, "daysAgo"], message: "relative dates are only allowed in segment definitions" }];
    return expected === "date"
      ? []
      : [{ path: [...path, "daysAgo"], message: `daysAgo is a date, expected a ${expected}` }];
  }
  if ("field" in value) {
    const spec = fieldType(value.field, scope);
    if (!spec) return unknownField(value.field, path);
    return spec.type === expected
      ? []
      : [{ path: [...path, "field"], message: `${value.field} is a ${spec.type}, expected a ${expected}` }];
  }
  const [op, args] = Object.entries(value)[0] as [string, readonly ValueExpr[]];
  if (expected !== "number")
    return [{ path: [...path, op], message: `${op} computes numbers, expected a ${expected}` }];
  return args.flatMap((arg, i) => checkValueExpr(arg, "number", scope, [...path, op, i]));
}

/**
 * Every problem of a rule that may be malformed: its shape problems, and the field and type problems
 * of each part whose shape is sound (a broken leaf still has an unknown field name reported), so one
 * bad operator does not hide a misspelt field elsewhere in the rule.
 */
export function ruleIssues(input: unknown, scope: RuleScope = {}): RuleIssue[] {
  const shape = parseRuleShape(input);
  return shape.length === 0 ? checkRule(input as Rule, scope) : [...shape, ...soundPartIssues(input, scope, [])];
}

function soundPartIssues(input: unknown, scope: RuleScope, path: (string | number)[]): RuleIssue[] {
  if (parseRuleShape(input, path).length === 0) return checkRule(input as Rule, scope, path);
  if (!isObject(input)) return [];
  for (const key of ["all", "any"] as const) {
    const parts = input[key];
    if (Array.isArray(parts)) return parts.flatMap((r, i) => soundPartIssues(r, scope, [...path, key, i]));
  }
  if ("not" in input) return soundPartIssues(input.not, scope, [...path, "not"]);
  // A broken leaf: its shape problems are reported; of the rest only its field name can be checked.
  const { field } = input;
  return typeof field === "string" && !fieldType(field, scope) ? unknownField(field, path) : [];
}

/** The fields a rule reads (for knowing which features it needs). */
export function fieldsOf(rule: Rule): Set<string> {
  const out = new Set<string>();
  const visitValue = (v: ValueExpr) => {
    if (typeof v === "object") {
      if ("field" in v) out.add(v.field);
      else if (!("daysAgo" in v)) for (const arg of Object.values(v)[0] as ValueExpr[]) visitValue(arg);
    }
  };
  const visit = (r: Rule) => {
    if ("all" in r) r.all.forEach(visit);
    else if ("any" in r) r.any.forEach(visit);
    else if ("not" in r) visit(r.not);
    else if ("segment" in r) return;
    else {
      out.add(r.field);
      if (r.op === "between") r.value.forEach(visitValue);
      else if (r.op !== "in" && "value" in r) visitValue(r.value);
    }
  };
  visit(rule);
  return out;
}

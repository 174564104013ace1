// The TypeScript back end of the rule language: a predicate over one customer's features.
// Its semantics are the SQL back end's (rule-sql.ts); the property test holds them to it.
import type { Rule, ValueExpr } from "./rules.ts";

export type FeatureRow = Readonly<Record<string, unknown>>;
export type Predicate = (row: FeatureRow) => boolean;
type Evaluator = (row: FeatureRow) => number | string | null;

function asValue(v: unknown): number | string | null {
  return typeof v === "number" || typeof v === "string" ? v : null;
}

function compileValue(value: ValueExpr): Evaluator {
  if (typeof value === "number" || typeof value === "string") return () => value;
  if ("field" in value) {
    const field = value.field;
    return (row) => asValue(row[field]);
  }
  if ("daysAgo" in value) throw new Error("resolve relative dates (resolveDefinition) before compiling");
  const [op, args] = Object.entries(value)[0] as ["max" | "min" | "add" | "mul", readonly ValueExpr[]];
  const parts = args.map(compileValue);
  const combine = {
    max: Math.max,
    min: Math.min,
    add: (a: number, b: number) => a + b,
    mul: (a: number, b: number) => a * b,
  }[op];
  return (row) => {
    let acc: number | null = null;
    for (const part of parts) {
      const v = part(row);
      if (typeof v !== "number") return null;
      acc = acc === null ? v : combine(acc, v);
    }
    return acc;
  };
}

const COMPARE = {
  eq: (a: number | string, b: number | string) => a === b,
  neq: (a: number | string, b: number | string) => a !== b,
  lt: (a: number | string, b: number | string) => a < b,
  lte: (a: number | string, b: number | string) => a <= b,
  gt: (a: number | string, b: number | string) => a > b,
  gte: (a: number | string, b: number | string) => a >= b,
} as const;

export function compilePredicate(rule: Rule): Predicate {
  if ("all" in rule) {
    const parts = rule.all.map(compilePredicate);
    return (row) => parts.every((p) => p(row));
  }
  if ("any" in rule) {
    const parts = rule.any.map(compilePredicate);
    return (row) => parts.some((p) => p(row));
  }
  if ("not" in rule) {
    const inner = compilePredicate(rule.not);
    return (row) => !inner(row);
  }
  if ("segment" in rule) throw new Error("resolve segment references (resolveDefinition) before compiling");
  const field = rule.field;
  switch (rule.op) {
    case "isNull":
      return (row) => asValue(row[field]) === null;
    case "notNull":
      return (row) => asValue(row[field]) !== null;
    case "in": {
      const values = new Set<number | string>(rule.value);
      return (row) => {
        const v = asValue(row[field]);
        return v !== null && values.has(v);
      };
    }
    case "between": {
      const low = compileValue(rule.value[0]);
      const high = compileValue(rule.value[1]);
      return (row) => {
        const v = asValue(row[field]);
        const lo = low(row);
        const hi = high(row);
        return v !== null && lo !== null && hi !== null && v >= lo && v <= hi;
      };
    }
    default: {
      const compare = COMPARE[rule.op];
      const right = compileValue(rule.value);
      return (row) => {
        const v = asValue(row[field]);
        const r = right(row);
        return v !== null && r !== null && compare(v, r);
      };
    }
  }
}

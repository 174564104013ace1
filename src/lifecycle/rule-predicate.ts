// The TypeScript back end of the rule language: rules compiled to JavaScript source, one function of
// straight-line conditions, each field read once. Its semantics are the SQL back end's (rule-sql.ts);
// the property tests (test/sql/rule-agreement.spec.ts, test/graphql/segment-agreement.spec.ts) hold them to it.
//
// Why source and not a tree of closures: the classifier runs for every customer a lookup or an
// in-process segment touches, and a closure per node costs a call per node; V8 inlines the generated
// function whole (bench/README.md, "Compiled classifier").
//
// Nothing from a rule becomes code: string constants go into the function through a constants array
// it indexes (`c[i]`); field names appear only as identifiers checked against a strict pattern or as
// JSON-quoted string literals (see propertyAccess), so a field named `"]; process.exit(` is just a key;
// numbers only as finite literals, which V8 folds into the comparisons.
import type { Rule, ValueExpr } from "./rules.ts";

export type FeatureRow = Readonly<Record<string, unknown>>;
export type Predicate = (row: FeatureRow) => boolean;

/** A value as the rule language sees it: a number or a string, anything else null. */
function asValue(v: unknown): number | string | null {
  return typeof v === "number" || typeof v === "string" ? v : null;
}

const IDENTIFIER = /^[A-Za-z_$][A-Za-z0-9_$]*$/;

/**
 * `.name` for identifier-like names, else `["…"]` with JSON's quoting (always a valid JS string
 * literal): either way a constant key, which V8 loads like a known property. A key read through a
 * variable (`r[c[0]]`) is a generic keyed load, half the classifier's speed.
 */
function propertyAccess(name: string): string {
  return IDENTIFIER.test(name) ? `.${name}` : `[${JSON.stringify(name)}]`;
}

const COMPARE = { eq: "===", neq: "!==", lt: "<", lte: "<=", gt: ">", gte: ">=" } as const;

/** `in` lists longer than this test a Set instead of a chain of ===. */
const SET_FROM = 8;

/** Writes the source of one function over a row `r`; collects the constants and fields it reads. */
class Emitter {
  private temps = 0;
  readonly declarations: string[] = [];
  // Stryker disable next-line ArrayDeclaration: constant() indexes by the length after its push, so nothing already here is ever read
  readonly constants: unknown[] = [];
  /** Field name → the local variable holding its value (read once, at the top). */
  private readonly fields = new Map<string, string>();

  private constant(value: unknown): string {
    this.constants.push(value);
    return `c[${this.constants.length - 1}]`;
  }

  /** A finite number as a literal (V8 folds it into the comparison); others through the array. */
  private number(n: number): string {
    return Number.isFinite(n) ? `(${String(n)})` : this.constant(n);
  }

  private temp(): string {
    const name = `t${this.temps++}`;
    this.declarations.push(name);
    return name;
  }

  field(name: string): string {
    let local = this.fields.get(name);
    if (!local) {
      local = `f${this.fields.size}`;
      this.fields.set(name, local);
    }
    return local;
  }

  /** `const fN = V(r[c[k]]);` for every field read, in first-read order. */
  fieldLoads(): string[] {
    return [...this.fields].map(([name, local]) => `const ${local} = V(r${propertyAccess(name)});`);
  }

  /** An expression that is the value or null. */
  value(v: ValueExpr): string {
    if (typeof v === "number") return this.number(v);
    if (typeof v === "string") return this.constant(v);
    if ("field" in v) return this.field(v.field);
    if ("daysAgo" in v) throw new Error("resolve relative dates (resolveDefinition) before compiling");
    const [op, args] = Object.entries(v)[0] as ["max" | "min" | "add" | "mul", readonly ValueExpr[]];
    // Null unless every part is a number; then the parts combined left to right.
    const temps = args.map(() => this.temp());
    const checks = args.map((a, i) => `typeof (${temps[i]} = ${this.value(a)}) === "number"`).join(" && ");
    const combined =
      op === "max" || op === "min" ? `Math.${op}(${temps.join(", ")})` : temps.join(op === "add" ? " + " : " * ");
    return `(${checks} ? ${combined} : null)`;
  }

  predicate(rule: Rule): string {
    if ("all" in rule)
      return rule.all.length === 0 ? "true" : `(${rule.all.map((r) => this.predicate(r)).join(" && ")})`;
    if ("any" in rule)
      return rule.any.length === 0 ? "false" : `(${rule.any.map((r) => this.predicate(r)).join(" || ")})`;
    if ("not" in rule) return `!${this.predicate(rule.not)}`;
    if ("segment" in rule) throw new Error("resolve segment references (resolveDefinition) before compiling");
    const field = this.field(rule.field);
    switch (rule.op) {
      case "isNull":
        return `(${field} === null)`;
      case "notNull":
        return `(${field} !== null)`;
      case "in": {
        // Stryker disable next-line ConditionalExpression,EqualityOperator: a Set and a chain of === differ only for NaN, which no JSON rule holds; only speed changes
        if (rule.value.length > SET_FROM)
          return `(${field} !== null && ${this.constant(new Set(rule.value))}.has(${field}))`;
        return `(${field} !== null && (${rule.value.map((v) => `${field} === ${this.value(v)}`).join(" || ")}))`;
      }
      case "between": {
        const [lo, hi] = [this.temp(), this.temp()];
        return `(${field} !== null && (${lo} = ${this.value(rule.value[0])}) !== null && (${hi} = ${this.value(rule.value[1])}) !== null && ${field} >= ${lo} && ${field} <= ${hi})`;
      }
      default: {
        const right = this.temp();
        return `(${field} !== null && (${right} = ${this.value(rule.value)}) !== null && ${field} ${COMPARE[rule.op]} ${right})`;
      }
    }
  }

  /** A function of the row running `statements` after the field loads. */
  build<F>(statements: readonly string[]): F {
    const loads = this.fieldLoads();
    const lines = [
      "return function compiledRule(r) {",
      ...loads.map((l) => `  ${l}`),
      ...(this.declarations.length > 0 ? [`  let ${this.declarations.join(", ")};`] : []),
      ...statements.map((s) => `  ${s}`),
      "};",
    ];
    // Stryker disable next-line StringLiteral: every line ends in ";" or "{", so the newlines only make the source readable
    const body = lines.join("\n");
    // eslint-disable-next-line @typescript-eslint/no-implied-eval -- the source holds no rule text, see above
    return new Function("V", "c", body)(asValue, this.constants) as F;
  }
}

export function compilePredicate(rule: Rule): Predicate {
  const e = new Emitter();
  const condition = e.predicate(rule);
  return e.build<Predicate>([`return ${condition};`]);
}

/**
 * Rules tried in order, as one function: the `result` of the first that matches, else `fallback`.
 * The stage model's classifier (CompiledStageModel).
 */
export function compileFirstMatch(
  entries: readonly { readonly rule: Rule; readonly result: number }[],
  fallback: number,
): (row: FeatureRow) => number {
  const e = new Emitter();
  const checks = entries.map(({ rule, result }) => `if (${e.predicate(rule)}) return ${Math.trunc(result)};`);
  return e.build([...checks, `return ${Math.trunc(fallback)};`]);
}

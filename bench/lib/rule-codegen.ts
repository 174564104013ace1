// A PROTOTYPE, for the classifier benchmark only (not the engine's code): the stage model's rules
// compiled to JavaScript source (one function of straight-line `if`s, each field read once by its literal name) with
// `new Function`, instead of the closure tree src/lifecycle/rule-predicate.ts builds. Same semantics:
// a value that is not a number or a string is null, and a comparison with a null is false. It exists
// to measure what compiling to source would buy; bench/classifier.ts checks it agrees row by row.
import type { Rule, ValueExpr } from "../../src/lifecycle/rules.ts";
import type { StageModel } from "../../src/lifecycle/stage-model.ts";

const IDENT = /^[A-Za-z_][A-Za-z0-9_]*$/;

class Emitter {
  private temps = 0;
  readonly declarations: string[] = [];
  /** Fields read, each loaded once at the top of the function (a null when not a number or string). */
  readonly fields = new Set<string>();

  temp(): string {
    const name = `t${this.temps++}`;
    this.declarations.push(name);
    return name;
  }

  field(name: string): string {
    if (!IDENT.test(name)) throw new Error(`not a plain field name: ${name}`);
    this.fields.add(name);
    return `f_${name}`;
  }

  /** An expression that is the value or null. */
  value(v: ValueExpr): string {
    if (typeof v === "number") return Number.isFinite(v) ? String(v) : "null";
    if (typeof v === "string") return JSON.stringify(v);
    if ("field" in v) return this.field(v.field);
    if ("daysAgo" in v) throw new Error("resolve relative dates first");
    const [op, args] = Object.entries(v)[0] as ["max" | "min" | "add" | "mul", readonly ValueExpr[]];
    const parts = args.map((a) => this.value(a));
    // Null if any part is null or not a number; else the combination.
    const temps = parts.map(() => this.temp());
    const checks = parts.map((p, i) => `typeof (${temps[i]} = ${p}) === "number"`).join(" && ");
    const combine =
      op === "max"
        ? `Math.max(${temps.join(", ")})`
        : op === "min"
          ? `Math.min(${temps.join(", ")})`
          : temps.join(op === "add" ? " + " : " * ");
    return `(${checks} ? ${combine} : null)`;
  }

  predicate(rule: Rule): string {
    if ("all" in rule)
      return rule.all.length === 0 ? "true" : `(${rule.all.map((r) => this.predicate(r)).join(" && ")})`;
    if ("any" in rule)
      return rule.any.length === 0 ? "false" : `(${rule.any.map((r) => this.predicate(r)).join(" || ")})`;
    if ("not" in rule) return `!${this.predicate(rule.not)}`;
    if ("segment" in rule) throw new Error("resolve segment references first");
    const a = this.temp();
    const left = `(${a} = ${this.field(rule.field)}) !== null`;
    switch (rule.op) {
      case "isNull":
        return `(${this.field(rule.field)} === null)`;
      case "notNull":
        return `(${this.field(rule.field)} !== null)`;
      case "in":
        return `(${left} && (${rule.value.map((v) => `${a} === ${JSON.stringify(v)}`).join(" || ")}))`;
      case "between": {
        const lo = this.temp();
        const hi = this.temp();
        return `(${left} && (${lo} = ${this.value(rule.value[0])}) !== null && (${hi} = ${this.value(rule.value[1])}) !== null && ${a} >= ${lo} && ${a} <= ${hi})`;
      }
      default: {
        const b = this.temp();
        const op = { eq: "===", neq: "!==", lt: "<", lte: "<=", gt: ">", gte: ">=" }[rule.op];
        return `(${left} && (${b} = ${this.value(rule.value)}) !== null && ${a} ${op} ${b})`;
      }
    }
  }
}

/** The model as one function row → display index (stages sorted by order, as CompiledStageModel). */
export function compileModelToSource(model: StageModel): { classify: (row: object) => number; source: string } {
  const stages = [...model.stages].sort((a, b) => a.order - b.order);
  const index = new Map(stages.map((s, i) => [s.key, i]));
  const e = new Emitter();
  const lines = model.evaluationOrder.map((key) => {
    const stage = stages[index.get(key)!]!;
    return `  if (${e.predicate(stage.rule)}) return ${index.get(key)};`;
  });
  const body = [
    "return function classify(r) {",
    ...[...e.fields].map((f) => `  const f_${f} = V(r.${f});`),
    e.declarations.length ? `  let ${e.declarations.join(", ")};` : "",
    ...lines,
    `  return ${index.get(model.fallback)};`,
    "};",
  ].join("\n");
  const V = (x: unknown) => (typeof x === "number" || typeof x === "string" ? x : null);
  // eslint-disable-next-line @typescript-eslint/no-implied-eval
  const classify = new Function("V", body)(V) as (row: object) => number;
  return { classify, source: body };
}

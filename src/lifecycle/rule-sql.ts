// The SQL back end of the rule language: a boolean expression over feature columns, every constant a
// bound parameter. Each comparison is guarded so it is never NULL (false instead), which keeps NOT
// and the TypeScript back end in agreement.
import { cast, comparisonOperator, join, keyword, sql, type Sql, type SqlTypeName } from "../sql/sql.ts";
import { featureSpec, type FeatureType } from "./features.ts";
import type { Rule, RuleScope, ValueExpr } from "./rules.ts";

export interface RuleSqlContext {
  /** The SQL expression holding a field's value (usually a column of the features relation). */
  column(field: string): Sql;
  readonly scope?: RuleScope;
}

interface CompiledValue {
  readonly expr: Sql;
  /** Field expressions that must be non-null for the value to exist. */
  readonly needs: readonly Sql[];
}

const OPERATOR = { eq: "=", neq: "<>", lt: "<", lte: "<=", gt: ">", gte: ">=" } as const;

function typeOf(field: string, ctx: RuleSqlContext): FeatureType {
  const type = featureSpec(field)?.type ?? ctx.scope?.extraFields?.get(field)?.type;
  if (!type) throw new Error(`unknown field ${field}`);
  return type;
}

/** The SQL type holding a feature of this type. */
export function sqlTypeOf(type: FeatureType): SqlTypeName {
  return type === "number" ? "float" : type === "date" ? "date" : "text";
}

function constant(value: number | string, type: FeatureType): Sql {
  return cast(value, sqlTypeOf(type));
}

function compileValue(value: ValueExpr, type: FeatureType, ctx: RuleSqlContext): CompiledValue {
  if (typeof value === "number" || typeof value === "string") return { expr: constant(value, type), needs: [] };
  if ("daysAgo" in value) throw new Error("resolve relative dates (resolveDefinition) before compiling");
  if ("field" in value) {
    const column = ctx.column(value.field);
    return { expr: column, needs: [column] };
  }
  const [op, args] = Object.entries(value)[0] as ["max" | "min" | "add" | "mul", readonly ValueExpr[]];
  const parts = args.map((arg) => compileValue(arg, "number", ctx));
  const exprs = parts.map((p) => p.expr);
  const expr =
    op === "max"
      ? sql`GREATEST(${join(exprs)})`
      : op === "min"
        ? sql`LEAST(${join(exprs)})`
        : sql`(${join(exprs, op === "add" ? " + " : " * ")})`;
  return { expr, needs: parts.flatMap((p) => p.needs) };
}

function guarded(needs: readonly Sql[], condition: Sql): Sql {
  const checks = needs.map((n) => sql`${n} IS NOT NULL`);
  return sql`(${join([...checks, condition], " AND ")})`;
}

export function compileRuleSql(rule: Rule, ctx: RuleSqlContext): Sql {
  if ("all" in rule) {
    return rule.all.length === 0
      ? keyword("TRUE")
      : sql`(${join(
          rule.all.map((r) => compileRuleSql(r, ctx)),
          " AND ",
        )})`;
  }
  if ("any" in rule) {
    return rule.any.length === 0
      ? keyword("FALSE")
      : sql`(${join(
          rule.any.map((r) => compileRuleSql(r, ctx)),
          " OR ",
        )})`;
  }
  if ("not" in rule) return sql`(NOT ${compileRuleSql(rule.not, ctx)})`;
  if ("segment" in rule) throw new Error("resolve segment references (resolveDefinition) before compiling");
  const column = ctx.column(rule.field);
  const type = typeOf(rule.field, ctx);
  switch (rule.op) {
    case "isNull":
      return sql`(${column} IS NULL)`;
    case "notNull":
      return sql`(${column} IS NOT NULL)`;
    case "in":
      return guarded([column], sql`${column} IN (${join(rule.value.map((v) => constant(v, type)))})`);
    case "between": {
      const low = compileValue(rule.value[0], type, ctx);
      const high = compileValue(rule.value[1], type, ctx);
      return guarded(
        [column, ...low.needs, ...high.needs],
        sql`${column} >= ${low.expr} AND ${column} <= ${high.expr}`,
      );
    }
    default: {
      const right = compileValue(rule.value, type, ctx);
      return guarded([column, ...right.needs], sql`${column} ${comparisonOperator(OPERATOR[rule.op])} ${right.expr}`);
    }
  }
}

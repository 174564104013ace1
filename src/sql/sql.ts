// A dialect-neutral SQL fragment. Values are always bound parameters; identifiers are validated
// against a strict pattern and quoted by the dialect. Nothing else can put text into a query.

export type SqlScalar = string | number | boolean | bigint | Date | null;
export type SqlValue = SqlScalar | readonly string[] | readonly number[];

/** Types a parameter may need to declare (BigQuery needs them for NULL and empty arrays). */
export type SqlParamType = "STRING" | "INT64" | "FLOAT64" | "BOOL" | "DATE" | "TIMESTAMP" | "NUMERIC";

/** Portable type names, rendered per dialect (DOUBLE / DOUBLE PRECISION / FLOAT64 …). */
export type SqlTypeName = "float" | "text" | "date" | "int" | "instant";

type SqlPart =
  | { readonly kind: "text"; readonly text: string }
  | { readonly kind: "type"; readonly type: SqlTypeName }
  | { readonly kind: "param"; readonly value: SqlValue; readonly type?: SqlParamType; readonly array?: boolean }
  | { readonly kind: "ident"; readonly path: readonly string[] };

export class Sql {
  constructor(readonly parts: readonly SqlPart[]) {}
}

/** A parameter with an explicit type, for values whose type cannot be inferred (null, empty list). */
export class TypedParam {
  constructor(
    readonly value: SqlValue,
    readonly type: SqlParamType,
    readonly array = false,
  ) {}
}

const IDENTIFIER = /^[A-Za-z_][A-Za-z0-9_]{0,127}$/;

export function isIdentifier(name: string): boolean {
  return IDENTIFIER.test(name);
}

export class InvalidIdentifierError extends Error {
  constructor(name: string) {
    super(`invalid SQL identifier ${JSON.stringify(name)}: letters, digits and _ only, not starting with a digit`);
  }
}

/** A (possibly qualified) identifier: `ident("schema", "table")`. Empty parts are dropped. */
export function ident(...path: (string | undefined)[]): Sql {
  const parts = path.filter((p): p is string => p !== undefined && p !== "");
  for (const part of parts) if (!isIdentifier(part)) throw new InvalidIdentifierError(part);
  return new Sql([{ kind: "ident", path: parts }]);
}

/** Tagged template: interpolated Sql fragments are spliced in, anything else becomes a parameter. */
export function sql(strings: TemplateStringsArray, ...values: (SqlValue | Sql | TypedParam)[]): Sql {
  const parts: SqlPart[] = [];
  strings.forEach((text, i) => {
    if (text) parts.push({ kind: "text", text });
    if (i < values.length) parts.push(...toParts(values[i]!));
  });
  return new Sql(parts);
}

function toParts(value: SqlValue | Sql | TypedParam): readonly SqlPart[] {
  if (value instanceof Sql) return value.parts;
  if (value instanceof TypedParam) return [{ kind: "param", value: value.value, type: value.type, array: value.array }];
  return [{ kind: "param", value }];
}

export function join(fragments: readonly Sql[], separator = ", "): Sql {
  const parts: SqlPart[] = [];
  fragments.forEach((fragment, i) => {
    if (i > 0) parts.push({ kind: "text", text: separator });
    parts.push(...fragment.parts);
  });
  return new Sql(parts);
}

/** How a dialect writes the parts of a fragment; the whole dialect is `Dialect` in ./dialect.ts. */
export interface SqlNotation {
  quoteIdent(name: string): string;
  typeName(type: SqlTypeName): string;
  /** The placeholder text for the parameter at `index` (0-based). */
  placeholder(index: number): string;
}

export interface BoundParam {
  readonly name: string;
  readonly value: SqlValue;
  readonly type?: SqlParamType;
  readonly array?: boolean;
}

export interface RenderedSql {
  readonly text: string;
  readonly params: readonly BoundParam[];
}

/** Renders a fragment for one dialect. The text depends only on the query's shape, never on values. */
export function render(query: Sql, dialect: SqlNotation): RenderedSql {
  let text = "";
  const params: BoundParam[] = [];
  for (const part of query.parts) {
    if (part.kind === "text") text += part.text;
    else if (part.kind === "ident") text += part.path.map((p) => dialect.quoteIdent(p)).join(".");
    else if (part.kind === "type") text += dialect.typeName(part.type);
    else {
      text += dialect.placeholder(params.length);
      params.push({ name: `p${params.length + 1}`, value: part.value, type: part.type, array: part.array });
    }
  }
  return { text, params };
}

export const doubleQuoted = (name: string): string => `"${name}"`;

const KEYWORD = /^[A-Z][A-Z0-9_(), [\]]*$/;

/**
 * A fixed piece of SQL syntax chosen by code (a type name, NOT NULL, a function name), never by input.
 * The pattern admits upper-case words only, so no quote, operator or comment can pass.
 */
export function keyword(text: string): Sql {
  if (!KEYWORD.test(text)) throw new Error(`not an SQL keyword: ${JSON.stringify(text)}`);
  return new Sql([{ kind: "text", text }]);
}

/** `CAST(expr AS <type>)` with the dialect's name for the type. */
export function cast(expr: Sql | SqlValue | TypedParam, type: SqlTypeName): Sql {
  return sql`CAST(${expr} AS ${typeName(type)})`;
}

/** A whole number chosen by code (a stage's index, a row number), written into the text. */
export function integer(n: number): Sql {
  if (!Number.isSafeInteger(n)) throw new Error(`not a safe integer: ${n}`);
  return new Sql([{ kind: "text", text: String(n) }]);
}

const COMPARISON_OPERATORS = new Set(["=", "<>", "<", "<=", ">", ">="]);

/** A comparison operator, from a fixed set. */
export function comparisonOperator(op: "=" | "<>" | "<" | "<=" | ">" | ">="): Sql {
  if (!COMPARISON_OPERATORS.has(op)) throw new Error(`not a comparison operator: ${JSON.stringify(op)}`);
  return new Sql([{ kind: "text", text: op }]);
}

/** A portable type name, rendered per dialect. */
export function typeName(type: SqlTypeName): Sql {
  return new Sql([{ kind: "type", type }]);
}

/**
 * Standard SQL's literal rows, `SELECT * FROM (VALUES (…), (…)) AS v(columns)`: the `literalRows` of the
 * dialects that have VALUES lists (DuckDB, PostgreSQL).
 */
export function valuesRows(columns: readonly string[], rows: readonly (readonly Sql[])[]): Sql {
  const list = join(rows.map((row) => sql`(${join(row)})`));
  return sql`SELECT * FROM (VALUES ${list}) AS v(${join(columns.map((c) => ident(c)))})`;
}

// Input hygiene in one place: text no store can hold (input-text.ts: NUL, unpaired surrogates) is refused
// with BAD_USER_INPUT before any resolver runs, whatever the argument's type.
//
// Why a plugin over the operation rather than wrapped scalars: the refused text can sit in any input —
// ID, String, Date, strings deep inside a JSON argument (segment definitions), nested input objects,
// lists, variables' default values, directive arguments — and graphql-js's built-in String and ID cannot
// be replaced in a schema. Every such value is either a string literal of the document or a string
// inside the variables, so checking those two covers every argument by construction, including ones
// added later, with one error shape (the argument's path in `extensions.argument`). The hot path stays
// cheap (micro-benchmark in test/server/abuse/input-hygiene.spec.ts): a document whose text has neither a raw
// NUL nor a \u escape cannot hold a refused literal, so nearly every document costs one scan of its text;
// others are walked once per parsed document; variables are walked on each execution (a loop over their
// strings). The GraphQL parser itself refuses unpaired surrogates in the query text; that syntax error
// is answered with the same code. Routes outside GraphQL (the CSV export, the dashboard) get a 400 with
// coded JSON for such text in their path or query string. Headers never reach here with NUL: Node's HTTP
// parser answers such a request with a bare 400 itself, the Fetch API refuses to build one, and header
// values are read as Latin-1 (no surrogates).
import {
  GraphQLError,
  BREAK,
  Kind,
  visit,
  type ASTNode,
  type DocumentNode,
  type SelectionSetNode,
  type StringValueNode,
  type ValueNode,
} from "graphql";
import type { Plugin } from "graphql-yoga";
import { InvalidInputError } from "../errors.ts";
import { graphQLErrorOf } from "../schema/errors.ts";
import { refusedTextReason } from "../sql/input-text.ts";
import { codedResponse } from "./edge-errors.ts";

function refusal(where: string, reason: string, node?: ASTNode): GraphQLError {
  const refused = new InvalidInputError(`${where} ${reason}; such text is refused in every input`, { argument: where });
  return graphQLErrorOf(refused, { nodes: node ? [node] : undefined });
}

// ---- Literals ------------------------------------------------------------------------------------

// Plain indexed loops over local constants: this walk runs for every new document that has a \u escape
// (a lookup document is new every time), and imported bindings may be property reads (vitest's modules).
const STRING = Kind.STRING;
const LIST = Kind.LIST;
const OBJECT = Kind.OBJECT;
const FRAGMENT_SPREAD = Kind.FRAGMENT_SPREAD;
const textReason = refusedTextReason;

function refusedInValue(value: ValueNode): StringValueNode | undefined {
  if (value.kind === STRING) return textReason(value.value) === undefined ? undefined : value;
  if (value.kind === LIST) {
    for (let i = 0; i < value.values.length; i++) {
      const found = refusedInValue(value.values[i]!);
      if (found) return found;
    }
  } else if (value.kind === OBJECT) {
    for (let i = 0; i < value.fields.length; i++) {
      const found = refusedInValue(value.fields[i]!.value);
      if (found) return found;
    }
  }
  return undefined;
}

type WithArguments = { readonly arguments?: readonly { readonly value: ValueNode }[] };
type WithDirectives = { readonly directives?: readonly WithArguments[] };

function refusedInArguments(node: WithArguments & WithDirectives): StringValueNode | undefined {
  const args = node.arguments;
  if (args) {
    for (let i = 0; i < args.length; i++) {
      const found = refusedInValue(args[i]!.value);
      if (found) return found;
    }
  }
  const directives = node.directives;
  if (directives) {
    for (let i = 0; i < directives.length; i++) {
      const found = refusedInArguments(directives[i]!);
      if (found) return found;
    }
  }
  return undefined;
}

function refusedInSelections(set: SelectionSetNode | undefined): StringValueNode | undefined {
  if (!set) return undefined;
  for (let i = 0; i < set.selections.length; i++) {
    const selection = set.selections[i]!;
    const found =
      refusedInArguments(selection) ??
      (selection.kind === FRAGMENT_SPREAD ? undefined : refusedInSelections(selection.selectionSet));
    if (found) return found;
  }
  return undefined;
}

/**
 * The first refused string literal of a document (arguments, directives, variables' defaults). A
 * literal's value holds NUL or a surrogate only through a raw one in the text or a \u escape (the
 * parser refuses raw unpaired surrogates): a text with neither, nearly every text, is not walked.
 */
function refusedLiteral(document: DocumentNode): StringValueNode | undefined {
  const text = document.loc?.source.body;
  if (text !== undefined && !text.includes("\\u") && !text.includes("\0")) return undefined;
  for (const definition of document.definitions) {
    if (definition.kind === Kind.OPERATION_DEFINITION) {
      for (const variable of definition.variableDefinitions ?? []) {
        const found = variable.defaultValue && refusedInValue(variable.defaultValue);
        if (found) return found;
      }
    } else if (definition.kind !== Kind.FRAGMENT_DEFINITION) continue;
    const found = refusedInArguments(definition) ?? refusedInSelections(definition.selectionSet);
    if (found) return found;
  }
  return undefined;
}

/**
 * Where a literal sits, as a client reads it: the field's response path, then the argument with the
 * input fields and list positions inside it — `a12(id)`, `segments(filter.nameContains)`,
 * `createSegment(input.definition.all[1].value)`, `$day(default)`. Worked out only for a refusal.
 */
function literalPath(document: DocumentNode, target: StringValueNode): string {
  let where = "a string literal";
  visit(document, {
    StringValue(node, _key, parent, path, ancestors) {
      if (node !== target) return undefined;
      const fields: string[] = [];
      let argument = "";
      // Root to the literal's parent; path[i] is the key in chain[i] that leads on.
      const chain = parent === undefined ? ancestors : [...ancestors, parent];
      chain.forEach((step, i) => {
        if (Array.isArray(step)) return;
        const ast = step as ASTNode;
        if (ast.kind === Kind.FRAGMENT_DEFINITION) fields.push(`...${ast.name.value}`);
        else if (ast.kind === Kind.FIELD) fields.push((ast.alias ?? ast.name).value);
        else if (ast.kind === Kind.DIRECTIVE) fields.push(`@${ast.name.value}`);
        else if (ast.kind === Kind.VARIABLE_DEFINITION) {
          fields.push(`$${ast.variable.name.value}`);
          argument = "default";
        } else if (ast.kind === Kind.ARGUMENT) argument = ast.name.value;
        else if (ast.kind === Kind.OBJECT_FIELD) argument += `.${ast.name.value}`;
        // A list's items are reached through its `values` array: the next key is the position.
        else if (ast.kind === Kind.LIST) argument += `[${String(path[i + 1])}]`;
      });
      const at = fields.join(".");
      where = argument ? `${at}(${argument})` : at;
      return BREAK;
    },
  });
  return where;
}

/** A document's refusal, worked out once per parsed document. */
const literalRefusals = new WeakMap<DocumentNode, GraphQLError | null>();

export function literalRefusal(document: DocumentNode): GraphQLError | null {
  let refused = literalRefusals.get(document);
  if (refused === undefined) {
    const literal = refusedLiteral(document);
    refused = literal ? refusal(literalPath(document, literal), refusedTextReason(literal.value)!, literal) : null;
    literalRefusals.set(document, refused);
  }
  return refused;
}

// ---- Variables -----------------------------------------------------------------------------------

interface PathLink {
  readonly up: PathLink | undefined;
  readonly key: string | number;
}

function pathText(link: PathLink | undefined, last: string | number): string {
  const keys: (string | number)[] = [last];
  for (let at = link; at; at = at.up) keys.push(at.key);
  keys.reverse();
  return keys.map((k, i) => (typeof k === "number" ? `[${k}]` : i === 0 ? `$${k}` : `.${k}`)).join("");
}

/**
 * The first refused string in the variables (values and object keys, at any depth), as an error naming
 * its path, e.g. `$input.definition.all[0].value`. A loop with its own stack: variables are JSON of up to
 * the body limit, nested as deep as a client likes.
 */
export function variablesRefusal(variables: Readonly<Record<string, unknown>> | null | undefined): GraphQLError | null {
  if (!variables) return null;
  const stack: { value: unknown; at: PathLink | undefined }[] = [{ value: variables, at: undefined }];
  while (stack.length > 0) {
    const { value, at } = stack.pop()!;
    if (Array.isArray(value)) {
      for (let i = 0; i < value.length; i++) {
        const item: unknown = value[i];
        if (typeof item === "string") {
          const reason = refusedTextReason(item);
          if (reason) return refusal(pathText(at, i), reason);
        } else if (item !== null && typeof item === "object") stack.push({ value: item, at: { up: at, key: i } });
      }
    } else if (value !== null && typeof value === "object") {
      for (const key in value) {
        const keyReason = refusedTextReason(key);
        if (keyReason) return refusal(`${pathText(at, key)} (a key)`, keyReason);
        const item: unknown = (value as Record<string, unknown>)[key];
        if (typeof item === "string") {
          const reason = refusedTextReason(item);
          if (reason) return refusal(pathText(at, key), reason);
        } else if (item !== null && typeof item === "object") stack.push({ value: item, at: { up: at, key } });
      }
    }
  }
  return null;
}

// ---- Parse errors and other routes ---------------------------------------------------------------

/** graphql-js's syntax errors for an unpaired surrogate, raw or as an escape, in a string literal. */
const SURROGATE_SYNTAX_ERROR =
  /Invalid character within String: U\+D[89A-F]|Invalid Unicode escape sequence: "\\u(\{0*)?D[89A-F]/i;

const BROKEN_ENCODING = "is not percent-encoded UTF-8";

/** The first path segment or query parameter of a URL holding refused text or broken percent-encoding. */
export function urlRefusal(url: URL): { argument: string; message: string } | undefined {
  for (const segment of url.pathname.split("/")) {
    const decoded = decodePart(segment);
    const reason = decoded === undefined ? BROKEN_ENCODING : refusedTextReason(decoded);
    if (reason) return { argument: "path", message: `the path segment ${JSON.stringify(segment)} ${reason}` };
  }
  for (const pair of url.search.slice(1).split("&")) {
    const [rawName = "", ...rest] = pair.split("=");
    const name = decodePart(rawName);
    const nameReason = name === undefined ? BROKEN_ENCODING : refusedTextReason(name);
    if (nameReason) return { argument: "query", message: `a query parameter's name ${nameReason}` };
    const value = decodePart(rest.join("="));
    const reason = value === undefined ? BROKEN_ENCODING : refusedTextReason(value);
    if (reason) return { argument: name!, message: `the query parameter ${JSON.stringify(name)} ${reason}` };
  }
  return undefined;
}

function decodePart(text: string): string | undefined {
  try {
    return decodeURIComponent(text.replace(/\+/g, " "));
  } catch {
    return undefined;
  }
}

/**
 * The plugin. `graphqlEndpoint` is left to the GraphQL checks (they name the argument); every other
 * route's path and query string are checked as the request arrives.
 */
export function useInputHygiene(graphqlEndpoint = "/graphql"): Plugin {
  const stopIfRefused = (args: { document: DocumentNode; variableValues?: unknown }) =>
    literalRefusal(args.document) ??
    variablesRefusal(args.variableValues as Readonly<Record<string, unknown>> | null | undefined);
  return {
    onRequest({ request, url, endResponse }) {
      // Nothing to decode without a percent sign (and the URL, already text, holds no raw NUL).
      if (!request.url.includes("%") || url.pathname === graphqlEndpoint) return;
      const refused = urlRefusal(url);
      if (!refused) return;
      endResponse(codedResponse(400, "BAD_USER_INPUT", refused.message, { argument: refused.argument }));
    },
    onParse() {
      return ({ result, replaceParseResult }) => {
        if (!(result instanceof GraphQLError) || !SURROGATE_SYNTAX_ERROR.test(result.message)) return;
        replaceParseResult(
          new GraphQLError(`a string literal ${refusedTextReason("\uD800")}; such text is refused in every input`, {
            source: result.source,
            positions: result.positions,
            extensions: { code: "BAD_USER_INPUT", argument: "query", http: { status: 400 } },
          }),
        );
      };
    },
    onExecute({ args, setResultAndStopExecution }) {
      const refused = stopIfRefused(args);
      if (refused) setResultAndStopExecution({ errors: [refused] });
    },
    onSubscribe({ args, setResultAndStopExecution }) {
      const refused = stopIfRefused(args);
      if (refused) setResultAndStopExecution({ errors: [refused] });
    },
  };
}

// Limits on what one request may ask: the shape of the operation (depth, aliases, directives, tokens)
// through GraphQL Armor, the size of its answer estimated with its variables applied (the answer
// budget), and the size of the body. Refusals are QUERY_TOO_EXPENSIVE errors that say which limit was
// hit, before anything runs.
import { EnvelopArmorPlugin } from "@escape.tech/graphql-armor";
import { createComplexityRule } from "@pothos/plugin-complexity";
import { GraphQLError, TypeInfo, ValidationContext, visit, type DocumentNode } from "graphql";
import type { Plugin } from "graphql-yoga";
import { LRUCache } from "lru-cache";
import { AnswerTooLargeError } from "../errors.ts";
import { graphQLErrorOf } from "../schema/errors.ts";
import { codedResponse } from "./edge-errors.ts";

export const QUERY_LIMITS = {
  /** Nesting of fields (the dashboard operation uses 5). */
  depth: 12,
  /**
   * Aliases per operation: internal apps batch single-customer lookups as aliases (200 of them are
   * one warehouse query, see the batching test); a bomb of thousands is refused.
   */
  aliases: 256,
  directives: 20,
  tokens: 5_000,
} as const;

/**
 * The most values an answer may hold, as schema/answer-size.ts estimates them with the request's
 * variables: every field a value, lists multiplied by their page sizes. The example dashboard operation
 * estimates under 1,000, every stage with a page of 500 customer ids about 25,000; the stages with 100
 * customers each, each with their stage's 100 customers, about 310,000 (with 500: 7.5 million). At
 * 20-60 bytes of JSON a value, the largest answer accepted is a few MB.
 */
export const MAX_ANSWER_VALUES = 100_000;

/** The largest request body accepted, in bytes (an operation with its variables). */
export const MAX_BODY_BYTES = 1_000_000;

function tagged(_context: unknown, error: GraphQLError): void {
  // Armor's errors carry no code; clients get the one the error model names.
  (error.extensions as Record<string, unknown>).code = "QUERY_TOO_EXPENSIVE";
  // Armor prefixes every refusal with "Syntax Error: " (the token limit is raised from the parser), which
  // misleads a client whose operation is well formed: the message starts with the limit that was exceeded.
  // Stryker disable next-line Regex: Armor's messages begin with "Syntax Error: " and hold it once, one space after
  error.message = error.message.replace(/^Syntax Error:\s*/, "");
}

/** Depth, alias, directive and token limits, and no field suggestions (they map the schema for probes). */
export function useQueryLimits(): Plugin {
  const onReject = [tagged];
  return EnvelopArmorPlugin({
    maxDepth: { n: QUERY_LIMITS.depth, onReject, propagateOnRejection: true },
    maxAliases: { n: QUERY_LIMITS.aliases, onReject, propagateOnRejection: true },
    maxDirectives: { n: QUERY_LIMITS.directives, onReject, propagateOnRejection: true },
    maxTokens: { n: QUERY_LIMITS.tokens, onReject, propagateOnRejection: true },
    // Armor's cost reads only literal `first`; the answer budget below counts with the variables.
    costLimit: { enabled: false },
    blockFieldSuggestion: { enabled: true },
  }) as Plugin;
}

/**
 * Refuses an operation whose answer could hold more than MAX_ANSWER_VALUES values, estimated as it is
 * about to run, with its variables coerced (`first: $n` counts what $n says; GraphQL Armor's cost only
 * read literal `first`). Validation results are cached by document, so the estimate runs at execution.
 */
export function useAnswerBudget(maxValues = MAX_ANSWER_VALUES): Plugin {
  // Yoga parses a repeated query text into the same document, so an internal app sending one lookup
  // with new ids reuses the walk's result: keyed by what sizes a list (answer-size.ts: numbers and
  // list lengths), never by the ids or dates themselves.
  const estimates = new WeakMap<DocumentNode, LRUCache<string, number>>();
  const estimate = (args: Parameters<NonNullable<Plugin["onExecute"]>>[0]["args"]): number => {
    const variables = (args.variableValues ?? {}) as Record<string, unknown>;
    const key = `${args.operationName ?? ""}\u0000${JSON.stringify(variables, sizingOnly)}`;
    let known = estimates.get(args.document);
    if (!known) estimates.set(args.document, (known = new LRUCache({ max: 64 })));
    const cached = known.get(key);
    if (cached !== undefined) return cached;
    let complexity = 0;
    const rule = createComplexityRule({
      context: args.contextValue as object,
      variableValues: variables,
      operationName: args.operationName,
      validate: (result) => {
        complexity = result.complexity;
      },
    });
    // The rule computes everything when it enters an operation: a plain walk of the document runs it
    // without validate()'s type-info traversal, which costs more than the rule on a large document
    // (bench/README.md, "Answer budget walk").
    // Variables that do not coerce are left to execution, which reports them as it always does.
    visit(args.document, rule(new ValidationContext(args.schema, args.document, new TypeInfo(args.schema), () => {})));
    known.set(key, complexity);
    return complexity;
  };
  return {
    onExecute({ args, setResultAndStopExecution }) {
      const complexity = estimate(args);
      if (complexity > maxValues) {
        const refusal = new AnswerTooLargeError(
          `Answer size limit of ${maxValues} values exceeded: with these variables the answer could hold about ${Math.round(complexity)} (lists count their page sizes); ask for smaller pages or fewer fields`,
          "answerValues",
          maxValues,
          Math.round(complexity),
        );
        return setResultAndStopExecution({ errors: [graphQLErrorOf(refusal)] });
      }
      // The estimate counts lists whose length no argument says (stages, cohorts' months, versions) as
      // LIST_ITEMS each; the answer as built is what is bounded: one over the budget is not sent.
      return {
        onExecuteDone({ result, setResult }) {
          // No data key means result.data is undefined; and a null data, measured, is one value within any budget
          // that let the operation run.
          // Stryker disable next-line ConditionalExpression,LogicalOperator: so either test alone decides alike
          if (!("data" in result) || !result.data) return;
          const size = answerSize(result.data, maxValues, MAX_ANSWER_BYTES);
          if (size.values <= maxValues && size.bytes <= MAX_ANSWER_BYTES) return;
          setResult({
            errors: [
              graphQLErrorOf(
                size.values > maxValues
                  ? new AnswerTooLargeError(
                      `Answer size limit of ${maxValues} values exceeded: the answer held more; ask for smaller pages, shorter periods or fewer fields`,
                      "answerValues",
                      maxValues,
                    )
                  : new AnswerTooLargeError(
                      `Answer size limit of ${MAX_ANSWER_BYTES} bytes exceeded; ask for smaller pages, shorter periods or fewer fields`,
                      "answerBytes",
                      MAX_ANSWER_BYTES,
                    ),
              ),
            ],
          });
        },
      };
    },
  };
}

/** What of a variable can size a list: numbers and list lengths stay, any text is the same. */
function sizingOnly(_key: string, value: unknown): unknown {
  return typeof value === "string" ? 0 : value;
}

/** The most bytes of text an answer may hold (strings and numbers as JSON would write them, roughly). */
export const MAX_ANSWER_BYTES = 16 * 1024 * 1024;

/**
 * Values (every field, list item and scalar) and approximate JSON bytes of an answer, counted until
 * either passes its bound (then the count stops: the answer is refused anyway).
 */
export function answerSize(data: unknown, maxValues: number, maxBytes: number): { values: number; bytes: number } {
  let values = 0;
  let bytes = 0;
  const stack: unknown[] = [data];
  while (stack.length > 0 && values <= maxValues && bytes <= maxBytes) {
    const value = stack.pop();
    values += 1;
    if (typeof value === "string") bytes += value.length + 3;
    else if (Array.isArray(value)) {
      bytes += 2;
      for (const item of value) stack.push(item);
    } else if (value !== null && typeof value === "object" && !(value instanceof Date)) {
      bytes += 2;
      for (const [key, item] of Object.entries(value)) {
        bytes += key.length + 4;
        stack.push(item);
      }
    } else bytes += 8;
  }
  return { values, bytes };
}

function tooLarge(what: string): Response {
  return codedResponse(413, "BAD_USER_INPUT", `the request body is ${what}; at most ${MAX_BODY_BYTES} bytes`);
}

function badContentLength(): Response {
  return codedResponse(400, "BAD_REQUEST", "Content-Length header is invalid.");
}

/**
 * Refuses a body over MAX_BODY_BYTES (413): by its Content-Length before reading it, so a 10 MB post
 * costs nothing; a body sent without a length (chunked) is read up to the limit and refused as soon as
 * it passes it, never held whole.
 */
export function useBodyLimit(): Plugin {
  return {
    async onRequest({ request, setRequest, endResponse }) {
      if (request.method !== "POST") return;
      const declared = request.headers.get("content-length");
      if (declared !== null) {
        // One non-negative integer, nothing else (comma-joined values are a request-smuggling pattern):
        // yoga's own body check, turned off for this one (yoga.ts), refused those too.
        if (!/^\d+$/.test(declared)) endResponse(badContentLength());
        else if (Number(declared) > MAX_BODY_BYTES) endResponse(tooLarge(`${Number(declared)} bytes`));
        return;
      }
      if (!request.body) return;
      const chunks: Uint8Array[] = [];
      let total = 0;
      const reader = request.body.getReader();
      for (;;) {
        const { done, value } = await reader.read();
        if (done) break;
        total += value.byteLength;
        if (total > MAX_BODY_BYTES) {
          await reader.cancel().catch(() => {});
          return endResponse(tooLarge(`over ${MAX_BODY_BYTES} bytes (sent without a length)`));
        }
        chunks.push(value);
      }
      setRequest(
        new Request(request.url, {
          method: request.method,
          headers: request.headers,
          body: Buffer.concat(chunks),
          signal: request.signal,
        }),
      );
    },
  };
}

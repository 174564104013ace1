// Limits on what one request may ask: the shape of the operation (depth, aliases, directives, tokens,
// cost) through GraphQL Armor, and the size of the body. Refusals are QUERY_TOO_EXPENSIVE errors that
// say which limit was hit, before anything runs.
import { EnvelopArmorPlugin } from "@escape.tech/graphql-armor";
import type { GraphQLError } from "graphql";
import type { Plugin } from "graphql-yoga";

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
  /** GraphQL Armor's cost: fields weighted by depth; far above any real dashboard, far below a bomb. */
  cost: 20_000,
} as const;

/** The largest request body accepted, in bytes (an operation with its variables). */
export const MAX_BODY_BYTES = 1_000_000;

function tagged(_context: unknown, error: GraphQLError): void {
  // Armor's errors carry no code; clients get the one the error model names.
  (error.extensions as Record<string, unknown>).code = "QUERY_TOO_EXPENSIVE";
}

/** Depth, alias, directive, token and cost limits, and no field suggestions (they map the schema for probes). */
export function useQueryLimits(): Plugin {
  const onReject = [tagged];
  return EnvelopArmorPlugin({
    maxDepth: { n: QUERY_LIMITS.depth, onReject, propagateOnRejection: true },
    maxAliases: { n: QUERY_LIMITS.aliases, onReject, propagateOnRejection: true },
    maxDirectives: { n: QUERY_LIMITS.directives, onReject, propagateOnRejection: true },
    maxTokens: { n: QUERY_LIMITS.tokens, onReject, propagateOnRejection: true },
    costLimit: { maxCost: QUERY_LIMITS.cost, onReject, propagateOnRejection: true },
    blockFieldSuggestion: { enabled: true },
  }) as Plugin;
}

/**
 * Refuses a body over MAX_BODY_BYTES by its Content-Length before reading it (413), so a 10 MB post
 * costs nothing; a body sent without a length is refused the same way once it is known to be longer.
 */
export function useBodyLimit(): Plugin {
  return {
    onRequest({ request, endResponse }) {
      if (request.method !== "POST") return;
      const length = Number(request.headers.get("content-length") ?? "0");
      if (length > MAX_BODY_BYTES) {
        endResponse(
          new Response(
            JSON.stringify({
              errors: [
                {
                  message: `the request body is ${length} bytes; at most ${MAX_BODY_BYTES}`,
                  extensions: { code: "BAD_USER_INPUT" },
                },
              ],
            }),
            { status: 413, headers: { "content-type": "application/json" } },
          ),
        );
      }
    },
  };
}

// How many values an answer may hold, estimated from the operation and its variables before anything
// runs: each field is one value, and a list multiplies what it selects by how many items it can hold —
// a page by its `first`/`last` (the default page when absent), `customers(ids)` by its ids, any other
// list by LIST_ITEMS. Relay's edges are the page already counted. The estimate is what the answer
// budget (server/limits.ts) compares with MAX_ANSWER_VALUES, with the variables applied, so
// `first: $n` costs what $n says.
import { getNamedType, isListType, isNonNullType, type GraphQLField, type GraphQLOutputType } from "graphql";

/**
 * Items assumed for a list whose length no argument says (stages, metrics, cohorts, cells): the server
 * bounds those itself; what a client chooses (pages, ids) is counted as asked.
 */
export const LIST_ITEMS = 10;

function isList(type: GraphQLOutputType): boolean {
  return isListType(isNonNullType(type) ? type.ofType : type);
}

/** The cost of one field (itself) and the multiplier of what it selects. */
export function answerValues(
  args: Record<string, unknown>,
  field: GraphQLField<unknown, never>,
  defaultPage: number,
): { field: number; multiplier: number } {
  if (field.args.some((a) => a.name === "first")) {
    const size = [args.first, args.last].find((n): n is number => typeof n === "number");
    return { field: 1, multiplier: Math.max(0, size ?? defaultPage) };
  }
  if (Array.isArray(args.ids)) return { field: 1, multiplier: args.ids.length };
  if (isList(field.type)) {
    // Relay's edges hold the page its connection already multiplied by.
    if (getNamedType(field.type).name.endsWith("Edge")) return { field: 1, multiplier: 1 };
    return { field: 1, multiplier: LIST_ITEMS };
  }
  return { field: 1, multiplier: 1 };
}

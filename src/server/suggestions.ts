// With introspection off the schema is not public, yet graphql-js names its neighbours in many messages:
// "Did you mean …" after an unknown field, argument, type (in variable definitions too), enum value
// ("Did you mean the enum value …", also when a variable's value is coerced, which is after validation)
// or input field, and "Did you mean to use an inline fragment on …". GraphQL Armor's
// blockFieldSuggestion (limits.ts) only sees validation errors, and only the plain quoted form, so these
// leaked; its mask ("[Suggestion hidden]") still told a prober that a similar name exists. Every
// answer's errors are stripped of both here, whatever stage raised them.
import type { ExecutionResult } from "graphql";
import type { Plugin } from "graphql-yoga";

/** " Did you mean …?" as graphql-js's didYouMean writes it (GraphQL names hold no "?"), or Armor's mask of it. */
const SUGGESTION = /\s*(Did you mean [^?]*\?|\[Suggestion hidden\])/g;

export function withoutSuggestions(message: string): string {
  return message.replace(SUGGESTION, "");
}

export function useNoSuggestions(): Plugin {
  return {
    onResultProcess({ result }) {
      for (const one of (Array.isArray(result) ? result : [result]) as ExecutionResult[]) {
        for (const error of one?.errors ?? []) {
          const stripped = withoutSuggestions(error.message);
          if (stripped !== error.message) (error as { message: string }).message = stripped;
        }
      }
    },
  };
}

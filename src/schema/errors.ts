// Expected errors, each with a stable `extensions.code`; anything else stays masked by yoga.
import { GraphQLError } from "graphql";
import { ConflictError, InvalidInputError, NotFoundError } from "../input-errors.ts";

export function badUserInput(message: string, extensions: Record<string, unknown> = {}): GraphQLError {
  return new GraphQLError(message, { extensions: { code: "BAD_USER_INPUT", ...extensions } });
}

/**
 * The app's expected errors (input-errors.ts) as GraphQL errors with their code: BAD_USER_INPUT naming
 * `argument` with the issues, CONFLICT, NOT_FOUND; anything else unchanged (and masked by yoga).
 */
export function asGraphQLError(error: unknown, argument = "input"): unknown {
  if (error instanceof InvalidInputError) return badUserInput(error.message, { argument, issues: error.issues });
  if (error instanceof ConflictError) return new GraphQLError(error.message, { extensions: { code: "CONFLICT" } });
  if (error instanceof NotFoundError) return new GraphQLError(error.message, { extensions: { code: "NOT_FOUND" } });
  return error;
}

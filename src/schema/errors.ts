// Expected errors, each with a stable `extensions.code`; anything else stays masked by yoga.
import { GraphQLError } from "graphql";

export function badUserInput(message: string, extensions: Record<string, unknown> = {}): GraphQLError {
  return new GraphQLError(message, { extensions: { code: "BAD_USER_INPUT", ...extensions } });
}

// A domain error (src/errors.ts) as the GraphQL error a client reads: its public message, its code and
// the fields it adds in `extensions`, then the request id when it tells one. Resolvers throw domain
// errors and never make GraphQL errors: yoga's error masking (server/error-masking.ts) makes them here,
// and so does the builder for a scalar's parse error, which graphql-js needs as a GraphQLError.
import { GraphQLError, type ASTNode } from "graphql";
import type { DomainError } from "../errors.ts";

export interface ErrorPlace {
  /** Where in the operation and the answer the error is (a field's, as graphql-js located it). */
  readonly nodes?: readonly ASTNode[];
  readonly path?: readonly (string | number)[];
  readonly requestId?: string;
}

export function graphQLErrorOf(error: DomainError, place: ErrorPlace = {}): GraphQLError {
  return new GraphQLError(error.publicMessage, {
    nodes: place.nodes,
    path: place.path,
    extensions: {
      code: error.code,
      ...error.extensions(),
      ...(error.tellsRequestId ? { requestId: place.requestId } : {}),
    },
  });
}

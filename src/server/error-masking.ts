// yoga's error masking, the one place inside GraphQL where a failure becomes what the client reads:
// an expected failure (edge-errors.ts expectedError) as its GraphQL error, with its code and fields
// (schema/errors.ts graphQLErrorOf); anything else masked as "Unexpected error." and logged whole with
// the request id, which the client gets too.
import type { Logger } from "pino";
import { GraphQLError } from "graphql";
import { maskError as maskErrorDefault } from "graphql-yoga";
import { CancelledError, DependencyError, type DomainError } from "../errors.ts";
import { currentRequestScope, type RequestScope } from "../request-scope.ts";
import { graphQLErrorOf } from "../schema/errors.ts";
import { DeadlineExceededError } from "../warehouse/guarded-warehouse.ts";
import { expectedError } from "./edge-errors.ts";

/** The expected failures worth a log line: the dependencies, the deadline, and (at debug) a client leaving. */
function logExpected(
  log: Logger,
  error: DomainError,
  original: unknown,
  scope: RequestScope | undefined,
  path: readonly (string | number)[] | undefined,
): void {
  const requestId = scope?.requestId;
  if (error instanceof DependencyError) {
    // Busy is load, logged quietly; an unreachable dependency is worth a warning.
    const level = error.code === "WAREHOUSE_BUSY" ? "info" : "warn";
    log[level]({ err: original, requestId, principal: scope?.principal, path }, error.code);
  } else if (error instanceof DeadlineExceededError) {
    log.warn({ requestId, deadlineMs: error.deadlineMs, path }, "request deadline passed");
  } else if (error instanceof CancelledError) {
    // The client went away: nobody reads this answer, and it is no internal error.
    log.debug({ requestId, path }, "request cancelled by the client");
  }
}

export function errorMasker(log: Logger) {
  return (error: unknown, message: string, isDev?: boolean): Error => {
    const scope = currentRequestScope();
    const requestId = scope?.requestId;
    const original = error instanceof GraphQLError ? error.originalError : error;
    const where = error instanceof GraphQLError ? { nodes: error.nodes, path: error.path } : {};
    const expected = expectedError(original, scope);
    if (expected) {
      logExpected(log, expected, original, scope, where.path);
      return graphQLErrorOf(expected, { ...where, requestId });
    }
    const masked = maskErrorDefault(error, message, isDev);
    if (masked !== error) {
      log.error({ err: original ?? error, requestId, path: where.path }, "internal error");
      if (masked instanceof GraphQLError) Object.assign(masked.extensions, { requestId });
    }
    return masked;
  };
}

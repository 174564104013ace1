// Failures outside GraphQL execution answered as coded JSON, never as the HTTP adapter's text/plain
// stack trace: a request-level hook (authentication, the export, the dashboard's files, /ready,
// /metrics) that throws ends its request with a GraphQL-shaped body carrying the code, the request id
// and, where waiting helps, retry advice; a failure of the server is logged whole under that id and
// counted. What a client is told of a failure is decided here once, for both sides of the edge.
import type { Logger } from "pino";
import type { Plugin } from "graphql-yoga";
import { AppDatabaseUnavailableError, isAppDatabaseUnreachable } from "../appdb/unavailable.ts";
import type { RequestAuth } from "../auth/request-auth.ts";
import { CancelledError, DependencyError, DomainError, ERROR_STATUS, type ErrorCode } from "../errors.ts";
import { currentRequestScope, deadlinePassed, type RequestScope } from "../request-scope.ts";
import type { ServerMetrics } from "../observability/metrics.ts";
import { DeadlineExceededError } from "../warehouse/guarded-warehouse.ts";

/**
 * What a client is told of a failure, the same inside GraphQL (server/error-masking.ts) and outside it
 * (failureResponse): a domain error as it is; a refused app-database connection that arrives raw (from
 * Prisma or node-postgres) as APP_DATABASE_UNAVAILABLE; an abort as the deadline's when the deadline has
 * passed (its signal aborts with TimeoutError), else the client's. undefined: an internal failure.
 * `unanswered` says what the deadline cut short, for its message.
 */
export function expectedError(
  error: unknown,
  scope: RequestScope | undefined = currentRequestScope(),
  unanswered = "this field was answered",
): DomainError | undefined {
  if (error instanceof DomainError) return error;
  if (isAppDatabaseUnreachable(error))
    return new AppDatabaseUnavailableError("the app database cannot be reached", { cause: error });
  const name = (error as { name?: unknown } | null)?.name;
  if (name !== "AbortError" && name !== "TimeoutError") return undefined;
  return scope && deadlinePassed(scope)
    ? new DeadlineExceededError(
        scope.deadlineMs,
        `the request's deadline of ${scope.deadlineMs} ms passed before ${unanswered}`,
      )
    : new CancelledError();
}

/**
 * A coded answer outside GraphQL, shaped as GraphQL's errors are (so a client reads every failure of
 * this server alike): `{ errors: [{ message, extensions: { code, requestId, ... } }] }`.
 */
export function codedResponse(
  status: number,
  code: ErrorCode,
  message: string,
  extensions: Record<string, unknown> = {},
  headers: Record<string, string> = {},
): Response {
  const requestId = currentRequestScope()?.requestId;
  return new Response(JSON.stringify({ errors: [{ message, extensions: { code, requestId, ...extensions } }] }), {
    status,
    headers: { "content-type": "application/json", ...headers },
  });
}

/**
 * The answer to a request refused for who it is, the same on /graphql and the export: 401 (no key, or a
 * key that is unknown, revoked or expired) with WWW-Authenticate, or 403, and the coded body. Decided on
 * the Authorization header alone, never on the operation, as GraphQL over HTTP allows for a 4xx.
 */
export function refusalResponse(
  refused: { code: "UNAUTHENTICATED" | "FORBIDDEN"; message: string },
  auth?: RequestAuth,
): Response {
  const headers: Record<string, string> =
    refused.code === "UNAUTHENTICATED"
      ? { "www-authenticate": auth?.badKey ? 'Bearer error="invalid_token"' : "Bearer" }
      : {};
  return codedResponse(refused.code === "UNAUTHENTICATED" ? 401 : 403, refused.code, refused.message, {}, headers);
}

/** A refusal by a rate limit, as every route answers it: 429, Retry-After and the coded body. */
export function rateLimitedResponse(limited: { message: string; retryAfterSeconds: number }): Response {
  return codedResponse(
    429,
    "RATE_LIMITED",
    limited.message,
    { retryAfterSeconds: limited.retryAfterSeconds },
    { "retry-after": String(limited.retryAfterSeconds) },
  );
}

/**
 * The coded JSON answer to a failure outside GraphQL, with the status its code has (ERROR_STATUS) and
 * Retry-After where waiting helps. A failure of the run (5xx, or an expected error that tells the
 * request id: a budget reached while running, the client gone) is counted and goes into the access
 * log's codes; 5xx are logged as failures, a client gone at debug; a refusal of what was asked (an
 * unknown id, bad input) is only answered.
 */
export function failureResponse(
  error: unknown,
  log: Logger,
  metrics: ServerMetrics | undefined,
  what: string,
): Response {
  const requestId = currentRequestScope()?.requestId;
  const expected = expectedError(error, currentRequestScope(), "its answer was complete");
  const code = expected?.code ?? "INTERNAL_SERVER_ERROR";
  const status = ERROR_STATUS[code];
  if (!expected) log.error({ err: error, requestId }, `${what} failed`);
  else if (status >= 500) log.warn({ err: error, requestId, code }, `${what} failed`);
  else if (code === "CANCELLED") log.debug({ requestId }, `${what} cancelled: the client went away`);
  if (status >= 500 || expected?.tellsRequestId) {
    metrics?.edgeFailures.inc({ code });
    currentRequestScope()?.errorCodes.add(code);
  }
  const retry = expected instanceof DependencyError ? expected.retryAfterSeconds : undefined;
  return codedResponse(
    status,
    code,
    expected?.publicMessage ?? "Unexpected error.",
    expected?.extensions() ?? {},
    retry === undefined ? {} : { "retry-after": String(retry) },
  );
}

/** The plugin with its request hook's failures answered by failureResponse instead of escaping. */
export function answeringFailures(
  plugin: Plugin,
  log: Logger,
  metrics: ServerMetrics | undefined,
  what: string,
): Plugin {
  const onRequest = plugin.onRequest;
  if (!onRequest) return plugin;
  return {
    ...plugin,
    async onRequest(payload) {
      try {
        await onRequest(payload);
      } catch (error) {
        payload.endResponse(failureResponse(error, log, metrics, what));
      }
    },
  };
}

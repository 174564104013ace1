// Failures outside GraphQL execution answered as coded JSON, never as the HTTP adapter's text/plain
// stack trace: a request-level hook (authentication, the export, the dashboard's files, /ready,
// /metrics) that throws ends its request with a GraphQL-shaped body carrying the code, the request id
// and, where waiting helps, retry advice; the failure is logged whole under that id and counted.
import type { Logger } from "pino";
import type { Plugin } from "graphql-yoga";
import { WarehouseBusyError, WarehouseUnavailableError } from "../connectors/connector.ts";
import { APP_DATABASE_RETRY_AFTER_SECONDS, isAppDatabaseUnreachable } from "../appdb/unavailable.ts";
import type { RequestAuth } from "../auth/request-auth.ts";
import { currentRequestScope } from "../request-scope.ts";
import type { ServerMetrics } from "../observability/metrics.ts";

/** Seconds a client is told to wait before retrying when the warehouse does not answer. */
export const WAREHOUSE_RETRY_AFTER_SECONDS = 5;
/** Seconds a client is told to wait when every warehouse query slot stayed busy (a queue moves fast). */
export const WAREHOUSE_BUSY_RETRY_AFTER_SECONDS = 2;

export interface Failure {
  readonly status: number;
  readonly code: string;
  readonly message: string;
  readonly retryAfterSeconds?: number;
}

/**
 * The failures of a dependency a client is told about by name, with retry advice: the same code and
 * message inside GraphQL (errorMasker in yoga.ts) and outside it (failureResponse). undefined: not one.
 */
export function dependencyFailure(error: unknown): Failure | undefined {
  if (error instanceof WarehouseUnavailableError)
    return {
      status: 503,
      code: "WAREHOUSE_UNAVAILABLE",
      message: `the warehouse is unavailable; retry in ${WAREHOUSE_RETRY_AFTER_SECONDS} s`,
      retryAfterSeconds: WAREHOUSE_RETRY_AFTER_SECONDS,
    };
  if (error instanceof WarehouseBusyError)
    return {
      status: 503,
      code: "WAREHOUSE_BUSY",
      message: `the warehouse is busy with other queries; retry in ${WAREHOUSE_BUSY_RETRY_AFTER_SECONDS} s`,
      retryAfterSeconds: WAREHOUSE_BUSY_RETRY_AFTER_SECONDS,
    };
  // Last: a warehouse error can carry a refused connection in its cause, as the app database's does.
  if (isAppDatabaseUnreachable(error))
    return {
      status: 503,
      code: "APP_DATABASE_UNAVAILABLE",
      message: `the app database cannot be reached; retry in ${APP_DATABASE_RETRY_AFTER_SECONDS} s`,
      retryAfterSeconds: APP_DATABASE_RETRY_AFTER_SECONDS,
    };
  return undefined;
}

/** What a client is told of a failure: the expected kinds by name, anything else masked. */
function classify(error: unknown): Failure {
  return dependencyFailure(error) ?? { status: 500, code: "INTERNAL_SERVER_ERROR", message: "Unexpected error." };
}

/**
 * A coded answer outside GraphQL, shaped as GraphQL's errors are (so a client reads every failure of
 * this server alike): `{ errors: [{ message, extensions: { code, requestId, ... } }] }`.
 */
export function codedResponse(
  status: number,
  code: string,
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

/** The coded JSON answer to a failure outside GraphQL; logs it and counts it. */
export function failureResponse(
  error: unknown,
  log: Logger,
  metrics: ServerMetrics | undefined,
  what: string,
): Response {
  const requestId = currentRequestScope()?.requestId;
  const failure = classify(error);
  if (failure.code === "INTERNAL_SERVER_ERROR") log.error({ err: error, requestId }, `${what} failed`);
  else log.warn({ err: error, requestId, code: failure.code }, `${what} failed`);
  metrics?.edgeFailures.inc({ code: failure.code });
  currentRequestScope()?.errorCodes.add(failure.code);
  const retry = failure.retryAfterSeconds;
  return codedResponse(
    failure.status,
    failure.code,
    failure.message,
    { retryAfterSeconds: retry },
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

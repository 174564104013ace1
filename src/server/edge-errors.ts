// Failures outside GraphQL execution answered as coded JSON, never as the HTTP adapter's text/plain
// stack trace: a request-level hook (authentication, the export, the dashboard's files, /ready,
// /metrics) that throws ends its request with a GraphQL-shaped body carrying the code, the request id
// and, where waiting helps, retry advice; the failure is logged whole under that id and counted.
import type { Logger } from "pino";
import type { Plugin } from "graphql-yoga";
import { WarehouseBusyError, WarehouseUnavailableError } from "../../connectors/connector.ts";
import { APP_DATABASE_RETRY_AFTER_SECONDS, isAppDatabaseUnreachable } from "../appdb/unavailable.ts";
import { currentRequestScope } from "../request-scope.ts";
import type { ServerMetrics } from "./metrics.ts";

interface Failure {
  readonly status: number;
  readonly code: string;
  readonly message: string;
  readonly retryAfterSeconds?: number;
}

/** What a client is told of a failure: the expected kinds by name, anything else masked. */
function classify(error: unknown): Failure {
  if (isAppDatabaseUnreachable(error))
    return {
      status: 503,
      code: "APP_DATABASE_UNAVAILABLE",
      message: `the app database cannot be reached; retry in ${APP_DATABASE_RETRY_AFTER_SECONDS} s`,
      retryAfterSeconds: APP_DATABASE_RETRY_AFTER_SECONDS,
    };
  if (error instanceof WarehouseUnavailableError)
    return {
      status: 503,
      code: "WAREHOUSE_UNAVAILABLE",
      message: "the warehouse is unavailable",
      retryAfterSeconds: 5,
    };
  if (error instanceof WarehouseBusyError)
    return { status: 503, code: "WAREHOUSE_BUSY", message: "the warehouse is busy", retryAfterSeconds: 2 };
  return { status: 500, code: "INTERNAL_SERVER_ERROR", message: "Unexpected error." };
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

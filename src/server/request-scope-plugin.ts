// The request's scope around everything else: its id, deadline and span as it arrives, its access-log
// line and metrics as it is answered.
import { randomUUID } from "node:crypto";
import { performance } from "node:perf_hooks";
import { SpanKind, SpanStatusCode } from "@opentelemetry/api";
import type { Logger } from "pino";
import { getOperationAST, type ExecutionResult } from "graphql";
import type { Plugin } from "graphql-yoga";
import { currentRequestScope, enterRequestScope, newRequestScope } from "../request-scope.ts";
import type { ServerMetrics } from "../observability/metrics.ts";
import { tracer } from "../observability/tracing.ts";

/** A client's own id if it is a plain token, else a fresh one (the header is echoed back). */
export function requestIdOf(request: Request): string {
  const given = request.headers.get("x-request-id");
  return given && /^[\w.:-]{1,100}$/.test(given) ? given : randomUUID();
}

const paths = new WeakMap<Request, string>();

/** The path of a request's URL, for routing and metrics labels (parsed once per request: several hooks ask). */
export function pathOf(request: Request): string {
  let path = paths.get(request);
  if (path === undefined) {
    // The HTTP server's requests (whatwg-node's) keep the URL they parsed for yoga; others are parsed here.
    const parsed = (request as { parsedUrl?: URL }).parsedUrl;
    path = (parsed ?? new URL(request.url, "http://server")).pathname;
    paths.set(request, path);
  }
  return path;
}

/** Routes with a fixed name for metrics; anything else is "other" (scanners cannot grow the labels). */
const ROUTES = new Set(["/graphql", "/health", "/ready", "/metrics"]);

/** The codes of an answer's errors; request errors of the GraphQL layer (unknown variables, syntax) carry none. */
function errorCodesOf(result: unknown): string[] {
  const results = (Array.isArray(result) ? result : [result]) as ExecutionResult[];
  return results.flatMap((r) => (r?.errors ?? []).map((e) => String(e.extensions?.code ?? "BAD_REQUEST")));
}

/**
 * Every request runs in its scope (request-scope.ts): its id (echoed in x-request-id), its deadline,
 * the warehouse time it spends. When it is answered, one access-log line and the request metrics.
 */
export function useRequestScope(log: Logger, deadlineMs: number, metrics: ServerMetrics | undefined): Plugin {
  return {
    onRequest({ request }) {
      const scope = newRequestScope(requestIdOf(request), deadlineMs, request.signal);
      const path = pathOf(request);
      scope.span = tracer().startSpan(`${request.method} ${path}`, {
        kind: SpanKind.SERVER,
        attributes: {
          "http.request.method": request.method,
          "url.path": path,
          "clm.request_id": scope.requestId,
        },
      });
      enterRequestScope(scope);
    },
    onExecute({ args }) {
      const scope = currentRequestScope();
      if (!scope) return;
      const operation = getOperationAST(args.document, args.operationName);
      scope.operationName = operation?.name?.value ?? args.operationName ?? undefined;
      scope.operationType = operation?.operation;
      return {
        // An answer (partly) from the state store says how fresh that state is, and one for the default
        // day which day that was.
        onExecuteDone({ result, setResult }) {
          if ((!scope.stateServed && !scope.defaultDay) || Symbol.asyncIterator in result) return;
          const extensions = {
            ...result.extensions,
            ...(scope.stateServed && { stateStore: scope.stateServed }),
            ...(scope.defaultDay && { defaultDay: scope.defaultDay }),
          };
          setResult({ ...result, extensions });
        },
      };
    },
    onResultProcess({ result }) {
      const scope = currentRequestScope();
      for (const code of errorCodesOf(result)) {
        scope?.errorCodes.add(code);
        metrics?.graphqlErrors.inc({ code });
      }
    },
    onResponse({ request, response }) {
      const scope = currentRequestScope();
      if (scope) response.headers.set("x-request-id", scope.requestId);
      const path = pathOf(request);
      const route =
        ROUTES.has(path) || path.startsWith("/segments/")
          ? path.replace(/^\/segments\/.*/, "/segments/export")
          : "other";
      const seconds = (performance.now() - (scope?.startedAt ?? performance.now())) / 1000;
      metrics?.requests.inc({ route, status: String(response.status) });
      // A span that records nothing (tracing off) is ended without building its attributes.
      if (scope?.span?.isRecording() === false) scope.span.end();
      else if (scope?.span) {
        scope.span.setAttributes({
          "http.response.status_code": response.status,
          "graphql.operation.name": scope.operationName ?? "",
          "graphql.operation.type": scope.operationType ?? "",
          "clm.warehouse_ms": Math.round(scope.warehouseMs),
          "clm.warehouse_queries": scope.warehouseQueries,
          "clm.cache_hits": scope.cacheHits,
          "clm.error_codes": [...scope.errorCodes].join(","),
        });
        if (response.status >= 500 || scope.errorCodes.size > 0) scope.span.setStatus({ code: SpanStatusCode.ERROR });
        scope.span.end();
      }
      if (route !== "/graphql" && route !== "/segments/export") return;
      if (route === "/graphql" && scope?.operationType)
        metrics?.requestDuration.observe(
          { operation: metrics.operationLabel(scope.operationName), type: scope.operationType },
          seconds,
        );
      log.info(
        {
          requestId: scope?.requestId,
          method: request.method,
          route,
          status: response.status,
          operation: scope?.operationName,
          operationType: scope?.operationType,
          principal: scope?.principal,
          durationMs: Math.round(seconds * 1000),
          warehouseMs: Math.round(scope?.warehouseMs ?? 0),
          warehouseQueries: scope?.warehouseQueries ?? 0,
          cacheHits: scope?.cacheHits ?? 0,
          errorCodes: scope && scope.errorCodes.size > 0 ? [...scope.errorCodes] : undefined,
        },
        "request",
      );
    },
  };
}

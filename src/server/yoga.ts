// The GraphQL HTTP handler: /graphql (with GraphiQL for browsers), /health and /ready.
import { randomUUID } from "node:crypto";
import { performance } from "node:perf_hooks";
import { SpanKind, SpanStatusCode } from "@opentelemetry/api";
import type { Logger } from "pino";
import { getOperationAST, NoSchemaIntrospectionCustomRule, type ExecutionResult } from "graphql";
import { createYoga, type Plugin, type YogaServerInstance } from "graphql-yoga";
import { KeyStore } from "../auth/keys.ts";
import { authenticate, refusal, type RequestAuth } from "../auth/request-auth.ts";
import type { RequestContext, Services } from "../context.ts";
import { currentRequestScope, enterRequestScope, newRequestScope } from "../request-scope.ts";
import type { GuardedWarehouse } from "../warehouse/guarded-warehouse.ts";
import { useDashboard } from "./dashboard.ts";
import { answeringFailures, rateLimitedResponse, refusalResponse } from "./edge-errors.ts";
import { errorMasker } from "./error-masking.ts";
import { useSegmentExport } from "./export.ts";
import { useExecutionDeadline } from "./execution-deadline.ts";
import { useAnswerBudget, useBodyLimit, useQueryLimits } from "./limits.ts";
import { useInputHygiene } from "./input-hygiene.ts";
import { corsFor, useCrossSiteGuard } from "./cors.ts";
import type { ServerMetrics } from "../observability/metrics.ts";
import { useMetricsEndpoint } from "./metrics-endpoint.ts";
import { clientAddress, type RateLimit } from "./rate-limit.ts";
import { useReadiness } from "./readiness.ts";
import { useNoSuggestions } from "./suggestions.ts";
import { tracer } from "../observability/tracing.ts";
import { schema } from "../schema/index.ts";

export const FIRST_QUERY = `# Welcome to the lifecycle analytics server.
# Press the run button (or Ctrl-Enter): how many customers sit in each lifecycle stage today,
# what marketing should do there, and what the warehouse holds. Open "Docs" (top left) for every
# type and field: what it means, its unit and how it is computed.
#
# Then try:
#   stages(asOf: "2026-01-31") { key count }      the state at the end of a past day
#   customer(id: "c000042") { stage { key } features { purchaseDays recencyDays revenue } }
#   funnel { stage { key } reached dropOffFromPrevious }
#   metrics(period: { from: "2026-01-01", to: "2026-03-31" }) { name value unit }
# More example operations (segments, CLV, a whole dashboard) are in schema/operations/.
{
  stages {
    key
    name
    count
    share
    recommendedActions
  }
  warehouse {
    kind
    tables {
      name
      rowCount
    }
  }
}
`;

export interface YogaOptions {
  /** GraphiQL for browsers at /graphql (default on). */
  readonly graphiql?: boolean;
  /** Schema introspection (default on). */
  readonly introspection?: boolean;
  /** Requests without a key act as an analyst (default off: every request needs a key). */
  readonly allowAnonymous?: boolean;
  /** A readiness check's longest wait per dependency. */
  readonly readyTimeoutMs?: number;
  /** A request's warehouse work is cancelled after this long (ms; default 30 s). */
  readonly requestTimeoutMs?: number;
  /** Per-caller request limit (absent: none). */
  readonly rateLimit?: RateLimit;
  /** Prometheus metrics, served at /metrics when `serveMetrics` (default on). */
  readonly metrics?: ServerMetrics;
  readonly serveMetrics?: boolean;
  /** With it, /metrics answers only `Authorization: Bearer <metricsToken>`. */
  readonly metricsToken?: string;
  /** Origins whose pages may read answers (CORS); default none: same origin only. */
  readonly corsOrigins?: readonly string[];
  /** How long a /ready answer is reused (ms; default 1 s) and checks per client address a minute (default 120; 0: no limit). */
  readonly readyReuseMs?: number;
  readonly readyPerMinute?: number;
}

export type ClmYoga = YogaServerInstance<Record<string, never>, RequestContext>;

/** A client's own id if it is a plain token, else a fresh one (the header is echoed back). */
function requestIdOf(request: Request): string {
  const given = request.headers.get("x-request-id");
  return given && /^[\w.:-]{1,100}$/.test(given) ? given : randomUUID();
}

const paths = new WeakMap<Request, string>();

/** The path of a request's URL, for routing and metrics labels (parsed once per request: several hooks ask). */
function pathOf(request: Request): string {
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
function useRequestScope(log: Logger, deadlineMs: number, metrics: ServerMetrics | undefined): Plugin {
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

/**
 * Who asks, looked up once as the request arrives, and the per-caller rate limit counted then — before
 * parsing, so operations refused by validation or the query limits count too. Per key; without one, per
 * client address (bad keys cannot probe at full speed either). A request with no identity (no key where
 * one is needed, or an unknown, revoked or expired one) is then refused whole, with 401 and the JSON the
 * export answers too (auth/request-auth.ts refusalResponse); GraphiQL's page still loads.
 */
function useCallerLimit(
  keys: KeyStore,
  allowAnonymous: boolean,
  rateLimit: RateLimit | undefined,
  metrics: ServerMetrics | undefined,
  graphiql: boolean,
): Plugin {
  const refuseUnauthenticated = (request: Request, auth: RequestAuth, endResponse: (response: Response) => void) => {
    if (auth.role !== null) return;
    if (graphiql && request.method === "GET" && request.headers.get("accept")?.includes("text/html")) return;
    const refused = refusal(auth, "viewer")!;
    currentRequestScope()?.errorCodes.add(refused.code);
    metrics?.graphqlErrors.inc({ code: refused.code });
    endResponse(refusalResponse(refused, auth));
  };
  return {
    async onRequest({ request, serverContext, endResponse }) {
      if (pathOf(request) !== "/graphql" || (request.method !== "POST" && request.method !== "GET")) return;
      const scope = currentRequestScope();
      const auth = await authenticate(request.headers.get("authorization"), keys, allowAnonymous);
      if (scope) {
        scope.auth = auth;
        scope.principal = auth.keyId ?? (auth.role ? "anonymous" : undefined);
      }
      if (!rateLimit) return refuseUnauthenticated(request, auth, endResponse);
      const limited = await rateLimit.check(
        auth.keyId ? `key:${auth.keyId}` : `address:${clientAddress(serverContext)}`,
      );
      if (!limited) return refuseUnauthenticated(request, auth, endResponse);
      metrics?.rateLimited.inc();
      scope?.errorCodes.add("RATE_LIMITED");
      endResponse(rateLimitedResponse(limited));
    },
  };
}

/** Refuses introspection queries at validation (for production, where the schema need not be public). */
const noIntrospection: Plugin = {
  onValidate({ addValidationRule }) {
    addValidationRule(NoSchemaIntrospectionCustomRule);
  },
};

export function createClmYoga(
  services: Services & { pingAppDatabase(): Promise<void> },
  options: YogaOptions = {},
): ClmYoga {
  const readyTimeoutMs = options.readyTimeoutMs ?? 2_000;
  const keys = new KeyStore(services.prisma);
  const allowAnonymous = options.allowAnonymous ?? false;
  const metrics = options.metrics;
  const answered = (plugin: Plugin, what: string) => answeringFailures(plugin, services.log, metrics, what);
  const guarded = "circuitOpen" in services.warehouse ? (services.warehouse as GuardedWarehouse) : undefined;
  return createYoga<Record<string, never>, RequestContext>({
    schema,
    graphqlEndpoint: "/graphql",
    maskedErrors: { maskError: errorMasker(services.log) },
    cors: corsFor(options.corsOrigins ?? []),
    healthCheckEndpoint: "/health",
    landingPage: false,
    // GraphiQL's assets inlined from the package: the page works with no network. Loaded when the page
    // is first asked for: the package is a 9 MB script, ~68 MB of resident memory once loaded, which a
    // server that never shows GraphiQL should not carry (bench memory).
    renderGraphiQL: async (graphiqlOptions) =>
      (await import("@graphql-yoga/render-graphiql")).renderGraphiQL(graphiqlOptions),
    // useBodyLimit (limits.ts) bounds bodies at 1 MB already; yoga's own 25 MB check would pipe every
    // body through a counting stream, a cost per request for a limit that can never be reached first.
    maxRequestBodySize: false,
    graphiql: options.graphiql === false ? false : { title: "CLM GraphQL", defaultQuery: FIRST_QUERY },
    logging: {
      debug: (...args) => services.log.debug(args.map(String).join(" ")),
      info: (...args) => services.log.info(args.map(String).join(" ")),
      warn: (...args) => services.log.warn(args.map(String).join(" ")),
      error: (...args) => services.log.error({ err: args.find((a) => a instanceof Error) }, args.map(String).join(" ")),
    },
    context: async ({ request }) => {
      const scope = currentRequestScope();
      const auth =
        (scope?.auth as RequestAuth | undefined) ??
        (await authenticate(request.headers.get("authorization"), keys, allowAnonymous));
      return {
        auth,
        prisma: services.prisma,
        warehouse: services.warehouse,
        lifecycle: services.lifecycle.forRequest(),
        log: services.log,
        requestId: scope?.requestId ?? requestIdOf(request),
      };
    },
    plugins: [
      // Request hooks that throw answer coded JSON (edge-errors.ts), not the HTTP adapter's stack trace.
      useRequestScope(services.log, options.requestTimeoutMs ?? 30_000, metrics),
      useCrossSiteGuard(options.corsOrigins ?? []),
      answered(
        useCallerLimit(keys, allowAnonymous, options.rateLimit, metrics, options.graphiql !== false),
        "authentication",
      ),
      ...(metrics && options.serveMetrics !== false
        ? [answered(useMetricsEndpoint(metrics, options.metricsToken), "metrics")]
        : []),
      useBodyLimit(),
      useInputHygiene(),
      useQueryLimits(),
      useAnswerBudget(),
      useExecutionDeadline(),
      ...(options.introspection === false ? [noIntrospection, useNoSuggestions()] : []),
      answered(
        useSegmentExport(services, (request) =>
          authenticate(request.headers.get("authorization"), keys, allowAnonymous),
        ),
        "segment export",
      ),
      answered(useDashboard(), "dashboard"),
      answered(
        useReadiness(
          services,
          { timeoutMs: readyTimeoutMs, reuseMs: options.readyReuseMs, perMinute: options.readyPerMinute },
          guarded,
        ),
        "readiness check",
      ),
    ],
  });
}

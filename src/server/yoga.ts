// The GraphQL HTTP handler: /graphql (with GraphiQL for browsers), /health and /ready, and the routes
// beside them, assembled from the plugins of this folder, each in its own file.
import { createYoga, type Plugin, type YogaServerInstance } from "graphql-yoga";
import { KeyStore } from "../auth/keys.ts";
import { authenticate, type RequestAuth } from "../auth/request-auth.ts";
import type { RequestContext, Services } from "../schema/context.ts";
import { currentRequestScope } from "../request-scope.ts";
import { useCallerLimit } from "./caller-limit.ts";
import { useDashboard } from "./dashboard.ts";
import { answeringFailures } from "./edge-errors.ts";
import { errorMasker } from "./error-masking.ts";
import { useSegmentExport } from "./export.ts";
import { useExecutionDeadline } from "./execution-deadline.ts";
import { FIRST_QUERY, renderGraphiQL } from "./graphiql.ts";
import { useAnswerBudget, useBodyLimit, useQueryLimits } from "./limits.ts";
import { useInputHygiene } from "./input-hygiene.ts";
import { noIntrospection } from "./introspection.ts";
import { yogaLogging } from "./logger.ts";
import { corsFor, useCrossSiteGuard } from "./cors.ts";
import type { ServerMetrics } from "../observability/metrics.ts";
import { useMetricsEndpoint } from "./metrics-endpoint.ts";
import type { RateLimit } from "./rate-limit.ts";
import { useReadiness } from "./readiness.ts";
import { requestIdOf, useRequestScope } from "./request-scope-plugin.ts";
import { useNoSuggestions } from "./suggestions.ts";
import { schema } from "../schema/index.ts";

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

export function createClmYoga(
  services: Services & { pingAppDatabase(): Promise<void> },
  options: YogaOptions = {},
): ClmYoga {
  const readyTimeoutMs = options.readyTimeoutMs ?? 2_000;
  const keys = new KeyStore(services.prisma);
  const allowAnonymous = options.allowAnonymous ?? false;
  const metrics = options.metrics;
  const answered = (plugin: Plugin, what: string) => answeringFailures(plugin, services.log, metrics, what);
  return createYoga<Record<string, never>, RequestContext>({
    schema,
    graphqlEndpoint: "/graphql",
    maskedErrors: { maskError: errorMasker(services.log) },
    cors: corsFor(options.corsOrigins ?? []),
    healthCheckEndpoint: "/health",
    landingPage: false,
    renderGraphiQL,
    // useBodyLimit (limits.ts) bounds bodies at 1 MB already; yoga's own 25 MB check would pipe every
    // body through a counting stream, a cost per request for a limit that can never be reached first.
    maxRequestBodySize: false,
    graphiql: options.graphiql === false ? false : { title: "CLM GraphQL", defaultQuery: FIRST_QUERY },
    logging: yogaLogging(services.log),
    context: async ({ request }) => {
      const scope = currentRequestScope();
      const auth =
        (scope?.auth as RequestAuth | undefined) ??
        (await authenticate(request.headers.get("authorization"), keys, allowAnonymous));
      return {
        auth,
        prisma: services.prisma,
        warehouse: services.warehouse,
        services,
        lifecycle: services.forRequest(),
        clientSignal: request.signal,
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
        useReadiness(services, {
          timeoutMs: readyTimeoutMs,
          reuseMs: options.readyReuseMs,
          perMinute: options.readyPerMinute,
        }),
        "readiness check",
      ),
    ],
  });
}

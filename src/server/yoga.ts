// The GraphQL HTTP handler: /graphql (with GraphiQL for browsers), /health and /ready.
import { AsyncLocalStorage } from "node:async_hooks";
import { randomUUID } from "node:crypto";
import type { Logger } from "pino";
import { renderGraphiQL } from "@graphql-yoga/render-graphiql";
import { GraphQLError, NoSchemaIntrospectionCustomRule } from "graphql";
import {
  createYoga,
  maskError as maskErrorDefault,
  useReadinessCheck,
  type Plugin,
  type YogaServerInstance,
} from "graphql-yoga";
import { WarehouseUnavailableError } from "../../connectors/connector.ts";
import { KeyStore } from "../auth/keys.ts";
import { authenticate } from "../auth/request-auth.ts";
import type { RequestContext, Services } from "../context.ts";
import { useSegmentExport } from "./export.ts";
import { useBodyLimit, useQueryLimits } from "./limits.ts";
import { schema } from "../schema/index.ts";

export const FIRST_QUERY = `# Welcome to the lifecycle analytics server.
# Press the run button (or Ctrl-Enter): how many customers sit in each lifecycle stage today,
# what marketing should do there, and what the warehouse holds. Open "Docs" for every field.
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
}

export type ClmYoga = YogaServerInstance<Record<string, never>, RequestContext>;

async function within<T>(ms: number, what: string, work: Promise<T>): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what} did not answer within ${ms} ms`)), ms);
  });
  try {
    return await Promise.race([work, timeout]);
  } finally {
    clearTimeout(timer);
  }
}

/** Seconds a client is told to wait before retrying when the warehouse does not answer. */
export const WAREHOUSE_RETRY_AFTER_SECONDS = 5;

/**
 * The id of the request being handled, for log lines and error answers. Entered when the request
 * arrives, so everything it causes (resolvers, error masking) reads the same id.
 */
const currentRequestId = new AsyncLocalStorage<string>();

/** A client's own id if it is a plain token, else a fresh one (the header is echoed back). */
function requestIdOf(request: Request): string {
  const given = request.headers.get("x-request-id");
  return given && /^[\w.:-]{1,100}$/.test(given) ? given : randomUUID();
}

/**
 * Internal errors stay masked (yoga's "Unexpected error."), logged whole with the request id, which
 * the client gets too; an unreachable warehouse is said plainly, with retry advice, since the client can
 * act on it.
 */
function errorMasker(log: Logger) {
  return (error: unknown, message: string, isDev?: boolean): Error => {
    const requestId = currentRequestId.getStore();
    const original = error instanceof GraphQLError ? error.originalError : error;
    const where = error instanceof GraphQLError ? { nodes: error.nodes, path: error.path } : {};
    if (original instanceof WarehouseUnavailableError) {
      log.warn({ err: original, requestId }, "warehouse unavailable");
      return new GraphQLError(`the warehouse is unavailable; retry in ${WAREHOUSE_RETRY_AFTER_SECONDS} s`, {
        ...where,
        extensions: { code: "WAREHOUSE_UNAVAILABLE", retryAfterSeconds: WAREHOUSE_RETRY_AFTER_SECONDS, requestId },
      });
    }
    const masked = maskErrorDefault(error, message, isDev);
    if (masked !== error) {
      log.error({ err: original ?? error, requestId, path: where.path }, "internal error");
      if (masked instanceof GraphQLError) Object.assign(masked.extensions, { requestId });
    }
    return masked;
  };
}

/** Every request runs under its id, and the answer carries it in x-request-id. */
const useRequestId: Plugin = {
  onRequest({ request }) {
    currentRequestId.enterWith(requestIdOf(request));
  },
  onResponse({ response }) {
    const id = currentRequestId.getStore();
    if (id) response.headers.set("x-request-id", id);
  },
};

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
  return createYoga<Record<string, never>, RequestContext>({
    schema,
    graphqlEndpoint: "/graphql",
    maskedErrors: { maskError: errorMasker(services.log) },
    healthCheckEndpoint: "/health",
    landingPage: false,
    // GraphiQL's assets inlined from the package: the page works with no network.
    renderGraphiQL,
    graphiql: options.graphiql === false ? false : { title: "CLM GraphQL", defaultQuery: FIRST_QUERY },
    logging: {
      debug: (...args) => services.log.debug(args.map(String).join(" ")),
      info: (...args) => services.log.info(args.map(String).join(" ")),
      warn: (...args) => services.log.warn(args.map(String).join(" ")),
      error: (...args) => services.log.error({ err: args.find((a) => a instanceof Error) }, args.map(String).join(" ")),
    },
    context: async ({ request }) => ({
      auth: await authenticate(request.headers.get("authorization"), keys, allowAnonymous),
      prisma: services.prisma,
      warehouse: services.warehouse,
      lifecycle: services.lifecycle.forRequest(),
      log: services.log,
      requestId: currentRequestId.getStore() ?? requestIdOf(request),
    }),
    plugins: [
      useRequestId,
      useBodyLimit(),
      useQueryLimits(),
      ...(options.introspection === false ? [noIntrospection] : []),
      useSegmentExport(services, (request) => authenticate(request.headers.get("authorization"), keys, allowAnonymous)),
      useReadinessCheck({
        endpoint: "/ready",
        check: async ({ fetchAPI }) => {
          const results = await Promise.allSettled([
            within(readyTimeoutMs, "app database", services.pingAppDatabase()),
            within(readyTimeoutMs, "warehouse", services.warehouse.ping()),
          ]);
          const [appDatabase, warehouse] = results.map((r) => (r.status === "fulfilled" ? "ok" : "unavailable"));
          const ready = results.every((r) => r.status === "fulfilled");
          for (const r of results)
            if (r.status === "rejected") services.log.warn({ err: r.reason }, "readiness check failed");
          return new fetchAPI.Response(JSON.stringify({ ready, appDatabase, warehouse }), {
            status: ready ? 200 : 503,
            headers: { "content-type": "application/json" },
          });
        },
      }),
    ],
  });
}

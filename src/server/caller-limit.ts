// Who asks and how often: the caller's identity and its rate limit, decided as a request arrives.
import type { Plugin } from "graphql-yoga";
import type { KeyStore } from "../auth/keys.ts";
import { authenticate, refusal, type RequestAuth } from "../auth/request-auth.ts";
import { currentRequestScope } from "../request-scope.ts";
import type { ServerMetrics } from "../observability/metrics.ts";
import { rateLimitedResponse, refusalResponse } from "./edge-errors.ts";
import { clientAddress, type RateLimit } from "./rate-limit.ts";
import { pathOf } from "./request-scope-plugin.ts";

/**
 * Who asks, looked up once as the request arrives, and the per-caller rate limit counted then — before
 * parsing, so operations refused by validation or the query limits count too. Per key; without one, per
 * client address (bad keys cannot probe at full speed either). A request with no identity (no key where
 * one is needed, or an unknown, revoked or expired one) is then refused whole, with 401 and the JSON the
 * export answers too (edge-errors.ts refusalResponse); GraphiQL's page still loads.
 */
export function useCallerLimit(
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

// Prometheus' scrape endpoint (GET /metrics) as a yoga plugin, over the registry of observability/metrics.ts.
import { createHash, timingSafeEqual } from "node:crypto";
import type { Plugin } from "graphql-yoga";
import type { ServerMetrics } from "../observability/metrics.ts";
import { codedResponse } from "./edge-errors.ts";

const digest = (text: string) => createHash("sha256").update(text).digest();

/**
 * Prometheus' scrape endpoint: GET /metrics in the text exposition format. With a token, only a request
 * sending it as `Authorization: Bearer <token>` is answered (compared in constant time); others get 401.
 */
export function useMetricsEndpoint(metrics: ServerMetrics, token?: string): Plugin {
  const expected = token === undefined ? undefined : digest(`Bearer ${token}`);
  return {
    async onRequest({ request, url, endResponse }) {
      if (request.method !== "GET" || url.pathname !== "/metrics") return;
      if (expected && !timingSafeEqual(digest(request.headers.get("authorization") ?? ""), expected)) {
        return endResponse(
          codedResponse(
            401,
            "UNAUTHENTICATED",
            "/metrics needs the token: Authorization: Bearer <CLM_METRICS_TOKEN>",
            {},
            { "www-authenticate": "Bearer" },
          ),
        );
      }
      endResponse(
        new Response(await metrics.registry.metrics(), { headers: { "content-type": metrics.registry.contentType } }),
      );
    },
  };
}

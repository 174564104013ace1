// Which browser pages may use the API. Same origin (the dashboard at /dashboard) needs no CORS at all;
// other origins only when listed in CLM_CORS_ORIGINS. yoga's default reflected any Origin with
// credentials allowed, so any web page a user opened could read the answers of a server it can reach.
import type { CORSOptions, Plugin } from "graphql-yoga";
import { codedResponse } from "./edge-errors.ts";

/**
 * yoga's `cors` option: the CORS headers for a listed origin (the key goes in Authorization, so no
 * credentials), none for any other. A preflight from an unlisted origin gets no allow headers, which
 * browsers take as a refusal.
 */
export function corsFor(origins: readonly string[]): (request: Request) => CORSOptions {
  const allowed = new Set(origins);
  return (request: Request) => {
    const origin = request.headers.get("origin");
    if (origin === null || !allowed.has(origin)) return false;
    return {
      origin: [origin],
      methods: ["GET", "POST"],
      allowedHeaders: ["authorization", "content-type", "accept", "x-request-id"],
      exposedHeaders: ["x-request-id", "retry-after"],
      credentials: false,
      maxAge: 600,
    };
  };
}

/**
 * A request a browser says comes from another site (Sec-Fetch-Site), from an origin not listed, is
 * refused before it runs: a form or a text/plain POST from another site needs no preflight, so CORS
 * alone would let it act (as anonymous, where that is allowed) even though it cannot read the answer.
 * Answers vary by Origin, so a cache never hands one origin's CORS headers to another.
 */
export function useCrossSiteGuard(origins: readonly string[]): Plugin {
  const allowed = new Set(origins);
  return {
    onRequest({ request, endResponse }) {
      const origin = request.headers.get("origin");
      const site = request.headers.get("sec-fetch-site");
      if (origin === null || allowed.has(origin) || (site !== "cross-site" && site !== "same-site")) return;
      endResponse(
        codedResponse(
          403,
          "FORBIDDEN",
          `requests from ${origin} are not allowed (CLM_CORS_ORIGINS lists the origins that are)`,
          {},
          { vary: "Origin" },
        ),
      );
    },
    onResponse({ response }) {
      const vary = response.headers.get("vary");
      if (!vary?.split(/,\s*/).includes("Origin")) response.headers.set("vary", vary ? `${vary}, Origin` : "Origin");
    },
  };
}

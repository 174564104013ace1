// GET /dashboard: the lifecycle dashboard, a static page (src/dashboard/) that reads only the public
// GraphQL API, and the ECharts build it draws with, served from node_modules (no CDN, no build step).
// Only the files of a fixed allow-list are served, by exact path: no part of a request's path ever
// reaches the file system, so there is nothing to traverse.
import { createHash } from "node:crypto";
import { readFile } from "node:fs/promises";
import { createRequire } from "node:module";
import { projectPath } from "../config/project-root.ts";
import { gzipSync } from "node:zlib";
import type { Plugin } from "graphql-yoga";

/** Where the page lives; every path served starts with it. */
export const DASHBOARD_PATH = "/dashboard";

/**
 * Scripts, styles, images and connections from this origin only (the page calls /graphql); no inline
 * script or style, no plugins, no framing, no forms posting elsewhere. ECharts draws its tooltips on the
 * canvas (renderMode "richText") because its HTML tooltips carry style attributes.
 */
export const DASHBOARD_CSP = [
  "default-src 'none'",
  "script-src 'self'",
  "style-src 'self'",
  "img-src 'self'",
  "connect-src 'self'",
  "base-uri 'none'",
  "form-action 'none'",
  "frame-ancestors 'none'",
].join("; ");

const SECURITY_HEADERS: Record<string, string> = {
  "content-security-policy": DASHBOARD_CSP,
  "x-content-type-options": "nosniff",
  "x-frame-options": "DENY",
  "referrer-policy": "no-referrer",
  "cross-origin-opener-policy": "same-origin",
  "cross-origin-resource-policy": "same-origin",
  "permissions-policy": "camera=(), microphone=(), geolocation=(), payment=()",
};

interface AssetSpec {
  /** Absolute path of the file. */
  readonly file: string;
  readonly type: string;
  readonly cacheControl: string;
}

const own = (name: string) => projectPath("src", "dashboard", name);
/** The page and its own scripts revalidate on every load (a 304 when unchanged), so a new release shows at once. */
const REVALIDATE = "no-cache";
/** The ECharts build changes only with the package: browsers keep it a day, then revalidate. */
const LIBRARY = "public, max-age=86400";
const JS = "text/javascript; charset=utf-8";

const page: AssetSpec = { file: own("index.html"), type: "text/html; charset=utf-8", cacheControl: REVALIDATE };

/** Every path served, exactly; anything else under /dashboard/ is a 404. */
const ASSETS: ReadonlyMap<string, AssetSpec> = new Map([
  [DASHBOARD_PATH, page],
  [`${DASHBOARD_PATH}/`, page],
  [`${DASHBOARD_PATH}/dashboard.js`, { file: own("dashboard.js"), type: JS, cacheControl: REVALIDATE }],
  [`${DASHBOARD_PATH}/queries.js`, { file: own("queries.js"), type: JS, cacheControl: REVALIDATE }],
  [
    `${DASHBOARD_PATH}/dashboard.css`,
    { file: own("dashboard.css"), type: "text/css; charset=utf-8", cacheControl: REVALIDATE },
  ],
  [`${DASHBOARD_PATH}/favicon.svg`, { file: own("favicon.svg"), type: "image/svg+xml", cacheControl: LIBRARY }],
  [
    `${DASHBOARD_PATH}/echarts.min.js`,
    {
      file: createRequire(import.meta.url).resolve("echarts/dist/echarts.min.js"),
      type: JS,
      cacheControl: LIBRARY,
    },
  ],
]);

/** The paths the dashboard serves (for tests and docs). */
export const DASHBOARD_ASSETS: readonly string[] = [...ASSETS.keys()];

/** One representation of a file: its bytes and strong ETag. */
interface Representation {
  readonly body: Uint8Array<ArrayBuffer>;
  readonly etag: string;
}

interface LoadedAsset {
  readonly identity: Representation;
  /** Gzipped, for clients that accept it (text files over 1 KB). */
  readonly gzip: Representation | undefined;
}

function representation(body: Uint8Array<ArrayBuffer>): Representation {
  const hash = createHash("sha256").update(body).digest("base64url").slice(0, 27);
  return { body, etag: `"${hash}"` };
}

async function load(spec: AssetSpec): Promise<LoadedAsset> {
  const bytes = new Uint8Array(await readFile(spec.file));
  const identity = representation(bytes);
  // Every file here is text; small ones are not worth compressing.
  if (bytes.byteLength <= 1024) return { identity, gzip: undefined };
  const gzip = new Uint8Array(gzipSync(bytes, { level: 9 }));
  return { identity, gzip: { body: gzip, etag: `${identity.etag.slice(0, -1)}-gz"` } };
}

/** Whether an If-None-Match header names this ETag (or is `*`). */
function matches(ifNoneMatch: string | null, etag: string): boolean {
  if (!ifNoneMatch) return false;
  return ifNoneMatch
    .split(",")
    .map((tag) => tag.trim().replace(/^W\//, ""))
    .some((tag) => tag === "*" || tag === etag);
}

function acceptsGzip(header: string | null): boolean {
  return (header ?? "")
    .split(",")
    .map((part) => part.trim().split(";"))
    .some(
      ([coding, ...params]) =>
        coding?.trim().toLowerCase() === "gzip" && !params.some((p) => /^\s*q=0(\.0*)?\s*$/.test(p)),
    );
}

function plain(status: number, text: string, extra: Record<string, string> = {}): Response {
  return new Response(text, {
    status,
    headers: {
      ...SECURITY_HEADERS,
      "content-type": "text/plain; charset=utf-8",
      "cache-control": "no-store",
      ...extra,
    },
  });
}

/**
 * Serves the dashboard beside /graphql: GET and HEAD only, files read once and kept in memory (about
 * 1.2 MB, most of it ECharts; gzipped copies too), with ETags (304 on revalidation) and the page's
 * security headers. No key is needed for the files themselves: they hold no data, and the page asks
 * the GraphQL API, which checks the key, for every number. A file that cannot be read fails as every
 * route's failure does (edge-errors.ts): a coded 500, logged with the request id.
 */
export function useDashboard(): Plugin {
  const loaded = new Map<string, Promise<LoadedAsset>>();
  const assetOf = (spec: AssetSpec) => {
    let asset = loaded.get(spec.file);
    if (!asset) {
      asset = load(spec);
      loaded.set(spec.file, asset);
      // A failed read is retried on the next request rather than remembered.
      asset.catch(() => loaded.delete(spec.file));
    }
    return asset;
  };
  return {
    async onRequest({ request, url, endResponse }) {
      const path = url.pathname;
      // The server's root leads to the page (a browser pointed at the server got an empty 404).
      if (path === "/" && (request.method === "GET" || request.method === "HEAD")) {
        endResponse(new Response(null, { status: 302, headers: { location: `${DASHBOARD_PATH}${url.search}` } }));
        return;
      }
      if (path !== DASHBOARD_PATH && !path.startsWith(`${DASHBOARD_PATH}/`)) return;
      const spec = ASSETS.get(path);
      if (!spec) {
        endResponse(plain(404, "Not found\n"));
        return;
      }
      if (request.method !== "GET" && request.method !== "HEAD") {
        endResponse(plain(405, "Method not allowed\n", { allow: "GET, HEAD" }));
        return;
      }
      const asset = await assetOf(spec);
      const gzip = asset.gzip && acceptsGzip(request.headers.get("accept-encoding")) ? asset.gzip : undefined;
      const chosen = gzip ?? asset.identity;
      const headers: Record<string, string> = {
        ...SECURITY_HEADERS,
        "content-type": spec.type,
        "cache-control": spec.cacheControl,
        etag: chosen.etag,
        vary: "accept-encoding",
      };
      if (gzip) headers["content-encoding"] = "gzip";
      if (matches(request.headers.get("if-none-match"), chosen.etag)) {
        endResponse(new Response(null, { status: 304, headers }));
        return;
      }
      headers["content-length"] = String(chosen.body.byteLength);
      endResponse(new Response(request.method === "HEAD" ? null : chosen.body, { status: 200, headers }));
    },
  };
}

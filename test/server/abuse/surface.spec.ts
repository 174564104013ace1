// Abuse class "a larger surface than needed": what a stranger's web page, a scanner or a prober could
// reach or learn. CORS only for listed origins; /metrics behind its token; /ready cheap and limited under
// a flood; no "Did you mean" names with introspection off; limit errors that say which limit; no key, a
// bad or a revoked one answered alike on GraphQL and the export.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { KeyStore } from "../../../src/auth/keys.ts";
import { ConfigError, loadEnv } from "../../../src/config/env.ts";
import { READY_PER_MINUTE } from "../../../src/server/readiness.ts";
import { startTestServer, type TestServer } from "../../helpers/server.ts";

const ALLOWED = "https://bi.example.com";
const FOREIGN = "https://evil.example";
const METRICS_TOKEN = "scrape-0123456789abcdef";

/** The server as production runs it: keys needed, introspection off, an allow-list, a metrics token. */
let hardened: TestServer;
/** The defaults (anonymous demo access, introspection on, no origins listed). */
let open: TestServer;
let admin: string;
let segmentId: string;

beforeAll(async () => {
  [hardened, open] = await Promise.all([
    startTestServer({
      customers: 40,
      allowAnonymous: false,
      yoga: { introspection: false, corsOrigins: [ALLOWED], metricsToken: METRICS_TOKEN },
    }),
    startTestServer({ customers: 40 }),
  ]);
  admin = (await new KeyStore(hardened.appDb.prisma).create("admin", "surface")).secret;
  const created = await post(
    hardened,
    `mutation { createSegment(input: { name: "surface", definition: { field: "stage", op: "eq", value: "new" } }) { id } }`,
    { authorization: `Bearer ${admin}` },
  );
  segmentId = ((await created.json()) as { data: { createSegment: { id: string } } }).data.createSegment.id;
});
afterAll(async () => {
  await Promise.all([hardened?.close(), open?.close()]);
});

function post(server: TestServer, query: string, headers: Record<string, string> = {}, variables?: unknown) {
  return server.yoga.fetch("http://test/graphql", {
    method: "POST",
    headers: { "content-type": "application/json", ...headers },
    body: JSON.stringify({ query, variables }),
  });
}

type Answer = { data?: unknown; errors?: { message: string; extensions?: Record<string, unknown> }[] };

describe("CORS: same origin by default, listed origins only", () => {
  const preflight = (server: TestServer, origin: string) =>
    server.yoga.fetch("http://test/graphql", {
      method: "OPTIONS",
      headers: {
        origin,
        "access-control-request-method": "POST",
        "access-control-request-headers": "authorization, content-type",
      },
    });

  it("gives a foreign origin no CORS headers, refuses its preflight, and refuses its cross-site request", async () => {
    for (const server of [hardened, open]) {
      const refused = await preflight(server, FOREIGN);
      for (const header of [
        "access-control-allow-origin",
        "access-control-allow-headers",
        "access-control-allow-methods",
        "access-control-allow-credentials",
      ])
        expect(refused.headers.get(header), header).toBeNull();
      // Without Sec-Fetch-Site (not a browser, or an old one) it runs, but a page could not read it.
      // (The key is the hardened server's; the default one lets anonymous requests in.)
      const key: Record<string, string> = server === hardened ? { authorization: `Bearer ${admin}` } : {};
      const read = await post(server, "{ __typename }", { origin: FOREIGN, ...key });
      expect(read.status).toBe(200);
      expect(read.headers.get("access-control-allow-origin")).toBeNull();
      expect(read.headers.get("access-control-allow-credentials")).toBeNull();
      // A browser says it comes from another site: refused before it runs (a form POST needs no preflight).
      const form = await post(server, `{ __typename }`, { origin: FOREIGN, "sec-fetch-site": "cross-site" });
      expect(form.status).toBe(403);
      expect(((await form.json()) as Answer).errors![0]!.extensions!.code).toBe("FORBIDDEN");
    }
    // No list: even the origin the hardened server allows is foreign to the default one.
    expect((await preflight(open, ALLOWED)).headers.get("access-control-allow-origin")).toBeNull();
  });

  it("lets a listed origin's preflight and request pass, with no credentials", async () => {
    const allowed = await preflight(hardened, ALLOWED);
    expect(allowed.headers.get("access-control-allow-origin")).toBe(ALLOWED);
    expect(allowed.headers.get("access-control-allow-headers")).toMatch(/authorization/);
    expect(allowed.headers.get("access-control-allow-methods")).toMatch(/POST/);
    const read = await post(hardened, "{ __typename }", {
      origin: ALLOWED,
      "sec-fetch-site": "cross-site",
      authorization: `Bearer ${admin}`,
    });
    expect(read.status).toBe(200);
    expect(read.headers.get("access-control-allow-origin")).toBe(ALLOWED);
    expect(read.headers.get("access-control-allow-credentials")).toBeNull();
    expect(read.headers.get("vary")).toMatch(/Origin/);
  });

  it("serves the same origin (the dashboard) as before", async () => {
    const same = await post(open, "{ __typename }", { origin: "http://test", "sec-fetch-site": "same-origin" });
    expect(same.status).toBe(200);
    expect(((await same.json()) as Answer).data).toEqual({ __typename: "Query" });
  });

  it("reads CLM_CORS_ORIGINS as exact origins and refuses anything else", () => {
    expect(loadEnv({}).corsOrigins).toEqual([]);
    expect(loadEnv({ CLM_CORS_ORIGINS: "https://a.example, http://127.0.0.1:8080" }).corsOrigins).toEqual([
      "https://a.example",
      "http://127.0.0.1:8080",
    ]);
    for (const bad of ["*", "https://a.example/", "a.example", "https://a.example/path", "ftp://a.example"])
      expect(() => loadEnv({ CLM_CORS_ORIGINS: bad }), bad).toThrow(ConfigError);
  });
});

describe("/metrics behind a token", () => {
  it("refuses a scrape without the token or with a wrong one, and answers the right one", async () => {
    const scrape = (authorization?: string) =>
      hardened.yoga.fetch("http://test/metrics", { headers: authorization ? { authorization } : {} });
    for (const authorization of [undefined, "Bearer wrong", `Bearer ${METRICS_TOKEN}x`, METRICS_TOKEN]) {
      const refused = await scrape(authorization);
      expect(refused.status, String(authorization)).toBe(401);
      expect(await refused.text()).not.toMatch(/clm_http_requests_total/);
    }
    const allowed = await scrape(`Bearer ${METRICS_TOKEN}`);
    expect(allowed.status).toBe(200);
    expect(await allowed.text()).toMatch(/clm_http_requests_total/);
  });

  it("is off in production unless a token is set or CLM_METRICS=1 says so", () => {
    expect(loadEnv({ NODE_ENV: "production" }).metrics).toBe(false);
    expect(loadEnv({ NODE_ENV: "production", CLM_METRICS_TOKEN: METRICS_TOKEN })).toMatchObject({
      metrics: true,
      metricsToken: METRICS_TOKEN,
    });
    expect(loadEnv({ NODE_ENV: "production", CLM_METRICS: "1" }).metrics).toBe(true);
    expect(loadEnv({}).metrics).toBe(true);
    expect(() => loadEnv({ CLM_METRICS_TOKEN: "short" })).toThrow(ConfigError);
  });
});

describe("/ready under a flood", () => {
  it("shares one check among 200 callers at once and refuses those over the limit with 429", async () => {
    let pings = 0;
    const appDb = open.appDb as { ping(): Promise<void> };
    const ping = appDb.ping.bind(appDb);
    appDb.ping = async () => {
      pings++;
      await ping();
    };
    const answers = await Promise.all(Array.from({ length: 200 }, () => open.yoga.fetch("http://test/ready")));
    const statuses = answers.map((a) => a.status);
    expect(statuses.filter((s) => s === 200)).toHaveLength(READY_PER_MINUTE);
    const limited = answers.filter((a) => a.status === 429);
    expect(limited).toHaveLength(200 - READY_PER_MINUTE);
    expect(Number(limited[0]!.headers.get("retry-after"))).toBeGreaterThan(0);
    expect(await limited[0]!.json()).toMatchObject({
      errors: [{ extensions: { code: "RATE_LIMITED", retryAfterSeconds: expect.any(Number) } }],
    });
    expect(await answers.find((a) => a.status === 200)!.json()).toMatchObject({ ready: true, appDatabase: "ok" });
    // One app-database round trip for the whole flood (two if it straddled the end of a reuse window).
    expect(pings).toBeGreaterThanOrEqual(1);
    expect(pings).toBeLessThanOrEqual(2);
  });
});

describe("no suggestions with introspection off", () => {
  // Each of these makes graphql-js suggest a name of the schema.
  const probes: { what: string; query: string; variables?: Record<string, unknown> }[] = [
    { what: "unknown field", query: `{ stagez { key } }` },
    { what: "unknown argument", query: `{ stages(asof: "2026-06-30") { key } }` },
    { what: "unknown type in variables", query: `query ($d: Dat) { stages(asOf: $d) { key } }` },
    { what: "enum value", query: `mutation { createApiKey(role: VIEWR) { secret } }` },
    {
      what: "enum value in variables",
      query: `mutation ($r: ApiKeyRole!) { createApiKey(role: $r) { secret } }`,
      variables: { r: "VIEWR" },
    },
    { what: "input field", query: `{ segments(filter: { nameContain: "x" }) { totalCount } }` },
    {
      what: "input field in variables",
      query: `query ($f: SegmentFilter) { segments(filter: $f) { totalCount } }`,
      variables: { f: { nameContain: "x" } },
    },
  ];

  it("names nothing in any error, however it was provoked", async () => {
    for (const { what, query, variables } of probes) {
      const body = (await (
        await post(hardened, query, { authorization: `Bearer ${admin}` }, variables)
      ).json()) as Answer;
      expect(body.errors?.length, what).toBeGreaterThan(0);
      for (const error of body.errors!) expect(error.message, what).not.toMatch(/Did you mean|Suggestion hidden/);
    }
  });

  it("still suggests with introspection on (the schema is public there)", async () => {
    const body = (await (await post(open, probes[4]!.query, {}, probes[4]!.variables)).json()) as Answer;
    expect(body.errors![0]!.message).toMatch(/Did you mean the enum value "VIEWER"\?/);
  });
});

describe("limit errors say which limit", () => {
  it("starts every QUERY_TOO_EXPENSIVE message with what was exceeded, not 'Syntax Error:'", async () => {
    const tokens = `{ ${Array.from({ length: 2_600 }, (_, i) => `a${i}: __typename`).join(" ")} }`;
    const deep = `{ ${"stages { customers { edges { node { stage { ".repeat(3)} key ${"} } } } }".repeat(3)} }`;
    for (const [query, start] of [
      [tokens, /^Token limit of 5000 exceeded/],
      [deep, /^Query depth limit of 12 exceeded/],
    ] as const) {
      const body = (await (await post(open, query)).json()) as Answer;
      expect(body.errors![0]!.extensions!.code).toBe("QUERY_TOO_EXPENSIVE");
      expect(body.errors![0]!.message).not.toMatch(/Syntax Error/);
      expect(body.errors![0]!.message).toMatch(start);
    }
  });
});

describe("authentication refused alike on GraphQL and the export", () => {
  it("answers no key, a made-up key and a revoked key with the same status, code and body shape on both", async () => {
    const keys = new KeyStore(hardened.appDb.prisma);
    const revoked = await keys.create("viewer", "to revoke");
    await keys.revoke(revoked.key.id);
    for (const [what, headers, message] of [
      ["no key", {}, /API key is required/],
      ["made-up key", { authorization: "Bearer clm_madeup" }, /unknown or revoked/],
      ["revoked key", { authorization: `Bearer ${revoked.secret}` }, /unknown or revoked/],
    ] as const) {
      const graphql = await post(hardened, `{ stages(asOf: "2026-06-30") { key } }`, headers);
      const exported = await hardened.yoga.fetch(`http://test/segments/${segmentId}/members.csv`, { headers });
      expect(graphql.status, what).toBe(401);
      expect(exported.status, what).toBe(401);
      for (const response of [graphql, exported]) {
        expect(response.headers.get("www-authenticate"), what).toMatch(/^Bearer/);
        const body = (await response.json()) as Answer;
        expect(body.errors![0]!.extensions!.code, what).toBe("UNAUTHENTICATED");
        expect(body.errors![0]!.message, what).toMatch(message);
      }
    }
  });
});

// The lifecycle dashboard (GET /dashboard): its files, headers and allow-list through the server, and
// the page itself in a real headless Chromium (Debian's, driven by playwright-core) against the demo
// data: every chart drawn with the numbers the API gives, a saved segment narrowing every card, the
// API key sent as a Bearer header, and GraphQL errors shown in the page.
//
// Without /usr/bin/chromium the browser tests are skipped, unless CLM_REQUIRE_BROWSER=1 (CI), which
// makes them fail instead.
import { createHash } from "node:crypto";
import { existsSync, mkdirSync, readFileSync } from "node:fs";
import { createServer, request as httpRequest, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { createRequire } from "node:module";
import { fileURLToPath } from "node:url";
import { gunzipSync } from "node:zlib";
import { chromium, type Browser, type Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { KeyStore } from "../../src/auth/keys.ts";
import { addDays } from "../../src/lifecycle/calendar.ts";
import { DASHBOARD_ASSETS, DASHBOARD_CSP } from "../../src/server/dashboard.ts";
import { DEMO_END_DATE, startTestServer, type TestServer } from "../helpers/server.ts";
import { SALES_FUNNEL_DISPLAY_ORDER } from "../fixtures/sales-funnel.ts";

/** Debian's chromium (CLM_CHROMIUM_PATH names another build, e.g. on a developer's machine). */
const CHROMIUM = process.env.CLM_CHROMIUM_PATH || "/usr/bin/chromium";
const CHROMIUM_ARGS = [
  "--headless",
  "--no-sandbox",
  "--disable-gpu",
  "--disable-quic",
  "--no-first-run",
  // Without these Chromium's own connections (updates, sync, field trials) are refused on a closed network.
  "--disable-background-networking",
  "--disable-component-update",
  "--disable-sync",
];
const REQUIRE_BROWSER = process.env.CLM_REQUIRE_BROWSER === "1";
const HAVE_BROWSER = existsSync(CHROMIUM);
/** The cards that ask the API for their numbers on every render (the customer card only when asked, RFM aside). */
const QUERY_CARDS = [
  "metrics",
  "stages",
  "series",
  "trend",
  "funnel",
  "transitions",
  "ranked",
  "changes",
  "cohorts",
  "clv",
];
const OUTPUT = fileURLToPath(new URL("../output/", import.meta.url));

/** The demo size `npm start` serves. */
const CUSTOMERS = 5000;
const AS_OF = DEMO_END_DATE; // 2026-06-30
/** What the page asks for with its default 90-day period on AS_OF. */
const PERIOD = { from: "2026-04-02", to: AS_OF };
const PREVIOUS = { from: "2026-01-02", to: "2026-04-01" };
const TRANSITIONS_FROM = "2026-04-01";
const COHORTS_FROM = "2025-07-01";
const PAID_SEARCH = { field: "acquisitionChannel", op: "eq", value: "paid_search" };

let server: TestServer;
let http: Server;
let origin: string;
let segmentId: string;

/** The test server on a loopback port for Chromium: its origin, and the HTTP server closeLoopback ends. */
async function listenOnLoopback(testServer: TestServer): Promise<{ http: Server; origin: string }> {
  const http = createServer(testServer.yoga);
  http.listen(0, "127.0.0.1");
  await new Promise((resolve) => http.once("listening", resolve));
  return { http, origin: `http://127.0.0.1:${(http.address() as AddressInfo).port}` };
}

async function closeLoopback(http: Server | undefined): Promise<void> {
  http?.closeAllConnections();
  await new Promise((resolve) => (http ? http.close(resolve) : resolve(undefined)));
}

beforeAll(async () => {
  server = await startTestServer({ customers: CUSTOMERS });
  // As `npm start` does for the demo: a baseline four weeks back, then the day the page reads from the
  // state store; the second refresh writes the month's stage changes to the outbox.
  await server.services.state.refresh({ stateDay: addDays(AS_OF, -28), full: true });
  await server.services.state.refresh({ stateDay: AS_OF });
  ({ http, origin } = await listenOnLoopback(server));
  const created = await server.graphql<{ createSegment: { id: string } }>(
    `mutation($input: CreateSegmentInput!) { createSegment(input: $input) { id } }`,
    { input: { name: "Paid search", description: "Acquired through paid search", definition: PAID_SEARCH } },
  );
  expect(created.errors).toBeUndefined();
  segmentId = created.data!.createSegment.id;
});

afterAll(async () => {
  await closeLoopback(http);
  await server?.close();
});

const get = (path: string, init: RequestInit = {}) => server.yoga.fetch(`http://test${path}`, init);

/** A request with the path sent exactly as written (fetch and URL would normalise dot segments). */
function raw(path: string, method = "GET"): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = httpRequest(`${origin}/`, { method, path }, (res) => {
      let body = "";
      res.setEncoding("utf8");
      res.on("data", (chunk) => (body += chunk));
      res.on("end", () => resolve({ status: res.statusCode ?? 0, body }));
    });
    req.on("error", reject);
    req.end();
  });
}

describe("GET /dashboard and its files", () => {
  it("serves the page with its security headers, referring only to files it serves", async () => {
    const response = await get("/dashboard");
    expect(response.status).toBe(200);
    expect(response.headers.get("content-type")).toBe("text/html; charset=utf-8");
    expect(response.headers.get("content-security-policy")).toBe(DASHBOARD_CSP);
    expect(DASHBOARD_CSP).toContain("script-src 'self'");
    expect(DASHBOARD_CSP).not.toContain("unsafe");
    expect(response.headers.get("x-content-type-options")).toBe("nosniff");
    expect(response.headers.get("x-frame-options")).toBe("DENY");
    expect(response.headers.get("referrer-policy")).toBe("no-referrer");
    expect(response.headers.get("cache-control")).toBe("no-cache");
    const html = await response.text();
    expect(html).toContain('<script type="module" src="/dashboard/dashboard.js"></script>');
    // Nothing from the network: every src and href is one of the served files.
    const refs = [...html.matchAll(/\b(?:src|href)="([^"]+)"/g)].map((m) => m[1]!);
    expect(refs.length).toBeGreaterThanOrEqual(4);
    for (const ref of refs) expect(DASHBOARD_ASSETS, ref).toContain(ref);
    // The module's own imports are served too.
    const script = await (await get("/dashboard/dashboard.js")).text();
    const imports = [...script.matchAll(/^import .* from "\.\/([\w.-]+)";$/gm)].map((m) => `/dashboard/${m[1]}`);
    expect(imports).toEqual(["/dashboard/queries.js"]);
    for (const path of imports) expect(DASHBOARD_ASSETS).toContain(path);
    expect((await get("/dashboard/")).status).toBe(200);
  });

  it("serves each file with its content type, an ETag and caching headers; ECharts from node_modules", async () => {
    const types: Record<string, string> = {
      js: "text/javascript; charset=utf-8",
      css: "text/css; charset=utf-8",
      svg: "image/svg+xml",
      html: "text/html; charset=utf-8",
    };
    for (const path of DASHBOARD_ASSETS) {
      const response = await get(path);
      expect(response.status, path).toBe(200);
      const ext = path.endsWith("/") || path === "/dashboard" ? "html" : path.split(".").pop()!;
      expect(response.headers.get("content-type"), path).toBe(types[ext]);
      expect(response.headers.get("etag"), path).toMatch(/^"[\w-]{27}"$/);
      expect(response.headers.get("content-security-policy"), path).toBe(DASHBOARD_CSP);
      expect(response.headers.get("x-content-type-options"), path).toBe("nosniff");
      expect((await response.arrayBuffer()).byteLength, path).toBe(Number(response.headers.get("content-length")));
    }
    const echarts = await get("/dashboard/echarts.min.js");
    expect(echarts.headers.get("cache-control")).toBe("public, max-age=86400");
    const file = readFileSync(createRequire(import.meta.url).resolve("echarts/dist/echarts.min.js"));
    const served = Buffer.from(await echarts.arrayBuffer());
    expect(createHash("sha256").update(served).digest("hex")).toBe(createHash("sha256").update(file).digest("hex"));
  });

  it("answers HEAD without a body, revalidation with 304, and gzip when asked", async () => {
    const full = await get("/dashboard/echarts.min.js");
    const length = full.headers.get("content-length");
    const etag = full.headers.get("etag")!;
    const head = await get("/dashboard/echarts.min.js", { method: "HEAD" });
    expect(head.status).toBe(200);
    expect(head.headers.get("content-length")).toBe(length);
    expect(head.headers.get("etag")).toBe(etag);
    expect((await head.arrayBuffer()).byteLength).toBe(0);
    const again = await get("/dashboard/echarts.min.js", { headers: { "if-none-match": etag } });
    expect(again.status).toBe(304);
    expect(again.headers.get("etag")).toBe(etag);
    expect((await again.arrayBuffer()).byteLength).toBe(0);
    const gzipped = await get("/dashboard/echarts.min.js", { headers: { "accept-encoding": "gzip, br" } });
    expect(gzipped.headers.get("content-encoding")).toBe("gzip");
    // Origin too: whether an answer may be read cross-origin depends on it (server/cors.ts).
    expect(gzipped.headers.get("vary")?.split(/,\s*/).sort()).toEqual(["Origin", "accept-encoding"]);
    expect(gzipped.headers.get("etag")).not.toBe(etag);
    const body = Buffer.from(await gzipped.arrayBuffer());
    expect(body.byteLength).toBeLessThan(Number(length) / 2);
    expect(gunzipSync(body).byteLength).toBe(Number(length));
  });

  it("refuses other methods with 405 and answers 404 for any other name under /dashboard/", async () => {
    const post = await get("/dashboard", { method: "POST", body: "x" });
    expect(post.status).toBe(405);
    expect(post.headers.get("allow")).toBe("GET, HEAD");
    for (const path of [
      "/dashboard/index.html",
      "/dashboard/nope.js",
      "/dashboard/dashboard.js/",
      "/dashboard/echarts.js",
      "/dashboard/DASHBOARD.JS",
    ]) {
      const response = await get(path);
      expect(response.status, path).toBe(404);
      expect(response.headers.get("content-security-policy"), path).toBe(DASHBOARD_CSP);
    }
    expect((await get("/dashboardx")).status).toBe(404);
    // The server's root leads to the page, its query kept; other methods there are the API's business.
    const root = await get("/?asOf=2026-06-30", { redirect: "manual" });
    expect(root.status).toBe(302);
    expect(root.headers.get("location")).toBe("/dashboard?asOf=2026-06-30");
    expect((await get("/", { method: "POST", body: "x" })).status).toBe(404);
    // The API beside it is untouched.
    expect((await server.graphql<{ stages: unknown[] }>("{ stages { key } }")).data!.stages).toHaveLength(8);
  });

  it("cannot be walked out of: traversal attempts sent raw reach no file", async () => {
    for (const path of [
      "/dashboard/../package.json",
      "/dashboard/../../package.json",
      "/dashboard/%2e%2e/package.json",
      "/dashboard/%2e%2e/%2e%2e/package.json",
      "/dashboard/..%2fpackage.json",
      "/dashboard/..%2f..%2fpackage.json",
      "/dashboard/..%5c..%5cpackage.json",
      "/dashboard/..\\..\\package.json",
      "/dashboard/echarts.min.js/../../../package.json",
      "/dashboard//etc/passwd",
      "/dashboard/%00dashboard.js",
      "/dashboard/....//....//package.json",
      "/dashboard/node_modules/echarts/package.json",
    ]) {
      const response = await raw(path);
      // A NUL in the path is refused as bad input before any route (src/server/input-hygiene.ts).
      expect(response.status, path).toBe(path.includes("%00") ? 400 : 404);
      expect(response.body, path).not.toContain("clm-graphql");
      expect(response.body, path).not.toContain("root:");
    }
  });
});

// ------------------------------------------------------------------------------------------ browser

interface ChartState {
  name: string;
  exists: boolean;
  width: number;
  height: number;
  /** Elements ECharts drew (bars, cells, labels, axes). */
  drawn: number;
  /** Share of the canvas' pixels painted. */
  painted: number;
  /** Each series' data as plain values (the `value` of data items). */
  series: unknown[][];
}

const CHARTS = ["stages", "series", "trend", "funnel", "transitions", "cohorts", "clv", "rfmGrid", "rfmSegments"];

/**
 * Headless Chromium with one page that may fetch only from `origin`; page errors, console errors, failed
 * or outside requests and HTTP errors go to `problems`, CSP violations to window.cspViolations.
 */
async function openDashboardBrowser(origin: string, problems: string[]): Promise<{ browser: Browser; page: Page }> {
  const browser = await chromium.launch({ executablePath: CHROMIUM, args: CHROMIUM_ARGS, timeout: 30_000 });
  const context = await browser.newContext({ viewport: { width: 1400, height: 900 }, reducedMotion: "reduce" });
  // Nothing may be fetched from anywhere but this server.
  await context.route("**/*", (route) => {
    const url = route.request().url();
    if (url.startsWith(`${origin}/`)) return route.continue();
    problems.push(`request outside the server: ${url}`);
    return route.abort();
  });
  await context.addInitScript(() => {
    document.addEventListener("securitypolicyviolation", (e) => {
      (window as unknown as { cspViolations: string[] }).cspViolations ??= [];
      (window as unknown as { cspViolations: string[] }).cspViolations.push(`${e.violatedDirective} ${e.blockedURI}`);
    });
  });
  const page = await context.newPage();
  page.on("pageerror", (error) => problems.push(`page error: ${error.message}`));
  page.on("console", (message) => {
    if (message.type() === "error") problems.push(`console error: ${message.text()}`);
  });
  page.on("requestfailed", (request) => problems.push(`failed: ${request.url()} ${request.failure()?.errorText}`));
  page.on("response", (response) => {
    if (response.status() >= 400) problems.push(`HTTP ${response.status()}: ${response.url()}`);
  });
  return { browser, page };
}

/** Every chart as ECharts holds it, and how much of its canvas is painted. */
function chartStates(page: Page): Promise<ChartState[]> {
  return page.evaluate((names) => {
    const echarts = (window as unknown as { echarts: any }).echarts;
    return names.map((name) => {
      const el = document.querySelector<HTMLElement>(`[data-chart="${name}"]`)!;
      const chart = echarts.getInstanceByDom(el);
      if (!chart) return { name, exists: false, width: 0, height: 0, drawn: 0, painted: 0, series: [] };
      const canvas = el.querySelector("canvas");
      const pixels =
        canvas && canvas.width > 0 && canvas.height > 0
          ? canvas.getContext("2d")!.getImageData(0, 0, canvas.width, canvas.height).data
          : new Uint8ClampedArray(4);
      let painted = 0;
      for (let i = 3; i < pixels.length; i += 4) if (pixels[i]! > 0) painted++;
      const option = chart.getOption();
      return {
        name,
        exists: true,
        width: chart.getWidth(),
        height: chart.getHeight(),
        drawn: chart.getZr().storage.getDisplayList(true).length,
        painted: painted / (pixels.length / 4),
        series: option.series.map((s: { data: unknown[] }) =>
          s.data.map((d) => (d !== null && typeof d === "object" && "value" in d ? d.value : d)),
        ),
      };
    });
  }, CHARTS);
}

/**
 * The text elements of a chart that reach past its left or right edge: [text, left, right, width]
 * (zrender's own elements, as painted; labels cut off by the canvas edge were not readable).
 */
function clippedLabels(page: Page, name: string): Promise<[string, number, number, number][]> {
  return page.evaluate((chartName) => {
    const echarts = (window as unknown as { echarts: any }).echarts;
    const chart = echarts.getInstanceByDom(document.querySelector(`[data-chart="${chartName}"]`));
    const width = chart.getWidth();
    const out: [string, number, number, number][] = [];
    chart
      .getZr()
      .storage.getDisplayList(true)
      .forEach((el: any) => {
        // Rich text is painted as one tspan per run.
        if ((el.type !== "text" && el.type !== "tspan") || el.invisible || !el.style?.text?.trim()) return;
        const rect = el.getBoundingRect().clone();
        if (el.transform) rect.applyTransform(el.transform);
        if (rect.x < 0 || rect.x + rect.width > width)
          out.push([String(el.style.text), Math.round(rect.x), Math.round(rect.x + rect.width), width]);
      });
    return out;
  }, name);
}

/** Waits for the page to finish its next render after `before` renders (the page's own marker). */
async function nextRender(page: Page, before: number): Promise<{ errors: number; segment: string }> {
  await page.waitForFunction(
    (n) => document.body.dataset.state === "rendered" && Number(document.body.dataset.renders) > n,
    before,
    { timeout: 30_000 },
  );
  return page.evaluate(() => ({
    errors: Number(document.body.dataset.errors),
    segment: document.body.dataset.segment ?? "",
  }));
}

const renders = (page: Page) => page.evaluate(() => Number(document.body.dataset.renders ?? 0));

function expectEveryChartDrawn(states: ChartState[]) {
  expect(states.map((s) => s.name)).toEqual(CHARTS);
  for (const s of states) {
    expect(s.exists, `${s.name}: an ECharts instance`).toBe(true);
    expect(s.width, `${s.name}: width`).toBeGreaterThan(200);
    expect(s.height, `${s.name}: height`).toBeGreaterThan(200);
    expect(s.series.length, `${s.name}: series`).toBeGreaterThan(0);
    expect(s.series[0]!.length, `${s.name}: data`).toBeGreaterThan(0);
    expect(s.drawn, `${s.name}: elements drawn`).toBeGreaterThan(s.series[0]!.length);
    expect(s.painted, `${s.name}: painted share of the canvas`).toBeGreaterThan(0.03);
  }
}

const chart = (states: ChartState[], name: string) => states.find((s) => s.name === name)!;

interface Stage {
  key: string;
  count: number;
}

// CI sets CLM_REQUIRE_BROWSER=1: a missing browser is then a failed test, not four skipped ones.
it("has Chromium for the browser tests when CLM_REQUIRE_BROWSER=1", () => {
  expect(
    HAVE_BROWSER || !REQUIRE_BROWSER,
    `CLM_REQUIRE_BROWSER=1 but ${CHROMIUM} is missing: apt-get install -y chromium`,
  ).toBe(true);
});

describe.skipIf(!HAVE_BROWSER)("the dashboard in headless Chromium", () => {
  let browser: Browser;
  let page: Page;
  /** Page errors, console errors, failed or outside requests, CSP violations. */
  const problems: string[] = [];

  beforeAll(async () => {
    ({ browser, page } = await openDashboardBrowser(origin, problems));
  }, 60_000);

  afterAll(async () => {
    await browser?.close();
  });

  it("draws every chart with the demo numbers the API gives", { timeout: 60_000 }, async () => {
    await page.goto(`${origin}/dashboard?asOf=${AS_OF}`);
    expect(await nextRender(page, 0)).toEqual({ errors: 0, segment: "" });
    const states = await chartStates(page);
    expectEveryChartDrawn(states);
    // Every label of the funnel is inside the chart (they ran off its right edge), here and in a
    // window where two cards of the narrowest width (540 px) share a row.
    expect(await clippedLabels(page, "funnel")).toEqual([]);
    await page.setViewportSize({ width: 1180, height: 900 });
    try {
      await page.waitForFunction(() => {
        const el = document.querySelector('[data-chart="funnel"]') as HTMLElement;
        const chart = (window as unknown as { echarts: any }).echarts.getInstanceByDom(el);
        return chart.getWidth() === el.clientWidth && el.clientWidth < 600;
      });
      expect(await clippedLabels(page, "funnel")).toEqual([]);
    } finally {
      await page.setViewportSize({ width: 1400, height: 900 });
    }

    const { data, errors } = await server.graphql<{
      stages: Stage[];
      funnel: { reached: number }[];
      stageTransitions: { count: number }[];
      cohorts: { months: { retention: number }[] }[];
      rfmGrid: { buyers: number; cells: { customers: number }[]; segments: { customers: number }[] };
      metrics: {
        key: string;
        value: number | null;
        comparison: { value: number | null; change: number | null; relativeChange: number | null };
      }[];
    }>(
      `query($asOf: Date!, $from: Date!, $cohortsFrom: Date!, $period: PeriodInput!, $previous: PeriodInput!) {
        stages(asOf: $asOf) { key count }
        funnel(asOf: $asOf) { reached }
        stageTransitions(from: $from, to: $asOf) { count }
        cohorts(from: $cohortsFrom, to: $asOf, asOf: $asOf, months: 12) { months { retention } }
        rfmGrid(asOf: $asOf) { buyers cells { customers } segments { customers } }
        metrics(period: $period, compareTo: $previous) { key value comparison { value change relativeChange } }
      }`,
      { asOf: AS_OF, from: TRANSITIONS_FROM, cohortsFrom: COHORTS_FROM, period: PERIOD, previous: PREVIOUS },
    );
    expect(errors).toBeUndefined();
    const api = data!;
    const known = api.stages.reduce((sum, s) => sum + s.count, 0);
    expect(known).toBe(CUSTOMERS);

    // Stage distribution: one bar per stage with its count; the total shown in words.
    expect(chart(states, "stages").series[0]).toEqual(api.stages.map((s) => s.count));
    expect(await page.getAttribute("#card-stages", "data-total")).toBe(String(known));
    expect(await page.textContent("#card-stages [data-sub]")).toContain("5,000 people known on 2026-06-30");
    expect(await page.textContent("#scope")).toContain("5,000");
    // Funnel: the reached counts, the drop-off labels beside them.
    expect(chart(states, "funnel").series[0]).toEqual(api.funnel.map((s) => s.reached));
    expect(api.funnel[0]!.reached).toBe(CUSTOMERS);
    // Transitions: every customer known on the second day sits in one cell.
    const cells = chart(states, "transitions").series[0] as number[][];
    expect(cells).toHaveLength(api.stageTransitions.filter((t) => t.count > 0).length);
    expect(cells.reduce((sum, c) => sum + c[2]!, 0)).toBe(known);
    // Cohorts: 12 first-purchase months, each cell the API's retention.
    const cohortCells = chart(states, "cohorts").series[0] as number[][];
    expect(new Set(cohortCells.map((c) => c[1])).size).toBe(12);
    expect(cohortCells.map((c) => c[2])).toEqual(
      api.cohorts.flatMap((c) => c.months.slice(0, 13).map((m) => m.retention)),
    );
    // RFM: the 25 cells and the named segments add up to the buyers.
    const rfmCells = chart(states, "rfmGrid").series[0] as number[][];
    expect(rfmCells).toHaveLength(25);
    const ascending = (a: number, b: number) => a - b;
    expect(rfmCells.map((c) => c[2]!).sort(ascending)).toEqual(
      api.rfmGrid.cells.map((c) => c.customers).sort(ascending),
    );
    expect(rfmCells.reduce((sum, c) => sum + c[2]!, 0)).toBe(api.rfmGrid.buyers);
    expect((chart(states, "rfmSegments").series[0] as number[]).reduce((a, b) => a + b, 0)).toBe(api.rfmGrid.buyers);
    // Headline metrics: value, previous value and change of each tile are the API's.
    const tiles = await page.$$eval(".metric", (els) =>
      els.map((el) => ({
        key: el.getAttribute("data-metric"),
        value: el.querySelector<HTMLElement>(".value")!.dataset.value,
        previous: el.querySelector<HTMLElement>(".previous")!.dataset.value,
        change: el.querySelector<HTMLElement>(".change")!.dataset.relativeChange,
        text: el.textContent,
      })),
    );
    expect(tiles).toHaveLength(14);
    const byKey = new Map(api.metrics.map((m) => [m.key, m]));
    // Aggregates summed in parallel may differ in the last bits from one query to the next.
    const same = (shown: string | undefined, value: number | null | undefined, what: string) => {
      if (value === null || value === undefined) return expect(shown, what).toBe("");
      expect(Number(shown), what).toBeCloseTo(value, 9);
    };
    for (const tile of tiles) {
      const m = byKey.get(tile.key!)!;
      same(tile.value, m.value, `${tile.key} value`);
      same(tile.previous, m.comparison.value, `${tile.key} previous`);
      same(tile.change, m.comparison.relativeChange, `${tile.key} change`);
    }
    // A score's change is in points: a relative change of a score near or below zero means nothing.
    const nps = tiles.find((t) => t.key === "NPS")!;
    const npsChange = byKey.get("NPS")!.comparison.change!;
    expect(npsChange).not.toBeNull();
    expect(nps.text).toContain(`${Math.abs(npsChange).toFixed(1)} points`);
    expect(nps.text).not.toContain("%");
    const active = tiles.find((t) => t.key === "ACTIVE_CUSTOMERS")!;
    expect(active.text).toContain(new Intl.NumberFormat("en-US").format(byKey.get("ACTIVE_CUSTOMERS")!.value!));
    expect(await page.isHidden("#banner")).toBe(true);

    // Stage shares over time: 24 months, one stacked series per stage, each point the API's share.
    const history = await server.graphql<{
      stageSeries: { stages: { stage: { key: string }; share: number }[] }[];
      rankedCustomers: { edges: { node: { id: string } }[] };
    }>(
      `query($asOf: Date!) {
        stageSeries(from: "2024-07-01", to: $asOf, interval: MONTH) { stages { stage { key } share } }
        rankedCustomers(stage: "at_risk", orderBy: PREDICTED_CLV, first: 10, asOf: $asOf) { edges { node { id } } }
      }`,
      { asOf: AS_OF },
    );
    expect(history.errors).toBeUndefined();
    const series = chart(states, "series").series;
    expect(series).toHaveLength(api.stages.length);
    expect(history.data!.stageSeries).toHaveLength(24);
    api.stages.forEach((stage, i) =>
      expect(series[i], stage.key).toEqual(history.data!.stageSeries.map((p) => p.stages[i]!.share)),
    );
    // The trend: active customers in each of the 24 months, as metricSeries gives them.
    const trends = await server.graphql<{
      metricSeries: { period: { from: string }; values: { value: number | null }[] }[];
      clvValidation: {
        actualHoldoutPurchases: number;
        tracking: { to: string; cumulativeRepeatPurchases: number; cumulativeExpectedRepeatPurchases: number }[];
      };
    }>(
      `query($asOf: Date!) {
        metricSeries(keys: [ACTIVE_CUSTOMERS], from: "2024-07-01", to: $asOf, interval: MONTH) { period { from } values { value } }
        clvValidation(calibrationEnd: "2025-12-30", holdoutEnd: $asOf) {
          actualHoldoutPurchases tracking { to cumulativeRepeatPurchases cumulativeExpectedRepeatPurchases } }
      }`,
      { asOf: AS_OF },
    );
    expect(trends.errors).toBeUndefined();
    expect(trends.data!.metricSeries).toHaveLength(24);
    expect(chart(states, "trend").series[0]).toEqual(trends.data!.metricSeries.map((p) => p.values[0]!.value));
    expect(await page.getAttribute("#card-trend", "data-metric")).toBe("ACTIVE_CUSTOMERS");
    // The model check: fitted on all but the last 26 weeks, the tracking curves as the API gives them.
    const tracking = trends.data!.clvValidation.tracking;
    expect(chart(states, "clv").series).toEqual([
      tracking.map((w) => w.cumulativeRepeatPurchases),
      tracking.map((w) => w.cumulativeExpectedRepeatPurchases),
    ]);
    expect(await page.getAttribute("#card-clv", "data-actual")).toBe(
      String(trends.data!.clvValidation.actualHoldoutPurchases),
    );
    expect(await page.textContent("#card-clv [data-sub]")).toContain("Fitted up to 2025-12-30");

    // The ranked list: at-risk customers with the highest predicted CLV (the state keeps it), as the API ranks them.
    const ranked = await page.$$eval("#ranked tbody tr[data-customer]", (rows) =>
      rows.map((r) => (r as HTMLElement).dataset.customer),
    );
    expect(ranked).toEqual(history.data!.rankedCustomers.edges.map((e) => e.node.id));
    expect(ranked).toHaveLength(10);
    expect(await page.inputValue("#ranked-stage")).toBe("at_risk");
    expect(await page.getAttribute("#ranked", "data-order-by")).toBe("PREDICTED_CLV");

    // The latest changes: the outbox's ten newest, newest first, as the API lists them, with stage names.
    const outbox = await server.graphql<{
      lifecycleEvents: { events: { id: string; day: string; customerId: string; toStage: string }[] };
      stages: { key: string; name: string }[];
    }>(
      `{ lifecycleEvents(newestFirst: true, first: 10) { events { id day customerId toStage } } stages { key name } }`,
    );
    expect(outbox.errors).toBeUndefined();
    const latest = outbox.data!.lifecycleEvents.events;
    expect(latest).toHaveLength(10);
    const shown = await page.$$eval("#changes tbody tr", (rows) =>
      rows.map((r) => ({ id: (r as HTMLElement).dataset.event, cells: [...r.children].map((c) => c.textContent) })),
    );
    const stageName = new Map(outbox.data!.stages.map((st) => [st.key, st.name]));
    expect(shown.map((r) => r.id)).toEqual(latest.map((e) => e.id));
    expect(shown.map((r) => [r.cells[0], r.cells[1], r.cells[3]])).toEqual(
      latest.map((e) => [e.day, e.customerId, stageName.get(e.toStage)]),
    );

    // The customer view: picking a ranked customer shows their stages, RFM, predicted CLV and history.
    await page.click(`#ranked tbody tr[data-customer="${ranked[0]}"]`);
    await page.waitForFunction(
      (id) => {
        const el = document.querySelector<HTMLElement>("#card-customer")!;
        return el.dataset.status === "ok" && el.dataset.customer === id;
      },
      ranked[0],
      { timeout: 30_000 },
    );
    expect(page.url()).toContain(`customer=${ranked[0]}`);
    const one = await server.graphql<{
      customer: {
        stage: { name: string };
        rfm: { code: string };
        prediction: { predictedClv: number };
        stageHistory: { stage: { key: string }; from: string; to: string | null }[];
      };
    }>(
      `query($id: ID!, $asOf: Date!) { customer(id: $id, asOf: $asOf) {
        stage { name } rfm { code } prediction { predictedClv } stageHistory { stage { key } from to } } }`,
      { id: ranked[0], asOf: AS_OF },
    );
    expect(one.errors).toBeUndefined();
    const customer = one.data!.customer;
    const facts = await page.$$eval("#customer-facts dd", (els) =>
      els.map((el) => ({ text: el.textContent, value: (el as HTMLElement).dataset.value })),
    );
    expect(facts[0]!.text).toBe(customer.stage.name);
    expect(facts[2]!.value).toBe(customer.rfm.code);
    expect(Number(facts[3]!.value)).toBeCloseTo(customer.prediction.predictedClv, 9);
    const bands = await page.$$eval("#customer-timeline .band", (els) =>
      els.map((el) => {
        const band = el as HTMLElement;
        return {
          stage: band.dataset.stage,
          from: band.dataset.from,
          to: band.dataset.to || null,
          width: band.offsetWidth,
        };
      }),
    );
    expect(bands.map(({ width: _, ...b }) => b)).toEqual(
      customer.stageHistory.map((s) => ({ stage: s.stage.key, from: s.from, to: s.to })),
    );
    expect(bands.at(-1)!.stage).toBe("at_risk");
    for (const band of bands) expect(band.width, band.from).toBeGreaterThan(0);

    // Tooltips (drawn on the canvas) show without breaking the page's CSP.
    await page.evaluate((names) => {
      const echarts = (window as unknown as { echarts: any }).echarts;
      for (const name of names) {
        const instance = echarts.getInstanceByDom(document.querySelector(`[data-chart="${name}"]`));
        instance.dispatchAction({ type: "showTip", seriesIndex: 0, dataIndex: 0 });
        instance.dispatchAction({ type: "hideTip" });
      }
    }, CHARTS);

    mkdirSync(OUTPUT, { recursive: true });
    await page.screenshot({ path: `${OUTPUT}dashboard.png`, fullPage: true });
    expect(await page.evaluate(() => (window as unknown as { cspViolations?: string[] }).cspViolations ?? [])).toEqual(
      [],
    );
    expect(problems).toEqual([]);
  });

  it(
    "narrows every card (stages, funnel, metrics, transitions, cohorts, RFM) to a picked segment",
    {
      timeout: 60_000,
    },
    async () => {
      type Grid = { buyers: number; cells: { customers: number }[]; segments: { customers: number }[] };
      type Cohort = { customers: number; months: { retention: number }[] };
      const { data, errors } = await server.graphql<{
        segment: { membership: { size: number; stageBreakdown: { count: number }[] } };
        funnel: { reached: number }[];
        metrics: { key: string; value: number | null }[];
        all: { key: string; value: number | null }[];
        stageTransitions: { count: number }[];
        allTransitions: { count: number }[];
        cohorts: Cohort[];
        allCohorts: Cohort[];
        rfmGrid: Grid;
        allRfm: Grid;
      }>(
        `query($id: ID!, $asOf: Date!, $from: Date!, $cohortsFrom: Date!, $period: PeriodInput!, $previous: PeriodInput!) {
        segment(id: $id) { membership(asOf: $asOf) { size stageBreakdown { count } } }
        funnel(asOf: $asOf, segmentId: $id) { reached }
        metrics(keys: [REVENUE, ACTIVE_CUSTOMERS], period: $period, compareTo: $previous, segmentId: $id) { key value }
        all: metrics(keys: [REVENUE, ACTIVE_CUSTOMERS], period: $period, compareTo: $previous) { key value }
        stageTransitions(from: $from, to: $asOf, segmentId: $id) { count }
        allTransitions: stageTransitions(from: $from, to: $asOf) { count }
        cohorts(from: $cohortsFrom, to: $asOf, asOf: $asOf, months: 12, segmentId: $id) { customers months { retention } }
        allCohorts: cohorts(from: $cohortsFrom, to: $asOf, asOf: $asOf, months: 12) { customers months { retention } }
        rfmGrid(asOf: $asOf, segmentId: $id) { buyers cells { customers } segments { customers } }
        allRfm: rfmGrid(asOf: $asOf) { buyers cells { customers } segments { customers } }
      }`,
        {
          id: segmentId,
          asOf: AS_OF,
          from: TRANSITIONS_FROM,
          cohortsFrom: COHORTS_FROM,
          period: PERIOD,
          previous: PREVIOUS,
        },
      );
      expect(errors).toBeUndefined();
      const size = data!.segment.membership.size;
      expect(size).toBeGreaterThan(100);
      expect(size).toBeLessThan(CUSTOMERS);

      const before = await renders(page);
      const options = await page.$$eval("#segment option", (els) => els.map((o) => o.textContent));
      expect(options).toEqual(["All customers", "Paid search"]);
      await page.selectOption("#segment", segmentId);
      expect(await nextRender(page, before)).toEqual({ errors: 0, segment: segmentId });
      expect(page.url()).toContain(`segment=${segmentId}`);
      const states = await chartStates(page);
      expectEveryChartDrawn(states);

      expect(chart(states, "stages").series[0]).toEqual(data!.segment.membership.stageBreakdown.map((b) => b.count));
      expect(await page.getAttribute("#card-stages", "data-total")).toBe(String(size));
      expect(await page.textContent("#scope")).toContain(
        `Paid search · ${new Intl.NumberFormat("en-US").format(size)}`,
      );
      expect(chart(states, "funnel").series[0]).toEqual(data!.funnel.map((s) => s.reached));
      expect(data!.funnel[0]!.reached).toBe(size);
      for (const m of data!.metrics) {
        const shown = await page.getAttribute(`[data-metric="${m.key}"] .value`, "data-value");
        expect(Number(shown), m.key).toBeCloseTo(m.value!, 6);
        expect(m.value, m.key).not.toBe(data!.all.find((a) => a.key === m.key)!.value);
      }
      // CAC is not defined for a segment: said so, not shown as a number.
      expect(await page.textContent('[data-metric="CAC"] .change')).toContain("not defined for a segment");
      const api = data!;
      const sum = (values: number[]) => values.reduce((a, b) => a + b, 0);
      const ascending = (a: number, b: number) => a - b;
      // Transitions: the segment's members on the day, one cell per move, each the API's count.
      const moves = chart(states, "transitions").series[0] as number[][];
      expect(moves.map((c) => c[2]!).sort(ascending)).toEqual(
        api.stageTransitions
          .map((t) => t.count)
          .filter((n) => n > 0)
          .sort(ascending),
      );
      expect(sum(moves.map((c) => c[2]!))).toBe(size);
      expect(await page.getAttribute("#card-transitions", "data-total")).toBe(String(size));
      expect(sum(api.allTransitions.map((t) => t.count))).toBe(CUSTOMERS);
      // Cohorts: the members' cohorts, each cell the API's retention, fewer buyers than everyone's.
      const cohortCells = chart(states, "cohorts").series[0] as number[][];
      expect(cohortCells.map((c) => c[2])).toEqual(
        api.cohorts.flatMap((c) => c.months.slice(0, 13).map((m) => m.retention)),
      );
      const cohortBuyers = sum(api.cohorts.map((c) => c.customers));
      expect(await page.getAttribute("#card-cohorts", "data-total")).toBe(String(cohortBuyers));
      expect(cohortBuyers).toBeGreaterThan(0);
      expect(cohortBuyers).toBeLessThan(sum(api.allCohorts.map((c) => c.customers)));
      expect(cohortCells.map((c) => c[2])).not.toEqual(
        api.allCohorts.flatMap((c) => c.months.slice(0, 13).map((m) => m.retention)),
      );
      // RFM: the members who are buyers, in the API's cells and segments.
      const rfmCells = chart(states, "rfmGrid").series[0] as number[][];
      expect(rfmCells).toHaveLength(25);
      expect(rfmCells.map((c) => c[2]!).sort(ascending)).toEqual(
        api.rfmGrid.cells.map((c) => c.customers).sort(ascending),
      );
      expect(sum(rfmCells.map((c) => c[2]!))).toBe(api.rfmGrid.buyers);
      expect(sum(chart(states, "rfmSegments").series[0] as number[])).toBe(api.rfmGrid.buyers);
      expect(await page.getAttribute("#card-rfm", "data-total")).toBe(String(api.rfmGrid.buyers));
      expect(api.rfmGrid.buyers).toBeGreaterThan(0);
      expect(api.rfmGrid.buyers).toBeLessThan(api.allRfm.buyers);
      expect(api.rfmGrid.buyers).toBeLessThanOrEqual(size);
      // The ranked list: the segment's at-risk members by predicted CLV (the state evaluates the
      // segment), ranked as the API ranks them.
      const ranked = await server.graphql<{ rankedCustomers: { edges: { node: { id: string } }[] } }>(
        `query($id: ID!, $asOf: Date!) { rankedCustomers(stage: "at_risk", orderBy: PREDICTED_CLV, first: 10, asOf: $asOf, segmentId: $id) { edges { node { id } } } }`,
        { id: segmentId, asOf: AS_OF },
      );
      expect(ranked.errors).toBeUndefined();
      const shownRanked = await page.$$eval("#ranked tbody tr[data-customer]", (rows) =>
        rows.map((r) => (r as HTMLElement).dataset.customer),
      );
      expect(shownRanked).toEqual(ranked.data!.rankedCustomers.edges.map((e) => e.node.id));
      expect(shownRanked.length).toBeGreaterThan(0);
      expect(await page.getAttribute("#ranked", "data-order-by")).toBe("PREDICTED_CLV");
      await page.screenshot({ path: `${OUTPUT}dashboard-segment.png`, fullPage: true });

      // Back to everyone.
      const again = await renders(page);
      await page.selectOption("#segment", "");
      expect(await nextRender(page, again)).toEqual({ errors: 0, segment: "" });
      expect(await page.getAttribute("#card-stages", "data-total")).toBe(String(CUSTOMERS));
      expect(await page.getAttribute("#card-transitions", "data-total")).toBe(String(CUSTOMERS));
      expect(await page.getAttribute("#card-rfm", "data-total")).toBe(String(api.allRfm.buyers));
      expect(await page.getAttribute("#card-cohorts", "data-total")).toBe(
        String(sum(api.allCohorts.map((c) => c.customers))),
      );
      expect(problems).toEqual([]);
    },
  );

  it(
    "sends the stored API key as a Bearer header and shows GraphQL errors in the page",
    { timeout: 60_000 },
    async () => {
      let before = await renders(page);
      const problemsBefore = problems.length;
      await page.fill("#apiKey", "clm_not_a_real_key");
      await page.click("#save-key");
      const refused = await nextRender(page, before);
      expect(refused.errors).toBeGreaterThanOrEqual(6);
      // A bad key is refused with HTTP 401 before the operation runs (src/auth/request-auth.ts), which the
      // browser reports as a failed load; nothing else may go wrong meanwhile.
      const refusals = problems.splice(problemsBefore);
      expect(refusals.length).toBeGreaterThan(0);
      for (const problem of refusals) expect(problem).toMatch(/\b401\b/);
      expect(await page.evaluate(() => localStorage.getItem("clm.dashboard.apiKey"))).toBe("clm_not_a_real_key");
      const banner = await page.textContent("#banner");
      expect(banner).toContain("UNAUTHENTICATED: the API key is unknown or revoked");
      expect(await page.isVisible("#banner")).toBe(true);
      for (const card of [...QUERY_CARDS, "rfm"]) {
        expect(await page.textContent(`#card-${card} [data-error]`), card).toContain("UNAUTHENTICATED");
      }

      // A real (viewer) key reads everything.
      const { secret } = await new KeyStore(server.appDb.prisma).create("viewer", "dashboard test");
      before = await renders(page);
      await page.fill("#apiKey", secret);
      await page.click("#save-key");
      expect((await nextRender(page, before)).errors).toBe(0);
      expect(await page.isHidden("#banner")).toBe(true);
      expect(await page.textContent("#key-state")).toContain(secret.slice(0, 10));
      expectEveryChartDrawn(await chartStates(page));

      before = await renders(page);
      await page.click("#clear-key");
      expect((await nextRender(page, before)).errors).toBe(0);
      expect(await page.evaluate(() => localStorage.getItem("clm.dashboard.apiKey"))).toBeNull();
      expect(problems).toEqual([]);
    },
  );

  it("keeps drawing the other cards when one card's query fails", { timeout: 60_000 }, async () => {
    await page.route(`${origin}/graphql`, async (route) => {
      if (!route.request().postData()?.includes("DashboardRfm")) return route.continue();
      await route.fulfill({
        contentType: "application/json",
        body: JSON.stringify({
          errors: [
            {
              message: "the warehouse is unavailable; retry in 5 s",
              path: ["rfmGrid"],
              extensions: { code: "WAREHOUSE_UNAVAILABLE", retryAfterSeconds: 5, requestId: "r-1" },
            },
          ],
          data: null,
        }),
      });
    });
    try {
      const before = await renders(page);
      await page.click("#refresh");
      expect((await nextRender(page, before)).errors).toBe(1);
      expect(await page.textContent("#card-rfm [data-error]")).toBe(
        "WAREHOUSE_UNAVAILABLE: the warehouse is unavailable; retry in 5 s (at rfmGrid) [request r-1]",
      );
      expect(await page.getAttribute("#card-rfm", "data-status")).toBe("error");
      for (const card of [...QUERY_CARDS, "customer"]) {
        expect(await page.getAttribute(`#card-${card}`, "data-status"), card).toBe("ok");
      }
      expect(await page.textContent("#banner")).toContain("WAREHOUSE_UNAVAILABLE");
    } finally {
      await page.unroute(`${origin}/graphql`);
    }
  });

  it("leaves a cohort nobody entered blank instead of showing 0%", { timeout: 60_000 }, async () => {
    const month = (m: string, offset: number, active: number, size: number) => ({
      offset,
      month: m,
      activeCustomers: active,
      retention: size === 0 ? 0 : active / size,
    });
    const cohorts = [
      {
        month: "2026-05",
        customers: 4,
        revenuePerCustomer: 10,
        months: [month("2026-05", 0, 4, 4), month("2026-06", 1, 1, 4)],
      },
      // Nobody's first purchase fell in June: the API's retention is 0 of 0.
      { month: "2026-06", customers: 0, revenuePerCustomer: null, months: [month("2026-06", 0, 0, 0)] },
    ];
    await page.route(`${origin}/graphql`, async (route) => {
      if (!route.request().postData()?.includes("DashboardCohorts")) return route.continue();
      await route.fulfill({ contentType: "application/json", body: JSON.stringify({ data: { cohorts } }) });
    });
    try {
      const before = await renders(page);
      await page.click("#refresh");
      expect((await nextRender(page, before)).errors).toBe(0);
      const cells = chart(await chartStates(page), "cohorts").series[0] as number[][];
      // Only the May cohort's two months: [offset, row, retention, active].
      expect(cells).toEqual([
        [0, 0, 1, 4],
        [1, 0, 0.25, 1],
      ]);
    } finally {
      await page.unroute(`${origin}/graphql`);
    }
  });

  it(
    "says when the link's asOf is no day and which day it shows, until a day is picked",
    { timeout: 60_000 },
    async () => {
      // Before, an invalid ?asOf= silently became today.
      await page.goto(`${origin}/dashboard?asOf=2026-13-45`);
      await page.waitForFunction(() => document.body.dataset.state === "rendered", undefined, { timeout: 30_000 });
      // The server's default day: the demo data ends on AS_OF, before today.
      expect(await page.inputValue("#asOf")).toBe(AS_OF);
      expect(await page.textContent("#banner")).toBe(
        `BAD_USER_INPUT: the link's asOf "2026-13-45" is not a day (YYYY-MM-DD); showing ${AS_OF}`,
      );
      expect(await page.evaluate(() => document.body.dataset.errors)).toBe("1");
      for (const card of QUERY_CARDS) expect(await page.getAttribute(`#card-${card}`, "data-status"), card).toBe("ok");
      const before = await renders(page);
      await page.fill("#asOf", "2026-06-01");
      await page.dispatchEvent("#asOf", "change");
      expect((await nextRender(page, before)).errors).toBe(0);
      expect(await page.isHidden("#banner")).toBe(true);
      expect(new URL(page.url()).searchParams.get("asOf")).toBe("2026-06-01");
    },
  );

  it("opens a link without asOf on the server's default day, not on today", { timeout: 60_000 }, async () => {
    // The demo data ends on AS_OF, months before today: every card of today would show everyone churned.
    await page.goto(`${origin}/dashboard`);
    await page.waitForFunction(() => document.body.dataset.state === "rendered", undefined, { timeout: 30_000 });
    expect(await page.inputValue("#asOf")).toBe(AS_OF);
    expect(await page.evaluate(() => [document.body.dataset.asOf, document.body.dataset.errors])).toEqual([AS_OF, "0"]);
    expect(new URL(page.url()).searchParams.get("asOf")).toBe(AS_OF);
  });

  it("changes the trend's metric in its card alone, kept in the link", { timeout: 60_000 }, async () => {
    await page.goto(`${origin}/dashboard?asOf=${AS_OF}`);
    await page.waitForFunction(() => document.body.dataset.state === "rendered", undefined, { timeout: 30_000 });
    const { data } = await server.graphql<{ metricSeries: { values: { value: number | null }[] }[] }>(
      `{ metricSeries(keys: [REVENUE], from: "2024-07-01", to: "${AS_OF}", interval: MONTH) { values { value } } }`,
    );
    const rendersBefore = await renders(page);
    await page.selectOption("#trend-metric", "REVENUE");
    await page.waitForFunction(() => document.querySelector("#card-trend")?.getAttribute("data-metric") === "REVENUE");
    await page.waitForFunction(() => document.querySelector("#card-trend")?.getAttribute("data-status") === "ok");
    expect(await renders(page)).toBe(rendersBefore);
    expect(new URL(page.url()).searchParams.get("trend")).toBe("REVENUE");
    expect(chart(await chartStates(page), "trend").series[0]).toEqual(
      data!.metricSeries.map((p) => p.values[0]!.value),
    );
    // A link with the metric opens on it; one with a metric the card does not offer opens on the default.
    await page.goto(`${origin}/dashboard?asOf=${AS_OF}&trend=CAC`);
    await page.waitForFunction(() => document.body.dataset.state === "rendered", undefined, { timeout: 30_000 });
    expect(await page.inputValue("#trend-metric")).toBe("CAC");
    await page.goto(`${origin}/dashboard?asOf=${AS_OF}&trend=NOT_A_METRIC`);
    await page.waitForFunction(() => document.body.dataset.state === "rendered", undefined, { timeout: 30_000 });
    expect(await page.inputValue("#trend-metric")).toBe("ACTIVE_CUSTOMERS");
  });

  it(
    "changes the cohort window (6, 12, 24 months) in its card alone, kept in the link",
    { timeout: 60_000 },
    async () => {
      await page.goto(`${origin}/dashboard?asOf=${AS_OF}`);
      await page.waitForFunction(() => document.body.dataset.state === "rendered", undefined, { timeout: 30_000 });
      const { data } = await server.graphql<{ cohorts: { customers: number; months: { retention: number }[] }[] }>(
        `{ cohorts(from: "2024-07-01", to: "${AS_OF}", asOf: "${AS_OF}", months: 24) { customers months { retention } } }`,
      );
      const rendersBefore = await renders(page);
      await page.selectOption("#cohort-months", "24");
      await page.waitForFunction(() => document.querySelector("#card-cohorts")?.getAttribute("data-status") === "ok");
      // Only its card was drawn again, from a 24-month question: 24 cohorts, offsets M0…M24.
      expect(await renders(page)).toBe(rendersBefore);
      expect(new URL(page.url()).searchParams.get("cohorts")).toBe("24");
      const option = await page.evaluate(() => {
        const el = document.querySelector('[data-chart="cohorts"]') as HTMLElement;
        const o = (window as unknown as { echarts: any }).echarts.getInstanceByDom(el).getOption();
        return { offsets: o.xAxis[0].data.length, cohorts: o.yAxis[0].data.length };
      });
      expect(option).toEqual({ offsets: 25, cohorts: 24 });
      const cells = chart(await chartStates(page), "cohorts").series[0] as number[][];
      expect(cells.map((c) => c[2])).toEqual(
        data!.cohorts.filter((c) => c.customers > 0).flatMap((c) => c.months.map((m) => m.retention)),
      );
      await page.selectOption("#cohort-months", "12");
    },
  );
});

// The same page on a server with the sales-funnel preset (examples/sales-funnel.json): its nine stages,
// pre-purchase ones first, in the stage card and the funnel, nothing in the page tied to the default model.
describe.skipIf(!HAVE_BROWSER)("the dashboard with the sales-funnel preset in headless Chromium", () => {
  const customers = 2000;
  let funnelServer: TestServer;
  let funnelHttp: Server;
  let funnelOrigin: string;
  let browser: Browser;
  let page: Page;
  const problems: string[] = [];

  beforeAll(async () => {
    const config = JSON.parse(readFileSync(new URL("../../examples/sales-funnel.json", import.meta.url), "utf8"));
    funnelServer = await startTestServer({ customers, clmConfig: config });
    ({ http: funnelHttp, origin: funnelOrigin } = await listenOnLoopback(funnelServer));
    ({ browser, page } = await openDashboardBrowser(funnelOrigin, problems));
  }, 120_000);

  afterAll(async () => {
    await browser?.close();
    await closeLoopback(funnelHttp);
    await funnelServer?.close();
  });

  it("draws the preset's stages and its funnel with the numbers the API gives", { timeout: 60_000 }, async () => {
    await page.goto(`${funnelOrigin}/dashboard?asOf=${AS_OF}`);
    expect(await nextRender(page, 0)).toEqual({ errors: 0, segment: "" });
    const states = await chartStates(page);
    expectEveryChartDrawn(states);

    const { data, errors } = await funnelServer.graphql<{
      stages: { key: string; name: string; count: number }[];
      funnel: { stage: { key: string }; reached: number }[];
    }>(`query($asOf: Date!) { stages(asOf: $asOf) { key name count } funnel(asOf: $asOf) { stage { key } reached } }`, {
      asOf: AS_OF,
    });
    expect(errors).toBeUndefined();
    const api = data!;
    expect(api.stages.map((s) => s.key)).toEqual(SALES_FUNNEL_DISPLAY_ORDER);
    // Every stage holds someone in the demo, so each bar is drawn.
    for (const s of api.stages) expect(s.count, s.key).toBeGreaterThan(0);
    expect(chart(states, "stages").series[0]).toEqual(api.stages.map((s) => s.count));
    expect(api.stages.reduce((sum, s) => sum + s.count, 0)).toBe(customers);
    expect(api.funnel.map((s) => s.stage.key)).toEqual(SALES_FUNNEL_DISPLAY_ORDER.slice(0, 6));
    expect(chart(states, "funnel").series[0]).toEqual(api.funnel.map((s) => s.reached));
    // The bars are labelled with the preset's stage names (the category axis, drawn on the canvas).
    const labels = await page.evaluate(() => {
      const echarts = (window as unknown as { echarts: any }).echarts;
      const option = echarts.getInstanceByDom(document.querySelector('[data-chart="stages"]')).getOption();
      return [...option.xAxis, ...option.yAxis].find((axis: { type: string }) => axis.type === "category").data;
    });
    expect(labels.map((l: string | { value: string }) => (typeof l === "string" ? l : l.value))).toEqual(
      api.stages.map((s) => s.name),
    );
    // The lead-to-customer tile, which the default model's page leaves out, with the API's value.
    const leads = await funnelServer.graphql<{ metrics: { value: number | null; population: number }[] }>(
      `query($period: PeriodInput!) { metrics(keys: [LEAD_TO_CUSTOMER_RATE], period: $period) { value population } }`,
      { period: PERIOD },
    );
    expect(leads.errors).toBeUndefined();
    const [lead] = leads.data!.metrics;
    expect(lead!.population).toBeGreaterThan(0);
    const tiles = await page.$$eval(".metric", (els) =>
      els.map((el) => [el.getAttribute("data-metric"), el.querySelector<HTMLElement>(".value")!.dataset.value]),
    );
    expect(tiles).toHaveLength(15);
    const shown = tiles.find(([key]) => key === "LEAD_TO_CUSTOMER_RATE")?.[1];
    expect(Number(shown)).toBeCloseTo(lead!.value!, 9);
    mkdirSync(OUTPUT, { recursive: true });
    await page.screenshot({ path: `${OUTPUT}dashboard-sales-funnel.png`, fullPage: true });
    expect(problems).toEqual([]);
  });
});

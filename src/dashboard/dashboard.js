// The lifecycle dashboard: reads the public GraphQL API (POST /graphql, same origin) and draws each card
// with ECharts (window.echarts, loaded before this module by index.html). No build step, no network
// beyond this server.
//
// <body data-state> is "loading" while a view is fetched and drawn, then "rendered" (data-errors: how
// many cards failed; data-as-of, data-segment: the view drawn), which tests and scripts wait for.
import * as Q from "./queries.js";

const KEY_STORAGE = "clm.dashboard.apiKey";
/** Metrics where a fall is good news (coloured green). */
const LOWER_IS_BETTER = new Set(["CHURN_RATE", "CAC", "MEDIAN_DAYS_TO_CONVERT"]);
/** Metrics where a change is neither good nor bad news. */
const NEUTRAL = new Set(["PARETO_TOP20_REVENUE_SHARE", "PARETO_CUSTOMER_SHARE_FOR_80", "AVERAGE_DAYS_IN_STAGE"]);
const PROGRESS_COLORS = ["#9db4d3", "#6a9fd8", "#3f84c9", "#2a6cb0", "#1b5596", "#0f3f75"];
const LAPSE_COLORS = ["#e39b4b", "#c8553d", "#a33a3a"];
const FUNNEL_COLORS = ["#5b8fd0", "#4a80c4", "#3a70b5", "#2d61a3", "#22528f", "#17427a"];
const HEAT_COLORS = ["#f4f8fc", "#c6dbef", "#6baed6", "#2171b5", "#08306b"];
const TEXT = "#1f2933";
const MUTED = "#616e7c";
/** Canvas text needs a real font list (CSS "inherit" means nothing there); the page's own. */
const FONT = getComputedStyle(document.documentElement).fontFamily || "sans-serif";
/** Shorter tile titles where the API's names are long (the full name and definition are the tooltip). */
const SHORT_NAMES = {
  HISTORICAL_LTV: "Historical LTV",
  CAC: "CAC",
  LTV_TO_CAC: "LTV : CAC",
  PARETO_TOP20_REVENUE_SHARE: "Top 20% revenue",
  PARETO_CUSTOMER_SHARE_FOR_80: "Buyers making 80%",
  MEDIAN_DAYS_TO_CONVERT: "Days to first purchase",
  LEAD_TO_CUSTOMER_RATE: "Lead to customer",
};
/**
 * Metrics that exist only when CLM_CONFIG names interest events (the sales-funnel preset does): left out
 * otherwise, since "unavailable" would wrongly blame a missing table.
 */
const NEEDS_INTEREST_EVENTS = new Set(["LEAD_TO_CUSTOMER_RATE"]);
/** Metrics the API gives as a multiple (unit RATIO, but not a share): shown as "18.6×". */
const MULTIPLES = new Set(["LTV_TO_CAC"]);

const $ = (selector, root = document) => root.querySelector(selector);
const echarts = window.echarts;
const reducedMotion = window.matchMedia("(prefers-reduced-motion: reduce)").matches;

// ---------------------------------------------------------------- formatting

const integer = new Intl.NumberFormat("en-US", { maximumFractionDigits: 0 });
const decimal = new Intl.NumberFormat("en-US", { minimumFractionDigits: 2, maximumFractionDigits: 2 });
const compact = new Intl.NumberFormat("en-US", { notation: "compact", maximumFractionDigits: 1 });
const int = (n) => (n === null || n === undefined ? "—" : integer.format(n));
const pct = (ratio, digits = 1) => (ratio === null || ratio === undefined ? "—" : `${(ratio * 100).toFixed(digits)}%`);
const titleCase = (key) =>
  key === "cant_lose" ? "Can’t lose" : key.charAt(0).toUpperCase() + key.slice(1).replace(/_/g, " ");

/** A metric value in its unit. */
function formatValue(value, unit) {
  if (value === null || value === undefined) return "—";
  switch (unit) {
    case "MULTIPLE":
      return `${value.toFixed(1)}×`;
    case "RATIO":
      return pct(value);
    case "CURRENCY":
      return Math.abs(value) >= 10_000 ? compact.format(value) : decimal.format(value);
    case "DAYS":
      return `${value.toFixed(1)} d`;
    case "SCORE":
      return value.toFixed(1);
    default:
      return Number.isInteger(value) ? int(value) : decimal.format(value);
  }
}

/** A metric's absolute change in its unit (percentage points for ratios). */
function formatChange(change, unit) {
  if (change === null || change === undefined) return "";
  const sign = change > 0 ? "+" : change < 0 ? "−" : "±";
  const size = Math.abs(change);
  return unit === "RATIO" ? `${sign}${(size * 100).toFixed(1)} pp` : `${sign}${formatValue(size, unit)}`;
}

/** Label colour for a heatmap cell whose colour is `fraction` of the way up the scale (legible on dark cells). */
const cellLabel = (fraction) => ({ color: fraction > 0.55 ? "#ffffff" : TEXT });

/** A small colour scale (bottom right, or `place` instead), from 0 to `max`, labelled with `format`. */
function scaleLegend(dimension, max, format, place = { orient: "horizontal", right: 8, bottom: 0 }) {
  return {
    show: true,
    type: "continuous",
    dimension,
    min: 0,
    max,
    calculable: false,
    ...place,
    itemWidth: 10,
    itemHeight: 90,
    text: [format(max), format(0)],
    textGap: 6,
    textStyle: { color: MUTED, fontSize: 11 },
    inRange: { color: HEAT_COLORS },
  };
}

// ---------------------------------------------------------------- days (YYYY-MM-DD, calendar arithmetic)

const pad = (n) => String(n).padStart(2, "0");
const isDay = (s) => /^\d{4}-\d{2}-\d{2}$/.test(s ?? "") && !Number.isNaN(Date.parse(`${s}T00:00:00Z`));
function localToday() {
  const d = new Date();
  return `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())}`;
}
function addDays(day, n) {
  const d = new Date(`${day}T00:00:00Z`);
  d.setUTCDate(d.getUTCDate() + n);
  return d.toISOString().slice(0, 10);
}
/** The first day of the month `n` months from `day`'s month. */
function monthStart(day, n) {
  const d = new Date(`${day.slice(0, 7)}-01T00:00:00Z`);
  d.setUTCMonth(d.getUTCMonth() + n);
  return d.toISOString().slice(0, 10);
}

// ---------------------------------------------------------------- the API

class ApiError extends Error {
  constructor(errors) {
    super(errors.map((e) => e.message).join("; "));
    this.name = "ApiError";
    this.errors = errors;
  }
}

function apiKey() {
  try {
    return localStorage.getItem(KEY_STORAGE) ?? "";
  } catch {
    return "";
  }
}

/** One GraphQL operation; resolves to `data`, rejects with ApiError carrying the answer's errors. */
async function graphql(query, variables, signal) {
  const headers = {
    "content-type": "application/json",
    accept: "application/graphql-response+json, application/json",
  };
  const key = apiKey();
  if (key) headers.authorization = `Bearer ${key}`;
  let response;
  try {
    response = await fetch("/graphql", {
      method: "POST",
      headers,
      body: JSON.stringify({ query, variables }),
      signal,
      credentials: "same-origin",
    });
  } catch (error) {
    if (error.name === "AbortError") throw error;
    throw new ApiError([
      { message: `the server cannot be reached (${error.message})`, extensions: { code: "NETWORK" } },
    ]);
  }
  let body;
  try {
    body = await response.json();
  } catch {
    throw new ApiError([
      { message: `HTTP ${response.status}: not a GraphQL answer`, extensions: { code: `HTTP_${response.status}` } },
    ]);
  }
  if (Array.isArray(body?.errors) && body.errors.length > 0) throw new ApiError(body.errors);
  if (!body?.data) {
    throw new ApiError([
      { message: `HTTP ${response.status}: no data`, extensions: { code: `HTTP_${response.status}` } },
    ]);
  }
  return body.data;
}

/** An error's parts: "CODE: message" (with retry advice when the server gave some), where, the request id. */
function errorEntries(error) {
  const errors = error instanceof ApiError ? error.errors : [{ message: String(error?.message ?? error) }];
  return errors.map((e) => {
    const x = e.extensions ?? {};
    let head = `${x.code ?? "ERROR"}: ${e.message}`;
    if (x.retryAfterSeconds && !/retry/i.test(e.message)) head += ` — retry in ${x.retryAfterSeconds} s`;
    return { code: x.code, head, path: Array.isArray(e.path) ? e.path.join(".") : undefined, requestId: x.requestId };
  });
}

/** One line per error: "CODE: message (at path) [request id]". */
function errorLines(error) {
  return errorEntries(error).map(
    (e) => e.head + (e.path ? ` (at ${e.path})` : "") + (e.requestId ? ` [request ${e.requestId}]` : ""),
  );
}

/** One line per distinct error of several answers, naming every field it hit (a missing key fails them all). */
function summaryLines(entries) {
  const byHead = new Map();
  for (const e of entries) {
    const seen = byHead.get(e.head) ?? { paths: [], requestIds: [] };
    if (e.path) seen.paths.push(e.path);
    if (e.requestId) seen.requestIds.push(e.requestId);
    byHead.set(e.head, seen);
  }
  const lines = [...byHead].map(
    ([head, { paths, requestIds }]) =>
      head +
      (paths.length > 0 ? ` (at ${paths.join(", ")})` : "") +
      (requestIds.length > 0 ? ` [request ${requestIds.join(", ")}]` : ""),
  );
  if (entries.some((e) => e.code === "UNAUTHENTICATED")) {
    lines.push(
      apiKey()
        ? "The stored API key was refused: enter another one above (or Clear it)."
        : "Enter an API key above: it is kept in this browser and sent as Authorization: Bearer <key>.",
    );
  }
  return lines;
}

// ---------------------------------------------------------------- charts

const charts = new Map();
const resizer = new ResizeObserver((entries) => {
  for (const entry of entries) echarts.getInstanceByDom(entry.target)?.resize();
});

function chartOf(name) {
  let chart = charts.get(name);
  if (!chart) {
    const el = document.querySelector(`[data-chart="${name}"]`);
    chart = echarts.init(el, null, { renderer: "canvas" });
    charts.set(name, chart);
    resizer.observe(el);
  }
  return chart;
}

/** Draws a chart and resolves once ECharts says it has finished (animations included). */
function draw(name, option) {
  const chart = chartOf(name);
  return new Promise((resolve) => {
    const timer = setTimeout(done, 5000);
    function done() {
      clearTimeout(timer);
      chart.off("finished", done);
      resolve();
    }
    chart.on("finished", done);
    // The container may have been hidden (an error) since the last draw: take its size now.
    chart.resize();
    chart.setOption(
      {
        animation: !reducedMotion,
        textStyle: { fontFamily: FONT, color: TEXT },
        // Tooltips drawn on the canvas: HTML ones carry style attributes, which the page's CSP refuses.
        tooltip: { renderMode: "richText", confine: true },
        ...option,
      },
      { notMerge: true },
    );
  });
}

function clearChart(name) {
  charts.get(name)?.clear();
}

function stageColors(stages) {
  const colors = {};
  let progress = 0;
  let lapse = 0;
  for (const s of [...stages].sort((a, b) => a.order - b.order)) {
    colors[s.key] =
      s.kind === "LAPSE"
        ? LAPSE_COLORS[lapse++ % LAPSE_COLORS.length]
        : PROGRESS_COLORS[progress++ % PROGRESS_COLORS.length];
  }
  return colors;
}

// ---------------------------------------------------------------- cards

function card(name) {
  return document.querySelector(`[data-card="${name}"]`);
}

function setSub(name, text) {
  $("[data-sub]", card(name)).textContent = text;
}

function showCardError(name, error) {
  const el = card(name);
  const box = $("[data-error]", el);
  box.textContent = errorLines(error).join("\n");
  box.hidden = false;
  el.dataset.status = "error";
  for (const chart of el.querySelectorAll("[data-chart]")) clearChart(chart.dataset.chart);
}

function resetCard(name) {
  const el = card(name);
  $("[data-error]", el).hidden = true;
  el.dataset.status = "loading";
}

async function loadStages(view, signal) {
  let rows;
  let subtitle;
  if (view.segmentId) {
    const { segment } = await graphql(Q.SEGMENT_STAGES, { segmentId: view.segmentId, asOf: view.asOf }, signal);
    if (!segment) {
      throw new ApiError([
        { message: `no saved segment with id ${view.segmentId}`, extensions: { code: "NOT_FOUND" } },
      ]);
    }
    rows = segment.membership.stageBreakdown.map((b) => ({ ...b.stage, count: b.count, share: b.share }));
    subtitle = `${int(segment.membership.size)} members of “${segment.name}” on ${view.asOf}, by stage`;
    $("#scope").textContent = `Segment: ${segment.name} · ${int(segment.membership.size)} members on ${view.asOf}`;
  } else {
    ({ stages: rows } = await graphql(Q.STAGES, { asOf: view.asOf }, signal));
    const total = rows.reduce((sum, s) => sum + s.count, 0);
    subtitle = `${int(total)} people known on ${view.asOf}, by current stage`;
    $("#scope").textContent = `All customers · ${int(total)} known on ${view.asOf}`;
  }
  rows.sort((a, b) => a.order - b.order);
  const total = rows.reduce((sum, s) => sum + s.count, 0);
  card("stages").dataset.total = String(total);
  setSub("stages", subtitle);
  const colors = stageColors(rows);
  await draw("stages", {
    grid: { left: 56, right: 16, top: 28, bottom: 56 },
    tooltip: { trigger: "item", renderMode: "richText", confine: true },
    xAxis: {
      type: "category",
      data: rows.map((s) => s.name),
      axisLabel: { interval: 0, rotate: 25, color: MUTED },
      axisTick: { alignWithLabel: true },
    },
    yAxis: { type: "value", name: "customers", nameTextStyle: { color: MUTED }, axisLabel: { color: MUTED } },
    series: [
      {
        type: "bar",
        name: "Customers",
        data: rows.map((s) => ({
          name: s.name,
          value: s.count,
          share: s.share,
          itemStyle: { color: colors[s.key] },
        })),
        label: {
          show: true,
          position: "top",
          fontSize: 11,
          lineHeight: 14,
          color: TEXT,
          formatter: (p) => `${int(p.value)}\n${pct(p.data.share)}`,
        },
        tooltip: { formatter: (p) => `${p.name}\n${int(p.value)} customers (${pct(p.data.share)})` },
      },
    ],
  });
}

async function loadFunnel(view, signal) {
  const { funnel } = await graphql(Q.FUNNEL, { asOf: view.asOf, segmentId: view.segmentId || null }, signal);
  const first = funnel[0]?.reached ?? 0;
  card("funnel").dataset.total = String(first);
  setSub(
    "funnel",
    `${int(first)} ${view.segmentId ? "members" : "people"} on ${view.asOf}: how far each got (furthest stage), ` +
      `with the drop-off from the step before`,
  );
  const data = funnel.map((step) => ({
    name: step.stage.name,
    value: step.reached,
    step,
  }));
  // The funnel takes the left 40%: its labels (two lines each) keep the rest, down to a narrow card.
  const geometry = { left: "4%", width: "40%", top: 16, bottom: 16, min: 0, max: Math.max(first, 1) };
  await draw("funnel", {
    tooltip: { trigger: "item", renderMode: "richText", confine: true },
    series: [
      {
        type: "funnel",
        name: "Reached",
        sort: "none",
        gap: 3,
        minSize: "6%",
        ...geometry,
        data: data.map((d, i) => ({ ...d, itemStyle: { color: FUNNEL_COLORS[i % FUNNEL_COLORS.length] } })),
        label: {
          show: true,
          position: "inside",
          color: "#fff",
          fontWeight: "bold",
          textBorderColor: "rgba(0,0,0,0.35)",
          textBorderWidth: 2,
          formatter: (p) => int(p.value),
        },
        tooltip: {
          formatter: (p) =>
            `${p.name}: reached by ${int(p.value)} (${pct(p.data.step.shareOfFirst)} of the first step)\n` +
            `${int(p.data.step.atStage)} have it as their furthest stage`,
        },
      },
      {
        // Same geometry, invisible: carries the labels on the right (stage, share, drop-off).
        type: "funnel",
        name: "Drop-off",
        sort: "none",
        gap: 3,
        minSize: "6%",
        ...geometry,
        silent: true,
        tooltip: { show: false },
        itemStyle: { color: "transparent", borderWidth: 0 },
        data,
        label: {
          show: true,
          position: "right",
          color: TEXT,
          formatter: (p) => {
            const s = p.data.step;
            const drop = s.dropOffFromPrevious === null ? "" : `  {drop|↓ ${pct(s.dropOffFromPrevious)} drop-off}`;
            return `{name|${p.name}}\n{share|${pct(s.shareOfFirst)} of first}${drop}`;
          },
          rich: {
            name: { fontWeight: "bold", color: TEXT },
            share: { color: MUTED },
            drop: { color: "#a33a3a" },
          },
        },
        labelLine: { show: true, length: 12, lineStyle: { color: "#cbd2d9" } },
      },
    ],
  });
}

async function loadTransitions(view, signal) {
  const from = addDays(view.asOf, -view.periodDays);
  const { stageTransitions: rows } = await graphql(
    Q.TRANSITIONS,
    { from, to: view.asOf, segmentId: view.segmentId || null },
    signal,
  );
  const stages = new Map();
  for (const r of rows) {
    if (r.from) stages.set(r.from.key, r.from);
    stages.set(r.to.key, r.to);
  }
  const ordered = [...stages.values()].sort((a, b) => a.order - b.order);
  const NEW = "Not yet known";
  const rowsAxis = [NEW, ...ordered.map((s) => s.name)];
  const colsAxis = ordered.map((s) => s.name);
  const col = new Map(ordered.map((s, i) => [s.key, i]));
  const row = new Map(ordered.map((s, i) => [s.key, i + 1]));
  let total = 0;
  let moved = 0;
  let newcomers = 0;
  let max = 1;
  const values = rows
    .filter((r) => r.count > 0)
    .map((r) => {
      total += r.count;
      if (!r.from) newcomers += r.count;
      else if (r.from.key !== r.to.key) moved += r.count;
      max = Math.max(max, r.count);
      // The fourth value (√count) colours the cell, so one big cell does not wash the others out.
      return [col.get(r.to.key), r.from ? row.get(r.from.key) : 0, r.count, Math.sqrt(r.count)];
    });
  const cells = values.map((value) => ({ value, label: cellLabel(value[3] / Math.sqrt(max)) }));
  card("transitions").dataset.total = String(total);
  setSub(
    "transitions",
    `Stage on ${from} (rows) → stage on ${view.asOf} (columns): ${int(total)} ` +
      `${view.segmentId ? `members (of the segment on ${view.asOf})` : "customers"}, ` +
      `${int(moved)} changed stage, ${int(newcomers)} newly known`,
  );
  await draw("transitions", {
    grid: { left: 104, right: 16, top: 12, bottom: 64 },
    tooltip: { trigger: "item", renderMode: "richText", confine: true },
    xAxis: {
      type: "category",
      data: colsAxis,
      name: `stage on ${view.asOf}`,
      nameLocation: "middle",
      nameGap: 44,
      nameTextStyle: { color: MUTED },
      axisLabel: { interval: 0, rotate: 25, color: MUTED, fontSize: 11 },
      splitArea: { show: true },
    },
    yAxis: {
      type: "category",
      data: rowsAxis,
      inverse: true,
      axisLabel: { color: MUTED, fontSize: 11 },
      splitArea: { show: true },
    },
    visualMap: {
      show: false,
      dimension: 3,
      min: 0,
      max: Math.sqrt(max),
      inRange: { color: HEAT_COLORS },
    },
    series: [
      {
        type: "heatmap",
        name: "Customers",
        data: cells,
        label: {
          show: true,
          fontSize: 10,
          formatter: (p) => int(p.value[2]),
          color: TEXT,
        },
        itemStyle: { borderColor: "#fff", borderWidth: 1 },
        tooltip: {
          formatter: (p) => `${rowsAxis[p.value[1]]} → ${colsAxis[p.value[0]]}\n${int(p.value[2])} customers`,
        },
      },
    ],
  });
}

async function loadCohorts(view, signal) {
  // The last `cohortMonths` first-purchase months, each followed for as many months.
  const span = view.cohortMonths;
  const from = monthStart(view.asOf, -(span - 1));
  const { cohorts } = await graphql(
    Q.COHORTS,
    { from, to: view.asOf, asOf: view.asOf, months: span, segmentId: view.segmentId || null },
    signal,
  );
  const labels = cohorts.map((c) => `${c.month} · ${int(c.customers)}`);
  const offsets = Array.from({ length: span + 1 }, (_, i) => `M${i}`);
  let max = 0.01;
  const cells = [];
  cohorts.forEach((c, y) => {
    // A month in which nobody bought for the first time has no retention: its row stays blank, not 0%.
    if (c.customers === 0) return;
    for (const m of c.months) {
      if (m.offset > span) continue;
      if (m.offset > 0) max = Math.max(max, m.retention);
      cells.push([m.offset, y, m.retention, m.activeCustomers]);
    }
  });
  const data = cells.map((value) => ({ value, label: cellLabel(Math.min(1, value[2] / max)) }));
  const buyers = cohorts.reduce((sum, c) => sum + c.customers, 0);
  card("cohorts").dataset.total = String(buyers);
  setSub(
    "cohorts",
    `${cohorts.length} first-purchase cohorts (month · customers), ${int(buyers)} ` +
      `${view.segmentId ? "buyers among the members" : "buyers"}: ` +
      `share buying again k months later (M0 = first month)`,
  );
  await draw("cohorts", {
    grid: { left: 104, right: 16, top: 12, bottom: 56 },
    tooltip: { trigger: "item", renderMode: "richText", confine: true },
    xAxis: {
      type: "category",
      data: offsets,
      name: "months since first purchase",
      nameLocation: "middle",
      nameGap: 28,
      nameTextStyle: { color: MUTED },
      axisLabel: { color: MUTED, fontSize: 11 },
      splitArea: { show: true },
    },
    yAxis: { type: "category", data: labels, inverse: true, axisLabel: { color: MUTED, fontSize: 11 } },
    // Month 0 is 100% by definition; the scale spreads over the later months.
    visualMap: scaleLegend(2, max, (v) => `${Math.round(v * 100)}%`),
    series: [
      {
        type: "heatmap",
        name: "Retention",
        data,
        label: { show: true, fontSize: 10, color: TEXT, formatter: (p) => `${Math.round(p.value[2] * 100)}%` },
        itemStyle: { borderColor: "#fff", borderWidth: 1 },
        tooltip: {
          formatter: (p) =>
            `Cohort ${cohorts[p.value[1]].month}, month ${p.value[0]}\n` +
            `${int(p.value[3])} of ${int(cohorts[p.value[1]].customers)} bought (${pct(p.value[2])})`,
        },
      },
    ],
  });
}

async function loadRfm(view, signal) {
  const { rfmGrid } = await graphql(Q.RFM, { asOf: view.asOf, segmentId: view.segmentId || null }, signal);
  card("rfm").dataset.total = String(rfmGrid.buyers);
  setSub(
    "rfm",
    `${int(rfmGrid.buyers)} ${view.segmentId ? "buyers among the members, scored among all buyers" : "buyers scored"} ` +
      `on ${view.asOf}: recency × frequency (scores 1–5, 5 best; all monetary scores), and the named RFM segments`,
  );
  const max = Math.max(1, ...rfmGrid.cells.map((c) => c.customers));
  const scores = ["1", "2", "3", "4", "5"];
  const grid = draw("rfmGrid", {
    title: { text: "Buyers per recency × frequency cell", left: "center", top: 0, textStyle: { fontSize: 13 } },
    grid: { left: 64, right: 56, top: 32, bottom: 44 },
    tooltip: { trigger: "item", renderMode: "richText", confine: true },
    xAxis: {
      type: "category",
      data: scores,
      name: "recency score (5 = most recent)",
      nameLocation: "middle",
      nameGap: 28,
      nameTextStyle: { color: MUTED },
      axisLabel: { color: MUTED },
      splitArea: { show: true },
    },
    yAxis: {
      type: "category",
      data: scores,
      name: "frequency score",
      nameLocation: "middle",
      nameGap: 36,
      nameTextStyle: { color: MUTED },
      axisLabel: { color: MUTED },
      splitArea: { show: true },
    },
    visualMap: scaleLegend(2, max, (v) => int(v), { orient: "vertical", right: 4, top: "middle" }),
    series: [
      {
        type: "heatmap",
        name: "Buyers",
        data: rfmGrid.cells.map((c) => ({
          value: [c.recency - 1, c.frequency - 1, c.customers, c.revenue],
          label: cellLabel(c.customers / max),
        })),
        label: { show: true, color: TEXT, formatter: (p) => int(p.value[2]) },
        itemStyle: { borderColor: "#fff", borderWidth: 2 },
        tooltip: {
          formatter: (p) =>
            `R${p.value[0] + 1} F${p.value[1] + 1}: ${int(p.value[2])} buyers\nrevenue ${decimal.format(p.value[3])}`,
        },
      },
    ],
  });
  const segments = [...rfmGrid.segments].reverse();
  const bars = draw("rfmSegments", {
    title: { text: "Buyers per RFM segment", left: "center", top: 0, textStyle: { fontSize: 13 } },
    grid: { left: 128, right: 96, top: 32, bottom: 24 },
    tooltip: { trigger: "item", renderMode: "richText", confine: true },
    xAxis: { type: "value", axisLabel: { color: MUTED }, splitNumber: 4 },
    yAxis: {
      type: "category",
      data: segments.map((s) => titleCase(s.segment)),
      axisLabel: { color: MUTED, fontSize: 11, interval: 0 },
    },
    series: [
      {
        type: "bar",
        name: "Buyers",
        data: segments.map((s) => ({ value: s.customers, share: s.share, revenue: s.revenue })),
        itemStyle: { color: "#3f84c9" },
        barMaxWidth: 16,
        label: {
          show: true,
          position: "right",
          color: TEXT,
          fontSize: 11,
          formatter: (p) => `${int(p.value)} (${pct(p.data.share)})`,
        },
        tooltip: {
          formatter: (p) =>
            `${p.name}: ${int(p.value)} buyers (${pct(p.data.share)})\nrevenue ${decimal.format(p.data.revenue)}`,
        },
      },
    ],
  });
  await Promise.all([grid, bars]);
}

async function loadMetrics(view, signal) {
  const period = { from: addDays(view.asOf, -(view.periodDays - 1)), to: view.asOf };
  const previous = { from: addDays(period.from, -view.periodDays), to: addDays(period.from, -1) };
  const { metrics } = await graphql(
    Q.METRICS,
    { keys: Q.METRIC_KEYS, period, previous, segmentId: view.segmentId || null },
    signal,
  );
  setSub(
    "metrics",
    `${period.from} – ${period.to} (${view.periodDays} days) against ${previous.from} – ${previous.to}` +
      (view.segmentId ? " · members of the segment" : " · all customers"),
  );
  const box = $("#metrics");
  const shown = metrics.filter((m) => m.available || !NEEDS_INTEREST_EVENTS.has(m.key));
  box.replaceChildren(...shown.map((m) => metricTile(m, view)));
}

function metricTile(m, view) {
  const unit = MULTIPLES.has(m.key) ? "MULTIPLE" : m.unit;
  const c = m.comparison;
  const element = (tag, className, text) => {
    const el = document.createElement(tag);
    if (className) el.className = className;
    el.textContent = text;
    return el;
  };
  const tile = element("article", "metric", "");
  tile.dataset.metric = m.key;
  tile.title = `${m.name}: ${m.description}`;
  const value = element("p", "value", formatValue(m.value, unit));
  value.dataset.value = m.value === null ? "" : String(m.value);
  const previous = element("p", "previous", `previous ${formatValue(c?.value ?? null, unit)}`);
  previous.dataset.value = c?.value === null || c?.value === undefined ? "" : String(c.value);
  const change = element("p", "change", "");
  const r = c?.relativeChange;
  change.dataset.relativeChange = r === null || r === undefined ? "" : String(r);
  if (!m.available) {
    change.textContent = "needs a table the warehouse lacks";
    change.classList.add("muted");
  } else if (m.value === null && view.segmentId && (m.key === "CAC" || m.key === "LTV_TO_CAC")) {
    change.textContent = "not defined for a segment";
    change.title = "Marketing spend is not attributed to segments.";
    change.classList.add("muted");
  } else if (unit === "SCORE") {
    // A score can be 0 or below (NPS runs from −100 to 100): a relative change of one means nothing
    // (8 to −1 read −113%), so the change is shown in points.
    const d = c?.change;
    if (d === null || d === undefined) {
      change.textContent = "no change to show";
      change.classList.add("muted");
    } else {
      change.textContent = `${d > 0 ? "▲" : d < 0 ? "▼" : "■"} ${formatChange(d, unit)} points`;
      const good = LOWER_IS_BETTER.has(m.key) ? d < 0 : d > 0;
      change.classList.add(NEUTRAL.has(m.key) || d === 0 ? "neutral" : good ? "good" : "bad");
    }
  } else if (r === null || r === undefined) {
    const absolute = formatChange(c?.change, unit);
    change.textContent = absolute ? `${absolute} (no % change: previous is 0 or empty)` : "no change to show";
    change.classList.add("muted");
  } else {
    const arrow = r > 0 ? "▲" : r < 0 ? "▼" : "■";
    const sign = r > 0 ? "+" : r < 0 ? "−" : "";
    change.append(
      `${arrow} ${sign}${Math.abs(r * 100).toFixed(1)}%`,
      element("span", "abs", formatChange(c.change, unit)),
    );
    const good = LOWER_IS_BETTER.has(m.key) ? r < 0 : r > 0;
    change.classList.add(NEUTRAL.has(m.key) || r === 0 ? "neutral" : good ? "good" : "bad");
  }
  tile.append(element("h3", "", SHORT_NAMES[m.key] ?? m.name), value, previous, change);
  return tile;
}

/** Stage shares at the end of each of the 24 months up to the day (all customers: series have no segment). */
async function loadSeries(view, signal) {
  const from = monthStart(view.asOf, -23);
  const { stageSeries } = await graphql(Q.SERIES, { from, to: view.asOf }, signal);
  const stages = stageSeries[0]?.stages.map((s) => s.stage) ?? [];
  const colors = stageColors(stages);
  setSub("series", `Share of everyone known at the end of each month, ${from.slice(0, 7)} to ${view.asOf}`);
  card("series").dataset.points = String(stageSeries.length);
  await draw("series", {
    grid: { left: 48, right: 16, top: 16, bottom: 72 },
    tooltip: { trigger: "axis", renderMode: "richText", confine: true },
    legend: { bottom: 0, type: "scroll", textStyle: { color: MUTED } },
    xAxis: { type: "category", data: stageSeries.map((p) => p.start.slice(0, 7)), axisLabel: { color: MUTED } },
    yAxis: { type: "value", max: 1, axisLabel: { color: MUTED, formatter: (v) => pct(v, 0) } },
    series: stages.map((stage, i) => ({
      type: "line",
      name: stage.name,
      stack: "share",
      areaStyle: { opacity: 0.85 },
      lineStyle: { width: 0 },
      symbol: "none",
      itemStyle: { color: colors[stage.key] },
      data: stageSeries.map((p) => p.stages[i].share),
      tooltip: { valueFormatter: (v) => pct(v) },
    })),
  });
}

/** The metric of the trend card over the 24 months up to the day, of the segment picked: one request. */
async function loadTrend(view, signal) {
  const from = monthStart(view.asOf, -23);
  const key = view.trendKey;
  const { metricSeries } = await graphql(
    Q.TREND,
    { keys: [key], from, to: view.asOf, segmentId: view.segmentId || null },
    signal,
  );
  const values = metricSeries.map((p) => p.values[0]);
  const unit = MULTIPLES.has(key) ? "MULTIPLE" : (values[0]?.unit ?? "COUNT");
  setSub(
    "trend",
    `${values[0]?.name ?? key} per month, ${from.slice(0, 7)} to ${view.asOf}` +
      (view.segmentId ? " · members of the segment" : " · all customers"),
  );
  card("trend").dataset.points = String(metricSeries.length);
  card("trend").dataset.metric = key;
  if (values.length > 0 && values.every((v) => !v.available))
    throw new Error(`${key}: needs a table the warehouse lacks`);
  await draw("trend", {
    grid: { left: 64, right: 16, top: 16, bottom: 32 },
    tooltip: { trigger: "axis", renderMode: "richText", confine: true, valueFormatter: (v) => formatValue(v, unit) },
    xAxis: { type: "category", data: metricSeries.map((p) => p.period.from.slice(0, 7)), axisLabel: { color: MUTED } },
    yAxis: { type: "value", axisLabel: { color: MUTED, formatter: (v) => formatValue(v, unit) } },
    series: [
      {
        type: "line",
        name: values[0]?.name ?? key,
        symbolSize: 5,
        itemStyle: { color: PROGRESS_COLORS[3] },
        // A month without a value (no buyers to divide by) is a gap, not a zero.
        data: values.map((v) => v.value),
      },
    ],
  });
}

/** The holdout the model check keeps back: the last 26 weeks up to the day. */
const HOLDOUT_DAYS = 182;

/**
 * The lifetime-value model fitted on everything up to 26 weeks before the day, its expected repeat
 * purchases against the buyers' actual ones week by week (the tracking plot of BG/NBD's paper).
 */
async function loadClv(view, signal) {
  const calibrationEnd = addDays(view.asOf, -HOLDOUT_DAYS);
  const { clvValidation: v } = await graphql(Q.CLV_CHECK, { calibrationEnd, holdoutEnd: view.asOf }, signal);
  const off = v.actualHoldoutPurchases > 0 ? v.predictedHoldoutPurchases / v.actualHoldoutPurchases - 1 : null;
  setSub(
    "clv",
    `Fitted up to ${calibrationEnd}; the 26 weeks after: ${int(v.actualHoldoutPurchases)} repeat purchases, ` +
      `${int(v.predictedHoldoutPurchases)} predicted` +
      (off === null ? "" : ` (${off >= 0 ? "+" : "−"}${Math.abs(off * 100).toFixed(1)}%)`) +
      ` · per customer MAE ${v.meanAbsoluteError.toFixed(2)}, RMSE ${v.rootMeanSquaredError.toFixed(2)} · all buyers`,
  );
  Object.assign(card("clv").dataset, {
    actual: String(v.actualHoldoutPurchases),
    predicted: String(v.predictedHoldoutPurchases),
    weeks: String(v.tracking.length),
  });
  const weeks = v.tracking.map((w) => w.to);
  const lastCalibration = v.tracking.filter((w) => w.period === "CALIBRATION").at(-1)?.to;
  await draw("clv", {
    grid: { left: 56, right: 16, top: 16, bottom: 56 },
    tooltip: { trigger: "axis", renderMode: "richText", confine: true, valueFormatter: (x) => int(x) },
    legend: { bottom: 0, textStyle: { color: MUTED } },
    xAxis: { type: "category", data: weeks, axisLabel: { color: MUTED } },
    yAxis: { type: "value", axisLabel: { color: MUTED } },
    series: [
      {
        type: "line",
        name: "Actual repeat purchases (cumulative)",
        symbolSize: 3,
        itemStyle: { color: PROGRESS_COLORS[4] },
        data: v.tracking.map((w) => w.cumulativeRepeatPurchases),
        markLine: lastCalibration
          ? {
              symbol: "none",
              silent: true,
              label: { formatter: "holdout →", color: MUTED },
              lineStyle: { color: MUTED, type: "dotted" },
              data: [{ xAxis: lastCalibration }],
            }
          : undefined,
      },
      {
        type: "line",
        name: "Model's expectation",
        symbolSize: 3,
        lineStyle: { type: "dashed" },
        itemStyle: { color: LAPSE_COLORS[0] },
        data: v.tracking.map((w) => w.cumulativeExpectedRepeatPurchases),
      },
    ],
  });
}

/** The stage the ranked list shows: the one picked, else at risk, else the first lapse stage. */
async function rankedStage(signal) {
  const select = $("#ranked-stage");
  if (select.options.length === 0) {
    const { stages } = await graphql(Q.STAGE_KEYS, {}, signal);
    const sorted = [...stages].sort((a, b) => a.order - b.order);
    select.replaceChildren(
      ...sorted.map((s) => {
        const option = document.createElement("option");
        option.value = s.key;
        option.textContent = s.name;
        return option;
      }),
    );
    select.value = sorted.find((s) => s.key === "at_risk")?.key ?? sorted.find((s) => s.kind === "LAPSE")?.key ?? "";
  }
  return { key: select.value, name: select.selectedOptions[0]?.textContent ?? select.value };
}

/** A table row of one customer's cells; picking it (click or Enter) opens the customer card. */
function customerRow(id, cells) {
  const tr = document.createElement("tr");
  tr.dataset.customer = id;
  for (const text of cells) {
    const td = document.createElement("td");
    td.textContent = text;
    tr.append(td);
  }
  tr.tabIndex = 0;
  tr.title = "Show this customer";
  return tr;
}

/**
 * A stage's ten customers (the segment's members when one is picked) with the highest predicted lifetime
 * value where the state store keeps it for the day, else with the most revenue (the warehouse predicts
 * no one in bulk).
 */
async function loadRanked(view, signal) {
  const [stage, { stateStore }] = await Promise.all([rankedStage(signal), graphql(Q.STATE_STORE, {}, signal)]);
  const byClv = stateStore.lifetimeValue !== null && stateStore.stateDay === view.asOf;
  const { rankedCustomers } = await graphql(
    Q.RANKED,
    {
      stage: stage.key,
      asOf: view.asOf,
      segmentId: view.segmentId || null,
      orderBy: byClv ? "PREDICTED_CLV" : "REVENUE",
    },
    signal,
  );
  const rows = rankedCustomers.edges.map((e) => e.node);
  const order = byClv ? "highest predicted CLV first" : "most revenue first";
  setSub("ranked", `${stage.name} on ${view.asOf}, ${order}${view.segmentId ? " (segment members)" : ""}`);
  $("#ranked").dataset.orderBy = byClv ? "PREDICTED_CLV" : "REVENUE";
  const body = $("#ranked tbody");
  body.replaceChildren(
    ...rows.map((c, i) => {
      const cells = [String(i + 1), c.id, formatValue(c.features.revenue, "CURRENCY"), int(c.features.purchaseDays)];
      cells.push(c.features.recencyDays === null ? "—" : `${int(c.features.recencyDays)} d`);
      cells.push(c.prediction === null ? "—" : formatValue(c.prediction.predictedClv, "CURRENCY"));
      return customerRow(c.id, cells);
    }),
  );
  $("#ranked").dataset.rows = String(rows.length);
  if (rows.length === 0) {
    const tr = document.createElement("tr");
    const td = document.createElement("td");
    td.colSpan = 6;
    td.textContent = "Nobody in this stage.";
    tr.append(td);
    body.append(tr);
  }
}

/**
 * The newest stage changes the refreshes wrote to the outbox, newest first, whatever the day picked:
 * what webhooks and subscriptions deliver. A row opens the customer.
 */
async function loadChanges(_view, signal) {
  const [{ lifecycleEvents }, { stages }] = await Promise.all([
    graphql(Q.LATEST_CHANGES, {}, signal),
    graphql(Q.STAGE_KEYS, {}, signal),
  ]);
  const names = new Map(stages.map((s) => [s.key, s.name]));
  const name = (key) => (key === null ? "(new)" : (names.get(key) ?? key));
  const events = lifecycleEvents.events;
  setSub(
    "changes",
    events.length === 0
      ? "None yet: each refresh after the first writes the stage changes it finds."
      : `The ${events.length} newest of the outbox, written ${events[0].createdAt.slice(0, 10)}${lifecycleEvents.hasMore ? "; older ones through the API" : ""}`,
  );
  $("#changes").dataset.rows = String(events.length);
  $("#changes tbody").replaceChildren(
    ...events.map((e) => {
      const tr = customerRow(e.customerId, [e.day, e.customerId, name(e.fromStage), name(e.toStage)]);
      tr.dataset.event = e.id;
      return tr;
    }),
  );
}

/** One customer: stages, RFM, predicted CLV and the stage history as a timeline (none until one is asked for). */
async function loadCustomer(view, signal) {
  const id = $("#customerId").value.trim();
  const facts = $("#customer-facts");
  const timeline = $("#customer-timeline");
  if (!id) {
    setSub("customer", "Look a customer up by id, or pick one from the list.");
    facts.replaceChildren();
    timeline.replaceChildren();
    card("customer").dataset.customer = "";
    return;
  }
  const { customer } = await graphql(Q.CUSTOMER, { id, asOf: view.asOf }, signal);
  card("customer").dataset.customer = customer ? customer.id : "";
  if (!customer) {
    setSub("customer", `No customer ${id} known on ${view.asOf}.`);
    facts.replaceChildren();
    timeline.replaceChildren();
    return;
  }
  setSub("customer", `${customer.id} on ${customer.asOf}`);
  const rows = [
    ["Stage", customer.stage.name, customer.stage.key],
    ["Furthest stage", customer.furthestStage.name, customer.furthestStage.key],
    [
      "RFM",
      customer.rfm ? `${customer.rfm.code} · ${customer.rfm.segment}` : "— (no purchase)",
      customer.rfm?.code ?? "",
    ],
    [
      "Predicted CLV (1 year)",
      customer.prediction ? formatValue(customer.prediction.predictedClv, "CURRENCY") : "—",
      customer.prediction ? String(customer.prediction.predictedClv) : "",
    ],
    ["P(alive)", customer.prediction ? pct(customer.prediction.probabilityAlive) : "—", ""],
    ["Revenue", formatValue(customer.features.revenue, "CURRENCY"), String(customer.features.revenue)],
    ["Purchase days", int(customer.features.purchaseDays), String(customer.features.purchaseDays)],
    ["First seen", customer.features.firstSeenDate ?? "—", ""],
  ];
  facts.replaceChildren(
    ...rows.flatMap(([term, value, raw]) => {
      const dt = document.createElement("dt");
      dt.textContent = term;
      const dd = document.createElement("dd");
      dd.textContent = value;
      dd.dataset.value = raw;
      return [dt, dd];
    }),
  );
  // The timeline: one band per stretch of days, as wide as it lasted (the last one up to the day).
  const spells = customer.stageHistory;
  const first = spells[0]?.from ?? customer.asOf;
  const end = addDays(customer.asOf, 1);
  const days = (a, b) => Math.max(0, (Date.parse(`${b}T00:00:00Z`) - Date.parse(`${a}T00:00:00Z`)) / 86_400_000);
  const span = Math.max(1, days(first, end));
  const colors = stageColors(spells.map((s) => s.stage));
  timeline.replaceChildren(
    ...spells.map((s) => {
      const band = document.createElement("div");
      band.className = "band";
      band.dataset.stage = s.stage.key;
      band.dataset.from = s.from;
      band.dataset.to = s.to ?? "";
      band.style.setProperty("flex-grow", String(days(s.from, s.to ?? end) / span));
      band.style.setProperty("background", colors[s.stage.key]);
      band.title = `${s.stage.name}: ${s.from} to ${s.to ? addDays(s.to, -1) : "now"}`;
      band.textContent = s.stage.name;
      return band;
    }),
  );
}

/** The trend card's metric until another is picked. */
const DEFAULT_TREND = "ACTIVE_CUSTOMERS";

/** The trend card's choices: the headline metrics; `linked` (the link's ?trend=) when it is one of them. */
function fillTrendPicker(linked) {
  const select = $("#trend-metric");
  const keys = Q.METRIC_KEYS.filter((key) => !NEEDS_INTEREST_EVENTS.has(key));
  select.replaceChildren(
    ...keys.map((key) => {
      const option = document.createElement("option");
      option.value = key;
      option.textContent = SHORT_NAMES[key] ?? titleCase(key.toLowerCase());
      return option;
    }),
  );
  select.value = keys.includes(linked) ? linked : DEFAULT_TREND;
}

const CARDS = {
  metrics: loadMetrics,
  stages: loadStages,
  series: loadSeries,
  trend: loadTrend,
  funnel: loadFunnel,
  transitions: loadTransitions,
  ranked: loadRanked,
  changes: loadChanges,
  customer: loadCustomer,
  cohorts: loadCohorts,
  clv: loadClv,
  rfm: loadRfm,
};

// ---------------------------------------------------------------- the view

function readView() {
  const asOf = isDay($("#asOf").value) ? $("#asOf").value : localToday();
  const periodDays = Number($("#period").value) || 90;
  const cohortMonths = Number($("#cohort-months").value) || 12;
  const trendKey = $("#trend-metric").value || DEFAULT_TREND;
  return { asOf, periodDays, cohortMonths, trendKey, segmentId: $("#segment").value };
}

function writeUrl(view) {
  const params = new URLSearchParams();
  params.set("asOf", view.asOf);
  if (view.periodDays !== 90) params.set("period", String(view.periodDays));
  if (view.cohortMonths !== 12) params.set("cohorts", String(view.cohortMonths));
  if (view.trendKey !== DEFAULT_TREND) params.set("trend", view.trendKey);
  if (view.segmentId) params.set("segment", view.segmentId);
  const customer = $("#customerId").value.trim();
  if (customer) params.set("customer", customer);
  history.replaceState(null, "", `${location.pathname}?${params}`);
}

function showBanner(lines) {
  const banner = $("#banner");
  banner.textContent = lines.join("\n");
  banner.hidden = lines.length === 0;
}

let current;
let generation = 0;
/** The segment picker's errors, if its list could not be loaded (shown with the cards' errors). */
let segmentProblems = [];
/** What the page's link asked for and could not have (an asOf that is no day), until the day is picked. */
let linkProblems = [];

/** Fetches and draws every card for the view in the controls; the latest call wins. */
async function render() {
  const view = readView();
  writeUrl(view);
  current?.abort();
  const controller = new AbortController();
  current = controller;
  const mine = ++generation;
  document.body.dataset.state = "loading";
  if (!view.segmentId) $("#scope").textContent = "All customers";
  const names = Object.keys(CARDS);
  for (const name of names) resetCard(name);
  const results = await Promise.allSettled(
    names.map(async (name) => {
      try {
        await CARDS[name](view, controller.signal);
        if (mine === generation) card(name).dataset.status = "ok";
      } catch (error) {
        if (error?.name === "AbortError" || mine !== generation) return;
        showCardError(name, error);
        throw error;
      }
    }),
  );
  if (mine !== generation) return;
  const failed = results.filter((r) => r.status === "rejected");
  showBanner(summaryLines([...linkProblems, ...segmentProblems, ...failed.flatMap((r) => errorEntries(r.reason))]));
  Object.assign(document.body.dataset, {
    state: "rendered",
    errors: String(failed.length + (segmentProblems.length > 0 ? 1 : 0) + linkProblems.length),
    asOf: view.asOf,
    segment: view.segmentId,
    renders: String(Number(document.body.dataset.renders ?? 0) + 1),
  });
}

/** Draws one card again for the view in the controls (a control of its own changed), the link kept in step. */
async function redrawCard(name, load) {
  const view = readView();
  writeUrl(view);
  resetCard(name);
  try {
    await load(view);
    card(name).dataset.status = "ok";
  } catch (error) {
    showCardError(name, error);
  }
}

async function loadSegments() {
  const select = $("#segment");
  const wanted = select.value || new URLSearchParams(location.search).get("segment") || "";
  const keep = [...select.options].slice(0, 1);
  try {
    const { segments } = await graphql(Q.SEGMENTS, {});
    const options = segments.edges.map(({ node }) => {
      const option = document.createElement("option");
      option.value = node.id;
      option.textContent = node.name;
      if (node.description) option.title = node.description;
      return option;
    });
    select.replaceChildren(...keep, ...options);
    if (wanted && !options.some((o) => o.value === wanted)) {
      // A link to a segment that is not listed (archived or unknown): keep it; its cards say what is wrong.
      const option = document.createElement("option");
      option.value = wanted;
      option.textContent = `(segment ${wanted})`;
      select.append(option);
    }
    select.value = wanted;
    select.dataset.loaded = String(options.length);
    segmentProblems = [];
  } catch (error) {
    select.replaceChildren(...keep);
    select.dataset.loaded = "error";
    segmentProblems = errorEntries(error);
  }
}

function showKeyState() {
  const key = apiKey();
  $("#key-state").textContent = key ? `key ${key.slice(0, 10)}… in use` : "no key stored";
  $("#apiKey").value = "";
}

async function start() {
  if (!echarts) {
    Object.assign(document.body.dataset, { state: "rendered", errors: "1", renders: "1" });
    showBanner(["The charting library (/dashboard/echarts.min.js) did not load."]);
    return;
  }
  const params = new URLSearchParams(location.search);
  const linkedDay = params.get("asOf");
  $("#asOf").value = isDay(linkedDay) ? linkedDay : await serverDefaultDay();
  if (linkedDay !== null && !isDay(linkedDay)) {
    const head = `BAD_USER_INPUT: the link's asOf ${JSON.stringify(linkedDay)} is not a day (YYYY-MM-DD); showing ${$("#asOf").value}`;
    linkProblems = [{ code: "BAD_USER_INPUT", head }];
  }
  if (["30", "90", "365"].includes(params.get("period"))) $("#period").value = params.get("period");
  if (["6", "12", "24"].includes(params.get("cohorts"))) $("#cohort-months").value = params.get("cohorts");
  fillTrendPicker(params.get("trend"));
  $("#customerId").value = params.get("customer") ?? "";
  showKeyState();

  // The customer card on its own: a lookup, or a row of the ranked list, redraws only it.
  const showCustomer = () => redrawCard("customer", loadCustomer);
  $("#customer-form").addEventListener("submit", (event) => {
    event.preventDefault();
    void showCustomer();
  });
  const pick = (event) => {
    const row = event.target.closest("tr[data-customer]");
    if (!row || (event.type === "keydown" && event.key !== "Enter")) return;
    $("#customerId").value = row.dataset.customer;
    void showCustomer();
  };
  for (const table of ["#ranked", "#changes"]) {
    $(table).addEventListener("click", pick);
    $(table).addEventListener("keydown", pick);
  }
  // The cohort window and the ranked list's stage redraw their own card alone.
  $("#cohort-months").addEventListener("change", () => void redrawCard("cohorts", loadCohorts));
  $("#ranked-stage").addEventListener("change", () => void redrawCard("ranked", loadRanked));
  $("#trend-metric").addEventListener("change", () => void redrawCard("trend", loadTrend));

  // Refresh: the segment list too (segments saved since the page opened appear).
  $("#controls").addEventListener("submit", (event) => {
    event.preventDefault();
    void reload();
  });
  $("#asOf").addEventListener("change", () => (linkProblems = []));
  for (const id of ["#asOf", "#period", "#segment"]) $(id).addEventListener("change", () => void render());
  $("#key-form").addEventListener("submit", async (event) => {
    event.preventDefault();
    const key = $("#apiKey").value.trim();
    try {
      if (key) localStorage.setItem(KEY_STORAGE, key);
    } catch {
      showBanner(["The browser refused to store the key (localStorage)."]);
      return;
    }
    showKeyState();
    await reload();
  });
  $("#clear-key").addEventListener("click", async () => {
    try {
      localStorage.removeItem(KEY_STORAGE);
    } catch {
      // Nothing stored.
    }
    showKeyState();
    await reload();
  });
  await reload();
}

/**
 * The day the server answers for without asOf (its state's day, or the last day with data when the
 * data ends before today): a shop's data from last year is not shown all churned. Today when it
 * cannot say (no key yet, say).
 */
async function serverDefaultDay() {
  try {
    return (await graphql(Q.DEFAULT_DAY, {})).defaultDay;
  } catch {
    return localToday();
  }
}

async function reload() {
  document.body.dataset.state = "loading";
  await loadSegments();
  await render();
}

void start();

// The GraphQL requests asked of BigQuery (on ZetaSQL) and of DuckDB, whose answers must be equal: every
// query field that reads the warehouse, every metric and breakdown, saved segments and their comparison.
import { expect } from "vitest";

/** What a request is asked about: the day, some customer ids, two saved segments (ids per server). */
export interface BatteryContext {
  readonly asOf: string;
  readonly ids: readonly string[];
  readonly segments: readonly [string, string];
}

export interface BatteryQuery {
  readonly name: string;
  readonly query: string;
  readonly variables: (context: BatteryContext) => Record<string, unknown>;
  /** The metric breakdown the request asks for (the heaviest requests: one per breakdown). */
  readonly breakdown?: string;
}

/** The two segments the battery saves (through the API) on each server before asking. */
export const SAVED_SEGMENTS = [
  {
    name: "valuable or recent",
    definition: {
      any: [
        { field: "stage", op: "in", value: ["retained", "loyal", "at_risk"] },
        {
          all: [
            { field: "revenue", op: "gte", value: 50 },
            { field: "rfmMonetary", op: "gte", value: 3 },
          ],
        },
        { field: "lastPurchaseDate", op: "gte", value: { daysAgo: 60 } },
      ],
    },
  },
  {
    name: "one purchase day",
    definition: {
      all: [{ field: "purchaseDays", op: "eq", value: 1 }, { not: { field: "acquisitionChannel", op: "isNull" } }],
    },
  },
] as const;

const DAY_MS = 86_400_000;

/** The day `days` before `day` (YYYY-MM-DD). */
export function daysBefore(day: string, days: number): string {
  return new Date(Date.parse(`${day}T00:00:00Z`) - days * DAY_MS).toISOString().slice(0, 10);
}

const METRIC_KEYS = [
  "ACTIVE_CUSTOMERS",
  "AVERAGE_DAYS_IN_STAGE",
  "AVERAGE_ORDER_VALUE",
  "CAC",
  "CHURN_RATE",
  "CONVERSION_RATE",
  "HISTORICAL_LTV",
  "LTV_TO_CAC",
  "MEDIAN_DAYS_TO_CONVERT",
  "NEW_CUSTOMERS",
  "NPS",
  "ORDERS",
  "PURCHASE_FREQUENCY",
  "REFERRAL_RATE",
  "REPEAT_PURCHASE_RATE",
  "RETENTION_RATE",
  "REVENUE",
  "REVENUE_PER_CUSTOMER",
  "SATISFACTION",
];

const FEATURES = `features { acquisitionChannel averageOrderValue firstPurchaseDate firstPurchaseRevenue firstSeenDate
  lastEventDate lastEventType lastPurchaseDate meanGapDays orderCount purchaseDays recencyDays referredCount revenue
  secondPurchaseDate tenureDays }`;

const METRIC = `key value population available comparison { value change relativeChange }`;

const periods = ({ asOf }: BatteryContext) => ({
  period: { from: daysBefore(asOf, 89), to: asOf },
  previous: { from: daysBefore(asOf, 179), to: daysBefore(asOf, 90) },
});

export const BATTERY: readonly BatteryQuery[] = [
  {
    name: "stages with their first members",
    query: `query($asOf: Date) { stages(asOf: $asOf) { key count share
      customers(first: 5) { edges { node { id } } pageInfo { hasNextPage } } } }`,
    variables: ({ asOf }) => ({ asOf }),
  },
  {
    name: "customers by id: stage, furthest stage, features, RFM, transactions",
    query: `query($ids: [ID!]!, $asOf: Date) { customers(ids: $ids, asOf: $asOf) { id stage { key } furthestStage { key }
      ${FEATURES} rfm { recency frequency monetary code segment }
      transactions(first: 20) { edges { node { occurredAt amount orderId channel } } } } }`,
    variables: ({ asOf, ids }) => ({ asOf, ids }),
  },
  {
    name: "stage transitions and timings",
    query: `query($from: Date!, $to: Date!) {
      stageTransitions(from: $from, to: $to) { from { key } to { key } count }
      stageTimings(from: $from, to: $to, stepDays: 30) { stage { key } entries meanDaysFromFirstSeen
        medianDaysFromFirstSeen meanDaysFromFirstPurchase medianDaysFromFirstPurchase } }`,
    variables: ({ asOf }) => ({ from: daysBefore(asOf, 120), to: asOf }),
  },
  {
    name: "RFM grid",
    query: `query($asOf: Date) { rfmGrid(asOf: $asOf) { buyers cells { recency frequency customers revenue }
      segments { segment customers share } } }`,
    variables: ({ asOf }) => ({ asOf }),
  },
  {
    name: "cohorts",
    query: `query($from: Date!, $to: Date!, $asOf: Date) { cohorts(from: $from, to: $to, asOf: $asOf, months: 6) {
      month customers revenuePerCustomer months { offset retention } } }`,
    variables: ({ asOf }) => ({ from: daysBefore(asOf, 365), to: asOf, asOf }),
  },
  {
    name: "funnel",
    query: `query($asOf: Date, $firstSeen: PeriodInput) {
      all: funnel(asOf: $asOf) { stage { key } reached dropOffFromPrevious }
      recent: funnel(asOf: $asOf, firstSeen: $firstSeen) { stage { key } reached dropOffFromPrevious } }`,
    variables: ({ asOf }) => ({ asOf, firstSeen: { from: daysBefore(asOf, 180), to: asOf } }),
  },
  {
    name: "every metric with a comparison period",
    query: `query($period: PeriodInput!, $previous: PeriodInput!) {
      metrics(keys: [${METRIC_KEYS.join(" ")}], period: $period, compareTo: $previous) { ${METRIC} } }`,
    variables: periods,
  },
  ...["STAGE", "ACQUISITION_CHANNEL", "COHORT_MONTH", "RFM_SEGMENT", "SEGMENT"].map(
    (breakdown): BatteryQuery => ({
      name: `every metric by ${breakdown.toLowerCase()}`,
      breakdown,
      query: `query($period: PeriodInput!) { metrics(keys: [${METRIC_KEYS.join(" ")}], period: $period,
        breakdown: ${breakdown}) { key value breakdown { key label value population } } }`,
      variables: periods,
    }),
  ),
  {
    name: "a segment previewed: size, stage breakdown, members",
    query: `query($asOf: Date, $definition: JSON!) { previewSegment(asOf: $asOf, definition: $definition) {
      size stageBreakdown { stage { key } count } members(first: 10) { edges { node { id } } } } }`,
    variables: ({ asOf }) => ({ asOf, definition: SAVED_SEGMENTS[0].definition }),
  },
  {
    name: "BG/NBD, Pareto/NBD and Gamma-Gamma fits",
    query: `query($asOf: Date!) {
      bgnbd: clvModel(asOf: $asOf, model: BG_NBD) { customers bgnbd { r alpha a b logLikelihood }
        gammaGamma { p q gamma customers } }
      pareto: clvModel(asOf: $asOf, model: PARETO_NBD) { customers paretoNbd { r alpha s beta logLikelihood } } }`,
    variables: ({ asOf }) => ({ asOf }),
  },
  {
    name: "a saved segment's members, size, stages, transitions, RFM, cohorts and funnel",
    query: `query($id: ID!, $asOf: Date!, $from: Date!) {
      segment(id: $id) { size(asOf: $asOf) stageBreakdown(asOf: $asOf) { stage { key } count }
        members(asOf: $asOf, first: 10) { edges { node { id stage { key } } } } }
      stageTransitions(from: $from, to: $asOf, segmentId: $id) { from { key } to { key } count }
      rfmGrid(asOf: $asOf, segmentId: $id) { buyers segments { segment customers share } }
      cohorts(from: $from, to: $asOf, asOf: $asOf, months: 4, segmentId: $id) { month customers months { offset retention } }
      funnel(asOf: $asOf, segmentId: $id) { stage { key } reached } }`,
    variables: ({ asOf, segments }) => ({ id: segments[0], asOf, from: daysBefore(asOf, 150) }),
  },
  {
    name: "a saved segment's metrics, and two segments compared",
    query: `query($a: ID!, $b: ID!, $period: PeriodInput!, $previous: PeriodInput!) {
      metrics(keys: [${METRIC_KEYS.join(" ")}], period: $period, compareTo: $previous, segmentId: $a) { ${METRIC} }
      compareSegments(a: $a, b: $b, period: $period, keys: [${METRIC_KEYS.join(" ")}]) {
        difference metric { key value population } other { key value population } significance { pValue z } } }`,
    variables: (context) => ({ a: context.segments[0], b: context.segments[1], ...periods(context) }),
  },
];

/**
 * Numbers from two warehouses agree to this relative tolerance: sums of floating-point amounts in a
 * different order differ in the last bits, nothing more is allowed.
 */
export const ANSWER_TOLERANCE = 1e-9;

/** `actual` equals `expected`, numbers within a relative tolerance; the path of the first difference is named. */
export function expectSameAnswer(actual: unknown, expected: unknown, tolerance: number, path = "data"): void {
  if (typeof expected === "number" && typeof actual === "number") {
    const scale = Math.max(1, Math.abs(expected), Math.abs(actual));
    expect(Math.abs(actual - expected) <= tolerance * scale, `${path}: ${actual} ≠ ${expected}`).toBe(true);
    return;
  }
  if (Array.isArray(expected) && Array.isArray(actual)) {
    expect(actual.length, `${path}.length`).toBe(expected.length);
    expected.forEach((e, i) => expectSameAnswer(actual[i], e, tolerance, `${path}[${i}]`));
    return;
  }
  if (expected !== null && typeof expected === "object" && actual !== null && typeof actual === "object") {
    expect(Object.keys(actual).sort(), `${path} keys`).toEqual(Object.keys(expected).sort());
    for (const key of Object.keys(expected)) {
      expectSameAnswer(
        (actual as Record<string, unknown>)[key],
        (expected as Record<string, unknown>)[key],
        tolerance,
        `${path}.${key}`,
      );
    }
    return;
  }
  expect(actual, path).toEqual(expected);
}

/**
 * An answer with each server's saved-segment ids replaced by their place in SAVED_SEGMENTS, and groups
 * keyed by segment (the SEGMENT breakdown, ordered by id) in that place's order, so servers whose app
 * databases gave the segments different ids can be compared.
 */
export function comparable(data: unknown, segmentIds: readonly string[]): unknown {
  let text = JSON.stringify(data ?? null);
  segmentIds.forEach((id, i) => (text = text.split(JSON.stringify(id)).join(JSON.stringify(`saved-segment-${i}`))));
  const sortGroups = (value: unknown): unknown => {
    if (Array.isArray(value)) {
      const items = value.map(sortGroups);
      const bySegment = items.every((g) => String((g as { key?: unknown } | null)?.key).startsWith("saved-segment-"));
      return bySegment && items.length > 0
        ? items.sort((a, b) => String((a as { key: string }).key).localeCompare((b as { key: string }).key))
        : items;
    }
    if (value !== null && typeof value === "object") {
      return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, sortGroups(v)]));
    }
    return value;
  };
  return sortGroups(JSON.parse(text));
}

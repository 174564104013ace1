// The customer features the lifecycle is computed from, as of a day. One catalog serves the SQL that
// computes them, the rule language that reads them, and the GraphQL type that shows them: the fixed
// features below, and five more for each event type CLM_CONFIG names (events.types), which is what the
// pre-purchase stages (attraction, interest, evaluation) are told apart by.
import { z } from "zod";
import type { LogicalTable } from "../sql/contract.ts";

/** number: a JS number (SQL DOUBLE); date: "YYYY-MM-DD" (SQL DATE); string: text. */
export type FeatureType = "number" | "date" | "string";

export interface FeatureSpec {
  readonly field: string;
  /** Column name in feature SQL. */
  readonly column: string;
  readonly type: FeatureType;
  readonly unit?: "days" | "count" | "currency";
  /** Always a whole number (counts, whole days). */
  readonly whole?: boolean;
  /** An optional table the feature needs; without it the feature is null. */
  readonly requires?: LogicalTable;
  /**
   * Whole days since a fixed day: it grows by one each day that brings nothing new, while every other
   * feature stays as it is (what the state store's stage history is worked out from, stage-history.ts).
   */
  readonly growsDaily?: true;
  readonly description: string;
}

export const FEATURES = [
  {
    field: "firstSeenDate",
    column: "first_seen_date",
    type: "date",
    description:
      "First day the customer was known: the earliest of their customers.created_at, first event and first transaction (a refund too).",
  },
  {
    field: "firstPurchaseDate",
    column: "first_purchase_date",
    type: "date",
    description: "Day of the first purchase; null for prospects.",
  },
  {
    field: "secondPurchaseDate",
    column: "second_purchase_date",
    type: "date",
    description: "Day of the second purchase day (same-day orders count as one); null before a second purchase day.",
  },
  {
    field: "lastPurchaseDate",
    column: "last_purchase_date",
    type: "date",
    description: "Day of the most recent purchase; null for prospects.",
  },
  {
    field: "purchaseDays",
    whole: true,
    column: "purchase_days",
    type: "number",
    unit: "count",
    description:
      "Distinct days with a purchase (several orders on one day count once; a day of refunds only counts none); 0 for prospects.",
  },
  {
    field: "orderCount",
    whole: true,
    column: "order_count",
    type: "number",
    unit: "count",
    description:
      "Orders: distinct order_id per day among purchase rows (amount ≥ 0), each purchase row without an order_id counting as one order; refunds make none.",
  },
  {
    field: "revenue",
    column: "revenue",
    type: "number",
    unit: "currency",
    description: "Sum of transaction amounts, net of refunds (negative amounts).",
  },
  {
    field: "firstPurchaseRevenue",
    column: "first_purchase_revenue",
    type: "number",
    unit: "currency",
    description:
      "Revenue of the first purchase day, net of that day's refunds; null for prospects. (Spend models leave the first day out.)",
  },
  {
    field: "averageOrderValue",
    column: "average_order_value",
    type: "number",
    unit: "currency",
    description: "revenue / orderCount; null without orders.",
  },
  {
    field: "meanGapDays",
    column: "mean_gap_days",
    type: "number",
    unit: "days",
    description:
      "Mean days between purchase days: (last − first purchase day) / (purchaseDays − 1), fractional; 0 with one purchase day, null without.",
  },
  {
    field: "recencyDays",
    whole: true,
    growsDaily: true,
    column: "recency_days",
    type: "number",
    unit: "days",
    description: "Whole days from the last purchase day to the as-of day; null for prospects.",
  },
  {
    field: "tenureDays",
    whole: true,
    growsDaily: true,
    column: "tenure_days",
    type: "number",
    unit: "days",
    description: "Whole days from firstSeenDate to the as-of day.",
  },
  {
    field: "referredCount",
    whole: true,
    column: "referred_count",
    type: "number",
    unit: "count",
    requires: "customers",
    description: "Customers known by the as-of day whose customers.referred_by names this customer.",
  },
  {
    field: "acquisitionChannel",
    column: "acquisition_channel",
    type: "string",
    requires: "customers",
    description: "customers.acquisition_channel.",
  },
  {
    field: "lastEventDate",
    column: "last_event_date",
    type: "date",
    requires: "events",
    description: "Day of the customer's most recent event (visit, sign-up, lead, survey …).",
  },
  {
    field: "lastEventType",
    column: "last_event_type",
    type: "string",
    requires: "events",
    description: "Type of the most recent event (the greatest type among events at the same instant).",
  },
] as const satisfies readonly FeatureSpec[];

export type FeatureField = (typeof FEATURES)[number]["field"];

type ValueOf<T extends FeatureType> = T extends "number" ? number : string;

/** An event feature's field name: `events.<type>.<measure>`. */
export type EventFeatureField = `events.${string}.${EventMeasure}`;

/** One customer's features as of a day (event features under their `events.<type>.<measure>` names). */
export type CustomerFeatures = { readonly customerId: string } & {
  readonly [F in (typeof FEATURES)[number] as F["field"]]: ValueOf<F["type"]> | null;
} & { readonly [F in EventFeatureField]?: number | string | null };

export const FEATURE_BY_FIELD: ReadonlyMap<string, FeatureSpec> = new Map(FEATURES.map((f) => [f.field, f]));

/**
 * An event type as configured: the name stage rules and GraphQL use, and the events.type values in the
 * warehouse that count as it (a name alone counts the events of that very type).
 */
export interface EventType {
  readonly key: string;
  readonly values: readonly string[];
}

const eventTypeKey = z
  .string()
  .regex(/^[a-z][a-z0-9_]{0,39}$/, "must be lower-case letters, digits and _ (at most 40), starting with a letter");

/**
 * CLM_CONFIG's `events.types`: a list of events.type values (`["visit", "lead"]`), or names mapped to the
 * values that count as each (`{"lead": ["lead", "contact_form"], "visit": ["visit"]}`).
 */
export const eventTypesSchema = z
  .union([
    z.array(eventTypeKey),
    z.record(eventTypeKey, z.array(z.string().min(1).max(200)).min(1, "needs at least one events.type value")),
  ])
  .transform((input): EventType[] =>
    Array.isArray(input)
      ? input.map((key) => ({ key, values: [key] }))
      : Object.entries(input).map(([key, values]) => ({ key, values: [...new Set(values)] })),
  )
  .superRefine((types, ctx) => {
    const seen = new Set<string>();
    types.forEach((t, i) => {
      if (seen.has(t.key)) ctx.addIssue({ code: "custom", path: [i], message: `${t.key} is listed twice` });
      seen.add(t.key);
    });
    if (types.length > 50) ctx.addIssue({ code: "custom", path: [], message: "at most 50 event types" });
  });

/** What is measured per event type: events before the cut-off of that type. */
export const EVENT_MEASURES = [
  {
    measure: "count",
    type: "number",
    unit: "count",
    whole: true,
    description: "Events of this type up to the as-of day; 0 without any.",
  },
  { measure: "firstDate", type: "date", description: "Day of the first event of this type; null without any." },
  { measure: "lastDate", type: "date", description: "Day of the latest event of this type; null without any." },
  {
    measure: "daysSinceFirst",
    type: "number",
    unit: "days",
    whole: true,
    growsDaily: true,
    description: "Whole days from the first event of this type to the as-of day; null without any.",
  },
  {
    measure: "daysSinceLast",
    type: "number",
    unit: "days",
    whole: true,
    growsDaily: true,
    description: "Whole days from the latest event of this type to the as-of day; null without any.",
  },
] as const;

export type EventMeasure = (typeof EVENT_MEASURES)[number]["measure"];

const EVENT_FIELD = /^events\.([a-z][a-z0-9_]{0,39})\.([A-Za-z]+)$/;
const SNAKE = {
  count: "count",
  firstDate: "first_date",
  lastDate: "last_date",
  daysSinceFirst: "days_since_first",
  daysSinceLast: "days_since_last",
} as const satisfies Record<EventMeasure, string>;

export function eventFeatureField(key: string, measure: EventMeasure): EventFeatureField {
  return `events.${key}.${measure}`;
}

/** An event feature field's type key and measure; undefined for any other name. */
export function parseEventFeatureField(field: string): { key: string; measure: EventMeasure } | undefined {
  const match = EVENT_FIELD.exec(field);
  if (!match || !Object.hasOwn(SNAKE, match[2]!)) return undefined;
  return { key: match[1]!, measure: match[2] as EventMeasure };
}

/** The spec of an event feature field, whether or not its type is configured (callers check that). */
export function eventFeatureSpec(field: string): FeatureSpec | undefined {
  const parsed = parseEventFeatureField(field);
  if (!parsed) return undefined;
  const { measure: _, ...spec } = EVENT_MEASURES.find((m) => m.measure === parsed.measure)!;
  return { ...spec, field, column: `event_${parsed.key}_${SNAKE[parsed.measure]}`, requires: "events" };
}

/** The feature catalog for some configured event types: the fixed features, then each type's five. */
export function featureCatalog(eventTypes: readonly EventType[]): readonly FeatureSpec[] {
  return [
    ...FEATURES,
    ...eventTypes.flatMap((t) => EVENT_MEASURES.map((m) => eventFeatureSpec(eventFeatureField(t.key, m.measure))!)),
  ];
}

/** A feature's spec by field name: a fixed feature or an event feature of any type. */
export function featureSpec(field: string): FeatureSpec | undefined {
  return FEATURE_BY_FIELD.get(field) ?? eventFeatureSpec(field);
}

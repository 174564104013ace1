// The customer features the lifecycle is computed from, as of a day. One catalog serves the SQL that
// computes them, the rule language that reads them, and the GraphQL type that shows them.
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
  readonly description: string;
}

export const FEATURES = [
  {
    field: "firstSeenDate",
    column: "first_seen_date",
    type: "date",
    description:
      "First day the customer was known: the earliest of their customers.created_at, first event and first purchase.",
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
    description: "Distinct days with a purchase (several orders on one day count once); 0 for prospects.",
  },
  {
    field: "orderCount",
    whole: true,
    column: "order_count",
    type: "number",
    unit: "count",
    description: "Orders: distinct order_id per day, each row without an order_id counting as one order.",
  },
  {
    field: "revenue",
    column: "revenue",
    type: "number",
    unit: "currency",
    description: "Sum of transaction amounts.",
  },
  {
    field: "firstPurchaseRevenue",
    column: "first_purchase_revenue",
    type: "number",
    unit: "currency",
    description: "Revenue of the first purchase day; null for prospects. (Spend models leave the first day out.)",
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
    column: "recency_days",
    type: "number",
    unit: "days",
    description: "Whole days from the last purchase day to the as-of day; null for prospects.",
  },
  {
    field: "tenureDays",
    whole: true,
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

/** One customer's features as of a day. */
export type CustomerFeatures = { readonly customerId: string } & {
  readonly [F in (typeof FEATURES)[number] as F["field"]]: ValueOf<F["type"]> | null;
};

export const FEATURE_BY_FIELD: ReadonlyMap<string, FeatureSpec> = new Map(FEATURES.map((f) => [f.field, f]));

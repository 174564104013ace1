// A customer's activity day by day (purchases, sign-up rows, referrals made, events), and their features
// on any day worked out from it in TypeScript: what the state store's refresh reads from the warehouse
// once (activitySql in features-sql.ts) instead of asking the features query for every day. The features
// equal the features query's on every day (test/sql/activity.spec.ts, on every warehouse).
import { dayNumber, dayOfNumber } from "./calendar.ts";
import {
  eventFeatureField,
  featureCatalog,
  type CustomerFeatures,
  type EventMeasure,
  type EventType,
} from "./features.ts";
import type { FeatureRow } from "./rule-predicate.ts";

/** What an activity row is about (the `source` column of activitySql in features-sql.ts). */
export const ACTIVITY_SOURCE = { purchase: 0, signUp: 1, referral: 2, events: 3 } as const;

/** What one customer did on one local day; a part is absent when nothing of its kind happened. */
export interface DayActivity {
  /** Days since 1970-01-01 (calendar.ts dayNumber). */
  readonly day: number;
  /**
   * Orders (distinct order ids with a purchase row, a purchase row without one counting alone) and the
   * day's amounts net of refunds; `orders` 0 on a day of refunds only, which is no purchase day.
   */
  readonly purchase?: { readonly orders: number; readonly revenue: number };
  /** customers rows created this day: the smallest acquisition channel among them (null: none given). */
  readonly signUp?: { readonly channel: string | null };
  /** customers rows created this day that name this customer in referred_by. */
  readonly referrals?: number;
  /** Events this day: the latest one's type, and how many of each configured type (in config order). */
  readonly events?: { readonly lastType: string | null; readonly perType: readonly number[] };
}

/**
 * One customer's features, built up by applying their activity days in order; `featuresOn(day)` gives
 * the features as of any day from the last applied one on. Reused from customer to customer (`reset`),
 * since a refresh runs it over every customer.
 */
export class FeatureAccumulator {
  private readonly typeKeys: readonly string[];
  private customerId = "";
  private firstSeen: number | null = null;
  private firstPurchase: number | null = null;
  private secondPurchase: number | null = null;
  private lastPurchase: number | null = null;
  private purchaseDays = 0;
  private orderCount = 0;
  /**
   * Revenue in millionths, summed exactly: the warehouse sums DECIMAL amounts exactly, and a float sum
   * of the days drifts from it in the last digits (266.47999999999996 for 266.48).
   */
  private revenueMicros = 0;
  private firstPurchaseRevenue: number | null = null;
  private referredCount = 0;
  private channel: string | null = null;
  private lastEvent: number | null = null;
  private lastEventType: string | null = null;
  private typeCount: number[] = [];
  private typeFirst: (number | null)[] = [];
  private typeLast: (number | null)[] = [];
  /** The last day applied. */
  lastDay: number | null = null;

  constructor(
    eventTypes: readonly EventType[],
    /** Which optional tables exist: without them their features are null, as in the features query. */
    private readonly tables: { readonly customers: boolean; readonly events: boolean },
    /** The features ruleFeaturesOn gives (a stage model's fieldsRead); default: all. */
    ruleFields?: Iterable<string>,
  ) {
    this.typeKeys = eventTypes.map((t) => t.key);
    const catalog = featureCatalog(eventTypes);
    const values = this.valuesByField();
    const all = ["customerId", ...catalog.map((f) => f.field)];
    this.allFeatures = rowMaker(values, all);
    this.ruleFeatures = ruleFields ? rowMaker(values, [...new Set(ruleFields)]) : this.allFeatures;
    this.reset("");
  }

  reset(customerId: string): void {
    this.customerId = customerId;
    this.firstSeen = this.firstPurchase = this.secondPurchase = this.lastPurchase = null;
    this.purchaseDays = this.orderCount = this.revenueMicros = this.referredCount = 0;
    this.firstPurchaseRevenue = null;
    this.channel = null;
    this.lastEvent = null;
    this.lastEventType = null;
    this.typeCount = this.typeKeys.map(() => 0);
    this.typeFirst = this.typeKeys.map(() => null);
    this.typeLast = this.typeKeys.map(() => null);
    this.lastDay = null;
  }

  /** Whether the customer is known yet (anything applied that makes them known). */
  get known(): boolean {
    return this.firstSeen !== null;
  }

  /** Applies one day's activity; days must come in ascending order, each once. */
  apply(activity: DayActivity): void {
    const { day } = activity;
    if (this.lastDay !== null && day <= this.lastDay) throw new Error(`activity days out of order: ${day}`);
    this.lastDay = day;
    const { purchase, signUp, events } = activity;
    if (purchase) {
      if (purchase.orders > 0) {
        this.purchaseDays += 1;
        if (this.firstPurchase === null) {
          this.firstPurchase = day;
          this.firstPurchaseRevenue = purchase.revenue;
        } else if (this.secondPurchase === null) this.secondPurchase = day;
        this.lastPurchase = day;
        this.orderCount += purchase.orders;
      }
      this.revenueMicros += Math.round(purchase.revenue * 1e6);
    }
    if (signUp && this.tables.customers) {
      // MIN(acquisition_channel) over the rows known so far, as the features query takes it.
      if (signUp.channel !== null && (this.channel === null || signUp.channel < this.channel))
        this.channel = signUp.channel;
    }
    if (activity.referrals && this.tables.customers) this.referredCount += activity.referrals;
    if (events && this.tables.events) {
      this.lastEvent = day;
      this.lastEventType = events.lastType;
      events.perType.forEach((n, i) => {
        if (n <= 0 || i >= this.typeCount.length) return;
        this.typeCount[i]! += n;
        this.typeFirst[i] ??= day;
        this.typeLast[i] = day;
      });
    }
    // Known from the first transaction row (a refund too), customers row or event; a referral alone
    // makes nobody known.
    const makesKnown = purchase || (signUp && this.tables.customers) || (events && this.tables.events);
    if (makesKnown && this.firstSeen === null) this.firstSeen = day;
  }

  /** The features as of `day` (on or after the last day applied), as the features query gives them. */
  featuresOn(day: number): CustomerFeatures {
    return this.allFeatures(day) as CustomerFeatures;
  }

  /**
   * The features the stage rules read as of `day` (on or after the last day applied): what a history
   * classifies on its activity and candidate days, without the dates and counts no rule reads.
   */
  ruleFeaturesOn(day: number): FeatureRow {
    return this.ruleFeatures(day);
  }

  private readonly allFeatures: (day: number) => Record<string, unknown>;
  private readonly ruleFeatures: (day: number) => FeatureRow;

  /**
   * Each feature's value on `day` from what has been applied, by field name: the one definition both
   * featuresOn and ruleFeaturesOn read.
   */
  private valuesByField(): Map<string, (day: number) => unknown> {
    const date = dayText;
    const since = daysSince;
    const bought = () => this.purchaseDays > 0;
    const revenue = () => this.revenueMicros / 1e6;
    const customers = this.tables.customers;
    const events = this.tables.events;
    const values = new Map<string, (day: number) => unknown>([
      ["customerId", () => this.customerId],
      ["firstSeenDate", () => date(this.firstSeen)],
      ["firstPurchaseDate", () => date(this.firstPurchase)],
      ["secondPurchaseDate", () => date(this.secondPurchase)],
      ["lastPurchaseDate", () => date(this.lastPurchase)],
      ["purchaseDays", () => this.purchaseDays],
      ["orderCount", () => this.orderCount],
      ["revenue", revenue],
      ["firstPurchaseRevenue", () => this.firstPurchaseRevenue],
      ["averageOrderValue", () => (this.orderCount > 0 ? revenue() / this.orderCount : null)],
      [
        "meanGapDays",
        () =>
          !bought()
            ? null
            : this.purchaseDays === 1
              ? 0
              : (this.lastPurchase! - this.firstPurchase!) / (this.purchaseDays - 1),
      ],
      ["recencyDays", (day) => since(this.lastPurchase, day)],
      ["tenureDays", (day) => since(this.firstSeen, day)],
      ["referredCount", () => (customers ? this.referredCount : null)],
      ["acquisitionChannel", () => (customers ? this.channel : null)],
      ["lastEventDate", () => (events ? date(this.lastEvent) : null)],
      ["lastEventType", () => (events ? this.lastEventType : null)],
    ]);
    this.typeKeys.forEach((key, i) => {
      const field = (measure: EventMeasure) => eventFeatureField(key, measure);
      values.set(field("count"), () => (events ? this.typeCount[i]! : null));
      values.set(field("firstDate"), () => (events ? date(this.typeFirst[i]!) : null));
      values.set(field("lastDate"), () => (events ? date(this.typeLast[i]!) : null));
      values.set(field("daysSinceFirst"), (day) => (events ? since(this.typeFirst[i]!, day) : null));
      values.set(field("daysSinceLast"), (day) => (events ? since(this.typeLast[i]!, day) : null));
    });
    return values;
  }
}

/**
 * A function giving the named features on a day as one object literal: every object it makes has one
 * shape with its fields in the object itself, which the compiled classifier reads several times
 * faster than objects grown field by field (see featureReader in services/lifecycle/features.ts).
 */
function rowMaker(
  values: ReadonlyMap<string, (day: number) => unknown>,
  fields: readonly string[],
): (day: number) => Record<string, unknown> {
  const getters = fields.map((field) => {
    const value = values.get(field);
    if (!value) throw new Error(`no such feature: ${field}`);
    return value;
  });
  // Field names become property names only, each a JSON string literal; the values stay functions.
  const body = fields.map((field, i) => `${JSON.stringify(field)}: g[${i}](day)`).join(", ");
  // eslint-disable-next-line @typescript-eslint/no-implied-eval -- property names from the catalog, JSON-quoted
  return new Function("g", `return (day) => ({ ${body} });`)(getters);
}

function daysSince(from: number | null, day: number): number | null {
  return from === null ? null : day - from;
}

function dayText(n: number | null): string | null {
  return n === null ? null : dayOfNumber(n);
}

/** One row of activitySql (features-sql.ts): one customer, day and source; `day` as "YYYY-MM-DD" or its day number. */
export type ActivityRow = Readonly<Record<string, unknown>>;

/**
 * One customer's activity days built up from their activity rows (in day order, as activitySql sorts
 * them), the rows of one day merged. `add` copies what it needs from a row, so a reader may hand it
 * the same object refilled for each row.
 */
export class ActivityDaysBuilder {
  private days: DayActivity[] = [];

  /** `typeCount`: how many event types are configured (the et<i>_count columns). */
  constructor(private readonly typeCount: number) {}

  add(row: ActivityRow): void {
    const day = typeof row.day === "number" ? row.day : dayNumber(String(row.day));
    let current = this.days[this.days.length - 1] as { -readonly [K in keyof DayActivity]: DayActivity[K] } | undefined;
    if (!current || current.day !== day) {
      current = { day };
      this.days.push(current);
    }
    switch (Number(row.source)) {
      case ACTIVITY_SOURCE.purchase:
        current.purchase = { orders: Number(row.orders), revenue: Number(row.revenue) };
        break;
      case ACTIVITY_SOURCE.signUp:
        current.signUp = { channel: row.channel == null ? null : String(row.channel) };
        break;
      case ACTIVITY_SOURCE.referral:
        current.referrals = Number(row.referrals);
        break;
      case ACTIVITY_SOURCE.events:
        current.events = {
          lastType: row.last_type == null ? null : String(row.last_type),
          perType: Array.from({ length: this.typeCount }, (_, i) => Number(row[`et${i}_count`] ?? 0)),
        };
        break;
    }
  }

  /** The days added since the last take, and a fresh start for the next customer. */
  take(): DayActivity[] {
    const days = this.days;
    this.days = [];
    return days;
  }
}

/** One customer's activity rows (in day order) as activity days (ActivityDaysBuilder). */
export function activityDays(rows: readonly ActivityRow[], typeCount: number): DayActivity[] {
  const builder = new ActivityDaysBuilder(typeCount);
  for (const row of rows) builder.add(row);
  return builder.take();
}

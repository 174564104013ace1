// Segment definitions evaluated in the app database on the state day: a resolved definition compiled
// by the rule language's SQL back end (lifecycle/rule-sql.ts) over the stored state, each field read
// as storedFeatures reads it (stored columns, and recency, tenure, gaps and event ages worked out from
// them and the state day), with the stage keys and the RFM scores of the refresh. A segment's size,
// stage breakdown, members and ranked lists then need no warehouse query.
import { queryBuilt, type AppSql } from "../../appdb/app-sql.ts";
import {
  eventFeatureField,
  EVENT_MEASURES,
  FEATURES,
  type EventType,
  type FeatureField,
} from "../../lifecycle/features.ts";
import { compileRuleSql, type RuleSqlContext } from "../../lifecycle/rule-sql.ts";
import type { Rule, RuleScope } from "../../lifecycle/rules.ts";
import type { RfmSegments } from "../../lifecycle/rfm.ts";
import { segmentScope, type SegmentField } from "../../lifecycle/segment-definition.ts";
import type { CompiledStageModel } from "../../lifecycle/stage-model.ts";
import { cast, ident, integer, join, sql, type Sql } from "../../sql/sql.ts";
import { P_POINTER_SQL, storedRfmSql, toPointer, type PublishedState } from "./state-tables.ts";

/** Reads of customer_state `s` and the pointer `p` (its state day and RFM bounds). */
const s = (column: string) => ident("s", column);
const float = (expr: Sql) => cast(expr, "float");
const daysSince = (day: Sql) => float(sql`(p.state_day - ${day})`);

/** Each fixed feature as storedFeatures works it out from the stored row. */
const FIXED: Record<FeatureField, Sql> = {
  firstSeenDate: s("first_seen_date"),
  firstPurchaseDate: s("first_purchase_date"),
  secondPurchaseDate: s("second_purchase_date"),
  lastPurchaseDate: s("last_purchase_date"),
  purchaseDays: float(s("purchase_days")),
  orderCount: float(s("order_count")),
  revenue: float(s("revenue")),
  firstPurchaseRevenue: float(s("first_purchase_revenue")),
  averageOrderValue: sql`(${float(s("revenue"))} / NULLIF(${float(s("order_count"))}, 0))`,
  meanGapDays: sql`(CASE WHEN s.purchase_days = 1 THEN ${float(sql`0`)} WHEN s.purchase_days > 1 THEN ${float(
    sql`(s.last_purchase_date - s.first_purchase_date)`,
  )} / (s.purchase_days - 1) END)`,
  recencyDays: daysSince(s("last_purchase_date")),
  tenureDays: daysSince(s("first_seen_date")),
  referredCount: float(s("referred_count")),
  acquisitionChannel: s("acquisition_channel"),
  lastEventDate: s("last_event_date"),
  lastEventType: s("last_event_type"),
};

/** The rule language's fields over the stored state of one stage model. */
export class StoredSegmentFields implements RuleSqlContext {
  readonly scope: RuleScope;
  private readonly fields = new Map<string, Sql>();

  constructor(model: CompiledStageModel, rfm: RfmSegments, eventTypes: readonly EventType[]) {
    this.scope = segmentScope(model, rfm, eventTypes);
    for (const f of FEATURES) this.fields.set(f.field, FIXED[f.field]);
    for (const type of eventTypes) {
      const stored = (field: string) => sql`(s.event_features ->> ${cast(field, "text")})`;
      const day = (measure: "firstDate" | "lastDate") => cast(stored(eventFeatureField(type.key, measure)), "date");
      const expressions = {
        count: float(stored(eventFeatureField(type.key, "count"))),
        firstDate: day("firstDate"),
        lastDate: day("lastDate"),
        daysSinceFirst: daysSince(day("firstDate")),
        daysSinceLast: daysSince(day("lastDate")),
      };
      for (const { measure } of EVENT_MEASURES)
        this.fields.set(eventFeatureField(type.key, measure), expressions[measure]);
    }
    const key = (index: Sql) =>
      sql`(CASE ${index}${join(
        model.stages.map((stage, i) => sql` WHEN ${integer(i)} THEN ${cast(stage.key, "text")}`),
        "",
      )} END)`;
    const text = (expr: Sql) => cast(expr, "text");
    const extra: Record<SegmentField, Sql> = {
      stage: key(s("stage")),
      furthestStage: key(s("furthest")),
      rfmRecency: float(storedRfmSql("recency")),
      rfmFrequency: float(storedRfmSql("frequency")),
      rfmMonetary: float(storedRfmSql("monetary")),
      rfmSegment: rfm.segmentSql(
        sql`CONCAT(${text(storedRfmSql("recency"))}, ${text(storedRfmSql("frequency"))}, ${text(storedRfmSql("monetary"))})`,
      ),
    };
    for (const [field, expr] of Object.entries(extra)) this.fields.set(field, expr);
  }

  column(field: string): Sql {
    const expr = this.fields.get(field);
    if (!expr) throw new Error(`unknown field ${field}`);
    return expr;
  }

  /** The customers of the served rows `p` who match `rule`, as a FROM … WHERE over s and c. */
  members(rule: Rule): Sql {
    return sql`customer_state s
  LEFT JOIN customer_clv c ON c.rows_generation = s.rows_generation AND c.customer_id = s.customer_id
WHERE s.rows_generation = p.rows_generation AND ${compileRuleSql(rule, this)}`;
  }
}

/**
 * What a ranked list may be ordered by, over customer_state s, customer_clv c and the pointer p (the
 * state day): the ranking fields of rankedCustomers.
 */
const STORED_RANKINGS: Readonly<Record<string, Sql>> = {
  revenue: sql`s.revenue`,
  purchaseDays: sql`s.purchase_days`,
  orderCount: sql`s.order_count`,
  recencyDays: sql`(p.state_day - s.last_purchase_date)`,
  tenureDays: sql`(p.state_day - s.first_seen_date)`,
  predictedClv: sql`c.predicted_clv`,
  probabilityAlive: sql`c.probability_alive`,
};

/**
 * The served state of `modelHash` with the rows `lateral` selects for it, read in one statement (none
 * when no state of the model serves). `key` is a column every selected row has a value in.
 */
async function withPointer(
  sqlOf: AppSql,
  modelHash: string,
  lateral: Sql,
  key: string,
): Promise<{ pointer: PublishedState; rows: Record<string, unknown>[] } | null> {
  const rows = await queryBuilt(
    sqlOf,
    sql`SELECT ${P_POINTER_SQL}, m.* FROM state_pointer p LEFT JOIN LATERAL (${lateral}) m ON TRUE
WHERE p.id = 1 AND p.model_hash = ${modelHash}`,
  );
  if (rows.length === 0) return null;
  // With no row selected, the pointer comes alone (the lateral's columns NULL).
  return { pointer: toPointer(rows[0]!), rows: rows.filter((r) => r[key] !== null && r[key] !== undefined) };
}

/** Members of a definition per stage index, with the pointer they were counted in. */
export async function segmentStageCounts(sqlOf: AppSql, fields: StoredSegmentFields, modelHash: string, rule: Rule) {
  const found = await withPointer(
    sqlOf,
    modelHash,
    sql`SELECT s.stage AS stage, COUNT(*)::int AS n FROM ${fields.members(rule)} GROUP BY s.stage`,
    "stage",
  );
  if (!found) return null;
  return { pointer: found.pointer, counts: new Map(found.rows.map((r) => [Number(r.stage), Number(r.n)])) };
}

/** A page of a definition's members by id (after `afterId`), as stored rows. */
export function segmentPage(
  sqlOf: AppSql,
  fields: StoredSegmentFields,
  modelHash: string,
  rule: Rule,
  first: number,
  afterId: string | undefined,
) {
  const after = afterId === undefined ? sql`` : sql` AND s.customer_id COLLATE "C" > ${afterId}`;
  return withPointer(
    sqlOf,
    modelHash,
    sql`SELECT s.* FROM ${fields.members(rule)}${after} ORDER BY s.customer_id COLLATE "C" LIMIT ${integer(first)}`,
    "customer_id",
  );
}

/** A page of a definition's members in a stage, ranked by a stored column (STORED_RANKINGS). */
export function segmentRanked(
  sqlOf: AppSql,
  fields: StoredSegmentFields,
  modelHash: string,
  rule: Rule,
  stage: number,
  rank: { field: string; descending: boolean },
  offset: number,
  limit: number,
) {
  const expression = STORED_RANKINGS[rank.field];
  if (!expression) throw new Error(`not a stored ranking: ${rank.field}`);
  return withPointer(
    sqlOf,
    modelHash,
    sql`SELECT s.* FROM ${fields.members(rule)} AND s.stage = ${integer(stage)}
ORDER BY ${expression} ${rank.descending ? sql`DESC` : sql`ASC`} NULLS LAST, s.customer_id COLLATE "C"
LIMIT ${integer(limit)} OFFSET ${integer(offset)}`,
    "customer_id",
  );
}

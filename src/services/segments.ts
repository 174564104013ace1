// Segment membership in the warehouse: a resolved definition over the customers known on a day, with
// their stage keys and (only when the definition reads them) RFM scores. SegmentQuestions asks the
// state store first (the definition evaluated in the app database on the state day).
import type { CustomerRange } from "../lifecycle/features-sql.ts";
import { cast, ident, integer, join, sql, type Sql } from "../sql/sql.ts";
import { featureSpec, type CustomerFeatures } from "../lifecycle/features.ts";
import type { RuleSqlContext } from "../lifecycle/rule-sql.ts";
import { compileRuleSql } from "../lifecycle/rule-sql.ts";
import { fieldsOf, type Rule } from "../lifecycle/rules.ts";
import { readsRfm, SEGMENT_FIELDS, segmentScope, type SegmentField } from "../lifecycle/segment-definition.ts";
import { featureColumns } from "./lifecycle/features.ts";
import type { LifecycleService } from "./lifecycle/service.ts";
import {
  isFeatureRanking,
  predictionRankingUnavailable,
  type FeatureRankedList,
  type RankedList,
  type StageCount,
} from "./lifecycle/stages.ts";
import type { StateAnswers } from "./lifecycle/request.ts";

export class SegmentService {
  constructor(readonly lifecycle: LifecycleService) {}

  /** Reads a definition's fields from the relation `f` that `relation()` builds. */
  get columns(): RuleSqlContext {
    return {
      scope: segmentScope(this.lifecycle.model, this.lifecycle.rfm, this.lifecycle.eventTypes),
      column: (field) => ident("f", (featureSpec(field) ?? SEGMENT_FIELDS[field as SegmentField]).column),
    };
  }

  private stageKey(index: Sql): Sql {
    const whens = this.lifecycle.model.stages.map((s, i) => sql` WHEN ${integer(i)} THEN ${cast(s.key, "text")}`);
    return sql`CASE ${index}${join(whens, "")} END`;
  }

  /**
   * Customers known on asOf as the relation definitions read: features, stage index and keys, and
   * RFM scores and segment when `withRfm` (a ranking over all buyers, so only when needed). With
   * `fields`, only those features and the ones the stage rules read are computed.
   */
  relation(asOf: string, withRfm: boolean, fields?: Iterable<string>, customerRange?: CustomerRange): Sql {
    return this.staged(
      fields
        ? this.lifecycle.stagedFeatures(asOf, fields, customerRange)
        : this.lifecycle.features(asOf, undefined, { customerRange }),
      withRfm ? this.lifecycle.rfmScored(asOf) : undefined,
    );
  }

  /**
   * The relation of `relation()` as of each of `days` at once: one row per day and customer known that
   * day, the day in `as_of` (RFM scores ranked among that day's buyers). With `fields`, only those
   * features and the stage rules' are computed.
   */
  relationEach(days: readonly string[], withRfm: boolean, fields?: Iterable<string>): Sql {
    return this.staged(
      fields ? this.lifecycle.stagedFeaturesEach(days, fields) : this.lifecycle.featuresEach(days),
      withRfm ? this.lifecycle.rfmScored(days) : undefined,
      sql` AND rfm.as_of = f.as_of`,
    );
  }

  /** Features `features` with their stage index and keys, and the RFM scores of `rfmScored` when given. */
  private staged(features: Sql, rfmScored: Sql | undefined, sameDay = sql``): Sql {
    const { model, rfm } = this.lifecycle;
    const rfmJoin = rfmScored
      ? sql` LEFT JOIN (${rfmScored}) AS rfm ON rfm.customer_id = f.customer_id${sameDay}`
      : sql``;
    const withRfm = rfmScored !== undefined;
    const text = (expr: Sql) => cast(expr, "text");
    const rfmColumns = withRfm
      ? sql`, rfm.r AS rfm_r, rfm.fq AS rfm_f, rfm.m AS rfm_m,
       ${rfm.segmentSql(sql`CONCAT(${text(sql`rfm.r`)}, ${text(sql`rfm.fq`)}, ${text(sql`rfm.m`)})`)} AS rfm_segment`
      : sql``;
    return sql`SELECT f.*, ${model.stageIndexSql(featureColumns)} AS stage_index,
       ${this.stageKey(model.stageIndexSql(featureColumns))} AS stage_key,
       ${this.stageKey(model.stageIndexSql(featureColumns, { skipLapse: true }))} AS furthest_stage_key${rfmColumns}
FROM (${features}) AS f${rfmJoin}`;
  }

  /**
   * Customers known on asOf who match a resolved definition, with customer_id, stage_index, stage_key
   * and furthest_stage_key; with every feature (`features` "all", for the export), or only the ones
   * the definition and the stage rules read ("read": counting, paging, restricting other questions),
   * a fraction of the work. With `customerRange`, only the customers whose id lies in it (the
   * RFM scores a definition may read stay ranked among all buyers).
   */
  members(asOf: string, rule: Rule, features: "all" | "read" = "all", customerRange?: CustomerRange): Sql {
    const read = fieldsOf(rule);
    const staged = this.relation(
      asOf,
      readsRfm(read),
      features === "all" ? undefined : [...read].filter((f) => featureSpec(f) !== undefined),
      customerRange,
    );
    return sql`SELECT f.* FROM (${staged}) AS f WHERE ${compileRuleSql(rule, this.columns)}`;
  }

  /**
   * Members in a stage ranked by a feature (ties by id, those without it last), a page from `offset`,
   * with their features: the ranked list of rankedCustomers restricted to a segment.
   */
  async ranked(
    asOf: string,
    rule: Rule,
    stageKey: string,
    rank: FeatureRankedList,
    offset: number,
    limit: number,
  ): Promise<CustomerFeatures[]> {
    const inStage: Rule = { all: [rule, { field: "stage", op: "eq", value: stageKey }] };
    const read = [...fieldsOf(inStage)].filter((f) => featureSpec(f) !== undefined);
    const staged = this.relation(asOf, readsRfm(fieldsOf(inStage)), [...read, rank.field]);
    const column = ident("m", featureSpec(rank.field)!.column);
    const rows = await this.lifecycle.warehouse.query<{ customer_id: string }>(
      sql`SELECT m.customer_id AS customer_id FROM (SELECT f.* FROM (${staged}) AS f WHERE ${compileRuleSql(inStage, this.columns)}) AS m
ORDER BY ${column} ${rank.descending ? sql`DESC` : sql`ASC`} NULLS LAST, m.customer_id LIMIT ${limit} OFFSET ${offset}`,
      { label: "segment_ranked" },
    );
    return this.lifecycle.featuresInOrder(
      asOf,
      rows.map((row) => String(row.customer_id)),
    );
  }

  async size(asOf: string, rule: Rule): Promise<number> {
    const rows = await this.lifecycle.warehouse.query<{ n: number }>(
      sql`SELECT COUNT(*) AS n FROM (${this.members(asOf, rule, "read")}) AS m`,
      { label: "segment_size" },
    );
    return Number(rows[0]?.n ?? 0);
  }

  /**
   * Members by id after the cursor id, with their features: the page's ids first (over only the
   * features membership reads), then those customers' features, each cached on its own behind the
   * server's guard.
   */
  async page(asOf: string, rule: Rule, first: number, afterId?: string): Promise<CustomerFeatures[]> {
    const after = afterId === undefined ? sql`` : sql` WHERE m.customer_id > ${afterId}`;
    const rows = await this.lifecycle.warehouse.query<{ customer_id: string }>(
      sql`SELECT m.customer_id AS customer_id FROM (${this.members(asOf, rule, "read")}) AS m${after} ORDER BY m.customer_id LIMIT ${first}`,
      { label: "segment_members" },
    );
    return this.lifecycle.featuresInOrder(
      asOf,
      rows.map((row) => String(row.customer_id)),
    );
  }

  /** Members per stage, every stage listed in display order. */
  async stageCounts(asOf: string, rule: Rule): Promise<StageCount[]> {
    const rows = await this.lifecycle.warehouse.query<{ stage_index: number; n: number }>(
      sql`SELECT m.stage_index AS stage_index, COUNT(*) AS n FROM (${this.members(asOf, rule, "read")}) AS m GROUP BY 1`,
      { label: "segment_stages" },
    );
    const counts = new Map(rows.map((r) => [Number(r.stage_index), Number(r.n)]));
    return this.lifecycle.model.stages.map((stage, i) => ({ stage, count: counts.get(i) ?? 0 }));
  }
}

/**
 * A segment's size, stage breakdown, members and ranked lists for one request: from the state store
 * when it serves the day (services/state/state-segments.ts), else from the warehouse.
 */
export class SegmentQuestions {
  constructor(
    private readonly warehouse: SegmentService,
    private readonly state: StateAnswers | undefined,
  ) {}

  async stageCounts(asOf: string, rule: Rule): Promise<StageCount[]> {
    return (await this.state?.segmentStageCounts(asOf, rule)) ?? this.warehouse.stageCounts(asOf, rule);
  }

  async size(asOf: string, rule: Rule): Promise<number> {
    const stored = await this.state?.segmentStageCounts(asOf, rule);
    return stored ? stored.reduce((n, c) => n + c.count, 0) : this.warehouse.size(asOf, rule);
  }

  async page(asOf: string, rule: Rule, first: number, afterId?: string): Promise<CustomerFeatures[]> {
    return (
      (await this.state?.segmentPage(asOf, rule, first, afterId)) ?? this.warehouse.page(asOf, rule, first, afterId)
    );
  }

  /** Members in a stage ranked; by a prediction only from the state store (refused otherwise). */
  async ranked(
    asOf: string,
    rule: Rule,
    stageKey: string,
    rank: RankedList,
    offset: number,
    limit: number,
  ): Promise<CustomerFeatures[]> {
    const stored = await this.state?.segmentRanked(asOf, rule, stageKey, rank, offset, limit);
    if (stored) return stored;
    if (isFeatureRanking(rank)) return this.warehouse.ranked(asOf, rule, stageKey, rank, offset, limit);
    throw predictionRankingUnavailable(rank, asOf);
  }
}

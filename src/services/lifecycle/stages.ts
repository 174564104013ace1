// Stages in the warehouse: how many customers are in each, who they are, how they moved between two days
// and how long they took to reach each stage.
import { InvalidInputError } from "../../errors.ts";
import { cast, integer, join, sql, type Sql } from "../../sql/sql.ts";
import { addDays } from "../../lifecycle/calendar.ts";
import type { CustomerFeatures } from "../../lifecycle/features.ts";
import type { Stage } from "../../lifecycle/stage-model.ts";
import { featureColumns, type CustomerFeatureService } from "./features.ts";
import { activityDays, FeatureAccumulator, type ActivityRow } from "../../lifecycle/activity.ts";
import { asOfCutoff, dayNumber, dayOfNumber } from "../../lifecycle/calendar.ts";
import { activitySql } from "../../lifecycle/features-sql.ts";
import { customerHistory, StageClock } from "../../lifecycle/stage-history.ts";

export interface StageCount {
  readonly stage: Stage;
  readonly count: number;
}

export interface StageTiming {
  readonly stage: Stage;
  /** Entries into the stage seen on the snapshot days of the period. */
  readonly entries: number;
  readonly meanDaysFromFirstSeen: number | null;
  readonly medianDaysFromFirstSeen: number | null;
  /** Over entries of customers who had bought by then. */
  readonly meanDaysFromFirstPurchase: number | null;
  readonly medianDaysFromFirstPurchase: number | null;
}

/** The most snapshot days one stage-timing question may ask for. */
export const MAX_TIMING_SNAPSHOTS = 60;

export interface StageTransition {
  /** null: not yet known at `from`. */
  readonly from: Stage | null;
  readonly to: Stage;
  readonly count: number;
}

function emptyTiming(stage: Stage): StageTiming {
  return {
    stage,
    entries: 0,
    meanDaysFromFirstSeen: null,
    medianDaysFromFirstSeen: null,
    meanDaysFromFirstPurchase: null,
    medianDaysFromFirstPurchase: null,
  };
}

/** The features a ranked list may be ordered by: those the state store keeps (or works out) per customer. */
export const RANK_FIELDS = ["revenue", "purchaseDays", "orderCount", "recencyDays", "tenureDays"] as const;

/** Ranked only from the state store: its refresh predicts every buyer's lifetime value. */
export const PREDICTION_RANK_FIELDS = ["predictedClv", "probabilityAlive"] as const;

export interface RankedList {
  readonly field: (typeof RANK_FIELDS)[number] | (typeof PREDICTION_RANK_FIELDS)[number];
  readonly descending: boolean;
}

/** A ranking by a feature, which the warehouse can compute too. */
export type FeatureRankedList = RankedList & { readonly field: (typeof RANK_FIELDS)[number] };

export function isFeatureRanking(rank: RankedList): rank is FeatureRankedList {
  return (RANK_FIELDS as readonly string[]).includes(rank.field);
}

/** A ranking by a prediction asked of a day the state store does not serve with lifetime value. */
export function predictionRankingUnavailable(rank: RankedList, asOf: string): InvalidInputError {
  return new InvalidInputError(
    `orderBy ${rank.field} needs the state store serving ${asOf} with lifetime value (CLM_STATE_CLV; run clm refresh)`,
    { argument: "orderBy" },
  );
}

/** A stretch of days in one stage and furthest stage, as the API shows it. */
export interface StageSpellView {
  readonly stage: Stage;
  readonly furthest: Stage;
  readonly from: string;
  /** The first day of the next spell; null: still the stage on the as-of day. */
  readonly to: string | null;
  /** The day the customer entered `stage`. */
  readonly enteredStage: string;
}

export class StageQueries {
  private readonly clock: StageClock;

  constructor(private readonly lifecycle: CustomerFeatureService) {
    this.clock = new StageClock(lifecycle.model);
  }

  /**
   * Customers' stage histories up to `asOf`, worked out in TypeScript from their activity per day
   * (one warehouse query for the batch): what the state store keeps, for any day.
   */
  async stageHistories(asOf: string, customerIds: readonly string[]): Promise<Map<string, StageSpellView[]>> {
    const { warehouse, eventTypes, available, timeZone, model } = this.lifecycle;
    const rows = await warehouse.query<ActivityRow>(
      activitySql({
        dialect: warehouse.dialect,
        mapping: warehouse.mapping,
        available,
        cutoff: asOfCutoff(asOf, timeZone),
        timeZone,
        eventTypes,
        customerIds,
      }),
      { label: "stage_history", asOf },
    );
    const byCustomer = new Map<string, ActivityRow[]>();
    for (const row of rows) {
      if (row.customer_id === null || row.customer_id === undefined) continue;
      const id = String(row.customer_id);
      if (!byCustomer.has(id)) byCustomer.set(id, []);
      byCustomer.get(id)!.push(row);
    }
    const accumulator = new FeatureAccumulator(
      eventTypes,
      { customers: available.has("customers"), events: available.has("events") },
      model.fieldsRead(),
    );
    const histories = new Map<string, StageSpellView[]>();
    for (const [id, customerRows] of byCustomer) {
      const days = activityDays(customerRows, eventTypes.length);
      const history = customerHistory(model, this.clock, accumulator, id, days, dayNumber(asOf));
      if (!history) continue;
      histories.set(
        id,
        history.spells.map((s) => ({
          stage: model.stages[s.stage]!,
          furthest: model.stages[s.furthest]!,
          from: dayOfNumber(s.from),
          to: s.to === null ? null : dayOfNumber(s.to),
          enteredStage: dayOfNumber(s.stageSince),
        })),
      );
    }
    return histories;
  }

  /** How many customers are in each stage, every stage listed (display order), computed in the warehouse. */
  async stageCounts(asOf: string): Promise<StageCount[]> {
    const stageIndex = this.lifecycle.model.stageIndexSql(featureColumns);
    const rows = await this.lifecycle.warehouse.query<{ stage_index: number; n: number }>(
      sql`SELECT ${stageIndex} AS stage_index, COUNT(*) AS n FROM (${this.lifecycle.stagedFeatures(asOf)}) AS f GROUP BY 1`,
      { label: "stage_counts", asOf },
    );
    const counts = new Map(rows.map((r) => [Number(r.stage_index), Number(r.n)]));
    return this.lifecycle.model.stages.map((stage, i) => ({ stage, count: counts.get(i) ?? 0 }));
  }

  /**
   * Customers in a stage with their features, by id, after the cursor id: the page's ids over only the
   * stage rules' features, then those customers' features (each cached on its own behind the guard).
   */
  async stageMembers(asOf: string, stageKey: string, first: number, afterId?: string): Promise<CustomerFeatures[]> {
    const index = this.lifecycle.model.indexOf(stageKey);
    if (index === undefined) return [];
    const stageIndex = this.lifecycle.model.stageIndexSql(featureColumns);
    const after = afterId === undefined ? sql`` : sql` AND f.customer_id > ${afterId}`;
    const rows = await this.lifecycle.warehouse.query<{ customer_id: string }>(
      sql`SELECT f.customer_id AS customer_id FROM (${this.lifecycle.stagedFeatures(asOf)}) AS f
WHERE ${stageIndex} = ${integer(index)}${after}
ORDER BY f.customer_id LIMIT ${first}`,
      { label: "stage_members", asOf },
    );
    return this.lifecycle.featuresInOrder(
      asOf,
      rows.map((row) => String(row.customer_id)),
    );
  }

  /**
   * Customers in a stage ordered by a feature (then by id), a page of them from `offset`: the ranked
   * list the state store answers from its stored columns, computed in the warehouse.
   */
  async rankedMembers(
    asOf: string,
    stageKey: string,
    rank: FeatureRankedList,
    offset: number,
    limit: number,
  ): Promise<CustomerFeatures[]> {
    const index = this.lifecycle.model.indexOf(stageKey);
    if (index === undefined) return [];
    const stageIndex = this.lifecycle.model.stageIndexSql(featureColumns);
    const column = featureColumns.column(rank.field);
    const rows = await this.lifecycle.warehouse.query<{ customer_id: string }>(
      sql`SELECT f.customer_id AS customer_id FROM (${this.lifecycle.stagedFeatures(asOf, [rank.field])}) AS f
WHERE ${stageIndex} = ${integer(index)}
ORDER BY ${column} ${rank.descending ? sql`DESC` : sql`ASC`} NULLS LAST, f.customer_id LIMIT ${limit} OFFSET ${offset}`,
      { label: "ranked_members", asOf },
    );
    return this.lifecycle.featuresInOrder(
      asOf,
      rows.map((row) => String(row.customer_id)),
    );
  }

  /**
   * How many customers moved from each stage at `from` to each stage at `to`: every customer known on
   * `to`, or only those of `membersOnTo` (a relation with customer_id and stage_index columns on `to`,
   * as SegmentService.members builds for a segment).
   */
  async transitions(from: string, to: string, membersOnTo?: Sql): Promise<StageTransition[]> {
    const stageIndex = this.lifecycle.model.stageIndexSql(featureColumns);
    const staged = (asOf: string) =>
      sql`SELECT f.customer_id AS customer_id, ${stageIndex} AS stage_index FROM (${this.lifecycle.stagedFeatures(asOf)}) AS f`;
    const second = membersOnTo
      ? sql`SELECT m.customer_id AS customer_id, m.stage_index AS stage_index FROM (${membersOnTo}) AS m`
      : staged(to);
    const rows = await this.lifecycle.warehouse.query<{ from_index: number | null; to_index: number; n: number }>(
      sql`SELECT a.stage_index AS from_index, b.stage_index AS to_index, COUNT(*) AS n
FROM (${second}) AS b LEFT JOIN (${staged(from)}) AS a ON a.customer_id = b.customer_id
GROUP BY 1, 2`,
      { label: "stage_transitions" },
    );
    return rows
      .map((r) => ({
        from: r.from_index === null ? null : this.lifecycle.model.stages[Number(r.from_index)]!,
        to: this.lifecycle.model.stages[Number(r.to_index)]!,
        count: Number(r.n),
      }))
      .sort((a, b) => (a.from?.order ?? 0) - (b.from?.order ?? 0) || a.to.order - b.to.order);
  }

  /**
   * How long customers take to reach each stage. Stages are evaluated on snapshot days: `from`, then
   * every `stepDays` up to `to`. A customer enters a stage on the first snapshot where they are in it
   * after being elsewhere (or unknown) on the one before; the entry day is that snapshot day, so it is
   * exact to within `stepDays`. Days are counted from firstSeenDate and from firstPurchaseDate.
   */
  async stageTimings(from: string, to: string, stepDays: number): Promise<StageTiming[]> {
    const snapshots: string[] = [];
    for (let day = from; day <= to; day = addDays(day, stepDays)) snapshots.push(day);
    if (snapshots.length < 2) return this.lifecycle.model.stages.map((stage) => emptyTiming(stage));
    const { dialect } = this.lifecycle.warehouse;
    const stageIndex = this.lifecycle.model.stageIndexSql(featureColumns);
    const staged = snapshots.map(
      (
        day,
        k,
      ) => sql`SELECT f.customer_id AS customer_id, ${stageIndex} AS stage_index, f.first_seen_date AS first_seen_date,
       f.first_purchase_date AS first_purchase_date, ${cast(day, "date")} AS snapshot_day, ${integer(k)} AS k
FROM (${this.lifecycle.stagedFeatures(day, ["firstSeenDate", "firstPurchaseDate"])}) AS f`,
    );
    const moves = sql`SELECT customer_id, stage_index, snapshot_day, first_seen_date, first_purchase_date, k,
       LAG(stage_index) OVER (PARTITION BY customer_id ORDER BY k) AS previous_index
FROM (${join(staged, "\nUNION ALL\n")}) AS s`;
    const entries = sql`SELECT stage_index,
       ${cast(dialect.dayDiff(sql`first_seen_date`, sql`snapshot_day`), "float")} AS from_seen,
       ${cast(dialect.dayDiff(sql`first_purchase_date`, sql`snapshot_day`), "float")} AS from_purchase
FROM (${moves}) AS m
WHERE k > 0 AND (previous_index IS NULL OR previous_index <> stage_index)`;
    const query =
      dialect.median.kind === "window"
        ? sql`SELECT stage_index, COUNT(*) AS n, AVG(from_seen) AS mean_seen, ANY_VALUE(median_seen) AS median_seen,
       AVG(from_purchase) AS mean_purchase, ANY_VALUE(median_purchase) AS median_purchase
FROM (SELECT e.*, ${dialect.median.window(sql`from_seen`, sql`stage_index`)} AS median_seen,
             ${dialect.median.window(sql`from_purchase`, sql`stage_index`)} AS median_purchase
      FROM (${entries}) AS e) AS x
GROUP BY stage_index`
        : sql`SELECT stage_index, COUNT(*) AS n, AVG(from_seen) AS mean_seen, ${dialect.median.aggregate(sql`from_seen`)} AS median_seen,
       AVG(from_purchase) AS mean_purchase, ${dialect.median.aggregate(sql`from_purchase`)} AS median_purchase
FROM (${entries}) AS e
GROUP BY stage_index`;
    const rows = await this.lifecycle.warehouse.query<Record<string, number | null>>(query, { label: "stage_timings" });
    const byIndex = new Map(rows.map((r) => [Number(r.stage_index), r]));
    const num = (v: unknown) => (v === null || v === undefined ? null : Number(v));
    return this.lifecycle.model.stages.map((stage, i) => {
      const r = byIndex.get(i);
      if (!r) return emptyTiming(stage);
      return {
        stage,
        entries: Number(r.n),
        meanDaysFromFirstSeen: num(r.mean_seen),
        medianDaysFromFirstSeen: num(r.median_seen),
        meanDaysFromFirstPurchase: num(r.mean_purchase),
        medianDaysFromFirstPurchase: num(r.median_purchase),
      };
    });
  }
}

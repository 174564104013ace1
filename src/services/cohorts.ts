// Cohorts by first-purchase month: who of each cohort bought again in each later month, what they
// spent, and where the cohort stands in the lifecycle now. Aggregated in the warehouse.
import { monthIndex } from "../lifecycle/features-sql.ts";
import { cast, ident, sql, typeName } from "../sql/sql.ts";
import { asOfCutoff, monthLabel, monthOf } from "../lifecycle/calendar.ts";
import { compileRuleSql } from "../lifecycle/rule-sql.ts";
import { fieldsOf, type Rule } from "../lifecycle/rules.ts";
import { readsRfm } from "../lifecycle/segment-definition.ts";
import type { Stage } from "../lifecycle/stage-model.ts";
import { featureColumns } from "./lifecycle/features.ts";
import type { LifecycleService } from "./lifecycle/service.ts";
import type { SegmentService } from "./segments.ts";

export interface CohortMonth {
  /** Months since the cohort's first-purchase month (0 = that month). */
  readonly offset: number;
  readonly month: string;
  /** Cohort members with a purchase in the month. */
  readonly activeCustomers: number;
  readonly revenue: number;
}

export interface Cohort {
  /** First-purchase month, "YYYY-MM". */
  readonly month: string;
  readonly customers: number;
  /** Every month from the first-purchase month to asOf's month (or `months` of them), empty ones included. */
  readonly months: readonly CohortMonth[];
  /** Every stage of the model with the cohort's members in it on asOf. */
  readonly stages: readonly { readonly stage: Stage; readonly count: number }[];
}

/** The most cohort months one question may ask for (ten years). */
export const MAX_COHORTS = 120;

export class CohortService {
  constructor(
    readonly lifecycle: LifecycleService,
    /** Restricts a question to a segment's members. */
    private readonly segments: SegmentService,
  ) {}

  /**
   * Cohorts whose first purchase falls in the months of `from` … `to`, as of `asOf`, with at most
   * `months` months after the first (the first-purchase month is month 0). With `segmentRule` (resolved
   * for asOf) only the customers matching it on asOf are counted: sizes, activity, revenue and stages.
   */
  async cohorts(from: string, to: string, asOf: string, months: number, segmentRule?: Rule): Promise<Cohort[]> {
    const { warehouse, timeZone } = this.lifecycle;
    const { dialect, mapping } = warehouse;
    const first = monthOf(from);
    const last = monthOf(to);
    const c = (name: string) => ident("t", mapping.tables.transactions.columns[name]);
    const { segments } = this;
    const onlyMembers = segmentRule
      ? sql` AND customer_id IN (SELECT m.customer_id FROM (${segments.members(asOf, segmentRule, "read")}) AS m)`
      : sql``;
    const activity = sql`WITH tx AS (
  SELECT CAST(${c("customer_id")} AS ${typeName("text")}) AS customer_id,
         ${monthIndex(dialect.localDay(c("occurred_at"), timeZone))} AS month, ${c("amount")} AS amount
  FROM ${ident(mapping.schema, mapping.tables.transactions.table)} AS t
  WHERE ${c("occurred_at")} < ${dialect.instant(asOfCutoff(asOf, timeZone))}
),
firsts AS (SELECT customer_id, MIN(month) AS cohort FROM tx WHERE amount >= 0${onlyMembers} GROUP BY customer_id)
SELECT f.cohort AS cohort, tx.month - f.cohort AS month_offset,
       COUNT(DISTINCT CASE WHEN tx.amount >= 0 THEN tx.customer_id END) AS active,
       ${cast(sql`SUM(tx.amount)`, "float")} AS revenue
FROM tx JOIN firsts AS f ON f.customer_id = tx.customer_id
WHERE f.cohort >= ${first} AND f.cohort <= ${last} AND tx.month - f.cohort <= ${months}
GROUP BY 1, 2`;
    const stageIndex = this.lifecycle.model.stageIndexSql(featureColumns);
    const base = segmentRule ? segments.relation(asOf, readsRfm(fieldsOf(segmentRule))) : this.lifecycle.features(asOf);
    const inSegment = segmentRule ? sql` AND ${compileRuleSql(segmentRule, segments.columns)}` : sql``;
    const stages = sql`SELECT ${monthIndex(sql`f.first_purchase_date`)} AS cohort, ${stageIndex} AS stage_index, COUNT(*) AS n
FROM (${base}) AS f
WHERE f.first_purchase_date IS NOT NULL${inSegment}
  AND ${monthIndex(sql`f.first_purchase_date`)} >= ${first} AND ${monthIndex(sql`f.first_purchase_date`)} <= ${last}
GROUP BY 1, 2`;
    const [activityRows, stageRows] = await Promise.all([
      warehouse.query<{ cohort: number; month_offset: number; active: number; revenue: number }>(activity, {
        label: "cohort_activity",
      }),
      warehouse.query<{ cohort: number; stage_index: number; n: number }>(stages, { label: "cohort_stages" }),
    ]);
    const cells = new Map(activityRows.map((r) => [`${Number(r.cohort)}|${Number(r.month_offset)}`, r]));
    const asOfMonth = monthOf(asOf);
    const out: Cohort[] = [];
    for (let cohort = first; cohort <= Math.min(last, asOfMonth); cohort++) {
      const size = Number(cells.get(`${cohort}|0`)?.active ?? 0);
      const span = Math.min(months, asOfMonth - cohort);
      const cohortMonths = Array.from({ length: span + 1 }, (_, offset) => {
        const cell = cells.get(`${cohort}|${offset}`);
        return {
          offset,
          month: monthLabel(cohort + offset),
          activeCustomers: Number(cell?.active ?? 0),
          revenue: Number(cell?.revenue ?? 0),
        };
      });
      const counts = new Map(
        stageRows.filter((r) => Number(r.cohort) === cohort).map((r) => [Number(r.stage_index), Number(r.n)]),
      );
      const stagesOf = this.lifecycle.model.stages.map((stage, i) => ({ stage, count: counts.get(i) ?? 0 }));
      out.push({ month: monthLabel(cohort), customers: size, months: cohortMonths, stages: stagesOf });
    }
    return out;
  }
}

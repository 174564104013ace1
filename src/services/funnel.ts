// The stage funnel: how many customers got at least as far as each progress stage, from which the
// drop-off between consecutive stages follows. Counted in the warehouse by furthest stage reached.
import { cast, join, sql, type Sql } from "../sql/sql.ts";
import type { Period } from "../lifecycle/calendar.ts";
import { compileRuleSql } from "../lifecycle/rule-sql.ts";
import { fieldsOf, type Rule } from "../lifecycle/rules.ts";
import { readsRfm } from "../lifecycle/segment-definition.ts";
import type { Stage } from "../lifecycle/stage-model.ts";
import { featureColumns } from "./lifecycle/features.ts";
import type { LifecycleService } from "./lifecycle/service.ts";
import type { SegmentService } from "./segments.ts";

export interface FunnelStep {
  readonly stage: Stage;
  /** Customers whose furthest stage is this one. */
  readonly atStage: number;
  /** Customers whose furthest stage is this one or a later progress stage. */
  readonly reached: number;
}

export interface FunnelQuery {
  readonly asOf: string;
  /** Only customers first seen in this period (a cohort of leads). */
  readonly firstSeen?: Period;
  /** Only customers matching this segment definition (resolved for asOf). */
  readonly segmentRule?: Rule;
}

export class FunnelService {
  constructor(
    readonly lifecycle: LifecycleService,
    /** Restricts the funnel to a segment's members. */
    private readonly segments: SegmentService,
  ) {}

  async stageFunnel(q: FunnelQuery): Promise<FunnelStep[]> {
    const { lifecycle, segments } = this;
    const conditions: Sql[] = [];
    if (q.firstSeen) {
      conditions.push(
        sql`f.first_seen_date >= ${cast(q.firstSeen.from, "date")} AND f.first_seen_date <= ${cast(q.firstSeen.to, "date")}`,
      );
    }
    if (q.segmentRule) conditions.push(compileRuleSql(q.segmentRule, segments.columns));
    const where = conditions.length > 0 ? sql` WHERE ${join(conditions, " AND ")}` : sql``;
    const furthest = lifecycle.model.stageIndexSql(featureColumns, { skipLapse: true });
    const base = q.segmentRule
      ? segments.relation(q.asOf, readsRfm(fieldsOf(q.segmentRule)))
      : lifecycle.features(q.asOf);
    const rows = await lifecycle.warehouse.query<{ stage_index: number; n: number }>(
      sql`SELECT ${furthest} AS stage_index, COUNT(*) AS n FROM (${base}) AS f${where} GROUP BY 1`,
      { label: "stage_funnel" },
    );
    return this.steps(new Map(rows.map((r) => [Number(r.stage_index), Number(r.n)])));
  }

  /** The funnel's steps from customers per furthest stage (display index): counted here or kept by the state store. */
  steps(counts: ReadonlyMap<number, number>): FunnelStep[] {
    const steps = this.lifecycle.model.stages
      .map((stage, index) => ({ stage, atStage: counts.get(index) ?? 0 }))
      .filter((s) => s.stage.kind === "progress");
    // Stages are in display order: reaching a step means a furthest stage at it or after it.
    let after = 0;
    const reached = steps
      .map((s) => s.atStage)
      .reverse()
      .map((n) => (after += n))
      .reverse();
    return steps.map((s, i) => ({ ...s, reached: reached[i]! }));
  }
}

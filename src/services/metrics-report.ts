// The metrics question, answered alike for the GraphQL `metrics` fields and `clm metrics`: metrics over a
// period, compared with another period, optionally restricted to a segment and broken down by stage,
// channel, cohort month, RFM segment or saved segment, each group labelled and in display order; or over
// every period of a series (`metricSeries`, `clm metrics --interval`). The measures come from
// MetricsService (warehouse queries), the values from the metric catalog.
import { InvalidInputError } from "../errors.ts";
import { seriesPeriods, type Period, type SeriesInterval } from "../lifecycle/calendar.ts";
import {
  groupDisplay,
  metricAvailable,
  metricResult,
  seriesProblem,
  type Breakdown,
  type GroupDisplay,
  type MetricDefinition,
  type MetricGroupResult,
  type MetricResult,
} from "../lifecycle/metrics.ts";
import type { Rule } from "../lifecycle/rules.ts";
import type { LifecycleService } from "./lifecycle/service.ts";
import type { MetricsService } from "./metrics.ts";
import type { SegmentStore } from "./segment-store.ts";

export interface MetricsQuestion {
  /** The metrics asked for, in this order, each once. */
  readonly metrics: readonly MetricDefinition[];
  readonly period: Period;
  /** A period to compare with (a campaign's before and after). */
  readonly compareTo?: Period;
  readonly breakdown?: Breakdown;
  /** Only customers of this segment definition (checked), resolved for each period's last day. */
  readonly definition?: Rule;
}

/** A breakdown group with its display label (a stage's or a saved segment's name, otherwise the key). */
export type LabelledGroup = MetricGroupResult & { readonly label: string | null };

/** A metric's answer: its breakdown's groups labelled and in display order; null without a breakdown. */
export type MetricAnswer = Omit<MetricResult, "breakdown"> & { readonly breakdown: readonly LabelledGroup[] | null };

export interface MetricsAnswer {
  readonly metrics: MetricAnswer[];
  /** A breakdown by saved segment with no saved segment to split by: every metric's groups are empty. */
  readonly noSegments: boolean;
}

export interface MetricSeriesQuestion {
  /** The metrics asked for, in this order, each once. */
  readonly metrics: readonly MetricDefinition[];
  /** The first and last day of the series. */
  readonly from: string;
  readonly to: string;
  /** Calendar periods (weeks from Monday) meeting [from, to], the first and last clipped to it. */
  readonly interval: SeriesInterval;
  /** Only customers of this segment definition (checked), resolved for each period's last day. */
  readonly definition?: Rule;
}

/** One period of a series: every metric asked over it, as `metrics` answers for that period alone. */
export interface MetricSeriesPoint {
  readonly period: Period;
  readonly metrics: MetricAnswer[];
}

/** The names of the inputs a saved segment came in, for the errors about it. */
export interface SegmentInputs {
  readonly segment: string;
  readonly breakdown: string;
}

interface BreakdownGroups extends GroupDisplay {
  /** For a breakdown by saved segment: the live segments, by name, with their checked definitions. */
  readonly segments?: readonly { readonly id: string; readonly name: string; readonly definition: Rule }[];
}

export class MetricsReport {
  constructor(
    private readonly lifecycle: LifecycleService,
    private readonly measures: MetricsService,
    private readonly segmentStore: SegmentStore,
  ) {}

  /**
   * The metrics with their comparison and breakdown, computed in the warehouse (the periods at once).
   * A saved segment's failure (TooManySegmentsError, InvalidSegmentError, InvalidInputError) names the
   * input it concerns: `about.segment` for the restriction, `about.breakdown` for the breakdown's groups.
   */
  async answer(
    q: MetricsQuestion,
    about: SegmentInputs = { segment: "segmentId", breakdown: "breakdown" },
  ): Promise<MetricsAnswer> {
    const groups = await this.breakdownGroups(q.breakdown, about.breakdown);
    const resolved = (definition: Rule, day: string, argument: string) =>
      this.segmentStore.resolve(definition, day, argument);
    const available = q.metrics.filter((m) =>
      metricAvailable(m, this.lifecycle.available, this.lifecycle.interestEvents),
    );
    // No saved segments: an empty breakdown, and no query split by nothing.
    const split = groups.segments?.length === 0 ? undefined : q.breakdown;
    const ask = async (p: Period) => {
      const [segmentRule, segments] = await Promise.all([
        q.definition ? resolved(q.definition, p.to, about.segment) : undefined,
        Promise.all(
          (groups.segments ?? []).map(async (s) => ({
            id: s.id,
            rule: await resolved(s.definition, p.to, about.breakdown),
          })),
        ),
      ]);
      return this.measures.measure({ period: p, metrics: available, breakdown: split, segmentRule, segments });
    };
    const [current, previous] = await Promise.all([ask(q.period), q.compareTo ? ask(q.compareTo) : undefined]);
    const metrics = q.metrics.map((m) => {
      const result = metricResult(m, available.includes(m), current, previous);
      if (!q.breakdown) return { ...result, breakdown: null };
      const labelled = (result.breakdown ?? []).map((g) => ({
        ...g,
        label: g.key === null ? null : (groups.labels.get(g.key) ?? g.key),
      }));
      return { ...result, breakdown: labelled.sort((a, b) => groups.order(a.key) - groups.order(b.key)) };
    });
    return { metrics, noSegments: groups.segments?.length === 0 };
  }

  /**
   * The metrics over each period of a series, each value what `answer` gives for that period alone,
   * computed for all periods at once (MetricsService.measureSeries: a query per group of measures, not
   * per period). A range over MAX_SERIES_PERIODS periods is an InvalidInputError about `interval`, one
   * running backwards about `to`; a saved segment's failure names `segmentArgument`.
   */
  async series(q: MetricSeriesQuestion, segmentArgument = "segmentId"): Promise<MetricSeriesPoint[]> {
    const problem = seriesProblem(q.from, q.to, q.interval);
    if (problem) throw new InvalidInputError(problem.message, { argument: problem.argument });
    const periods = seriesPeriods(q.from, q.to, q.interval);
    const available = q.metrics.filter((m) =>
      metricAvailable(m, this.lifecycle.available, this.lifecycle.interestEvents),
    );
    const segmentRules = q.definition
      ? await this.segmentStore.resolveEach(
          q.definition,
          periods.map((p) => p.to),
          segmentArgument,
        )
      : undefined;
    const measured = await this.measures.measureSeries({ periods, metrics: available, segmentRules });
    return measured.map((current) => ({
      period: current.period,
      metrics: q.metrics.map((m) => ({ ...metricResult(m, available.includes(m), current), breakdown: null })),
    }));
  }

  /** Labels and order of a breakdown's groups: stages in display order, saved segments by name. */
  private async breakdownGroups(breakdown: Breakdown | undefined, argument: string): Promise<BreakdownGroups> {
    if (breakdown !== "segment") return groupDisplay(breakdown, this.lifecycle.model.stages);
    const segments = await this.segmentStore.forBreakdown(argument);
    return { ...groupDisplay(breakdown, [], segments), segments };
  }
}

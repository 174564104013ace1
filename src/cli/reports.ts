// `clm stages` and `clm metrics`: the lifecycle answers the GraphQL `stages` and `metrics` fields give,
// computed by the same services in the warehouse, printed as a table (or CSV / JSON) on stdout.
import { asOfOrDefault } from "./default-day.ts";
import { addDays, daysBetween, type Period } from "../lifecycle/calendar.ts";
import {
  METRIC_BY_KEY,
  METRICS,
  type Breakdown,
  type MetricDefinition,
  type MetricGroupResult,
  type MetricUnit,
} from "../lifecycle/metrics.ts";
import type { StageCount } from "../services/lifecycle/stages.ts";
import type { LabelledGroup, MetricAnswer } from "../services/metrics-report.ts";
import { savedSegment, segmentFailure, segmentRuleFor, withContext } from "./context.ts";
import { UsageError } from "./exit.ts";
import type { OutputFormat } from "./options.ts";
import { renderCsv, renderJson, renderTable } from "./table.ts";

/** The longest period one metrics question may cover, as in the GraphQL API (src/schema/period.ts). */
const MAX_PERIOD_DAYS = 3_660;

const percent = (share: number): string => `${(share * 100).toFixed(1)}%`;

export interface StagesOptions {
  readonly asOf?: string;
  readonly segment?: string;
  readonly format: OutputFormat;
}

export async function stages(options: StagesOptions): Promise<void> {
  await withContext(async (ctx) => {
    const asOf = await asOfOrDefault(ctx, options.asOf);
    let counts: StageCount[];
    let of = "customers";
    if (options.segment) {
      const { segment, rule } = await segmentRuleFor(ctx, options.segment, asOf);
      counts = await ctx.services.segments.stageCounts(asOf, rule);
      of = `members of segment "${segment.name}"`;
    } else {
      counts = await ctx.services.lifecycle.stageCounts(asOf);
    }
    const total = counts.reduce((n, c) => n + c.count, 0);
    const rows = counts.map((c) => ({
      stage: c.stage.key,
      name: c.stage.name,
      count: c.count,
      share: total === 0 ? 0 : c.count / total,
    }));
    if (options.format === "json") {
      process.stdout.write(renderJson({ asOf, segmentId: options.segment ?? null, total, stages: rows }));
    } else if (options.format === "csv") {
      process.stdout.write(
        renderCsv(
          ["stage", "name", "count", "share"],
          rows.map((r) => [r.stage, r.name, r.count, r.share]),
        ),
      );
    } else {
      process.stdout.write(
        renderTable(
          [
            { header: "stage" },
            { header: "name" },
            { header: "count", align: "right" },
            { header: "share", align: "right" },
          ],
          rows.map((r) => [r.stage, r.name, String(r.count), percent(r.share)]),
          { title: `Stages on ${asOf}: ${total} ${of}` },
        ),
      );
    }
  });
}

export interface MetricsOptions {
  readonly from?: string;
  readonly to?: string;
  readonly keys?: readonly string[];
  /** Also the equally long period just before, with the change. */
  readonly compare?: boolean;
  readonly segment?: string;
  /** Also each metric per group: stage, acquisition channel, cohort month, RFM segment or saved segment. */
  readonly breakdown?: Breakdown;
  readonly format: OutputFormat;
}

/** The metric keys, checked (unknown ones are a usage error listing the known ones). */
export function metricDefinitions(keys: readonly string[] | undefined): MetricDefinition[] {
  if (!keys || keys.length === 0) return [...METRICS];
  const unknown = keys.filter((k) => !METRIC_BY_KEY.has(k.toLowerCase()));
  if (unknown.length > 0) {
    throw new UsageError(
      `unknown metric ${unknown.map((k) => JSON.stringify(k)).join(", ")}; known: ${METRICS.map((m) => m.key).join(", ")}`,
      "metrics",
    );
  }
  return [...new Set(keys.map((k) => k.toLowerCase()))].map((k) => METRIC_BY_KEY.get(k)!);
}

/** The period asked for: --from/--to, by default the 30 days ending today. */
export function metricsPeriod(from: string | undefined, to: string | undefined, today: string): Period {
  const end = to ?? (from && from > today ? from : today);
  const period = { from: from ?? addDays(end, -29), to: end };
  if (period.to < period.from) throw new UsageError(`--to (${period.to}) is before --from (${period.from})`, "metrics");
  const days = daysBetween(period.from, period.to) + 1;
  if (days > MAX_PERIOD_DAYS)
    throw new UsageError(`the period covers ${days} days; at most ${MAX_PERIOD_DAYS}`, "metrics");
  return period;
}

/** A value in its unit, for reading: ratios as percentages, multiples with ×, money with cents, days to a tenth. */
export function formatMetric(value: number | null, unit: MetricUnit): string {
  if (value === null) return "";
  switch (unit) {
    case "ratio":
      return percent(value);
    case "multiple":
      return `${value.toFixed(2)}×`;
    case "currency":
      return value.toFixed(2);
    case "days":
    case "score":
      return value.toFixed(1);
    case "count":
      return Number.isInteger(value) ? String(value) : value.toFixed(2);
  }
}

function formatChange(unit: MetricUnit, result: Measured): string {
  const change = result.comparison?.change ?? null;
  if (change === null) return "";
  const sign = change > 0 ? "+" : change < 0 ? "-" : "±";
  const magnitude = Math.abs(change);
  // A change of a percentage is in percentage points.
  if (unit === "ratio") return `${sign}${(magnitude * 100).toFixed(1)} pts`;
  const relative = result.comparison?.relativeChange;
  const text = `${sign}${formatMetric(magnitude, unit)}`;
  return relative === null || relative === undefined
    ? text
    : `${text} (${relative >= 0 ? "+" : "-"}${Math.abs(relative * 100).toFixed(1)}%)`;
}

export async function metrics(options: MetricsOptions): Promise<void> {
  const definitions = metricDefinitions(options.keys);
  // Usage problems before anything is opened (today, in the configured zone, needs the configuration).
  if (options.from && options.to) metricsPeriod(options.from, options.to, options.to);
  await withContext(async (ctx) => {
    const period = metricsPeriod(options.from, options.to, await asOfOrDefault(ctx, options.to));
    const length = daysBetween(period.from, period.to) + 1;
    const previous = options.compare
      ? { from: addDays(period.from, -length), to: addDays(period.from, -1) }
      : undefined;
    // The question the GraphQL field answers, by the same service: the segment's definition is resolved
    // for each period's last day.
    const saved = options.segment ? await savedSegment(ctx, options.segment) : undefined;
    const answer = await ctx.services.metrics
      .answer({
        metrics: definitions,
        period,
        compareTo: previous,
        breakdown: options.breakdown,
        definition: saved?.definition,
      })
      .catch((error: unknown) => {
        throw segmentFailure(error);
      });
    const results = answer.metrics;
    /** A metric's groups in display order with their labels; none without a breakdown. */
    const groupsOf = (r: MetricAnswer): readonly LabelledGroup[] => r.breakdown ?? [];
    if (options.format === "json") {
      process.stdout.write(
        renderJson({
          period,
          compareTo: previous ?? null,
          segmentId: options.segment ?? null,
          breakdownBy: options.breakdown ?? null,
          metrics: results.map((r) => ({
            key: r.definition.key,
            name: r.definition.name,
            unit: r.definition.unit,
            available: r.available,
            value: r.value,
            population: r.population,
            comparison: r.comparison,
            ...(options.breakdown
              ? {
                  breakdown: groupsOf(r).map((g) => ({
                    key: g.key,
                    label: g.label,
                    value: g.value,
                    population: g.population,
                    comparison: g.comparison,
                  })),
                }
              : {}),
          })),
        }),
      );
      return;
    }
    /** The total, then (with a breakdown) one line per group. */
    const lines = (r: MetricAnswer): { group: LabelledGroup | null; of: Measured }[] => [
      { group: null, of: r },
      ...groupsOf(r).map((g) => ({ group: g, of: g })),
    ];
    if (options.format === "csv") {
      const headers = ["key", "name", "unit", "available"];
      // level: "total" for everyone, "group" for a breakdown group (whose key may be empty: no channel …).
      if (options.breakdown) headers.push("level", "group_key", "group_label");
      headers.push("value", "population");
      if (previous) headers.push("previous_value", "change", "relative_change");
      process.stdout.write(
        renderCsv(
          headers,
          results.flatMap((r) =>
            lines(r).map(({ group, of }) => [
              r.definition.key,
              r.definition.name,
              r.definition.unit,
              String(r.available),
              ...(options.breakdown ? [group ? "group" : "total", group?.key, group?.label] : []),
              of.value,
              of.population,
              ...(previous ? [of.comparison?.value, of.comparison?.change, of.comparison?.relativeChange] : []),
            ]),
          ),
        ),
      );
      return;
    }
    const columns = [
      { header: "metric" },
      { header: "name" },
      ...(options.breakdown ? [{ header: options.breakdown }] : []),
      { header: "value", align: "right" as const },
      { header: "population", align: "right" as const },
    ];
    if (previous) columns.push({ header: "previous", align: "right" }, { header: "change", align: "right" });
    const unavailable = results.filter((r) => !r.available).map((r) => r.definition.key);
    const notes =
      unavailable.length > 0 ? [`n/a: the warehouse lacks a table needed by ${unavailable.join(", ")}`] : [];
    if (answer.noSegments) notes.push("no saved segments to break down by");
    const scope = saved ? ` for segment "${saved.segment.name}"` : "";
    const title =
      `Metrics ${period.from} to ${period.to} (${length} days)${scope}` +
      (options.breakdown ? ` by ${options.breakdown}` : "") +
      (previous ? `, against ${previous.from} to ${previous.to}` : "");
    process.stdout.write(
      renderTable(
        columns,
        results.flatMap((r) =>
          lines(r).map(({ group, of }) => {
            const value = r.available ? formatMetric(of.value, r.definition.unit) : "n/a";
            const population = of.population === null ? "" : formatMetric(of.population, "count");
            const row = [r.definition.key, r.definition.name];
            if (options.breakdown) row.push(group ? `  ${group.label ?? "(none)"}` : "all");
            row.push(value, population);
            if (previous) {
              row.push(
                r.available ? formatMetric(of.comparison?.value ?? null, r.definition.unit) : "n/a",
                formatChange(r.definition.unit, of),
              );
            }
            return row;
          }),
        ),
        { title, notes },
      ),
    );
  });
}

/** A value with its comparison: a metric's total or one of its breakdown groups. */
type Measured = Pick<MetricGroupResult, "value" | "population" | "comparison">;

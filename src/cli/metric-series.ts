// `clm metrics --interval day|week|month|quarter`: the metrics over each period of a series (the GraphQL
// `metricSeries` field, by the same use case), one row per period and a column per metric.
import { asOfOrDefault } from "./default-day.ts";
import { periodStartBefore, type SeriesInterval } from "../lifecycle/calendar.ts";
import { seriesProblem } from "../lifecycle/metrics.ts";
import { savedSegment, segmentFailure, withContext } from "./context.ts";
import { UsageError } from "./exit.ts";
import { formatMetric, metricDefinitions, type MetricsOptions } from "./reports.ts";
import { renderCsv, renderJson, renderTable } from "./table.ts";

export interface MetricSeriesOptions extends MetricsOptions {
  readonly interval: SeriesInterval;
}

/** Periods a series without --from shows: the one holding --to and the 11 before it. */
const DEFAULT_PERIODS = 12;

/** Checks what the options say alone, before anything is opened. */
function checkUsage(options: MetricSeriesOptions): void {
  if (options.compare || options.breakdown)
    throw new UsageError(
      "--interval gives one value per period: it takes neither --compare nor --breakdown",
      "metrics",
    );
  if (options.from && options.to) {
    const problem = seriesProblem(options.from, options.to, options.interval);
    if (problem) throw new UsageError(problem.message, "metrics");
  }
}

export async function metricSeries(options: MetricSeriesOptions): Promise<void> {
  const definitions = metricDefinitions(options.keys);
  checkUsage(options);
  await withContext(async (ctx) => {
    const to = await asOfOrDefault(ctx, options.to);
    const from = options.from ?? periodStartBefore(to, options.interval, DEFAULT_PERIODS - 1);
    const problem = seriesProblem(from, to, options.interval);
    if (problem) throw new UsageError(problem.message, "metrics");
    const saved = options.segment ? await savedSegment(ctx, options.segment) : undefined;
    const points = await ctx.services.metrics
      .series({ metrics: definitions, from, to, interval: options.interval, definition: saved?.definition })
      .catch((error: unknown) => {
        throw segmentFailure(error);
      });
    if (options.format === "json") {
      process.stdout.write(
        renderJson({
          from,
          to,
          interval: options.interval,
          segmentId: options.segment ?? null,
          metrics: definitions.map((d, i) => ({
            key: d.key,
            name: d.name,
            unit: d.unit,
            available: points[0]?.metrics[i]?.available ?? true,
          })),
          points: points.map((p) => ({
            period: p.period,
            values: p.metrics.map((m) => ({ key: m.definition.key, value: m.value, population: m.population })),
          })),
        }),
      );
      return;
    }
    const keys = definitions.map((d) => d.key);
    if (options.format === "csv") {
      process.stdout.write(
        renderCsv(
          ["from", "to", ...keys],
          points.map((p) => [p.period.from, p.period.to, ...p.metrics.map((m) => m.value)]),
        ),
      );
      return;
    }
    const unavailable = (points[0]?.metrics ?? []).filter((m) => !m.available).map((m) => m.definition.key);
    const notes =
      unavailable.length > 0 ? [`n/a: the warehouse lacks a table needed by ${unavailable.join(", ")}`] : [];
    const scope = saved ? ` for segment "${saved.segment.name}"` : "";
    process.stdout.write(
      renderTable(
        [{ header: "from" }, { header: "to" }, ...keys.map((header) => ({ header, align: "right" as const }))],
        points.map((p) => [
          p.period.from,
          p.period.to,
          ...p.metrics.map((m) => (m.available ? formatMetric(m.value, m.definition.unit) : "n/a")),
        ]),
        { title: `Metrics by ${options.interval} from ${from} to ${to} (${points.length} periods)${scope}`, notes },
      ),
    );
  });
}

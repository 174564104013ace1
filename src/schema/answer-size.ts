// How many values an answer may hold, estimated from the operation and its variables before anything
// runs: each field is one value, and a list multiplies what it selects by how many items it can hold —
// a page by its `first`/`last` (the default page when absent), `customers(ids)` by its ids, a series
// (`metricSeries`, `stageSeries`) by its periods between `from` and `to`, any other list by LIST_ITEMS. Relay's edges are the page already counted. Each field's share is declared in
// its `complexity` extension, which @pothos/plugin-complexity's validation rule reads; the answer
// budget (server/limits.ts) runs that rule with the request's variables, so `first: $n` costs what $n
// says. Shares are constants except on fields whose arguments size a list: the rule maps a field's
// arguments only for those, which keeps the estimate cheap on a document of hundreds of lookups.
import SchemaBuilder, { BasePlugin, type PothosOutputFieldConfig, type SchemaTypes } from "@pothos/core";
import { isCalendarDay, seriesLength, type SeriesInterval } from "../lifecycle/calendar.ts";
import { MAX_SERIES_PERIODS } from "../lifecycle/metrics.ts";
import { MAX_SERIES_POINTS, PAGE_SIZE } from "./page-size.ts";

declare global {
  // eslint-disable-next-line @typescript-eslint/no-namespace
  export namespace PothosSchemaTypes {
    interface Plugins<Types extends SchemaTypes> {
      answerSize: AnswerSizePlugin<Types>;
    }
  }
}

/**
 * Items assumed for a list whose length no argument says (stages, metrics, cohorts, cells): the server
 * bounds those itself; what a client chooses (pages, ids) is counted as asked.
 */
export const LIST_ITEMS = 10;

type Share = number | { field: number; multiplier: number } | ((args: Record<string, unknown>) => Share);

const pageShare = (args: Record<string, unknown>): Share => {
  const size = [args.first, args.last].find((n): n is number => typeof n === "number");
  return { field: 1, multiplier: Math.max(0, size ?? PAGE_SIZE.default) };
};

const idsShare = (args: Record<string, unknown>): Share => ({
  field: 1,
  multiplier: Array.isArray(args.ids) ? args.ids.length : 1,
});

const isInterval = (value: unknown): value is SeriesInterval =>
  typeof value === "string" && Object.hasOwn(MAX_SERIES_PERIODS, value);

/**
 * A series holds a point per period, so a long one costs more. A range over the field's most periods
 * (`most`) counts one item: the field refuses it with a message saying so, which an estimate over the
 * budget would hide.
 */
const seriesShare =
  (most: (interval: SeriesInterval) => number) =>
  (args: Record<string, unknown>): Share => {
    const { from, to, interval } = args;
    if (!isCalendarDay(from) || !isCalendarDay(to) || !isInterval(interval)) return { field: 1, multiplier: 1 };
    const periods = seriesLength(from, to, interval);
    return { field: 1, multiplier: periods > most(interval) ? 1 : Math.max(1, periods) };
  };

const metricSeriesShare = seriesShare((interval) => MAX_SERIES_PERIODS[interval]);
const stageSeriesShare = seriesShare(() => MAX_SERIES_POINTS);

/** A field's share of an answer: one value, times the items of what it selects. */
export function answerShare(fieldConfig: Pick<PothosOutputFieldConfig<SchemaTypes>, "name" | "args" | "type">): Share {
  if ("first" in fieldConfig.args) return pageShare;
  if ("ids" in fieldConfig.args) return idsShare;
  if ("interval" in fieldConfig.args && "from" in fieldConfig.args && "to" in fieldConfig.args)
    return fieldConfig.name === "stageSeries" ? stageSeriesShare : metricSeriesShare;
  if (fieldConfig.type.kind !== "List") return 1;
  // Relay's edges hold the page its connection already multiplied by.
  return { field: 1, multiplier: fieldConfig.name === "edges" ? 1 : LIST_ITEMS };
}

export class AnswerSizePlugin<Types extends SchemaTypes> extends BasePlugin<Types> {
  override onOutputFieldConfig(fieldConfig: PothosOutputFieldConfig<Types>): PothosOutputFieldConfig<Types> {
    return {
      ...fieldConfig,
      extensions: { ...fieldConfig.extensions, complexity: answerShare(fieldConfig as never) },
    };
  }
}

SchemaBuilder.registerPlugin("answerSize", AnswerSizePlugin);

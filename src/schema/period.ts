// Periods: inclusive ranges of days, as arguments and in answers.
import { daysBetween, type Period } from "../lifecycle/calendar.ts";
import { builder } from "./builder.ts";
import { InvalidInputError } from "../errors.ts";

/** The longest period one metrics question may cover (ten years). */
export const MAX_PERIOD_DAYS = 3_660;

export const PeriodInput = builder.inputType("PeriodInput", {
  description: "An inclusive range of days in the configured time zone.",
  fields: (t) => ({
    from: t.field({
      type: "Date",
      required: true,
      description: "First day of the period, included (a calendar day in the configured time zone).",
    }),
    to: t.field({ type: "Date", required: true, description: "Last day (on or after from)." }),
  }),
});

export const SeriesIntervalEnum = builder.enumType("SeriesInterval", {
  description: "The periods a series counts by, in the configured time zone.",
  values: {
    DAY: { value: "day", description: "One point per day." },
    WEEK: { value: "week", description: "ISO weeks, Monday to Sunday." },
    MONTH: { value: "month", description: "Calendar months, first to last day." },
    QUARTER: {
      value: "quarter",
      description: "Calendar quarters: January–March, April–June, July–September, October–December.",
    },
  } as const,
});

export const PeriodRef = builder.objectRef<Period>("Period").implement({
  description: "An inclusive range of days in the configured time zone.",
  fields: (t) => ({
    from: t.field({ type: "Date", description: "First day of the period, included.", resolve: (p) => p.from }),
    to: t.field({ type: "Date", description: "Last day of the period, included.", resolve: (p) => p.to }),
    days: t.int({ description: "Days in the period.", resolve: (p) => daysBetween(p.from, p.to) + 1 }),
  }),
});

/** A period argument that runs forwards and is not too long. */
export function checkPeriod(period: Period, argument: string): void {
  if (period.to < period.from)
    throw new InvalidInputError(`${argument}.to must be on or after ${argument}.from`, { argument });
  const days = daysBetween(period.from, period.to) + 1;
  if (days > MAX_PERIOD_DAYS) {
    throw new InvalidInputError(`${argument} covers ${days} days; at most ${MAX_PERIOD_DAYS}`, { argument });
  }
}

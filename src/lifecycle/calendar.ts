// Calendar days in a time zone. `asOf` is a day: the state at the end of that day in the configured
// zone, so every input before the start of the next local day counts.

const DAY_MS = 86_400_000;

/** An inclusive range of days, "YYYY-MM-DD". */
export interface Period {
  readonly from: string;
  readonly to: string;
}

/**
 * One formatter per zone and purpose, made once: building an Intl.DateTimeFormat costs far more than
 * formatting with it, and requests ask for today and for day boundaries all the time.
 */
function formatter(cache: Map<string, Intl.DateTimeFormat>, timeZone: string, make: () => Intl.DateTimeFormat) {
  let format = cache.get(timeZone);
  // Stryker disable next-line ConditionalExpression: a miss every time makes an equal formatter, only slower
  if (!format) {
    format = make();
    cache.set(timeZone, format);
  }
  return format;
}

const partsFormats = new Map<string, Intl.DateTimeFormat>();
const dayFormats = new Map<string, Intl.DateTimeFormat>();

/** Milliseconds the zone is ahead of UTC at `instant`. */
function zoneOffsetMs(instant: number, timeZone: string): number {
  const format = formatter(
    partsFormats,
    timeZone,
    () =>
      new Intl.DateTimeFormat("en-US", {
        timeZone,
        hourCycle: "h23",
        year: "numeric",
        month: "2-digit",
        day: "2-digit",
        hour: "2-digit",
        minute: "2-digit",
        second: "2-digit",
      }),
  );
  const parts = format.formatToParts(new Date(instant));
  const get = (type: string) => Number(parts.find((p) => p.type === type)!.value);
  const asUtc = Date.UTC(get("year"), get("month") - 1, get("day"), get("hour"), get("minute"), get("second"));
  return asUtc - Math.floor(instant / 1000) * 1000;
}

/** Day starts already worked out, by zone and day (a few per request; bounded all the same). */
const dayStarts = new Map<string, number>();
const MAX_DAY_STARTS = 10_000;

/** The instant a local day begins in `timeZone` ("YYYY-MM-DD"). */
export function startOfDay(day: string, timeZone: string): Date {
  const key = `${timeZone} ${day}`;
  let instant = dayStarts.get(key);
  // Stryker disable next-line ConditionalExpression: recomputing a remembered day start gives the same instant
  if (instant === undefined) {
    const localMidnight = Date.parse(`${day}T00:00:00Z`);
    instant = localMidnight - zoneOffsetMs(localMidnight, timeZone);
    // Once more at the first guess: the offset may differ across a DST change.
    instant = localMidnight - zoneOffsetMs(instant, timeZone);
    // Stryker disable next-line ConditionalExpression,EqualityOperator: when the memo is cleared shows in memory only
    if (dayStarts.size >= MAX_DAY_STARTS) dayStarts.clear();
    dayStarts.set(key, instant);
  }
  return new Date(instant);
}

/**
 * The earliest day the server accepts. The most it subtracts from a day is a relative date's daysAgo
 * (36,500) and a metric's prior period (3,660 days): even together, from here that stays in the 18th
 * century, which every engine holds (BigQuery's DATE starts at 0001-01-01).
 */
export const FIRST_DAY = "1900-01-01";

/**
 * The last day the server accepts. The most it adds to a day is a stage-timing step (up to 365 days: the
 * snapshot loop steps once past `to` before it stops) and one day plus a zone's offset for the instant
 * a day ends; from here every such day is in 9999 at the latest, within BigQuery's DATE and TIMESTAMP
 * (up to 9999-12-31), PostgreSQL, DuckDB and a JS Date written as YYYY-MM-DD. One day later, 9999-12-31
 * ended at 10000-01-01, which no day string, DuckDB date conversion or BigQuery holds.
 */
export const LAST_DAY = "9998-12-31";

/** Whether `value` is a real calendar day "YYYY-MM-DD" (no 02-31), from FIRST_DAY to LAST_DAY. */
export function isCalendarDay(value: unknown): value is string {
  if (typeof value !== "string" || !/^\d{4}-\d{2}-\d{2}$/.test(value) || value < FIRST_DAY || value > LAST_DAY)
    return false;
  // By arithmetic, not through a Date and its ISO text: every Date argument of every request comes here.
  const year = Number(value.slice(0, 4));
  const month = Number(value.slice(5, 7));
  const day = Number(value.slice(8, 10));
  if (month < 1 || month > 12 || day < 1) return false;
  const leap = year % 4 === 0 && (year % 100 !== 0 || year % 400 === 0);
  return day <= (month === 2 && leap ? 29 : DAYS_IN_MONTH[month - 1]!);
}

const DAYS_IN_MONTH = [31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31];

/** The day `days` after `day`; a RangeError outside years 0000–9999 (toISOString would write "+010000-01-01"). */
export function addDays(day: string, days: number): string {
  const text = new Date(Date.parse(`${day}T00:00:00Z`) + days * DAY_MS).toISOString();
  if (text.length !== 24) throw new RangeError(`${day} + ${days} days is outside years 0000-9999`);
  return text.slice(0, 10);
}

/** The first instant after `asOf` ends: inputs strictly before it are known at asOf. */
export function asOfCutoff(asOf: string, timeZone: string): Date {
  return startOfDay(addDays(asOf, 1), timeZone);
}

/** Today's date in the zone. */
export function today(timeZone: string, now = new Date()): string {
  return formatter(
    dayFormats,
    timeZone,
    () => new Intl.DateTimeFormat("en-CA", { timeZone, year: "numeric", month: "2-digit", day: "2-digit" }),
  ).format(now);
}

/** Days since 1970-01-01 of a day "YYYY-MM-DD" (the state store keeps days as these numbers). */
export function dayNumber(day: string): number {
  return Math.round(Date.parse(`${day}T00:00:00Z`) / DAY_MS);
}

/** Day texts already made: a refresh writes the same few thousand days for every customer. */
const dayTexts = new Map<number, string>();

/** The day "YYYY-MM-DD" of a day number (dayNumber's inverse). */
export function dayOfNumber(n: number): string {
  let text = dayTexts.get(n);
  if (text === undefined) {
    text = new Date(n * DAY_MS).toISOString().slice(0, 10);
    // Stryker disable next-line ConditionalExpression,EqualityOperator: forgetting the cache only costs time
    if (dayTexts.size >= 100_000) dayTexts.clear();
    dayTexts.set(n, text);
  }
  return text;
}

export function daysBetween(from: string, to: string): number {
  return Math.round((Date.parse(`${to}T00:00:00Z`) - Date.parse(`${from}T00:00:00Z`)) / DAY_MS);
}

/** "YYYY-MM" of a month index (year × 12 + month − 1, as monthIndex computes in SQL). */
export function monthLabel(index: number): string {
  return `${String(Math.floor(index / 12)).padStart(4, "0")}-${String((index % 12) + 1).padStart(2, "0")}`;
}

/** The month index (year × 12 + month − 1) of a day "YYYY-MM-DD". */
export function monthOf(day: string): number {
  return Number(day.slice(0, 4)) * 12 + Number(day.slice(5, 7)) - 1;
}

/** The periods a series is counted by. */
export type SeriesInterval = "day" | "week" | "month" | "quarter";

/** The Monday of the week (Monday to Sunday) holding `day`. */
function mondayOf(day: string): string {
  return addDays(day, -((new Date(`${day}T00:00:00Z`).getUTCDay() + 6) % 7));
}

/** The first day of the calendar period of `interval` that lies `back` periods before the one holding `day`. */
export function periodStartBefore(day: string, interval: SeriesInterval, back: number): string {
  switch (interval) {
    case "day":
      return addDays(day, -back);
    case "week":
      return addDays(mondayOf(day), -7 * back);
    case "month":
      return `${monthLabel(monthOf(day) - back)}-01`;
    case "quarter":
      return `${monthLabel(Math.floor(monthOf(day) / 3) * 3 - 3 * back)}-01`;
  }
}

/**
 * The periods of `interval` that meet [from, to], in order: each period's first day within the range
 * and the day its counts are for (its last day, or `to` for a period still running at `to`). Weeks
 * start on Monday (ISO 8601); quarters on January, April, July and October 1st.
 */
export function seriesPoints(from: string, to: string, interval: SeriesInterval): { start: string; day: string }[] {
  const points: { start: string; day: string }[] = [];
  let start = from;
  while (start <= to) {
    let end: string;
    if (interval === "day") end = start;
    else if (interval === "week") end = addDays(mondayOf(start), 6);
    else {
      const [year, month] = [Number(start.slice(0, 4)), Number(start.slice(5, 7))];
      // Day 0 of the month after the period: its last day.
      const last = interval === "quarter" ? month + 2 - ((month - 1) % 3) : month;
      end = new Date(Date.UTC(year, last, 0)).toISOString().slice(0, 10);
    }
    const day = end < to ? end : to;
    points.push({ start, day });
    start = addDays(day, 1);
  }
  return points;
}

/** The periods of a series as inclusive ranges: calendar periods of `interval` meeting [from, to], clipped to it. */
export function seriesPeriods(from: string, to: string, interval: SeriesInterval): Period[] {
  return seriesPoints(from, to, interval).map((p) => ({ from: p.start, to: p.day }));
}

/** How many periods `seriesPoints` gives, counted without listing them (a range of years is cheap to refuse). */
export function seriesLength(from: string, to: string, interval: SeriesInterval): number {
  if (to < from) return 0;
  switch (interval) {
    case "day":
      return daysBetween(from, to) + 1;
    case "week":
      return daysBetween(mondayOf(from), mondayOf(to)) / 7 + 1;
    case "month":
      return monthOf(to) - monthOf(from) + 1;
    case "quarter":
      return Math.floor(monthOf(to) / 3) - Math.floor(monthOf(from) / 3) + 1;
  }
}

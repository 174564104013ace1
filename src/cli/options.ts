// Parsers of option and argument values: a bad value is a usage error (exit 2) naming the option.
import { InvalidArgumentError } from "commander";
import type { LogicalTable } from "../sql/contract.ts";
import { FIRST_DAY, isCalendarDay, LAST_DAY } from "../lifecycle/calendar.ts";

export function positiveInt(value: string): number {
  const n = Number(value.replace(/_/g, ""));
  if (!Number.isSafeInteger(n) || n <= 0) throw new InvalidArgumentError("must be a positive whole number");
  return n;
}

export function atLeastOne(value: string): number {
  const n = Number(value);
  if (!Number.isFinite(n) || n < 1) throw new InvalidArgumentError("must be a number of at least 1");
  return n;
}

/** A real calendar day YYYY-MM-DD (no 02-31), as the GraphQL Date scalar takes. */
export function calendarDay(value: string): string {
  if (!isCalendarDay(value))
    throw new InvalidArgumentError(`must be a calendar day YYYY-MM-DD from ${FIRST_DAY} to ${LAST_DAY}`);
  return value;
}

/** Today in UTC, YYYY-MM-DD (the seed's default end date). */
export function todayUtc(): string {
  return new Date().toISOString().slice(0, 10);
}

/** One character separating CSV fields; `tab` or `\t` for a tab. */
export function delimiter(value: string): string {
  const d = value === "tab" || value === "\\t" ? "\t" : value;
  if (d.length !== 1 || d.charCodeAt(0) > 127 || d === '"' || d === "\n" || d === "\r") {
    throw new InvalidArgumentError('must be one ASCII character other than a quote or a line break (or "tab")');
  }
  return d;
}

/** A comma-separated list, accumulated over repeated options: `--keys a,b --keys c`. */
export function list(value: string, previous: string[] | undefined): string[] {
  const items = value
    .split(",")
    .map((s) => s.trim())
    .filter((s) => s !== "");
  return [...(previous ?? []), ...items];
}

/** A file's header standing for a contract column: `--map customer_id=cust`, repeatable. */
export interface HeaderMapping {
  readonly column: string;
  readonly header: string;
}

/** One `column=header` (the header may itself hold "="), accumulated over repeated options. */
export function headerMapping(value: string, previous: HeaderMapping[] | undefined): HeaderMapping[] {
  const at = value.indexOf("=");
  const column = value.slice(0, at).trim().toLowerCase();
  const header = value.slice(at + 1).trim();
  if (at < 0 || column === "" || header === "") {
    throw new InvalidArgumentError("must be column=header, e.g. customer_id=cust");
  }
  return [...(previous ?? []), { column, header }];
}

/** How reports print: an aligned table (psql's layout), CSV or JSON. */
export type OutputFormat = "table" | "csv" | "json";
export const OUTPUT_FORMATS: readonly OutputFormat[] = ["table", "csv", "json"];

/** What `clm import` loads: the contract tables, `spend` being marketing_spend. */
export const IMPORT_TABLES = {
  transactions: "transactions",
  customers: "customers",
  events: "events",
  spend: "marketing_spend",
} as const satisfies Record<string, LogicalTable>;
export type ImportKind = keyof typeof IMPORT_TABLES;

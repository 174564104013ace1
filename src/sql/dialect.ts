// Everything that differs between the warehouses' SQL, as one object per warehouse (its connector's
// file defines it). Domain SQL is written once against these hooks and never asks which dialect it
// is on; every member is required, so a dialect that lacks one does not compile.
import type { Sql, SqlNotation } from "./sql.ts";

export interface Dialect extends SqlNotation {
  /** The warehouse kind it is written for, for messages and logs. */
  readonly name: string;
  /** The calendar day (a DATE) of a timestamp column in `timeZone`. */
  localDay(timestamp: Sql, timeZone: string): Sql;
  /** An instant to compare timestamp columns with. */
  instant(at: Date): Sql;
  /** Whole days from one DATE to another. */
  dayDiff(from: Sql, to: Sql): Sql;
  /** `expr` is one of `values`, bound as one list parameter. */
  inList(expr: Sql, values: readonly string[]): Sql;
  /**
   * An aggregate: the value of the latest row by `time` in a group (ties: the greatest value), in one
   * aggregate pass rather than a window sort.
   */
  latestBy(value: Sql, time: Sql): Sql;
  /** How an exact median is computed; callers build the query shape each kind needs. */
  readonly median: MedianSupport;
  /** How the features query finds each customer's first purchase day's revenue and second purchase day. */
  readonly purchaseDayNumbering: PurchaseDayNumbering;
  /**
   * `SELECT <select> FROM <from>` over a random sample of about `rows` of the rows of `from` (a table),
   * for placing bounds where only the spread of values matters.
   */
  sampleRows(select: Sql, from: Sql, rows: number): Sql;
  /**
   * `SELECT` of literal rows (`rows[i][j]` is row i's value of `columns[j]`, typed: a bound parameter
   * in a CAST, or a number the code chose): the periods of a series as a relation, joined so that one
   * query covers them all rather than one query each.
   */
  literalRows(columns: readonly string[], rows: readonly (readonly Sql[])[]): Sql;
}

/**
 * The two shapes an exact median takes. The kinds have different members, so a caller that handles
 * one kind and treats "the other" as the rest stops compiling when a third kind is added.
 */
export type MedianSupport =
  /** An aggregate: one value per GROUP BY group. */
  | { readonly kind: "aggregate"; aggregate(expr: Sql): Sql }
  /**
   * A window function only: the median of each partition on every row, which the grouping query then
   * picks once per group (ANY_VALUE).
   */
  | { readonly kind: "window"; window(expr: Sql, partition: Sql): Sql };

/**
 * "window": each customer's purchase days are numbered by ROW_NUMBER, and days 1 and 2 read from the
 * numbers. "aggregate": no window sort; the first day's value by the aggregate `valueOnFirstDay` over
 * the rows where `where` holds (one row per day, NULLs kept), the second day as the earliest day after
 * the first.
 */
export type PurchaseDayNumbering =
  | { readonly kind: "window" }
  | { readonly kind: "aggregate"; valueOnFirstDay(value: Sql, day: Sql, where: Sql): Sql };

// Tables for the terminal, laid out as psql prints them (aligned columns, headers centred, numbers
// right-aligned, a row count below), and the same rows as CSV or JSON for scripts.
import { csvField } from "../server/export.ts";

export interface Column {
  readonly header: string;
  /** Numbers are right-aligned, text left-aligned (psql's rule). */
  readonly align?: "left" | "right";
}

/** Width in terminal cells: one per code point (no East Asian wide characters here). */
const width = (s: string): number => [...s].length;

function pad(s: string, size: number, align: "left" | "right" | "center"): string {
  const gap = Math.max(0, size - width(s));
  if (align === "right") return " ".repeat(gap) + s;
  if (align === "left") return s + " ".repeat(gap);
  const before = Math.floor(gap / 2);
  return " ".repeat(before) + s + " ".repeat(gap - before);
}

/** Control characters would break the layout: they are shown escaped. */
const printable = (s: string): string =>
  // eslint-disable-next-line no-control-regex
  s.replace(/[\u0000-\u001f\u007f]/g, (c) => (c === "\t" ? "\\t" : c === "\n" ? "\\n" : c === "\r" ? "\\r" : "?"));

export interface TableOptions {
  /** A line centred above the table (psql's \pset title). */
  readonly title?: string;
  /** Lines after the row count. */
  readonly notes?: readonly string[];
}

/**
 * ```
 *   stage    |    name    | count | share
 * -----------+------------+-------+-------
 *  prospect  | Prospect   |  1912 | 38.2%
 * (1 row)
 * ```
 */
export function renderTable(columns: readonly Column[], rows: readonly string[][], options: TableOptions = {}): string {
  const cells = rows.map((row) => row.map((cell) => printable(cell)));
  const widths = columns.map((c, i) => Math.max(width(c.header), ...cells.map((row) => width(row[i] ?? ""))));
  const line = (values: readonly string[], align: (i: number) => "left" | "right" | "center") =>
    values
      .map((v, i) => ` ${pad(v, widths[i]!, align(i))} `)
      .join("|")
      .trimEnd();
  const out: string[] = [];
  const total = widths.reduce((sum, w) => sum + w + 3, -1);
  if (options.title) out.push(pad(options.title, total, "center").trimEnd());
  out.push(
    line(
      columns.map((c) => c.header),
      () => "center",
    ),
  );
  out.push(widths.map((w) => "-".repeat(w + 2)).join("+"));
  for (const row of cells) out.push(line(row, (i) => columns[i]!.align ?? "left"));
  out.push(`(${rows.length} ${rows.length === 1 ? "row" : "rows"})`);
  for (const note of options.notes ?? []) out.push(note);
  return `${out.join("\n")}\n`;
}

/** The same rows as CSV (RFC 4180, LF line ends; text that would run as a spreadsheet formula defused). */
export function renderCsv(headers: readonly string[], rows: readonly unknown[][]): string {
  const lines = [
    headers.map((h) => csvField(h, true)),
    ...rows.map((row) => row.map((v) => csvField(v, typeof v === "string"))),
  ];
  return `${lines.map((cells) => cells.join(",")).join("\n")}\n`;
}

/** Objects as one JSON document (an array), for jq and scripts. */
export function renderJson(value: unknown): string {
  return `${JSON.stringify(value, null, 2)}\n`;
}

// PostgreSQL's COPY text format, for bulk loads into the app database (appdb/app-sql.ts) and into a
// PostgreSQL warehouse (the state writeback, connectors/postgres.ts).

/** A value in COPY's text format: \N for NULL, backslash escapes for the separators. */
export function copyValue(value: unknown): string {
  if (value === null || value === undefined) return "\\N";
  if (value instanceof Date) return value.toISOString();
  if (typeof value === "number") {
    if (!Number.isFinite(value)) throw new Error(`cannot store ${value}`);
    return String(value);
  }
  const text = typeof value === "string" ? value : JSON.stringify(value);
  return text.replace(/\\/g, "\\\\").replace(/\t/g, "\\t").replace(/\n/g, "\\n").replace(/\r/g, "\\r");
}

/** Rows as COPY text: one line per row, tab between values. */
export function copyText(rows: readonly (readonly unknown[])[]): string {
  let text = "";
  for (const row of rows) text += row.map(copyValue).join("\t") + "\n";
  return text;
}

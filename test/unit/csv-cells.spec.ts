// CSV cells pinned against text worked out by hand (RFC 4180 quoting, CRLF lines, the spreadsheet
// formula guard of src/server/csv.ts: text starting with = + - @ tab or CR gets a leading apostrophe).
// Both writers are held to the same table — the row path (csvField, memberCsvLines) and the column path
// (memberCsvColumnBytes, with the cell as UTF-8 bytes and as a JS string) — so a bug in either one
// fails here, rather than only disagreeing with its twin.
import { describe, expect, it } from "vitest";
import type { BatchColumn, ColumnBatch } from "../../src/connectors/connector.ts";
import { csvField, memberCsvColumnBytes, memberCsvHeader, memberCsvLines } from "../../src/server/export.ts";

/** [text cell, expected CSV field], each expected value written out by hand. */
const CELLS: readonly (readonly [string | null, string])[] = [
  ["plain", "plain"],
  ["=SUM(A1:A2)", "'=SUM(A1:A2)"],
  ["+1", "'+1"],
  ["-1", "'-1"],
  ["@cmd", "'@cmd"],
  ["\tlead", "'\tlead"],
  ["\rlead", '"\'\rlead"'], // guarded, then quoted for the CR
  ["a\rb", '"a\rb"'], // a bare CR must be quoted, or a reader splits the record there
  ["a\nb", '"a\nb"'],
  ["a\r\nb", '"a\r\nb"'],
  ['say "hi"', '"say ""hi"""'],
  ["a,b", '"a,b"'],
  ["café ünïcödé 日本", "café ünïcödé 日本"],
  ["=café", "'=café"],
  ["@é,x", '"\'@é,x"'],
  ["mid=dle@", "mid=dle@"], // only the first character is dangerous
  ["", ""],
  [null, ""],
];

const header = memberCsvHeader();
// Each line of the export is the cell, then the empty fields of the other columns.
const otherFields = ",".repeat(header.split(",").length - 1);
const expectedLines = CELLS.map(([, field]) => `${field}${otherFields}\r\n`).join("");

const utf8 = new TextEncoder();
const decoded = (bytes: Uint8Array) => new TextDecoder().decode(bytes);

function batchOf(column: BatchColumn): ColumnBatch {
  return { names: ["customer_id"], columns: [column], rowCount: CELLS.length };
}

function utf8Column(): BatchColumn {
  const parts = CELLS.map(([cell]) => utf8.encode(cell ?? ""));
  const ends = new Uint32Array(parts.length);
  const valid = new Uint8Array(Math.ceil(parts.length / 8));
  let total = 0;
  parts.forEach((p, i) => {
    total += p.length;
    ends[i] = total;
    if (CELLS[i]![0] !== null) valid[i >> 3]! |= 1 << (i & 7);
  });
  const bytes = new Uint8Array(total);
  parts.forEach((p, i) => bytes.set(p, i === 0 ? 0 : ends[i - 1]!));
  return { kind: "utf8", bytes, ends, valid };
}

describe("CSV cells against hand-written text", () => {
  it.each(CELLS)("csvField(%j) as text", (cell, expected) => {
    expect(csvField(cell, true)).toBe(expected);
  });

  it("memberCsvLines writes the table", () => {
    expect(memberCsvLines(CELLS.map(([cell]) => ({ customer_id: cell })))).toBe(expectedLines);
  });

  it("memberCsvColumnBytes writes the table from UTF-8 column bytes", () => {
    expect(decoded(memberCsvColumnBytes(batchOf(utf8Column())))).toBe(expectedLines);
  });

  it("memberCsvColumnBytes writes the table from JS string values", () => {
    const values = CELLS.map(([cell]) => cell);
    expect(decoded(memberCsvColumnBytes(batchOf({ kind: "values", values })))).toBe(expectedLines);
  });

  it("numbers in a column that is not text are not guarded", () => {
    expect(csvField(-1.5, false)).toBe("-1.5");
    expect(csvField("-1", false)).toBe("-1");
  });
});

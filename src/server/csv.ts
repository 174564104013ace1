// CSV fields as the exports write them (RFC 4180 quoting, CRLF lines, a guard against spreadsheet
// formulas), as text (csvField) and written straight into UTF-8 bytes (CsvBytes), for exports large
// enough that building their text first costs more than the query: the bytes are the same either way.
// CsvBytes also writes the typed columns of a warehouse's column batches (numbers, days, UTF-8 text)
// field by field without a JS value per field.
import { dayText, isValidRow, type BatchColumn } from "../connectors/connector.ts";

/**
 * One CSV field (RFC 4180 quoting). Text that a spreadsheet would run as a formula (starting with
 * = + - @ or a tab/carriage return) gets a leading apostrophe, the usual CSV-injection guard.
 */
export function csvField(value: unknown, text: boolean): string {
  if (value === null || value === undefined) return "";
  let s = String(value);
  if (text && /^[=+\-@\t\r]/.test(s)) s = `'${s}`;
  return /[",\r\n]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s;
}

const decoder = new TextDecoder();

// Days written lately, by day number modulo DAY_SLOTS: an export's dates fall on a few thousand days,
// and copying 10 cached bytes is cheaper than working the date out again.
const DAY_SLOTS = 4_096;
const dayKeys = new Float64Array(DAY_SLOTS).fill(Number.NaN); // NaN: equal to no day
const dayCache = new Uint8Array(DAY_SLOTS * 10);

/**
 * Writes "YYYY-MM-DD" of a day counted from 1970-01-01 into `out` at `at` when its year is 0–9999,
 * and returns the year (H. Hinnant's days-to-civil algorithm: no Date, no string).
 */
function civilDay(days: number, out: Uint8Array, at: number): number {
  const z = days + 719_468;
  const era = Math.floor(z / 146_097);
  const dayOfEra = z - era * 146_097;
  const yearOfEra = Math.floor(
    (dayOfEra - Math.floor(dayOfEra / 1_460) + Math.floor(dayOfEra / 36_524) - Math.floor(dayOfEra / 146_096)) / 365,
  );
  const dayOfYear = dayOfEra - (365 * yearOfEra + Math.floor(yearOfEra / 4) - Math.floor(yearOfEra / 100));
  const shifted = Math.floor((5 * dayOfYear + 2) / 153); // months from March
  const dayOfMonth = dayOfYear - Math.floor((153 * shifted + 2) / 5) + 1;
  const month = shifted < 10 ? shifted + 3 : shifted - 9;
  const year = yearOfEra + era * 400 + (month <= 2 ? 1 : 0);
  if (!(year >= 0 && year <= 9999)) return year;
  out[at] = 0x30 + Math.floor(year / 1000);
  out[at + 1] = 0x30 + (Math.floor(year / 100) % 10);
  out[at + 2] = 0x30 + (Math.floor(year / 10) % 10);
  out[at + 3] = 0x30 + (year % 10);
  out[at + 4] = 0x2d;
  out[at + 5] = 0x30 + Math.floor(month / 10);
  out[at + 6] = 0x30 + (month % 10);
  out[at + 7] = 0x2d;
  out[at + 8] = 0x30 + Math.floor(dayOfMonth / 10);
  out[at + 9] = 0x30 + (dayOfMonth % 10);
  return year;
}

const COMMA = 0x2c;
const QUOTE = 0x22;
const CR = 0x0d;
const LF = 0x0a;
const APOSTROPHE = 0x27;

/**
 * Whether csvField guards text starting with this character code: = + - @ tab. (And CR, but text with a
 * CR anywhere is quoted, so it always takes csvField's own text, guard included, and never asks here.)
 */
function startsFormula(code: number): boolean {
  return code === 0x3d || code === 0x2b || code === 0x2d || code === 0x40 || code === 0x09;
}

/** CSV written as UTF-8 into a growing buffer: field by field, the bytes of csvField's text. */
export class CsvBytes {
  private bytes: Uint8Array;
  private length = 0;
  private readonly encoder = new TextEncoder();

  // Stryker disable next-line ArithmeticOperator: the first capacity only spares growing; any size gives the same bytes
  constructor(capacity = 64 * 1024) {
    // Stryker disable next-line MethodExpression: as above, a smaller first buffer grows to fit what is written
    this.bytes = new Uint8Array(Math.max(64, capacity));
  }

  /** The bytes of csvField(value, text). */
  field(value: unknown, text: boolean): void {
    if (value === null || value === undefined) return;
    if (typeof value === "number" && !text) return this.number(value);
    if (typeof value === "string") return this.string(value, text);
    this.general(csvField(value, text));
  }

  /** The text String(value) gives, for a number in a column that is not text. */
  number(value: number): void {
    // Whole numbers as digits, and amounts in cents (x == k / 100) as digits with a point, without
    // making their text: String() writes both as plain digits for |x| < 1e21. For the cents: x is then
    // the double nearest k / 100, and below 1e13 no other decimal of as few digits rounds to x (they are
    // 0.01 or more apart, x's spacing far less), so k / 100 is String()'s shortest round-trip text.
    if (Number.isSafeInteger(value)) return this.integer(value);
    // Stryker disable next-line EqualityOperator: ±1e13 are whole numbers, written by integer() before this
    if (value > -1e13 && value < 1e13) {
      const cents = Math.round(value * 100);
      if (cents / 100 === value) return this.cents(cents);
    }
    this.ascii(String(value));
  }

  /** "YYYY-MM-DD" of a day counted from 1970-01-01, as Date's toISOString gives it. */
  day(days: number, text: boolean): void {
    const slot = days & (DAY_SLOTS - 1);
    // Stryker disable next-line ConditionalExpression: a day worked out again, not read from its slot, is alike
    if (dayKeys[slot] !== days) {
      const year = civilDay(days, dayCache, slot * 10);
      // toISOString writes other years with a sign and six digits (and fails beyond its range).
      if (!(year >= 0 && year <= 9999)) return this.general(csvField(dayText(days), text));
      dayKeys[slot] = days;
    }
    this.room(10);
    const b = this.bytes;
    const at = this.length;
    // Stryker disable next-line EqualityOperator: an 11th byte lands past this.length, where take() never reads
    for (let k = 0, from = slot * 10; k < 10; k++) b[at + k] = dayCache[from + k]!;
    this.length = at + 10;
  }

  /** The field of UTF-8 text bytes[start, end): csvField's text of the string they encode. */
  utf8(bytes: Uint8Array, start: number, end: number, text: boolean): void {
    const n = end - start;
    if (n === 0) return;
    // The characters that matter (quote, comma, CR, LF and the formula starts) are ASCII, so bytes tell.
    for (let i = start; i < end; i++) {
      const code = bytes[i]!;
      if (code === QUOTE || code === COMMA || code === CR || code === LF) {
        return this.general(csvField(decoder.decode(bytes.subarray(start, end)), text));
      }
    }
    this.room(n + 1);
    const out = this.bytes;
    let at = this.length;
    if (text && startsFormula(bytes[start]!)) out[at++] = APOSTROPHE;
    for (let i = start; i < end; i++) out[at++] = bytes[i]!;
    this.length = at;
  }

  /** Row `row` of a batch column (nothing for NULL). */
  column(column: BatchColumn, row: number, text: boolean): void {
    if (column.kind === "values") return this.field(column.values[row], text);
    if (!isValidRow(column.valid, row)) return;
    switch (column.kind) {
      case "numbers":
        return text ? this.field(column.values[row], true) : this.number(column.values[row]!);
      case "days":
        return this.day(column.days[row]!, text);
      case "utf8":
        return this.utf8(column.bytes, row === 0 ? 0 : column.ends[row - 1]!, column.ends[row]!, text);
    }
  }

  comma(): void {
    this.room(1);
    this.bytes[this.length++] = COMMA;
  }

  lineEnd(): void {
    this.room(2);
    this.bytes[this.length++] = CR;
    this.bytes[this.length++] = LF;
  }

  /** What has been written (the buffer is handed over: write nothing more). */
  take(): Uint8Array {
    return this.bytes.subarray(0, this.length);
  }

  private string(s: string, text: boolean): void {
    const n = s.length;
    // Stryker disable next-line ConditionalExpression: '' writes nothing either way (charCodeAt(0) is NaN: no guard)
    if (n === 0) return;
    const guarded = text && startsFormula(s.charCodeAt(0));
    // One pass: plain ASCII needing no quotes is copied as it is; anything else takes csvField's text.
    this.room(n + 1);
    const bytes = this.bytes;
    let at = this.length;
    if (guarded) bytes[at++] = APOSTROPHE;
    for (let i = 0; i < n; i++) {
      const code = s.charCodeAt(i);
      if (code >= 0x80 || code === QUOTE || code === COMMA || code === CR || code === LF) {
        return this.general(csvField(s, text));
      }
      bytes[at++] = code;
    }
    this.length = at;
  }

  private ascii(s: string): void {
    this.room(s.length);
    for (let i = 0; i < s.length; i++) this.bytes[this.length++] = s.charCodeAt(i);
  }

  private integer(value: number): void {
    this.room(17);
    const bytes = this.bytes;
    let at = this.length;
    if (value < 0) {
      bytes[at++] = 0x2d;
      value = -value;
    }
    // Stryker disable next-line ConditionalExpression,BlockStatement: the digit loop below writes a single digit alike
    if (value < 10) {
      bytes[at] = 0x30 + value;
      this.length = at + 1;
      return;
    }
    // Digits counted first, then written from the last: no reversal, no view of the buffer.
    let digits = 1;
    for (let rest = value; rest >= 10; rest = Math.floor(rest / 10)) digits++;
    let i = at + digits;
    this.length = i;
    do {
      bytes[--i] = 0x30 + (value % 10);
      value = Math.floor(value / 10);
    } while (value > 0);
  }

  /** k / 100 for a k that is not a multiple of 100: sign, whole part, point, one or two decimals. */
  private cents(k: number): void {
    // Stryker disable next-line EqualityOperator: k is never 0 (0 is a whole number, written by integer())
    if (k < 0) {
      this.room(1);
      this.bytes[this.length++] = 0x2d;
      k = -k;
    }
    this.integer(Math.floor(k / 100));
    const rest = k % 100;
    this.room(3);
    this.bytes[this.length++] = 0x2e;
    this.bytes[this.length++] = 0x30 + Math.floor(rest / 10);
    if (rest % 10 !== 0) this.bytes[this.length++] = 0x30 + (rest % 10);
  }

  private general(s: string): void {
    this.room(s.length * 3);
    this.length += this.encoder.encodeInto(s, this.bytes.subarray(this.length)).written;
  }

  private room(bytes: number): void {
    // Stryker disable next-line EqualityOperator: growing a buffer that is exactly big enough only costs a copy
    if (this.length + bytes <= this.bytes.length) return;
    // Stryker disable next-line ArithmeticOperator: doubling only keeps growth amortised; any room that fits is alike
    const grown = new Uint8Array(Math.max(this.bytes.length * 2, this.length + bytes));
    grown.set(this.bytes.subarray(0, this.length));
    this.bytes = grown;
  }
}

// CSV fields as the exports write them (RFC 4180 quoting, CRLF lines, a guard against spreadsheet
// formulas), as text (csvField) and written straight into UTF-8 bytes (CsvBytes), for exports large
// enough that building their text first costs more than the query: the bytes are the same either way.

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

const COMMA = 0x2c;
const QUOTE = 0x22;
const CR = 0x0d;
const LF = 0x0a;
const APOSTROPHE = 0x27;

/** Whether csvField guards text starting with this character code: = + - @ tab CR. */
function startsFormula(code: number): boolean {
  return code === 0x3d || code === 0x2b || code === 0x2d || code === 0x40 || code === 0x09 || code === CR;
}

/** CSV written as UTF-8 into a growing buffer: field by field, the bytes of csvField's text. */
export class CsvBytes {
  private bytes: Uint8Array;
  private length = 0;
  private readonly encoder = new TextEncoder();

  constructor(capacity = 64 * 1024) {
    this.bytes = new Uint8Array(Math.max(64, capacity));
  }

  /** The bytes of csvField(value, text). */
  field(value: unknown, text: boolean): void {
    if (value === null || value === undefined) return;
    if (typeof value === "number" && !text) {
      // Whole numbers as digits without making their text; String() writes these as plain digits.
      if (Number.isSafeInteger(value)) return this.integer(value);
      return this.ascii(String(value));
    }
    if (typeof value === "string") return this.string(value, text);
    this.general(csvField(value, text));
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
    if (value < 0) {
      this.bytes[this.length++] = 0x2d;
      value = -value;
    }
    const start = this.length;
    do {
      this.bytes[this.length++] = 0x30 + (value % 10);
      value = Math.floor(value / 10);
    } while (value > 0);
    this.bytes.subarray(start, this.length).reverse();
  }

  private general(s: string): void {
    this.room(s.length * 3);
    this.length += this.encoder.encodeInto(s, this.bytes.subarray(this.length)).written;
  }

  private room(bytes: number): void {
    if (this.length + bytes <= this.bytes.length) return;
    const grown = new Uint8Array(Math.max(this.bytes.length * 2, this.length + bytes));
    grown.set(this.bytes.subarray(0, this.length));
    this.bytes = grown;
  }
}

// Where each record of a CSV file starts: its physical line (1-based, counting every line break of the
// file, including those inside quoted fields), its number of fields and what is structurally wrong
// with it. DuckDB's CSV reader parses the values (src/cli/import.ts); it does not say on which line a
// row was, and the line numbers of its rejects count records, not lines. This scan runs only to name
// the lines of bad rows (and to read the header): one pass over the bytes, no values kept.
//
// The rules are RFC 4180's, as DuckDB applies them in strict mode with quote and escape '"': a quote
// opens a quoted field only at the start of a field; inside, "" is a quote and a lone " closes it; a
// line break outside quotes ends the record (\r\n or \n); empty lines are no records; a quote inside
// an unquoted field is a plain character.
import { createReadStream } from "node:fs";
import type { Readable } from "node:stream";
import { createGunzip } from "node:zlib";

const QUOTE = 0x22;
const LF = 0x0a;
const CR = 0x0d;
const BOM = [0xef, 0xbb, 0xbf];

export interface CsvRecord {
  /** The physical line the record starts on (1-based). */
  readonly line: number;
  readonly fields: number;
  /** What is wrong with its structure, if anything (the field count is checked by the caller). */
  readonly problem?: string;
  /** The unquoted field values, when asked for (the header). */
  readonly values?: string[];
}

/** The file's bytes, uncompressed when it ends in .gz (as DuckDB reads it). */
export function openBytes(path: string, options: { end?: number } = {}): Readable {
  const raw = createReadStream(path, options.end === undefined ? {} : { end: options.end });
  if (!path.toLowerCase().endsWith(".gz")) return raw;
  const gunzip = raw.pipe(createGunzip());
  // Stopping early (destroying the output) closes the file too.
  gunzip.once("close", () => raw.destroy());
  return gunzip;
}

/** An incremental scanner: feed it chunks, it calls `onRecord` for each record as it ends. */
export class CsvScanner {
  private line = 1;
  private recordLine = 1;
  private fields = 0;
  private inQuotes = false;
  private quotePending = false;
  private afterQuote = false;
  private fieldStart = true;
  private empty = true;
  private problem: string | undefined;
  /** How many bytes of a UTF-8 byte order mark the file has begun with; -1 once past the start. */
  private bom = 0;
  private values: string[] | undefined;
  private field: number[] | undefined;
  /** Whether the byte before was a CR (a line ending in CR LF), and how the first line ended. */
  private afterCr = false;
  private firstEnding: "CR LF" | "LF" | undefined;
  private mixedEndings = false;

  constructor(
    private readonly delimiter: number,
    private readonly onRecord: (record: CsvRecord) => boolean | void,
    /** Collect the field values of the first `capture` records (the header). */
    private capture = 0,
  ) {
    if (capture > 0) {
      this.values = [];
      this.field = [];
    }
  }

  /** Feeds bytes; false once `onRecord` asked to stop (returned false). */
  feed(chunk: Uint8Array): boolean {
    for (let i = 0; i < chunk.length; i++) {
      const b = chunk[i]!;
      if (this.bom >= 0) {
        // A UTF-8 byte order mark (EF BB BF) is not part of the first field.
        if (b === BOM[this.bom]) {
          if (++this.bom === BOM.length) this.bom = -1;
          continue;
        }
        const seen = this.bom;
        this.bom = -1;
        for (let k = 0; k < seen; k++) this.step(BOM[k]!);
      }
      if (!this.step(b)) return false;
    }
    return true;
  }

  private step(b: number): boolean {
    const afterCr = this.afterCr;
    this.afterCr = b === CR;
    if (this.quotePending) {
      this.quotePending = false;
      if (b === QUOTE) {
        this.field?.push(b);
        return true;
      }
      this.inQuotes = false;
      this.afterQuote = true;
    }
    if (this.inQuotes) {
      if (b === QUOTE) this.quotePending = true;
      else {
        if (b === LF) this.line++;
        this.field?.push(b);
      }
      return true;
    }
    if (b === this.delimiter) {
      this.fields++;
      this.empty = false;
      this.fieldStart = true;
      this.afterQuote = false;
      this.endField();
    } else if (b === LF) {
      // DuckDB's reader gives up on a file whose lines end both ways ("the CSV parser state machine
      // reached an invalid state"): the first line that differs is named, once.
      const ending = afterCr ? "CR LF" : "LF";
      this.firstEnding ??= ending;
      if (ending !== this.firstEnding && !this.mixedEndings && !this.empty) {
        this.mixedEndings = true;
        this.problem ??= `the line ends in ${ending} where the first ends in ${this.firstEnding}: the file mixes line endings (convert it, e.g. tr -d '\\r' < in.csv > out.csv)`;
      }
      if (this.endRecord() === false) return false;
      this.line++;
      this.recordLine = this.line;
    } else if (b === CR) {
      // Part of a \r\n line break.
    } else if (b === QUOTE && this.fieldStart) {
      this.inQuotes = true;
      this.fieldStart = false;
      this.empty = false;
    } else {
      if (this.afterQuote) this.problem ??= "unexpected text after a closing quote";
      this.fieldStart = false;
      this.empty = false;
      this.field?.push(b);
    }
    return true;
  }

  /** The end of the file: the last record, also without a final line break. */
  end(): void {
    if (this.bom > 0) {
      const seen = this.bom;
      this.bom = -1;
      for (let k = 0; k < seen; k++) this.step(BOM[k]!);
    }
    if (this.quotePending) {
      this.quotePending = false;
      this.inQuotes = false;
    }
    if (this.inQuotes) {
      this.problem = "a quoted field is not closed before the end of the file";
      this.empty = false;
    }
    this.endRecord();
  }

  private endField(): void {
    if (!this.field) return;
    this.values!.push(Buffer.from(this.field).toString("utf8"));
    this.field.length = 0;
  }

  private endRecord(): boolean | void {
    let result: boolean | void = true;
    if (!this.empty) {
      let values: string[] | undefined;
      if (this.field) {
        this.endField();
        values = this.values;
        if (--this.capture === 0) {
          this.values = undefined;
          this.field = undefined;
        } else this.values = [];
      }
      result = this.onRecord({ line: this.recordLine, fields: this.fields + 1, problem: this.problem, values });
    }
    this.fields = 0;
    this.fieldStart = true;
    this.afterQuote = false;
    this.empty = true;
    this.problem = undefined;
    if (this.field) this.field.length = 0;
    return result;
  }
}

/** Scans a whole file; `onRecord` returning false stops early. */
export async function scanCsv(
  path: string,
  delimiter: string,
  onRecord: (record: CsvRecord) => boolean | void,
  capture = 0,
): Promise<void> {
  const scanner = new CsvScanner(delimiter.charCodeAt(0), onRecord, capture);
  const stream = openBytes(path);
  try {
    for await (const chunk of stream) {
      if (!scanner.feed(chunk as Buffer)) return;
    }
    scanner.end();
  } finally {
    stream.destroy();
  }
}

/** The header: the first record's values (null for a file without any record). */
export async function readCsvHeader(path: string, delimiter: string): Promise<CsvRecord | null> {
  let header: CsvRecord | null = null;
  await scanCsv(
    path,
    delimiter,
    (record) => {
      header = record;
      return false;
    },
    1,
  );
  return header;
}

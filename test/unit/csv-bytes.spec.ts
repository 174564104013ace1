// CsvBytes (src/server/csv.ts) on its own, against text worked out by hand: numbers as String() writes
// them (whole numbers, amounts in cents, everything else), days as "YYYY-MM-DD" (leap days, century
// years, before 1970, the years 0 and 9999 and past them), the typed columns of a warehouse batch with
// their NULLs, and the buffer growing past its first 64 bytes; and that plain cells (whole numbers, cents,
// days of years 0-9999, text needing no quotes) are written without making their text, which is what the
// writer is for. csv-cells.spec.ts holds the text cells.
import { describe, expect, it, vi } from "vitest";
import type { BatchColumn } from "../../src/connectors/connector.ts";
import { csvField, CsvBytes } from "../../src/server/csv.ts";

const decode = (bytes: Uint8Array) => new TextDecoder().decode(bytes);
const encode = (text: string) => new TextEncoder().encode(text);

/** The text CsvBytes writes for `write` on a new writer (of the smallest capacity: 64 bytes). */
function written(write: (csv: CsvBytes) => void, capacity = 0): string {
  const csv = new CsvBytes(capacity);
  write(csv);
  return decode(csv.take());
}

describe("numbers", () => {
  const cases: [number, string][] = [
    [0, "0"],
    [7, "7"],
    [9, "9"],
    [10, "10"],
    [-7, "-7"],
    [-10, "-10"],
    [99, "99"],
    [100, "100"],
    [1_234_567_890, "1234567890"],
    [9_007_199_254_740_991, "9007199254740991"],
    [-9_007_199_254_740_991, "-9007199254740991"],
    // Amounts in cents: digits, a point, one or two decimals.
    [0.5, "0.5"],
    [0.05, "0.05"],
    [0.1, "0.1"],
    [1.5, "1.5"],
    [12.34, "12.34"],
    [10.01, "10.01"],
    [-0.05, "-0.05"],
    [-12.3, "-12.3"],
    [1_234_567.89, "1234567.89"],
    [9_999_999_999_999.99, "9999999999999.99"],
    // Anything else as String() writes it.
    [0.30000000000000004, "0.30000000000000004"],
    [1.005, "1.005"],
    [0.001, "0.001"],
    [-2.125, "-2.125"],
    [10_000_000_000_000.5, "10000000000000.5"],
    [-10_000_000_000_000.5, "-10000000000000.5"],
    [9_007_199_254_740_992, "9007199254740992"],
    [1e21, "1e+21"],
    [1e-7, "1e-7"],
    [Number.NaN, "NaN"],
    [Number.POSITIVE_INFINITY, "Infinity"],
    [Number.NEGATIVE_INFINITY, "-Infinity"],
  ];

  it.each(cases)("writes %d as %s", (value, text) => {
    expect(written((csv) => csv.number(value))).toBe(text);
    // field() of a number in a column that is not text is the same.
    expect(written((csv) => csv.field(value, false))).toBe(text);
  });

  it("writes whole numbers and amounts in cents without making their text", () => {
    // The byte writer exists to skip a JS string per field; only other numbers take String()'s text.
    const plain = [0, 7, -10, 9_007_199_254_740_991, 0.05, -12.3, 1_234_567.89, -9_999_999_999_999.99];
    const csv = new CsvBytes(0);
    const text = vi.spyOn(globalThis, "String");
    let calls: number[];
    try {
      for (const n of plain) {
        csv.number(n);
        csv.comma();
      }
      calls = [text.mock.calls.length];
      csv.number(1.005);
      calls.push(text.mock.calls.length);
    } finally {
      text.mockRestore();
    }
    expect(calls).toEqual([0, 1]);
    expect(decode(csv.take())).toBe("0,7,-10,9007199254740991,0.05,-12.3,1234567.89,-9999999999999.99,1.005");
  });

  it("guards a negative number in a text column, as csvField does", () => {
    expect(written((csv) => csv.field(-1.5, true))).toBe("'-1.5");
    expect(written((csv) => csv.field(12, true))).toBe("12");
  });

  it("writes one number after another without gaps", () => {
    expect(
      written((csv) => {
        for (const n of [5, -12, 0.25, 1e21, 100]) csv.number(n);
      }),
    ).toBe("5-120.251e+21100");
  });
});

describe("days", () => {
  const cases: [number, string][] = [
    [0, "1970-01-01"],
    [-1, "1969-12-31"],
    [10_956, "1999-12-31"],
    [11_016, "2000-02-29"],
    [11_017, "2000-03-01"],
    [11_323, "2001-01-01"],
    [-25_509, "1900-02-28"],
    [-25_508, "1900-03-01"],
    [47_540, "2100-02-28"],
    [47_541, "2100-03-01"],
    [20_088, "2024-12-31"],
    [4_096, "1981-03-20"],
    [-719_162, "0001-01-01"],
    [-719_528, "0000-01-01"],
    [-719_468, "0000-03-01"],
    [2_932_896, "9999-12-31"],
  ];

  it.each(cases)("writes day %d as %s", (days, text) => {
    expect(written((csv) => csv.day(days, false))).toBe(text);
    // Again, from the days written lately.
    expect(written((csv) => csv.day(days, true))).toBe(text);
  });

  it("tells apart days that share a slot of the cache (4,096 apart)", () => {
    expect(
      written((csv) => {
        for (const days of [1, 4_097, 1, -4_095, 8_193]) {
          csv.day(days, false);
          csv.comma();
        }
      }),
    ).toBe("1970-01-02,1981-03-21,1970-01-02,1958-10-16,1992-06-07,");
  });

  it("writes every day of a 400-year cycle and of the years 0 and 9999 as Date does, without Date", () => {
    // Date's text is the reference; the writer works these days out itself (the export's hot path), so
    // toISOString is not called while it writes them. Days of years 0–9999 never need the row path's Date.
    const span = (from: number, count: number) => Array.from({ length: count }, (_, i) => from + i);
    const days = [...span(11_017, 146_097), ...span(-719_528, 366), ...span(2_932_532, 365)];
    const expected = days.map((d) => `${new Date(d * 86_400_000).toISOString().slice(0, 10)},`).join("");
    const toISOString = vi.spyOn(Date.prototype, "toISOString");
    let text: string;
    let calls: number;
    try {
      text = written((csv) => {
        for (const d of days) {
          csv.day(d, true);
          csv.comma();
        }
      });
      calls = toISOString.mock.calls.length;
    } finally {
      toISOString.mockRestore();
    }
    expect(calls).toBe(0);
    expect(text).toBe(expected);
    expect(expected.slice(0, 11)).toBe("2000-03-01,");
    expect(expected.slice(-11)).toBe("9999-12-31,");
  });

  it("keeps a cached day when a day of the same slot falls outside 0-9999", () => {
    // -719,529 (year -1) shares its slot with 99,671, and 2,932,897 (year 10000) with 65,697.
    expect(
      written((csv) => {
        for (const days of [99_671, 65_697, -719_529, 2_932_897, 99_671, 65_697]) {
          csv.day(days, false);
          csv.comma();
        }
      }),
    ).toBe("2242-11-22,2149-11-15,-000001-12,+010000-01,2242-11-22,2149-11-15,");
  });

  it("writes years outside 0-9999 as the row path does (dayText: toISOString's first 10 characters)", () => {
    // toISOString writes these years with a sign and six digits; dayText keeps its first 10 characters.
    expect(written((csv) => csv.day(-719_529, false))).toBe("-000001-12");
    expect(written((csv) => csv.day(2_932_897, false))).toBe("+010000-01");
    // In a text column the sign is a formula start, guarded as every text cell.
    expect(written((csv) => csv.day(2_932_897, true))).toBe("'+010000-01");
    // Nothing of theirs is cached: the day of the same slot (-719,529 + 4,096 × 200) is still right.
    expect(written((csv) => csv.day(99_671, false))).toBe("2242-11-22");
  });
});

describe("text", () => {
  it("copies plain ASCII and guards formula starts: = + - @ tab CR", () => {
    expect(written((csv) => csv.field("plain text", true))).toBe("plain text");
    for (const start of ["=", "+", "-", "@", "\t"]) {
      expect(written((csv) => csv.field(`${start}x`, true))).toBe(`'${start}x`);
      expect(written((csv) => csv.field(`${start}x`, false))).toBe(`${start}x`);
      expect(written((csv) => csv.utf8(encode(`${start}x`), 0, 2, true))).toBe(`'${start}x`);
      expect(written((csv) => csv.utf8(encode(`${start}x`), 0, 2, false))).toBe(`${start}x`);
    }
    expect(written((csv) => csv.field("\rx", true))).toBe('"\'\rx"');
    expect(written((csv) => csv.utf8(encode("\rx"), 0, 2, true))).toBe('"\'\rx"');
    // Characters next to the formula starts are not guarded.
    for (const plain of ["<", ">", "?", "A", "*", ",x", "\n", " ", "'"]) {
      expect(written((csv) => csv.field(`${plain}y`, true))).toBe(csvField(`${plain}y`, false));
    }
  });

  it("quotes a field with a quote, a comma, a CR or an LF anywhere, from a string or from UTF-8 bytes", () => {
    const cases: [string, string][] = [
      ['a"b', '"a""b"'],
      ["a,b", '"a,b"'],
      ["a\rb", '"a\rb"'],
      ["a\nb", '"a\nb"'],
      ["ab,", '"ab,"'],
      ["ab\n", '"ab\n"'],
      ["=a,b", '"\'=a,b"'],
    ];
    for (const [cell, field] of cases) {
      expect(
        written((csv) => csv.field(cell, true)),
        cell,
      ).toBe(field);
      expect(
        written((csv) => csv.utf8(encode(cell), 0, encode(cell).length, true)),
        cell,
      ).toBe(field);
    }
  });

  it("writes non-ASCII text as UTF-8, guarded and quoted alike", () => {
    expect(written((csv) => csv.field("café", true))).toBe("café");
    expect(written((csv) => csv.field("=café", true))).toBe("'=café");
    expect(written((csv) => csv.field("日本,語", true))).toBe('"日本,語"');
    expect(written((csv) => csv.field("\u0080", true))).toBe("\u0080");
    expect(written((csv) => csv.field("\u007f", true))).toBe("\u007f");
    expect(written((csv) => csv.utf8(encode("=日本"), 0, encode("=日本").length, true))).toBe("'=日本");
  });

  it("copies plain cells without making their text: no TextEncoder, no TextDecoder", () => {
    // The byte writer exists to skip a JS string per field; only a cell needing quotes, or a JS string
    // with non-ASCII characters, goes through csvField's text.
    // The range "ab" is followed by a comma that is not its own.
    const bytes = encode("ab,=cd");
    const plain = new CsvBytes(0);
    const quoted = new CsvBytes(0);
    const encodeInto = vi.spyOn(TextEncoder.prototype, "encodeInto");
    const decodeCall = vi.spyOn(TextDecoder.prototype, "decode");
    const calls = () => [encodeInto.mock.calls.length, decodeCall.mock.calls.length];
    let plainCalls: number[];
    let quotedCalls: number[];
    try {
      for (const value of ["plain", "=x", null, undefined, "\u007f"]) {
        plain.field(value, true);
        plain.field(value, false);
      }
      // (A number in a text column takes csvField's text, for its guard.)
      plain.field(12, false);
      plain.utf8(bytes, 0, 2, true);
      plain.utf8(bytes, 3, 6, true);
      plain.utf8(bytes, 3, 6, false);
      plainCalls = calls();
      // The spies do see the text path.
      quoted.field("a,b", true);
      quoted.utf8(bytes, 1, 3, true);
      quotedCalls = calls();
    } finally {
      encodeInto.mockRestore();
      decodeCall.mockRestore();
    }
    expect(plainCalls).toEqual([0, 0]);
    expect(quotedCalls).toEqual([2, 1]);
    expect(decode(plain.take())).toBe("plainplain'=x=x\u007f\u007f12ab'=cd=cd");
    expect(decode(quoted.take())).toBe('"a,b""b,"');
  });

  it("writes nothing for an empty string or an empty range", () => {
    expect(written((csv) => csv.field("", true))).toBe("");
    expect(written((csv) => csv.utf8(encode("abc"), 1, 1, true))).toBe("");
    // Not even the guard of the byte the empty range starts at.
    expect(written((csv) => csv.utf8(encode("a=b"), 1, 1, true))).toBe("");
  });

  it("takes the UTF-8 range it is given, not the bytes around it", () => {
    const bytes = encode('x,"=ab"cd');
    // '=ab' alone: guarded, not quoted for the comma or quotes outside it.
    expect(written((csv) => csv.utf8(bytes, 3, 6, true))).toBe("'=ab");
    expect(written((csv) => csv.utf8(bytes, 4, 8, true))).toBe('"ab""c"');
  });

  it("writes other values as their String(), guarded in a text column, and nothing for null and undefined", () => {
    expect(written((csv) => csv.field(null, true))).toBe("");
    expect(written((csv) => csv.field(undefined, false))).toBe("");
    expect(written((csv) => csv.field(true, false))).toBe("true");
    expect(written((csv) => csv.field(12n, false))).toBe("12");
    expect(written((csv) => csv.field(-12n, true))).toBe("'-12");
    expect(written((csv) => csv.field(["a", "b"], true))).toBe('"a,b"');
  });
});

describe("lines and the buffer", () => {
  it("writes commas and CRLF line ends", () => {
    expect(
      written((csv) => {
        csv.field("a", true);
        csv.comma();
        csv.number(1);
        csv.lineEnd();
        csv.comma();
        csv.lineEnd();
      }),
    ).toBe("a,1\r\n,\r\n");
  });

  it("grows past its first 64 bytes, by whatever a field needs, keeping what it holds", () => {
    const long = "x".repeat(1_000);
    const parts = [
      (csv: CsvBytes) => csv.field(long, true),
      (csv: CsvBytes) => csv.field(`${long},`, true),
      (csv: CsvBytes) => csv.utf8(encode(long), 0, 1_000, true),
      (csv: CsvBytes) => csv.utf8(encode(`=${long}`), 0, 1_001, true),
      (csv: CsvBytes) => csv.field(`é${long}`, true),
      (csv: CsvBytes) => csv.number(1e21),
      (csv: CsvBytes) => csv.number(-9_007_199_254_740_991),
      (csv: CsvBytes) => csv.number(-1_234_567_890_123.45),
      (csv: CsvBytes) => csv.day(11_016, false),
      (csv: CsvBytes) => csv.comma(),
      (csv: CsvBytes) => csv.lineEnd(),
    ];
    const texts = [
      long,
      `"${long},"`,
      long,
      `'=${long}`,
      `é${long}`,
      "1e+21",
      "-9007199254740991",
      "-1234567890123.45",
      "2000-02-29",
      ",",
      "\r\n",
    ];
    // Each part alone, written after 63, 62, … bytes of padding so that it crosses the first 64.
    parts.forEach((part, i) => {
      for (let pad = 40; pad <= 64; pad++) {
        const text = written((csv) => {
          csv.field("p".repeat(pad), true);
          part(csv);
          csv.field("z", true);
        });
        expect(text, `part ${i} after ${pad}`).toBe(`${"p".repeat(pad)}${texts[i]}z`);
      }
    });
    // All of them, one after another.
    expect(written((csv) => parts.forEach((part) => part(csv)), 64)).toBe(texts.join(""));
    expect(written((csv) => parts.forEach((part) => part(csv)), 1 << 20)).toBe(texts.join(""));
  });

  it("takes only what was written", () => {
    const csv = new CsvBytes(1_024);
    csv.field("ab", true);
    expect(csv.take()).toEqual(encode("ab"));
  });
});

describe("batch columns", () => {
  /** valid bits for these rows being not NULL. */
  const validOf = (nulls: readonly boolean[]) => {
    const valid = new Uint8Array(Math.ceil(nulls.length / 8));
    nulls.forEach((isNull, i) => {
      if (!isNull) valid[i >> 3]! |= 1 << (i & 7);
    });
    return valid;
  };

  function rows(column: BatchColumn, count: number, text: boolean): string[] {
    return Array.from({ length: count }, (_, row) => written((csv) => csv.column(column, row, text)));
  }

  it("writes JS values as field() does", () => {
    const column: BatchColumn = { kind: "values", values: ["=a", null, 2.5, "b,c"] };
    expect(rows(column, 4, true)).toEqual(["'=a", "", "2.5", '"b,c"']);
    expect(rows(column, 4, false)).toEqual(["=a", "", "2.5", '"b,c"']);
  });

  it("writes numbers, with their NULLs, guarded only in a text column", () => {
    const values = new Float64Array([1, -2.5, 0, 3, 1e21, 7, 8, 9, -10]);
    const nulls = [false, false, true, false, false, false, false, false, true];
    const column: BatchColumn = { kind: "numbers", values, valid: validOf(nulls) };
    expect(rows(column, 9, false)).toEqual(["1", "-2.5", "", "3", "1e+21", "7", "8", "9", ""]);
    expect(rows(column, 9, true)).toEqual(["1", "'-2.5", "", "3", "1e+21", "7", "8", "9", ""]);
    expect(rows({ kind: "numbers", values, valid: null }, 9, false)[8]).toBe("-10");
  });

  it("writes days, with their NULLs", () => {
    const days = new Int32Array([0, 11_016, -1, 0, 0, 0, 0, 0, 20_088]);
    const nulls = [false, false, false, true, false, false, false, false, false];
    const column: BatchColumn = { kind: "days", days, valid: validOf(nulls) };
    const expected = [
      "1970-01-01",
      "2000-02-29",
      "1969-12-31",
      "",
      "1970-01-01",
      "1970-01-01",
      "1970-01-01",
      "1970-01-01",
      "2024-12-31",
    ];
    expect(rows(column, 9, false)).toEqual(expected);
    expect(rows({ kind: "days", days, valid: null }, 9, false)[3]).toBe("1970-01-01");
  });

  it("writes UTF-8 text by its ends, with its NULLs", () => {
    const cells = ["=a", "", "b,c", "x", "", "", "", "", "日本"];
    const nulls = [false, false, false, true, false, false, false, false, false];
    const parts = cells.map((c, i) => (nulls[i] ? new Uint8Array() : encode(c)));
    const ends = new Uint32Array(parts.length);
    let total = 0;
    parts.forEach((p, i) => {
      total += p.length;
      ends[i] = total;
    });
    const bytes = new Uint8Array(total);
    parts.forEach((p, i) => bytes.set(p, i === 0 ? 0 : ends[i - 1]!));
    const column: BatchColumn = { kind: "utf8", bytes, ends, valid: validOf(nulls) };
    expect(rows(column, 9, true)).toEqual(["'=a", "", '"b,c"', "", "", "", "", "", "日本"]);
    expect(rows(column, 9, false)).toEqual(["=a", "", '"b,c"', "", "", "", "", "", "日本"]);
  });
});

// Reading a DuckDB result by column: each data chunk's vectors are read straight from DuckDB's memory
// (typed-array views over the vector data, the validity bitmask tested bit by bit) into one JS array per
// column. @duckdb/node-api's own readers make objects per value (a BigInt per validity test, a
// DuckDBDateValue per date, an object per row), which cost more than the query at a million rows.
// The values are those the row objects give after DuckDBConnector's normalisation: numbers as JS numbers,
// dates as "YYYY-MM-DD", null for NULL; types not read here directly go through node-api's converter.
import { DuckDBTypeId, JSDuckDBValueConverter, type DuckDBDataChunk, type DuckDBType } from "@duckdb/node-api";
import duckdb from "@duckdb/node-bindings";

/** Appends the values of column `column` of `chunk` to `into`. */
export type ColumnReader = (chunk: DuckDBDataChunk, column: number, into: unknown[]) => void;

const DAY_MS = 86_400_000;
const TWO_32 = 4_294_967_296;
const decoder = new TextDecoder();

/** The reader of a column of this type; `other` finishes a value of a type not read here directly. */
export function columnReader(type: DuckDBType, other: (value: unknown) => unknown): ColumnReader {
  switch (type.typeId) {
    case DuckDBTypeId.VARCHAR:
      return readStrings;
    case DuckDBTypeId.DOUBLE:
      return numbers(Float64Array);
    case DuckDBTypeId.FLOAT:
      return numbers(Float32Array);
    case DuckDBTypeId.INTEGER:
      return numbers(Int32Array);
    case DuckDBTypeId.UINTEGER:
      return numbers(Uint32Array);
    case DuckDBTypeId.SMALLINT:
      return numbers(Int16Array);
    case DuckDBTypeId.USMALLINT:
      return numbers(Uint16Array);
    case DuckDBTypeId.TINYINT:
      return numbers(Int8Array);
    case DuckDBTypeId.UTINYINT:
      return numbers(Uint8Array);
    case DuckDBTypeId.BIGINT:
      return readInt64(true);
    case DuckDBTypeId.UBIGINT:
      return readInt64(false);
    case DuckDBTypeId.DATE:
      return readDates(dayTexts());
    case DuckDBTypeId.BOOLEAN:
      return (chunk, column, into) => {
        const { data, valid, rows } = raw(chunk, column, 1);
        for (let i = 0; i < rows; i++) into.push(isValid(valid, i) ? data[i] !== 0 : null);
      };
    default:
      return (chunk, column, into) => {
        for (const value of chunk.convertColumnValues(column, JSDuckDBValueConverter))
          into.push(value === null ? null : other(value));
      };
  }
}

/** A vector's data (`width` bytes per row) and validity mask (null: every row valid). */
function raw(chunk: DuckDBDataChunk, column: number, width: number) {
  const rows = chunk.rowCount;
  const vector = duckdb.data_chunk_get_vector(chunk.chunk, column);
  const data = duckdb.vector_get_data(vector, rows * width);
  // The mask is 64-bit words, little-endian on every platform DuckDB ships for: bit i is byte i >> 3's bit i & 7.
  const valid = (duckdb.vector_get_validity(vector, Math.ceil(rows / 64) * 8) as Uint8Array | null) ?? null;
  return { data, valid, rows };
}

function isValid(valid: Uint8Array | null, i: number): boolean {
  return valid === null || (valid[i >> 3]! & (1 << (i & 7))) !== 0;
}

type NumberArray = ArrayLike<number>;

function numbers(
  View: new (
    buffer: ArrayBufferLike,
    byteOffset: number,
    length: number,
  ) => NumberArray & {
    readonly BYTES_PER_ELEMENT: number;
  },
): ColumnReader {
  const width = (View as unknown as { BYTES_PER_ELEMENT: number }).BYTES_PER_ELEMENT;
  return (chunk, column, into) => {
    const { data, valid, rows } = raw(chunk, column, width);
    const values = new View(data.buffer, data.byteOffset, rows);
    for (let i = 0; i < rows; i++) into.push(isValid(valid, i) ? values[i]! : null);
  };
}

/**
 * 64-bit integers as the nearest double, as Number(bigint) gives: the high word times 2^32 is exact,
 * and the one rounding is the addition's.
 */
function readInt64(signed: boolean): ColumnReader {
  return (chunk, column, into) => {
    const { data, valid, rows } = raw(chunk, column, 8);
    const low = new Uint32Array(data.buffer, data.byteOffset, rows * 2);
    const high = signed ? new Int32Array(data.buffer, data.byteOffset, rows * 2) : low;
    for (let i = 0; i < rows; i++) into.push(isValid(valid, i) ? high[2 * i + 1]! * TWO_32 + low[2 * i]! : null);
  };
}

/** "YYYY-MM-DD" of a DATE's day number, as the row objects' Date gives it; remembered, a result repeats few days. */
function dayTexts(): (days: number) => string {
  const known = new Map<number, string>();
  return (days) => {
    let text = known.get(days);
    if (text === undefined) {
      text = new Date(days * DAY_MS).toISOString().slice(0, 10);
      if (known.size < 100_000) known.set(days, text);
    }
    return text;
  };
}

function readDates(dayText: (days: number) => string): ColumnReader {
  return (chunk, column, into) => {
    const { data, valid, rows } = raw(chunk, column, 4);
    const days = new Int32Array(data.buffer, data.byteOffset, rows);
    for (let i = 0; i < rows; i++) into.push(isValid(valid, i) ? dayText(days[i]!) : null);
  };
}

/**
 * VARCHAR: 16 bytes a row, the length first; up to 12 bytes inline after it, longer ones behind a
 * pointer in the last 8.
 */
const readStrings: ColumnReader = (chunk, column, into) => {
  const { data, valid, rows } = raw(chunk, column, 16);
  const words = new Uint32Array(data.buffer, data.byteOffset, rows * 4);
  for (let i = 0; i < rows; i++) {
    if (!isValid(valid, i)) {
      into.push(null);
      continue;
    }
    const length = words[i * 4]!;
    const start = i * 16 + 4;
    if (length > 12) {
      const pointed = duckdb.get_data_from_pointer(data.buffer as ArrayBuffer, data.byteOffset + i * 16 + 8, length);
      into.push(decoder.decode(pointed));
      continue;
    }
    into.push(inlineText(data, start, length));
  }
};

/**
 * A string of up to 12 inline bytes: ASCII made from its char codes in one call (no TextDecoder call,
 * no interim strings). No closure here: tsx names every function it creates, a cost per value.
 */
function inlineText(d: Uint8Array, i: number, length: number): string {
  let high = 0;
  for (let k = 0; k < length; k++) high |= d[i + k]!;
  if (high >= 0x80) return decoder.decode(d.subarray(i, i + length));
  const f = String.fromCharCode;
  switch (length) {
    case 0:
      return "";
    case 1:
      return f(d[i]!);
    case 2:
      return f(d[i]!, d[i + 1]!);
    case 3:
      return f(d[i]!, d[i + 1]!, d[i + 2]!);
    case 4:
      return f(d[i]!, d[i + 1]!, d[i + 2]!, d[i + 3]!);
    case 5:
      return f(d[i]!, d[i + 1]!, d[i + 2]!, d[i + 3]!, d[i + 4]!);
    case 6:
      return f(d[i]!, d[i + 1]!, d[i + 2]!, d[i + 3]!, d[i + 4]!, d[i + 5]!);
    case 7:
      return f(d[i]!, d[i + 1]!, d[i + 2]!, d[i + 3]!, d[i + 4]!, d[i + 5]!, d[i + 6]!);
    case 8:
      return f(d[i]!, d[i + 1]!, d[i + 2]!, d[i + 3]!, d[i + 4]!, d[i + 5]!, d[i + 6]!, d[i + 7]!);
    case 9:
      return f(d[i]!, d[i + 1]!, d[i + 2]!, d[i + 3]!, d[i + 4]!, d[i + 5]!, d[i + 6]!, d[i + 7]!, d[i + 8]!);
    case 10:
      return f(
        d[i]!,
        d[i + 1]!,
        d[i + 2]!,
        d[i + 3]!,
        d[i + 4]!,
        d[i + 5]!,
        d[i + 6]!,
        d[i + 7]!,
        d[i + 8]!,
        d[i + 9]!,
      );
    case 11:
      return f(
        d[i]!,
        d[i + 1]!,
        d[i + 2]!,
        d[i + 3]!,
        d[i + 4]!,
        d[i + 5]!,
        d[i + 6]!,
        d[i + 7]!,
        d[i + 8]!,
        d[i + 9]!,
        d[i + 10]!,
      );
    default:
      return f(
        d[i]!,
        d[i + 1]!,
        d[i + 2]!,
        d[i + 3]!,
        d[i + 4]!,
        d[i + 5]!,
        d[i + 6]!,
        d[i + 7]!,
        d[i + 8]!,
        d[i + 9]!,
        d[i + 10]!,
        d[i + 11]!,
      );
  }
}

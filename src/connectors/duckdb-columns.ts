// Reading a DuckDB result by column: each data chunk's vectors are copied straight out of DuckDB's
// memory into typed arrays (numbers, days, UTF-8 text with their validity masks), so an export formats
// them without a JS value per field. @duckdb/node-api's own readers make objects per value (a BigInt
// per validity test, a DuckDBDateValue per date, an object per row), which cost more than the query at
// a million rows. The values are those the row objects give after DuckDBConnector's normalisation
// (see columnValue); types not read here directly go through node-api's converter as JS values.
import { DuckDBTypeId, JSDuckDBValueConverter, type DuckDBDataChunk, type DuckDBType } from "@duckdb/node-api";
import duckdb from "@duckdb/node-bindings";
import { isValidRow, type BatchColumn } from "./connector.ts";

/** Column `column` of `chunk` as a batch column. */
export type ColumnReader = (chunk: DuckDBDataChunk, column: number) => BatchColumn;

const TWO_32 = 4_294_967_296;

/** The reader of a column of this type; `other` finishes a value of a type not read here directly. */
export function columnReader(type: DuckDBType, other: (value: unknown) => unknown): ColumnReader {
  switch (type.typeId) {
    case DuckDBTypeId.VARCHAR:
      return readText;
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
      return (chunk, column) => {
        const { data, valid, rows } = raw(chunk, column, 4);
        return { kind: "days", days: new Int32Array(data.buffer, data.byteOffset, rows).slice(), valid };
      };
    case DuckDBTypeId.BOOLEAN:
      return (chunk, column) => {
        const { data, valid, rows } = raw(chunk, column, 1);
        const values: (boolean | null)[] = [];
        for (let i = 0; i < rows; i++) values.push(isValidRow(valid, i) ? data[i] !== 0 : null);
        return { kind: "values", values };
      };
    default:
      return (chunk, column) => ({
        kind: "values",
        values: chunk
          .convertColumnValues(column, JSDuckDBValueConverter)
          .map((value) => (value === null ? null : other(value))),
      });
  }
}

/**
 * A vector's data (`width` bytes per row, a view of DuckDB's memory, valid while the chunk is) and a copy
 * of its validity mask (null: every row valid).
 */
function raw(chunk: DuckDBDataChunk, column: number, width: number) {
  const rows = chunk.rowCount;
  const vector = duckdb.data_chunk_get_vector(chunk.chunk, column);
  const data = duckdb.vector_get_data(vector, rows * width);
  // The mask is 64-bit words, little-endian on every platform DuckDB ships for: bit i is byte i >> 3's
  // bit i & 7, as BatchColumn's `valid` is.
  const mask = duckdb.vector_get_validity(vector, Math.ceil(rows / 64) * 8) as Uint8Array | null;
  return { data, valid: mask ? mask.slice() : null, rows };
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
  return (chunk, column) => {
    const { data, valid, rows } = raw(chunk, column, width);
    const values = Float64Array.from(new View(data.buffer, data.byteOffset, rows));
    return { kind: "numbers", values, valid };
  };
}

/**
 * 64-bit integers as the nearest double, as Number(bigint) gives: the high word times 2^32 is exact,
 * and the one rounding is the addition's.
 */
function readInt64(signed: boolean): ColumnReader {
  return (chunk, column) => {
    const { data, valid, rows } = raw(chunk, column, 8);
    const low = new Uint32Array(data.buffer, data.byteOffset, rows * 2);
    const high = signed ? new Int32Array(data.buffer, data.byteOffset, rows * 2) : low;
    const values = new Float64Array(rows);
    for (let i = 0; i < rows; i++) values[i] = high[2 * i + 1]! * TWO_32 + low[2 * i]!;
    return { kind: "numbers", values, valid };
  };
}

/**
 * VARCHAR: 16 bytes a row, the length first; up to 12 bytes inline after it, longer ones behind a
 * pointer in the last 8. The rows' bytes are copied end to end (DuckDB's text is UTF-8 already).
 */
const readText: ColumnReader = (chunk, column) => {
  const { data, valid, rows } = raw(chunk, column, 16);
  const words = new Uint32Array(data.buffer, data.byteOffset, rows * 4);
  let total = 0;
  for (let i = 0; i < rows; i++) if (isValidRow(valid, i)) total += words[i * 4]!;
  const bytes = new Uint8Array(total);
  const ends = new Uint32Array(rows);
  let at = 0;
  for (let i = 0; i < rows; i++) {
    if (isValidRow(valid, i)) {
      const length = words[i * 4]!;
      if (length > 12) {
        bytes.set(duckdb.get_data_from_pointer(data.buffer as ArrayBuffer, data.byteOffset + i * 16 + 8, length), at);
      } else {
        const start = i * 16 + 4;
        for (let k = 0; k < length; k++) bytes[at + k] = data[start + k]!;
      }
      at += length;
    }
    ends[i] = at;
  }
  return { kind: "utf8", bytes, ends, valid };
};

// ZetaSQL, Google's reference implementation of BigQuery's SQL dialect, as a local gRPC service for
// tests: analyze the texts the BigQuery connector sends and evaluate them over in-memory tables.
// The service is the `local_service` binary shipped (Linux x86-64 only) by @fivetrandevelopers/zetasql;
// this helper starts it on a free loopback port and talks to it with grpc-js over the package's protos.
import { spawn, type ChildProcess } from "node:child_process";
import { accessSync, constants } from "node:fs";
import { createRequire } from "node:module";
import { createServer } from "node:net";
import { dirname, join } from "node:path";
import * as grpc from "@grpc/grpc-js";
import * as protoLoader from "@grpc/proto-loader";
import { describe } from "vitest";
import type { AnalyzerOptionsProto } from "@fivetrandevelopers/zetasql/lib/types/zetasql/AnalyzerOptionsProto.js";
import type { LanguageOptionsProto } from "@fivetrandevelopers/zetasql/lib/types/zetasql/LanguageOptionsProto.js";
import type { SimpleCatalogProto } from "@fivetrandevelopers/zetasql/lib/types/zetasql/SimpleCatalogProto.js";
import type { SimpleTableProto } from "@fivetrandevelopers/zetasql/lib/types/zetasql/SimpleTableProto.js";
import type { TypeProto } from "@fivetrandevelopers/zetasql/lib/types/zetasql/TypeProto.js";
import type { ValueProto } from "@fivetrandevelopers/zetasql/lib/types/zetasql/ValueProto.js";
import type { TableContent } from "@fivetrandevelopers/zetasql/lib/types/zetasql/local_service/TableContent.js";
import { BigQueryConnector } from "../../src/connectors/bigquery.ts";
import {
  LOGICAL_TABLES,
  WAREHOUSE_CONTRACT,
  columnsOf,
  type ColumnType,
  type LogicalTable,
  type WarehouseMapping,
} from "../../src/sql/contract.ts";
import type { Sql } from "../../src/sql/sql.ts";
import type { FakeCell, FakeField } from "./fake-bigquery.ts";

const PACKAGE_DIR = dirname(createRequire(import.meta.url).resolve("@fivetrandevelopers/zetasql/package.json"));
export const ZETASQL_BINARY = join(PACKAGE_DIR, "lib", "zetasql", "remote_server.so");
const PROTO_DIR = join(PACKAGE_DIR, "lib", "zetasql", "protos");

const onLinuxX64 = process.platform === "linux" && process.arch === "x64";

/**
 * Why the ZetaSQL suites cannot run here, or undefined when they must. Only Linux x86-64 has the
 * binary; under CI=true on Linux x86-64 nothing is an excuse, so a missing binary fails the suite.
 */
export function zetaSqlSkipReason(): string | undefined {
  if (!onLinuxX64) {
    return `ZetaSQL's local service ships for Linux x86-64 only (this is ${process.platform}-${process.arch})`;
  }
  if (process.env.CI === "true") return undefined;
  try {
    accessSync(ZETASQL_BINARY, constants.X_OK);
    return undefined;
  } catch {
    return `no executable ZetaSQL service at ${ZETASQL_BINARY} (run npm ci)`;
  }
}

// ZetaSQL's evaluator is a reference, not an engine, and CPU-bound: with CI's other test file busy on the
// second core its requests run several times slower than alone, too close to the suite's 30 s default.
const ZETASQL_TEST_TIMEOUT_MS = 120_000;

/** `describe`, skipped with the reason in its title where ZetaSQL cannot run; its tests get ZetaSQL's timeout. */
export function describeZetaSql(name: string, body: () => void): void {
  const reason = zetaSqlSkipReason();
  if (reason) describe.skip(`${name} (skipped: ${reason})`, body);
  else describe(name, { timeout: ZETASQL_TEST_TIMEOUT_MS }, body);
}

// ---------------------------------------------------------------------------------------------
// Types and values: BigQuery's names, ZetaSQL's protos, JS values.

/** The type names BigQuery's REST API and the connector use, plus ARRAY<…>. */
export type BigQueryType =
  | "STRING"
  | "INT64"
  | "FLOAT64"
  | "BOOL"
  | "DATE"
  | "TIMESTAMP"
  | "NUMERIC"
  | `ARRAY<${string}>`;

const SIMPLE_KINDS = {
  STRING: "TYPE_STRING",
  INT64: "TYPE_INT64",
  FLOAT64: "TYPE_DOUBLE",
  BOOL: "TYPE_BOOL",
  DATE: "TYPE_DATE",
  TIMESTAMP: "TYPE_TIMESTAMP",
  NUMERIC: "TYPE_NUMERIC",
  BIGNUMERIC: "TYPE_BIGNUMERIC",
  BYTES: "TYPE_BYTES",
  DATETIME: "TYPE_DATETIME",
  TIME: "TYPE_TIME",
  JSON: "TYPE_JSON",
  INTERVAL: "TYPE_INTERVAL",
} as const;

export function typeProto(type: BigQueryType): TypeProto {
  const array = /^ARRAY<(.+)>$/.exec(type);
  if (array) return { typeKind: "TYPE_ARRAY", arrayType: { elementType: typeProto(array[1] as BigQueryType) } };
  const kind = SIMPLE_KINDS[type as keyof typeof SIMPLE_KINDS];
  if (!kind) throw new Error(`no ZetaSQL type for ${type}`);
  return { typeKind: kind };
}

/** A type as the service answers it (enums as names), e.g. from an analyzed output column. */
export interface TypeOutput {
  typeKind: string;
  arrayType?: { elementType: TypeOutput };
  structType?: { field: { fieldName: string; fieldType: TypeOutput }[] };
}

/** BigQuery's name of a type the service answers: TYPE_DOUBLE is FLOAT64, arrays ARRAY<…>. */
export function bigQueryTypeName(type: TypeOutput): string {
  if (type.typeKind === "TYPE_ARRAY") return `ARRAY<${bigQueryTypeName(type.arrayType!.elementType)}>`;
  if (type.typeKind === "TYPE_STRUCT") {
    return `STRUCT<${type.structType!.field.map((f) => `${f.fieldName} ${bigQueryTypeName(f.fieldType)}`).join(", ")}>`;
  }
  const name = Object.entries(SIMPLE_KINDS).find(([, kind]) => kind === type.typeKind)?.[0];
  return name ?? type.typeKind;
}

const NUMERIC_SCALE = 9;

/** NUMERIC on the wire: little-endian two's complement of value × 10⁹, in the fewest bytes. */
export function numericBytes(decimal: string): Buffer {
  const match = /^(-?)(\d+)(?:\.(\d{0,9}))?$/.exec(decimal);
  if (!match) throw new Error(`not a NUMERIC literal (at most 9 decimals): ${decimal}`);
  const [, sign, whole, fraction = ""] = match;
  let value = BigInt(whole! + fraction.padEnd(NUMERIC_SCALE, "0"));
  if (sign) value = -value;
  const bytes: number[] = [];
  for (;;) {
    const byte = Number(BigInt.asUintN(8, value));
    bytes.push(byte);
    value >>= 8n;
    const signBit = (byte & 0x80) !== 0;
    if ((value === 0n && !signBit) || (value === -1n && signBit)) return Buffer.from(bytes);
  }
}

/** The decimal text of NUMERIC bytes, without trailing zeros ("10.5", "-1", "0"). */
export function numericText(bytes: Uint8Array): string {
  let value = 0n;
  for (let i = bytes.length - 1; i >= 0; i--) value = (value << 8n) | BigInt(bytes[i]!);
  if (bytes.length > 0 && (bytes[bytes.length - 1]! & 0x80) !== 0) value -= 1n << BigInt(8 * bytes.length);
  const negative = value < 0n;
  const digits = (negative ? -value : value).toString().padStart(NUMERIC_SCALE + 1, "0");
  const whole = digits.slice(0, -NUMERIC_SCALE);
  const fraction = digits.slice(-NUMERIC_SCALE).replace(/0+$/, "");
  return `${negative ? "-" : ""}${whole}${fraction ? `.${fraction}` : ""}`;
}

const DAY_MS = 86_400_000;

function timestampMs(value: unknown): number {
  const ms = value instanceof Date ? value.getTime() : typeof value === "number" ? value : Date.parse(String(value));
  if (!Number.isFinite(ms)) throw new Error(`not a timestamp: ${String(value)}`);
  return ms;
}

/**
 * A JS value as a ZetaSQL value of a type. NULL is the empty ValueProto. STRING: text; INT64: a
 * number, bigint or digits; FLOAT64: a number; NUMERIC: decimal text or a number; DATE: "YYYY-MM-DD"
 * (days since 1970-01-01 on the wire); TIMESTAMP: a Date, ISO text or epoch ms (seconds + nanos).
 */
export function valueProto(type: BigQueryType, value: unknown): ValueProto {
  if (value === null || value === undefined) return {};
  const array = /^ARRAY<(.+)>$/.exec(type);
  if (array) {
    if (!Array.isArray(value)) throw new Error(`${type} needs an array, not ${String(value)}`);
    return { arrayValue: { element: value.map((v) => valueProto(array[1] as BigQueryType, v)) } };
  }
  switch (type) {
    case "STRING":
      return { stringValue: String(value) };
    case "INT64":
      return { int64Value: String(value) };
    case "FLOAT64":
      return { doubleValue: Number(value) };
    case "BOOL":
      // The REST API sends parameter values as text.
      return { boolValue: value === true || value === "true" };
    case "NUMERIC":
      return { numericValue: numericBytes(String(value)) };
    case "DATE": {
      const ms = Date.parse(`${String(value)}T00:00:00Z`);
      if (!/^\d{4}-\d{2}-\d{2}$/.test(String(value)) || !Number.isFinite(ms)) throw new Error(`not a DATE: ${value}`);
      return { dateValue: Math.round(ms / DAY_MS) };
    }
    case "TIMESTAMP": {
      const ms = timestampMs(value);
      return { timestampValue: { seconds: String(Math.floor(ms / 1000)), nanos: (((ms % 1000) + 1000) % 1000) * 1e6 } };
    }
  }
  throw new Error(`no encoding for ${type}`);
}

/** A value as the service answers it (longs as decimal strings, bytes as Buffers). */
interface ValueOutput {
  int64Value?: string;
  boolValue?: boolean;
  doubleValue?: number;
  stringValue?: string;
  dateValue?: number;
  numericValue?: Buffer;
  timestampValue?: { seconds: string; nanos?: number };
  arrayValue?: { element?: ValueOutput[] };
  structValue?: { field?: ValueOutput[] };
  value?: string;
}

/**
 * A JS value from a ZetaSQL value, decoded as the connector sees BigQuery's: INT64 and FLOAT64 as
 * numbers, NUMERIC as decimal text, DATE as "YYYY-MM-DD", TIMESTAMP as a Date, NULL as null.
 */
export function jsValue(value: ValueOutput): unknown {
  switch (value.value) {
    case undefined:
      return null;
    case "int64Value":
      return Number(value.int64Value);
    case "doubleValue":
      return value.doubleValue;
    case "boolValue":
      return value.boolValue;
    case "stringValue":
      return value.stringValue;
    case "numericValue":
      return numericText(value.numericValue ?? Buffer.alloc(0));
    case "dateValue":
      return new Date((value.dateValue ?? 0) * DAY_MS).toISOString().slice(0, 10);
    case "timestampValue": {
      const { seconds, nanos = 0 } = value.timestampValue!;
      return new Date(Number(seconds) * 1000 + Math.floor(nanos / 1e6));
    }
    case "arrayValue":
      return (value.arrayValue?.element ?? []).map(jsValue);
    case "structValue":
      return (value.structValue?.field ?? []).map(jsValue);
  }
  throw new Error(`no decoding for ZetaSQL ${value.value}`);
}

const REST_TYPES: Record<string, string> = {
  TYPE_STRING: "STRING",
  TYPE_INT64: "INTEGER",
  TYPE_DOUBLE: "FLOAT",
  TYPE_BOOL: "BOOLEAN",
  TYPE_NUMERIC: "NUMERIC",
  TYPE_DATE: "DATE",
  TYPE_TIMESTAMP: "TIMESTAMP",
};

/** A result column as BigQuery's REST API describes it (legacy type names; arrays REPEATED). */
export function restField(name: string, type: TypeOutput): FakeField {
  if (type.typeKind === "TYPE_ARRAY") return { ...restField(name, type.arrayType!.elementType), mode: "REPEATED" };
  const rest = REST_TYPES[type.typeKind];
  if (!rest) throw new Error(`no REST type for ZetaSQL ${type.typeKind} (column ${name})`);
  return { name, type: rest };
}

/**
 * A value as BigQuery's REST API sends it in a row: every scalar as text, TIMESTAMP as microseconds
 * since the epoch (what the client asks for with formatOptions.useInt64Timestamp), arrays as lists of
 * { v }, NULL as null.
 */
export function restCell(value: ValueOutput): FakeCell {
  switch (value.value) {
    case undefined:
      return null;
    case "int64Value":
      // As sent: beyond 2^53 a JS number would round it.
      return value.int64Value!;
    case "timestampValue": {
      const { seconds, nanos = 0 } = value.timestampValue!;
      return String(BigInt(seconds) * 1_000_000n + BigInt(Math.floor(nanos / 1000)));
    }
    case "arrayValue":
      return (value.arrayValue?.element ?? []).map((element) => ({ v: restCell(element) }));
    case "structValue":
      break;
    default:
      // FLOAT64, BOOL, STRING, NUMERIC and DATE are the text of their decoded value.
      return String(jsValue(value));
  }
  throw new Error(`no REST encoding for ZetaSQL ${value.value}`);
}

// ---------------------------------------------------------------------------------------------
// The warehouse contract as a catalog.

const CONTRACT_TYPES: Record<ColumnType, BigQueryType> = {
  text: "STRING",
  timestamp: "TIMESTAMP",
  numeric: "NUMERIC",
  date: "DATE",
};

/**
 * BigQuery's per-dataset INFORMATION_SCHEMA.COLUMNS view (its documented schema), which the
 * table-status probe reads. ZetaSQL has no INFORMATION_SCHEMA ("Table not found"), so the analysis
 * catalog declares this one view; it holds no rows and cannot be evaluated.
 */
const INFORMATION_SCHEMA_COLUMNS: SimpleTableProto = {
  name: "COLUMNS",
  column: (
    [
      ["table_catalog", "STRING"],
      ["table_schema", "STRING"],
      ["table_name", "STRING"],
      ["column_name", "STRING"],
      ["ordinal_position", "INT64"],
      ["is_nullable", "STRING"],
      ["data_type", "STRING"],
      ["is_generated", "STRING"],
      ["generation_expression", "STRING"],
      ["is_stored", "STRING"],
      ["is_hidden", "STRING"],
      ["is_updatable", "STRING"],
      ["is_system_defined", "STRING"],
      ["is_partitioning_column", "STRING"],
      ["clustering_ordinal_position", "INT64"],
      ["collation_name", "STRING"],
      ["column_default", "STRING"],
      ["rounding_mode", "STRING"],
      ["policy_tags", "ARRAY<STRING>"],
    ] as const
  ).map(([name, type]) => ({ name, type: typeProto(type) })),
};

/** A contract table's rows, by logical column name (missing columns are NULL). */
export type ContractRows = Partial<Record<LogicalTable, readonly Record<string, unknown>[]>>;

export interface ContractCatalogOptions {
  /** The BigQuery dataset the tables live in (CLM_BIGQUERY_DATASET, or the mapping's schema). */
  readonly dataset: string;
  readonly mapping: WarehouseMapping;
  /** The type of the contract's numeric columns (`amount`, `value`): NUMERIC by default. */
  readonly numericAs?: "NUMERIC" | "FLOAT64";
}

/**
 * The contract's tables under their mapped names: reachable unqualified (the job's default dataset)
 * and as `dataset`.`table` (a nested catalog) for analysis. The service loads table contents only
 * into tables at the catalog's root, so for evaluation each table is also at the root under the
 * single name "dataset.table", and `dataset`.`table` in the text becomes `dataset.table` (which
 * BigQuery reads the same).
 */
export class ContractCatalog {
  constructor(readonly options: ContractCatalogOptions) {}

  /** Physical columns (mapped names, BigQuery types) of a logical table, in contract order. */
  columns(logical: LogicalTable): { logical: string; name: string; type: BigQueryType }[] {
    const table = this.options.mapping.tables[logical];
    return columnsOf(logical).map((column) => {
      const spec = (WAREHOUSE_CONTRACT[logical].columns as Record<string, { type: ColumnType }>)[column]!;
      const type = spec.type === "numeric" ? (this.options.numericAs ?? "NUMERIC") : CONTRACT_TYPES[spec.type];
      return { logical: column, name: table.columns[column]!, type };
    });
  }

  private table(logical: LogicalTable, name: string): SimpleTableProto {
    return { name, column: this.columns(logical).map((c) => ({ name: c.name, type: typeProto(c.type) })) };
  }

  private physical(logical: LogicalTable): string {
    return this.options.mapping.tables[logical].table;
  }

  /**
   * The catalog for analysis: tables unqualified and in the dataset's nested catalog, which also
   * has INFORMATION_SCHEMA.COLUMNS (`dataset`.`INFORMATION_SCHEMA`.`COLUMNS`).
   */
  analysisCatalog(languageOptions: LanguageOptionsProto): SimpleCatalogProto {
    return {
      name: "root",
      table: LOGICAL_TABLES.map((t) => this.table(t, this.physical(t))),
      catalog: [
        {
          name: this.options.dataset,
          table: LOGICAL_TABLES.map((t) => this.table(t, this.physical(t))),
          catalog: [{ name: "INFORMATION_SCHEMA", table: [INFORMATION_SCHEMA_COLUMNS] }],
        },
      ],
      builtinFunctionOptions: { languageOptions },
    };
  }

  /** The catalog for evaluation, every table at the root (unqualified and "dataset.table"). */
  evaluationCatalog(languageOptions: LanguageOptionsProto): SimpleCatalogProto {
    return {
      name: "root",
      table: LOGICAL_TABLES.flatMap((t) => [
        this.table(t, this.physical(t)),
        this.table(t, `${this.options.dataset}.${this.physical(t)}`),
      ]),
      builtinFunctionOptions: { languageOptions },
    };
  }

  /** Table contents for the evaluation catalog; absent tables are empty. */
  contents(rows: ContractRows): Record<string, TableContent> {
    const contents: Record<string, TableContent> = {};
    for (const logical of LOGICAL_TABLES) {
      const columns = this.columns(logical);
      const content: TableContent = {
        tableData: {
          row: (rows[logical] ?? []).map((row) => ({ cell: columns.map((c) => valueProto(c.type, row[c.logical])) })),
        },
      };
      contents[this.physical(logical)] = content;
      contents[`${this.options.dataset}.${this.physical(logical)}`] = content;
    }
    return contents;
  }

  /** The text with `dataset`.`table` as `dataset.table`, the name the evaluation catalog has. */
  forEvaluation(text: string): string {
    const { dataset } = this.options;
    let out = text;
    for (const logical of LOGICAL_TABLES) {
      const table = this.physical(logical);
      out = out.split(`\`${dataset}\`.\`${table}\``).join(`\`${dataset}.${table}\``);
    }
    return out;
  }
}

// ---------------------------------------------------------------------------------------------
// What the BigQuery connector would send.

/** A named, typed query parameter. */
export interface QueryParam {
  readonly name: string;
  readonly type: BigQueryType;
  readonly value: unknown;
}

export interface BigQueryJob {
  readonly text: string;
  readonly params: readonly QueryParam[];
}

/**
 * The text and typed named parameters the BigQuery connector sends for a query (its jobRequest,
 * so types are the ones the client declares to BigQuery).
 */
export function bigQueryJob(query: Sql, mapping: WarehouseMapping): BigQueryJob {
  const connector = new BigQueryConnector(
    { project: "zetasql-test", dataset: "unused", location: undefined, maxBytesBilled: 1e9 },
    mapping,
  );
  const request = connector.jobRequest(query) as {
    query: string;
    params: Record<string, unknown>;
    types: Record<string, string | string[]>;
  };
  return {
    text: request.query,
    params: Object.entries(request.params).map(([name, value]) => {
      const declared = request.types[name]!;
      const type = (Array.isArray(declared) ? `ARRAY<${declared[0]}>` : declared) as BigQueryType;
      return { name, type, value };
    }),
  };
}

// ---------------------------------------------------------------------------------------------
// The service.

export interface OutputColumn {
  readonly name: string;
  /** BigQuery's name of the column's type (FLOAT64, ARRAY<STRING> …). */
  readonly type: string;
}

export interface QueryResult {
  readonly columns: readonly OutputColumn[];
  /** Rows as objects by column name, values decoded by jsValue (anonymous columns are all named ""). */
  readonly rows: readonly Record<string, unknown>[];
  /** The same rows as arrays, in column order. */
  readonly cells: readonly (readonly unknown[])[];
  /** The columns and rows as BigQuery's REST API would send them (a query response's schema and rows). */
  readonly rest: { readonly fields: FakeField[]; readonly rows: FakeCell[][] };
}

interface Unary<Req, Res> {
  (request: Req, callback: (error: grpc.ServiceError | null, response: Res) => void): grpc.ClientUnaryCall;
}

/** The calls of ZetaSqlLocalService this helper uses (requests typed by the package's generated types). */
interface LocalServiceClient extends grpc.Client {
  GetLanguageOptions: Unary<{ maximumFeatures?: boolean }, LanguageOptionsProto>;
  RegisterCatalog: Unary<
    { simpleCatalog: SimpleCatalogProto; tableContent?: Record<string, TableContent> },
    { registeredId: string }
  >;
  UnregisterCatalog: Unary<{ registeredId: string }, object>;
  Analyze: Unary<
    { options: AnalyzerOptionsProto; registeredCatalogId: string; sqlStatement: string },
    {
      resolvedStatement?: {
        resolvedQueryStmtNode?: { outputColumnList?: { name: string; column: { type: TypeOutput } }[] };
      };
    }
  >;
  PrepareQuery: Unary<
    { sql: string; options: AnalyzerOptionsProto; registeredCatalogId: string },
    { prepared: { preparedQueryId: string; columns: { name: string; type: TypeOutput }[] } }
  >;
  EvaluateQuery: Unary<
    { preparedQueryId: string; params: { name: string; value: ValueProto }[] },
    { content?: { tableData?: { row?: { cell?: ValueOutput[] }[] } } }
  >;
  UnprepareQuery: Unary<{ preparedQueryId: string }, object>;
}

function call<Req, Res>(client: LocalServiceClient, method: Unary<Req, Res>, request: Req): Promise<Res> {
  return new Promise((resolve, reject) =>
    method.call(client, request, (error, response) => (error ? reject(error) : resolve(response))),
  );
}

let packageDefinition: protoLoader.PackageDefinition | undefined;

function serviceConstructor(): grpc.ServiceClientConstructor {
  // longs as decimal text, enums by name, oneofs named in `value`, unset fields left out.
  packageDefinition ??= protoLoader.loadSync("local_service.proto", {
    includeDirs: [PROTO_DIR],
    longs: String,
    enums: String,
    oneofs: true,
    defaults: false,
  });
  const loaded = grpc.loadPackageDefinition(packageDefinition) as unknown as {
    zetasql: { local_service: { ZetaSqlLocalService: grpc.ServiceClientConstructor } };
  };
  return loaded.zetasql.local_service.ZetaSqlLocalService;
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolve(port));
    });
  });
}

export interface ZetaSqlService {
  readonly port: number;
  /** Every language feature, PRODUCT_EXTERNAL (BigQuery's surface: no INT32, UINT64, FLOAT …). */
  readonly languageOptions: LanguageOptionsProto;
  registerCatalog(catalog: SimpleCatalogProto, contents?: Record<string, TableContent>): Promise<string>;
  unregisterCatalog(id: string): Promise<void>;
  /** The output columns of a query text with typed named parameters; rejects what does not analyze. */
  analyze(catalogId: string, text: string, params: readonly QueryParam[]): Promise<OutputColumn[]>;
  /** Runs a query over the contents registered with the catalog. */
  evaluate(catalogId: string, text: string, params: readonly QueryParam[]): Promise<QueryResult>;
  /** Analyzes against the contract tables (a catalog per dataset, mapping and numeric type, kept). */
  analyzeJob(catalog: ContractCatalog, job: BigQueryJob): Promise<OutputColumn[]>;
  /** Evaluates a job over contract rows (registered for this call only). */
  evaluateJob(catalog: ContractCatalog, job: BigQueryJob, rows: ContractRows): Promise<QueryResult>;
  stop(): Promise<void>;
}

function analyzerOptions(languageOptions: LanguageOptionsProto, params: readonly QueryParam[]): AnalyzerOptionsProto {
  return {
    languageOptions,
    queryParameters: params.map((p) => ({ name: p.name, type: typeProto(p.type) })),
    errorMessageMode: "ERROR_MESSAGE_ONE_LINE",
    // BigQuery's default time zone.
    defaultTimezone: "UTC",
  };
}

/** Resolves when the service says it listens; rejects when it exits first or takes too long. */
function listening(child: ChildProcess, log: () => string): Promise<void> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`ZetaSQL service not listening after 15 s: ${log()}`)), 15_000);
    const done = (error?: Error) => {
      clearTimeout(timer);
      child.stdout!.removeListener("data", check);
      child.removeListener("exit", exit);
      if (error) reject(error);
      else resolve();
    };
    const check = () => {
      if (/Server listening on/.test(log())) done();
    };
    const exit = (code: number | null, signal: string | null) =>
      done(new Error(`ZetaSQL service exited (${code ?? signal}): ${log()}`));
    child.stdout!.on("data", check);
    child.once("exit", exit);
    check();
  });
}

async function connect(port: number): Promise<LocalServiceClient> {
  const Service = serviceConstructor();
  const client = new Service(`127.0.0.1:${port}`, grpc.credentials.createInsecure(), {
    "grpc.max_send_message_length": 256 * 1024 * 1024,
    "grpc.max_receive_message_length": 256 * 1024 * 1024,
    // The default first reconnect waits a second; the service is local.
    "grpc.initial_reconnect_backoff_ms": 50,
  }) as unknown as LocalServiceClient;
  const deadline = Date.now() + 15_000;
  for (;;) {
    try {
      await call(client, client.GetLanguageOptions, {});
      return client;
    } catch (error) {
      if ((error as grpc.ServiceError).code !== grpc.status.UNAVAILABLE || Date.now() >= deadline) {
        client.close();
        throw error;
      }
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
  }
}

/**
 * Starts the service on a free loopback port and waits until it answers gRPC. Stop it in afterAll;
 * the process is also killed when the test process exits.
 */
export async function startZetaSql(): Promise<ZetaSqlService> {
  let lastError: unknown;
  for (let attempt = 0; attempt < 3; attempt++) {
    const port = await freePort();
    // It crashes without its two arguments: host and port.
    const child = spawn(ZETASQL_BINARY, ["127.0.0.1", String(port)], { stdio: ["ignore", "pipe", "pipe"] });
    let output = "";
    child.stdout!.on("data", (d) => (output += d));
    child.stderr!.on("data", (d) => (output += d));
    const spawned = new Promise<void>((resolve, reject) => {
      child.once("spawn", resolve);
      child.once("error", reject);
    });
    const killOnExit = () => child.kill("SIGKILL");
    process.once("exit", killOnExit);
    const exited = new Promise<void>((resolve) => child.once("exit", () => resolve()));
    try {
      await spawned;
      await listening(child, () => output.trim());
      const client = await connect(port);
      return service(port, client, child, exited, killOnExit);
    } catch (error) {
      lastError = error;
      child.kill("SIGKILL");
      await exited;
      process.removeListener("exit", killOnExit);
      // A spawn failure (no binary) will not get better; a port taken meanwhile may.
      if ((error as NodeJS.ErrnoException).code === "ENOENT" || (error as NodeJS.ErrnoException).code === "EACCES")
        break;
    }
  }
  throw lastError;
}

async function service(
  port: number,
  client: LocalServiceClient,
  child: ChildProcess,
  exited: Promise<void>,
  killOnExit: () => void,
): Promise<ZetaSqlService> {
  const maximum = await call(client, client.GetLanguageOptions, { maximumFeatures: true });
  const languageOptions: LanguageOptionsProto = { ...maximum, productMode: "PRODUCT_EXTERNAL" };
  const analysisCatalogs = new Map<string, Promise<string>>();

  const self: ZetaSqlService = {
    port,
    languageOptions,
    async registerCatalog(catalog, contents) {
      const response = await call(client, client.RegisterCatalog, { simpleCatalog: catalog, tableContent: contents });
      return response.registeredId;
    },
    async unregisterCatalog(id) {
      await call(client, client.UnregisterCatalog, { registeredId: id });
    },
    async analyze(catalogId, text, params) {
      const response = await call(client, client.Analyze, {
        options: analyzerOptions(languageOptions, params),
        registeredCatalogId: catalogId,
        sqlStatement: text,
      });
      const columns = response.resolvedStatement?.resolvedQueryStmtNode?.outputColumnList;
      if (!columns) throw new Error(`not a query: ${Object.keys(response.resolvedStatement ?? {}).join(", ")}`);
      return columns.map((c) => ({ name: c.name, type: bigQueryTypeName(c.column.type) }));
    },
    async evaluate(catalogId, text, params) {
      const { prepared } = await call(client, client.PrepareQuery, {
        sql: text,
        options: analyzerOptions(languageOptions, params),
        registeredCatalogId: catalogId,
      });
      try {
        const response = await call(client, client.EvaluateQuery, {
          preparedQueryId: prepared.preparedQueryId,
          params: params.map((p) => ({ name: p.name, value: valueProto(p.type, p.value) })),
        });
        const columns = prepared.columns.map((c) => ({ name: c.name, type: bigQueryTypeName(c.type) }));
        const values = (response.content?.tableData?.row ?? []).map((row) =>
          columns.map((_, i) => row.cell?.[i] ?? {}),
        );
        const cells = values.map((row) => row.map(jsValue));
        const rows = cells.map((row) => Object.fromEntries(columns.map((c, i) => [c.name, row[i]])));
        const rest = {
          fields: prepared.columns.map((c) => restField(c.name, c.type)),
          rows: values.map((row) => row.map(restCell)),
        };
        return { columns, rows, cells, rest };
      } finally {
        await call(client, client.UnprepareQuery, { preparedQueryId: prepared.preparedQueryId });
      }
    },
    async analyzeJob(catalog, job) {
      const key = JSON.stringify(catalog.options);
      let id = analysisCatalogs.get(key);
      if (!id) {
        id = self.registerCatalog(catalog.analysisCatalog(languageOptions));
        analysisCatalogs.set(key, id);
      }
      return self.analyze(await id, job.text, job.params);
    },
    async evaluateJob(catalog, job, rows) {
      const id = await self.registerCatalog(catalog.evaluationCatalog(languageOptions), catalog.contents(rows));
      try {
        return await self.evaluate(id, catalog.forEvaluation(job.text), job.params);
      } finally {
        await self.unregisterCatalog(id);
      }
    },
    async stop() {
      client.close();
      child.kill("SIGKILL");
      await exited;
      process.removeListener("exit", killOnExit);
    },
  };
  return self;
}

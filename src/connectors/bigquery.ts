// BigQuery as the warehouse. Named parameters only, so the SQL text depends on the query's shape and
// BigQuery's own result cache can serve repeats.
import { Readable } from "node:stream";
import { pipeline } from "node:stream/promises";
import { BigQuery, type BigQueryOptions, type Query } from "@google-cloud/bigquery";
import type { WarehouseMapping } from "../sql/contract.ts";
import {
  DEFAULT_BATCH_ROWS,
  QueryTooExpensiveError,
  type OwnedRow,
  type OwnedTable,
  WarehouseUnavailableError,
  type QueryOptions,
  type Row,
  type StreamOptions,
  type WarehouseConnector,
  type Warehouse,
} from "./connector.ts";
import type { Dialect } from "../sql/dialect.ts";
import { cast, ident, integer, join, render, sql, type BoundParam, type Sql, type SqlParamType } from "../sql/sql.ts";
import { informationSchemaProbe, probeTables } from "./table-status.ts";

export const bigqueryDialect = {
  name: "bigquery",
  quoteIdent: (name) => `\`${name}\``,
  typeName: (type) => ({ float: "FLOAT64", text: "STRING", date: "DATE", int: "INT64", instant: "TIMESTAMP" })[type],
  placeholder: (i) => `@p${i + 1}`,
  localDay: (expr, timeZone) => sql`DATE(${expr}, ${timeZone})`,
  instant: (at) => cast(at.toISOString(), "instant"),
  dayDiff: (from, to) => sql`DATE_DIFF(${to}, ${from}, DAY)`,
  inList: (expr, ids) => sql`${expr} IN UNNEST(${ids})`,
  // STRUCTs are not orderable in BigQuery: a fixed-width UTC time prefix makes the text sort
  // by time, then by value; the prefix (21 characters) is cut off again.
  latestBy: (value, time) =>
    sql`SUBSTR(MAX(CONCAT(FORMAT_TIMESTAMP(${"%Y%m%d%H%M%E6S"}, ${time}, ${"UTC"}), ${value})), 22)`,
  // PERCENTILE_CONT is a window function only in BigQuery.
  median: {
    kind: "window",
    window: (expr, partition) => sql`PERCENTILE_CONT(${expr}, 0.5) OVER (PARTITION BY ${partition})`,
  },
  purchaseDayNumbering: { kind: "window" },
  // TABLESAMPLE takes a percentage, not a number of rows.
  sampleRows: (select, from, rows) => sql`SELECT ${select} FROM ${from} ORDER BY RAND() LIMIT ${integer(rows)}`,
  // No VALUES list: an array of STRUCTs, the first naming the columns.
  literalRows: (columns, rows) =>
    sql`SELECT * FROM UNNEST([${join(
      rows.map((row, i) =>
        i === 0
          ? sql`STRUCT(${join(row.map((value, j) => sql`${value} AS ${ident(columns[j])}`))})`
          : sql`STRUCT(${join(row)})`,
      ),
    )}])`,
} satisfies Dialect;

/** BigQuery's type of an owned table's column. */
const OWNED_TYPES = { text: "STRING", date: "DATE", number: "FLOAT64" } as const;

export interface BigQuerySettings {
  readonly project: string;
  readonly dataset: string;
  readonly location: string | undefined;
  readonly maxBytesBilled: number;
  /** BigQuery cancels a job running longer (ms); unset: no limit. Setting it costs a round trip per query. */
  readonly jobTimeoutMs?: number;
  /**
   * Dry-run every query first and refuse one estimated over `maxBytesBilled` with a clear error before
   * it runs (costs one round trip per query; maximumBytesBilled alone makes BigQuery fail the job).
   */
  readonly dryRunBudget?: boolean;
  /** Told each dry run's estimate (for the bytes metric). */
  readonly onBytesEstimated?: (bytes: number) => void;
  /** Extra client options; tests point `apiEndpoint` and `authClient` at a local wire-format endpoint. */
  readonly clientOptions?: BigQueryOptions;
}

/**
 * Transient errors (HTTP 429, 5xx, reasons rateLimitExceeded and backendError) are retried by the
 * client with exponential backoff and jitter; these bound how long that may go on (seconds).
 */
export const BIGQUERY_RETRY = {
  autoRetry: true,
  maxRetries: 4,
  retryDelayMultiplier: 2,
  maxRetryDelay: 8,
  totalTimeout: 60,
};

function inferType(value: unknown): SqlParamType {
  if (typeof value === "boolean") return "BOOL";
  // Beyond 2^53 a whole number is a float that INT64 may not hold (−9.2e18, 1e300): FLOAT64.
  if (typeof value === "number") return Number.isSafeInteger(value) ? "INT64" : "FLOAT64";
  if (value instanceof Date) return "TIMESTAMP";
  return "STRING";
}

function paramType(p: BoundParam): string | string[] {
  const element = p.type ?? inferType(Array.isArray(p.value) ? p.value[0] : p.value);
  return p.array || Array.isArray(p.value) ? [element] : element;
}

function normalise(value: unknown): unknown {
  if (value === null || typeof value !== "object") return value;
  if (Array.isArray(value)) return value.map(normalise);
  // BigQueryTimestamp / BigQueryDate / Big (NUMERIC) wrap their value.
  if ("value" in value) {
    const inner = (value as { value: unknown }).value;
    // Stryker disable next-line ConditionalExpression: the wrappers' values are strings; the test below fails others
    if (typeof inner !== "string") return inner;
    return /^\d{4}-\d{2}-\d{2}T/.test(inner) ? new Date(inner) : inner;
  }
  if (typeof (value as { toNumber?: unknown }).toNumber === "function")
    return (value as { toNumber(): number }).toNumber();
  return value;
}

/**
 * BigQuery's error reasons for a job it cannot run now, whatever the HTTP status: rate and quota limits
 * come as 403 as well as 429 (cloud.google.com/bigquery/docs/error-messages).
 */
const UNAVAILABLE_REASONS = new Set<string | undefined>([
  "backendError",
  "rateLimitExceeded",
  "jobRateLimitExceeded",
  "quotaExceeded",
]);

/**
 * What is still failing after the client's retries — a 5xx, a rate or quota limit, no network — as
 * WarehouseUnavailableError (clients see WAREHOUSE_UNAVAILABLE); a bad query stays what it is.
 */
function unavailable(error: unknown, budgetBytes: number): unknown {
  // Stryker disable next-line ArrayDeclaration: a made-up reason of an error without any is none that counts
  const reasons = ((error as { errors?: { reason?: string }[] } | null)?.errors ?? []).map((e) => e.reason);
  if (reasons.includes("bytesBilledLimitExceeded") || /bytesBilledLimitExceeded/.test(String(error))) {
    return new QueryTooExpensiveError(null, budgetBytes);
  }
  const code = (error as { code?: unknown } | null)?.code;
  const network = ["ECONNREFUSED", "ECONNRESET", "ETIMEDOUT", "ENOTFOUND", "EAI_AGAIN"].includes(String(code));
  const limited = reasons.some((reason) => UNAVAILABLE_REASONS.has(reason));
  if (network || limited || Number(code) >= 500 || Number(code) === 429) {
    return new WarehouseUnavailableError(`BigQuery unavailable: ${(error as Error).message}`, { cause: error });
  }
  return error;
}

export async function openBigQuery(settings: BigQuerySettings, mapping: WarehouseMapping): Promise<BigQueryConnector> {
  return new BigQueryConnector(settings, mapping);
}

/** A BigQuery dataset, as the registry lists it. */
export const bigqueryWarehouse = {
  kind: "bigquery",
  description: "A Google BigQuery dataset.",
  open: openBigQuery,
} as const satisfies Warehouse<BigQuerySettings>;

export class BigQueryConnector implements WarehouseConnector {
  readonly kind = "bigquery" as const;
  readonly dialect = bigqueryDialect;
  private readonly client: BigQuery;

  constructor(
    private readonly settings: BigQuerySettings,
    readonly mapping: WarehouseMapping,
  ) {
    this.client = new BigQuery({
      projectId: settings.project,
      location: settings.location,
      retryOptions: BIGQUERY_RETRY,
      ...settings.clientOptions,
    });
  }

  /** The job request for a query: deterministic text, named typed parameters, a byte budget. */
  jobRequest(query: Sql, options: QueryOptions = {}): Query {
    const { text, params } = render(query, bigqueryDialect);
    return {
      query: text,
      params: Object.fromEntries(params.map((p) => [p.name, p.value])),
      types: Object.fromEntries(params.map((p) => [p.name, paramType(p)])),
      location: this.settings.location,
      maximumBytesBilled: String(this.settings.maxBytesBilled),
      labels: { app: "clm-graphql", query: (options.label ?? "query").toLowerCase().replace(/[^a-z0-9_-]/g, "_") },
      defaultDataset: { projectId: this.settings.project, datasetId: this.settings.dataset },
      // With a job timeout the client creates the job (jobs.insert) and polls it, instead of jobs.query.
      ...(this.settings.jobTimeoutMs ? { jobTimeoutMs: this.settings.jobTimeoutMs } : {}),
    } as Query;
  }

  async query<R extends Row = Row>(query: Sql, options: QueryOptions = {}): Promise<R[]> {
    options.signal?.throwIfAborted();
    await this.checkBudget(query, options);
    const [rows] = await this.client.query(this.jobRequest(query, options)).catch((error: unknown) => {
      throw unavailable(error, this.settings.maxBytesBilled);
    });
    return (rows as Row[]).map((row) => {
      const out: Row = {};
      for (const key in row) out[key] = normalise(row[key]);
      return out as R;
    });
  }

  /**
   * The results page by page: the job runs once, then each page of `batchRows` rows is read from its
   * result table when asked for (tabledata pages), so the rows are never all held here.
   */
  async *stream<R extends Row = Row>(query: Sql, options: StreamOptions = {}): AsyncIterable<R[]> {
    options.signal?.throwIfAborted();
    await this.checkBudget(query, options);
    const [job] = await this.client.createQueryJob(this.jobRequest(query, options)).catch((error: unknown) => {
      throw unavailable(error, this.settings.maxBytesBilled);
    });
    let pageToken: string | undefined;
    do {
      options.signal?.throwIfAborted();
      const [rows, next] = await job.getQueryResults({
        maxResults: options.batchRows ?? DEFAULT_BATCH_ROWS,
        pageToken,
        autoPaginate: false,
      });
      yield (rows as Row[]).map((row) => {
        const out: Row = {};
        for (const key in row) out[key] = normalise(row[key]);
        return out as R;
      });
      pageToken = (next as { pageToken?: string } | null | undefined)?.pageToken;
    } while (pageToken);
  }

  /** What the query would scan (bytes), from a dry run that bills nothing. */
  async estimateBytes(query: Sql, options: QueryOptions = {}): Promise<number> {
    const [job] = await this.client
      .createQueryJob({ ...this.jobRequest(query, options), dryRun: true })
      .catch((error: unknown) => {
        throw unavailable(error, this.settings.maxBytesBilled);
      });
    return Number(job.metadata?.statistics?.totalBytesProcessed ?? 0);
  }

  /** With `dryRunBudget`: refuses a query whose dry run estimates more than the byte budget. */
  private async checkBudget(query: Sql, options: QueryOptions): Promise<void> {
    if (!this.settings.dryRunBudget) return;
    const bytes = await this.estimateBytes(query, options);
    this.settings.onBytesEstimated?.(bytes);
    if (bytes > this.settings.maxBytesBilled) throw new QueryTooExpensiveError(bytes, this.settings.maxBytesBilled);
  }

  /**
   * A load job (newline-delimited JSON, streamed up as read) that replaces the table whole
   * (WRITE_TRUNCATE): BigQuery swaps the new rows in when the job succeeds, and a failed job leaves
   * the old ones. Load jobs bill no bytes scanned.
   */
  async replaceTable(
    table: OwnedTable,
    pages: AsyncIterable<readonly OwnedRow[]>,
    options: QueryOptions = {},
  ): Promise<number> {
    const names = table.columns.map((c) => c.name);
    let rows = 0;
    const lines = Readable.from(
      (async function* () {
        for await (const page of pages) {
          let text = "";
          for (const row of page) {
            const record: Record<string, string | number | null> = {};
            names.forEach((name, i) => (record[name] = row[i] ?? null));
            text += `${JSON.stringify(record)}\n`;
          }
          rows += page.length;
          if (text) yield text;
        }
      })(),
    );
    const destination = this.client.dataset(this.mapping.schema ?? this.settings.dataset).table(table.name);
    const load = destination.createWriteStream({
      sourceFormat: "NEWLINE_DELIMITED_JSON",
      writeDisposition: "WRITE_TRUNCATE",
      createDisposition: "CREATE_IF_NEEDED",
      schema: { fields: table.columns.map((c) => ({ name: c.name, type: OWNED_TYPES[c.type], mode: "NULLABLE" })) },
      labels: { app: "clm-graphql", query: (options.label ?? "writeback").toLowerCase().replace(/[^a-z0-9_-]/g, "_") },
    } as never);
    try {
      // The stream finishes once the job is done (createWriteStream holds it corked until then).
      await pipeline(lines, load, { signal: options.signal });
    } catch (error) {
      throw unavailable(error, this.settings.maxBytesBilled);
    }
    return rows;
  }

  async ping(): Promise<void> {
    await this.query(sql`SELECT 1 AS ok`, { label: "ping" });
  }

  tableStatus() {
    // Tables live in the configured dataset (or the mapping's schema, as the queries read them);
    // BigQuery lists columns per dataset.
    return probeTables(
      this.mapping,
      informationSchemaProbe(
        this,
        this.settings.dataset,
        (dataset, table) =>
          sql`SELECT column_name FROM ${ident(dataset, "INFORMATION_SCHEMA", "COLUMNS")} WHERE table_name = ${table}`,
      ),
    );
  }

  async close(): Promise<void> {}
}

// The BigQuery connector (src/connectors/bigquery.ts) against a stand-in for the client library's BigQuery
// object: the client options, the job request (text, named typed parameters, budget, labels, dataset, job
// timeout), the dry-run budget, the decoding of the library's value wrappers, the paging of a stream, and
// how an error still failing after the client's retries is reported. (Through the real library against a
// wire-format endpoint: test/sql/bigquery.spec.ts.)
import { BigQueryDate, BigQueryInt, BigQueryTimestamp } from "@google-cloud/bigquery";
import { beforeEach, describe, expect, it, vi } from "vitest";
import {
  BIGQUERY_RETRY,
  BigQueryConnector,
  openBigQuery,
  type BigQuerySettings,
} from "../../src/connectors/bigquery.ts";
import { QueryTooExpensiveError, WarehouseUnavailableError } from "../../src/connectors/connector.ts";
import { DEFAULT_MAPPING } from "../../src/sql/contract.ts";
import { sql, TypedParam } from "../../src/sql/sql.ts";

interface Page {
  rows: Record<string, unknown>[];
  next?: { pageToken?: string } | null;
}

const fake = vi.hoisted(() => ({
  clients: [] as { options: Record<string, unknown> }[],
  queries: [] as Record<string, unknown>[],
  jobs: [] as Record<string, unknown>[],
  pageCalls: [] as Record<string, unknown>[],
  rows: [] as Record<string, unknown>[],
  pages: [] as Page[],
  failure: undefined as unknown,
  bytes: "0" as string | undefined,
  /** A dry-run job without metadata at all. */
  noMetadata: false,
}));

vi.mock("@google-cloud/bigquery", async () => {
  const actual = await vi.importActual<typeof import("@google-cloud/bigquery")>("@google-cloud/bigquery");
  class BigQuery {
    constructor(readonly options: Record<string, unknown>) {
      fake.clients.push(this);
    }
    async query(request: Record<string, unknown>) {
      fake.queries.push(request);
      if (fake.failure !== undefined) throw fake.failure;
      return [fake.rows];
    }
    async createQueryJob(request: Record<string, unknown>) {
      fake.jobs.push(request);
      if (fake.failure !== undefined) throw fake.failure;
      let page = 0;
      const job = {
        metadata: fake.noMetadata
          ? undefined
          : fake.bytes === undefined
            ? {}
            : { statistics: { totalBytesProcessed: fake.bytes } },
        async getQueryResults(options: Record<string, unknown>) {
          fake.pageCalls.push(options);
          const { rows, next } = fake.pages[page++]!;
          return [rows, next];
        },
      };
      return [job];
    }
  }
  return { ...actual, BigQuery };
});

const SETTINGS: BigQuerySettings = {
  project: "clm-project",
  dataset: "shop",
  location: "EU",
  maxBytesBilled: 1_000_000,
};

function connector(settings: Partial<BigQuerySettings> = {}) {
  return new BigQueryConnector({ ...SETTINGS, ...settings }, DEFAULT_MAPPING);
}

async function collect<T>(rows: AsyncIterable<T>): Promise<T[]> {
  const out: T[] = [];
  for await (const batch of rows) out.push(batch);
  return out;
}

beforeEach(() => {
  fake.clients.length = 0;
  fake.queries.length = 0;
  fake.jobs.length = 0;
  fake.pageCalls.length = 0;
  fake.rows = [];
  fake.pages = [];
  fake.failure = undefined;
  fake.bytes = "0";
  fake.noMetadata = false;
});

describe("BigQuery client", () => {
  it("is made for the project and location, with bounded retries, and the caller's options on top", async () => {
    expect(BIGQUERY_RETRY).toEqual({
      autoRetry: true,
      maxRetries: 4,
      retryDelayMultiplier: 2,
      maxRetryDelay: 8,
      totalTimeout: 60,
    });
    await openBigQuery(SETTINGS, DEFAULT_MAPPING);
    expect(fake.clients[0]!.options).toEqual({
      projectId: "clm-project",
      location: "EU",
      retryOptions: BIGQUERY_RETRY,
    });
    connector({ clientOptions: { apiEndpoint: "http://127.0.0.1:9050", projectId: "other" } });
    expect(fake.clients[1]!.options).toEqual({
      projectId: "other",
      location: "EU",
      retryOptions: BIGQUERY_RETRY,
      apiEndpoint: "http://127.0.0.1:9050",
    });
  });
});

describe("BigQuery job request", () => {
  it("carries the text with named parameters, their types, the budget, labels and the default dataset", () => {
    const request = connector().jobRequest(
      sql`SELECT ${"a"} AS s, ${3} AS i, ${2.5} AS f, ${true} AS b, ${new Date(0)} AS t, ${["x", "y"]} AS l`,
      { label: "Segment Export/1" },
    );
    expect(request).toEqual({
      query: "SELECT @p1 AS s, @p2 AS i, @p3 AS f, @p4 AS b, @p5 AS t, @p6 AS l",
      params: { p1: "a", p2: 3, p3: 2.5, p4: true, p5: new Date(0), p6: ["x", "y"] },
      types: { p1: "STRING", p2: "INT64", p3: "FLOAT64", p4: "BOOL", p5: "TIMESTAMP", p6: ["STRING"] },
      location: "EU",
      maximumBytesBilled: "1000000",
      labels: { app: "clm-graphql", query: "segment_export_1" },
      defaultDataset: { projectId: "clm-project", datasetId: "shop" },
    });
  });

  it("types a whole number beyond 2^53 as FLOAT64, and an array by its first element", () => {
    const { types } = connector().jobRequest(sql`SELECT ${2 ** 53} AS big, ${[1, 2]} AS ids, ${-(2 ** 53 - 1)}`);
    expect(types).toEqual({ p1: "FLOAT64", p2: ["INT64"], p3: "INT64" });
  });

  it("takes a declared type over the inferred one, as an array type when declared one", () => {
    const { types } = connector().jobRequest(
      sql`SELECT ${new TypedParam(null, "DATE")}, ${new TypedParam([], "STRING", true)}, ${new TypedParam("1", "NUMERIC")}`,
    );
    expect(types).toEqual({ p1: "DATE", p2: ["STRING"], p3: "NUMERIC" });
  });

  it("labels a query 'query' unless told, keeping letters, digits, - and _", () => {
    expect(connector().jobRequest(sql`SELECT 1`).labels).toEqual({ app: "clm-graphql", query: "query" });
    expect(connector().jobRequest(sql`SELECT 1`, { label: "rfm-Scores_2" }).labels).toEqual({
      app: "clm-graphql",
      query: "rfm-scores_2",
    });
  });

  it("carries a job timeout only when one is set", () => {
    expect(connector({ jobTimeoutMs: 30_000 }).jobRequest(sql`SELECT 1`)).toMatchObject({ jobTimeoutMs: 30_000 });
    expect(connector({ jobTimeoutMs: 0 }).jobRequest(sql`SELECT 1`)).not.toHaveProperty("jobTimeoutMs");
    expect(connector().jobRequest(sql`SELECT 1`)).not.toHaveProperty("jobTimeoutMs");
  });
});

describe("BigQuery queries", () => {
  it("runs one jobs.query and decodes the library's wrappers", async () => {
    fake.rows = [
      {
        at: new BigQueryTimestamp("2026-01-15T10:30:00.000Z"),
        day: new BigQueryDate("2026-01-15"),
        // NUMERIC comes as a big.js Big, which has no `value` but a toNumber().
        amount: { c: [1, 2, 3, 4, 5], e: 3, s: 1, toNumber: () => 1234.5 },
        n: new BigQueryInt("42"),
        list: [new BigQueryDate("2026-01-16"), null],
        text: "x",
        nothing: null,
        num: 7,
        plain: { a: 1 },
      },
    ];
    const rows = await connector().query(sql`SELECT 1`);
    expect(fake.queries).toHaveLength(1);
    expect(rows).toEqual([
      {
        at: new Date(Date.UTC(2026, 0, 15, 10, 30)),
        day: "2026-01-15",
        amount: 1234.5,
        n: "42",
        list: ["2026-01-16", null],
        text: "x",
        nothing: null,
        num: 7,
        plain: { a: 1 },
      },
    ]);
    expect(rows[0]!.at).toBeInstanceOf(Date);
  });

  it("reads a table's columns from its dataset's INFORMATION_SCHEMA.COLUMNS", async () => {
    fake.rows = [];
    const statuses = await connector().tableStatus();
    expect(statuses[0]).toMatchObject({ logical: "transactions", present: false });
    expect(fake.queries[0]).toMatchObject({
      query: "SELECT column_name FROM `shop`.`INFORMATION_SCHEMA`.`COLUMNS` WHERE table_name = @p1",
      params: { p1: "transactions" },
    });
  });

  it("pings with SELECT 1 labelled 'ping'", async () => {
    await connector().ping();
    expect(fake.queries[0]).toMatchObject({ query: "SELECT 1 AS ok", labels: { app: "clm-graphql", query: "ping" } });
  });

  it("sends nothing when already aborted", async () => {
    const controller = new AbortController();
    controller.abort(new Error("gone"));
    await expect(connector().query(sql`SELECT 1`, { signal: controller.signal })).rejects.toThrow("gone");
    await expect(collect(connector().stream(sql`SELECT 1`, { signal: controller.signal }))).rejects.toThrow("gone");
    expect(fake.queries).toEqual([]);
    expect(fake.jobs).toEqual([]);
  });
});

describe("BigQuery dry-run budget", () => {
  it("runs no dry run unless asked", async () => {
    await connector().query(sql`SELECT 1`);
    expect(fake.jobs).toEqual([]);
  });

  it("dry-runs first, tells the estimate, and runs a query within the budget (at it, too)", async () => {
    const estimates: number[] = [];
    fake.bytes = "1000000";
    await connector({ dryRunBudget: true, onBytesEstimated: (b) => estimates.push(b) }).query(sql`SELECT 1`);
    expect(fake.jobs).toHaveLength(1);
    expect(fake.jobs[0]).toMatchObject({ query: "SELECT 1", dryRun: true, maximumBytesBilled: "1000000" });
    expect(estimates).toEqual([1_000_000]);
    expect(fake.queries).toHaveLength(1);
  });

  it("refuses a query estimated over the budget before it runs", async () => {
    fake.bytes = "1000001";
    const error = await connector({ dryRunBudget: true })
      .query(sql`SELECT 1`)
      .catch((e: unknown) => e);
    expect(error).toBeInstanceOf(QueryTooExpensiveError);
    expect(error).toMatchObject({ code: "QUERY_TOO_EXPENSIVE" });
    expect(error).toEqual(new QueryTooExpensiveError(1_000_001, 1_000_000));
    expect(fake.queries).toEqual([]);
    fake.pages = [{ rows: [] }];
    await expect(collect(connector({ dryRunBudget: true }).stream(sql`SELECT 1`))).rejects.toBeInstanceOf(
      QueryTooExpensiveError,
    );
    expect(fake.jobs.map((j) => j.dryRun)).toEqual([true, true]);
  });

  it("estimates zero bytes when the dry run tells none", async () => {
    fake.bytes = undefined;
    await expect(connector().estimateBytes(sql`SELECT 1`)).resolves.toBe(0);
    fake.noMetadata = true;
    await expect(connector().estimateBytes(sql`SELECT 1`)).resolves.toBe(0);
    fake.noMetadata = false;
    fake.bytes = "123456789";
    await expect(connector().estimateBytes(sql`SELECT 1`)).resolves.toBe(123_456_789);
  });
});

describe("BigQuery streams", () => {
  it("runs the job once and reads its result pages by page token, batchRows at a time", async () => {
    fake.pages = [
      { rows: [{ n: new BigQueryInt("1") }, { n: new BigQueryInt("2") }], next: { pageToken: "t2" } },
      { rows: [{ d: new BigQueryDate("2026-01-15") }], next: { pageToken: "t3" } },
      { rows: [], next: {} },
    ];
    const batches = await collect(connector().stream(sql`SELECT ${1} AS n`, { batchRows: 2, label: "export" }));
    expect(batches).toEqual([[{ n: "1" }, { n: "2" }], [{ d: "2026-01-15" }], []]);
    expect(fake.jobs).toHaveLength(1);
    expect(fake.jobs[0]).toMatchObject({ query: "SELECT @p1 AS n", labels: { app: "clm-graphql", query: "export" } });
    expect(fake.pageCalls).toEqual([
      { maxResults: 2, pageToken: undefined, autoPaginate: false },
      { maxResults: 2, pageToken: "t2", autoPaginate: false },
      { maxResults: 2, pageToken: "t3", autoPaginate: false },
    ]);
  });

  it("reads 5,000 rows a page unless told, and stops with no next page", async () => {
    fake.pages = [{ rows: [{ a: 1 }], next: null }];
    await collect(connector().stream(sql`SELECT 1`));
    fake.pages = [{ rows: [{ a: 1 }], next: undefined }];
    await collect(connector().stream(sql`SELECT 1`));
    expect(fake.pageCalls).toEqual([
      { maxResults: 5000, pageToken: undefined, autoPaginate: false },
      { maxResults: 5000, pageToken: undefined, autoPaginate: false },
    ]);
  });

  it("stops between pages when aborted", async () => {
    const controller = new AbortController();
    fake.pages = [
      { rows: [{ a: 1 }], next: { pageToken: "t2" } },
      { rows: [{ a: 2 }], next: null },
    ];
    const seen: unknown[] = [];
    await expect(
      (async () => {
        for await (const batch of connector().stream(sql`SELECT 1`, { signal: controller.signal })) {
          seen.push(batch);
          controller.abort(new Error("reader left"));
        }
      })(),
    ).rejects.toThrow("reader left");
    expect(seen).toEqual([[{ a: 1 }]]);
    expect(fake.pageCalls).toHaveLength(1);
  });
});

describe("BigQuery errors after the client's retries", () => {
  async function failing(failure: unknown, via: "query" | "stream" | "estimate" = "query"): Promise<unknown> {
    fake.failure = failure;
    const c = connector();
    try {
      if (via === "query") await c.query(sql`SELECT 1`);
      else if (via === "stream") await collect(c.stream(sql`SELECT 1`));
      else await c.estimateBytes(sql`SELECT 1`);
    } catch (error) {
      return error;
    }
    throw new Error("no error");
  }

  function apiError(code: number | string | undefined, reason?: string, message = "failed"): Error {
    return Object.assign(new Error(message), { code, errors: reason ? [{ reason, message }] : undefined });
  }

  it("reports a 5xx, a rate or quota limit and no network as WAREHOUSE_UNAVAILABLE, with the cause", async () => {
    for (const via of ["query", "stream", "estimate"] as const) {
      for (const failure of [
        apiError(500, "backendError", "Internal"),
        apiError(503, "backendError"),
        // A 5xx without a reason (a proxy's), from the first one.
        apiError(500),
        apiError(502),
        apiError(429, "rateLimitExceeded"),
        // A 429 without a reason (a proxy's, or the API front end's).
        apiError(429),
        // Rate and quota limits BigQuery answers with 403.
        apiError(403, "rateLimitExceeded"),
        apiError(403, "jobRateLimitExceeded"),
        apiError(403, "quotaExceeded"),
        apiError("ECONNREFUSED"),
        apiError("ECONNRESET"),
        apiError("ETIMEDOUT"),
        apiError("ENOTFOUND"),
        apiError("EAI_AGAIN"),
      ]) {
        const error = await failing(failure, via);
        expect(error, `${(failure as unknown as { code: unknown }).code} by ${via}`).toBeInstanceOf(
          WarehouseUnavailableError,
        );
        expect(error).toMatchObject({
          code: "WAREHOUSE_UNAVAILABLE",
          message: `BigQuery unavailable: ${(failure as Error).message}`,
          cause: failure,
        });
      }
    }
  });

  it("reports a query over maximumBytesBilled as QUERY_TOO_EXPENSIVE, by reason or by wording", async () => {
    for (const failure of [
      apiError(400, "bytesBilledLimitExceeded", "Query exceeded limit for bytes billed: 1000000."),
      new Error("Error: bytesBilledLimitExceeded"),
    ]) {
      const error = await failing(failure);
      expect(error).toBeInstanceOf(QueryTooExpensiveError);
      expect(error).toEqual(new QueryTooExpensiveError(null, 1_000_000));
    }
  });

  it("leaves a bad query, a job timeout and other client errors as they are", async () => {
    for (const failure of [
      apiError(400, "invalidQuery", "Syntax error"),
      apiError(400, "jobTimeout", "Job timed out"),
      apiError(403, "accessDenied"),
      apiError(404, "notFound"),
      apiError(499),
      apiError(undefined),
      apiError("EPIPE"),
    ]) {
      expect(await failing(failure)).toBe(failure);
    }
    expect(await failing(null)).toBeNull();
    expect(await failing("text")).toBe("text");
  });
});

// The BigQuery connector through the real client library, against a local wire-format endpoint.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { BIGQUERY_RETRY, BigQueryConnector } from "../../src/connectors/bigquery.ts";
import { WarehouseUnavailableError } from "../../src/connectors/connector.ts";
import { DEFAULT_MAPPING } from "../../src/sql/contract.ts";
import { sql } from "../../src/sql/sql.ts";
import { startFakeBigQuery, type FakeBigQuery } from "../helpers/fake-bigquery.ts";

const PROJECT = "clm-test-project";
let fake: FakeBigQuery;
let connector: BigQueryConnector;

beforeAll(async () => {
  fake = await startFakeBigQuery(PROJECT, (query, params) => {
    if (query.includes("INFORMATION_SCHEMA")) {
      return {
        fields: [{ name: "column_name", type: "STRING" }],
        rows:
          params.p1 === "transactions" ? [["customer_id"], ["occurred_at"], ["amount"], ["order_id"], ["channel"]] : [],
      };
    }
    if (query.includes("count(*)")) return { fields: [{ name: "n", type: "INTEGER" }], rows: [["1234"]] };
    if (query.includes("slow")) return { fields: [{ name: "x", type: "STRING" }], rows: [["late"]], slow: true };
    if (query.includes("'flaky'")) {
      return {
        fields: [{ name: "x", type: "STRING" }],
        rows: [["ok"]],
        failFirst: { times: 1, status: 503, reason: "backendError" },
      };
    }
    if (query.includes("'throttled'")) {
      return {
        fields: [{ name: "x", type: "STRING" }],
        rows: [["ok"]],
        failFirst: { times: 1, status: 429, reason: "rateLimitExceeded" },
      };
    }
    if (query.includes("'down'")) {
      return { fields: [], rows: [], failFirst: { times: 99, status: 503, reason: "backendError" } };
    }
    if (query.includes("'broken'")) {
      return { fields: [], rows: [], failFirst: { times: 99, status: 400, reason: "invalidQuery" } };
    }
    if (query.includes("big_scan")) return { fields: [], rows: [], bytes: 123_456_789 };
    if (query.includes("many_rows")) {
      return {
        fields: [{ name: "i", type: "INTEGER" }],
        rows: Array.from({ length: 2_500 }, (_, i) => [String(i + 1)]),
      };
    }
    return { fields: [{ name: "ok", type: "INTEGER" }], rows: [["1"]] };
  });
  connector = new BigQueryConnector(
    { project: PROJECT, dataset: "shop", location: "EU", maxBytesBilled: 5_000_000, clientOptions: fake.clientOptions },
    DEFAULT_MAPPING,
  );
});
afterAll(async () => {
  await fake?.close();
});

describe("BigQuery connector", () => {
  it("pings with one jobs.query carrying the byte budget, labels, location and default dataset", async () => {
    fake.requests.length = 0;
    await connector.ping();
    expect(fake.requests).toHaveLength(1);
    const [request] = fake.requests;
    expect(request).toMatchObject({ method: "POST", path: `/bigquery/v2/projects/${PROJECT}/queries` });
    expect(request!.body).toMatchObject({
      query: "SELECT 1 AS ok",
      useLegacySql: false,
      maximumBytesBilled: "5000000",
      location: "EU",
      labels: { app: "clm-graphql", query: "ping" },
      defaultDataset: { projectId: PROJECT, datasetId: "shop" },
    });
  });

  it("sends values as named, typed query parameters", async () => {
    fake.requests.length = 0;
    await connector.query(
      sql`SELECT 1 AS ok FROM t WHERE a = ${"x"} AND b = ${2} AND c = ${1.5} AND d IN UNNEST(${["p", "q"]})`,
    );
    const body = fake.requests[0]!.body!;
    expect(body.query).toBe("SELECT 1 AS ok FROM t WHERE a = @p1 AND b = @p2 AND c = @p3 AND d IN UNNEST(@p4)");
    expect(body.parameterMode).toBe("named");
    expect(body.queryParameters).toEqual([
      { name: "p1", parameterType: { type: "STRING" }, parameterValue: { value: "x" } },
      { name: "p2", parameterType: { type: "INT64" }, parameterValue: { value: 2 } },
      { name: "p3", parameterType: { type: "FLOAT64" }, parameterValue: { value: 1.5 } },
      {
        name: "p4",
        parameterType: { type: "ARRAY", arrayType: { type: "STRING" } },
        parameterValue: { arrayValues: [{ value: "p" }, { value: "q" }] },
      },
    ]);
  });

  it("polls a job that is not complete in its first response", async () => {
    fake.requests.length = 0;
    expect(await connector.query(sql`SELECT 'slow' AS x`)).toEqual([{ x: "late" }]);
    expect(fake.requests.map((r) => r.method)).toEqual(["POST", "GET"]);
  });

  it("retries transient errors (backend error, rate limit) with backoff, not a bad query", async () => {
    for (const kind of ["flaky", "throttled"]) {
      fake.requests.length = 0;
      expect(
        await connector.query(sql`SELECT ${"x"} AS x, ${kind === "flaky" ? sql`'flaky'` : sql`'throttled'`} AS k`),
      ).toEqual([{ x: "ok" }]);
      expect(fake.requests.map((r) => r.method)).toEqual(["POST", "POST"]);
    }
    fake.requests.length = 0;
    await expect(connector.query(sql`SELECT 'broken' AS x`)).rejects.toThrow(/fake invalidQuery/);
    expect(fake.requests).toHaveLength(1);
  });

  it("reports a BigQuery still failing after its retries as unavailable, and a bad query as itself", async () => {
    const impatient = new BigQueryConnector(
      {
        project: PROJECT,
        dataset: "shop",
        location: "EU",
        maxBytesBilled: 5_000_000,
        clientOptions: {
          ...fake.clientOptions,
          retryOptions: { ...BIGQUERY_RETRY, maxRetries: 1, maxRetryDelay: 0.05 },
        },
      },
      DEFAULT_MAPPING,
    );
    await expect(impatient.query(sql`SELECT 'down' AS x`)).rejects.toBeInstanceOf(WarehouseUnavailableError);
    const bad = await impatient.query(sql`SELECT 'broken' AS x`).catch((e: unknown) => e);
    expect(bad).toBeInstanceOf(Error);
    expect(bad).not.toBeInstanceOf(WarehouseUnavailableError);
  });

  it("estimates the bytes a query would scan with a dry run", async () => {
    fake.requests.length = 0;
    expect(await connector.estimateBytes(sql`SELECT * FROM big_scan WHERE a = ${1}`)).toBe(123_456_789);
    expect(fake.requests[0]!.body!.configuration).toMatchObject({
      dryRun: true,
      query: { maximumBytesBilled: "5000000" },
    });
  });

  it("with a job timeout, creates the job carrying it and polls for the rows", async () => {
    const limited = new BigQueryConnector(
      {
        project: PROJECT,
        dataset: "shop",
        location: "EU",
        maxBytesBilled: 5_000_000,
        jobTimeoutMs: 30_000,
        clientOptions: fake.clientOptions,
      },
      DEFAULT_MAPPING,
    );
    fake.requests.length = 0;
    expect(await limited.query(sql`SELECT 1 AS ok`)).toEqual([{ ok: 1 }]);
    expect(fake.requests[0]).toMatchObject({ method: "POST", path: `/bigquery/v2/projects/${PROJECT}/jobs` });
    expect(fake.requests[0]!.body!.configuration).toMatchObject({
      jobTimeoutMs: "30000",
      query: { maximumBytesBilled: "5000000" },
    });
    expect(fake.requests.slice(1).every((r) => r.method === "GET")).toBe(true);
  });

  it("streams results page by page from the job's results", async () => {
    fake.requests.length = 0;
    const batches: number[][] = [];
    for await (const batch of connector.stream<{ i: number }>(sql`SELECT i FROM many_rows`, { batchRows: 1_000 })) {
      batches.push(batch.map((r) => r.i));
    }
    expect(batches.map((b) => b.length)).toEqual([1_000, 1_000, 500]);
    expect(batches.flat()).toEqual(Array.from({ length: 2_500 }, (_, i) => i + 1));
    const pages = fake.requests.filter((r) => r.method === "GET");
    expect(pages).toHaveLength(3);
    expect(fake.requests.filter((r) => r.method === "POST")).toHaveLength(1);
  });

  it("reports the contract tables from INFORMATION_SCHEMA, decoding INT64 counts", async () => {
    const statuses = await connector.tableStatus();
    expect(statuses.map((s) => [s.source, s.present, s.rowCount])).toEqual([
      ["shop.transactions", true, 1234],
      ["shop.customers", false, null],
      ["shop.events", false, null],
      ["shop.marketing_spend", false, null],
    ]);
  });
});

describe("BigQuery writeback", () => {
  it("replaces a table with one load job of newline-delimited JSON, streamed from the pages", async () => {
    const before = fake.loads.length;
    const table = {
      name: "clm_customer_state",
      columns: [
        { name: "customer_id", type: "text" },
        { name: "state_day", type: "date" },
        { name: "revenue", type: "number" },
      ],
    } as const;
    async function* pages() {
      yield [
        ["a", "2026-06-30", 12.5],
        ['b "quoted"', "2026-06-30", null],
      ];
      yield [];
      yield [["c", null, 3]];
    }
    expect(await connector.replaceTable(table, pages())).toBe(3);
    expect(fake.loads).toHaveLength(before + 1);
    const { configuration, data } = fake.loads.at(-1)!;
    expect(configuration).toMatchObject({
      destinationTable: { projectId: PROJECT, datasetId: "shop", tableId: "clm_customer_state" },
      sourceFormat: "NEWLINE_DELIMITED_JSON",
      writeDisposition: "WRITE_TRUNCATE",
      createDisposition: "CREATE_IF_NEEDED",
      schema: {
        fields: [
          { name: "customer_id", type: "STRING", mode: "NULLABLE" },
          { name: "state_day", type: "DATE", mode: "NULLABLE" },
          { name: "revenue", type: "FLOAT64", mode: "NULLABLE" },
        ],
      },
    });
    expect(
      data
        .trimEnd()
        .split("\n")
        .map((line) => JSON.parse(line)),
    ).toEqual([
      { customer_id: "a", state_day: "2026-06-30", revenue: 12.5 },
      { customer_id: 'b "quoted"', state_day: "2026-06-30", revenue: null },
      { customer_id: "c", state_day: null, revenue: 3 },
    ]);
  });
});

// Warehouse faults and the guard around the warehouse (src/warehouse/guarded-warehouse.ts): retries
// with backoff within the deadline, the circuit breaker and recovery, deadlines that cancel queries,
// the result cache (in memory and in a real Redis), and the same faults seen through GraphQL.
import { performance } from "node:perf_hooks";
import { pino } from "pino";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { BigQueryConnector } from "../../src/connectors/bigquery.ts";
import {
  QueryTooExpensiveError,
  WarehouseUnavailableError,
  type QueryOptions,
  type Row,
  type WarehouseConnector,
} from "../../src/connectors/connector.ts";
import { DEFAULT_MAPPING, resolveMapping } from "../../src/sql/contract.ts";
import { duckdbDialect } from "../../src/connectors/duckdb.ts";
import { pgPoolSource, PostgresConnector } from "../../src/connectors/postgres.ts";
import { ident, join, sql, type Sql } from "../../src/sql/sql.ts";
import { newRequestScope, runInRequestScope } from "../../src/request-scope.ts";
import { ServerMetrics } from "../../src/observability/metrics.ts";
import {
  DEFAULT_GUARD_SETTINGS,
  DeadlineExceededError,
  GuardedWarehouse,
  type GuardSettings,
} from "../../src/warehouse/guarded-warehouse.ts";
import { deserializeRows, serializeRows, ttlFor } from "../../src/warehouse/result-cache.ts";
import { DEFAULT_CACHE_SETTINGS } from "../../src/config/defaults.ts";
import { TEST_DATABASE_URL, testName } from "../helpers/databases.ts";
import { startFakeBigQuery } from "../helpers/fake-bigquery.ts";
import { startTestServer } from "../helpers/server.ts";
import { startProxy } from "../helpers/tcp-proxy.ts";

const silent = pino({ level: "silent" });
const KEPT_DEFINITION = { field: "stage", op: "eq", value: "new" };

type Mode = "ok" | "down" | "hang" | "hang-ignoring-abort" | "bad-query";

/** A warehouse whose answers a test scripts: each query returns its first parameter, or fails as told. */
class ScriptedWarehouse implements WarehouseConnector {
  readonly kind = "duckdb" as const;
  readonly dialect = duckdbDialect;
  readonly mapping = DEFAULT_MAPPING;
  mode: Mode = "ok";
  /** Fail this many more queries as unavailable, then answer. */
  failNext = 0;
  delayMs = 0;
  calls = 0;
  version = `v-${Math.random()}`;

  async query<R extends Row = Row>(query: Sql, options: QueryOptions = {}): Promise<R[]> {
    this.calls += 1;
    if (this.failNext > 0) {
      this.failNext -= 1;
      throw new WarehouseUnavailableError("connection reset (scripted)");
    }
    if (this.mode === "down") throw new WarehouseUnavailableError("connection refused (scripted)");
    if (this.mode === "bad-query") throw new Error("syntax error (scripted)");
    if (this.mode === "hang") {
      return new Promise((_, reject) =>
        options.signal?.addEventListener("abort", () => reject(options.signal!.reason)),
      );
    }
    if (this.mode === "hang-ignoring-abort") return new Promise(() => {});
    if (this.delayMs) await new Promise((r) => setTimeout(r, this.delayMs));
    const first = query.parts.find((p) => p.kind === "param");
    return [
      { v: first && "value" in first ? first.value : null, at: new Date(Date.UTC(2026, 0, 2)) },
    ] as unknown as R[];
  }
  async *stream<R extends Row = Row>(): AsyncIterable<R[]> {}
  async ping(): Promise<void> {
    if (this.mode !== "ok") throw new WarehouseUnavailableError("down");
  }
  async tableStatus() {
    return [];
  }
  async dataVersion(): Promise<string> {
    return this.version;
  }
  async close(): Promise<void> {}
}

function guard(inner: WarehouseConnector, settings: Partial<GuardSettings> = {}, metrics = new ServerMetrics()) {
  return new GuardedWarehouse(
    inner,
    { ...DEFAULT_GUARD_SETTINGS, initialDelayMs: 5, maxDelayMs: 20, halfOpenAfterMs: 200, cache: null, ...settings },
    silent,
    metrics,
  );
}

function inRequest<T>(deadlineMs: number, work: () => Promise<T>): Promise<T> {
  return runInRequestScope(newRequestScope("test", deadlineMs), work);
}

async function metricValue(metrics: ServerMetrics, name: string, labels: Record<string, string> = {}) {
  const metric = (await metrics.registry.getMetricsAsJSON()).find((m) => m.name === name);
  const value = (metric?.values ?? []).find((v) =>
    Object.entries(labels).every(([k, l]) => (v.labels as Record<string, unknown>)[k] === l),
  );
  return value?.value ?? 0;
}

describe("retries", () => {
  it("retries a transient failure with backoff and answers", async () => {
    const inner = new ScriptedWarehouse();
    const metrics = new ServerMetrics();
    const g = guard(inner, {}, metrics);
    inner.failNext = 2;
    expect(await inRequest(5_000, () => g.query(sql`SELECT ${"a"}`))).toEqual([{ v: "a", at: expect.any(Date) }]);
    expect(inner.calls).toBe(3);
    expect(await metricValue(metrics, "clm_warehouse_retries_total")).toBe(2);
    expect(await metricValue(metrics, "clm_warehouse_queries_total", { outcome: "unavailable" })).toBe(2);
    expect(await metricValue(metrics, "clm_warehouse_queries_total", { outcome: "ok" })).toBe(1);
  });

  it("does not retry a bad query, nor count it against the warehouse", async () => {
    const inner = new ScriptedWarehouse();
    const g = guard(inner);
    inner.mode = "bad-query";
    for (let i = 0; i < 8; i++) await expect(g.query(sql`SELECT ${i}`)).rejects.toThrow(/syntax error/);
    expect(inner.calls).toBe(8);
    expect(g.circuitOpen).toBe(false);
  });

  it("gives up after its attempts", async () => {
    const inner = new ScriptedWarehouse();
    const g = guard(inner, { breakAfterFailures: 100 });
    inner.mode = "down";
    await expect(g.query(sql`SELECT 1`)).rejects.toBeInstanceOf(WarehouseUnavailableError);
    expect(inner.calls).toBe(DEFAULT_GUARD_SETTINGS.maxAttempts);
  });

  it("does not start a retry the deadline leaves no time for", async () => {
    const inner = new ScriptedWarehouse();
    const g = guard(inner, { breakAfterFailures: 100, initialDelayMs: 100, maxDelayMs: 2_000 });
    inner.mode = "down";
    const started = performance.now();
    await expect(inRequest(1_000, () => g.query(sql`SELECT 1`))).rejects.toBeInstanceOf(WarehouseUnavailableError);
    expect(inner.calls).toBe(1);
    expect(performance.now() - started).toBeLessThan(500);
  });
});

describe("circuit breaker", () => {
  it("opens after consecutive failures, fails fast without touching the warehouse, and closes once it answers", async () => {
    const inner = new ScriptedWarehouse();
    const metrics = new ServerMetrics();
    const g = guard(inner, { breakAfterFailures: 5, halfOpenAfterMs: 300 }, metrics);
    inner.mode = "down";
    for (let i = 0; i < 2; i++)
      await expect(g.query(sql`SELECT ${i}`)).rejects.toBeInstanceOf(WarehouseUnavailableError);
    expect(g.circuitOpen).toBe(true);
    expect(await metricValue(metrics, "clm_warehouse_circuit_open")).toBe(1);
    const calls = inner.calls;
    const started = performance.now();
    const error = await g.query(sql`SELECT 9`).catch((e: unknown) => e);
    expect(performance.now() - started).toBeLessThan(50);
    expect(error).toBeInstanceOf(WarehouseUnavailableError);
    expect((error as Error).message).toMatch(/fail fast/);
    expect(inner.calls).toBe(calls);

    inner.mode = "ok";
    await new Promise((r) => setTimeout(r, 350));
    expect(await g.query(sql`SELECT ${"back"}`)).toEqual([{ v: "back", at: expect.any(Date) }]);
    expect(g.circuitOpen).toBe(false);
    expect(await metricValue(metrics, "clm_warehouse_circuit_open")).toBe(0);
  });

  it("also fails a stream fast while open", async () => {
    const inner = new ScriptedWarehouse();
    const g = guard(inner, { breakAfterFailures: 1 });
    inner.mode = "down";
    await expect(g.query(sql`SELECT 1`)).rejects.toBeInstanceOf(WarehouseUnavailableError);
    const iterator = g.stream(sql`SELECT 1`)[Symbol.asyncIterator]();
    await expect(iterator.next()).rejects.toBeInstanceOf(WarehouseUnavailableError);
  });
});

describe("deadline", () => {
  for (const mode of ["hang", "hang-ignoring-abort"] as const) {
    it(`cancels a query that outlives the request's deadline (${mode})`, async () => {
      const inner = new ScriptedWarehouse();
      const g = guard(inner);
      inner.mode = mode;
      const started = performance.now();
      const error = await inRequest(300, () => g.query(sql`SELECT 1`)).catch((e: unknown) => e);
      const elapsed = performance.now() - started;
      expect(error).toBeInstanceOf(DeadlineExceededError);
      expect(elapsed).toBeGreaterThanOrEqual(280);
      expect(elapsed).toBeLessThan(1_000);
      expect(inner.calls).toBe(1);
    });
  }

  it("does not open the circuit for queries that only ran out of time (slow is not dead)", async () => {
    const inner = new ScriptedWarehouse();
    const g = guard(inner, { breakAfterFailures: 3 });
    inner.mode = "hang";
    for (let i = 0; i < 4; i++)
      await expect(inRequest(100, () => g.query(sql`SELECT ${i}`))).rejects.toBeInstanceOf(DeadlineExceededError);
    expect(g.circuitOpen).toBe(false);
    inner.mode = "ok";
    expect(await inRequest(100, () => g.query(sql`SELECT ${"fine"}`))).toEqual([{ v: "fine", at: expect.any(Date) }]);
  });
});

describe("result cache", () => {
  const cache = { ...DEFAULT_CACHE_SETTINGS };

  it("answers a repeated query from the cache; another value, another key", async () => {
    const inner = new ScriptedWarehouse();
    const metrics = new ServerMetrics();
    const g = guard(inner, { cache }, metrics);
    const first = await g.query(sql`SELECT ${"x"}`);
    const again = await g.query(sql`SELECT ${"x"}`);
    expect(again).toEqual(first);
    expect(again[0]!.at).toBeInstanceOf(Date);
    expect(inner.calls).toBe(1);
    await g.query(sql`SELECT ${"y"}`);
    expect(inner.calls).toBe(2);
    await g.query(sql`SELECT ${"x"}`, { cache: false });
    expect(inner.calls).toBe(3);
    expect(await metricValue(metrics, "clm_cache_requests_total", { result: "hit" })).toBe(1);
    expect(await metricValue(metrics, "clm_cache_requests_total", { result: "miss" })).toBe(2);
  });

  it("misses once the data version changes (looked up again after its interval)", async () => {
    const inner = new ScriptedWarehouse();
    const g = guard(inner, { cache, dataVersionSeconds: 0.05 });
    await g.query(sql`SELECT ${"x"}`);
    inner.version = "after-a-load";
    await new Promise((r) => setTimeout(r, 80));
    // The stale version serves this one while the new version is fetched …
    await g.query(sql`SELECT ${"x"}`);
    await new Promise((r) => setTimeout(r, 20));
    // … and the next query is keyed by the new one.
    await g.query(sql`SELECT ${"x"}`);
    expect(inner.calls).toBe(2);
  });

  it("caches a keyed query per key: only keys not seen before reach the warehouse", async () => {
    const asked: string[][] = [];
    const inner = new ScriptedWarehouse();
    inner.query = async <R extends Row = Row>(query: Sql): Promise<R[]> => {
      inner.calls += 1;
      const ids = query.parts.flatMap((p) => (p.kind === "param" ? [p.value as string] : []));
      asked.push(ids);
      // "ghost" does not exist: no row for it.
      return ids
        .filter((id) => id !== "ghost")
        .map((id) => ({ id, at: new Date(Date.UTC(2026, 0, 2)) })) as unknown as R[];
    };
    const g = guard(inner, { cache });
    const build = (ids: readonly string[]) => sql`SELECT ${join(ids.map((id) => sql`${id}`))}`;
    const byId = (row: Row) => String(row.id);
    const ids = (rows: Row[]) => rows.map((r) => String(r.id)).sort();

    expect(ids(await g.queryPerKey(["a", "b", "ghost"], build, byId))).toEqual(["a", "b"]);
    // a and b and the known-absent ghost answer from the cache; only c is asked for.
    const second = await g.queryPerKey(["c", "a", "ghost", "b", "a"], build, byId);
    expect(ids(second)).toEqual(["a", "b", "c"]);
    expect(second.find((r) => r.id === "a")!.at).toBeInstanceOf(Date);
    expect(await g.queryPerKey(["b", "c"], build, byId)).toHaveLength(2);
    expect(asked).toEqual([["a", "b", "ghost"], ["c"]]);

    // Another data version: everything is asked for again.
    inner.version = "after-a-load";
    const fresh = guard(inner, { cache });
    await fresh.queryPerKey(["a"], build, byId);
    expect(asked.at(-1)).toEqual(["a"]);
    // Without a cache: one plain query each time.
    const uncached = guard(inner);
    await uncached.queryPerKey(["a"], build, byId);
    await uncached.queryPerKey(["a"], build, byId);
    expect(asked.slice(-2)).toEqual([["a"], ["a"]]);
  });

  it("shares one warehouse query among concurrent identical requests", async () => {
    const inner = new ScriptedWarehouse();
    inner.delayMs = 50;
    const g = guard(inner, { cache });
    const answers = await Promise.all(Array.from({ length: 8 }, () => g.query(sql`SELECT ${"same"}`)));
    expect(answers.every((a) => a[0]!.v === "same")).toBe(true);
    expect(inner.calls).toBe(1);
  });

  it("keeps answering cached results while the warehouse is down", async () => {
    const inner = new ScriptedWarehouse();
    const g = guard(inner, { cache });
    await g.query(sql`SELECT ${"settled"}`, { asOf: "2025-01-31" });
    inner.mode = "down";
    expect(await g.query(sql`SELECT ${"settled"}`, { asOf: "2025-01-31" })).toEqual([
      { v: "settled", at: new Date(Date.UTC(2026, 0, 2)) },
    ]);
  });

  it("keeps settled days long and recent ones briefly", () => {
    expect(ttlFor(cache, "2026-11-01", "2026-11-23")).toBe(cache.pastTtlSeconds);
    expect(ttlFor(cache, "2026-11-23", "2026-11-23")).toBe(cache.ttlSeconds);
    expect(ttlFor(cache, undefined, "2026-11-23")).toBe(cache.ttlSeconds);
  });

  it("round-trips rows with dates, nulls and nested values through its serialization", () => {
    const rows = [{ a: new Date(Date.UTC(2026, 5, 30, 12)), b: null, c: [1, 2], d: "$clmDate", e: 1.5 }];
    expect(deserializeRows(serializeRows(rows))).toEqual(rows);
  });

  it("treats an unreachable Redis as a miss: queries still answer, quickly", async () => {
    const inner = new ScriptedWarehouse();
    const g = guard(inner, { cache: { ...cache, redisUrl: "redis://127.0.0.1:1" } });
    const started = performance.now();
    expect(await g.query(sql`SELECT ${"no-redis"}`)).toEqual([{ v: "no-redis", at: expect.any(Date) }]);
    expect(await g.query(sql`SELECT ${"no-redis"}`)).toEqual([{ v: "no-redis", at: expect.any(Date) }]);
    expect(inner.calls).toBe(2);
    expect(performance.now() - started).toBeLessThan(2_000);
    await g.close();
  });

  const redisUrl = process.env.TEST_REDIS_URL;
  it.skipIf(!redisUrl)("shares results between instances through a real Redis (TEST_REDIS_URL)", async () => {
    const version = `v-${Math.random()}`;
    const first = Object.assign(new ScriptedWarehouse(), { version });
    const second = Object.assign(new ScriptedWarehouse(), { version });
    const a = guard(first, { cache: { ...cache, redisUrl } });
    const b = guard(second, { cache: { ...cache, redisUrl } });
    try {
      await Promise.all([a.cacheReady(), b.cacheReady()]);
      expect(await a.query(sql`SELECT ${"shared"}`)).toEqual([{ v: "shared", at: new Date(Date.UTC(2026, 0, 2)) }]);
      // Written after the answer; give the SET its round trip.
      await new Promise((r) => setTimeout(r, 50));
      expect(await b.query(sql`SELECT ${"shared"}`)).toEqual([{ v: "shared", at: new Date(Date.UTC(2026, 0, 2)) }]);
      expect(first.calls).toBe(1);
      expect(second.calls).toBe(0);
    } finally {
      await a.close();
      await b.close();
    }
  });
});

describe("BigQuery faults (fake endpoint)", () => {
  const PROJECT = "clm-fake-project";
  let fake: Awaited<ReturnType<typeof startFakeBigQuery>>;
  let state: "ok" | "500" | "hang" | "expensive" = "ok";

  beforeAll(async () => {
    fake = await startFakeBigQuery(PROJECT, () => {
      const fields = [{ name: "ok", type: "INT64" }];
      if (state === "500") return { fields, rows: [], failFirst: { times: 1e9, status: 500, reason: "backendError" } };
      if (state === "hang") return { fields, rows: [], hang: true };
      return { fields, rows: [["1"]], bytes: state === "expensive" ? 50_000_000_000 : 1_000 };
    });
  });
  afterAll(async () => {
    await fake?.close();
  });

  function bigquery(dryRunBudget = false) {
    return new BigQueryConnector(
      {
        project: PROJECT,
        dataset: "shop",
        location: "US",
        maxBytesBilled: 10_000_000_000,
        dryRunBudget,
        clientOptions: {
          ...fake.clientOptions,
          retryOptions: { autoRetry: true, maxRetries: 1, maxRetryDelay: 0.02, retryDelayMultiplier: 1 },
        },
      },
      DEFAULT_MAPPING,
    );
  }

  it("500s: unavailable, then fail fast once the circuit opens, then recovery when it answers again", async () => {
    const g = guard(bigquery(), { breakAfterFailures: 3, halfOpenAfterMs: 300 });
    state = "500";
    await expect(inRequest(10_000, () => g.query(sql`SELECT 1 AS ok`))).rejects.toBeInstanceOf(
      WarehouseUnavailableError,
    );
    expect(g.circuitOpen).toBe(true);
    const requests = fake.requests.length;
    await expect(inRequest(10_000, () => g.query(sql`SELECT 1 AS ok`))).rejects.toThrow(/fail fast/);
    expect(fake.requests.length).toBe(requests);
    state = "ok";
    await new Promise((r) => setTimeout(r, 350));
    expect(await inRequest(10_000, () => g.query(sql`SELECT 1 AS ok`))).toEqual([{ ok: 1 }]);
  });

  it("a hanging BigQuery: each request ends at its deadline, and answers come back when BigQuery does", async () => {
    const g = guard(bigquery());
    state = "hang";
    for (let i = 0; i < 2; i++) {
      const started = performance.now();
      await expect(inRequest(300, () => g.query(sql`SELECT 1 AS ok`))).rejects.toBeInstanceOf(DeadlineExceededError);
      expect(performance.now() - started).toBeLessThan(1_000);
    }
    state = "ok";
    expect(await inRequest(5_000, () => g.query(sql`SELECT 1 AS ok`))).toEqual([{ ok: 1 }]);
  });

  it("refuses a query whose dry run is over the byte budget before running it", async () => {
    const metrics = new ServerMetrics();
    state = "expensive";
    const connector = bigquery(true);
    const g = guard(connector, {}, metrics);
    fake.requests.length = 0;
    const error = await g.query(sql`SELECT 1 AS ok`).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(QueryTooExpensiveError);
    expect((error as Error).message).toBe(
      "the query would scan 50000000000 bytes, over the budget of 10000000000 (maximumBytesBilled); narrow it (a shorter period, a segment)",
    );
    // Only the dry run reached BigQuery; no job ran.
    expect(fake.requests.map((r) => r.body?.configuration?.dryRun)).toEqual([true]);
    expect(g.circuitOpen).toBe(false);
    state = "ok";
    fake.requests.length = 0;
    expect(await g.query(sql`SELECT 1 AS ok`)).toEqual([{ ok: 1 }]);
    expect(fake.requests.map((r) => (r.body?.configuration?.dryRun ? "dry run" : r.path.split("/").pop()))).toEqual([
      "dry run",
      "queries",
    ]);
  });
});

describe("through GraphQL", () => {
  it("caches lookups per customer: a batch of known and new ids asks the warehouse only for the new", async () => {
    const server = await startTestServer({ customers: 60, guard: { cache: DEFAULT_CACHE_SETTINGS } });
    try {
      const lookup = `query ($ids: [ID!]!) { customers(ids: $ids, asOf: "2026-06-30") { id stage { key } } }`;
      const first = await server.graphql(lookup, { ids: ["c000001", "c000002"] });
      expect(first.errors).toBeUndefined();
      const before = server.warehouseQueries.length;
      const mixed = await server.graphql(lookup, { ids: ["c000002", "c000003", "c000001"] });
      expect(mixed.errors).toBeUndefined();
      const asked = server.warehouseQueries.slice(before);
      // One features query (for c000003 only: which ids it carries is checked on the guard above).
      expect(asked).toEqual(["customer_features"]);
      const again = server.warehouseQueries.length;
      const cached = await server.graphql(lookup, { ids: ["c000003", "c000001", "c000002"] });
      expect(server.warehouseQueries.length).toBe(again);
      // The same stages whichever way they were loaded.
      const stageOf = (r: typeof first) =>
        Object.fromEntries(
          (r.data!.customers as { id: string; stage: { key: string } }[]).map((c) => [c.id, c.stage.key]),
        );
      expect(stageOf(cached)).toEqual({ ...stageOf(first), ...stageOf(mixed) });
    } finally {
      await server.close();
    }
  });

  it("lookups arriving while the shared batch's query runs gather into the next batch, not one each", async () => {
    const server = await startTestServer({ customers: 60, stateMode: "off" });
    try {
      // One query of the shared lookups at a time (two slots, half each caller's), each taking 200 ms.
      expect(server.guarded.queriesPerCaller).toBe(1);
      const query = server.warehouse.query.bind(server.warehouse);
      server.warehouse.query = (async (q: Sql, options?: QueryOptions) => {
        if (options?.label === "customer_features") await new Promise((resolve) => setTimeout(resolve, 200));
        return query(q, options);
      }) as typeof server.warehouse.query;
      const ids = Array.from({ length: 30 }, (_, i) => `c${String(i + 1).padStart(6, "0")}`);
      // One lookup first, so the timed ones do not wait behind the first request's warm-up.
      await server.graphql(`{ customer(id: "c000031", asOf: "2026-06-30") { id } }`);
      server.warehouseQueries.length = 0;
      // A lookup every 10 ms, each its own request (its own turn of the event loop): 300 ms of arrivals.
      const answers = await Promise.all(
        ids.map(async (id, i) => {
          await new Promise((resolve) => setTimeout(resolve, i * 10));
          return server.graphql<{ customer: { id: string } | null }>(
            `query ($id: ID!) { customer(id: $id, asOf: "2026-06-30") { id } }`,
            { id },
          );
        }),
      );
      expect(answers.map((a) => a.errors)).toEqual(ids.map(() => undefined));
      expect(answers.map((a) => a.data?.customer?.id ?? null)).toEqual(ids);
      // The first lookup's batch runs alone; the ones arriving during its 200 ms wait and go as one, and
      // so on: a few queries, where a batch per turn of the event loop made most of one per lookup (16-22
      // of 30 on a machine busy with the rest of the suite).
      const batches = server.warehouseQueries.filter((l) => l === "customer_features").length;
      expect(batches).toBeLessThanOrEqual(6);
    } finally {
      await server.close();
    }
  });

  it("answers a repeated operation from the cache, and logs and counts each request", async () => {
    const logLines: Record<string, unknown>[] = [];
    const server = await startTestServer({ customers: 60, guard: { cache: DEFAULT_CACHE_SETTINGS }, logLines });
    try {
      const query = `query StagesToday { stages(asOf: "2026-06-30") { key count } }`;
      const first = await server.graphql(query);
      const queriesAfterFirst = server.warehouseQueries.length;
      const second = await server.graphql(query);
      expect(second).toEqual(first);
      expect(server.warehouseQueries.length).toBe(queriesAfterFirst);
      const requests = logLines.filter((l) => l.msg === "request" && l.operation === "StagesToday");
      expect(requests).toHaveLength(2);
      expect(requests[0]).toMatchObject({ status: 200, operationType: "query", principal: "anonymous" });
      expect(requests[0]!.warehouseQueries).toBeGreaterThan(0);
      expect(requests[1]).toMatchObject({ warehouseQueries: 0, cacheHits: expect.any(Number) });
      expect(requests[1]!.cacheHits).toBeGreaterThan(0);
      expect(typeof requests[0]!.durationMs).toBe("number");
      expect(typeof requests[0]!.requestId).toBe("string");

      const scrape = await server.yoga.fetch("http://test/metrics");
      expect(scrape.headers.get("content-type")).toMatch(/^text\/plain/);
      const text = await scrape.text();
      expect(text).toMatch(/clm_graphql_request_duration_seconds_count\{operation="StagesToday",type="query"\} 2/);
      expect(text).toMatch(/clm_cache_requests_total\{result="hit"\} [1-9]/);
      expect(text).toMatch(/clm_http_requests_total\{route="\/graphql",status="200"\} 2/);
      expect(text).toMatch(/clm_process_resident_memory_bytes \d+/);
    } finally {
      await server.close();
    }
  });

  it("DEADLINE_EXCEEDED when the warehouse outlives the request's deadline, then answers again", async () => {
    const server = await startTestServer({ customers: 40, requestTimeoutMs: 300 });
    try {
      const query = server.warehouse.query;
      server.warehouse.query = (() => new Promise(() => {})) as typeof query;
      const started = performance.now();
      const body = await server.graphql(`{ stages(asOf: "2026-06-30") { count } }`);
      expect(performance.now() - started).toBeLessThan(2_000);
      expect(body.errors?.[0]?.extensions).toMatchObject({ code: "DEADLINE_EXCEEDED", deadlineMs: 300 });
      server.warehouse.query = query;
      expect((await server.graphql(`{ stages(asOf: "2026-06-30") { count } }`)).errors).toBeUndefined();
    } finally {
      await server.close();
    }
  });

  it("in a batch, a failing lookup fails only its own field; a client going away cancels no one else's", async () => {
    const server = await startTestServer({ customers: 40 });
    try {
      const mapped = server.warehouse.mapping.tables.transactions;
      const ids = (
        await server.warehouse.query<{ id: string }>(
          sql`SELECT DISTINCT ${ident(mapped.columns.customer_id)} AS id FROM ${ident(mapped.table)} ORDER BY 1 LIMIT 2`,
        )
      ).map((r) => r.id);
      const query = server.warehouse.query.bind(server.warehouse);
      server.warehouse.query = (async (q: Sql, options?: QueryOptions) => {
        const values = q.parts.flatMap((p) => (p.kind === "param" ? [p.value] : []));
        if (values.includes("2026-05-31")) throw new Error("this day's query breaks (scripted)");
        // Slow enough for a client to go away meanwhile; cancelled by the query's own signal only.
        await new Promise<void>((resolve, reject) => {
          const timer = setTimeout(resolve, 300);
          options?.signal?.addEventListener("abort", () => {
            clearTimeout(timer);
            reject(options.signal!.reason);
          });
        });
        return query(q, options);
      }) as typeof server.warehouse.query;

      const both = await server.graphql<Record<string, { stage: { key: string } } | null>>(
        `query ($id: ID!) { a: customer(id: $id, asOf: "2026-06-30") { stage { key } } b: customer(id: $id, asOf: "2026-05-31") { stage { key } } }`,
        { id: ids[0] },
      );
      expect(both.errors?.[0]?.message).toBe("Unexpected error.");
      expect(both.data?.a?.stage).toEqual({ key: expect.any(String) });
      expect(both.data?.b).toBeNull();
      expect(both.errors?.map((e) => e.path)).toEqual([["b"]]);

      const leaving = new AbortController();
      const ask = (id: string, signal?: AbortSignal) =>
        server.yoga.fetch("http://test/graphql", {
          method: "POST",
          headers: { "content-type": "application/json" },
          body: JSON.stringify({ query: `{ customer(id: "${id}", asOf: "2026-06-30") { stage { key } } }` }),
          signal,
        });
      server.warehouseQueries.length = 0;
      const gone = Promise.resolve(ask(ids[0]!, leaving.signal)).catch((e: unknown) => e);
      const staying = ask(ids[1]!);
      setTimeout(() => leaving.abort(), 100);
      const [, answer] = await Promise.all([gone, staying]);
      // Both lookups went out as one warehouse query, which the first client's leaving did not cancel.
      expect(server.warehouseQueries.filter((l) => l === "customer_features")).toHaveLength(1);
      const body = (await answer.json()) as { data: { customer: { stage: { key: string } } }; errors?: unknown };
      expect(body.errors).toBeUndefined();
      expect(body.data.customer.stage).toEqual({ key: expect.any(String) });
    } finally {
      await server.close();
    }
  });

  it("RATE_LIMITED (HTTP 429, Retry-After) past the per-caller limit", async () => {
    const server = await startTestServer({ customers: 20, rateLimitPerMinute: 3 });
    try {
      const ask = () =>
        server.yoga.fetch("http://test/graphql", {
          method: "POST",
          headers: { "content-type": "application/json" },
          body: JSON.stringify({ query: "{ __typename }" }),
        });
      for (let i = 0; i < 3; i++) expect((await ask()).status).toBe(200);
      const refused = await ask();
      expect(refused.status).toBe(429);
      expect(Number(refused.headers.get("retry-after"))).toBeGreaterThan(0);
      const body = (await refused.json()) as { errors: { message: string; extensions: Record<string, unknown> }[] };
      expect(body.errors[0]!.extensions).toMatchObject({ code: "RATE_LIMITED" });
      expect(body.errors[0]!.message).toMatch(/at most 3 requests per minute/);
      expect(await (await server.yoga.fetch("http://test/metrics")).text()).toMatch(/clm_rate_limited_total 1/);
    } finally {
      await server.close();
    }
  });
});

describe.skipIf(!TEST_DATABASE_URL)("a PostgreSQL warehouse that goes away and comes back", () => {
  it("fails fast with WAREHOUSE_UNAVAILABLE while it is gone and recovers by itself, losing no segment", async () => {
    const target = new URL(TEST_DATABASE_URL!);
    const proxy = await startProxy({ host: target.hostname, port: Number(target.port || 5432) });
    const viaProxy = new URL(TEST_DATABASE_URL!);
    viaProxy.port = String(proxy.port());
    const schema = testName();
    const server = await startTestServer({
      customers: 80,
      guard: { halfOpenAfterMs: 1_000 },
      warehouseFactory: {
        label: "postgres-via-proxy",
        open: async () =>
          Object.assign(
            new PostgresConnector(
              pgPoolSource(viaProxy.toString(), { connectionTimeoutMillis: 1_000 }),
              resolveMapping({ schema }),
            ),
            { label: "postgres-via-proxy" },
          ),
      },
    });
    try {
      const created = await server.graphql<{ createSegment: { id: string } }>(
        `mutation ($input: CreateSegmentInput!) { createSegment(input: $input) { id } }`,
        { input: { name: "kept", description: "", definition: KEPT_DEFINITION } },
      );
      expect(created.errors).toBeUndefined();
      const stages = `{ stages(asOf: "2026-06-30") { key count } }`;
      const before = await server.graphql(stages);
      expect(before.errors).toBeUndefined();

      await proxy.stop();
      const timings: number[] = [];
      for (let i = 0; i < 4; i++) {
        const started = performance.now();
        const body = await server.graphql(stages);
        timings.push(performance.now() - started);
        expect(body.errors?.[0]?.extensions).toMatchObject({ code: "WAREHOUSE_UNAVAILABLE", retryAfterSeconds: 5 });
      }
      // The first requests retry within their deadline; once the circuit is open, failing is immediate.
      expect(Math.max(...timings)).toBeLessThan(10_000);
      expect(timings.at(-1)).toBeLessThan(200);
      const ready = await server.yoga.fetch("http://test/ready");
      expect(ready.status).toBe(503);
      expect(await ready.json()).toMatchObject({ ready: false, warehouse: "unavailable", circuit: "open" });

      await proxy.start();
      await new Promise((r) => setTimeout(r, 1_100));
      expect(await server.graphql(stages)).toEqual(before);
      expect((await server.yoga.fetch("http://test/ready")).status).toBe(200);
      const segment = await server.graphql<{ segment: { name: string } }>(
        `query ($id: ID!) { segment(id: $id) { name } }`,
        { id: created.data!.createSegment.id },
      );
      expect(segment.data?.segment.name).toBe("kept");
    } finally {
      await server.close();
      await proxy.stop().catch(() => {});
      const cleanup = new PostgresConnector(pgPoolSource(TEST_DATABASE_URL!), DEFAULT_MAPPING);
      await cleanup.query(sql`DROP SCHEMA IF EXISTS ${ident(schema)} CASCADE`);
      await cleanup.close();
    }
  }, 60_000);
});

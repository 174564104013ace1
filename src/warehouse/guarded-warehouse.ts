// The warehouse as the server uses it: any connector, wrapped with what keeps one slow or dead
// warehouse from hurting every client. In order, for each query:
//  1. the result cache (a hit never touches the warehouse, so settled days stay served while it is down);
//  2. identical queries already running are joined rather than repeated;
//  3. retries of transient failures (connection loss, connect timeouts, BigQuery 5xx/429) with
//     exponential backoff and jitter, only while the request's deadline leaves time;
//  4. a circuit breaker: after consecutive failures, queries fail at once with WAREHOUSE_UNAVAILABLE
//     for a while instead of queueing on a dead server; then one trial query decides;
//  5. a slot in the fair admission queue (admission.ts): a few queries per request and per API key at
//     once, so one client cannot hold every connection; no slot in time is WAREHOUSE_BUSY, not a fault;
//  6. the request's deadline (request-scope.ts) cancels the running query, also in connectors whose
//     client cannot be cancelled (the answer is abandoned).
// Each attempt is timed into the request's warehouse time and the Prometheus metrics.
import { createHash } from "node:crypto";
import { performance } from "node:perf_hooks";
import {
  BrokenCircuitError,
  CircuitState,
  ConsecutiveBreaker,
  ExponentialBackoff,
  circuitBreaker,
  handleWhen,
  retry,
  wrap,
  type CircuitBreakerPolicy,
  type IPolicy,
} from "cockatiel";
import { SpanStatusCode } from "@opentelemetry/api";
import type { Logger } from "pino";
import {
  WarehouseBusyError,
  WarehouseUnavailableError,
  type ColumnBatch,
  type QueryOptions,
  type Row,
  type StreamOptions,
  type TableStatus,
  type WarehouseConnector,
} from "../connectors/connector.ts";
import type { Sql } from "../sql/sql.ts";
import { DomainError } from "../errors.ts";
import { currentRequestScope, deadlinePassed, type RequestScope } from "../request-scope.ts";
import type { ServerMetrics } from "../observability/metrics.ts";
import { startChildSpan } from "../observability/tracing.ts";
import { DEFAULT_QUERIES_PER_REQUEST, DEFAULT_QUEUE_WAIT_MS, type CacheSettings } from "../config/defaults.ts";
import { FairAdmission, type AdmissionTicket } from "./admission.ts";
import {
  cacheKey,
  deserializeRows,
  MemoryResultStore,
  RedisResultStore,
  serializeRows,
  ttlFor,
  type ResultStore,
} from "./result-cache.ts";

export interface GuardSettings {
  /** Attempts per query, the first included. */
  readonly maxAttempts: number;
  readonly initialDelayMs: number;
  readonly maxDelayMs: number;
  /** Consecutive failed queries that open the circuit. */
  readonly breakAfterFailures: number;
  /** How long the circuit stays open before a trial query. */
  readonly halfOpenAfterMs: number;
  /** How often the data version (the cache's key part) is looked up, at most. */
  readonly dataVersionSeconds: number;
  /** null: no result cache. */
  readonly cache: CacheSettings | null;
  /** Queries one request may run at once. */
  readonly queriesPerRequest: number;
  /** Queries one caller (API key) may run at once; absent: half the warehouse's slots. */
  readonly queriesPerCaller?: number;
  /** The longest a query waits for a slot before WAREHOUSE_BUSY (ms). */
  readonly queueWaitMs: number;
}

/** Slots of a connector that does not say how many queries it should run at once. */
const DEFAULT_CONCURRENT_QUERIES = 8;

export const DEFAULT_GUARD_SETTINGS: Omit<GuardSettings, "cache"> = {
  maxAttempts: 4,
  initialDelayMs: 100,
  maxDelayMs: 2_000,
  breakAfterFailures: 5,
  halfOpenAfterMs: 5_000,
  dataVersionSeconds: 30,
  queriesPerRequest: DEFAULT_QUERIES_PER_REQUEST,
  queueWaitMs: DEFAULT_QUEUE_WAIT_MS,
};

/** A retry is not started with less than this left before the deadline: it could not finish. */
const MIN_ATTEMPT_MS = 250;

/** The request's deadline passed while the warehouse was answering; the query was cancelled. */
export class DeadlineExceededError extends DomainError {
  readonly code = "DEADLINE_EXCEEDED";
  override readonly tellsRequestId = true;
  constructor(
    readonly deadlineMs: number,
    message = `the request's deadline of ${deadlineMs} ms passed while the warehouse was answering; the query was cancelled`,
  ) {
    super(message);
    this.name = "DeadlineExceededError";
  }

  override extensions() {
    return { deadlineMs: this.deadlineMs };
  }
}

/** Rejects with the signal's reason when it aborts, for clients that cannot cancel their call. */
function abandonOnAbort<T>(work: Promise<T>, signal: AbortSignal | undefined): Promise<T> {
  if (!signal) return work;
  return new Promise<T>((resolve, reject) => {
    const onAbort = () => reject(signal.reason);
    if (signal.aborted) return onAbort();
    signal.addEventListener("abort", onAbort, { once: true });
    work.then(resolve, reject).finally(() => signal.removeEventListener("abort", onAbort));
  });
}

function combined(...signals: (AbortSignal | undefined)[]): AbortSignal | undefined {
  const present = signals.filter((s): s is AbortSignal => s !== undefined);
  return present.length <= 1 ? present[0] : AbortSignal.any(present);
}

/** An error that means "cancelled" (the deadline or the client), not a warehouse answer. */
function isCancellation(error: unknown): boolean {
  const name = (error as { name?: unknown } | null)?.name;
  return error instanceof DeadlineExceededError || name === "AbortError" || name === "TimeoutError";
}

function yesterdayUtc(): string {
  return new Date(Date.now() - 86_400_000).toISOString().slice(0, 10);
}

export class GuardedWarehouse implements WarehouseConnector {
  readonly kind: WarehouseConnector["kind"];
  readonly dialect: WarehouseConnector["dialect"];
  readonly mapping: WarehouseConnector["mapping"];
  readonly customersPerRange: WarehouseConnector["customersPerRange"];
  readonly breaker: CircuitBreakerPolicy;
  readonly admission: FairAdmission;
  readonly queriesPerCaller: number;
  private readonly policy: IPolicy;
  private readonly store: ResultStore | null;
  /** Identical queries under way: who asked first, and whether it has its slot yet. */
  private readonly running = new Map<string, { rows: Promise<Row[]>; caller: string; admitted: boolean }>();
  private version: { value: string; at: number } | undefined;
  private versionRefresh: Promise<void> | undefined;
  /** The inner connector's column batches under the same guards as `stream`; absent when it has none. */
  readonly streamColumns?: (query: Sql, options?: StreamOptions) => AsyncIterable<ColumnBatch>;
  /**
   * The inner connector's table writes (the state writeback) and dry runs, failing fast while the
   * circuit is open; not retried (the rows are read once) and not queued (a refresh runs one at a time).
   */
  readonly replaceTable?: WarehouseConnector["replaceTable"];
  readonly estimateBytes?: WarehouseConnector["estimateBytes"];

  constructor(
    readonly inner: WarehouseConnector,
    private readonly settings: GuardSettings,
    private readonly log: Logger,
    private readonly metrics?: ServerMetrics,
  ) {
    this.kind = inner.kind;
    this.dialect = inner.dialect;
    this.mapping = inner.mapping;
    this.customersPerRange = inner.customersPerRange;
    const slots = inner.concurrentQueries ?? DEFAULT_CONCURRENT_QUERIES;
    this.admission = new FairAdmission({
      slots,
      perRequest: Math.min(settings.queriesPerRequest, slots),
      perCaller: Math.min(settings.queriesPerCaller ?? Math.ceil(slots / 2), slots),
      maxWaitMs: settings.queueWaitMs,
    });
    this.queriesPerCaller = this.admission.settings.perCaller;
    if (inner.streamColumns) {
      const columns = inner.streamColumns.bind(inner);
      this.streamColumns = (query, options = {}) => this.guardedStream(() => columns(query, options));
    }
    if (inner.replaceTable) {
      const replace = inner.replaceTable.bind(inner);
      this.replaceTable = (table, pages, options) => this.unlessOpen(() => replace(table, pages, options));
    }
    if (inner.estimateBytes) {
      const estimate = inner.estimateBytes.bind(inner);
      this.estimateBytes = (query, options) => this.unlessOpen(() => estimate(query, options));
    }
    // Failures to reach the warehouse open the circuit. A bad query does not, nor a deadline (one slow
    // dashboard's parallel queries would shut every client out), nor a client leaving — except during
    // the trial after a pause, where an unfinished trial must not count as a success (cockatiel closes
    // the circuit on any error its policy does not handle).
    const warehouseFault = handleWhen(
      (error) =>
        error instanceof WarehouseUnavailableError ||
        // A trial that never reached the warehouse (cancelled, or no slot) proves nothing either way.
        (this.breaker?.state === CircuitState.HalfOpen &&
          (isCancellation(error) || error instanceof WarehouseBusyError)),
    );
    this.breaker = circuitBreaker(warehouseFault, {
      halfOpenAfter: settings.halfOpenAfterMs,
      breaker: new ConsecutiveBreaker(settings.breakAfterFailures),
    });
    // Every change is logged with what caused it: the failure that opened it, or the trial's outcome.
    let lastFailure: unknown;
    this.breaker.onFailure(({ handled, reason }) => {
      if (handled) lastFailure = "error" in reason ? reason.error : reason;
    });
    this.breaker.onBreak((reason) => {
      metrics?.circuitOpen.set(1);
      const cause = "error" in reason ? reason.error : lastFailure;
      log.warn(
        {
          circuit: "Open",
          err: cause,
          consecutiveFailures: settings.breakAfterFailures,
          pauseMs: settings.halfOpenAfterMs,
        },
        "warehouse circuit opened: the warehouse could not be reached; queries fail fast until a trial query succeeds",
      );
    });
    this.breaker.onHalfOpen(() => log.info({ circuit: "HalfOpen" }, "warehouse circuit half-open: one trial query"));
    this.breaker.onReset(() => {
      metrics?.circuitOpen.set(0);
      log.info({ circuit: "Closed" }, "warehouse circuit closed: a trial query succeeded");
    });
    const retries = retry(
      handleWhen((error) => {
        if (!(error instanceof WarehouseUnavailableError)) return false;
        const scope = currentRequestScope();
        return !scope || scope.deadlineAt - Date.now() > MIN_ATTEMPT_MS + settings.maxDelayMs;
      }),
      {
        maxAttempts: settings.maxAttempts - 1,
        // Decorrelated jitter (cockatiel's default generator): clients retrying together spread out.
        backoff: new ExponentialBackoff({ initialDelay: settings.initialDelayMs, maxDelay: settings.maxDelayMs }),
      },
    );
    retries.onRetry(() => metrics?.warehouseRetries.inc());
    this.policy = wrap(retries, this.breaker);
    this.store = settings.cache
      ? settings.cache.redisUrl
        ? new RedisResultStore(settings.cache.redisUrl, log)
        : new MemoryResultStore(settings.cache.maxBytes)
      : null;
  }

  /** Whether queries currently fail fast (for /ready and the metrics). */
  get circuitOpen(): boolean {
    return this.breaker.state === CircuitState.Open || this.breaker.state === CircuitState.Isolated;
  }

  /** Resolves when the result cache can answer (Redis connected); queries before that miss. */
  async cacheReady(): Promise<void> {
    await this.store?.ready();
  }

  async query<R extends Row = Row>(query: Sql, options: QueryOptions = {}): Promise<R[]> {
    const scope = currentRequestScope();
    const version = this.store && options.cache !== false ? await this.currentDataVersion() : undefined;
    if (version === undefined) return (await this.guarded(query, options, scope)) as R[];
    const key = cacheKey(this.kind, query, version);
    const cached = await this.lookup(key);
    if (cached) {
      if (scope) scope.cacheHits += 1;
      return cached as R[];
    }
    // Concurrent identical misses (a dashboard opened by many at once) share one warehouse query. One
    // still waiting in another caller's queue is not joined: nobody waits behind another key's share
    // of the warehouse (admission.ts).
    const signal = combined(options.signal, scope?.signal);
    const caller = this.ticketOf(scope).caller;
    const shared = this.running.get(key);
    if (shared && (shared.admitted || shared.caller === caller)) {
      try {
        return (await abandonOnAbort(shared.rows, signal)) as R[];
      } catch (error) {
        if (signal?.aborted) throw this.asDeadline(error, scope);
        // The request running it was cancelled, or found no slot, not this one: run it for this request.
        if (!isCancellation(error) && !(error instanceof WarehouseBusyError)) throw error;
      }
    }
    const entry = { rows: undefined as unknown as Promise<Row[]>, caller, admitted: false };
    entry.rows = this.guarded(query, options, scope, () => (entry.admitted = true));
    // Joinable by later askers unless another caller's identical query is already listed (still queued).
    if (!this.running.has(key)) this.running.set(key, entry);
    try {
      const rows = await entry.rows;
      void this.remember(key, rows, options.asOf);
      return rows as R[];
    } finally {
      if (this.running.get(key) === entry) this.running.delete(key);
    }
  }

  /**
   * A query over a list of keys (customer ids) whose rows are cached per key rather than per query: an
   * internal app's lookups come in batches of whatever ids arrived in the same tick, so whole-query
   * entries would almost never repeat, while each customer does. Keys already cached (present or known
   * absent) answer from the cache; only the missing ones reach the warehouse, in one query.
   * `build(keys)` must return one row per key found, `keyOf(row)` its key. Without a cache, one query.
   */
  async queryPerKey<R extends Row = Row>(
    keys: readonly string[],
    build: (keys: readonly string[]) => Sql,
    keyOf: (row: R) => string,
    options: QueryOptions = {},
  ): Promise<R[]> {
    const version = this.store && options.cache !== false ? await this.currentDataVersion() : undefined;
    if (version === undefined || keys.length === 0) return this.query<R>(build(keys), { ...options, cache: false });
    // The query's shape for one placeholder key (its text and every other bound value: the day, the
    // time zone) identifies what the rows mean; each key's entry is that plus the key.
    const shape = cacheKey(this.kind, build(["\u0000"]), version);
    const entryKey = (key: string) => `${shape}:${createHash("sha256").update(key).digest("base64url")}`;
    const distinct = [...new Set(keys)];
    const cached = await Promise.all(distinct.map((key) => this.lookup(entryKey(key))));
    const rows: R[] = [];
    const missing: string[] = [];
    distinct.forEach((key, i) => {
      const hit = cached[i];
      if (hit === undefined) missing.push(key);
      else rows.push(...(hit as R[]));
    });
    const scope = currentRequestScope();
    if (scope && missing.length < distinct.length) scope.cacheHits += 1;
    if (missing.length === 0) return rows;
    const fetched = await this.query<R>(build(missing), { ...options, cache: false });
    const byKey = new Map<string, R[]>(missing.map((key) => [key, []]));
    for (const row of fetched) byKey.get(keyOf(row))?.push(row);
    for (const [key, found] of byKey) void this.remember(entryKey(key), found, options.asOf);
    return [...rows, ...fetched];
  }

  stream<R extends Row = Row>(query: Sql, options: StreamOptions = {}): AsyncIterable<R[]> {
    return this.guardedStream(() => this.inner.stream<R>(query, options));
  }

  async ping(): Promise<void> {
    await this.inner.ping();
  }

  tableStatus(): Promise<TableStatus[]> {
    const scope = currentRequestScope();
    const signal = scope?.signal;
    return this.execute(async (s) => {
      const release = await this.admission.acquire(this.ticketOf(scope, s));
      try {
        return await abandonOnAbort(this.inner.tableStatus(), s);
      } finally {
        release();
      }
    }, signal);
  }

  async close(): Promise<void> {
    await this.store?.close();
    await this.inner.close();
  }

  private async lookup(key: string): Promise<Row[] | undefined> {
    try {
      const text = await this.store!.get(key);
      this.metrics?.cacheRequests.inc({ result: text === undefined ? "miss" : "hit" });
      return text === undefined ? undefined : deserializeRows(text);
    } catch (err) {
      this.metrics?.cacheRequests.inc({ result: "error" });
      this.log.debug({ err }, "result cache lookup failed; treated as a miss");
      return undefined;
    }
  }

  /** Stores a result; never throws (a value that cannot be serialized, a store failure: not cached). */
  private async remember(key: string, rows: Row[], asOf: string | undefined): Promise<void> {
    try {
      const text = serializeRows(rows);
      if (text.length > this.settings.cache!.maxEntryBytes) return;
      await this.store!.set(key, text, ttlFor(this.settings.cache!, asOf, yesterdayUtc()));
    } catch (err) {
      this.log.debug({ err }, "result cache store failed");
    }
  }

  /**
   * The current data version, looked up at most every `dataVersionSeconds`: a stale one is used while
   * the next is fetched, and kept when the lookup fails (the warehouse may be down; cached results of
   * the last known version are still right for it). undefined until a first lookup succeeds.
   */
  private async currentDataVersion(): Promise<string | undefined> {
    const fresh = this.version && Date.now() - this.version.at < this.settings.dataVersionSeconds * 1000;
    if (!fresh && !this.versionRefresh) {
      this.versionRefresh = this.lookUpDataVersion()
        .then((value) => {
          this.version = { value, at: Date.now() };
        })
        .catch((err: unknown) => {
          this.log.debug({ err }, "data version lookup failed; keeping the last one");
        })
        .finally(() => {
          this.versionRefresh = undefined;
        });
    }
    // The first lookup is waited for briefly; a warehouse slow to say its version is not cached yet.
    if (!this.version && this.versionRefresh)
      await abandonOnAbort(this.versionRefresh, AbortSignal.timeout(1_000)).catch(() => {});
    return this.version?.value;
  }

  private async lookUpDataVersion(): Promise<string> {
    // Bounded: a hung warehouse must not leave a lookup pending for ever (it would block refreshes).
    const bounded = AbortSignal.timeout(10_000);
    if (this.inner.dataVersion) return abandonOnAbort(this.inner.dataVersion(), bounded);
    const statuses = await abandonOnAbort(this.inner.tableStatus(), bounded);
    return statuses.map((s) => `${s.logical}:${s.rowCount ?? "-"}`).join(",");
  }

  /**
   * A stream (rows or column batches) as the warehouse gives it. Streams are not cached nor retried (a
   * retry would repeat rows already sent) and outlive the request's deadline (an export is read for as
   * long as its client reads; the caller's signal stops it); the circuit applies. They take no query
   * slot: a client reading slowly would hold it for as long as it reads, and they are bounded on their
   * own (at most two exports at once, server/export.ts; connectors keep connections for them).
   */
  private async unlessOpen<T>(work: () => Promise<T>): Promise<T> {
    if (this.circuitOpen) throw this.circuitError();
    return work();
  }

  private async *guardedStream<T>(open: () => AsyncIterable<T>): AsyncIterable<T> {
    if (this.circuitOpen) throw this.circuitError();
    yield* open();
  }

  /** Whose query it is, for the admission queue: the request's caller and the request itself. */
  private ticketOf(scope: RequestScope | undefined, signal?: AbortSignal): AdmissionTicket {
    if (!scope) return { caller: "internal", signal };
    // The slot is given up a little before the deadline, so the answer says busy rather than out of time.
    return { caller: scope.principal ?? "anonymous", request: scope, deadlineAt: scope.deadlineAt - 20, signal };
  }

  /** `admitted` is called when the query has its slot and starts (each attempt). */
  private guarded(
    query: Sql,
    options: QueryOptions,
    scope: RequestScope | undefined,
    admitted?: () => void,
  ): Promise<Row[]> {
    const label = options.label ?? "query";
    const signal = combined(options.signal, scope?.signal);
    return this.execute(async (attemptSignal) => {
      const started = performance.now();
      const span = startChildSpan("warehouse.query", scope?.span, { "clm.query.label": label, "db.system": this.kind });
      let outcome = "ok";
      let release: (() => void) | undefined;
      try {
        release = await this.admission.acquire(this.ticketOf(scope, attemptSignal));
        admitted?.();
        const attempt = this.inner.query(query, { ...options, signal: attemptSignal });
        return await abandonOnAbort(attempt, attemptSignal);
      } catch (error) {
        outcome =
          error instanceof WarehouseUnavailableError
            ? "unavailable"
            : error instanceof WarehouseBusyError
              ? "busy"
              : attemptSignal?.aborted
                ? "cancelled"
                : "error";
        throw error;
      } finally {
        release?.();
        const seconds = (performance.now() - started) / 1000;
        span.setAttribute("clm.query.outcome", outcome);
        if (outcome !== "ok") span.setStatus({ code: SpanStatusCode.ERROR });
        span.end();
        this.metrics?.warehouseQueries.inc({ label, outcome });
        this.metrics?.warehouseDuration.observe({ label }, seconds);
        if (scope) {
          scope.warehouseMs += seconds * 1000;
          scope.warehouseQueries += 1;
        }
      }
    }, signal);
  }

  /**
   * Runs warehouse work under the retry policy and the circuit breaker, within the request's deadline.
   * The work's abort (deadline passed) becomes DeadlineExceededError; an open circuit,
   * WarehouseUnavailableError.
   */
  private async execute<T>(work: (signal: AbortSignal | undefined) => Promise<T>, signal?: AbortSignal): Promise<T> {
    const scope = currentRequestScope();
    try {
      return await this.policy.execute(async () => {
        try {
          return await work(signal);
        } catch (error) {
          // Seen by the breaker as a warehouse fault when the deadline (not the client) ended it.
          throw signal?.aborted ? this.asDeadline(error, scope) : error;
        }
      }, signal);
    } catch (error) {
      if (error instanceof BrokenCircuitError) throw this.circuitError();
      throw signal?.aborted ? this.asDeadline(error, scope) : error;
    }
  }

  /** The error of work cut short by an aborted signal: DeadlineExceededError when the deadline passed. */
  private asDeadline(error: unknown, scope: RequestScope | undefined): unknown {
    if (error instanceof DeadlineExceededError) return error;
    return scope && deadlinePassed(scope) ? new DeadlineExceededError(scope.deadlineMs) : error;
  }

  private circuitError(): WarehouseUnavailableError {
    return new WarehouseUnavailableError(
      "the warehouse failed repeatedly; queries fail fast until a trial query succeeds",
    );
  }
}

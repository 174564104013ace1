// What the server knows about the request being handled, wherever the work it causes runs: its id
// (for log lines and error answers), its deadline (which cancels warehouse queries) and the warehouse
// time it has spent so far (for the access log). Kept in AsyncLocalStorage, entered when the request
// arrives, so the warehouse guard needs no parameter threaded through every resolver and service.
import { AsyncLocalStorage } from "node:async_hooks";
import { setMaxListeners } from "node:events";
import type { Span } from "@opentelemetry/api";
import { performance } from "node:perf_hooks";

export interface RequestScope {
  readonly requestId: string;
  /** Aborts when the deadline passes or the client goes away. */
  readonly signal: AbortSignal;
  /** Epoch ms by which the request's warehouse work must be done. */
  readonly deadlineAt: number;
  readonly deadlineMs: number;
  /** performance.now() when the request arrived. */
  readonly startedAt: number;
  /** Who asked, once authenticated (the rate limit and the context read it). */
  auth: unknown;
  /** The GraphQL operation's name, once parsed (for logs and metrics). */
  operationName: string | undefined;
  operationType: string | undefined;
  /** Who asked (an API key id or "anonymous"), once authenticated. */
  principal: string | undefined;
  /** Time spent waiting on warehouse queries (ms; overlapping queries each count). */
  warehouseMs: number;
  warehouseQueries: number;
  cacheHits: number;
  /** The request's trace span (a no-op one unless tracing is on; observability/tracing.ts). */
  span: Span | undefined;
  /** Error codes in the answer, for the access log. */
  readonly errorCodes: Set<string>;
  /** The state store's state (part of) the answer came from, for its extensions (services/state). */
  stateServed:
    | { readonly generation: number; readonly stateDay: string; readonly dataThrough: string | null }
    | undefined;
  /** The day a field without asOf was answered for, for the answer's extensions (schema/lifecycle-args.ts). */
  defaultDay: string | undefined;
}

const storage = new AsyncLocalStorage<RequestScope>();

export function newRequestScope(requestId: string, deadlineMs: number, clientSignal?: AbortSignal): RequestScope {
  return new Scope(requestId, deadlineMs, clientSignal);
}

class Scope implements RequestScope {
  readonly deadlineAt: number;
  readonly startedAt = performance.now();
  auth: unknown = undefined;
  operationName: string | undefined = undefined;
  operationType: string | undefined = undefined;
  principal: string | undefined = undefined;
  warehouseMs = 0;
  warehouseQueries = 0;
  cacheHits = 0;
  span: Span | undefined = undefined;
  readonly errorCodes = new Set<string>();
  stateServed: RequestScope["stateServed"] = undefined;
  defaultDay: string | undefined = undefined;
  #signal: AbortSignal | undefined;

  constructor(
    readonly requestId: string,
    readonly deadlineMs: number,
    private readonly clientSignal: AbortSignal | undefined,
  ) {
    this.deadlineAt = Date.now() + deadlineMs;
  }

  // Made when first asked for: most requests (a cached lookup, a refused one) never send a warehouse
  // query, and a timer plus a combined signal per request was a measurable share of serving one.
  get signal(): AbortSignal {
    return (this.#signal ??= scopeSignal(this.deadlineAt, this.clientSignal));
  }
}

/** Aborts at `deadlineAt` (epoch ms) or when the client goes away, whichever comes first. */
function scopeSignal(deadlineAt: number, clientSignal: AbortSignal | undefined): AbortSignal {
  const remaining = deadlineAt - Date.now();
  // Past the deadline already: aborted now, with the reason AbortSignal.timeout gives.
  const deadline =
    remaining > 0
      ? AbortSignal.timeout(remaining)
      : AbortSignal.abort(new DOMException("The operation was aborted due to timeout", "TimeoutError"));
  const signal = clientSignal ? AbortSignal.any([deadline, clientSignal]) : deadline;
  // Each running query listens to it (a dashboard runs a dozen at once); the listeners go when they end.
  setMaxListeners(200, signal);
  return signal;
}

/**
 * Makes `scope` the current one for the rest of this asynchronous flow (yoga's request hook has no
 * callback to wrap, so the scope is entered rather than run).
 */
export function enterRequestScope(scope: RequestScope): void {
  storage.enterWith(scope);
}

/** The scope of the request being handled, or undefined outside a request (CLI, start-up). */
export function currentRequestScope(): RequestScope | undefined {
  return storage.getStore();
}

/** Runs `work` in `scope` (tests, and work started outside yoga's request hooks). */
export function runInRequestScope<T>(scope: RequestScope, work: () => Promise<T>): Promise<T> {
  return storage.run(scope, work);
}

/**
 * Whether the request's deadline has passed. A few milliseconds early counts: the timer that aborts
 * the scope's signal can fire just before Date.now() reaches the deadline, and an abort seen then is
 * the deadline's, not the client's.
 */
export function deadlinePassed(scope: RequestScope): boolean {
  return Date.now() >= scope.deadlineAt - 5;
}

/** The caller name of work shared by several requests' lookups. */
export const SHARED_LOOKUPS = "shared-lookups";

/**
 * Runs work shared by several requests (a batch of lookups from concurrent requests) in a scope of its
 * own: a whole deadline from now (requests joining later must not inherit an earlier one's nearer
 * deadline) and no client signal, so one client going away or running out of time cancels nobody else.
 */
export function runShared<T>(work: () => Promise<T>, caller: string = SHARED_LOOKUPS): Promise<T> {
  const scope = storage.getStore();
  if (!scope) return work();
  const shared = newRequestScope(`${scope.requestId}+shared`, scope.deadlineMs);
  // The caller its warehouse queries are queued as (warehouse/admission.ts): by default the shared
  // lookups, a caller of their own, so internal apps' lookups never wait behind one analyst's slow
  // queries, whoever's request happened to start the batch; work one caller started for itself (a
  // fit others may join) stays that caller's.
  shared.principal = caller;
  return storage.run(shared, work);
}

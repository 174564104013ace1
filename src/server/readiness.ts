// GET /ready: whether the app database and the warehouse answer, for load balancers. Each check is an
// app-database round trip and a warehouse ping, so under load (or a flood from one client) its answer is
// reused for a second, concurrent callers share the check under way, and each client address may ask
// READY_PER_MINUTE times a minute (then 429 with Retry-After).
import { performance } from "node:perf_hooks";
import type { Plugin } from "graphql-yoga";
import type { Services } from "../schema/context.ts";
import { rateLimitedResponse } from "./edge-errors.ts";
import { clientAddress, RateLimit } from "./rate-limit.ts";

/** How long one check's answer is reused (ms). */
export const READY_REUSE_MS = 1_000;
/** Checks a client address may ask for a minute: a prober every second or two, with room to spare. */
export const READY_PER_MINUTE = 120;

export interface ReadinessSettings {
  /** A dependency's longest wait (ms). */
  readonly timeoutMs: number;
  readonly reuseMs?: number;
  /** 0: no limit. */
  readonly perMinute?: number;
}

interface Answer {
  readonly status: number;
  readonly body: string;
}

async function within<T>(ms: number, what: string, work: Promise<T>): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what} did not answer within ${ms} ms`)), ms);
  });
  try {
    return await Promise.race([work, timeout]);
  } finally {
    clearTimeout(timer);
  }
}

/** /ready: the app database and the warehouse each answer within `timeoutMs`; the circuit's state. */
export function useReadiness(
  services: Services & { pingAppDatabase(): Promise<void> },
  settings: ReadinessSettings,
): Plugin {
  const reuseMs = settings.reuseMs ?? READY_REUSE_MS;
  const perMinute = settings.perMinute ?? READY_PER_MINUTE;
  // Always in memory: readiness is this instance's own, and so is its limit.
  const limit = perMinute > 0 ? new RateLimit(perMinute) : undefined;
  let last: { answer: Answer; at: number } | undefined;
  let running: Promise<Answer> | undefined;

  const check = async (): Promise<Answer> => {
    const results = await Promise.allSettled([
      within(settings.timeoutMs, "app database", services.pingAppDatabase()),
      within(settings.timeoutMs, "warehouse", services.warehouse.ping()),
    ]);
    const [appDatabase, warehouse] = results.map((r) => (r.status === "fulfilled" ? "ok" : "unavailable"));
    const ready = results.every((r) => r.status === "fulfilled");
    // Open: queries fail fast until a trial one succeeds (after the breaker's pause).
    const { circuitOpen } = services.warehouse;
    const circuit = circuitOpen === undefined ? undefined : circuitOpen ? "open" : "closed";
    for (const r of results)
      if (r.status === "rejected") services.log.warn({ err: r.reason }, "readiness check failed");
    return { status: ready ? 200 : 503, body: JSON.stringify({ ready, appDatabase, warehouse, circuit }) };
  };

  const answer = (): Promise<Answer> => {
    if (last && performance.now() - last.at < reuseMs) return Promise.resolve(last.answer);
    running ??= check().then(
      (fresh) => {
        last = { answer: fresh, at: performance.now() };
        running = undefined;
        return fresh;
      },
      (error: unknown) => {
        running = undefined;
        throw error;
      },
    );
    return running;
  };

  return {
    async onRequest({ url, serverContext, endResponse }) {
      if (url.pathname !== "/ready") return;
      const limited = await limit?.check(`ready:${clientAddress(serverContext)}`);
      if (limited) return endResponse(rateLimitedResponse(limited));
      const { status, body } = await answer();
      endResponse(new Response(body, { status, headers: { "content-type": "application/json" } }));
    },
  };
}

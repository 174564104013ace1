// The server's request handler in the benchmark's own process, over a warehouse connector the
// benchmark opened: requests go through yoga.fetch (the whole yoga pipeline — plugins, auth, limits,
// parsing, validation, execution, serialization — without a socket), exactly as the tests do.
import { pino } from "pino";
import type { WarehouseConnector } from "../../src/connectors/connector.ts";
import { openAppDatabase, type AppDatabase } from "../../src/appdb/database.ts";
import { defaultStageModel } from "../../src/lifecycle/stage-model.ts";
import { ServerMetrics } from "../../src/observability/metrics.ts";
import { createClmYoga, type ClmYoga } from "../../src/server/yoga.ts";
import { createAppServices } from "../../src/services/app-services.ts";
import { availableTables, type LifecycleService } from "../../src/services/lifecycle/service.ts";
import { DEFAULT_GUARD_SETTINGS, GuardedWarehouse } from "../../src/warehouse/guarded-warehouse.ts";

export interface InProcessServer {
  readonly yoga: ClmYoga;
  readonly lifecycle: LifecycleService;
  readonly guarded: GuardedWarehouse;
  readonly appDb: AppDatabase;
  graphql<T = any>(query: string, variables?: Record<string, unknown>): Promise<{ data?: T; errors?: unknown[] }>;
  /**
   * GET a path and read the whole body, handing each chunk to `onChunk`. When `signal` aborts, the
   * request is abandoned (its body cancelled) and `aborted` is true.
   */
  get(
    path: string,
    onChunk?: (chunk: Uint8Array) => void,
    signal?: AbortSignal,
  ): Promise<{ status: number; bytes: number; aborted: boolean }>;
  close(): Promise<void>;
}

/**
 * `cache: false` (the default here) turns the result cache off, so every request really runs its
 * warehouse queries; the request deadline is long, so a large data set is measured rather than cut off.
 */
export async function openInProcess(
  connector: WarehouseConnector,
  options: { cache?: boolean; requestTimeoutMs?: number } = {},
): Promise<InProcessServer> {
  const log = pino({ level: "silent" });
  const metrics = new ServerMetrics();
  const guarded = new GuardedWarehouse(
    connector,
    {
      ...DEFAULT_GUARD_SETTINGS,
      cache: options.cache
        ? { ttlSeconds: 60, pastTtlSeconds: 86_400, maxBytes: 64 * 1024 * 1024, maxEntryBytes: 2 * 1024 * 1024 }
        : null,
    },
    log,
    metrics,
  );
  const appDb = await openAppDatabase({ dataDir: "memory://" });
  const services = createAppServices({
    warehouse: guarded,
    prisma: appDb.prisma,
    log,
    stageModel: defaultStageModel(),
    timeZone: "UTC",
    available: availableTables(await guarded.tableStatus()),
  });
  const { lifecycle } = services;
  const yoga = createClmYoga(
    { ...services, prisma: appDb.prisma, pingAppDatabase: () => appDb.ping() },
    { allowAnonymous: true, metrics, requestTimeoutMs: options.requestTimeoutMs ?? 600_000 },
  );
  return {
    yoga,
    lifecycle,
    guarded,
    appDb,
    async graphql(query, variables) {
      const response = await yoga.fetch("http://bench/graphql", {
        method: "POST",
        headers: { "content-type": "application/json", accept: "application/graphql-response+json" },
        body: JSON.stringify({ query, variables }),
      });
      return response.json();
    },
    async get(path, onChunk, signal) {
      const response = await yoga.fetch(`http://bench${path}`, { signal });
      let bytes = 0;
      const reader = response.body!.getReader();
      const abandon = () => void reader.cancel(signal?.reason).catch(() => {});
      signal?.addEventListener("abort", abandon, { once: true });
      try {
        for (;;) {
          const { done, value } = await reader.read();
          if (done) break;
          bytes += value.byteLength;
          onChunk?.(value);
        }
      } catch (error) {
        if (!signal?.aborted) throw error;
      } finally {
        signal?.removeEventListener("abort", abandon);
      }
      return { status: response.status, bytes, aborted: signal?.aborted ?? false };
    },
    async close() {
      await yoga.dispose();
      await guarded.close();
      await appDb.close();
    },
  };
}

/** A segment every known customer belongs to (purchase days are never null: 0 for prospects). */
export const EVERYONE = { field: "purchaseDays", op: "gte", value: 0 } as const;

export async function createEveryoneSegment(server: Pick<InProcessServer, "graphql">): Promise<string> {
  const answer = await server.graphql<{ createSegment: { id: string } }>(
    `mutation($input: CreateSegmentInput!) { createSegment(input: $input) { id } }`,
    { input: { name: `everyone ${Date.now()}`, description: "bench: every known customer", definition: EVERYONE } },
  );
  if (!answer.data?.createSegment) throw new Error(`createSegment failed: ${JSON.stringify(answer.errors)}`);
  return answer.data.createSegment.id;
}

// Small pieces the lifecycle's batching is made of: values kept by key, and DataLoaders over batch queries.
import { AsyncResource } from "node:async_hooks";
import DataLoader from "dataloader";

/** The value kept under `key`, made by `create` the first time it is asked for. */
export function memo<K, V>(map: Map<K, V>, key: K, create: () => V): V {
  let value = map.get(key);
  if (value === undefined) {
    value = create();
    map.set(key, value);
  }
  return value;
}

/**
 * A loader over a batch query that returns what it found by id; ids it did not find get `missing`, ids
 * mapped to an Error fail alone.
 */
export function loaderOf<V>(
  fetch: (ids: readonly string[]) => Promise<Map<string, V | Error>>,
  missing: V,
  options: DataLoader.Options<string, V> = {},
): DataLoader<string, V> {
  return new DataLoader(
    async (ids) => {
      const found = await fetch(ids);
      return ids.map((id) => found.get(id) ?? missing);
    },
    { maxBatchSize: 10_000, ...options },
  );
}

/**
 * Holds the next batch of shared loaders back while `limit` of their batches are already running, so
 * the lookups of that time gather into one batch instead of queueing as many small ones. The warehouse
 * runs only a few of one caller's queries at once (warehouse/admission.ts): a batch dispatched every
 * turn of the event loop would wait there anyway, and then cost a query of its own. One gate may serve
 * several loaders (one per day); held batches go in the order they were held, one per batch that ends.
 */
export class BatchGate {
  private running = 0;
  private readonly held: (() => void)[] = [];

  constructor(
    private readonly limit: number,
    /**
     * The longest a batch is held: past it, it goes to the warehouse's queue as it would without the
     * gate (a slow query must not hold the next lookups for as long as it runs).
     */
    private readonly maxHoldMs = DEFAULT_MAX_HOLD_MS,
  ) {}

  /** A DataLoader batchScheduleFn: dispatches on the next turn, or once a running batch ends. */
  readonly schedule = (dispatch: () => void): void => {
    // Run in the async context of the lookup that began the batch, not of the batch that releases it.
    const bound = AsyncResource.bind(dispatch);
    setImmediate(() => {
      if (this.running < this.limit) return bound();
      let done = false;
      const release = () => {
        if (done) return;
        done = true;
        clearTimeout(timer);
        const at = this.held.indexOf(release);
        if (at >= 0) this.held.splice(at, 1);
        bound();
      };
      const timer = setTimeout(release, this.maxHoldMs);
      this.held.push(release);
    });
  };

  /** Runs one batch's work, counted against the limit. */
  async run<T>(work: () => Promise<T>): Promise<T> {
    this.running += 1;
    try {
      return await work();
    } finally {
      this.running -= 1;
      this.held[0]?.();
    }
  }
}

/** BatchGate's longest hold: about the time of a shared lookup batch's query on a large base. */
const DEFAULT_MAX_HOLD_MS = 1_000;

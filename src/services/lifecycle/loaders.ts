// Small pieces the lifecycle's batching is made of: values kept by key, and DataLoaders over batch queries.
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
 * Holds a shared loader's next batch back while `limit` of its batches are already running, so the
 * lookups of that time gather into one batch instead of queueing as many small ones. The warehouse
 * runs only a few of one caller's queries at once (warehouse/admission.ts): a batch dispatched every
 * turn of the event loop would wait there anyway, and then cost a query of its own.
 */
export class BatchGate {
  private running = 0;
  private readonly held: (() => void)[] = [];

  constructor(private readonly limit: number) {}

  /** A DataLoader batchScheduleFn: dispatches on the next turn, or once a running batch ends. */
  readonly schedule = (dispatch: () => void): void => {
    setImmediate(() => (this.running < this.limit ? dispatch() : this.held.push(dispatch)));
  };

  /** Runs one batch's work, counted against the limit. */
  async run<T>(work: () => Promise<T>): Promise<T> {
    this.running += 1;
    try {
      return await work();
    } finally {
      this.running -= 1;
      this.held.shift()?.();
    }
  }
}

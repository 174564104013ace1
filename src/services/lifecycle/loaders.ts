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

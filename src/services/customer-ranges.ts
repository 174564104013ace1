// Splitting the customers into id ranges, so that a question over every customer (the segment export,
// the state store's refresh) runs as several smaller queries on the embedded warehouse, range after
// range, each started while the one before is still being read (readAhead). DuckDB runs in the
// server's own process: one query over a million customers built its hash tables and sort for all of
// them at once (what ranges saved, measured: DEFAULT_CUSTOMERS_PER_RANGE in src/connectors/connector.ts).
// Warehouses that run elsewhere (PostgreSQL, BigQuery) keep their own memory and get one query.
import type { WarehouseConnector } from "../connectors/connector.ts";
import type { LogicalTable } from "../sql/contract.ts";
import type { CustomerRange } from "../lifecycle/features-sql.ts";
import { cast, ident, sql } from "../sql/sql.ts";

/** Ids sampled to place the bounds: plenty for ranges within a few percent of equal. */
const SAMPLE_IDS = 4_096;

/** The whole id space: one range, one query. */
export const ALL_CUSTOMERS: readonly CustomerRange[] = [{}];

/**
 * Ranges covering every customer id once, in ascending order, of about the warehouse's
 * `customersPerRange` customers each (`perRange` instead, when given); one open range where splitting
 * does not pay (a warehouse in a process of its own, or few customers). The bounds are sampled ids
 * sorted by the warehouse itself, so they follow the order its comparisons and ORDER BY use; any
 * bounds give the same rows, the sample only evens the ranges out.
 */
export async function customerRanges(
  warehouse: Pick<WarehouseConnector, "customersPerRange" | "dialect" | "mapping" | "query">,
  available: ReadonlySet<LogicalTable>,
  options: { perRange?: number; signal?: AbortSignal } = {},
): Promise<readonly CustomerRange[]> {
  if (warehouse.customersPerRange === undefined) return ALL_CUSTOMERS;
  const perRange = options.perRange ?? warehouse.customersPerRange;
  if (!(perRange >= 1)) return ALL_CUSTOMERS;
  // The customers table names nearly everyone once; transactions name buyers, several times each,
  // which only overestimates how many ranges are needed.
  const logical: LogicalTable = available.has("customers") ? "customers" : "transactions";
  const { dialect, mapping } = warehouse;
  const table = ident(mapping.schema, mapping.tables[logical].table);
  const id = cast(ident(mapping.tables[logical].columns.customer_id), "text");
  const queryOptions = { label: "customer_ranges", signal: options.signal };
  const [count] = await warehouse.query<{ n: number }>(sql`SELECT COUNT(*) AS n FROM ${table}`, queryOptions);
  const ranges = Math.ceil(Number(count?.n ?? 0) / perRange);
  if (ranges <= 1) return ALL_CUSTOMERS;
  const sample = await warehouse.query<{ id: string }>(
    sql`SELECT id FROM (${dialect.sampleRows(sql`${id} AS id`, table, SAMPLE_IDS)}) AS s
WHERE id IS NOT NULL ORDER BY id`,
    queryOptions,
  );
  const bounds: string[] = [];
  for (let i = 1; i < ranges; i++) {
    const bound = sample[Math.floor((i * sample.length) / ranges)]?.id;
    // Equal neighbours would make an empty range; the sample is sorted, so only neighbours can be equal.
    if (bound !== undefined && bound !== bounds[bounds.length - 1]) bounds.push(String(bound));
  }
  return rangesBetween(bounds);
}

/** The ranges that `bounds` (ascending, distinct) cut the id space into: below the first … from the last. */
export function rangesBetween(bounds: readonly string[]): readonly CustomerRange[] {
  if (bounds.length === 0) return ALL_CUSTOMERS;
  return [
    { below: bounds[0]! },
    ...bounds.slice(1).map((below, i) => ({ from: bounds[i]!, below })),
    { from: bounds[bounds.length - 1]! },
  ];
}

/**
 * The items of each source in turn, tagged with the source's index, the next source opened as soon as
 * the current one has given its first item: its query then runs in the warehouse's threads while this
 * thread works on the current one's rows (one range's query ahead at most, so at most two ranges'
 * working sets at once).
 */
export async function* readAhead<T>(sources: readonly (() => AsyncIterable<T>)[]): AsyncGenerator<[number, T]> {
  const open = (i: number) => {
    const iterator = sources[i]!()[Symbol.asyncIterator]();
    const first = iterator.next();
    first.catch(() => {}); // read (and so thrown) where it is awaited; never unhandled meanwhile
    return { iterator, first };
  };
  if (sources.length === 0) return;
  let current = open(0);
  let ahead: typeof current | undefined;
  try {
    for (let i = 0; i < sources.length; i++) {
      let result = await current.first;
      if (i + 1 < sources.length) ahead = open(i + 1);
      for (; !result.done; result = await current.iterator.next()) yield [i, result.value];
      if (ahead) [current, ahead] = [ahead, undefined];
    }
  } finally {
    // Stopped early or failed: close what is open (a query still running ahead closes once it answers).
    await current.iterator.return?.();
    if (ahead)
      await ahead.first.then(
        () => ahead!.iterator.return?.(),
        () => undefined,
      );
  }
}

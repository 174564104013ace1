// One bad key must not fail a batch it shares with other clients' keys. Lookups of concurrent requests
// are answered by one warehouse query per day (services/lifecycle/features.ts); when the warehouse refuses that
// query because of a value bound in it, the batch is split in halves and each half asked again, halving
// what still fails, until only the keys the warehouse refuses fail — each with the warehouse's error, on
// its own field. A failure every key shares (the warehouse unreachable, a deadline, a budget, no query
// slot) is never split: one answer for all, no extra queries against a warehouse that is down or busy.

/**
 * Whether a query's error is the warehouse refusing a value bound in it, so one key of a batch may be
 * its cause. Recognised, not guessed: an unknown error fails the whole batch, as a warehouse fault would.
 */
export function isValueRejection(error: unknown): boolean {
  // PostgreSQL (and PGlite): SQLSTATE class 22, "data exception" — 22021 for a NUL byte in text.
  const code = (error as { code?: unknown } | null)?.code;
  if (typeof code === "string" && /^22[0-9A-Z]{3}$/.test(code)) return true;
  // DuckDB names the kind of its exception first.
  const message = error instanceof Error ? error.message : "";
  return /^(Conversion|Invalid Input|Out of Range) Error:/.test(message);
}

/**
 * Extra queries a failing batch of `keys` may cost: isolating one bad key takes two per halving, so this
 * isolates two or three of them; a failure that is the query's own (every half fails) stops here.
 */
export function maxSplitQueries(keys: number): number {
  return keys < 2 ? 0 : 4 * Math.ceil(Math.log2(keys));
}

/**
 * Values by key from `fetch` over all `keys` in one call, or, when it fails with an error `splittable`
 * accepts, from calls over halves (both at once) until the keys that fail are alone or the budget of
 * maxSplitQueries is spent. Keys that could not be answered map to their error; keys `fetch` did not
 * return are absent.
 */
export async function fetchIsolatingFailures<V>(
  keys: readonly string[],
  fetch: (keys: readonly string[]) => Promise<Map<string, V>>,
  splittable: (error: unknown) => boolean,
): Promise<Map<string, V | Error>> {
  const out = new Map<string, V | Error>();
  let splitsLeft = maxSplitQueries(keys.length);
  const attempt = async (part: readonly string[]): Promise<void> => {
    try {
      for (const [key, value] of await fetch(part)) out.set(key, value);
    } catch (error) {
      if (part.length < 2 || splitsLeft < 2 || !splittable(error)) {
        const failure = error instanceof Error ? error : new Error(String(error));
        for (const key of part) out.set(key, failure);
        return;
      }
      splitsLeft -= 2;
      const middle = part.length >> 1;
      await Promise.all([attempt(part.slice(0, middle)), attempt(part.slice(middle))]);
    }
  };
  if (keys.length > 0) await attempt(keys);
  return out;
}

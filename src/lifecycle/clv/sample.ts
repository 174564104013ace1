// A documented, reproducible sample for fitting lifetime-value models on large bases. Maximum-likelihood
// estimates from tens of thousands of customers are already precise to far better than the models'
// own error; fitting on millions only costs time.
import { Random } from "../random.ts";

/** Buyers above which the fits run on a sample of about this many. */
export const CLV_SAMPLE_CUSTOMERS = 50_000;

/** A fixed seed: the same summaries always give the same sample, hence the same estimates. */
const SAMPLE_SEED = 20_050_101;

export interface Sampled<G> {
  readonly groups: G[];
  /** Share of customers kept (1: no sample). */
  readonly fraction: number;
}

/**
 * Keeps each customer of grouped summaries with probability limit / customers (binomial thinning of
 * every group's count), so the sample is a simple random sample of customers. Groups are sorted by
 * `key` first, so the order the warehouse returns them in cannot change the sample.
 */
export function sampleCustomers<G extends { readonly count: number }>(
  groups: readonly G[],
  key: (group: G) => string,
  limit = CLV_SAMPLE_CUSTOMERS,
): Sampled<G> {
  const customers = groups.reduce((n, g) => n + g.count, 0);
  if (customers <= limit) return { groups: [...groups], fraction: 1 };
  const fraction = limit / customers;
  const random = new Random(SAMPLE_SEED);
  // Stryker disable next-line EqualityOperator,ConditionalExpression: keys are unique (one per summary group), and V8's sort only asks whether compare(…) < 0, so the answer for a ≥ b (0 or 1) cannot move a group
  const byKey = (a: { key: string }, b: { key: string }) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0);
  const sorted = groups.map((group) => ({ group, key: key(group) })).sort(byKey);
  const kept: G[] = [];
  for (const { group } of sorted) {
    let count = 0;
    for (let i = 0; i < group.count; i++) if (random.chance(fraction)) count++;
    if (count > 0) kept.push({ ...group, count });
  }
  return { groups: kept, fraction };
}

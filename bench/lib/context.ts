// What every benchmark module receives: the sizes, the repeat counts, the data sets (opened lazily and
// shared), and the results of earlier modules that later ones reuse (scaling reuses the pushdown's
// top-size figures rather than measuring them twice).
import type { Section } from "./report.ts";
import { duckDataset, pgDataset, type DuckDataset, type PgDataset, type Sizes } from "./data.ts";

export interface BenchOptions {
  readonly full: boolean;
  readonly scale: number;
  /** Repeats of each timed measurement (each one a round of every variant, interleaved). */
  readonly repeats: number;
  /** Seconds each autocannon measurement runs. */
  readonly loadSeconds: number;
  /** Regenerate the DuckDB data sets even when kept from an earlier run. */
  readonly fresh: boolean;
}

export class BenchContext {
  private readonly duck = new Map<number, Promise<DuckDataset>>();
  private pg: Promise<PgDataset> | undefined;
  /** Results shared between modules, by name. */
  readonly shared = new Map<string, unknown>();

  constructor(
    readonly options: BenchOptions,
    readonly sizes: Sizes,
  ) {}

  duckData(customers: number): Promise<DuckDataset> {
    let d = this.duck.get(customers);
    if (!d) {
      d = duckDataset(customers, { fresh: this.options.fresh });
      this.duck.set(customers, d);
    }
    return d;
  }

  pgData(): Promise<PgDataset> {
    this.pg ??= pgDataset(this.sizes.pgCustomers);
    return this.pg;
  }

  /** Drops the PostgreSQL database if this run created it. */
  async cleanup(): Promise<void> {
    if (this.pg) await (await this.pg.catch(() => null))?.drop().catch(() => {});
  }

  /** The data sets used, for the report. */
  async describeData(): Promise<Record<string, unknown>> {
    const out: Record<string, unknown> = {};
    for (const [customers, d] of this.duck) {
      const ds = await d.catch(() => null);
      if (ds) out[`duckdb ${customers}`] = { path: ds.path, ...ds.counts, generatedMs: Math.round(ds.generatedMs) };
    }
    if (this.pg) {
      const pg = await this.pg.catch(() => null);
      if (pg) out.postgres = { database: "clm_bench", ...pg.counts, loadMs: Math.round(pg.loadMs) };
    }
    return out;
  }
}

export type BenchModule = (ctx: BenchContext, section: Section) => Promise<void>;

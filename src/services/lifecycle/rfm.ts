// RFM scores in the warehouse: every buyer ranked into quintiles as of a day, looked up by customer or
// grouped into the grid's cells; the RFM map (lifecycle/rfm.ts) names the segments.
import { sql, type Sql } from "../../sql/sql.ts";
import { monetaryKeySql, quintileSql, type RfmScore, type RfmSegments } from "../../lifecycle/rfm.ts";
import type { CustomerFeatureService } from "./features.ts";

/** Buyers with one RFM code, aggregated in the warehouse. */
export interface RfmCell {
  readonly recency: number;
  readonly frequency: number;
  readonly monetary: number;
  readonly customers: number;
  readonly revenue: number;
}

export class RfmQueries {
  constructor(
    private readonly lifecycle: CustomerFeatureService,
    private readonly rfm: RfmSegments,
  ) {}

  /**
   * RFM scores of every buyer as of the day (a relation: customer_id, revenue, r, fq, m); as of each of
   * several days, ranked among that day's buyers, with the day in `as_of`.
   */
  rfmScored(asOf: string | readonly string[]): Sql {
    const each = typeof asOf !== "string";
    const day = each ? sql`f.as_of` : undefined;
    return sql`SELECT ${each ? sql`f.as_of AS as_of, ` : sql``}f.customer_id AS customer_id, f.revenue AS revenue,
       ${quintileSql(sql`f.recency_days DESC`, day)} AS r,
       ${quintileSql(sql`f.purchase_days ASC`, day)} AS fq,
       ${quintileSql(sql`${monetaryKeySql(sql`f.revenue`)} ASC`, day)} AS m
FROM (${each ? this.lifecycle.featuresEach(asOf) : this.lifecycle.features(asOf)}) AS f
WHERE f.purchase_days >= 1`;
  }

  /** RFM scores of some customers (ranked among all buyers), in one query; prospects and unknown ids are absent. */
  async rfmOf(asOf: string, customerIds: readonly string[]): Promise<Map<string, RfmScore>> {
    if (customerIds.length === 0) return new Map();
    const rows = await this.lifecycle.warehouse.query<{ customer_id: string; r: number; fq: number; m: number }>(
      sql`SELECT customer_id, r, fq, m FROM (${this.rfmScored(asOf)}) AS s WHERE ${this.lifecycle.warehouse.dialect.inList(sql`s.customer_id`, customerIds)}`,
      { label: "customer_rfm" },
    );
    return new Map(
      rows.map((row) => [String(row.customer_id), this.rfm.score(Number(row.r), Number(row.fq), Number(row.m))]),
    );
  }

  /**
   * Buyers and revenue per RFM code as of the day (at most 125 rows), grouped in the warehouse. With
   * `members` (a relation with a customer_id column, e.g. a segment's members on asOf) only those buyers
   * are counted; their scores are still ranked among all buyers.
   */
  async rfmCells(asOf: string, members?: Sql): Promise<RfmCell[]> {
    const only = members ? sql` WHERE s.customer_id IN (SELECT m.customer_id FROM (${members}) AS m)` : sql``;
    const rows = await this.lifecycle.warehouse.query<{ r: number; fq: number; m: number; n: number; revenue: number }>(
      sql`SELECT r, fq, m, COUNT(*) AS n, SUM(revenue) AS revenue FROM (${this.rfmScored(asOf)}) AS s${only} GROUP BY r, fq, m`,
      { label: "rfm_cells" },
    );
    return rows
      .map((row) => ({
        recency: Number(row.r),
        frequency: Number(row.fq),
        monetary: Number(row.m),
        customers: Number(row.n),
        revenue: Number(row.revenue),
      }))
      .sort((a, b) => b.recency - a.recency || b.frequency - a.frequency || b.monetary - a.monetary);
  }
}

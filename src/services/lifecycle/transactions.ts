// Customers' transactions known on a day, a page of each customer's, in one warehouse query.
import { cast, ident, sql, typeName } from "../../sql/sql.ts";
import { asOfCutoff } from "../../lifecycle/calendar.ts";
import type { CustomerFeatureService } from "./features.ts";

export interface Transaction {
  readonly customerId: string;
  readonly occurredAt: Date;
  readonly amount: number;
  readonly orderId: string | null;
  readonly channel: string | null;
}

export class TransactionQueries {
  constructor(private readonly lifecycle: CustomerFeatureService) {}

  /**
   * Transactions of some customers known at asOf, oldest first (then by order id, amount and channel,
   * rows without an order id or channel first), rows offset+1 … offset+limit of each customer, in one query.
   */
  async transactionsOf(
    asOf: string,
    customerIds: readonly string[],
    offset: number,
    limit: number,
  ): Promise<Map<string, Transaction[]>> {
    const out = new Map<string, Transaction[]>(customerIds.map((id) => [id, []]));
    if (customerIds.length === 0) return out;
    const { mapping, dialect } = this.lifecycle.warehouse;
    const columns = mapping.tables.transactions.columns;
    const c = (name: string) => ident("t", columns[name]);
    // Every column, so rows that differ are always in the same order; NULLS FIRST spelled out because
    // the warehouses disagree on where NULL sorts (BigQuery first, DuckDB and PostgreSQL last).
    const ordering = sql`${c("occurred_at")}, ${c("order_id")} NULLS FIRST, ${c("amount")}, ${c("channel")} NULLS FIRST`;
    const rows = await this.lifecycle.warehouse.query<{
      customer_id: string;
      occurred_at: Date;
      amount: number;
      order_id: string | null;
      channel: string | null;
    }>(
      sql`SELECT * FROM (
  SELECT CAST(${c("customer_id")} AS ${typeName("text")}) AS customer_id, ${c("occurred_at")} AS occurred_at,
         ${cast(c("amount"), "float")} AS amount, ${c("order_id")} AS order_id, ${c("channel")} AS channel,
         ROW_NUMBER() OVER (PARTITION BY ${c("customer_id")} ORDER BY ${ordering}) AS rn
  FROM ${ident(mapping.schema, mapping.tables.transactions.table)} AS t
  WHERE ${c("occurred_at")} < ${dialect.instant(asOfCutoff(asOf, this.lifecycle.timeZone))}
    AND ${dialect.inList(c("customer_id"), customerIds)}
) AS x
WHERE rn > ${offset} AND rn <= ${offset + limit}
ORDER BY customer_id, rn`,
      { label: "customer_transactions" },
    );
    for (const row of rows) {
      out.get(String(row.customer_id))?.push({
        customerId: String(row.customer_id),
        occurredAt: row.occurred_at instanceof Date ? row.occurred_at : new Date(String(row.occurred_at)),
        amount: Number(row.amount),
        orderId: row.order_id,
        channel: row.channel,
      });
    }
    return out;
  }
}

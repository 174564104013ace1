// The state store's tables in the app database (prisma/schema.prisma: StatePointer, StateRefresh,
// CustomerState, CustomerClv, StageSpell, StageDayCount): the rows a refresh writes, and the reads that serve from
// them. Every read joins the pointer, so one statement sees one published state whatever is being
// written or published meanwhile; rows of a refresh not (yet) published are never read.
import { queryBuilt, storedDay as date, type AppSql, type AppSqlSession } from "../../appdb/app-sql.ts";
import { dayNumber, dayOfNumber, daysBetween } from "../../lifecycle/calendar.ts";
import {
  eventFeatureField,
  FEATURES,
  featureCatalog,
  type CustomerFeatures,
  type EventMeasure,
  type EventType,
} from "../../lifecycle/features.ts";
import type { CustomerHistory, StageSpell } from "../../lifecycle/stage-history.ts";
import {
  RFM_MEASURES,
  rfmBoundsOf,
  rfmBoundsSql,
  rfmScoreSql,
  rfmValuesSql,
  type RfmBounds,
  type RfmMeasure,
} from "../../lifecycle/rfm.ts";
import { cast, ident, integer, join, sql, type Sql } from "../../sql/sql.ts";
import type { StoredClv } from "./state-clv.ts";
import { recentFingerprint, recentKey, type RecentActivity } from "./recent-activity.ts";

/** What is being served: the pointer row. */
export interface PublishedState {
  readonly generation: number;
  readonly rowsGeneration: number;
  readonly stateDay: string;
  readonly dataThrough: string | null;
  readonly modelHash: string;
  readonly stageKeys: readonly string[];
  /** The lifetime-value fit whose predictions the state holds; null: none. */
  readonly clv: StoredClv | null;
  /** Where each RFM score begins among the state's buyers; null: no buyers. */
  readonly rfm: RfmBounds | null;
  readonly publishedAt: Date;
}

export interface RefreshRecord {
  readonly generation: number;
  readonly kind: "full" | "incremental";
  readonly startedAt: Date;
  readonly finishedAt: Date | null;
  readonly stateDay: string;
  readonly dataThrough: string | null;
  readonly rowsRead: number;
  readonly customers: number;
  readonly changedCustomers: number;
  readonly futureRows: number;
  readonly nullIdRows: number;
  /** What the refresh's warehouse queries would scan, by dry runs (BigQuery); null elsewhere. */
  readonly bytesEstimated: number | null;
  readonly warnings: readonly string[];
  readonly error: string | null;
  readonly published: boolean;
}

/** The fixed features stored as columns of customer_state (the rest are worked out from them). */
const STORED_FEATURES = [
  "firstSeenDate",
  "firstPurchaseDate",
  "secondPurchaseDate",
  "lastPurchaseDate",
  "purchaseDays",
  "orderCount",
  "revenue",
  "firstPurchaseRevenue",
  "referredCount",
  "acquisitionChannel",
  "lastEventDate",
  "lastEventType",
] as const;

const COLUMN_OF = new Map<string, string>(FEATURES.map((f) => [f.field, f.column]));

export const CUSTOMER_STATE_COLUMNS = [
  "rows_generation",
  "customer_id",
  "stage",
  "furthest",
  "stage_since",
  "next_change_day",
  ...STORED_FEATURES.map((f) => COLUMN_OF.get(f)!),
  "event_features",
] as const;

export const STAGE_SPELL_COLUMNS = [
  "rows_generation",
  "customer_id",
  "from_day",
  "to_day",
  "stage",
  "furthest",
  "stage_since",
  "from_seen",
  "from_purchase",
  "previous_stage",
  "previous_from",
] as const;

const day = (n: number | null) => (n === null ? null : dayOfNumber(n));

/** A customer's state row (CUSTOMER_STATE_COLUMNS order) from their history. */
export function customerStateRow(rowsGeneration: number, history: CustomerHistory, eventFields: readonly string[]) {
  const last = history.spells[history.spells.length - 1]!;
  const f = history.features as unknown as Record<string, unknown>;
  return [
    rowsGeneration,
    history.customerId,
    last.stage,
    last.furthest,
    day(last.stageSince),
    day(history.nextChangeDay),
    ...STORED_FEATURES.map((field) => f[field] ?? null),
    eventFields.length === 0 ? null : JSON.stringify(Object.fromEntries(eventFields.map((e) => [e, f[e] ?? null]))),
  ];
}

/** A customer's spells (STAGE_SPELL_COLUMNS order). */
export function spellRows(rowsGeneration: number, history: CustomerHistory): unknown[][] {
  const { firstSeenDate, firstPurchaseDate } = history.features;
  const firstSeen = dayNumber(firstSeenDate!);
  const firstPurchase = firstPurchaseDate === null ? null : dayNumber(firstPurchaseDate);
  return history.spells.map((s, i) => {
    const previous = i > 0 ? history.spells[i - 1]! : null;
    return [
      rowsGeneration,
      history.customerId,
      day(s.from),
      day(s.to),
      s.stage,
      s.furthest,
      day(s.stageSince),
      s.from - firstSeen,
      firstPurchase !== null && firstPurchase <= s.from ? s.from - firstPurchase : null,
      previous?.stage ?? null,
      previous === null ? null : day(previous.from),
    ];
  });
}

/** The event feature fields of the configured types, in catalog order. */
export function eventFeatureFields(eventTypes: readonly EventType[]): string[] {
  return featureCatalog(eventTypes)
    .slice(FEATURES.length)
    .map((f) => f.field);
}

const text = (v: unknown) => (v === null || v === undefined ? null : String(v));
const num = (v: unknown) => (v === null || v === undefined ? null : Number(v));

/** A stored row as the customer's features on the state day `stateDay` (recency and tenure worked out). */
export function storedFeatures(row: Record<string, unknown>, stateDay: string, eventTypes: readonly EventType[]) {
  const daysTo = (from: string | null) => (from === null ? null : daysBetween(from, stateDay));
  const purchaseDays = Number(row.purchase_days);
  const orderCount = Number(row.order_count);
  const revenue = Number(row.revenue);
  const first = date(row.first_purchase_date);
  const last = date(row.last_purchase_date);
  const features: Record<string, unknown> = {
    customerId: String(row.customer_id),
    firstSeenDate: date(row.first_seen_date),
    firstPurchaseDate: first,
    secondPurchaseDate: date(row.second_purchase_date),
    lastPurchaseDate: last,
    purchaseDays,
    orderCount,
    revenue,
    firstPurchaseRevenue: num(row.first_purchase_revenue),
    averageOrderValue: orderCount > 0 ? revenue / orderCount : null,
    meanGapDays:
      purchaseDays === 0 ? null : purchaseDays === 1 ? 0 : (daysTo(first)! - daysTo(last)!) / (purchaseDays - 1),
    recencyDays: daysTo(last),
    tenureDays: daysTo(date(row.first_seen_date)),
    referredCount: num(row.referred_count),
    acquisitionChannel: text(row.acquisition_channel),
    lastEventDate: date(row.last_event_date),
    lastEventType: text(row.last_event_type),
  };
  const events = (
    typeof row.event_features === "string" ? JSON.parse(row.event_features) : row.event_features
  ) as Record<string, unknown> | null;
  for (const type of eventTypes) {
    const field = (measure: EventMeasure) => eventFeatureField(type.key, measure);
    const first = (events?.[field("firstDate")] ?? null) as string | null;
    const last = (events?.[field("lastDate")] ?? null) as string | null;
    features[field("count")] = events?.[field("count")] ?? null;
    features[field("firstDate")] = first;
    features[field("lastDate")] = last;
    // Stored as of the refresh that wrote the row; an incremental refresh may have moved the state day on.
    features[field("daysSinceFirst")] = daysTo(first);
    features[field("daysSinceLast")] = daysTo(last);
  }
  return features as CustomerFeatures;
}

/** The pointer's columns, as toPointer reads them; `p.` names them in reads that join the pointer as p. */
const POINTER_COLUMNS =
  "generation, rows_generation, state_day, data_through, model_hash, stage_keys, clv, rfm, published_at";
const POINTER_SELECT = `SELECT ${POINTER_COLUMNS} FROM state_pointer WHERE id = 1`;
const P_POINTER_COLUMNS = POINTER_COLUMNS.split(", ")
  .map((c) => `p.${c}`)
  .join(", ");
/** The pointer's columns read from `p` as p_<column>, beside a state table's columns of the same names. */
const P_PREFIXED_POINTER_COLUMNS = POINTER_COLUMNS.split(", ")
  .map((c) => `p.${c} AS p_${c}`)
  .join(", ");
/** The pointer's columns read from `p`, for SQL made with the sql builder. */
export const P_POINTER_SQL = join(POINTER_COLUMNS.split(", ").map((c) => ident("p", c)));

/**
 * A stored customer's RFM score on one measure, over customer_state `s` and the pointer `p` (its state
 * day and its bounds); null for a customer who has not bought.
 */
export function storedRfmSql(measure: RfmMeasure): Sql {
  const value = rfmValuesSql(sql`(p.state_day - s.last_purchase_date)`, sql`s.purchase_days`, sql`s.revenue`)[measure];
  const bound = (index: number) => cast(sql`p.rfm -> ${cast(measure, "text")} ->> ${integer(index)}`, "float");
  return sql`(CASE WHEN s.purchase_days >= 1 THEN ${rfmScoreSql(measure, value, bound)} END)`;
}

export function toPointer(row: Record<string, unknown>): PublishedState {
  const json = (v: unknown) => (typeof v === "string" ? JSON.parse(v) : (v ?? null));
  return {
    generation: Number(row.generation),
    rowsGeneration: Number(row.rows_generation),
    stateDay: date(row.state_day)!,
    dataThrough: date(row.data_through),
    modelHash: String(row.model_hash),
    stageKeys: json(row.stage_keys) as string[],
    clv: json(row.clv) as StoredClv | null,
    rfm: json(row.rfm) as RfmBounds | null,
    publishedAt: row.published_at instanceof Date ? row.published_at : new Date(String(row.published_at)),
  };
}

function toRefresh(row: Record<string, unknown>): RefreshRecord {
  const warnings = typeof row.warnings === "string" ? JSON.parse(row.warnings) : row.warnings;
  const instant = (v: unknown) => (v === null || v === undefined ? null : v instanceof Date ? v : new Date(String(v)));
  return {
    generation: Number(row.generation),
    kind: row.kind as "full" | "incremental",
    startedAt: instant(row.started_at)!,
    finishedAt: instant(row.finished_at),
    stateDay: date(row.state_day)!,
    dataThrough: date(row.data_through),
    rowsRead: Number(row.rows_read),
    customers: Number(row.customers),
    changedCustomers: Number(row.changed_customers),
    futureRows: Number(row.future_rows),
    nullIdRows: Number(row.null_id_rows),
    bytesEstimated:
      row.bytes_estimated === null || row.bytes_estimated === undefined ? null : Number(row.bytes_estimated),
    warnings: (warnings ?? []) as string[],
    error: text(row.error),
    published: Boolean(row.published),
  };
}

/** The tables a state's rows live in (names from this list only reach ANALYZE, VACUUM and DELETE). */
const STATE_TABLES = ["customer_state", "customer_clv", "stage_spell", "stage_day_count"] as const;
type StateTable = (typeof STATE_TABLES)[number];

/** Reads and writes of the state tables. */
export class StateTables {
  constructor(readonly sql: AppSql) {}

  async pointer(): Promise<PublishedState | null> {
    const [row] = await this.sql.query(POINTER_SELECT);
    return row ? toPointer(row) : null;
  }

  async lastRefresh(): Promise<RefreshRecord | null> {
    const [row] = await this.sql.query(`SELECT * FROM state_refresh ORDER BY generation DESC LIMIT 1`);
    return row ? toRefresh(row) : null;
  }

  /** The refresh that published the served state, and the last full refresh published. */
  async publishedRefreshes(): Promise<{
    served: (RefreshRecord & { tableRows: Record<string, number> | null }) | null;
    lastFull: RefreshRecord | null;
  }> {
    const [served] = await this.sql.query(
      `SELECT r.* FROM state_refresh r JOIN state_pointer p ON p.generation = r.generation WHERE p.id = 1`,
    );
    const [lastFull] = await this.sql.query(
      `SELECT * FROM state_refresh WHERE kind = 'full' AND published ORDER BY generation DESC LIMIT 1`,
    );
    const tableRows = (v: unknown) =>
      (typeof v === "string" ? JSON.parse(v) : (v ?? null)) as Record<string, number> | null;
    return {
      served: served ? { ...toRefresh(served), tableRows: tableRows(served.table_rows) } : null,
      lastFull: lastFull ? toRefresh(lastFull) : null,
    };
  }

  /** Records a refresh as started; its generation is one past every earlier one. */
  async startRefresh(start: {
    kind: "full" | "incremental";
    stateDay: string;
    modelHash: string;
    tableRows: Record<string, number>;
    watermark: Date | null;
    reason: string | null;
  }): Promise<number> {
    const [row] = await this.sql.query<{ generation: number }>(
      `INSERT INTO state_refresh (generation, kind, started_at, state_day, model_hash, table_rows, watermark, reason)
       SELECT COALESCE(MAX(generation), 0) + 1, $1, now(), $2, $3, $4, $5, $6 FROM state_refresh
       RETURNING generation`,
      [start.kind, start.stateDay, start.modelHash, JSON.stringify(start.tableRows), start.watermark, start.reason],
    );
    return Number(row!.generation);
  }

  /** Customers of the served rows whose stage changes on or before `day` without new activity. */
  async dueCustomers(rowsGeneration: number, day: string): Promise<string[]> {
    const rows = await this.sql.query<{ customer_id: string }>(
      `SELECT customer_id FROM customer_state WHERE rows_generation = $1 AND next_change_day <= $2`,
      [rowsGeneration, day],
    );
    return rows.map((r) => r.customer_id);
  }

  /**
   * The rows per customer and day kept with a rows generation (the lateness window of its state day),
   * keyed by `recentKey`; values `recentFingerprint`.
   */
  async recentActivity(rowsGeneration: number): Promise<Map<string, string>> {
    const rows = await this.sql.query<{ customer_id: string; day: unknown; row_count: number; amount_sum: unknown }>(
      `SELECT customer_id, day, row_count, amount_sum FROM state_recent_activity WHERE rows_generation = $1`,
      [rowsGeneration],
    );
    return new Map(
      rows.map((r) => [
        recentKey(r.customer_id, dayNumber(date(r.day)!)),
        recentFingerprint(Number(r.row_count), r.amount_sum === null ? null : Number(r.amount_sum)),
      ]),
    );
  }

  /** Replaces the rows per customer and day kept with a rows generation (inside the publishing transaction). */
  async replaceRecentActivity(
    session: AppSqlSession,
    rowsGeneration: number,
    rows: readonly RecentActivity[],
  ): Promise<void> {
    await session.query(`DELETE FROM state_recent_activity WHERE rows_generation = $1`, [rowsGeneration]);
    await session.copyRows(
      "state_recent_activity",
      ["rows_generation", "customer_id", "day", "row_count", "amount_sum"],
      (async function* () {
        for (let i = 0; i < rows.length; i += 10_000)
          yield rows
            .slice(i, i + 10_000)
            .map((r) => [rowsGeneration, r.customerId, dayOfNumber(r.day), r.rowCount, r.amountSum]);
      })(),
    );
  }

  /**
   * Some customers' stored rows and spells (oldest first, days as day numbers) under a rows generation:
   * what carries a history on without reading the warehouse.
   */
  async storedHistories(
    rowsGeneration: number,
    customerIds: readonly string[],
  ): Promise<{ row: Record<string, unknown>; spells: StageSpell[] }[]> {
    const [rows, spells] = await Promise.all([
      this.sql.query(`SELECT * FROM customer_state WHERE rows_generation = $1 AND customer_id = ANY($2::text[])`, [
        rowsGeneration,
        customerIds,
      ]),
      this.sql.query(
        `SELECT customer_id, from_day, to_day, stage, furthest, stage_since FROM stage_spell
         WHERE rows_generation = $1 AND customer_id = ANY($2::text[]) ORDER BY customer_id, from_day`,
        [rowsGeneration, customerIds],
      ),
    ]);
    const byCustomer = new Map<string, StageSpell[]>();
    const day = (v: unknown) => (v === null || v === undefined ? null : dayNumber(date(v)!));
    for (const s of spells) {
      const id = String(s.customer_id);
      let list = byCustomer.get(id);
      if (!list) byCustomer.set(id, (list = []));
      list.push({
        stage: Number(s.stage),
        furthest: Number(s.furthest),
        from: day(s.from_day)!,
        to: day(s.to_day),
        stageSince: day(s.stage_since)!,
      });
    }
    return rows.map((row) => ({ row, spells: byCustomer.get(String(row.customer_id)) ?? [] }));
  }

  /**
   * The served spells of the customers written again under `staging`, as changes of the day counts
   * (day, by furthest stage, stage, count): +count where spells begin, −count where they end; what
   * taking them out of the counts subtracts.
   */
  async stagedSpellChanges(
    session: AppSqlSession,
    rowsGeneration: number,
    staging: number,
  ): Promise<{ day: string; furthest: boolean; stage: number; n: number }[]> {
    const rows = await session.query(
      `WITH old AS (
         SELECT s.stage, s.furthest, s.from_day, s.to_day FROM stage_spell s
         WHERE s.rows_generation = $1
           AND EXISTS (SELECT 1 FROM customer_state n WHERE n.rows_generation = $2 AND n.customer_id = s.customer_id)
       )
       SELECT day, furthest, stage, SUM(n)::int AS n FROM (
         SELECT from_day AS day, false AS furthest, stage, COUNT(*) AS n FROM old GROUP BY 1, 3
         UNION ALL SELECT from_day, true, furthest, COUNT(*) FROM old GROUP BY 1, 3
         UNION ALL SELECT to_day, false, stage, -COUNT(*) FROM old WHERE to_day IS NOT NULL GROUP BY 1, 3
         UNION ALL SELECT to_day, true, furthest, -COUNT(*) FROM old WHERE to_day IS NOT NULL GROUP BY 1, 3
       ) AS c GROUP BY day, furthest, stage`,
      [rowsGeneration, staging],
    );
    return rows.map((r) => ({
      day: date(r.day)!,
      furthest: Boolean(r.furthest),
      stage: Number(r.stage),
      n: Number(r.n),
    }));
  }

  /**
   * Replaces the served rows of the customers written under `staging` with those rows: the old state
   * and spells of those customers go, the staged ones take the served generation. Returns how many.
   */
  async promoteStaged(session: AppSqlSession, rowsGeneration: number, staging: number): Promise<number> {
    for (const table of ["customer_state", "stage_spell"]) {
      await session.query(
        `DELETE FROM ${table} t WHERE t.rows_generation = $1
           AND EXISTS (SELECT 1 FROM customer_state n WHERE n.rows_generation = $2 AND n.customer_id = t.customer_id)`,
        [rowsGeneration, staging],
      );
    }
    const [moved] = await session.query<{ n: number }>(
      `WITH m AS (UPDATE customer_state SET rows_generation = $1 WHERE rows_generation = $2 RETURNING 1)
       SELECT COUNT(*)::int AS n FROM m`,
      [rowsGeneration, staging],
    );
    await session.query(`UPDATE stage_spell SET rows_generation = $1 WHERE rows_generation = $2`, [
      rowsGeneration,
      staging,
    ]);
    return Number(moved?.n ?? 0);
  }

  /**
   * Moves the day counts from the old state day to the new one: the days between keep the old day's
   * counts (nobody unchanged changes stage before their next change day), then `changes` (day, stage,
   * added customers) are added; counts that reach 0 are removed.
   */
  async moveDayCounts(
    session: AppSqlSession,
    rowsGeneration: number,
    from: string,
    to: string,
    changes: readonly (readonly [string, boolean, number, number])[],
  ): Promise<void> {
    if (to > from) {
      await session.query(
        `INSERT INTO stage_day_count (rows_generation, furthest, day, stage, customers)
         SELECT c.rows_generation, c.furthest, d::date, c.stage, c.customers
         FROM stage_day_count c CROSS JOIN generate_series($2::date + 1, $3::date, interval '1 day') AS d
         WHERE c.rows_generation = $1 AND c.day = $2::date`,
        [rowsGeneration, from, to],
      );
    }
    if (changes.length === 0) return;
    await session.query(
      `INSERT INTO stage_day_count (rows_generation, furthest, day, stage, customers)
       SELECT $1, f, d, s, n FROM unnest($2::date[], $3::boolean[], $4::int[], $5::int[]) AS u(d, f, s, n)
       ON CONFLICT (rows_generation, furthest, day, stage)
       DO UPDATE SET customers = stage_day_count.customers + EXCLUDED.customers`,
      [
        rowsGeneration,
        changes.map((c) => c[0]),
        changes.map((c) => c[1]),
        changes.map((c) => c[2]),
        changes.map((c) => c[3]),
      ],
    );
    await session.query(`DELETE FROM stage_day_count WHERE rows_generation = $1 AND customers = 0`, [rowsGeneration]);
  }

  /** Runs a query written with the Sql fragments (rendered for PostgreSQL, values bound). */

  /**
   * Where each RFM score begins among the buyers of `rowsGeneration` on the state day: the same quintiles
   * of the same ranks as the warehouse's (lifecycle/rfm.ts), kept as 15 bounds in the pointer instead of
   * a row per buyer (whose ranks move whenever any buyer's do, so every row would be written again at
   * every refresh). Null when nobody has bought.
   */
  async rfmBounds(session: AppSqlSession, rowsGeneration: number, stateDay: string): Promise<RfmBounds | null> {
    const values = rfmValuesSql(
      sql`(${cast(stateDay, "date")} - last_purchase_date)`,
      sql`purchase_days`,
      sql`revenue`,
    );
    const rows = await queryBuilt<{ measure: string; score: number; bound: number }>(
      session,
      rfmBoundsSql(
        sql`SELECT ${join(RFM_MEASURES.map((m) => sql`${values[m]} AS ${ident(m)}`))}
FROM customer_state WHERE rows_generation = ${integer(rowsGeneration)} AND purchase_days >= 1`,
      ),
    );
    return rows.length === 0 ? null : rfmBoundsOf(rows);
  }

  /**
   * What RFM scores some customers on the state day (their purchase days, last purchase day and revenue),
   * read in one statement with the pointer whose bounds score them.
   */
  async rfmInputsOf(modelHash: string, customerIds: readonly string[]) {
    return this.customersWithPointer(
      modelHash,
      customerIds,
      `s.customer_id, s.purchase_days, s.last_purchase_date, s.revenue`,
      `customer_state s ON s.rows_generation = p.rows_generation AND s.customer_id = ANY($2::text[]) AND s.purchase_days >= 1`,
    );
  }

  /** Lifetime-value predictions of some buyers on the state day, with the pointer naming their fit. */
  async predictionsOf(modelHash: string, customerIds: readonly string[]) {
    return this.customersWithPointer(
      modelHash,
      customerIds,
      `c.customer_id, c.probability_alive, c.expected_purchases, c.expected_average_spend, c.predicted_clv`,
      `customer_clv c ON c.rows_generation = p.rows_generation AND c.customer_id = ANY($2::text[])`,
    );
  }

  /**
   * Rows of some customers (`joined`: a state table joined to the pointer `p`, ids in $2) with the
   * pointer of the state they belong to, in one statement; null when no state of `modelHash` serves.
   */
  private async customersWithPointer(
    modelHash: string,
    customerIds: readonly string[],
    columns: string,
    joined: string,
  ) {
    const rows = await this.sql.query(
      `SELECT ${P_POINTER_COLUMNS}, ${columns} FROM state_pointer p LEFT JOIN ${joined} WHERE p.id = 1 AND p.model_hash = $1`,
      [modelHash, customerIds],
    );
    if (rows.length === 0) return null;
    return {
      pointer: toPointer(rows[0]!),
      rows: rows.filter((r) => r.customer_id !== null && r.customer_id !== undefined),
    };
  }

  /**
   * Buyers and revenue per RFM code on the state day. Revenue is summed as numeric: exact, where a
   * warehouse's float sum may differ from it in the last digits (3352.6499999999996 for 3352.65).
   */
  async rfmCells(modelHash: string) {
    const pointer = await this.pointerOf(modelHash);
    if (!pointer) return null;
    const rows = await queryBuilt(
      this.sql,
      sql`SELECT ${storedRfmSql("recency")} AS recency, ${storedRfmSql("frequency")} AS frequency,
       ${storedRfmSql("monetary")} AS monetary, COUNT(*)::int AS n, SUM(s.revenue::numeric)::float8 AS revenue
FROM state_pointer p JOIN customer_state s ON s.rows_generation = p.rows_generation
WHERE p.id = 1 AND p.model_hash = ${modelHash} AND s.purchase_days >= 1
GROUP BY 1, 2, 3`,
    );
    return { pointer, rows };
  }

  /**
   * Every state row with its RFM scores and prediction, a page at a time in id order, all from one snapshot of one
   * published state (a repeatable-read transaction), whatever refreshes publish meanwhile.
   */
  async *statePages(
    modelHash: string,
    pageRows = 10_000,
  ): AsyncGenerator<{ pointer: PublishedState; rows: Record<string, unknown>[] }> {
    // A generator cannot yield from inside transaction()'s callback: pages go through a small queue.
    const pages: { pointer: PublishedState; rows: Record<string, unknown>[] }[] = [];
    let wake: (() => void) | undefined;
    let finished = false;
    let failure: unknown;
    let stopped = false;
    let resume: (() => void) | undefined;
    const reading = this.sql
      .transaction(async (tx) => {
        await tx.query("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ");
        const [row] = await tx.query(`${POINTER_SELECT} AND model_hash = $1`, [modelHash]);
        if (!row) return;
        const pointer = toPointer(row);
        let after: string | null = null;
        for (;;) {
          const rows: Record<string, unknown>[] = await tx.query(
            `SELECT s.*, c.probability_alive, c.expected_purchases, c.expected_average_spend, c.predicted_clv
             FROM customer_state s
             LEFT JOIN customer_clv c ON c.rows_generation = s.rows_generation AND c.customer_id = s.customer_id
             WHERE s.rows_generation = $1 AND ($2::text IS NULL OR s.customer_id > $2)
             ORDER BY s.customer_id LIMIT $3`,
            [pointer.rowsGeneration, after, pageRows],
          );
          if (rows.length === 0) return;
          after = String(rows[rows.length - 1]!.customer_id);
          pages.push({ pointer, rows });
          wake?.();
          // Back-pressure: the next page is read once the consumer has taken this one.
          await new Promise<void>((r) => (resume = r));
          if (stopped) return;
        }
      })
      .catch((error: unknown) => (failure = error))
      .finally(() => {
        finished = true;
        wake?.();
      });
    try {
      for (;;) {
        if (pages.length > 0) {
          yield pages.shift()!;
          resume?.();
          continue;
        }
        if (finished) break;
        await new Promise<void>((r) => (wake = r));
      }
      if (failure) throw failure;
    } finally {
      stopped = true;
      resume?.();
      await reading;
    }
  }

  /** Removes rows no published state reads: those of refreshes that failed or were killed. */
  async dropUnpublishedRows(): Promise<void> {
    for (const table of [...STATE_TABLES, "state_recent_activity"]) {
      await this.sql.query(
        `DELETE FROM ${table} WHERE rows_generation <> COALESCE((SELECT rows_generation FROM state_pointer WHERE id = 1), -1)`,
      );
    }
  }

  /**
   * Refreshes the planner's statistics of the state tables after a publish: PGlite runs no autovacuum,
   * and a plan made without them read every state row for a lookup of a few ids (bench/README.md, "Where
   * the embedded state lives"); on PostgreSQL it spares waiting for autovacuum after a bulk load.
   */
  async analyze(tables: readonly StateTable[] = STATE_TABLES): Promise<void> {
    await this.sql.query(`ANALYZE ${tables.join(", ")}`);
  }

  /**
   * After publishing: every state table vacuumed and analyzed, so that the reads by day (transitions,
   * entries) are answered from the spells' covering index without visiting the table (index-only
   * scans need the pages marked all-visible, which a load does not do), and so that autovacuum does
   * not come to the million rows just loaded while the state serves (1M customers: 2.5 s in all).
   */
  async tidy(): Promise<void> {
    await this.sql.query(`VACUUM (ANALYZE) ${STATE_TABLES.join(", ")}`);
  }

  /** Replaces a refresh's warnings (what went wrong after it published, such as the writeback). */
  async setWarnings(generation: number, warnings: readonly string[]): Promise<void> {
    await this.sql.query(`UPDATE state_refresh SET warnings = $2 WHERE generation = $1`, [
      generation,
      JSON.stringify(warnings),
    ]);
  }

  async failRefresh(generation: number, error: string, warnings: readonly string[]): Promise<void> {
    await this.sql.query(
      `UPDATE state_refresh SET finished_at = clock_timestamp(), error = $2, warnings = $3 WHERE generation = $1`,
      [generation, error.slice(0, 2_000), JSON.stringify(warnings)],
    );
  }

  /**
   * Makes a refresh's rows the served state, in one transaction: the pointer moves and the refresh is
   * recorded as published; readers see the old state until it commits.
   */
  async publish(
    session: AppSqlSession,
    p: Omit<PublishedState, "publishedAt">,
    record: Pick<
      RefreshRecord,
      "rowsRead" | "customers" | "changedCustomers" | "futureRows" | "nullIdRows" | "bytesEstimated" | "warnings"
    >,
  ): Promise<void> {
    await session.query(
      `INSERT INTO state_pointer (id, generation, rows_generation, state_day, data_through, model_hash, stage_keys, clv, rfm, published_at)
       VALUES (1, $1, $2, $3, $4, $5, $6, $7, $8, clock_timestamp())
       ON CONFLICT (id) DO UPDATE SET generation = EXCLUDED.generation, rows_generation = EXCLUDED.rows_generation,
         state_day = EXCLUDED.state_day, data_through = EXCLUDED.data_through, model_hash = EXCLUDED.model_hash,
         stage_keys = EXCLUDED.stage_keys, clv = EXCLUDED.clv, rfm = EXCLUDED.rfm, published_at = EXCLUDED.published_at`,
      [
        p.generation,
        p.rowsGeneration,
        p.stateDay,
        p.dataThrough,
        p.modelHash,
        JSON.stringify(p.stageKeys),
        p.clv === null ? null : JSON.stringify(p.clv),
        p.rfm === null ? null : JSON.stringify(p.rfm),
      ],
    );
    await session.query(
      `UPDATE state_refresh SET finished_at = clock_timestamp(), published = true, data_through = $2, rows_read = $3, customers = $4,
         changed_customers = $5, future_rows = $6, null_id_rows = $7, warnings = $8, bytes_estimated = $9
       WHERE generation = $1`,
      [
        p.generation,
        p.dataThrough,
        record.rowsRead,
        record.customers,
        record.changedCustomers,
        record.futureRows,
        record.nullIdRows,
        JSON.stringify(record.warnings),
        record.bytesEstimated,
      ],
    );
  }

  /** State rows of some customers in the published state built with `modelHash`, with the pointer. */
  async customerStates(
    modelHash: string,
    customerIds: readonly string[],
  ): Promise<{ pointer: PublishedState; rows: Record<string, unknown>[] } | null> {
    const rows = await this.sql.query(
      `SELECT s.*, ${P_PREFIXED_POINTER_COLUMNS}
       FROM state_pointer p LEFT JOIN customer_state s
         ON s.rows_generation = p.rows_generation AND s.customer_id = ANY($2::text[])
       WHERE p.id = 1 AND p.model_hash = $1`,
      [modelHash, customerIds],
    );
    if (rows.length === 0) return null;
    const first = rows[0]!;
    const pointer = toPointer(
      Object.fromEntries(
        Object.entries(first)
          .filter(([k]) => k.startsWith("p_"))
          .map(([k, v]) => [k.slice(2), v]),
      ),
    );
    return { pointer, rows: rows.filter((r) => r.customer_id !== null && r.customer_id !== undefined) };
  }

  /** Customers per stage at the end of `day` (a day up to the state day), with the pointer. */
  async stageCountsOn(
    modelHash: string,
    day: string,
    options: { furthest?: boolean } = {},
  ): Promise<{ pointer: PublishedState; counts: Map<number, number> } | null> {
    const found = await this.dayCounts(modelHash, [day], options);
    return found && { pointer: found.pointer, counts: found.counts.get(day) ?? new Map() };
  }

  /** Customers per stage (or furthest stage) at the end of each of `days`, in one query, with the pointer. */
  async dayCounts(
    modelHash: string,
    days: readonly string[],
    options: { furthest?: boolean } = {},
  ): Promise<{ pointer: PublishedState; counts: Map<string, Map<number, number>> } | null> {
    const rows = await this.sql.query(
      `SELECT ${P_POINTER_COLUMNS},
              c.day, c.stage, c.customers
       FROM state_pointer p LEFT JOIN stage_day_count c
         ON c.rows_generation = p.rows_generation AND c.furthest = $3 AND c.day = ANY($2::date[])
       WHERE p.id = 1 AND p.model_hash = $1`,
      [modelHash, days, options.furthest ?? false],
    );
    if (rows.length === 0) return null;
    const counts = new Map<string, Map<number, number>>();
    for (const r of rows) {
      if (r.stage === null || r.stage === undefined) continue;
      const day = date(r.day)!;
      if (!counts.has(day)) counts.set(day, new Map());
      counts.get(day)!.set(Number(r.stage), Number(r.customers));
    }
    return { pointer: toPointer(rows[0]!), counts };
  }

  /**
   * How many customers were in each stage on `from` (null: not yet known) and in each on `to`, over
   * the customers known on `to`. Only those with a spell beginning in (from, to] are read (the day
   * index covers the columns): their stage on `from` is the previous stage of the first such spell
   * (its previous one began on or before `from`), on `to` the stage of the one still running. Most
   * movers have one spell in the range, which is both; only those with several are paired by
   * customer, so the customers of the range are never grouped one by one (a quarter of a 1M state:
   * 400,000 movers, 170,000 of them with several spells). Everyone else stayed in one spell: their
   * stage on `to`'s day count less the movers who arrived there.
   */
  async transitions(
    modelHash: string,
    from: string,
    to: string,
  ): Promise<{ pointer: PublishedState; rows: { from: number | null; to: number; n: number }[] } | null> {
    const pointer = await this.pointerOf(modelHash);
    if (!pointer) return null;
    // Counted in the database: one row per pair of stages, not one per customer.
    const inRange = (s: string) =>
      `${s}.rows_generation = (SELECT rows_generation FROM g) AND ${s}.from_day > $2 AND ${s}.from_day <= $3`;
    const firstInRange = (s: string) => `(${s}.previous_from IS NULL OR ${s}.previous_from <= $2)`;
    const runningOnTo = (s: string) => `(${s}.to_day IS NULL OR ${s}.to_day > $3)`;
    const rows = await this.sql.query(
      `WITH g AS (SELECT rows_generation FROM state_pointer WHERE id = 1 AND model_hash = $1),
       moved_once AS (
         SELECT s.previous_stage AS from_stage, s.stage AS to_stage, COUNT(*)::int AS n
         FROM stage_spell s
         WHERE ${inRange("s")} AND ${firstInRange("s")} AND ${runningOnTo("s")}
         GROUP BY s.previous_stage, s.stage),
       moved_more AS (
         SELECT f.previous_stage AS from_stage, t.stage AS to_stage, COUNT(*)::int AS n
         FROM stage_spell f
         JOIN stage_spell t ON t.rows_generation = f.rows_generation AND t.customer_id = f.customer_id
         WHERE ${inRange("f")} AND ${firstInRange("f")} AND f.to_day <= $3
           -- Implied by the pairing (one first spell per mover); it halves the hashed side.
           AND ${inRange("t")} AND ${runningOnTo("t")} AND t.previous_from > $2
         GROUP BY f.previous_stage, t.stage),
       pairs AS (SELECT * FROM moved_once UNION ALL SELECT * FROM moved_more),
       stayed AS (
         SELECT c.stage AS from_stage, c.stage AS to_stage,
                c.customers - COALESCE((SELECT SUM(p.n) FROM pairs p WHERE p.to_stage = c.stage), 0) AS n
         FROM stage_day_count c
         WHERE c.rows_generation = (SELECT rows_generation FROM g) AND c.furthest = false AND c.day = $3)
       SELECT from_stage, to_stage, SUM(n)::int AS n
       FROM (SELECT * FROM pairs UNION ALL SELECT * FROM stayed) AS t
       GROUP BY from_stage, to_stage
       HAVING SUM(n) > 0`,
      [modelHash, from, to],
    );
    return {
      pointer,
      rows: rows.map((r) => ({
        from: r.from_stage === null || r.from_stage === undefined ? null : Number(r.from_stage),
        to: Number(r.to_stage),
        n: Number(r.n),
      })),
    };
  }

  /**
   * Entries into each stage on days in (from, to]: the first day of each run of days in one stage,
   * with the days since the customer was first seen and (when they had bought by then) since their
   * first purchase, as mean and median per stage.
   */
  async entries(modelHash: string, from: string, to: string) {
    const pointer = await this.pointerOf(modelHash);
    if (!pointer) return null;
    const rows = await this.sql.query(
      `SELECT s.stage, COUNT(*)::int AS n,
              AVG(s.from_seen)::float8 AS mean_seen,
              percentile_cont(0.5) WITHIN GROUP (ORDER BY s.from_seen)::float8 AS median_seen,
              AVG(s.from_purchase)::float8 AS mean_purchase,
              percentile_cont(0.5) WITHIN GROUP (ORDER BY s.from_purchase)::float8 AS median_purchase
       FROM stage_spell s
       WHERE s.rows_generation = (SELECT rows_generation FROM state_pointer WHERE id = 1 AND model_hash = $1)
         AND s.from_day > $2 AND s.from_day <= $3 AND s.from_day = s.stage_since
       GROUP BY s.stage`,
      [modelHash, from, to],
    );
    return { pointer, rows };
  }

  /** Customers first seen in [from, to] per furthest stage on `day`. */
  async furthestCountsFirstSeen(modelHash: string, day: string, firstSeen: { from: string; to: string }) {
    const pointer = await this.pointerOf(modelHash);
    if (!pointer) return null;
    const rows = await this.sql.query(
      `SELECT s.furthest, COUNT(*)::int AS n
       FROM stage_spell s JOIN customer_state c ON c.rows_generation = s.rows_generation AND c.customer_id = s.customer_id
       WHERE s.rows_generation = (SELECT rows_generation FROM state_pointer WHERE id = 1 AND model_hash = $1)
         AND s.from_day <= $2 AND (s.to_day IS NULL OR s.to_day > $2)
         AND c.first_seen_date >= $3 AND c.first_seen_date <= $4
       GROUP BY s.furthest`,
      [modelHash, day, firstSeen.from, firstSeen.to],
    );
    return { pointer, counts: new Map(rows.map((r) => [Number(r.furthest), Number(r.n)])) };
  }

  /**
   * The pointer when the served state was built with `modelHash`. The queries after it name the rows
   * by the pointer again, so they never read rows a refresh published meanwhile has removed; the
   * freshness they report may then be one generation behind their rows.
   */
  private async pointerOf(modelHash: string): Promise<PublishedState | null> {
    const pointer = await this.pointer();
    return pointer && pointer.modelHash === modelHash ? pointer : null;
  }

  /** The stage and furthest stage of customers on a past day, from their spells. */
  async stagesOn(
    modelHash: string,
    customerIds: readonly string[],
    day: string,
  ): Promise<{ pointer: PublishedState; stages: Map<string, { stage: number; furthest: number }> } | null> {
    const rows = await this.sql.query(
      `SELECT ${P_POINTER_COLUMNS},
              s.customer_id, s.stage, s.furthest
       FROM state_pointer p LEFT JOIN stage_spell s
         ON s.rows_generation = p.rows_generation AND s.customer_id = ANY($2::text[]) AND s.from_day <= $3
            AND (s.to_day IS NULL OR s.to_day > $3)
       WHERE p.id = 1 AND p.model_hash = $1`,
      [modelHash, customerIds, day],
    );
    if (rows.length === 0) return null;
    const stages = new Map<string, { stage: number; furthest: number }>();
    for (const r of rows) {
      if (r.customer_id === null || r.customer_id === undefined) continue;
      const id = String(r.customer_id);
      // Spells of a customer never overlap: two on one day is a broken history, not an answer.
      if (stages.has(id)) throw new Error(`customer ${id} has two stage spells on ${day}`);
      stages.set(id, { stage: Number(r.stage), furthest: Number(r.furthest) });
    }
    return { pointer: toPointer(rows[0]!), stages };
  }

  /** The stage spells of some customers that began by `day`, oldest first, with the pointer. */
  async spellsOf(modelHash: string, customerIds: readonly string[], day: string) {
    const rows = await this.sql.query(
      `SELECT ${P_POINTER_COLUMNS},
              s.customer_id, s.from_day, s.to_day, s.stage, s.furthest, s.stage_since
       FROM state_pointer p LEFT JOIN stage_spell s
         ON s.rows_generation = p.rows_generation AND s.customer_id = ANY($2::text[]) AND s.from_day <= $3
       WHERE p.id = 1 AND p.model_hash = $1
       ORDER BY s.customer_id, s.from_day`,
      [modelHash, customerIds, day],
    );
    if (rows.length === 0) return null;
    const spells = new Map<
      string,
      { from: string; to: string | null; stage: number; furthest: number; stageSince: string }[]
    >();
    for (const r of rows) {
      if (r.customer_id === null || r.customer_id === undefined) continue;
      const id = String(r.customer_id);
      if (!spells.has(id)) spells.set(id, []);
      spells.get(id)!.push({
        from: date(r.from_day)!,
        to: date(r.to_day),
        stage: Number(r.stage),
        furthest: Number(r.furthest),
        stageSince: date(r.stage_since)!,
      });
    }
    return { pointer: toPointer(rows[0]!), spells };
  }
}

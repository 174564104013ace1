// The outbox of lifecycle events. A refresh writes the stage changes it found into lifecycle_event in
// the transaction that publishes its generation, so an event exists exactly when the state that shows
// it is served; webhooks, subscriptions and `clm events tail` read the table by position.
//
// Which changes: the stage history (stage_spell) holds the exact day of each one. A refresh writes every
// change on a day from the lateness window of the previous state day to the new state day: the days it
// may have learnt something about. A change it finds again has the same id (customer, day, from, to)
// and is not written twice; a change a late row would now place differently is not taken back (events
// say what the state showed when they were written). The first state of all writes none: it is the
// baseline, not a change.
import { queryBuilt, type AppSqlSession } from "../../appdb/app-sql.ts";
import { sql, type Sql } from "../../sql/sql.ts";
import { dayOfNumber } from "../../lifecycle/calendar.ts";

export const EVENT_TYPES = ["stage.changed", "segment.entered", "segment.left"] as const;

/** The channel a refresh notifies, at its commit, when it wrote events (the payload: its generation). */
export const EVENTS_CHANNEL = "clm_lifecycle_events";
export type LifecycleEventType = (typeof EVENT_TYPES)[number];

export interface LifecycleEvent {
  /** Order of the feed: later events have larger positions. */
  readonly position: bigint;
  /** Stable across refreshes: what receivers deduplicate by. */
  readonly id: string;
  readonly type: LifecycleEventType;
  readonly customerId: string;
  /** The first day in the new stage. */
  readonly day: string;
  readonly fromStage: string | null;
  readonly toStage: string | null;
  /** The tracked segment entered or left (segment events); null for stage changes. */
  readonly segmentId: string | null;
  readonly generation: number;
  readonly createdAt: Date;
}

export interface StageChangeWindow {
  /** The refresh publishing. */
  readonly generation: number;
  /** The rows its history is in. */
  readonly rowsGeneration: number;
  /** First and last day (day numbers) whose changes are written. */
  readonly fromDay: number;
  readonly toDay: number;
  /** Stage keys by the stage index the history stores. */
  readonly stageKeys: readonly string[];
}

/**
 * Writes the stage changes of the history on days in the window (inside the publishing transaction);
 * returns how many were new.
 */
export async function recordStageChanges(session: AppSqlSession, w: StageChangeWindow): Promise<number> {
  if (w.fromDay > w.toDay) return 0;
  // A change is a spell starting in the window (the index on (rows_generation, from_day)) in another
  // stage than the spell before it; a spell that only raises the furthest stage is none.
  const [row] = await session.query<{ n: number }>(
    `WITH written AS (
       INSERT INTO lifecycle_event (id, type, customer_id, day, from_stage, to_stage, generation)
       SELECT 'evt_' || substr(md5(customer_id || '|' || from_day::text || '|' || COALESCE(from_key, '') || '|' || to_key), 1, 24),
              'stage.changed', customer_id, from_day, from_key, to_key, $4
       FROM (SELECT customer_id, from_day, ($5::text[])[previous_stage + 1] AS from_key, ($5::text[])[stage + 1] AS to_key
             FROM stage_spell
             WHERE rows_generation = $1 AND from_day BETWEEN $2::date AND $3::date
               AND previous_stage IS DISTINCT FROM stage) AS c
       ORDER BY from_day, customer_id
       ON CONFLICT (id) DO NOTHING
       RETURNING 1
     )
     SELECT COUNT(*)::int AS n FROM written`,
    [w.rowsGeneration, dayOfNumber(w.fromDay), dayOfNumber(w.toDay), w.generation, w.stageKeys],
  );
  return Number(row?.n ?? 0);
}

/**
 * Writes who entered and who left a tracked segment on the state day (inside the publishing
 * transaction, after the pointer moved): `members` is the FROM … WHERE of its members over the served
 * rows `p` (StoredSegmentFields.members).
 * The first refresh after tracking began keeps the members as the baseline and writes no events. The
 * ids name the refresh too: entering, leaving and entering again on one state day (refreshes hours
 * apart) are three events. Returns how many events were new.
 */
export async function recordSegmentChanges(
  session: AppSqlSession,
  w: { generation: number; day: string; segmentId: string; members: Sql },
): Promise<number> {
  const [tracking] = await session.query<{ members_generation: number | null }>(
    `SELECT members_generation FROM segment_tracking WHERE segment_id = $1::uuid`,
    [w.segmentId],
  );
  if (!tracking) return 0;
  await session.query(`DROP TABLE IF EXISTS segment_now`);
  await queryBuilt(
    session,
    sql`CREATE TEMP TABLE segment_now ON COMMIT DROP AS SELECT m.customer_id FROM state_pointer p
CROSS JOIN LATERAL (SELECT s.customer_id FROM ${w.members}) AS m WHERE p.id = 1`,
  );
  let written = 0;
  if (tracking.members_generation !== null) {
    const [row] = await session.query<{ n: number }>(
      `WITH was AS (SELECT customer_id FROM segment_member WHERE segment_id = $1::uuid),
       changes AS (
         SELECT customer_id, 'segment.entered' AS type FROM (SELECT customer_id FROM segment_now EXCEPT SELECT customer_id FROM was) e
         UNION ALL
         SELECT customer_id, 'segment.left' AS type FROM (SELECT customer_id FROM was EXCEPT SELECT customer_id FROM segment_now) g
       ), written AS (
         INSERT INTO lifecycle_event (id, type, customer_id, day, segment_id, generation)
         SELECT 'evt_' || substr(md5($1 || '|' || customer_id || '|' || $2 || '|' || type || '|' || $3::int), 1, 24), type, customer_id,
                $2::date, $1::uuid, $3::int
         FROM changes ORDER BY type, customer_id
         ON CONFLICT (id) DO NOTHING
         RETURNING 1
       )
       SELECT COUNT(*)::int AS n FROM written`,
      [w.segmentId, w.day, w.generation],
    );
    written = Number(row?.n ?? 0);
  }
  await session.query(
    `DELETE FROM segment_member m WHERE m.segment_id = $1::uuid
       AND NOT EXISTS (SELECT 1 FROM segment_now n WHERE n.customer_id = m.customer_id)`,
    [w.segmentId],
  );
  await session.query(
    `INSERT INTO segment_member (segment_id, customer_id) SELECT $1::uuid, customer_id FROM segment_now
     ON CONFLICT DO NOTHING`,
    [w.segmentId],
  );
  await session.query(`UPDATE segment_tracking SET members_generation = $2 WHERE segment_id = $1::uuid`, [
    w.segmentId,
    w.generation,
  ]);
  return written;
}

/** Tells every listening instance that events were written (delivered at the transaction's commit). */
export async function announceEvents(session: AppSqlSession, generation: number): Promise<void> {
  await session.query(`SELECT pg_notify($1, $2)`, [EVENTS_CHANNEL, String(generation)]);
}

export interface EventFilter {
  readonly types?: readonly LifecycleEventType[];
  /** Only changes into these stages (keys). */
  readonly toStages?: readonly string[];
  readonly customerId?: string;
  /** Only entries into and exits from this segment. */
  readonly segmentId?: string;
  /** Only events of customers who are members of this tracked segment (as of the last refresh). */
  readonly memberOf?: string;
}

/** Events after a position, oldest first (newest first: the latest `limit` of them). */
export async function eventsAfter(
  sql: AppSqlSession,
  after: bigint,
  limit: number,
  filter: EventFilter = {},
  newestFirst = false,
): Promise<LifecycleEvent[]> {
  const rows = await sql.query(
    `SELECT position::text AS position, id, type, customer_id, day::text AS day, from_stage, to_stage,
            segment_id::text AS segment_id, generation, created_at
     FROM lifecycle_event e
     WHERE position > $1::bigint
       AND ($2::text[] IS NULL OR type = ANY($2::text[]))
       AND ($3::text[] IS NULL OR to_stage = ANY($3::text[]))
       AND ($4::text IS NULL OR customer_id = $4::text)
       AND ($6::uuid IS NULL OR segment_id = $6::uuid)
       AND ($7::uuid IS NULL OR EXISTS (
         SELECT 1 FROM segment_member m WHERE m.segment_id = $7::uuid AND m.customer_id = e.customer_id))
     ORDER BY e.position ${newestFirst ? "DESC" : "ASC"} LIMIT $5`,
    [
      after.toString(),
      filter.types ?? null,
      filter.toStages ?? null,
      filter.customerId ?? null,
      limit,
      filter.segmentId ?? null,
      filter.memberOf ?? null,
    ],
  );
  return rows.map(eventOf);
}

/** The position of the last event before `time` (replay from a point in time starts after it); 0 when none. */
export async function positionBefore(sql: AppSqlSession, time: Date): Promise<bigint> {
  const [row] = await sql.query<{ p: string | null }>(
    `SELECT MAX(position)::text AS p FROM lifecycle_event WHERE created_at < $1`,
    [time],
  );
  return BigInt(row?.p ?? 0);
}

/** The largest position the outbox can hold (PostgreSQL's bigint). */
const MAX_POSITION = 2n ** 63n - 1n;

/** Whether text is an event position: digits, within the outbox's range. */
export function isPosition(text: string): boolean {
  return /^\d{1,19}$/.test(text) && BigInt(text) <= MAX_POSITION;
}

/**
 * Where to read on after an event given by its position (digits, taken as they are) or its id (looked
 * up); null when no event has that id.
 */
export async function positionOf(sql: AppSqlSession, idOrPosition: string): Promise<bigint | null> {
  if (isPosition(idOrPosition)) return BigInt(idOrPosition);
  const [row] = await sql.query<{ p: string }>(`SELECT position::text AS p FROM lifecycle_event WHERE id = $1`, [
    idOrPosition,
  ]);
  return row ? BigInt(row.p) : null;
}

/** The last event's position (0 when none): where a feed that wants only new events starts. */
export async function lastPosition(sql: AppSqlSession): Promise<bigint> {
  const [row] = await sql.query<{ p: string | null }>(`SELECT MAX(position)::text AS p FROM lifecycle_event`);
  return BigInt(row?.p ?? 0);
}

/** An event as JSON carries it (webhook bodies, `clm events tail --json`): position as text, times ISO. */
export function eventJson(e: LifecycleEvent) {
  return {
    id: e.id,
    type: e.type,
    position: e.position.toString(),
    customerId: e.customerId,
    day: e.day,
    fromStage: e.fromStage,
    toStage: e.toStage,
    segmentId: e.segmentId,
    generation: e.generation,
    createdAt: e.createdAt.toISOString(),
  };
}

function eventOf(r: Record<string, unknown>): LifecycleEvent {
  return {
    position: BigInt(String(r.position)),
    id: String(r.id),
    type: String(r.type) as LifecycleEventType,
    customerId: String(r.customer_id),
    day: String(r.day),
    fromStage: r.from_stage === null ? null : String(r.from_stage),
    toStage: r.to_stage === null ? null : String(r.to_stage),
    segmentId: r.segment_id === null || r.segment_id === undefined ? null : String(r.segment_id),
    generation: Number(r.generation),
    createdAt: r.created_at instanceof Date ? r.created_at : new Date(String(r.created_at)),
  };
}

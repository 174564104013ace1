// Webhook endpoints, as admins manage them: where the outbox is delivered, which events, the signing
// secret (shown once, when created or rotated), enabled or disabled (and why), and the delivery log.
// A new endpoint starts at the end of the outbox: it receives what happens from then on; `replayFrom`
// moves it back to a point in time.
import { randomBytes, randomUUID } from "node:crypto";
import type { AppSql } from "../../appdb/app-sql.ts";
import { isUuid } from "../../appdb/ids.ts";
import { InvalidInputError, NotFoundError } from "../../errors.ts";
import { EVENT_TYPES, lastPosition, positionBefore, type LifecycleEventType } from "./outbox.ts";
import { refusedUrl, type TargetPolicy } from "./webhook-targets.ts";

export interface WebhookEndpoint {
  readonly id: string;
  readonly url: string;
  readonly description: string;
  /** Empty: every type. */
  readonly eventTypes: readonly LifecycleEventType[];
  /** Empty: changes into any stage. */
  readonly toStages: readonly string[];
  /** Segment events only of these segments; empty: of every tracked one. */
  readonly segmentIds: readonly string[];
  readonly enabled: boolean;
  readonly disabledReason: string | null;
  /** The last outbox position delivered (or passed over by the filters). */
  readonly cursor: bigint;
  /** The last position of the batch being tried; null when none is. */
  readonly pendingThrough: bigint | null;
  readonly attempts: number;
  readonly failingSince: Date | null;
  readonly nextAttemptAt: Date | null;
  readonly createdBy: string | null;
  readonly createdAt: Date;
  readonly updatedAt: Date;
}

export interface WebhookAttempt {
  readonly id: bigint;
  readonly messageId: string;
  readonly firstPosition: bigint;
  readonly lastPosition: bigint;
  readonly events: number;
  readonly attempt: number;
  readonly status: number | null;
  readonly error: string | null;
  readonly succeeded: boolean;
  readonly durationMs: number;
  readonly attemptedAt: Date;
}

export interface NewEndpoint {
  readonly url: string;
  readonly description?: string;
  readonly eventTypes?: readonly string[];
  readonly toStages?: readonly string[];
  readonly segmentIds?: readonly string[];
}

/** Most endpoints one app database keeps: each is polled by the delivery worker. */
export const MAX_ENDPOINTS = 100;
const DESCRIPTION_MAX = 500;

/** A Standard Webhooks secret: `whsec_` and 32 random bytes in base64. */
export function newSecret(): string {
  return `whsec_${randomBytes(32).toString("base64")}`;
}

/** The columns endpointOf reads. */
export const ENDPOINT_COLUMNS = `id::text AS id, url, description, event_types, to_stages, segment_ids, enabled, disabled_reason, cursor::text AS cursor,
  pending_through::text AS pending_through, attempts, failing_since, next_attempt_at, created_by, created_at, updated_at`;

export class WebhookEndpoints {
  constructor(
    private readonly sql: () => Promise<AppSql>,
    private readonly policy: TargetPolicy,
    /** The stage keys of the server's model (what toStages may name). */
    private readonly stageKeys: readonly string[],
  ) {}

  async list(): Promise<WebhookEndpoint[]> {
    const rows = await (
      await this.sql()
    ).query(`SELECT ${ENDPOINT_COLUMNS} FROM webhook_endpoint ORDER BY created_at, id`);
    return rows.map(endpointOf);
  }

  async get(id: string, argument = "id"): Promise<WebhookEndpoint> {
    const [row] = isUuid(id)
      ? await (await this.sql()).query(`SELECT ${ENDPOINT_COLUMNS} FROM webhook_endpoint WHERE id = $1::uuid`, [id])
      : [];
    if (!row) throw new NotFoundError(`no webhook endpoint ${JSON.stringify(id)}`, { argument });
    return endpointOf(row);
  }

  /** A new endpoint and its secret (shown only this once); it receives the events from now on. */
  async create(input: NewEndpoint, createdBy: string | null): Promise<{ endpoint: WebhookEndpoint; secret: string }> {
    const checked = this.check(input);
    const sql = await this.sql();
    const secret = newSecret();
    const id = randomUUID();
    await sql.transaction(async (tx) => {
      const [count] = await tx.query<{ n: number }>(`SELECT COUNT(*)::int AS n FROM webhook_endpoint`);
      if (Number(count?.n) >= MAX_ENDPOINTS)
        throw new InvalidInputError(`at most ${MAX_ENDPOINTS} webhook endpoints; delete one first`, {
          argument: "url",
        });
      await tx.query(
        `INSERT INTO webhook_endpoint (id, url, description, event_types, to_stages, segment_ids, secret, cursor, created_by)
         VALUES ($1::uuid, $2, $3, $4::text[], $5::text[], $9::text[], $6, $7::bigint, $8)`,
        [
          id,
          checked.url,
          checked.description,
          checked.eventTypes,
          checked.toStages,
          secret,
          (await lastPosition(tx)).toString(),
          createdBy,
          checked.segmentIds,
        ],
      );
    });
    return { endpoint: await this.get(id), secret };
  }

  /** Disables or enables an endpoint; enabling clears the failures and the reason it was disabled. */
  async setEnabled(id: string, enabled: boolean): Promise<WebhookEndpoint> {
    await this.get(id);
    await (
      await this.sql()
    ).query(
      enabled
        ? `UPDATE webhook_endpoint SET enabled = true, disabled_reason = NULL, attempts = 0, failing_since = NULL,
             next_attempt_at = NULL, updated_at = now() WHERE id = $1::uuid`
        : `UPDATE webhook_endpoint SET enabled = false, disabled_reason = 'disabled by an admin', updated_at = now()
           WHERE id = $1::uuid`,
      [id],
    );
    return this.get(id);
  }

  /** A new secret, shown only this once; deliveries from now on are signed with it. */
  async rotateSecret(id: string): Promise<{ endpoint: WebhookEndpoint; secret: string }> {
    await this.get(id);
    const secret = newSecret();
    await (
      await this.sql()
    ).query(`UPDATE webhook_endpoint SET secret = $2, updated_at = now() WHERE id = $1::uuid`, [id, secret]);
    return { endpoint: await this.get(id), secret };
  }

  async delete(id: string): Promise<WebhookEndpoint> {
    const endpoint = await this.get(id);
    await (await this.sql()).query(`DELETE FROM webhook_endpoint WHERE id = $1::uuid`, [id]);
    return endpoint;
  }

  /**
   * Sends again every event written at or after `from`: the endpoint's cursor moves back there (the batch
   * being tried is dropped; its events come again in order).
   */
  async replayFrom(id: string, from: Date): Promise<WebhookEndpoint> {
    await this.get(id);
    const sql = await this.sql();
    await sql.query(
      `UPDATE webhook_endpoint SET cursor = $2::bigint, pending_through = NULL, attempts = 0, failing_since = NULL,
         next_attempt_at = NULL, updated_at = now() WHERE id = $1::uuid`,
      [id, (await positionBefore(sql, from)).toString()],
    );
    return this.get(id);
  }

  /** The delivery log of an endpoint, newest first. */
  async attempts(id: string, limit: number): Promise<WebhookAttempt[]> {
    const rows = await (
      await this.sql()
    ).query(
      `SELECT id::text AS id, message_id, first_position::text AS first_position, last_position::text AS last_position,
              events, attempt, status, error, succeeded, duration_ms, attempted_at
       FROM webhook_attempt WHERE endpoint_id = $1::uuid ORDER BY webhook_attempt.id DESC LIMIT $2`,
      [id, limit],
    );
    return rows.map((r) => ({
      id: BigInt(String(r.id)),
      messageId: String(r.message_id),
      firstPosition: BigInt(String(r.first_position)),
      lastPosition: BigInt(String(r.last_position)),
      events: Number(r.events),
      attempt: Number(r.attempt),
      status: r.status === null ? null : Number(r.status),
      error: r.error === null ? null : String(r.error),
      succeeded: Boolean(r.succeeded),
      durationMs: Number(r.duration_ms),
      attemptedAt: new Date(r.attempted_at as string),
    }));
  }

  private check(input: NewEndpoint) {
    const issues: { path: string[]; message: string }[] = [];
    const refused = refusedUrl(input.url, this.policy);
    if (refused) issues.push({ path: ["url"], message: refused });
    const description = (input.description ?? "").trim();
    if (description.length > DESCRIPTION_MAX)
      issues.push({ path: ["description"], message: `at most ${DESCRIPTION_MAX} characters` });
    const eventTypes = [...new Set(input.eventTypes ?? [])];
    for (const t of eventTypes)
      if (!(EVENT_TYPES as readonly string[]).includes(t))
        issues.push({
          path: ["eventTypes"],
          message: `unknown event type ${JSON.stringify(t)}; known: ${EVENT_TYPES.join(", ")}`,
        });
    const toStages = [...new Set(input.toStages ?? [])];
    for (const s of toStages)
      if (!this.stageKeys.includes(s))
        issues.push({
          path: ["toStages"],
          message: `unknown stage ${JSON.stringify(s)}; known: ${this.stageKeys.join(", ")}`,
        });
    const segmentIds = [...new Set(input.segmentIds ?? [])];
    for (const id of segmentIds)
      if (!isUuid(id)) issues.push({ path: ["segmentIds"], message: `not a segment id: ${JSON.stringify(id)}` });
    if (issues.length > 0)
      throw new InvalidInputError(
        `invalid webhook endpoint: ${issues.map((i) => `${i.path[0]}: ${i.message}`).join("; ")}`,
        {
          argument: "input",
          issues,
        },
      );
    return { url: new URL(input.url).toString(), description, eventTypes, toStages, segmentIds };
  }
}

const instant = (v: unknown) => (v === null || v === undefined ? null : v instanceof Date ? v : new Date(String(v)));
/** A text[] column as the driver gives it (an array, or PostgreSQL's `{a,b}` text). */
const textList = (v: unknown): string[] =>
  Array.isArray(v)
    ? v.map(String)
    : typeof v === "string"
      ? v
          .replace(/^\{|\}$/g, "")
          .split(",")
          .filter(Boolean)
      : [];

export function endpointOf(r: Record<string, unknown>): WebhookEndpoint {
  return {
    id: String(r.id),
    url: String(r.url),
    description: String(r.description),
    eventTypes: textList(r.event_types) as LifecycleEventType[],
    toStages: textList(r.to_stages),
    segmentIds: textList(r.segment_ids),
    enabled: Boolean(r.enabled),
    disabledReason: r.disabled_reason === null ? null : String(r.disabled_reason),
    cursor: BigInt(String(r.cursor)),
    pendingThrough: r.pending_through === null ? null : BigInt(String(r.pending_through)),
    attempts: Number(r.attempts),
    failingSince: instant(r.failing_since),
    nextAttemptAt: instant(r.next_attempt_at),
    createdBy: r.created_by === null ? null : String(r.created_by),
    createdAt: instant(r.created_at)!,
    updatedAt: instant(r.updated_at)!,
  };
}

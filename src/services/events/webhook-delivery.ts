// The delivery worker: one per app database (a session advisory lock; the other instances wait for it),
// it posts each enabled endpoint's next batch of events, signed per Standard Webhooks, and moves the
// endpoint's cursor only once the receiver answered 2xx: at least once, in order, events keeping their
// ids for the receiver to deduplicate by. The batch being tried is written down before it is sent
// (pending_through), so a retry — after a failure, or after the server was killed mid-delivery — sends
// the same events under the same webhook-id. Failures wait with exponential backoff and jitter; an
// endpoint failing for the whole retry window (or answering 410 Gone) is disabled with the reason. It
// looks at the outbox when a refresh's commit notifies, and every second besides.
import { request as httpRequest } from "node:http";
import { request as httpsRequest } from "node:https";
import { Webhook } from "standardwebhooks";
import type { Logger } from "pino";
import type { AppSql } from "../../appdb/app-sql.ts";
import {
  DEFAULT_WEBHOOK_BACKOFF_MS,
  DEFAULT_WEBHOOK_BATCH,
  DEFAULT_WEBHOOK_RETRY_HOURS,
  DEFAULT_WEBHOOK_TIMEOUT_MS,
} from "../../config/defaults.ts";
import { EVENTS_CHANNEL, eventJson, eventsAfter, type LifecycleEvent } from "./outbox.ts";
import { isIP } from "node:net";
import { guardedLookup, refusedAddress, type TargetPolicy } from "./webhook-targets.ts";
import { endpointOf, ENDPOINT_COLUMNS, type WebhookEndpoint } from "./webhooks.ts";

/** The advisory lock key of the delivery worker ("CLMW"). */
export const DELIVERY_LOCK = 0x434c4d57;

export interface DeliveryOptions {
  readonly policy: TargetPolicy;
  /** How long an endpoint may keep failing before it is disabled (default 3 days). */
  readonly retryWindowMs: number;
  /** The wait after the first failure, doubled per failure up to `retryMaxMs`. */
  readonly retryFirstMs: number;
  readonly retryMaxMs: number;
  /** A receiver that has not answered by then has failed. */
  readonly timeoutMs: number;
  /** Events per delivery. */
  readonly batchSize: number;
  /** Endpoints posted to at once (each has one batch in flight at most). */
  readonly concurrency: number;
  /** How often the outbox is looked at for new events. */
  readonly pollMs: number;
}

export const DELIVERY_DEFAULTS: DeliveryOptions = {
  policy: { allowLoopback: false, allowPrivate: false },
  retryWindowMs: DEFAULT_WEBHOOK_RETRY_HOURS * 3_600_000,
  retryFirstMs: DEFAULT_WEBHOOK_BACKOFF_MS,
  retryMaxMs: 3_600_000,
  timeoutMs: DEFAULT_WEBHOOK_TIMEOUT_MS,
  batchSize: DEFAULT_WEBHOOK_BATCH,
  concurrency: 4,
  pollMs: 1_000,
};

/** Events looked at per turn for one endpoint (those its filters pass over move its cursor on too). */
const SCAN_LIMIT = 1_000;
/** The most of a receiver's answer kept in the log. */
const ERROR_MAX = 300;

/** An endpoint with the secret it is signed with. */
type DueEndpoint = WebhookEndpoint & { readonly secret: string };

/** The body of a delivery: Standard Webhooks' {type, timestamp, data}, the events in `data.events`. */
export function deliveryBody(events: readonly LifecycleEvent[], at: Date): string {
  return JSON.stringify({
    type: "lifecycle.events",
    timestamp: at.toISOString(),
    data: { events: events.map(eventJson) },
  });
}

/** The wait before attempt `attempts + 1`: doubling from the first, capped, with full jitter in [½, 1]. */
export function retryDelayMs(attempts: number, options: Pick<DeliveryOptions, "retryFirstMs" | "retryMaxMs">): number {
  const base = Math.min(options.retryMaxMs, options.retryFirstMs * 2 ** Math.max(0, attempts - 1));
  return Math.round(base * (0.5 + Math.random() / 2));
}

/** Whether an endpoint's filters take an event: its types; stage changes into its stages; its segments' events. */
const passes = (e: DueEndpoint, event: LifecycleEvent) =>
  (e.eventTypes.length === 0 || e.eventTypes.includes(event.type)) &&
  (event.type !== "stage.changed" ||
    e.toStages.length === 0 ||
    (event.toStage !== null && e.toStages.includes(event.toStage))) &&
  (event.segmentId === null || e.segmentIds.length === 0 || e.segmentIds.includes(event.segmentId));

export class WebhookDelivery {
  private readonly stopping = new AbortController();
  private running: Promise<void> | undefined;
  private wake: (() => void) | undefined;
  /** A notification came while no one slept: the next sleep returns at once. */
  private poked = false;

  constructor(
    private readonly sql: () => Promise<AppSql>,
    private readonly options: DeliveryOptions,
    private readonly log: Logger,
  ) {}

  /** Starts the worker: it takes the delivery lock when it can, and delivers while it holds it. */
  start(): void {
    this.running ??= this.holdLock();
  }

  /** Looks at the outbox now (after a refresh published here) instead of at the next poll. */
  poke(): void {
    if (this.wake) this.wake();
    else this.poked = true;
  }

  async stop(): Promise<void> {
    this.stopping.abort();
    this.wake?.();
    await this.running?.catch(() => {});
  }

  private async holdLock(): Promise<void> {
    while (!this.stopping.signal.aborted) {
      try {
        const sql = await this.sql();
        const held = await sql.withLock(DELIVERY_LOCK, (lost) => this.deliverWhileRunning(lost));
        if (held === undefined) await this.sleep(Math.max(this.options.pollMs, 5_000));
      } catch (error) {
        if (this.stopping.signal.aborted) return;
        this.log.error({ err: error }, "webhook delivery stopped; starting again");
        await this.sleep(this.options.pollMs * 5);
      }
    }
  }

  /** Delivers until stopped, woken at once when a refresh on any instance commits events (NOTIFY). */
  private async deliverWhileRunning(lost: AbortSignal): Promise<void> {
    const unlisten = await (await this.sql()).listen(EVENTS_CHANNEL, () => this.poke()).catch(() => undefined);
    try {
      // The lock lost with its connection: another instance may deliver now; this one tries to take it again.
      while (!this.stopping.signal.aborted && !lost.aborted) {
        // An endpoint that took a batch may have more waiting: the next turn comes at once.
        if (!(await this.turn())) await this.sleep(this.options.pollMs);
      }
    } finally {
      await unlisten?.();
    }
  }

  private sleep(ms: number): Promise<void> {
    if (this.poked) {
      this.poked = false;
      return Promise.resolve();
    }
    return new Promise((resolve) => {
      const done = () => {
        clearTimeout(timer);
        if (this.wake === done) this.wake = undefined;
        resolve();
      };
      const timer = setTimeout(done, ms);
      timer.unref();
      this.wake = done;
    });
  }

  /** One pass: every due endpoint's next batch, `concurrency` endpoints at a time; whether any was taken. */
  async turn(): Promise<boolean> {
    const sql = await this.sql();
    const due = (
      await sql.query(
        `SELECT ${ENDPOINT_COLUMNS}, secret
         FROM webhook_endpoint WHERE enabled AND (next_attempt_at IS NULL OR next_attempt_at <= now())
         ORDER BY next_attempt_at NULLS FIRST, id`,
      )
    ).map((r): DueEndpoint => ({ ...endpointOf(r), secret: String(r.secret) }));
    let next = 0;
    let taken = false;
    const worker = async () => {
      while (next < due.length && !this.stopping.signal.aborted)
        if (await this.deliver(sql, due[next++]!)) taken = true;
    };
    // One endpoint's failure (deleted meanwhile, a database error) leaves the others' deliveries be.
    const settled = await Promise.allSettled(
      Array.from({ length: Math.min(this.options.concurrency, due.length) }, worker),
    );
    for (const s of settled)
      if (s.status === "rejected") this.log.error({ err: s.reason }, "webhook delivery turn failed");
    return taken;
  }

  /**
   * The endpoint's next batch (the pending one again, if any), sent and recorded; true when the receiver
   * took it (more may be waiting).
   */
  private async deliver(sql: AppSql, e: DueEndpoint): Promise<boolean> {
    let through = e.pendingThrough;
    let events: LifecycleEvent[];
    if (through === null) {
      const scanned = await eventsAfter(sql, e.cursor, SCAN_LIMIT);
      if (scanned.length === 0) return false;
      events = scanned.filter((event) => passes(e, event)).slice(0, this.options.batchSize);
      // The batch ends at its last event when full; else everything looked at is settled with it.
      through = events.length === this.options.batchSize ? events.at(-1)!.position : scanned.at(-1)!.position;
      if (events.length === 0) {
        await sql.query(`UPDATE webhook_endpoint SET cursor = $2::bigint WHERE id = $1::uuid AND cursor = $3::bigint`, [
          e.id,
          through.toString(),
          e.cursor.toString(),
        ]);
        // Passed over: more may follow at once.
        return scanned.length === SCAN_LIMIT;
      }
      const [claimed] = await sql.query(
        `UPDATE webhook_endpoint SET pending_through = $2::bigint
         WHERE id = $1::uuid AND cursor = $3::bigint AND pending_through IS NULL RETURNING 1`,
        [e.id, through.toString(), e.cursor.toString()],
      );
      if (!claimed) return false; // changed meanwhile (replayed, deleted): the next turn reads it again
    } else {
      events = (await eventsAfter(sql, e.cursor, SCAN_LIMIT)).filter((x) => x.position <= through! && passes(e, x));
    }
    const messageId = `msg_${e.id.replaceAll("-", "")}_${e.cursor}_${through}`;
    const started = Date.now();
    const outcome = await this.post(e, messageId, events);
    const durationMs = Date.now() - started;
    const attempt = e.attempts + 1;
    await sql.transaction(async (tx) => {
      await tx.query(
        `INSERT INTO webhook_attempt (endpoint_id, message_id, first_position, last_position, events, attempt, status, error, succeeded, duration_ms)
         SELECT $1::uuid, $2, $3::bigint, $4::bigint, $5, $6, $7, $8, $9, $10
         WHERE EXISTS (SELECT 1 FROM webhook_endpoint WHERE id = $1::uuid)`,
        [
          e.id,
          messageId,
          (events[0]?.position ?? through).toString(),
          through!.toString(),
          events.length,
          attempt,
          outcome.status,
          outcome.error,
          outcome.ok,
          durationMs,
        ],
      );
      if (outcome.ok) {
        await tx.query(
          `UPDATE webhook_endpoint SET cursor = $2::bigint, pending_through = NULL, attempts = 0, failing_since = NULL,
             next_attempt_at = NULL WHERE id = $1::uuid AND pending_through = $2::bigint`,
          [e.id, through!.toString()],
        );
        return;
      }
      const failingSince = e.failingSince ?? new Date(started);
      const gone = outcome.status === 410;
      const expired = started - failingSince.getTime() >= this.options.retryWindowMs;
      const reason = gone
        ? "the receiver answered 410 Gone"
        : expired
          ? `failing since ${failingSince.toISOString()} (${attempt} attempts); last: ${outcome.error}`
          : null;
      await tx.query(
        `UPDATE webhook_endpoint SET attempts = $2, failing_since = $3, next_attempt_at = $4,
           enabled = enabled AND $5::text IS NULL, disabled_reason = COALESCE($5::text, disabled_reason)
         WHERE id = $1::uuid AND pending_through = $6::bigint`,
        [
          e.id,
          attempt,
          failingSince,
          new Date(Date.now() + retryDelayMs(attempt, this.options)),
          reason,
          through!.toString(),
        ],
      );
      if (reason) this.log.warn({ endpoint: e.id, reason }, "webhook endpoint disabled");
    });
    return outcome.ok;
  }

  /** One POST of a batch; never throws: what went wrong is the outcome's error. */
  private post(
    e: DueEndpoint,
    messageId: string,
    events: readonly LifecycleEvent[],
  ): Promise<{ ok: boolean; status: number | null; error: string | null }> {
    const at = new Date();
    const body = deliveryBody(events, at);
    let signature: string;
    try {
      signature = new Webhook(e.secret).sign(messageId, at, body);
    } catch (error) {
      return Promise.resolve({ ok: false, status: null, error: `cannot sign: ${(error as Error).message}` });
    }
    const url = new URL(e.url);
    // Node looks no name up for an address written in the URL: it is checked here instead (an endpoint
    // saved under looser settings is not posted to under stricter ones).
    const literal = url.hostname.replace(/^\[|\]$/g, "");
    const refused = isIP(literal) ? refusedAddress(literal, this.options.policy) : undefined;
    if (refused) return Promise.resolve({ ok: false, status: null, error: `refused target: ${refused}` });
    const request = url.protocol === "https:" ? httpsRequest : httpRequest;
    // The whole exchange within the timeout: a receiver trickling its answer a byte at a time is cut off.
    const deadline = AbortSignal.timeout(this.options.timeoutMs);
    const tooLate = `no answer within ${this.options.timeoutMs} ms`;
    return new Promise((resolve) => {
      const req = request(
        url,
        {
          method: "POST",
          lookup: guardedLookup(this.options.policy),
          signal: AbortSignal.any([this.stopping.signal, deadline]),
          headers: {
            "content-type": "application/json",
            "content-length": Buffer.byteLength(body),
            "user-agent": "clm-webhooks/1",
            "webhook-id": messageId,
            "webhook-timestamp": String(Math.floor(at.getTime() / 1000)),
            "webhook-signature": signature,
          },
        },
        (res) => {
          const status = res.statusCode ?? 0;
          let text = "";
          res.setEncoding("utf8");
          res.on("data", (chunk: string) => {
            if (text.length < ERROR_MAX) text += chunk;
          });
          res.on("end", () => {
            const ok = status >= 200 && status < 300;
            resolve({ ok, status, error: ok ? null : `HTTP ${status}${text ? `: ${text.slice(0, ERROR_MAX)}` : ""}` });
          });
          res.on("error", (error) => resolve({ ok: false, status, error: deadline.aborted ? tooLate : error.message }));
        },
      );
      req.on("error", (error) =>
        resolve({ ok: false, status: null, error: deadline.aborted ? tooLate : error.message.slice(0, ERROR_MAX) }),
      );
      req.end(body);
    });
  }
}

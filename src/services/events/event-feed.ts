// Following the outbox as it grows: what GraphQL subscriptions and `clm events tail` read. A refresh
// that writes events sends NOTIFY on EVENTS_CHANNEL (outbox.ts) in its publishing transaction, so every instance
// on the same app database hears of them at the commit; a slow poll covers a notification lost with a
// dropped connection. One listener per process, whatever the number of followers.
import type { AppSql } from "../../appdb/app-sql.ts";
import { EVENTS_CHANNEL, eventsAfter, lastPosition, type EventFilter, type LifecycleEvent } from "./outbox.ts";

/** Events read per query while catching up. */
const PAGE = 500;

export interface FeedOptions {
  /** How often followers look for events when no notification came. */
  readonly pollMs: number;
}

export class EventFeed {
  private readonly waiters = new Set<() => void>();
  private listening: Promise<(() => Promise<void>) | undefined> | undefined;
  private poller: NodeJS.Timeout | undefined;
  /** Ends every follower when the feed closes (the server shutting down). */
  private readonly closing = new AbortController();

  constructor(
    private readonly sql: () => Promise<AppSql>,
    private readonly options: FeedOptions = { pollMs: 5_000 },
  ) {}

  /**
   * The events after `after` (default: the last one written now, so only new ones), oldest first, then
   * each new one as refreshes write it, until `signal` aborts.
   */
  async *follow(after: bigint | undefined, filter: EventFilter, until: AbortSignal): AsyncGenerator<LifecycleEvent> {
    const signal = AbortSignal.any([until, this.closing.signal]);
    const sql = await this.sql();
    this.listen();
    let position = after ?? (await lastPosition(sql));
    while (!signal.aborted) {
      // Waiting starts before reading, so a notification arriving while the page is read is not missed.
      const woken = this.nextWake(signal);
      const page = await eventsAfter(sql, position, PAGE, filter);
      for (const event of page) {
        if (signal.aborted) return;
        position = event.position;
        yield event;
      }
      if (page.length < PAGE) await woken;
    }
  }

  /** Wakes every follower now (a refresh published in this process). */
  wake(): void {
    for (const wake of [...this.waiters]) wake();
  }

  async close(): Promise<void> {
    this.closing.abort();
    clearInterval(this.poller);
    this.poller = undefined;
    const stop = await this.listening?.catch(() => undefined);
    this.listening = undefined;
    await stop?.();
    this.wake();
  }

  private nextWake(signal: AbortSignal): Promise<void> {
    return new Promise((resolve) => {
      const done = () => {
        this.waiters.delete(done);
        signal.removeEventListener("abort", done);
        resolve();
      };
      this.waiters.add(done);
      signal.addEventListener("abort", done, { once: true });
    });
  }

  private listen(): void {
    // Not listening (the app database down when the first follower came): the next follower tries again,
    // and the slow poll wakes this one meanwhile.
    this.listening ??= this.sql()
      .then((sql) => sql.listen(EVENTS_CHANNEL, () => this.wake()))
      .catch(() => {
        this.listening = undefined;
        return undefined;
      });
    if (!this.poller) {
      this.poller = setInterval(() => {
        if (this.waiters.size > 0) this.wake();
      }, this.options.pollMs);
      this.poller.unref();
    }
  }
}

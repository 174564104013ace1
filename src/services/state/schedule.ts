// The server's refreshes of the state store: at start when asked (the demo), then every
// CLM_STATE_REFRESH_MINUTES. Every instance runs the schedule; the refresh lock lets one refresh at a
// time and the others skip that turn. A failed refresh is logged, counted and retried with exponential
// backoff (cockatiel's, with jitter) before the next turn; the previous state keeps serving meanwhile.
import { ExponentialBackoff, type IBackoff } from "cockatiel";
import type { Logger } from "pino";
import type { ServerMetrics } from "../../observability/metrics.ts";
import { addDays } from "../../lifecycle/calendar.ts";
import type { StateStore } from "./state-store.ts";

/** The first retry after a failure, and the longest wait between retries. */
const RETRY_FIRST_MS = 30_000;
const RETRY_MAX_MS = 15 * 60_000;

export class RefreshSchedule {
  private timer: NodeJS.Timeout | undefined;
  private running: Promise<void> | undefined;
  private readonly stopping = new AbortController();
  private backoff: IBackoff<unknown> | undefined;

  constructor(
    private readonly store: StateStore,
    private readonly options: {
      /** Minutes between refreshes; 0: none after the one at start. */
      readonly everyMinutes: number;
      readonly atStart: boolean;
      readonly log: Logger;
      readonly metrics?: ServerMetrics;
      /**
       * Before the first refresh, when no state exists yet, publish one this many days earlier (the demo:
       * its outbox then holds the stage changes of those days, for the dashboard and the feeds).
       */
      readonly baselineDaysBefore?: number;
      /** Called after each refresh this instance publishes (the webhook worker looks at the outbox then). */
      readonly onPublished?: () => void;
      /** The retry waits (tests shorten them). */
      readonly retryFirstMs?: number;
      readonly retryMaxMs?: number;
    },
  ) {}

  start(): void {
    if (this.options.atStart) this.after(0);
    else if (this.options.everyMinutes > 0) this.after(this.options.everyMinutes * 60_000);
  }

  private after(ms: number): void {
    if (this.stopping.signal.aborted) return;
    this.timer = setTimeout(() => {
      this.running = this.turn().finally(() => (this.running = undefined));
    }, ms);
    this.timer.unref();
  }

  /** One refresh, then the next turn planned: a retry after a failure, else the schedule. */
  private async turn(): Promise<void> {
    const { log, metrics, everyMinutes } = this.options;
    const started = Date.now();
    try {
      // A state another instance (or this one before a restart) published lately is not rebuilt.
      const dueInMs = everyMinutes > 0 ? await this.store.dueInMs(everyMinutes * 60_000) : 0;
      if (dueInMs > 0) return this.after(dueInMs);
      await this.baseline();
      const outcome = await this.store.refresh({ signal: this.stopping.signal });
      this.backoff = undefined;
      if (!outcome) {
        metrics?.stateRefreshes.inc({ kind: "full", result: "skipped" });
        log.info("state refresh skipped: another instance holds the refresh lock");
      } else {
        metrics?.stateRefreshes.inc({ kind: outcome.kind, result: "published" });
        metrics?.stateRefreshSeconds.set(outcome.milliseconds / 1000);
        metrics?.stateGeneration.set(outcome.generation);
        const { warnings, ...figures } = outcome;
        log.info({ ...figures, warnings: warnings.length > 0 ? warnings : undefined }, "state refresh published");
        this.options.onPublished?.();
      }
      if (everyMinutes > 0) this.after(everyMinutes * 60_000);
    } catch (error) {
      if (this.stopping.signal.aborted) return;
      metrics?.stateRefreshes.inc({ kind: "full", result: "failed" });
      this.backoff = (this.backoff ?? this.firstBackoff()).next(undefined);
      const retryMs = Math.min(this.backoff.duration, everyMinutes > 0 ? everyMinutes * 60_000 : Infinity);
      log.error(
        { err: error, ms: Date.now() - started, retryInMs: Math.round(retryMs) },
        "state refresh failed; the previous state keeps serving",
      );
      this.after(retryMs);
    }
  }

  /** The earlier state the first refresh compares with, when asked for and none exists. */
  private async baseline(): Promise<void> {
    const days = this.options.baselineDaysBefore;
    if (!days || (await this.store.status()).pointer) return;
    const day = addDays(await this.store.defaultDay(), -days);
    const outcome = await this.store.refresh({ stateDay: day, full: true, signal: this.stopping.signal });
    if (outcome) this.options.log.info({ generation: outcome.generation, stateDay: day }, "baseline state published");
  }

  private firstBackoff(): ExponentialBackoff<unknown> {
    return new ExponentialBackoff({
      initialDelay: this.options.retryFirstMs ?? RETRY_FIRST_MS,
      maxDelay: this.options.retryMaxMs ?? RETRY_MAX_MS,
    });
  }

  /** Stops the schedule; a refresh under way is cancelled (its rows are removed by the next one). */
  async stop(): Promise<void> {
    this.stopping.abort();
    clearTimeout(this.timer);
    await this.running?.catch(() => {});
  }
}

// `clm events tail`: the lifecycle events the state refreshes write, printed as they come (from the app
// database the server uses: DATABASE_URL, or the embedded store under CLM_DATA_DIR when no server has
// it open), until Ctrl-C. A line per event, or JSON lines with --json.
import { EventFeed } from "../services/events/event-feed.ts";
import { eventJson, positionOf, type LifecycleEvent } from "../services/events/outbox.ts";
import { CliError } from "./exit.ts";
import { openAppDatabaseOnly } from "./app-database.ts";

export interface TailOptions {
  /** Start after this event (id or position); default: only new events. */
  readonly after?: string;
  readonly toStage?: readonly string[];
  readonly json?: boolean;
}

/** One event as a line: when, who, from → to, and its id. */
export function eventLine(e: LifecycleEvent): string {
  return `${e.day}\t${e.customerId}\t${e.fromStage ?? "(new)"} → ${e.toStage ?? "(gone)"}\t${e.id}\t#${e.position}`;
}

export async function tailEvents(options: TailOptions, signal?: AbortSignal): Promise<void> {
  const appDb = await openAppDatabaseOnly();
  const stop = new AbortController();
  const onSignal = () => stop.abort();
  process.once("SIGINT", onSignal);
  process.once("SIGTERM", onSignal);
  signal?.addEventListener("abort", onSignal, { once: true });
  const feed = new EventFeed(async () => appDb.sql, { pollMs: 2_000 });
  try {
    let after: bigint | undefined;
    if (options.after !== undefined) {
      const found = await positionOf(appDb.sql, options.after);
      if (found === null)
        throw new CliError(`no event ${JSON.stringify(options.after)} (give an event's id or position)`);
      after = found;
    }
    const filter = { toStages: options.toStage?.length ? options.toStage : undefined };
    for await (const e of feed.follow(after, filter, stop.signal))
      process.stdout.write(options.json ? `${JSON.stringify(eventJson(e))}\n` : `${eventLine(e)}\n`);
  } finally {
    process.off("SIGINT", onSignal);
    process.off("SIGTERM", onSignal);
    await feed.close();
    await appDb.close();
  }
}

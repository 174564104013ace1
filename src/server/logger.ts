import { pino, type Logger } from "pino";
import type { YogaLogger } from "graphql-yoga";

/**
 * Lines are written once this much is buffered, or after FLUSH_EVERY_MS, whichever comes first. Each
 * write costs the event loop about the same whatever its size (tens of µs to hand it to libuv), so under
 * load fewer, larger writes are what saves time; sonic-boom needs its write size above the threshold.
 */
const BUFFER_BYTES = 16 * 1024;
const MAX_WRITE_BYTES = 32 * 1024;
const FLUSH_EVERY_MS = 100;

const flushers = new Set<() => Promise<void>>();

export function createLogger(level: string): Logger {
  // JSON lines on stderr: stdout stays free for command output (CLI tables, CSV exports). Written
  // asynchronously, 16 KB at a time: a synchronous write per access-log line cost the server about a
  // fifth of its throughput under load. A quiet server's lines still go out within FLUSH_EVERY_MS. None is
  // lost on the way out: pino writes what is buffered synchronously when the process exits (process.exit,
  // an uncaught error), and a shutdown awaits flushLogs() first, which also waits for a write under way.
  const destination = pino.destination({
    dest: 2,
    sync: false,
    minLength: BUFFER_BYTES,
    maxWrite: MAX_WRITE_BYTES,
    periodicFlush: FLUSH_EVERY_MS,
  });
  const flush = () =>
    new Promise<void>((resolve) => {
      try {
        destination.flush(() => resolve());
      } catch {
        resolve(); // closed already: nothing left to write
      }
    });
  flushers.add(flush);
  destination.on("close", () => flushers.delete(flush));
  return pino({ level, base: { service: "clm-graphql" } }, destination);
}

/** Resolves once every line logged so far by every logger of createLogger is written. */
export async function flushLogs(): Promise<void> {
  await Promise.all([...flushers].map((flush) => flush()));
}

/** yoga's own log lines (its internal failures, its debug output) as lines of this logger. */
export function yogaLogging(log: Logger): YogaLogger {
  return {
    debug: (...args) => log.debug(args.map(String).join(" ")),
    info: (...args) => log.info(args.map(String).join(" ")),
    warn: (...args) => log.warn(args.map(String).join(" ")),
    error: (...args) => log.error({ err: args.find((a) => a instanceof Error) }, args.map(String).join(" ")),
  };
}

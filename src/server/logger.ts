import { pino, type Logger } from "pino";

export function createLogger(level: string): Logger {
  // JSON lines on stderr: stdout stays free for command output (CLI tables, CSV exports).
  return pino({ level, base: { service: "clm-graphql" } }, pino.destination(2));
}

// Progress on stderr: one line per step, and a cli-progress bar for long loops (on a terminal it redraws
// in place; in a log it prints a line every few seconds).
import { Presets, SingleBar } from "cli-progress";

let active: SingleBar | null = null;
const started = Date.now();

function stamp(): string {
  const s = Math.round((Date.now() - started) / 1000);
  return `${String(Math.floor(s / 60)).padStart(2, "0")}:${String(s % 60).padStart(2, "0")}`;
}

export function log(line: string): void {
  if (active) process.stderr.write("\n");
  process.stderr.write(`bench ${stamp()} ${line}\n`);
}

export interface Bar {
  increment(by?: number): void;
  update(value: number): void;
  stop(): void;
}

export function bar(title: string, total: number): Bar {
  active?.stop();
  const b = new SingleBar(
    {
      format: `bench ${stamp()} ${title} [{bar}] {percentage}% | {value}/{total} | {duration_formatted}`,
      hideCursor: true,
      noTTYOutput: true,
      notTTYSchedule: 10_000,
      stream: process.stderr,
    },
    Presets.shades_classic,
  );
  b.start(Math.max(1, total), 0);
  active = b;
  return {
    increment: (by = 1) => b.increment(by),
    update: (value) => b.update(value),
    stop: () => {
      b.stop();
      if (active === b) active = null;
    },
  };
}

// Progress on stderr for long commands (seed, import, export to a file): a bar with a percentage when
// the total is known, a spinner otherwise, both with the count and its rate. Drawn only on a terminal:
// when stderr is a file or a pipe, or with --quiet, nothing is written (cli-progress draws nothing
// without a TTY, and a disabled bar is not even created).
import { SingleBar, type Options, type Params } from "cli-progress";

export interface Progress {
  /** The count done so far, and the total once it is known (or when it changes). */
  update(done: number, total?: number): void;
  /**
   * A word for what is happening now ("reading", "checking", "loading"), shown after the counts. With
   * `count`, the phase counts again from 0 (to `count.total`), and the rate starts afresh.
   */
  phase(name: string, count?: { total?: number }): void;
  /** Leaves the last state on the line (or removes it with `clear`) and gives the line back. */
  stop(options?: { clear?: boolean }): void;
}

export interface ProgressOptions {
  /** What is being done, e.g. "importing transactions". */
  readonly label: string;
  /** What is counted, plural: "rows", "customers". */
  readonly unit: string;
  /** The total when known: a bar with a percentage; unknown: a spinner. */
  readonly total?: number;
  /** Whether to draw at all; see progressWanted. */
  readonly enabled: boolean;
}

/** Draw progress only on a terminal, and not with --quiet. */
export function progressWanted(quiet: boolean | undefined): boolean {
  return !quiet && Boolean(process.stderr.isTTY);
}

const NONE: Progress = { update: () => {}, phase: () => {}, stop: () => {} };
const SPINNER = ["⠋", "⠙", "⠹", "⠸", "⠼", "⠴", "⠦", "⠧", "⠇", "⠏"];
/** The rate is measured over the last few seconds, so it follows changes of pace. */
const RATE_WINDOW_MS = 3_000;

export const formatCount = (n: number): string => Math.round(n).toLocaleString("en-US");

function formatSeconds(seconds: number): string {
  if (!Number.isFinite(seconds) || seconds < 0) return "?";
  if (seconds < 60) return `${Math.round(seconds)}s`;
  return `${Math.floor(seconds / 60)}m${String(Math.round(seconds % 60)).padStart(2, "0")}s`;
}

export function startProgress(options: ProgressOptions): Progress {
  if (!options.enabled) return NONE;
  const started = Date.now();
  let total = options.total;
  let done = 0;
  let phase = "";
  let samples: { t: number; n: number }[] = [{ t: started, n: 0 }];
  // Between counting phases (checking, saving) the rate of the last one stays shown.
  let frozenRate: number | undefined;
  const rate = (): number => {
    if (frozenRate !== undefined) return frozenRate;
    const now = Date.now();
    while (samples.length > 2 && samples[1]!.t < now - RATE_WINDOW_MS) samples.shift();
    const first = samples[0]!;
    const seconds = (now - first.t) / 1000;
    return seconds > 0.2 ? (done - first.n) / seconds : 0;
  };
  const format = (opts: Options, params: Params): string => {
    const perSecond = rate();
    const counts = `${formatCount(done)}${total !== undefined ? `/${formatCount(total)}` : ""} ${options.unit}`;
    const parts = [counts, `${formatCount(perSecond)} ${options.unit}/s`];
    let head: string;
    if (total !== undefined && total > 0) {
      const share = Math.min(1, done / total);
      const size = opts.barsize ?? 30;
      const filled = Math.round(share * size);
      head = `${options.label} [${"█".repeat(filled)}${"░".repeat(size - filled)}] ${String(Math.floor(share * 100)).padStart(3)}%`;
      if (perSecond > 0 && done < total) parts.push(`eta ${formatSeconds((total - done) / perSecond)}`);
    } else {
      head = `${options.label} ${SPINNER[Math.floor(Date.now() / 100) % SPINNER.length]}`;
      parts.push(formatSeconds((Date.now() - params.startTime) / 1000));
    }
    if (phase) parts.push(phase);
    return `${head} | ${parts.join(" | ")}`;
  };
  const bar = new SingleBar({ format, barsize: 30, hideCursor: true, fps: 10, stream: process.stderr });
  bar.start(total ?? 0, 0);
  let stopped = false;
  return {
    update(n, newTotal) {
      if (n !== done) frozenRate = undefined;
      done = n;
      if (newTotal !== undefined) total = newTotal;
      samples.push({ t: Date.now(), n });
      bar.update(n);
    },
    phase(name, count) {
      phase = name;
      if (count) {
        total = count.total;
        done = 0;
        samples = [{ t: Date.now(), n: 0 }];
        frozenRate = undefined;
      } else frozenRate = rate();
      bar.update(done);
    },
    stop({ clear = false } = {}) {
      if (stopped) return;
      stopped = true;
      bar.stop();
      // cli-progress leaves the last state on its line; clearing it keeps stderr to the messages.
      if (clear) process.stderr.write("\x1b[1A\x1b[2K");
    },
  };
}

// Exit codes and the two kinds of expected failure of a `clm` command: bad usage (exit 2) and a
// failure of the work itself (exit 1). Both print lines starting "clm: " on stderr, never a stack trace.

/** Exit codes scripts can rely on. */
export const EXIT = { ok: 0, failure: 1, usage: 2 } as const;

/** The command could not do its work (bad data, an unknown segment, a warehouse that does not answer). */
export class CliError extends Error {
  override name = "CliError";
  /** Each line is printed on its own "clm: " line. */
  readonly lines: readonly string[];
  constructor(lines: string | readonly string[]) {
    const all = typeof lines === "string" ? [lines] : lines;
    super(all.join("\n"));
    this.lines = all;
  }
}

/** The command was called wrongly (an option missing or out of range, two that exclude each other). */
export class UsageError extends Error {
  override name = "UsageError";
  constructor(
    message: string,
    /** The command whose --help to point at, e.g. "import". */
    readonly command?: string,
  ) {
    super(message);
  }
}

export function printLines(lines: readonly string[]): void {
  for (const line of lines) process.stderr.write(`clm: ${line}\n`);
}

/** The first line of an error's message (drivers add hints and context on further lines). */
export function firstLine(error: unknown): string {
  const line = String((error as Error)?.message ?? error).split("\n")[0]!;
  // DuckDB allows one process per database file (a writer excludes everyone else).
  return /Could not set lock on file/.test(line)
    ? `${line.replace(/ See also https:\S+$/, "")} — a server (clm serve) or another command has the file open; stop it first`
    : line;
}

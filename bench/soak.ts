// Load-and-soak test tooling: starts its own `clm serve` on 127.0.0.1 with a fresh data directory, drives
// mixed traffic (single-customer lookups, dashboards, segment writes) from N concurrent workers for a
// few minutes, and reports errors (target 0), latency percentiles per kind, throughput and the server's
// memory growth (target: flat). Exit code 0 when both targets are met, 1 otherwise, 2 for bad arguments.
//
//   npx tsx bench/soak.ts [--minutes 3] [--concurrency 8] [--customers 5000] [--json out.json]
//
// Loopback only by construction: there is no --url; the script talks only to the server it started on
// 127.0.0.1, so it can neither load a shared environment by mistake nor measure a process it does not own.
// Never part of `npm test` (it runs for minutes and its figures depend on the machine).
import { spawn, type ChildProcess } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { loadavg, tmpdir } from "node:os";
import { join } from "node:path";
import { performance } from "node:perf_hooks";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";
import { keySecret } from "./lib/servers.ts";

const ROOT = fileURLToPath(new URL("..", import.meta.url));

/** Growth of the server's RSS over the second half of the run, in MB per minute, still called flat. */
const FLAT_GROWTH_MB_PER_MIN = 5;
/** How often the server's RSS is read. */
const MEMORY_SAMPLE_MS = 2_000;
/** How often a one-line status is printed. */
const PROGRESS_MS = 10_000;
/** A request slower than this counts as an error (TIMEOUT) rather than hanging a worker forever. */
const REQUEST_TIMEOUT_MS = 30_000;
/** Start-up includes seeding the demo warehouse, which takes a while for large --customers. */
const STARTUP_TIMEOUT_MS = 5 * 60_000;

/** The traffic mix: an internal app's lookups dominate, dashboards and analysts' edits are rarer. */
const MIX = [
  { kind: "lookup", weight: 70 },
  { kind: "dashboard", weight: 20 },
  { kind: "segment", weight: 10 },
] as const;

// ---- Options -------------------------------------------------------------------------------------

interface Options {
  minutes: number;
  concurrency: number;
  customers: number;
  json: string | undefined;
  /** Extra server settings given with --server-env NAME=VALUE (the only way past the allow-list). */
  serverEnv: Record<string, string>;
}

class UsageError extends Error {}

function parseOptions(argv: string[]): Options {
  const { values } = parseArgs({
    args: argv,
    options: {
      minutes: { type: "string", default: "3" },
      concurrency: { type: "string", default: "8" },
      customers: { type: "string", default: "5000" },
      json: { type: "string" },
      "server-env": { type: "string", multiple: true, default: [] },
      help: { type: "boolean", short: "h", default: false },
    },
    strict: true,
  });
  if (values.help) {
    process.stdout.write(
      "usage: npx tsx bench/soak.ts [--minutes 3] [--concurrency 8] [--customers 5000] [--json out.json]\n" +
        "                            [--server-env NAME=VALUE ...]   e.g. CLM_DUCKDB_MEMORY_LIMIT=512MB\n",
    );
    process.exit(0);
  }
  const number = (name: string, raw: string, min: number, max: number, integer: boolean): number => {
    const n = Number(raw);
    if (!Number.isFinite(n) || n < min || n > max || (integer && !Number.isInteger(n))) {
      throw new UsageError(`--${name} must be ${integer ? "a whole number" : "a number"} from ${min} to ${max}`);
    }
    return n;
  };
  return {
    // Bounded in time: a soak is minutes, not an unattended endurance run.
    minutes: number("minutes", values.minutes, 0.1, 120, false),
    concurrency: number("concurrency", values.concurrency, 1, 256, true),
    customers: number("customers", values.customers, 10, 1_000_000, true),
    json: values.json,
    serverEnv: Object.fromEntries(
      values["server-env"].map((pair) => {
        const match = /^([A-Z_][A-Z0-9_]*)=(.*)$/.exec(pair);
        if (!match) throw new UsageError(`--server-env takes NAME=VALUE, got ${JSON.stringify(pair)}`);
        return [match[1]!, match[2]!];
      }),
    ),
  };
}

// ---- The server under test ------------------------------------------------------------------------

/**
 * The child's environment. Only an allow-list of the caller's variables passes: the server keeps gaining
 * settings (CLM_*, DATABASE_URL, REDIS_URL, NODE_OPTIONS…) and any of them could point the soak at a
 * shared database or Redis, or change what is measured.
 */
function serverEnv(dataDir: string, customers: number, extra: Record<string, string>): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const [key, value] of Object.entries(process.env)) {
    if (/^(PATH|HOME|USER|LOGNAME|SHELL|TMPDIR|TMP|TEMP|LANG|LC_[A-Z]+|TZ)$/.test(key)) env[key] = value;
  }
  return {
    ...env,
    CLM_DATA_DIR: dataDir,
    CLM_WAREHOUSE: "duckdb",
    CLM_DEMO: "1",
    CLM_DEMO_CUSTOMERS: String(customers),
    // Every request carries the key, so authentication (a PGlite lookup per request) is part of the load.
    CLM_ALLOW_ANONYMOUS: "0",
    HOST: "127.0.0.1",
    // Port 0: the OS picks a free port at bind time and the server prints it; no probe-then-bind race.
    PORT: "0",
    // The server's default level: the access log (a line per request) is part of what production runs.
    LOG_LEVEL: "info",
    // One key sends everything here, several times what one caller may (6000/min by default): the
    // limiter still runs on every request, but the soak is about the server, not about its 429s.
    CLM_RATE_LIMIT_PER_MINUTE: "100000000",
    // Asked for by name on the command line, so they are what the run is about; reported with the figures.
    ...extra,
  };
}

/**
 * `node --import tsx src/cli/main.ts …`: one node process that is the CLI itself (tsx registers as a
 * loader through --import in tsx 4), so the pid spawn() returns is the server's. Going through npx or
 * the tsx CLI would give the pid of a wrapper whose RSS says nothing about the server.
 */
function clm(args: string[], env: NodeJS.ProcessEnv, nodeFlags: string[] = []): ChildProcess {
  const child = spawn(process.execPath, [...nodeFlags, "--import", "tsx", "src/cli/main.ts", ...args], {
    cwd: ROOT, // --import resolves `tsx` from here
    env,
    stdio: ["ignore", "pipe", "pipe"],
  });
  children.add(child);
  child.once("exit", () => children.delete(child));
  return child;
}

/** Every child still running, so that no exit path (error, Ctrl-C, kill) leaves one behind. */
const children = new Set<ChildProcess>();

function killChildren(): void {
  for (const child of children) child.kill("SIGKILL");
}

/** `clm keys create` against the same data directory, before the server opens it (PGlite is single-process). */
function createKey(env: NodeJS.ProcessEnv): Promise<string> {
  return keySecret(clm(["keys", "create", "--role", "analyst", "--label", "soak"], env));
}

interface Server {
  readonly child: ChildProcess;
  readonly pid: number;
  readonly url: string;
  readonly startupMs: number;
  /** The first and the last lines the server wrote to stderr (pino JSON but the access log; warnings). */
  readonly stderrHead: string[];
  readonly stderrTail: string[];
  readonly stderrLines: { count: number };
  /** Log lines at error level or above (pino levels 50, 60): internal errors the clients saw masked. */
  errorLogLines: number;
  /** The signal the server logged it was shutting down on, if it did. */
  shutdownSignal: string | null;
  /** Process warnings the server printed (`(node:pid) XWarning: …`), by name. */
  readonly warnings: Map<string, number>;
  /** Every full GC (Mark-Compact) V8 reported: when, in which isolate, the JS heap left after it (MB). */
  readonly fullGcs: { at: number; isolate: string; heapAfterMb: number }[];
  /** GC lines (minor and full) per isolate: the main thread's collects by far the most. */
  readonly gcLinesByIsolate: Map<string, number>;
}

/**
 * A line of --trace-gc, e.g. `[123:0x2f4d3d50]  891 ms: Mark-Compact 51.6 (62.3) -> 49.0 (82.2) MB, …`.
 * The heap left after a full GC is the live JS heap: RSS alone saws up and down by hundreds of MB
 * between major GCs, which hides or fakes a trend over a few minutes.
 */
const FULL_GC = /^\[\d+:(0x[0-9a-f]+)\]\s+[\d.]+ ms: Mark-Compact(?: \([^)]*\))? [\d.]+ \([\d.]+\) -> ([\d.]+) \(/;

async function startServer(env: NodeJS.ProcessEnv, stop: AbortSignal): Promise<Server> {
  const started = performance.now();
  // --trace-gc writes one line per GC to stdout (the server's own output goes to stderr).
  // --trace-warnings: a warning (say, MaxListenersExceeded) comes with the stack that caused it.
  const child = clm(["serve"], env, ["--trace-gc", "--trace-warnings"]);
  const stderrTail: string[] = [];
  const stderrHead: string[] = [];
  const stderrLines = { count: 0 };
  const server: Pick<Server, "errorLogLines" | "warnings" | "fullGcs" | "gcLinesByIsolate" | "shutdownSignal"> = {
    shutdownSignal: null,
    errorLogLines: 0,
    warnings: new Map(),
    fullGcs: [],
    gcLinesByIsolate: new Map(),
  };
  let gcPending = "";
  child.stdout!.on("data", (chunk: Buffer) => {
    gcPending += chunk.toString();
    const lines = gcPending.split("\n");
    gcPending = lines.pop()!;
    for (const line of lines) {
      const isolate = /^\[\d+:(0x[0-9a-f]+)\]/.exec(line)?.[1];
      if (isolate) server.gcLinesByIsolate.set(isolate, (server.gcLinesByIsolate.get(isolate) ?? 0) + 1);
      const gc = FULL_GC.exec(line);
      if (gc) server.fullGcs.push({ at: Date.now(), isolate: gc[1]!, heapAfterMb: Number(gc[2]) });
    }
  });
  let pending = "";
  let announced: ((url: string) => void) | undefined;
  const url = new Promise<string>((resolve) => (announced = resolve));
  child.stderr!.on("data", (chunk: Buffer) => {
    pending += chunk.toString();
    const lines = pending.split("\n");
    pending = lines.pop()!;
    for (const line of lines) {
      stderrLines.count++;
      // The access log is counted, not kept: the head and tail are for what needs a reader.
      if (/^\{.*"level":30\b.*"msg":"request"/.test(line)) continue;
      if (stderrHead.length < 30) stderrHead.push(line);
      stderrTail.push(line);
      if (stderrTail.length > 15) stderrTail.shift();
      const shutdown = /"signal":"(\w+)".*"msg":"shutting down/.exec(line);
      if (shutdown) server.shutdownSignal = shutdown[1]!;
      if (/"level":(5|6)0\b/.test(line)) server.errorLogLines++;
      const warning = /^\(node:\d+\) (\w+):/.exec(line);
      if (warning) server.warnings.set(warning[1]!, (server.warnings.get(warning[1]!) ?? 0) + 1);
      const match = /^clm: serving (http:\/\/\S+)\/graphql/.exec(line);
      if (match) announced!(match[1]!);
    }
  });
  const exited = new Promise<never>((_, reject) =>
    child.on("exit", (code, signal) =>
      reject(new Error(`server exited (${code ?? signal}) before it was ready:\n${stderrTail.join("\n")}`)),
    ),
  );
  exited.catch(() => {}); // also rejects later, at the normal shutdown; only the race below reads it
  const deadline = started + STARTUP_TIMEOUT_MS;
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error("server did not announce its URL in time")), STARTUP_TIMEOUT_MS);
  });
  const stopped = new Promise<never>((_, reject) =>
    stop.addEventListener("abort", () => reject(new Error("stopped during start-up")), { once: true }),
  );
  stopped.catch(() => {});
  const base = await Promise.race([url, exited, timeout, stopped]).finally(() => clearTimeout(timer));
  const address = new URL(base);
  if (address.hostname !== "127.0.0.1") throw new Error(`server is not on loopback: ${base}`);
  // The URL line comes after start-up; /ready is the contract that the stores answer.
  while (true) {
    if (stop.aborted) throw new Error("stopped during start-up");
    if (child.exitCode !== null || child.signalCode !== null) await exited;
    const ready = await fetch(`${base}/ready`, { signal: AbortSignal.timeout(5_000) }).catch(() => null);
    if (ready?.status === 200) break;
    if (performance.now() > deadline) throw new Error(`${base}/ready did not answer 200 in time`);
    await sleep(250);
  }
  return Object.assign(server, {
    child,
    pid: child.pid!,
    url: base,
    startupMs: performance.now() - started,
    stderrHead,
    stderrTail,
    stderrLines,
  });
}

/** SIGTERM (the server drains and exits 0), SIGKILL if it takes longer than 15 s. */
async function stopServer(child: ChildProcess): Promise<number | string | null> {
  if (child.exitCode !== null || child.signalCode !== null) return child.exitCode ?? child.signalCode;
  const exited = new Promise<number | string | null>((resolve) =>
    child.once("exit", (code, signal) => resolve(code ?? signal)),
  );
  child.kill("SIGTERM");
  const killer = setTimeout(() => child.kill("SIGKILL"), 15_000);
  const result = await exited;
  clearTimeout(killer);
  return result;
}

// ---- Memory of the server process -----------------------------------------------------------------

/** Resident set size in MB from /proc (Linux); null when it cannot be read. */
function rssMb(pid: number): number | null {
  try {
    const match = /^VmRSS:\s+(\d+)\s+kB/m.exec(readFileSync(`/proc/${pid}/status`, "utf8"));
    return match ? Number(match[1]) / 1024 : null;
  } catch {
    return null;
  }
}

/** The command line of a pid, to show that the sampled process is node running the server. */
function commandLine(pid: number): string {
  try {
    return readFileSync(`/proc/${pid}/cmdline`, "utf8").split("\0").filter(Boolean).join(" ");
  } catch {
    return "(unknown: no /proc)";
  }
}

/**
 * Least-squares line of y over x: its slope, and the slope's standard error, which says whether a
 * slope is a trend or the noise of a sawtooth (NaN with too few points).
 */
function fitLine(points: readonly (readonly [number, number])[]): { slope: number; standardError: number } {
  const n = points.length;
  if (n < 2) return { slope: NaN, standardError: NaN };
  const mx = points.reduce((s, [x]) => s + x, 0) / n;
  const my = points.reduce((s, [, y]) => s + y, 0) / n;
  let sxy = 0;
  let sxx = 0;
  for (const [x, y] of points) {
    sxy += (x - mx) * (y - my);
    sxx += (x - mx) ** 2;
  }
  if (sxx === 0) return { slope: NaN, standardError: NaN };
  const slope = sxy / sxx;
  const residuals = points.reduce((s, [x, y]) => s + (y - my - slope * (x - mx)) ** 2, 0);
  return { slope, standardError: n > 2 ? Math.sqrt(residuals / (n - 2) / sxx) : NaN };
}

// ---- Requests and their figures --------------------------------------------------------------------

interface KindStats {
  latencies: number[];
  errors: number;
  byCode: Map<string, number>;
}

class Recorder {
  readonly kinds = new Map<string, KindStats>();
  readonly samples: { kind: string; code: string; message: string; requestId: string | null }[] = [];
  total = 0;
  errors = 0;

  private stats(kind: string): KindStats {
    let s = this.kinds.get(kind);
    if (!s) this.kinds.set(kind, (s = { latencies: [], errors: 0, byCode: new Map() }));
    return s;
  }

  ok(kind: string, ms: number): void {
    this.stats(kind).latencies.push(ms);
    this.total++;
  }

  error(kind: string, ms: number, code: string, message: string, requestId: string | null): void {
    const s = this.stats(kind);
    s.latencies.push(ms);
    s.errors++;
    s.byCode.set(code, (s.byCode.get(code) ?? 0) + 1);
    this.total++;
    this.errors++;
    // A few examples with their request ids, to find the server's log line for each.
    if (this.samples.length < 10) this.samples.push({ kind, code, message: message.slice(0, 300), requestId });
  }
}

interface GraphQLAnswer {
  data?: Record<string, unknown> | null;
  errors?: { message: string; extensions?: { code?: string } }[];
}

type Outcome = { ok: true; data: Record<string, unknown> } | { ok: false };

/**
 * One POST /graphql. Anything but a 200 with data and no `errors` is an error, counted by kind and code
 * (the GraphQL error code, else HTTP_<status>, TIMEOUT, NETWORK or BAD_JSON). Latency includes reading
 * the whole body: that is what a client waits for.
 */
async function graphql(
  ctx: { url: string; key: string; recorder: Recorder; stop: AbortSignal },
  kind: string,
  query: string,
  variables: Record<string, unknown>,
  check?: (data: Record<string, unknown>) => string | null,
): Promise<Outcome> {
  const started = performance.now();
  const elapsed = () => performance.now() - started;
  let response: Response;
  let text: string;
  try {
    response = await fetch(`${ctx.url}/graphql`, {
      method: "POST",
      headers: {
        "content-type": "application/json",
        accept: "application/graphql-response+json, application/json",
        authorization: `Bearer ${ctx.key}`,
      },
      body: JSON.stringify({ query, variables }),
      signal: AbortSignal.any([ctx.stop, AbortSignal.timeout(REQUEST_TIMEOUT_MS)]),
    });
    text = await response.text();
  } catch (error) {
    // Requests cut off by our own stop (end of run, Ctrl-C) are not the server's errors.
    if (ctx.stop.aborted) return { ok: false };
    const e = error as Error;
    const code = e.name === "TimeoutError" ? "TIMEOUT" : "NETWORK";
    ctx.recorder.error(kind, elapsed(), code, `${e.name}: ${e.message} ${String(e.cause ?? "")}`, null);
    return { ok: false };
  }
  const ms = elapsed();
  const requestId = response.headers.get("x-request-id");
  let body: GraphQLAnswer;
  try {
    body = JSON.parse(text) as GraphQLAnswer;
  } catch {
    ctx.recorder.error(kind, ms, `HTTP_${response.status}/BAD_JSON`, text.slice(0, 200), requestId);
    return { ok: false };
  }
  const first = body.errors?.[0];
  if (response.status !== 200 || first || !body.data) {
    const gqlCode = first?.extensions?.code ?? (first ? "GRAPHQL_ERROR" : "NO_DATA");
    const code = response.status === 200 ? gqlCode : `HTTP_${response.status}/${gqlCode}`;
    ctx.recorder.error(kind, ms, code, first?.message ?? text.slice(0, 200), requestId);
    return { ok: false };
  }
  // A well-formed but wrong answer (a known customer coming back null) is an error too.
  const problem = check?.(body.data) ?? null;
  if (problem) {
    ctx.recorder.error(kind, ms, "WRONG_ANSWER", problem, requestId);
    return { ok: false };
  }
  ctx.recorder.ok(kind, ms);
  return { ok: true, data: body.data };
}

// ---- The traffic ------------------------------------------------------------------------------------

/** The operations apps send, read from schema/operations so the soak exercises the real documents. */
const CUSTOMER_STAGE = readFileSync(join(ROOT, "schema/operations/customer-stage.graphql"), "utf8");
const DASHBOARD = readFileSync(join(ROOT, "schema/operations/dashboard.graphql"), "utf8");

const SEGMENT_FIELDS = "id name version archived";
const CREATE_SEGMENT = `mutation SoakCreate($input: CreateSegmentInput!) { createSegment(input: $input) { ${SEGMENT_FIELDS} } }`;
const UPDATE_SEGMENT = `mutation SoakUpdate($input: UpdateSegmentInput!) { updateSegment(input: $input) { ${SEGMENT_FIELDS} } }`;
const ARCHIVE_SEGMENT = `mutation SoakArchive($id: ID!) { archiveSegment(id: $id) { ${SEGMENT_FIELDS} } }`;

/** Definitions in the rule language (see test/graphql/segments.spec.ts), varied so updates really change something. */
const DEFINITIONS: readonly unknown[] = [
  { field: "stage", op: "eq", value: "loyal" },
  { field: "purchaseDays", op: "gte", value: 4 },
  { field: "lastPurchaseDate", op: "gte", value: { daysAgo: 30 } },
  { all: [{ field: "revenue", op: "gt", value: 100 }, { not: { field: "stage", op: "eq", value: "churned" } }] },
];

function day(offsetDays: number): string {
  return new Date(Date.now() + offsetDays * 86_400_000).toISOString().slice(0, 10);
}

/** The dashboard of the last 30 days against the 30 before, cohorts of the last year (as a UI would ask). */
const DASHBOARD_VARIABLES = {
  asOf: day(0),
  period: { from: day(-29), to: day(0) },
  previous: { from: day(-59), to: day(-30) },
  cohortsFrom: day(-365),
};

/** Known customer ids: up to 500 from every stage, so lookups hit every kind of customer. */
async function knownCustomerIds(url: string, key: string): Promise<string[]> {
  const response = await fetch(`${url}/graphql`, {
    method: "POST",
    headers: { "content-type": "application/json", authorization: `Bearer ${key}` },
    body: JSON.stringify({ query: "{ stages { key customers(first: 500) { edges { node { id } } } } }" }),
  });
  const body = (await response.json()) as GraphQLAnswer & {
    data?: { stages: { customers: { edges: { node: { id: string } }[] } }[] };
  };
  if (body.errors || !body.data) throw new Error(`cannot list customers: ${JSON.stringify(body.errors)}`);
  const ids = body.data.stages.flatMap((s) => s.customers.edges.map((e) => e.node.id));
  if (ids.length === 0) throw new Error("the demo warehouse has no customers");
  return ids;
}

function pick<T>(items: readonly T[]): T {
  return items[Math.floor(Math.random() * items.length)]!;
}

function pickKind(): (typeof MIX)[number]["kind"] {
  let r = Math.random() * MIX.reduce((s, m) => s + m.weight, 0);
  for (const m of MIX) if ((r -= m.weight) < 0) return m.kind;
  return MIX[0].kind;
}

/**
 * One worker: a request at a time, back to back (closed loop), until told to stop. Segment writes
 * walk a cycle per worker — create, update, update, archive — so every write names the version it
 * edited (a stale version would be a CONFLICT, which this traffic never provokes) and names never clash.
 */
async function worker(
  ctx: { url: string; key: string; recorder: Recorder; stop: AbortSignal; runId: string },
  index: number,
  ids: readonly string[],
  until: number,
): Promise<void> {
  let segment: { id: string; version: number } | null = null;
  let cycles = 0;
  while (!ctx.stop.aborted && Date.now() < until) {
    const kind = pickKind();
    if (kind === "lookup") {
      const id = pick(ids);
      await graphql(ctx, "lookup", CUSTOMER_STAGE, { id }, (data) =>
        data.customer ? null : `customer ${id} came back null`,
      );
    } else if (kind === "dashboard") {
      await graphql(ctx, "dashboard", DASHBOARD, DASHBOARD_VARIABLES);
    } else if (!segment) {
      const name = `soak ${ctx.runId} w${index} #${++cycles}`;
      const answer = await graphql(ctx, "segment.create", CREATE_SEGMENT, {
        input: { name, description: "bench/soak.ts", definition: pick(DEFINITIONS) },
      });
      segment = answer.ok ? (answer.data.createSegment as { id: string; version: number }) : null;
    } else if (segment.version < 3) {
      const answer = await graphql(ctx, "segment.update", UPDATE_SEGMENT, {
        input: { id: segment.id, version: segment.version, definition: pick(DEFINITIONS) },
      });
      // After a failed write the version is unknown: start a new cycle rather than cascade errors.
      segment = answer.ok ? (answer.data.updateSegment as { id: string; version: number }) : null;
    } else {
      await graphql(ctx, "segment.archive", ARCHIVE_SEGMENT, { id: segment.id });
      segment = null;
    }
  }
}

// ---- The report -------------------------------------------------------------------------------------

/** Nearest-rank percentile of sorted values. */
function percentile(sorted: readonly number[], p: number): number {
  if (sorted.length === 0) return NaN;
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))]!;
}

interface KindFigures {
  kind: string;
  count: number;
  errors: number;
  errorsByCode: Record<string, number>;
  perSecond: number;
  p50Ms: number;
  p95Ms: number;
  p99Ms: number;
  maxMs: number;
}

function figuresOf(kind: string, s: KindStats, seconds: number): KindFigures {
  const sorted = [...s.latencies].sort((a, b) => a - b);
  const round = (x: number) => Math.round(x * 10) / 10;
  return {
    kind,
    count: sorted.length,
    errors: s.errors,
    errorsByCode: Object.fromEntries(s.byCode),
    perSecond: round(sorted.length / seconds),
    p50Ms: round(percentile(sorted, 50)),
    p95Ms: round(percentile(sorted, 95)),
    p99Ms: round(percentile(sorted, 99)),
    maxMs: round(sorted.at(-1) ?? NaN),
  };
}

function table(rows: readonly (readonly string[])[]): string {
  const widths = rows[0]!.map((_, c) => Math.max(...rows.map((r) => r[c]!.length)));
  return rows
    .map((r) => r.map((cell, c) => (c === 0 ? cell.padEnd(widths[c]!) : cell.padStart(widths[c]!))).join("  "))
    .join("\n");
}

// ---- Main -------------------------------------------------------------------------------------------

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

const fmt = (x: number, digits = 1) => (Number.isFinite(x) ? x.toFixed(digits) : "n/a");

async function main(): Promise<number> {
  let options: Options;
  try {
    options = parseOptions(process.argv.slice(2));
  } catch (error) {
    process.stderr.write(`soak: ${(error as Error).message}\n`);
    return 2;
  }

  const dir = mkdtempSync(join(tmpdir(), "clm-soak-"));
  const env = serverEnv(join(dir, "data"), options.customers, options.serverEnv);
  const stop = new AbortController();
  let server: Server | undefined;
  let interrupted = false;

  // The child must never outlive the script: Ctrl-C and kill stop the run and fall through to the
  // cleanup below; the exit hook is the last resort should anything still be running.
  const onSignal = (signal: NodeJS.Signals) => {
    if (interrupted) return;
    interrupted = true;
    process.stderr.write(`soak: ${signal}: stopping\n`);
    stop.abort();
  };
  process.on("SIGINT", onSignal);
  process.on("SIGTERM", onSignal);
  process.on("exit", () => {
    killChildren();
    rmSync(dir, { recursive: true, force: true });
  });

  try {
    process.stderr.write(`soak: data directory ${dir}; creating an analyst key\n`);
    const key = await createKey(env);
    process.stderr.write(`soak: starting the server (seeding ${options.customers} demo customers)\n`);
    server = await startServer(env, stop.signal);
    const cmd = commandLine(server.pid);
    process.stderr.write(
      `soak: server pid ${server.pid} (${cmd}) ready at ${server.url} after ${fmt(server.startupMs / 1000)} s\n`,
    );
    if (interrupted) return 1;

    const ids = await knownCustomerIds(server.url, key);
    const readyRss = rssMb(server.pid);
    process.stderr.write(
      `soak: ${ids.length} known customer ids; ${options.concurrency} workers for ${options.minutes} min\n`,
    );

    const recorder = new Recorder();
    const ctx = { url: server.url, key, recorder, stop: stop.signal, runId: Date.now().toString(36) };
    const loadAtStart = loadavg()[0]!.toFixed(2);
    const t0 = Date.now();
    const until = t0 + options.minutes * 60_000;

    // [minutes since start, RSS MB]
    const memory: [number, number][] = [];
    const sampleMemory = () => {
      const mb = rssMb(server!.pid);
      if (mb !== null) memory.push([(Date.now() - t0) / 60_000, mb]);
    };
    sampleMemory();
    const sampler = setInterval(sampleMemory, MEMORY_SAMPLE_MS);
    let lastTotal = 0;
    const progress = setInterval(() => {
      const rate = (recorder.total - lastTotal) / (PROGRESS_MS / 1000);
      lastTotal = recorder.total;
      process.stderr.write(
        `soak: ${fmt((Date.now() - t0) / 1000, 0)}/${options.minutes * 60} s  ${recorder.total} requests  ` +
          `${fmt(rate, 0)}/s  ${recorder.errors} errors  rss ${fmt(memory.at(-1)?.[1] ?? NaN)} MB\n`,
      );
    }, PROGRESS_MS);

    // A server that exits mid-run ends the run: the rest would be connection refusals, and the exit
    // itself is the finding (code 0 without a signal is its clean shutdown, so something sent it one).
    let died: string | null = null;
    let running = true;
    server.child.once("exit", (code, signal) => {
      if (!running || stop.signal.aborted) return;
      const why = server!.shutdownSignal
        ? ` (it logged "shutting down" on ${server!.shutdownSignal}: sent from outside)`
        : "";
      died = `the server exited during the run, ${fmt((Date.now() - t0) / 1000, 0)} s in, with ${signal ?? `code ${code}`}${why}`;
      process.stderr.write(`soak: ${died}\n`);
      stop.abort();
    });
    await Promise.all(Array.from({ length: options.concurrency }, (_, i) => worker(ctx, i, ids, until)));
    running = false;
    const seconds = (Date.now() - t0) / 1000;
    sampleMemory();
    clearInterval(sampler);
    clearInterval(progress);

    // Figures per kind, then the total and the memory.
    const kinds = [...recorder.kinds.keys()].sort().map((k) => figuresOf(k, recorder.kinds.get(k)!, seconds));
    const all = figuresOf(
      "all",
      {
        latencies: [...recorder.kinds.values()].flatMap((s) => s.latencies),
        errors: recorder.errors,
        byCode: new Map(
          [...recorder.kinds.values()]
            .flatMap((s) => [...s.byCode])
            .reduce((m, [c, n]) => m.set(c, (m.get(c) ?? 0) + n), new Map<string, number>()),
        ),
      },
      seconds,
    );
    // Flat is judged on the second half: the first holds the warm-up (JIT, DuckDB's buffers, caches).
    const half = seconds / 60 / 2;
    const secondHalf = memory.filter(([t]) => t >= half);
    const rssFit = fitLine(secondHalf);
    const growth = rssFit.slope;
    const rss = memory.map(([, mb]) => mb);
    // The JS heap after each full GC of the server's main isolate (the one collecting most: tsx's
    // loader thread is a second isolate that idles after start-up).
    const mainIsolate = [...server.gcLinesByIsolate].sort((a, b) => b[1] - a[1])[0]?.[0];
    const mainGcs = server.fullGcs.filter((g) => g.at >= t0 && g.isolate === mainIsolate);
    const heap = mainGcs.map((g) => [(g.at - t0) / 60_000, g.heapAfterMb] as [number, number]);
    const heapSecondHalf = heap.filter(([t]) => t >= half);
    const heapFit = fitLine(heapSecondHalf);
    const finite = (x: number) => (Number.isFinite(x) ? Math.round(x * 100) / 100 : null);
    const memoryFigures = {
      readyMb: readyRss,
      firstMb: rss[0] ?? null,
      lastMb: rss.at(-1) ?? null,
      peakMb: rss.length ? Math.max(...rss) : null,
      secondHalfGrowthMbPerMin: finite(growth),
      secondHalfGrowthStandardError: finite(rssFit.standardError),
      wholeRunGrowthMbPerMin: finite(fitLine(memory).slope),
      samplesSecondsMb: memory.map(([t, mb]) => [Math.round(t * 6000) / 100, Math.round(mb * 10) / 10]),
      heapAfterFullGc: {
        fullGcs: heap.length,
        firstMb: heap[0]?.[1] ?? null,
        lastMb: heap.at(-1)?.[1] ?? null,
        secondHalfGrowthMbPerMin: finite(heapFit.slope),
        secondHalfGrowthStandardError: finite(heapFit.standardError),
        samplesSecondsMb: heap.map(([t, mb]) => [Math.round(t * 6000) / 100, mb]),
      },
    };

    const serverExit = await stopServer(server.child);
    const errorsMet = recorder.errors === 0;
    const flatMet = Number.isFinite(growth) && growth < FLAT_GROWTH_MB_PER_MIN;
    const met = errorsMet && flatMet && !interrupted && died === null;

    const out: string[] = [];
    out.push(
      "",
      `soak: ${fmt(seconds, 0)} s, ${options.concurrency} workers, ${options.customers} demo customers, ` +
        `server pid ${server.pid} (${cmd})${interrupted ? " — INTERRUPTED" : ""}`,
      ...(died ? [`FAIL ${died}`] : []),
      "",
      table([
        ["kind", "count", "req/s", "errors", "p50 ms", "p95 ms", "p99 ms", "max ms"],
        ...[...kinds, all].map((k) => [
          k.kind,
          String(k.count),
          fmt(k.perSecond),
          String(k.errors),
          fmt(k.p50Ms),
          fmt(k.p95Ms),
          fmt(k.p99Ms),
          fmt(k.maxMs),
        ]),
      ]),
      "",
      `throughput: ${fmt(all.perSecond)} requests/s`,
      `memory (VmRSS of pid ${server.pid}): ready ${fmt(readyRss ?? NaN)} MB, first ${fmt(memoryFigures.firstMb ?? NaN)} MB, ` +
        `last ${fmt(memoryFigures.lastMb ?? NaN)} MB, peak ${fmt(memoryFigures.peakMb ?? NaN)} MB; ` +
        `slope ${fmt(growth, 2)} ± ${fmt(rssFit.standardError, 2)} MB/min over the second half ` +
        `(${secondHalf.length} samples), ${fmt(memoryFigures.wholeRunGrowthMbPerMin ?? NaN, 2)} MB/min over the whole run`,
      `JS heap after full GC (${heap.length} in the run): first ${fmt(heap[0]?.[1] ?? NaN)} MB, ` +
        `last ${fmt(heap.at(-1)?.[1] ?? NaN)} MB; slope ${fmt(heapFit.slope, 2)} ± ${fmt(heapFit.standardError, 2)} ` +
        `MB/min over the second half (${heapSecondHalf.length} GCs)`,
      `server: ${server.errorLogLines} error log lines; warnings ${JSON.stringify(Object.fromEntries(server.warnings))}; ` +
        `exit ${serverExit} after SIGTERM`,
      // The soak shares the machine with the server and anything else running: say how busy it was.
      `machine: load average ${loadAtStart} at the start, ${loadavg()[0]!.toFixed(2)} at the end (1 min)`,
    );
    for (const k of kinds) {
      if (k.errors > 0) out.push(`errors of ${k.kind}: ${JSON.stringify(k.errorsByCode)}`);
    }
    for (const s of recorder.samples) {
      out.push(`  e.g. ${s.kind} ${s.code} (request ${s.requestId ?? "-"}): ${s.message}`);
    }
    // Anything the server said beyond its start-up line: warnings, error logs.
    if (server.warnings.size > 0 || server.errorLogLines > 0 || recorder.errors > 0 || died) {
      const { count } = server.stderrLines;
      out.push(`server stderr (${count} lines), first lines:`, ...server.stderrHead.map((l) => `  ${l.slice(0, 400)}`));
      if (count > server.stderrHead.length) {
        out.push("server stderr, last lines:", ...server.stderrTail.map((l) => `  ${l.slice(0, 400)}`));
      }
    }
    out.push(
      "",
      `${errorsMet ? "PASS" : "FAIL"} errors: ${recorder.errors} (target 0)`,
      `${flatMet ? "PASS" : "FAIL"} memory growth: ${fmt(growth, 2)} MB/min over the second half ` +
        `(flat: < ${FLAT_GROWTH_MB_PER_MIN} MB/min)`,
    );
    // RSS swings by 100-300 MB over a minute or more (V8's heap between major GCs, DuckDB's and the
    // allocator's buffers); over a short second half that noise can exceed the threshold itself, and
    // the verdict then says little either way.
    if (!(rssFit.standardError < FLAT_GROWTH_MB_PER_MIN)) {
      out.push(
        `  note: the RSS slope's standard error is ${fmt(rssFit.standardError, 2)} MB/min, above the threshold: ` +
          `this run is too short to tell growth from GC sawtooth; run longer (--minutes 10 or more) and ` +
          `read the JS heap after full GC (${fmt(heapFit.slope, 2)} ± ${fmt(heapFit.standardError, 2)} MB/min)`,
      );
    }
    out.push("");
    process.stdout.write(out.join("\n"));

    if (options.json) {
      const report = {
        options,
        startedAt: new Date(t0).toISOString(),
        seconds,
        interrupted,
        server: {
          pid: server.pid,
          command: cmd,
          startupMs: Math.round(server.startupMs),
          exit: serverExit,
          diedDuringRun: died,
        },
        knownCustomerIds: ids.length,
        mix: MIX,
        throughputPerSecond: all.perSecond,
        kinds,
        all,
        memory: memoryFigures,
        serverErrorLogLines: server.errorLogLines,
        serverWarnings: Object.fromEntries(server.warnings),
        loadAverage: { start: Number(loadAtStart), end: loadavg()[0] },
        errorSamples: recorder.samples,
        verdict: {
          errors: { met: errorsMet, value: recorder.errors, target: 0 },
          memoryGrowth: {
            met: flatMet,
            valueMbPerMin: memoryFigures.secondHalfGrowthMbPerMin,
            thresholdMbPerMin: FLAT_GROWTH_MB_PER_MIN,
          },
          met,
        },
      };
      writeFileSync(options.json, `${JSON.stringify(report, null, 2)}\n`);
      process.stderr.write(`soak: wrote ${options.json}\n`);
    }
    return met ? 0 : 1;
  } finally {
    stop.abort();
    if (server) await stopServer(server.child);
    killChildren(); // a key creation or a server that never got ready
    rmSync(dir, { recursive: true, force: true });
  }
}

main().then(
  (code) => process.exit(code),
  (error) => {
    process.stderr.write(`soak: ${(error as Error).stack ?? error}\n`);
    process.exit(1);
  },
);

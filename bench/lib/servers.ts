// Servers under test in child processes on 127.0.0.1 (port 0: the OS picks a free one): `node
// dist/clm.mjs serve`, the bundle `npm start` runs (or the sources under tsx, as `npm run dev` runs them),
// so the pid is the server's own (its RSS is the server's), with an allow-listed environment (nothing of the caller's CLM_*, DATABASE_URL, REDIS_URL
// or NODE_OPTIONS leaks in). Logs go to a file, not through a pipe the load generator would have to drain.
import { execFileSync, spawn, type ChildProcess } from "node:child_process";
import { closeSync, mkdtempSync, openSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";

const ROOT = fileURLToPath(new URL("../..", import.meta.url));
const STARTUP_TIMEOUT_MS = 5 * 60_000;

const children = new Set<ChildProcess>();

/** Every child still running is killed (error paths, Ctrl-C, the end of a module). */
export function killChildren(): void {
  for (const child of children) child.kill("SIGKILL");
  children.clear();
}

function track(child: ChildProcess): ChildProcess {
  children.add(child);
  child.once("exit", () => children.delete(child));
  return child;
}

function baseEnv(): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const [key, value] of Object.entries(process.env)) {
    if (/^(PATH|HOME|USER|LOGNAME|SHELL|TMPDIR|TMP|TEMP|LANG|LC_[A-Z]+|TZ)$/.test(key)) env[key] = value;
  }
  return env;
}

/** The secret a `clm keys create` child prints, once it has exited (failing with its stderr otherwise). */
export async function keySecret(child: ChildProcess): Promise<string> {
  let stdout = "";
  let stderr = "";
  child.stdout!.on("data", (d) => (stdout += d));
  child.stderr!.on("data", (d) => (stderr += d));
  const code = await new Promise<number | null>((resolve) => child.on("exit", resolve));
  const secret = stdout.trim();
  if (code !== 0 || !/^clm_\S+$/.test(secret)) throw new Error(`clm keys create failed (${code}): ${stderr.trim()}`);
  return secret;
}

export interface ClmServerOptions {
  /** The DuckDB file to serve (no demo seeding). */
  readonly duckdbPath: string;
  readonly cache: boolean;
  /** Extra settings (e.g. CLM_DUCKDB_MEMORY_LIMIT). */
  readonly extraEnv?: Record<string, string>;
  /** Run the sources under tsx (`npm run dev`) instead of the bundle `npm start` runs (node dist/clm.mjs). */
  readonly sources?: boolean;
}

export interface RunningServer {
  readonly url: string;
  readonly pid: number;
  readonly child: ChildProcess;
  readonly startupMs: number;
  readonly logFile: string;
  stop(): Promise<void>;
}

/** The compiled CLI (`npm run build`), relative to the project root. */
export const COMPILED_CLI = "dist/clm.mjs";

/** Writes dist/clm.mjs as `npm run build` does (about a second); bench/bench.ts does it once at its start. */
export function buildCompiledCli(): void {
  execFileSync("npm", ["run", "--silent", "build"], { cwd: ROOT, stdio: "pipe" });
}

/** The arguments of node that run `clm <args>`: the bundle `npm start` runs, or the sources under tsx. */
export function clmArgs(args: readonly string[], sources = false): string[] {
  return sources ? ["--import", "tsx", "src/cli/main.ts", ...args] : [COMPILED_CLI, ...args];
}

/** A fresh data directory, the server's environment and an analyst key, ready to start servers with. */
export class ClmServerFactory {
  readonly dir = mkdtempSync(join(tmpdir(), "clm-bench-"));

  env(options: ClmServerOptions): NodeJS.ProcessEnv {
    return {
      ...baseEnv(),
      CLM_DATA_DIR: join(this.dir, "data"),
      CLM_WAREHOUSE: "duckdb",
      CLM_DUCKDB_PATH: options.duckdbPath,
      CLM_DEMO: "0",
      // Production settings: every request carries a key (checked through the key cache, default TTL),
      // the access log is on.
      CLM_ALLOW_ANONYMOUS: "0",
      LOG_LEVEL: "info",
      HOST: "127.0.0.1",
      PORT: "0",
      CLM_CACHE: options.cache ? "1" : "0",
      // One key sends everything: the limiter still runs on every request, but never refuses.
      CLM_RATE_LIMIT_PER_MINUTE: "100000000",
      // Large exports and cold queries on the biggest data must be measured, not cut off.
      CLM_REQUEST_TIMEOUT_MS: "600000",
      ...options.extraEnv,
    };
  }

  /** `clm keys create` against the data directory, before a server opens it (PGlite is single-process). */
  async createKey(role: "viewer" | "analyst" | "admin", extraEnv?: Record<string, string>): Promise<string> {
    const env = this.env({ duckdbPath: ":memory:", cache: false, extraEnv });
    const child = track(
      spawn(process.execPath, clmArgs(["keys", "create", "--role", role, "--label", "bench"]), {
        cwd: ROOT,
        env,
        stdio: ["ignore", "pipe", "pipe"],
      }),
    );
    return keySecret(child);
  }

  async start(options: ClmServerOptions, name: string): Promise<RunningServer> {
    const logFile = join(this.dir, `${name}.log`);
    return startChild(
      clmArgs(["serve"], options.sources),
      this.env(options),
      logFile,
      /^clm: serving (http:\/\/\S+)\/graphql/m,
      "/ready",
    );
  }

  cleanup(): void {
    rmSync(this.dir, { recursive: true, force: true });
  }
}

/** The bare graphql-yoga `{ hello }` server (bench/bare-server.ts) in a child process. */
export function startBareServer(dir: string): Promise<RunningServer> {
  return startChild(
    ["--import", "tsx", "bench/bare-server.ts"],
    { ...baseEnv(), HOST: "127.0.0.1", PORT: "0" },
    join(dir, "bare.log"),
    /^bare: serving (http:\/\/\S+)\/graphql/m,
    "/health",
  );
}

async function startChild(
  args: string[],
  env: NodeJS.ProcessEnv,
  logFile: string,
  announce: RegExp,
  readyPath: string,
): Promise<RunningServer> {
  const started = performance.now();
  const fd = openSync(logFile, "w");
  const child = track(spawn(process.execPath, args, { cwd: ROOT, env, stdio: ["ignore", fd, fd] }));
  closeSync(fd);
  let exited: string | null = null;
  child.once("exit", (code, signal) => (exited = String(code ?? signal)));
  const read = () => {
    try {
      return readFileSync(logFile, "utf8");
    } catch {
      return "";
    }
  };
  let url: string | undefined;
  while (!url) {
    if (exited !== null) throw new Error(`server exited (${exited}) before it was ready:\n${read().slice(-3000)}`);
    if (performance.now() - started > STARTUP_TIMEOUT_MS)
      throw new Error(`server did not start in time:\n${read().slice(-3000)}`);
    url = announce.exec(read())?.[1];
    if (!url) await sleep(100);
  }
  if (new URL(url).hostname !== "127.0.0.1") throw new Error(`server is not on loopback: ${url}`);
  for (;;) {
    if (exited !== null) throw new Error(`server exited (${exited}):\n${read().slice(-3000)}`);
    const ready = await fetch(`${url}${readyPath}`, { signal: AbortSignal.timeout(5_000) }).catch(() => null);
    if (ready?.status === 200) break;
    if (performance.now() - started > STARTUP_TIMEOUT_MS)
      throw new Error(`${url}${readyPath} did not answer 200 in time`);
    await sleep(200);
  }
  return {
    url,
    pid: child.pid!,
    child,
    startupMs: performance.now() - started,
    logFile,
    stop: () => stopChild(child),
  };
}

/** SIGTERM (the server drains and exits), SIGKILL after 15 s. */
export async function stopChild(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise<void>((resolve) => child.once("exit", () => resolve()));
  child.kill("SIGTERM");
  const killer = setTimeout(() => child.kill("SIGKILL"), 15_000);
  await exited;
  clearTimeout(killer);
}

/** A field of /proc/<pid>/status in MB (VmRSS: resident now; VmHWM: the peak resident so far). */
export function procStatusMb(pid: number, field: "VmRSS" | "VmHWM"): number | null {
  try {
    const match = new RegExp(`^${field}:\\s+(\\d+)\\s+kB`, "m").exec(readFileSync(`/proc/${pid}/status`, "utf8"));
    return match ? Number(match[1]) / 1024 : null;
  } catch {
    return null;
  }
}

/** A Prometheus counter's total over all label sets matching `labels` (e.g. 'label="customer_features"'). */
export async function counterTotal(
  url: string,
  name: string,
  labelFilter?: (labels: string) => boolean,
): Promise<number> {
  const text = await (await fetch(`${url}/metrics`)).text();
  let total = 0;
  for (const line of text.split("\n")) {
    const match = new RegExp(`^${name}(?:\\{([^}]*)\\})? ([0-9.e+-]+)$`).exec(line);
    if (match && (!labelFilter || labelFilter(match[1] ?? ""))) total += Number(match[2]);
  }
  return total;
}

export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/** One GraphQL request over HTTP with a key; throws on HTTP or GraphQL errors. */
export async function httpGraphql<T = any>(
  url: string,
  key: string,
  query: string,
  variables?: Record<string, unknown>,
): Promise<T> {
  const response = await fetch(`${url}/graphql`, {
    method: "POST",
    headers: { "content-type": "application/json", authorization: `Bearer ${key}` },
    body: JSON.stringify({ query, variables }),
  });
  const body = (await response.json()) as { data?: T; errors?: unknown[] };
  if (response.status !== 200 || body.errors || !body.data) {
    throw new Error(`GraphQL ${response.status}: ${JSON.stringify(body.errors ?? body).slice(0, 500)}`);
  }
  return body.data;
}

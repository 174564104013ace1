// The abuse suite under load (`npm run abuse`): one key attacks a real server as the hostile tester did,
// while a second key keeps sending a cheap query (one customer's stage, every 20 ms); for each attack it
// prints the victim's latency (p50 / p99 / max) and errors by code, and what the attacker got back. The
// bounded versions of the same attacks, which prove each fix, run in `npm test` (test/server/abuse/).
//
//   npx tsx bench/abuse.ts [--seconds 10] [--customers 20000] [--postgres-url postgresql://127.0.0.1/db]
//                          [--only pool,cost,cpu,nul] [--server-env NAME=VALUE ...]
//
// Loopback only: it starts its own `clm serve` on 127.0.0.1 in production mode (NODE_ENV=production,
// keys required, result cache off so every lookup reaches the warehouse) over a demo shop it seeds into a
// DuckDB file, or into a PostgreSQL database with --postgres-url (the pool-exhaustion attack is the
// tester's there, and the app database then lives in the same database behind a TCP proxy this script
// stops for one round: the app database going away). Stops by itself after the attacks.
import { execFileSync } from "node:child_process";
import { join } from "node:path";
import { performance } from "node:perf_hooks";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";
import { startProxy } from "../test/helpers/tcp-proxy.ts";
import { buildCompiledCli, ClmServerFactory, killChildren, sleep, type RunningServer } from "./lib/servers.ts";

const ROOT = fileURLToPath(new URL("..", import.meta.url));
const VICTIM_EVERY_MS = 20;
const REQUEST_TIMEOUT_MS = 60_000;

const { values } = parseArgs({
  options: {
    seconds: { type: "string", default: "10" },
    customers: { type: "string", default: "20000" },
    "postgres-url": { type: "string" },
    only: { type: "string" },
    "server-env": { type: "string", multiple: true, default: [] },
  },
});
const only = values.only?.split(",");
const serverEnv = Object.fromEntries(
  values["server-env"].map((pair) => {
    const at = pair.indexOf("=");
    if (at < 1) throw new Error(`--server-env takes NAME=VALUE, got ${pair}`);
    return [pair.slice(0, at), pair.slice(at + 1)];
  }),
);
const seconds = Number(values.seconds);
const customers = Number(values.customers);
const postgresUrl = values["postgres-url"];

interface Answer {
  readonly ms: number;
  readonly codes: string[];
  readonly bytes: number;
}

async function send(url: string, key: string, query: string, variables?: unknown): Promise<Answer> {
  const started = performance.now();
  try {
    const response = await fetch(`${url}/graphql`, {
      method: "POST",
      headers: { "content-type": "application/json", authorization: `Bearer ${key}` },
      body: JSON.stringify({ query, variables }),
      signal: AbortSignal.timeout(REQUEST_TIMEOUT_MS),
    });
    const text = await response.text();
    let codes: string[] = [];
    try {
      const body = JSON.parse(text) as { errors?: { extensions?: { code?: string } }[] };
      codes = (body.errors ?? []).map((e) => e.extensions?.code ?? "NO_CODE");
    } catch {
      codes = [`HTTP_${response.status}_NOT_JSON`];
    }
    return { ms: performance.now() - started, codes, bytes: text.length };
  } catch (error) {
    return { ms: performance.now() - started, codes: [(error as Error).name], bytes: 0 };
  }
}

const percentile = (sorted: number[], p: number) =>
  sorted.length === 0 ? NaN : sorted[Math.min(sorted.length - 1, Math.floor(p * sorted.length))]!;

function counts(answers: Answer[]): string {
  const byCode = new Map<string, number>();
  for (const a of answers)
    for (const c of new Set(a.codes.length ? a.codes : ["OK"])) byCode.set(c, (byCode.get(c) ?? 0) + 1);
  return [...byCode].map(([c, n]) => `${c} ${n}`).join(", ");
}

/** Attacks as the hostile tester ran them; each returns the attacker's next request. */
interface Attack {
  readonly key: string;
  readonly name: string;
  readonly workers: number;
  request(i: number): [string, unknown?];
  /** Something done to the server's surroundings for the round (the app database going away). */
  readonly around?: { begin(): Promise<void>; end(): Promise<void> };
}

const ATTACKS: Attack[] = [
  { key: "baseline", name: "none (baseline)", workers: 0, request: () => ["{ __typename }"] },
  {
    key: "pool",
    name: "pool: 40 aliased stageTimings per request, 4 at once",
    workers: 4,
    request: (i) => [
      `{ ${Array.from(
        { length: 40 },
        (_, k) =>
          `t${k}: stageTimings(from: "2025-01-01", to: "2026-0${(k % 6) + 1}-${String(((i + k) % 28) + 1).padStart(2, "0")}", stepDays: ${20 + k}) { entries }`,
      ).join(" ")} }`,
    ],
  },
  {
    key: "cost",
    name: "cost by variables: stages > customers(first: $n) > stage > customers(first: $n), n = 500",
    workers: 4,
    request: () => [
      `query($n: Int) { stages { customers(first: $n) { edges { node { id stage { customers(first: $n) { edges { node { id } } } } } } } } }`,
      { n: 500 },
    ],
  },
  {
    key: "cpu",
    name: "CPU: 10 aliased Pareto/NBD clvModel fits per request, 2 at once",
    workers: 2,
    request: (i) => [
      `{ ${Array.from(
        { length: 10 },
        (_, k) =>
          `f${k}: clvModel(asOf: "2026-${String((k % 9) + 1).padStart(2, "0")}-${String((i % 27) + 1).padStart(2, "0")}", timeUnit: WEEK, model: PARETO_NBD) { customers }`,
      ).join(" ")} }`,
    ],
  },
  {
    key: "nul",
    name: "NUL id in the shared lookup batch, 8 at once",
    workers: 8,
    request: (i) => [`query($id: ID!) { customer(id: $id) { id } }`, { id: `c${i}\u0000x` }],
  },
];

async function run(server: RunningServer, attacker: string, victim: string, attacks: Attack[]): Promise<void> {
  console.log(`\nvictim: customer(id) { stage { key } } every ${VICTIM_EVERY_MS} ms for ${seconds} s per attack\n`);
  console.log("| attack | victim requests | victim errors | p50 ms | p99 ms | max ms | attacker answers |");
  console.log("| --- | --- | --- | --- | --- | --- | --- |");
  for (const attack of attacks.filter((a) => !only || a.key === "baseline" || only.includes(a.key))) {
    await attack.around?.begin();
    const until = performance.now() + seconds * 1000;
    const attackerAnswers: Answer[] = [];
    const workers = Array.from({ length: attack.workers }, async (_, w) => {
      for (let i = w; performance.now() < until; i += attack.workers) {
        const [query, variables] = attack.request(i);
        attackerAnswers.push(await send(server.url, attacker, query, variables));
      }
    });
    await sleep(200);
    const victimAnswers: Answer[] = [];
    for (let i = 0; performance.now() < until; i++) {
      const id = `c${String((i * 37) % customers).padStart(6, "0")}`;
      victimAnswers.push(
        await send(server.url, victim, `query($id: ID!) { customer(id: $id) { stage { key } } }`, { id }),
      );
      await sleep(VICTIM_EVERY_MS);
    }
    await Promise.all(workers);
    await attack.around?.end();
    const ms = victimAnswers.map((a) => a.ms).sort((a, b) => a - b);
    const errors = victimAnswers.filter((a) => a.codes.length > 0);
    console.log(
      `| ${attack.name} | ${victimAnswers.length} | ${errors.length ? counts(errors) : 0} | ${percentile(ms, 0.5).toFixed(0)} | ${percentile(ms, 0.99).toFixed(0)} | ${ms.at(-1)?.toFixed(0)} | ${attackerAnswers.length ? counts(attackerAnswers) : "-"} |`,
    );
  }
}

async function main(): Promise<void> {
  buildCompiledCli();
  const factory = new ClmServerFactory();
  process.on("SIGINT", () => {
    killChildren();
    factory.cleanup();
    process.exit(130);
  });
  try {
    const duckdbPath = join(factory.dir, "shop.duckdb");
    const seedArgs = postgresUrl ? ["--postgres-url", postgresUrl] : ["--out", duckdbPath];
    execFileSync(
      process.execPath,
      ["--import", "tsx", "src/cli/main.ts", "seed", "--customers", String(customers), ...seedArgs, "--quiet"],
      {
        cwd: ROOT,
        stdio: "inherit",
      },
    );
    const warehouseEnv: Record<string, string> = postgresUrl
      ? { CLM_WAREHOUSE: "postgres", CLM_POSTGRES_URL: postgresUrl }
      : {};
    const env = { NODE_ENV: "production", CLM_METRICS: "0", ...warehouseEnv, ...serverEnv };
    // On PostgreSQL the app database is there too, reached by the server through a proxy it can lose.
    const target = postgresUrl ? new URL(postgresUrl) : undefined;
    const proxy = target ? await startProxy({ host: target.hostname, port: Number(target.port || 5432) }) : undefined;
    const attacks = [...ATTACKS];
    let appDbEnv: Record<string, string> = {};
    if (target && proxy) {
      const proxied = new URL(target);
      proxied.port = String(proxy.port());
      appDbEnv = { DATABASE_URL: proxied.toString() };
      attacks.push({
        key: "appdb",
        name: "the app database unreachable (its TCP proxy stopped) for the round",
        workers: 0,
        request: () => ["{ __typename }"],
        around: { begin: () => proxy.stop(), end: () => proxy.start() },
      });
    }
    const attacker = await factory.createKey("analyst", { ...env, ...appDbEnv });
    const victim = await factory.createKey("viewer", { ...env, ...appDbEnv });
    const server = await factory.start(
      { duckdbPath, cache: false, extraEnv: { ...env, ...appDbEnv, CLM_REQUEST_TIMEOUT_MS: "30000" } },
      "abuse",
    );
    console.log(`server ${server.url} (${postgresUrl ? "PostgreSQL" : "DuckDB"} warehouse, ${customers} people)`);
    try {
      await run(server, attacker, victim, attacks);
    } finally {
      await server.stop();
      await proxy?.stop();
    }
  } finally {
    killChildren();
    factory.cleanup();
  }
}

await main();

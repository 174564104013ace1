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
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";
import { startProxy } from "../test/helpers/tcp-proxy.ts";
import { idWidth } from "./lib/data.ts";
import { ATTACKS, counts, percentile, runAttack, VICTIM_EVERY_MS, type Attack } from "./lib/attacks.ts";
import { buildCompiledCli, ClmServerFactory, killChildren, type RunningServer } from "./lib/servers.ts";

const ROOT = fileURLToPath(new URL("..", import.meta.url));

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

async function run(server: RunningServer, attacker: string, victim: string, attacks: Attack[]): Promise<void> {
  console.log(`\nvictim: customer(id) { stage { key } } every ${VICTIM_EVERY_MS} ms for ${seconds} s per attack\n`);
  console.log("| attack | victim requests | victim errors | p50 ms | p99 ms | max ms | attacker answers |");
  console.log("| --- | --- | --- | --- | --- | --- | --- |");
  for (const attack of attacks.filter((a) => !only || a.key === "baseline" || only.includes(a.key))) {
    const round = await runAttack(server, { attacker, victim }, attack, {
      seconds,
      customers,
      idWidth: idWidth(customers),
    });
    const ms = round.victim.map((a) => a.ms).sort((a, b) => a - b);
    const errors = round.victim.filter((a) => a.codes.length > 0);
    console.log(
      `| ${attack.name} | ${round.victim.length} | ${errors.length ? counts(errors) : 0} | ${percentile(ms, 0.5).toFixed(0)} | ${percentile(ms, 0.99).toFixed(0)} | ${ms.at(-1)?.toFixed(0)} | ${round.attacker.length ? counts(round.attacker) : "-"} |`,
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

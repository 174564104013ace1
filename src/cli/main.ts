// The `clm` command line: serve, seed, keys.
import { Command, InvalidArgumentError, Option } from "commander";
import { SingleBar, Presets } from "cli-progress";
import { DuckDBConnector } from "../../connectors/duckdb.ts";
import { pgPoolSource, PostgresConnector } from "../../connectors/postgres.ts";
import type { WarehouseWriter } from "../../connectors/connector.ts";
import { ConfigError, loadEnv } from "../config/env.ts";
import { loadConfigFile } from "../config/file.ts";
import { generateDemoData } from "../demo/generate.ts";
import { openAppDatabase } from "../appdb/database.ts";
import { checkLabel, isRole, KeyStore, ROLES, type Role } from "../auth/keys.ts";
import { listen, openServices, StartupError, todayUtc } from "../server/boot.ts";
import { createLogger } from "../server/logger.ts";

/** Exit codes scripts can rely on. */
export const EXIT = { ok: 0, failure: 1, usage: 2 } as const;

function fail(line: string): never {
  process.stderr.write(`clm: ${line}\n`);
  process.exit(EXIT.failure);
}

function positiveInt(value: string): number {
  const n = Number(value.replace(/_/g, ""));
  if (!Number.isSafeInteger(n) || n <= 0) throw new InvalidArgumentError("must be a positive whole number");
  return n;
}

function atLeastOne(value: string): number {
  const n = Number(value);
  if (!Number.isFinite(n) || n < 1) throw new InvalidArgumentError("must be a number of at least 1");
  return n;
}

function calendarDay(value: string): string {
  if (!/^\d{4}-\d{2}-\d{2}$/.test(value) || Number.isNaN(Date.parse(`${value}T00:00:00Z`))) {
    throw new InvalidArgumentError("must be a date YYYY-MM-DD");
  }
  return value;
}

async function serve(): Promise<void> {
  const config = loadEnv();
  const log = createLogger(config.logLevel);
  const services = await openServices(config, log);
  const running = await listen(services, log).catch(async (error) => {
    await services.close();
    throw error;
  });
  log.info(
    { url: `${running.url}/graphql`, warehouse: config.warehouse.kind, appDatabase: services.appDb.kind },
    "listening",
  );
  process.stderr.write(
    `clm: serving ${running.url}/graphql (GraphiQL in a browser), warehouse ${config.warehouse.kind}\n`,
  );
  let signals = 0;
  const shutdown = (signal: string) => {
    if (++signals > 1) {
      log.warn({ signal }, "second signal: exiting now");
      process.exit(EXIT.failure);
    }
    log.info({ signal }, "shutting down: finishing in-flight requests");
    running.close().then(
      () => process.exit(EXIT.ok),
      (err) => {
        log.error({ err }, "shutdown failed");
        process.exit(EXIT.failure);
      },
    );
  };
  process.on("SIGINT", shutdown);
  process.on("SIGTERM", shutdown);
}

interface SeedOptions {
  customers: number;
  intensity: number;
  seed: number;
  endDate: string;
  out?: string;
  postgresUrl?: string;
  replace: boolean;
}

async function seed(options: SeedOptions): Promise<void> {
  if (!options.out && !options.postgresUrl)
    throw new InvalidArgumentError("give --out FILE.duckdb or --postgres-url URL");
  const { mapping } = loadConfigFile(process.env.CLM_CONFIG || undefined);
  const target: WarehouseWriter & { close(): Promise<void> } = options.out
    ? await DuckDBConnector.open(options.out, mapping)
    : new PostgresConnector(pgPoolSource(options.postgresUrl!), mapping);
  const bar = new SingleBar(
    { format: "seeding [{bar}] {percentage}% | {value}/{total} customers | {rate}/s | eta {eta}s", hideCursor: true },
    Presets.shades_classic,
  );
  const started = Date.now();
  let last = { t: started, n: 0, rate: 0 };
  bar.start(options.customers, 0, { rate: 0 });
  try {
    await target.createTables({ replace: options.replace });
    const counts = await generateDemoData(target, {
      customers: options.customers,
      seed: options.seed,
      intensity: options.intensity,
      endDate: options.endDate,
      onProgress: (done) => {
        const now = Date.now();
        if (now > last.t) last = { t: now, n: done, rate: Math.round(((done - last.n) * 1000) / (now - last.t)) };
        bar.update(done, { rate: last.rate });
      },
    });
    bar.stop();
    const seconds = ((Date.now() - started) / 1000).toFixed(1);
    process.stdout.write(
      `seeded ${counts.customers} customers, ${counts.transactions} transactions, ${counts.events} events, ` +
        `${counts.marketing_spend} spend rows in ${seconds}s into ${options.out ?? "PostgreSQL"}\n`,
    );
  } finally {
    bar.stop();
    await target.close();
  }
}

/** Runs `work` on the app database the server would use (DATABASE_URL or the store under CLM_DATA_DIR). */
async function withKeys<T>(work: (keys: KeyStore) => Promise<T>): Promise<T> {
  const config = loadEnv();
  const appDb = await openAppDatabase({ databaseUrl: config.databaseUrl, dataDir: config.dataDir });
  try {
    return await work(new KeyStore(appDb.prisma));
  } finally {
    await appDb.close();
  }
}

function label(value: string): string {
  const { problems } = checkLabel(value);
  if (problems.length > 0) throw new InvalidArgumentError(problems.join("; "));
  return value;
}

function role(value: string): Role {
  if (!isRole(value)) throw new InvalidArgumentError(`must be one of ${ROLES.join(", ")}`);
  return value;
}

export function buildProgram(): Command {
  const program = new Command("clm")
    .description("Customer lifecycle analytics over GraphQL")
    .showHelpAfterError()
    .exitOverride();
  program
    .command("serve")
    .description("start the GraphQL server (configuration from the environment; see README)")
    .action(serve);
  program
    .command("seed")
    .description("write deterministic demo data (transactions, customers, events, marketing_spend) into a warehouse")
    .addOption(
      new Option("--customers <n>", "people in the demo shop (buyers and leads)").argParser(positiveInt).default(5_000),
    )
    .addOption(
      new Option("--intensity <k>", "purchase intensity: about k times the transactions per buyer (k >= 1)")
        .argParser(atLeastOne)
        .default(1),
    )
    .addOption(
      new Option("--seed <n>", "random seed: the same seed gives the same data").argParser(positiveInt).default(42),
    )
    .addOption(
      new Option("--end-date <day>", "last day of the two-year history")
        .argParser(calendarDay)
        .default(todayUtc(), "today (UTC)"),
    )
    .option("--out <file.duckdb>", "a DuckDB database file to write")
    .option("--postgres-url <url>", "a PostgreSQL database to write instead (tables under the CLM_CONFIG schema)")
    .option("--replace", "drop existing contract tables first", false)
    .action(seed);
  const keys = program.command("keys").description("API keys: create, list, revoke (in the app database)");
  keys
    .command("create")
    .description("create a key and print it once (only its hash is kept)")
    .addOption(
      new Option("--role <role>", `what the key may do: ${ROLES.join(" | ")}`).argParser(role).makeOptionMandatory(),
    )
    .addOption(new Option("--label <text>", "what the key is for, shown in lists").default("").argParser(label))
    .action((options: { role: Role; label: string }) =>
      withKeys(async (store) => {
        const { key, secret } = await store.create(options.role, options.label);
        process.stdout.write(`${secret}\n`);
        process.stderr.write(`clm: created ${key.role} key ${key.id} (${key.prefix}…); it is shown only this once\n`);
      }),
    );
  keys
    .command("list")
    .description("list keys: id, role, prefix, label, created, revoked")
    .action(() =>
      withKeys(async (store) => {
        for (const k of await store.list()) {
          const revoked = k.revokedAt ? `revoked ${k.revokedAt.toISOString()}` : "live";
          process.stdout.write(
            `${k.id}\t${k.role}\t${k.prefix}…\t${k.label}\t${k.createdAt.toISOString()}\t${revoked}\n`,
          );
        }
      }),
    );
  keys
    .command("revoke <idOrPrefix>")
    .description("revoke a key by id or by its shown prefix; requests with it are refused at once")
    .action((idOrPrefix: string) =>
      withKeys(async (store) => {
        try {
          const key = await store.revoke(idOrPrefix);
          process.stderr.write(`clm: revoked ${key.role} key ${key.id} (${key.prefix}…)\n`);
        } catch (error) {
          throw new InvalidArgumentError((error as Error).message);
        }
      }),
    );
  return program;
}

export async function main(argv = process.argv): Promise<void> {
  try {
    await buildProgram().parseAsync(argv);
  } catch (error) {
    const e = error as { code?: string; exitCode?: number };
    if (typeof e.code === "string" && e.code.startsWith("commander.")) {
      process.exit(e.exitCode === 0 ? EXIT.ok : EXIT.usage);
    }
    if (error instanceof InvalidArgumentError) fail(error.message);
    if (error instanceof ConfigError || error instanceof StartupError) {
      for (const line of (error as Error).message.split("\n")) process.stderr.write(`clm: ${line}\n`);
      process.exit(EXIT.failure);
    }
    throw error;
  }
}

await main();

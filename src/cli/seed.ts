// `clm seed`: the deterministic demo shop written into a DuckDB file or a PostgreSQL database.
import { DuckDBConnector } from "../connectors/duckdb.ts";
import { pgPoolSource, PostgresConnector } from "../connectors/postgres.ts";
import type { WarehouseWriter } from "../connectors/connector.ts";
import { loadConfigFile } from "../config/file.ts";
import { generateDemoData } from "../demo/generate.ts";
import { CliError, firstLine, UsageError } from "./exit.ts";
import { progressWanted, startProgress } from "./progress.ts";

export interface SeedOptions {
  readonly customers: number;
  readonly intensity: number;
  readonly seed: number;
  readonly endDate: string;
  readonly out?: string;
  readonly postgresUrl?: string;
  readonly replace: boolean;
  readonly quiet?: boolean;
}

export async function seed(options: SeedOptions): Promise<void> {
  if (!options.out && !options.postgresUrl)
    throw new UsageError("give --out FILE.duckdb or --postgres-url URL", "seed");
  if (options.out && options.postgresUrl) throw new UsageError("give --out or --postgres-url, not both", "seed");
  const { mapping } = loadConfigFile(process.env.CLM_CONFIG || undefined);
  const target: WarehouseWriter & { close(): Promise<void> } = options.out
    ? await DuckDBConnector.open(options.out, mapping).catch((error) => {
        throw new CliError(`cannot open ${options.out}: ${firstLine(error)}`);
      })
    : new PostgresConnector(pgPoolSource(options.postgresUrl!), mapping);
  const progress = startProgress({
    label: "seeding",
    unit: "customers",
    total: options.customers,
    enabled: progressWanted(options.quiet),
  });
  const started = Date.now();
  try {
    await target.createTables({ replace: options.replace });
    const counts = await generateDemoData(target, {
      customers: options.customers,
      seed: options.seed,
      intensity: options.intensity,
      endDate: options.endDate,
      onProgress: (done) => progress.update(done),
    });
    progress.stop();
    const seconds = ((Date.now() - started) / 1000).toFixed(1);
    process.stdout.write(
      `seeded ${counts.customers} customers, ${counts.transactions} transactions, ${counts.events} events, ` +
        `${counts.marketing_spend} spend rows in ${seconds}s into ${options.out ?? "PostgreSQL"}\n`,
    );
  } finally {
    progress.stop();
    await target.close();
  }
}

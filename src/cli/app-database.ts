// The app database alone, for the commands that need nothing else (keys, events tail): opened without
// the warehouse or the services a report's context builds.
import { openAppDatabase, type AppDatabase } from "../appdb/database.ts";
import { loadEnv } from "../config/env.ts";
import { CliError } from "./exit.ts";

/**
 * The app database of the server's settings (DATABASE_URL, or the embedded store under CLM_DATA_DIR),
 * for commands that need nothing else; a failure to open it is a CliError saying why.
 */
export async function openAppDatabaseOnly(): Promise<AppDatabase> {
  const config = loadEnv(process.env, { readsWarehouse: false });
  return openAppDatabase({ databaseUrl: config.databaseUrl, dataDir: config.dataDir }).catch((error: Error) => {
    throw new CliError(error.name === "AppDatabaseUnreachableError" ? error.message : `app database: ${error.message}`);
  });
}

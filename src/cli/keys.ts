// `clm keys create | list | revoke`: API keys in the app database the server uses (DATABASE_URL, or the
// embedded store under CLM_DATA_DIR).
import { openAppDatabase } from "../appdb/database.ts";
import { KeyStore, type Role } from "../auth/keys.ts";
import { loadEnv } from "../config/env.ts";
import { CliError } from "./exit.ts";

async function withKeys<T>(work: (keys: KeyStore) => Promise<T>): Promise<T> {
  const config = loadEnv();
  const appDb = await openAppDatabase({ databaseUrl: config.databaseUrl, dataDir: config.dataDir }).catch(
    (error: Error) => {
      throw new CliError(
        error.name === "AppDatabaseUnreachableError" ? error.message : `app database: ${error.message}`,
      );
    },
  );
  try {
    return await work(new KeyStore(appDb.prisma));
  } finally {
    await appDb.close();
  }
}

export function createKey(options: { role: Role; label: string }): Promise<void> {
  return withKeys(async (store) => {
    const { key, secret } = await store.create(options.role, options.label);
    process.stdout.write(`${secret}\n`);
    process.stderr.write(`clm: created ${key.role} key ${key.id} (${key.prefix}…); it is shown only this once\n`);
  });
}

export function listKeys(): Promise<void> {
  return withKeys(async (store) => {
    for (const k of await store.list()) {
      const revoked = k.revokedAt ? `revoked ${k.revokedAt.toISOString()}` : "live";
      process.stdout.write(`${k.id}\t${k.role}\t${k.prefix}…\t${k.label}\t${k.createdAt.toISOString()}\t${revoked}\n`);
    }
  });
}

export function revokeKey(idOrPrefix: string): Promise<void> {
  return withKeys(async (store) => {
    try {
      const key = await store.revoke(idOrPrefix);
      process.stderr.write(`clm: revoked ${key.role} key ${key.id} (${key.prefix}…)\n`);
    } catch (error) {
      throw new CliError((error as Error).message);
    }
  });
}

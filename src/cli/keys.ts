// `clm keys create | list | revoke`: API keys in the app database the server uses (DATABASE_URL, or the
// embedded store under CLM_DATA_DIR).
import type { Role } from "../auth/api-key.ts";
import { hasExpired, KeyStore } from "../auth/keys.ts";
import { openAppDatabaseOnly } from "./app-database.ts";
import { CliError } from "./exit.ts";

async function withKeys<T>(work: (keys: KeyStore) => Promise<T>): Promise<T> {
  const appDb = await openAppDatabaseOnly();
  try {
    return await work(new KeyStore(appDb.prisma));
  } finally {
    await appDb.close();
  }
}

export function createKey(options: { role: Role; label: string; expires?: Date }): Promise<void> {
  return withKeys(async (store) => {
    const { key, secret } = await store.create(options.role, options.label, options.expires ?? null);
    process.stdout.write(`${secret}\n`);
    const expiry = key.expiresAt ? `, expires ${key.expiresAt.toISOString()}` : "";
    process.stderr.write(
      `clm: created ${key.role} key ${key.id} (${key.prefix}…${expiry}); it is shown only this once\n`,
    );
  });
}

export function listKeys(): Promise<void> {
  return withKeys(async (store) => {
    for (const k of await store.list()) {
      const state = k.revokedAt
        ? `revoked ${k.revokedAt.toISOString()}`
        : k.expiresAt && hasExpired(k)
          ? `expired ${k.expiresAt.toISOString()}`
          : "live";
      // The expiry last, so scripts reading the first six columns read what they did before.
      const expires = k.expiresAt ? k.expiresAt.toISOString() : "never";
      process.stdout.write(
        `${k.id}\t${k.role}\t${k.prefix}…\t${k.label}\t${k.createdAt.toISOString()}\t${state}\t${expires}\n`,
      );
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

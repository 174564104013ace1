// Configuration of the Prisma CLI (generate, migrate). The server itself does not read this file:
// it applies prisma/migrations on start (src/appdb/migrate.ts).
import path from "node:path";
import { defineConfig } from "prisma/config";

// Without these the CLI reports any schema problem as a failed engine download (see README).
process.env.CHECKPOINT_DISABLE ??= "1";
process.env.PRISMA_QUERY_ENGINE_LIBRARY ??= "/bin/false";
// `prisma generate` needs no database; a placeholder keeps env("DATABASE_URL") resolvable.
process.env.DATABASE_URL ??= "postgresql://localhost/clm_unused";

export default defineConfig({
  schema: path.join("prisma", "schema.prisma"),
  migrations: { path: path.join("prisma", "migrations") },
  experimental: { adapter: true },
  engine: "js",
  async adapter() {
    const { cliAdapterFor } = await import("./src/appdb/cli-adapter.ts");
    return cliAdapterFor(process.env.DATABASE_URL!);
  },
});

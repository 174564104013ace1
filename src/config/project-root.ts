// Files the server reads from the project itself (the migrations, the dashboard's page), found from the
// project's root rather than from the module's own place, so the same code runs from src/ under tsx
// and bundled into dist/clm.mjs by `npm run build`.
import { existsSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

/** The nearest directory holding a package.json, from this module's directory up. */
function findRoot(from: string): string {
  for (let dir = from; ; dir = dirname(dir)) {
    if (existsSync(join(dir, "package.json"))) return dir;
    if (dirname(dir) === dir) throw new Error(`no package.json in ${from} or above`);
  }
}

export const PROJECT_ROOT = findRoot(dirname(fileURLToPath(import.meta.url)));

/** A path inside the project, e.g. projectPath("prisma", "migrations"). */
export function projectPath(...segments: string[]): string {
  return join(PROJECT_ROOT, ...segments);
}

// CLM_CONFIG: an optional JSON file for what does not fit in environment variables (the table and
// column mapping now; the stage model and RFM map as those capabilities arrive).
import { readFileSync } from "node:fs";
import { z } from "zod";
import { resolveMapping, warehouseMappingSchema, type WarehouseMapping } from "../../connectors/contract.ts";
import { ConfigError } from "./env.ts";

const configFileSchema = z
  .object({
    $schema: z.string().optional(),
    warehouse: warehouseMappingSchema.optional(),
  })
  .strict();

export interface FileConfig {
  readonly mapping: WarehouseMapping;
}

function formatPath(path: readonly PropertyKey[]): string {
  return (
    path
      .map((p) => (typeof p === "number" ? `[${p}]` : `.${String(p)}`))
      .join("")
      .replace(/^\./, "") || "(root)"
  );
}

export function parseConfigFile(json: unknown, source = "CLM_CONFIG"): FileConfig {
  const parsed = configFileSchema.safeParse(json);
  if (!parsed.success) {
    throw new ConfigError(parsed.error.issues.map((i) => `${source} at ${formatPath(i.path)}: ${i.message}`));
  }
  return { mapping: resolveMapping(parsed.data.warehouse) };
}

export function loadConfigFile(path: string | undefined): FileConfig {
  if (path === undefined) return parseConfigFile({});
  let text: string;
  try {
    text = readFileSync(path, "utf8");
  } catch (error) {
    throw new ConfigError([`CLM_CONFIG cannot be read (${(error as NodeJS.ErrnoException).code ?? "error"}: ${path})`]);
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (error) {
    throw new ConfigError([`CLM_CONFIG is not valid JSON (${path}: ${(error as Error).message})`]);
  }
  return parseConfigFile(json, `CLM_CONFIG (${path})`);
}

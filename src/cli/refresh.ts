// `clm refresh`: a refresh of the state store from this process, with a progress bar on a terminal.
import { REFRESH_DUCKDB_MEMORY_LIMIT } from "../config/defaults.ts";
import { withContext } from "./context.ts";
import { CliError, firstLine } from "./exit.ts";
import { formatCount, progressWanted, startProgress } from "./progress.ts";

export async function refresh(options: { asOf?: string; full?: boolean; quiet?: boolean }): Promise<void> {
  await withContext(async (ctx) => {
    const progress = startProgress({
      label: "refreshing the state store",
      unit: "customers",
      enabled: progressWanted(options.quiet),
    });
    let outcome;
    try {
      outcome = await ctx.services.state.refresh({
        stateDay: options.asOf,
        full: options.full,
        onProgress: (p) => progress.update(p.customers),
      });
    } catch (error) {
      progress.stop({ clear: true });
      throw new CliError(`refresh failed (the previous state keeps serving): ${firstLine(error)}`);
    }
    progress.stop({ clear: true });
    if (!outcome) {
      process.stderr.write("another process is refreshing the state store; nothing done\n");
      return;
    }
    for (const warning of outcome.warnings) process.stderr.write(`warning: ${warning}\n`);
    const parts = [
      `${formatCount(outcome.customers)} customers`,
      `${formatCount(outcome.rowsRead)} rows read`,
      ...(outcome.futureRows > 0 ? [`${formatCount(outcome.futureRows)} rows after the day left for later`] : []),
      ...(outcome.events > 0 ? [`${formatCount(outcome.events)} stage changes to the outbox`] : []),
      ...(outcome.writeback ? [`written back to the warehouse as ${outcome.writeback.table}`] : []),
      `${(outcome.milliseconds / 1000).toFixed(1)} s`,
    ];
    process.stdout.write(
      `generation ${outcome.generation} (${outcome.kind}) for ${outcome.stateDay}: ${parts.join(", ")}\n`,
    );
  }, refreshEnv());
}

/**
 * The environment a refresh process runs with: a DuckDB file's memory bounded unless configured. Not an
 * in-memory demo's: its tables live in that memory.
 */
export function refreshEnv(env: NodeJS.ProcessEnv = process.env): NodeJS.ProcessEnv {
  return env.CLM_DUCKDB_PATH ? { CLM_DUCKDB_MEMORY_LIMIT: REFRESH_DUCKDB_MEMORY_LIMIT, ...env } : env;
}

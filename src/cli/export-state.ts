// `clm export-state`: every customer's state (stages, RFM, features on the state day) as CSV or Parquet, for BI
// tools to join to their own tables: read from one snapshot of the served state a page at a time, and
// written as read. To stdout, or to a file (written beside it and renamed when complete).
import { once } from "node:events";
import { renameSync, rmSync } from "node:fs";
import type { Writable } from "node:stream";
import { csvField } from "../server/csv.ts";
import { withContext } from "./context.ts";
import { CliError, firstLine } from "./exit.ts";
import { openOutput, write } from "./output.ts";
import { writeParquet } from "./parquet.ts";
import { progressWanted, startProgress } from "./progress.ts";

export async function exportState(options: {
  out?: string;
  quiet?: boolean;
  format?: "csv" | "parquet";
}): Promise<void> {
  if (options.format === "parquet") {
    if (!options.out) throw new CliError("--format parquet writes a file: give --out");
    return exportParquet(options.out, options.quiet);
  }
  await withContext(async (ctx) => {
    const state = ctx.services.state;
    const columns = state.exportColumns();
    const partial = options.out ? `${options.out}.partial` : undefined;
    const out: Writable = partial ? openOutput(partial, options.out!) : process.stdout;
    let pipeClosed = false;
    out.on("error", (error: NodeJS.ErrnoException) => {
      if (error.code === "EPIPE") pipeClosed = true;
    });
    const progress = startProgress({
      label: "exporting the state",
      unit: "customers",
      enabled: Boolean(options.out) && progressWanted(options.quiet),
    });
    const text = columns.map((c) => c.type === "text");
    let rows = 0;
    try {
      // The first page before the header: a state that cannot be read writes nothing.
      const pages = state.exportPages();
      const first = await pages.next();
      await write(out, `${columns.map((c) => c.name).join(",")}\r\n`);
      for (let next = first; !next.done; next = await pages.next()) {
        const page = next.value;
        let chunk = "";
        for (const row of page) chunk += `${row.map((v, i) => csvField(v, text[i]!)).join(",")}\r\n`;
        await write(out, chunk);
        rows += page.length;
        progress.update(rows);
      }
      if (partial) {
        out.end();
        await once(out, "finish");
        renameSync(partial, options.out!);
        process.stderr.write(`clm: exported the state of ${rows} customers to ${options.out}\n`);
      }
      progress.stop();
    } catch (error) {
      progress.stop();
      if (partial) {
        out.destroy();
        rmSync(partial, { force: true });
      }
      if (pipeClosed || (error as NodeJS.ErrnoException).code === "EPIPE") return;
      throw new CliError(`export of the state failed: ${firstLine(error)}`);
    }
  });
}

/** The same rows as a Parquet file (written beside it and renamed when complete). */
async function exportParquet(out: string, quiet: boolean | undefined): Promise<void> {
  await withContext(async (ctx) => {
    const state = ctx.services.state;
    const partial = `${out}.partial`;
    const progress = startProgress({ label: "exporting the state", unit: "customers", enabled: progressWanted(quiet) });
    try {
      const rows = await writeParquet(partial, state.exportColumns(), state.exportPages(), (n) => progress.update(n));
      progress.stop();
      renameSync(partial, out);
      process.stderr.write(`clm: exported the state of ${rows} customers to ${out}\n`);
    } catch (error) {
      progress.stop();
      rmSync(partial, { force: true });
      throw new CliError(`export of the state failed: ${firstLine(error)}`);
    }
  });
}

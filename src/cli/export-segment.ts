// `clm export-segment <id>`: a saved segment's members with their stages and features as CSV — the
// same columns, order, quoting and formula guard as GET /segments/:id/members.csv (src/server/export.ts),
// streamed from the warehouse batch by batch. To stdout, or to a file (written beside it and renamed
// when complete, so a failed export leaves no half file), with progress on stderr.
import { dayOrDefault, noteDefaultDay } from "./default-day.ts";
import { once } from "node:events";
import { rmSync, renameSync } from "node:fs";
import type { Writable } from "node:stream";
import { memberCsvColumns, memberCsvHeader, memberCsvParts } from "../server/export.ts";
import { segmentRuleFor, withContext } from "./context.ts";
import { CliError, firstLine } from "./exit.ts";
import { openOutput, write } from "./output.ts";
import { progressWanted, startProgress } from "./progress.ts";

export interface ExportOptions {
  readonly asOf?: string;
  readonly out?: string;
  readonly quiet?: boolean;
}

export async function exportSegment(id: string, options: ExportOptions): Promise<void> {
  await withContext(async (ctx) => {
    const asOf = await dayOrDefault(ctx, options.asOf);
    const { segment, rule } = await segmentRuleFor(ctx, id, asOf);
    // Said once the segment is found: an unknown one fails with its own line alone.
    if (!options.asOf) noteDefaultDay(ctx, asOf);
    const partial = options.out ? `${options.out}.partial` : undefined;
    const out: Writable = partial ? openOutput(partial, options.out!) : process.stdout;
    // A reader that stops early (`| head`) closes the pipe: the export ends there, without an error.
    let pipeClosed = false;
    out.on("error", (error: NodeJS.ErrnoException) => {
      if (error.code === "EPIPE") pipeClosed = true;
    });
    const progress = startProgress({
      label: `exporting "${segment.name}"`,
      unit: "rows",
      enabled: Boolean(options.out) && progressWanted(options.quiet),
    });
    const started = Date.now();
    const parts = memberCsvParts(ctx.services.warehouse, ctx.services.segments, rule, asOf);
    let rows = 0;
    try {
      await write(out, memberCsvHeader(memberCsvColumns(ctx.services.lifecycle.catalog)));
      for (let next = await parts.next(); !next.done; next = await parts.next()) {
        await write(out, next.value.bytes);
        rows += next.value.rows;
        progress.update(rows);
      }
      if (partial) {
        out.end();
        await once(out, "finish");
        renameSync(partial, options.out!);
      }
      progress.stop();
      const seconds = (Date.now() - started) / 1000;
      if (options.out) {
        process.stderr.write(
          `clm: exported ${rows} members of "${segment.name}" (${asOf}) to ${options.out} in ${seconds.toFixed(1)}s\n`,
        );
      }
    } catch (error) {
      progress.stop();
      await parts.return?.();
      if (partial) {
        out.destroy();
        rmSync(partial, { force: true });
      }
      if (pipeClosed || (error as NodeJS.ErrnoException).code === "EPIPE") return;
      throw new CliError(`export of segment "${segment.name}" failed: ${firstLine(error)}`);
    }
  });
}

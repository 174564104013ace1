// The day a command answers for when no --as-of is given: today, or the last day with data when the data
// ends before today (services/lifecycle/features.ts, defaultDay), said on stderr when it is not today so
// that the output itself stays what a pipe expects.
import type { CliContext } from "./context.ts";

/** The day asked for, or the default day, said on stderr when it is not today. */
export async function asOfOrDefault(ctx: CliContext, asOf: string | undefined): Promise<string> {
  const day = await dayOrDefault(ctx, asOf);
  if (!asOf) noteDefaultDay(ctx, day);
  return day;
}

/** The day asked for, or the default day, silently (noteDefaultDay says it once the command gets going). */
export async function dayOrDefault(ctx: CliContext, asOf: string | undefined): Promise<string> {
  return asOf ?? (await ctx.services.lifecycle.defaultDay());
}

/** Says on stderr that the default day is not today. */
export function noteDefaultDay(ctx: CliContext, day: string): void {
  const now = ctx.services.lifecycle.today();
  if (day !== now)
    process.stderr.write(`clm: no --as-of: answering for ${day}, the last day with data (today is ${now})\n`);
}

// The asOf argument every lifecycle field shares: a day, defaulting to the state store's day or today.
import type { RequestContext } from "./context.ts";

export const AS_OF_DESCRIPTION =
  "The day to answer for: the state at the end of that day in the configured time zone. Default: the state store's day while it serves (extensions.stateStore says which), else today.";

/** The day asked for, or the default: the state store's day while it serves, else today. */
export async function resolveAsOf(asOf: string | null | undefined, ctx: RequestContext): Promise<string> {
  return asOf ?? (await ctx.lifecycle.defaultDay());
}

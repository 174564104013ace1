// The asOf argument every lifecycle field shares: a day, defaulting to the state store's day, else today
// or the last day with data when the data ends before today.
import { currentRequestScope } from "../request-scope.ts";
import type { RequestContext } from "./context.ts";

export const AS_OF_DESCRIPTION =
  "The day to answer for: the state at the end of that day in the configured time zone. Default (extensions.defaultDay says which): the state store's day while it serves, else today, or the last day with data (warehouse.dataRange) when the data ends before today.";

/** The day asked for, or the default, which the answer's extensions then name. */
export async function resolveAsOf(asOf: string | null | undefined, ctx: RequestContext): Promise<string> {
  if (asOf) return asOf;
  const day = await ctx.lifecycle.defaultDay();
  const scope = currentRequestScope();
  if (scope) scope.defaultDay = day;
  return day;
}

// The asOf argument every lifecycle field shares: a day, defaulting to today in the configured zone.
import type { RequestContext } from "./context.ts";

export const AS_OF_DESCRIPTION =
  "The day to answer for: the state at the end of that day in the configured time zone. Default: today.";

export function resolveAsOf(asOf: string | null | undefined, ctx: RequestContext): string {
  return asOf ?? ctx.lifecycle.service.today();
}

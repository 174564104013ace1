// Saved segments as resolvers use them: the server's store (services/segment-store.ts), definitions
// checked and resolved for a day, each failure a domain error naming the argument it is about.
import { SegmentQuestions } from "../services/segments.ts";
import type { RequestContext } from "./context.ts";
import type { Segment } from "@prisma/client";
import { compilePredicate, type Predicate } from "../lifecycle/rule-predicate.ts";
import { fieldsOf, type Rule } from "../lifecycle/rules.ts";
import { readsRfm } from "../lifecycle/segment-definition.ts";
import type { SegmentStore } from "../services/segment-store.ts";

/** The segment store of this server (definitions are checked against its stage model). */
export function segmentStore(ctx: RequestContext): SegmentStore {
  return ctx.services.segmentStore;
}

/** A saved segment's definition, checked against this server's stage model and RFM map. */
export function storedDefinition(segment: { name: string; definition: unknown }, ctx: RequestContext): Rule {
  return segmentStore(ctx).definitionOf(segment, "definition");
}

/** The definition of the saved segment `segmentId` (an argument of that name). */
export async function savedDefinition(segmentId: string, ctx: RequestContext, argument = "segmentId"): Promise<Rule> {
  const store = segmentStore(ctx);
  return store.definitionOf(await store.find(segmentId, argument), argument);
}

/** The saved segment `segmentId` as a rule for one day: what fields restricted to a segment filter by. */
export async function segmentRuleOn(segmentId: string, day: string, ctx: RequestContext): Promise<Rule> {
  return (await segmentStore(ctx).ruleOn(segmentId, day, "segmentId")).rule;
}

/** A definition resolved for a day (references inlined, relative dates made dates); errors name `argument`. */
export async function resolvedFor(
  definition: Rule,
  asOf: string,
  ctx: RequestContext,
  argument: string,
): Promise<Rule> {
  return segmentStore(ctx).resolve(definition, asOf, argument);
}

export interface CompiledSegment {
  readonly segment: Segment;
  readonly predicate: Predicate;
  readonly readsRfm: boolean;
}

const compiledByRequest = new WeakMap<RequestContext, Map<string, Promise<CompiledSegment[]>>>();

/**
 * Every saved segment that is not archived, resolved for a day and compiled to a TypeScript predicate;
 * once per request and day, however many customers ask.
 */
export function compiledSegments(ctx: RequestContext, asOf: string): Promise<CompiledSegment[]> {
  let byDay = compiledByRequest.get(ctx);
  if (!byDay) compiledByRequest.set(ctx, (byDay = new Map()));
  let compiled = byDay.get(asOf);
  if (!compiled) {
    compiled = (async () => {
      const segments = await segmentStore(ctx).live();
      return Promise.all(
        segments.map(async (segment) => {
          const rule = await resolvedFor(segmentStore(ctx).definitionOf(segment, "segments"), asOf, ctx, "segments");
          return { segment, predicate: compilePredicate(rule), readsRfm: readsRfm(fieldsOf(rule)) };
        }),
      );
    })();
    byDay.set(asOf, compiled);
  }
  return compiled;
}

/** A segment's answers for this request: from the state store when it serves the day, else the warehouse. */
export function segmentQuestions(ctx: RequestContext): SegmentQuestions {
  return new SegmentQuestions(ctx.services.segments, ctx.lifecycle.state);
}

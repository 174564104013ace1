// Saved segments as resolvers use them: the store for this request, definitions checked and resolved
// for a day, each failure a domain error naming the argument it is about.
import type { RequestContext } from "../context.ts";
import type { Segment } from "@prisma/client";
import { MAX_BREAKDOWN_SEGMENTS } from "../lifecycle/metrics.ts";
import { compilePredicate, type Predicate } from "../lifecycle/rule-predicate.ts";
import { fieldsOf, type Rule } from "../lifecycle/rules.ts";
import { checkDefinition, readsRfm, segmentScope } from "../lifecycle/segment-definition.ts";
import { SegmentStore } from "../services/segment-store.ts";
import { InvalidInputError, InvalidSegmentError, NotFoundError } from "../errors.ts";

const stores = new WeakMap<RequestContext, SegmentStore>();

/** The segment store of this request (definitions are checked against this server's stage model). */
export function segmentStore(ctx: RequestContext): SegmentStore {
  let store = stores.get(ctx);
  if (!store) {
    const { model, rfm } = ctx.lifecycle.service;
    store = new SegmentStore(ctx.prisma, segmentScope(model, rfm));
    stores.set(ctx, store);
  }
  return store;
}

/** A saved definition still valid for this server (its stage model may have changed since it was saved). */
function checkedDefinition(
  segment: { name: string; definition: unknown },
  ctx: RequestContext,
  argument: string,
): Rule {
  const { model, rfm } = ctx.lifecycle.service;
  const issues = checkDefinition(segment.definition, segmentScope(model, rfm));
  if (issues.length > 0) {
    throw new InvalidSegmentError(`segment ${segment.name} has an invalid definition`, { argument, issues });
  }
  return segment.definition as Rule;
}

/** A saved segment's definition, checked against this server's stage model and RFM map. */
export function storedDefinition(segment: { name: string; definition: unknown }, ctx: RequestContext): Rule {
  return checkedDefinition(segment, ctx, "definition");
}

/** The definition of the saved segment `segmentId` (an argument of that name). */
export async function savedDefinition(segmentId: string, ctx: RequestContext, argument = "segmentId"): Promise<Rule> {
  const segment = await segmentStore(ctx).get(segmentId);
  if (!segment) {
    throw new NotFoundError(`no segment with id ${JSON.stringify(segmentId)}`, { argument });
  }
  return checkedDefinition(segment, ctx, argument);
}

/** The saved segment `segmentId` as a rule for one day: what fields restricted to a segment filter by. */
export async function segmentRuleOn(segmentId: string, day: string, ctx: RequestContext): Promise<Rule> {
  return resolvedFor(await savedDefinition(segmentId, ctx), day, ctx);
}

/** A definition resolved for a day (references inlined, relative dates made dates); errors name `argument`. */
export async function resolvedFor(
  definition: Rule,
  asOf: string,
  ctx: RequestContext,
  argument = "segmentId",
): Promise<Rule> {
  return segmentStore(ctx).resolve(definition, asOf, argument);
}

/** Saved segments that are not archived, by name (at most `take`). */
function liveSegments(ctx: RequestContext, take?: number): Promise<Segment[]> {
  return ctx.prisma.segment.findMany({ where: { archived: false }, orderBy: [{ name: "asc" }, { id: "asc" }], take });
}

/** Every saved segment that is not archived, by name, with its definition (for a breakdown by segment). */
export async function listedSegments(
  ctx: RequestContext,
  argument: string,
): Promise<{ id: string; name: string; definition: Rule }[]> {
  const segments = await liveSegments(ctx, MAX_BREAKDOWN_SEGMENTS + 1);
  if (segments.length > MAX_BREAKDOWN_SEGMENTS) {
    throw new InvalidInputError(
      `more than ${MAX_BREAKDOWN_SEGMENTS} saved segments: archive some to break down by segment`,
      { argument },
    );
  }
  return segments.map((s) => ({ id: s.id, name: s.name, definition: checkedDefinition(s, ctx, argument) }));
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
      const segments = await liveSegments(ctx);
      return Promise.all(
        segments.map(async (segment) => {
          const rule = await resolvedFor(checkedDefinition(segment, ctx, "segments"), asOf, ctx, "segments");
          return { segment, predicate: compilePredicate(rule), readsRfm: readsRfm(fieldsOf(rule)) };
        }),
      );
    })();
    byDay.set(asOf, compiled);
  }
  return compiled;
}

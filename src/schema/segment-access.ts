// Saved segments as resolvers use them: the server's store, definitions checked and resolved for a day
// (services/segment-store.ts), and the store's errors as GraphQL errors with their codes.
import { GraphQLError } from "graphql";
import type { RequestContext } from "../context.ts";
import type { Segment } from "@prisma/client";
import { NotFoundError } from "../input-errors.ts";
import { compilePredicate, type Predicate } from "../lifecycle/rule-predicate.ts";
import { fieldsOf, type Rule } from "../lifecycle/rules.ts";
import { readsRfm } from "../lifecycle/segment-definition.ts";
import { InvalidSegmentError, TooManySegmentsError, type SegmentStore } from "../services/segment-store.ts";
import { asGraphQLError, badUserInput } from "./errors.ts";

/** The segment store of this server (definitions are checked against its stage model). */
export function segmentStore(ctx: RequestContext): SegmentStore {
  return ctx.services.segmentStore;
}

/**
 * A saved segment's failure as the GraphQL error that answers it, naming `argument`: NOT_FOUND,
 * INVALID_SEGMENT (a definition that no longer fits this server), BAD_USER_INPUT; others as asGraphQLError.
 */
export function segmentError(error: unknown, argument: string): unknown {
  if (error instanceof NotFoundError) {
    return new GraphQLError(error.message, { extensions: { code: "NOT_FOUND", argument } });
  }
  if (error instanceof InvalidSegmentError) {
    return new GraphQLError(error.message, { extensions: { code: "INVALID_SEGMENT", argument, issues: error.issues } });
  }
  if (error instanceof TooManySegmentsError) return badUserInput(error.message, { argument });
  return asGraphQLError(error, argument);
}

/** A saved definition still valid for this server (its stage model may have changed since it was saved). */
function checkedDefinition(
  segment: { name: string; definition: unknown },
  ctx: RequestContext,
  argument: string,
): Rule {
  try {
    return segmentStore(ctx).definitionOf(segment);
  } catch (error) {
    throw segmentError(error, argument);
  }
}

/** A saved segment's definition, checked against this server's stage model and RFM map. */
export function storedDefinition(segment: { name: string; definition: unknown }, ctx: RequestContext): Rule {
  return checkedDefinition(segment, ctx, "definition");
}

/** The definition of the saved segment `segmentId` (an argument of that name). */
export async function savedDefinition(segmentId: string, ctx: RequestContext, argument = "segmentId"): Promise<Rule> {
  const segment = await segmentStore(ctx)
    .find(segmentId)
    .catch((error: unknown) => {
      throw segmentError(error, argument);
    });
  return checkedDefinition(segment, ctx, argument);
}

/** The saved segment `segmentId` as a rule for one day: what fields restricted to a segment filter by. */
export async function segmentRuleOn(segmentId: string, day: string, ctx: RequestContext): Promise<Rule> {
  try {
    return (await segmentStore(ctx).ruleOn(segmentId, day)).rule;
  } catch (error) {
    throw segmentError(error, "segmentId");
  }
}

/** A definition resolved for a day (references inlined, relative dates made dates), errors with codes. */
export async function resolvedFor(
  definition: Rule,
  asOf: string,
  ctx: RequestContext,
  argument = "segmentId",
): Promise<Rule> {
  try {
    return await segmentStore(ctx).resolve(definition, asOf);
  } catch (error) {
    throw asGraphQLError(error, argument);
  }
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
          const rule = await resolvedFor(checkedDefinition(segment, ctx, "segments"), asOf, ctx, "segments");
          return { segment, predicate: compilePredicate(rule), readsRfm: readsRfm(fieldsOf(rule)) };
        }),
      );
    })();
    byDay.set(asOf, compiled);
  }
  return compiled;
}

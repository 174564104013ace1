// Segment definitions: the rule language over customer features, plus the customer's stage, RFM
// scores, relative dates ({"daysAgo": n}) and membership of other saved segments ({"segment": id}).
// A definition is validated once (shape, fields, types, size), then resolved for a day into a plain
// rule: references inlined (cycles refused), relative dates turned into dates. The plain rule compiles
// the two usual ways (rule-sql.ts, rule-predicate.ts).
import { InvalidInputError } from "../errors.ts";
import { addDays } from "./calendar.ts";
import type { EventType } from "./features.ts";
import type { FeatureRow } from "./rule-predicate.ts";
import { ruleIssues, type Rule, type RuleIssue, type RuleScope, type ValueExpr } from "./rules.ts";
import type { RfmScore, RfmSegments } from "./rfm.ts";
import type { CompiledStageModel } from "./stage-model.ts";

/** Fields a segment may read besides the features, and the column of each in segment SQL. */
export const SEGMENT_FIELDS = {
  stage: { column: "stage_key", description: "The current stage's key." },
  furthestStage: { column: "furthest_stage_key", description: "The furthest progress stage's key." },
  rfmRecency: { column: "rfm_r", description: "RFM recency score 1–5 (null for prospects)." },
  rfmFrequency: { column: "rfm_f", description: "RFM frequency score 1–5 (null for prospects)." },
  rfmMonetary: { column: "rfm_m", description: "RFM monetary score 1–5 (null for prospects)." },
  rfmSegment: { column: "rfm_segment", description: "Named RFM segment (null for prospects)." },
} as const;

export type SegmentField = keyof typeof SEGMENT_FIELDS;
export const RFM_FIELDS: readonly SegmentField[] = ["rfmRecency", "rfmFrequency", "rfmMonetary", "rfmSegment"];

/** Limits that keep a hostile definition from costing more than a clear error. */
export const DEFINITION_LIMITS = { depth: 12, nodes: 300, stringLength: 200, bytes: 50_000 } as const;

/**
 * Limits on a definition with its references inlined: each saved definition is small, but references
 * multiply (140 references to a segment of 140 references …), so the resolved tree is bounded too.
 */
export const RESOLVED_LIMITS = { depth: 40, nodes: 3_000 } as const;

export function segmentScope(
  model: CompiledStageModel,
  rfm: RfmSegments,
  eventTypes: readonly EventType[] = [],
): RuleScope {
  const stageKeys = model.stages.map((s) => s.key);
  return {
    definitions: true,
    eventTypes: new Set(eventTypes.map((t) => t.key)),
    extraFields: new Map([
      ["stage", { type: "string", values: stageKeys }],
      ["furthestStage", { type: "string", values: stageKeys }],
      ["rfmRecency", { type: "number" }],
      ["rfmFrequency", { type: "number" }],
      ["rfmMonetary", { type: "number" }],
      ["rfmSegment", { type: "string", values: rfm.keys }],
    ]),
  };
}

/** A segment definition that breaks the definition rules (or references a missing or cyclic segment). */
export class DefinitionError extends InvalidInputError {
  override name = "DefinitionError";
  declare readonly issues: readonly RuleIssue[];
  constructor(message: string, issues: readonly RuleIssue[], argument?: string) {
    super(message, { argument, issues });
  }

  override about(argument: string): DefinitionError {
    return new DefinitionError(this.message, this.issues, argument);
  }
}

function sizeIssues(input: unknown): RuleIssue[] {
  let bytes: number;
  try {
    bytes = JSON.stringify(input)?.length ?? 0;
  } catch {
    return [{ path: [], message: "is not JSON" }];
  }
  if (bytes > DEFINITION_LIMITS.bytes) {
    return [{ path: [], message: `is ${bytes} characters of JSON; at most ${DEFINITION_LIMITS.bytes}` }];
  }
  const issues: RuleIssue[] = [];
  let nodes = 0;
  const walk = (v: unknown, path: (string | number)[], depth: number) => {
    if (issues.length > 0) return;
    if (++nodes > DEFINITION_LIMITS.nodes) {
      issues.push({ path: [], message: `has more than ${DEFINITION_LIMITS.nodes} nodes` });
      return;
    }
    if (depth > DEFINITION_LIMITS.depth) {
      issues.push({ path, message: `nests deeper than ${DEFINITION_LIMITS.depth} levels` });
      return;
    }
    if (typeof v === "string" && v.length > DEFINITION_LIMITS.stringLength) {
      issues.push({
        path,
        message: `is a string of ${v.length} characters; at most ${DEFINITION_LIMITS.stringLength}`,
      });
    } else if (typeof v === "string" && v.includes("\u0000")) {
      // PostgreSQL text cannot hold NUL: refused here rather than failing in the warehouse.
      issues.push({ path, message: "must not contain the NUL character" });
    } else if (Array.isArray(v)) v.forEach((x, i) => walk(x, [...path, i], depth + 1));
    else if (typeof v === "object" && v !== null)
      for (const [k, x] of Object.entries(v)) walk(x, [...path, k], depth + 1);
  };
  walk(input, [], 0);
  return issues;
}

/** Every problem of a definition (size, shape, fields, types), each with the path to its node. */
export function checkDefinition(input: unknown, scope: RuleScope): RuleIssue[] {
  const size = sizeIssues(input);
  if (size.length > 0) return size;
  return ruleIssues(input, scope);
}

/** The saved segments a definition refers to directly. */
export function referencedSegments(definition: Rule): Set<string> {
  const out = new Set<string>();
  const visit = (r: Rule) => {
    if ("all" in r) r.all.forEach(visit);
    else if ("any" in r) r.any.forEach(visit);
    else if ("not" in r) visit(r.not);
    else if ("segment" in r) out.add(r.segment);
  };
  visit(definition);
  return out;
}

/**
 * The definition as a plain rule for one day: each {"segment"} replaced by that segment's resolved
 * definition, each {"daysAgo": n} by the date n days before asOf. `lookup` gives saved definitions
 * by id; a missing one or a cycle is a DefinitionError naming the path.
 */
export function resolveDefinition(
  definition: Rule,
  asOf: string,
  lookup: (id: string) => Rule | undefined,
  within: readonly string[] = [],
  budget: { nodes: number } = { nodes: 0 },
  depth = 0,
): Rule {
  const value = (v: ValueExpr): ValueExpr => {
    if (typeof v !== "object") return v;
    if ("daysAgo" in v) return addDays(asOf, -v.daysAgo);
    if ("field" in v) return v;
    const [op, args] = Object.entries(v)[0] as ["max" | "min" | "add" | "mul", readonly ValueExpr[]];
    return { [op]: args.map(value) } as unknown as ValueExpr;
  };
  const visit = (r: Rule, path: (string | number)[], level: number): Rule => {
    // Counted as the tree is built, so an exploding one stops early instead of filling memory.
    if (++budget.nodes > RESOLVED_LIMITS.nodes || level > RESOLVED_LIMITS.depth) {
      throw new DefinitionError("the definition is too large with its references inlined", [
        {
          path,
          message: `with referenced segments inlined it exceeds ${RESOLVED_LIMITS.nodes} nodes or ${RESOLVED_LIMITS.depth} levels`,
        },
      ]);
    }
    if ("all" in r) return { all: r.all.map((x, i) => visit(x, [...path, "all", i], level + 1)) };
    if ("any" in r) return { any: r.any.map((x, i) => visit(x, [...path, "any", i], level + 1)) };
    if ("not" in r) return { not: visit(r.not, [...path, "not"], level + 1) };
    if ("segment" in r) {
      if (within.includes(r.segment)) {
        throw new DefinitionError("segment references form a cycle", [
          { path: [...path, "segment"], message: `refers back to ${[...within, r.segment].join(" → ")}` },
        ]);
      }
      const referenced = lookup(r.segment);
      if (!referenced) {
        throw new DefinitionError("unknown segment", [
          { path: [...path, "segment"], message: `no saved segment ${JSON.stringify(r.segment)}` },
        ]);
      }
      try {
        return resolveDefinition(referenced, asOf, lookup, [...within, r.segment], budget, level + 1);
      } catch (error) {
        // Reported at the reference in this definition, where the user can act on it.
        if (!(error instanceof DefinitionError)) throw error;
        throw new DefinitionError(error.message, [
          { path: [...path, "segment"], message: error.issues.map((i) => i.message).join("; ") },
        ]);
      }
    }
    switch (r.op) {
      case "isNull":
      case "notNull":
      case "in":
        return r;
      case "between":
        return { ...r, value: [value(r.value[0]), value(r.value[1])] };
      default:
        return { ...r, value: value(r.value) };
    }
  };
  return visit(definition, [], depth);
}

/** Whether the rule reads RFM scores (which cost a ranking over all buyers). */
export function readsRfm(fields: ReadonlySet<string>): boolean {
  return RFM_FIELDS.some((f) => fields.has(f));
}

/** A customer's row for the TypeScript predicate: features, stage keys and RFM scores. */
export function segmentRow(
  features: FeatureRow,
  model: CompiledStageModel,
  rfm: RfmScore | null | undefined,
): FeatureRow {
  return {
    ...features,
    stage: model.classify(features).key,
    furthestStage: model.furthest(features).key,
    rfmRecency: rfm?.recency ?? null,
    rfmFrequency: rfm?.frequency ?? null,
    rfmMonetary: rfm?.monetary ?? null,
    rfmSegment: rfm?.segment ?? null,
  };
}

// A customer's exact stage history: on which days their stage (and furthest stage) changed, from their
// first known day to a last day, and the first day after it on which the stage will change if nothing new
// happens. Worked out from their activity days (activity.ts) without classifying every day:
//
// Between two activity days every feature stays fixed except those that grow by one a day (features.ts
// `growsDaily`: recency, tenure, days since an event). A rule's comparison over them is a comparison of
// piecewise-linear functions of the day, so its truth can only change near the days where the two sides
// cross, and those days follow from the rule's constants and the fixed features. The classifier is run
// on the activity days and on those candidate days only. A model that multiplies two growing features
// (a quadratic in the day) defeats this: it is classified day by day for a bounded window after each
// activity day instead, and `StageClock.exact` says so.
import { FeatureAccumulator, type DayActivity } from "./activity.ts";
import { featureSpec, type CustomerFeatures } from "./features.ts";
import type { FeatureRow } from "./rule-predicate.ts";
import type { Rule, ValueExpr } from "./rules.ts";
import type { CompiledStageModel } from "./stage-model.ts";

/** How far ahead of the last activity a change is looked for (100 years: never, in practice). */
export const HORIZON_DAYS = 36_500;

/** Days classified one by one after each activity day when the rules defeat the candidate days. */
export const DEFAULT_DAILY_WINDOW_DAYS = 1_095;

/**
 * A value of a rule as a function of the day, given the features on an activity day: compiled once per
 * stage model into plain nodes, evaluated without making closures (a refresh evaluates them for every
 * customer and every stretch between two activity days).
 */
type DayNode =
  | { readonly kind: "number"; readonly value: number }
  | { readonly kind: "none" }
  | { readonly kind: "field"; readonly field: string; readonly grows: boolean }
  | {
      readonly kind: "op";
      readonly op: "max" | "min" | "add" | "mul";
      readonly args: readonly DayNode[];
      /** Whether the slope can change within a stretch: a max or min over a value that changes with the day. */
      readonly bends: boolean;
    };

function growsDaily(field: string): boolean {
  return featureSpec(field)?.growsDaily === true;
}

/** Whether a value reads a growing feature (so it changes with the day). */
function dependsOnDay(value: ValueExpr): boolean {
  if (typeof value !== "object") return false;
  if ("field" in value) return growsDaily(value.field);
  if ("daysAgo" in value) return false;
  return (Object.values(value)[0] as readonly ValueExpr[]).some(dependsOnDay);
}

/** A product of two values that change with the day: not linear in the day. */
function hasNonLinearTerm(value: ValueExpr): boolean {
  if (typeof value !== "object" || "field" in value || "daysAgo" in value) return false;
  const [op, args] = Object.entries(value)[0] as [string, readonly ValueExpr[]];
  return (op === "mul" && args.filter(dependsOnDay).length > 1) || args.some(hasNonLinearTerm);
}

function dayNode(value: ValueExpr): DayNode {
  if (typeof value === "number") return { kind: "number", value };
  if (typeof value === "string" || "daysAgo" in value) return { kind: "none" };
  if ("field" in value) return { kind: "field", field: value.field, grows: growsDaily(value.field) };
  const [op, args] = Object.entries(value)[0] as ["max" | "min" | "add" | "mul", readonly ValueExpr[]];
  const nodes = args.map(dayNode);
  const bends =
    nodes.some((n) => n.kind === "op" && n.bends) ||
    ((op === "max" || op === "min") && args.length > 1 && args.some(dependsOnDay));
  return { kind: "op", op, args: nodes, bends };
}

/** The value on day t given the features `row` on day `start` (null when a part is null). */
function valueAt(node: DayNode, row: FeatureRow, start: number, t: number): number | null {
  switch (node.kind) {
    case "number":
      return node.value;
    case "none":
      return null;
    case "field": {
      const v = row[node.field];
      if (typeof v !== "number") return null;
      return node.grows ? v + (t - start) : v;
    }
    case "op": {
      let result: number | null = null;
      for (const arg of node.args) {
        const v = valueAt(arg, row, start, t);
        if (v === null) return null;
        if (result === null) result = v;
        else if (node.op === "max") result = Math.max(result, v);
        else if (node.op === "min") result = Math.min(result, v);
        else if (node.op === "add") result += v;
        else result *= v;
      }
      return result;
    }
  }
}

/** Days in (lo, hi) where the node's slope may change (where the arguments of a max or min cross). */
function bendsInto(node: DayNode, row: FeatureRow, start: number, lo: number, hi: number, out: number[]): void {
  if (node.kind !== "op" || !node.bends) return;
  for (const arg of node.args) bendsInto(arg, row, start, lo, hi, out);
  if (node.op === "max" || node.op === "min") {
    for (let i = 0; i < node.args.length; i++)
      for (let j = i + 1; j < node.args.length; j++)
        crossingsInto(node.args[i]!, node.args[j]!, row, start, lo, hi, out);
  }
}

/** Points in (lo, hi) where a − b crosses or touches zero (both linear between their bends), into `out`. */
function crossingsInto(
  a: DayNode,
  b: DayNode,
  row: FeatureRow,
  start: number,
  lo: number,
  hi: number,
  out: number[],
): void {
  let points = [lo, hi];
  if ((a.kind === "op" && a.bends) || (b.kind === "op" && b.bends)) {
    const bends: number[] = [];
    bendsInto(a, row, start, lo, hi, bends);
    bendsInto(b, row, start, lo, hi, bends);
    const inside = bends.filter((x) => x > lo && x < hi);
    points = [lo, ...inside, hi].sort((x, y) => x - y);
    // A bend is a candidate itself: past it a − b may be 0 on a whole piece (x ≥ max(x, c) from x = c on),
    // and a bend computed a hair off makes the piece's first point nonzero, so no crossing is seen there.
    out.push(...inside);
  }
  for (let i = 0; i + 1 < points.length; i++) {
    const p = points[i]!;
    const q = points[i + 1]!;
    if (q <= p) continue;
    const [ap, bp, aq, bq] = [
      valueAt(a, row, start, p),
      valueAt(b, row, start, p),
      valueAt(a, row, start, q),
      valueAt(b, row, start, q),
    ];
    if (ap === null || bp === null || aq === null || bq === null) return;
    const dp = ap - bp;
    const dq = aq - bq;
    if (dp === 0) out.push(p);
    if (dq === 0) out.push(q);
    else if (dp !== 0 && dp < 0 !== dq < 0) out.push(p + ((q - p) * dp) / (dp - dq));
  }
}

/** A comparison of the rules that changes with the day: the field and the values it is compared with. */
interface DayComparison {
  readonly field: DayNode;
  readonly values: readonly DayNode[];
  /** For the warning of a model the candidate days cannot follow. */
  readonly fieldName: string;
  readonly nonLinear: boolean;
}

function dayComparisons(rule: Rule, out: DayComparison[]): void {
  if ("all" in rule) rule.all.forEach((r) => dayComparisons(r, out));
  else if ("any" in rule) rule.any.forEach((r) => dayComparisons(r, out));
  else if ("not" in rule) dayComparisons(rule.not, out);
  else if ("value" in rule) {
    const values: readonly ValueExpr[] = Array.isArray(rule.value) ? rule.value : [rule.value as ValueExpr];
    if (growsDaily(rule.field) || values.some(dependsOnDay)) {
      out.push({
        field: dayNode({ field: rule.field }),
        values: values.map(dayNode),
        fieldName: rule.field,
        nonLinear: values.some(hasNonLinearTerm),
      });
    }
  }
}

/**
 * When a stage model's rules can change their answer on days that bring nothing new: the candidate days
 * between two activity days.
 */
export class StageClock {
  private readonly comparisons: readonly DayComparison[];
  /** false: some rule is not linear in the day, and days are classified one by one (see dailyWindowDays). */
  readonly exact: boolean;
  /** Why the clock is not exact, for the refresh's warning. */
  readonly reason: string | undefined;

  constructor(
    model: CompiledStageModel,
    /** Days classified one by one after each activity day when not exact. */
    readonly dailyWindowDays = DEFAULT_DAILY_WINDOW_DAYS,
  ) {
    const comparisons: DayComparison[] = [];
    for (const stage of model.stages) dayComparisons(stage.rule, comparisons);
    const seen = new Set<string>();
    this.comparisons = comparisons.filter((c) => {
      const key = JSON.stringify(c);
      return !seen.has(key) && seen.add(key);
    });
    const nonLinear = this.comparisons.find((c) => c.nonLinear);
    this.exact = nonLinear === undefined;
    this.reason = nonLinear
      ? `a rule on ${nonLinear.fieldName} multiplies two values that grow with the day; days are classified one by one for ${dailyWindowDays} days after each activity day`
      : undefined;
  }

  /**
   * Days in (start, end), ascending, on which some rule may answer differently than the day before,
   * given the features on day `start` and nothing new before `end`.
   */
  candidateDays(row: FeatureRow, start: number, end: number): number[] {
    if (!this.exact) {
      const last = Math.min(end - 1, start + this.dailyWindowDays);
      return Array.from({ length: Math.max(0, last - start) }, (_, i) => start + 1 + i);
    }
    const crossings: number[] = [];
    for (const { field, values } of this.comparisons)
      for (const value of values) crossingsInto(field, value, row, start, start, end, crossings);
    const days = new Set<number>();
    for (const x of crossings) {
      // The answer changes on the first whole day past a crossing (eq: on it and the day after);
      // a day either side covers rounding in the crossing's arithmetic.
      const floor = Math.floor(x);
      for (let t = floor - 1; t <= floor + 2; t++) if (t > start && t < end) days.add(t);
    }
    return [...days].sort((a, b) => a - b);
  }
}

/** A stretch of days [from, to) with one stage and one furthest stage (indexes in display order). */
export interface StageSpell {
  readonly stage: number;
  readonly furthest: number;
  readonly from: number;
  /** The first day of the next spell; null: still open on the last day. */
  readonly to: number | null;
  /** The day the customer entered `stage` (this spell's or an earlier one's `from`). */
  readonly stageSince: number;
}

export interface CustomerHistory {
  readonly customerId: string;
  readonly spells: readonly StageSpell[];
  /** The features on the last day. */
  readonly features: CustomerFeatures;
  /** The first day after the last day on which stage or furthest stage changes without new activity. */
  readonly nextChangeDay: number | null;
}

/**
 * A customer's stage history from their first known day through `lastDay`, from their activity days
 * (ascending; days after `lastDay` are the caller's to leave out). Null when nothing made them known.
 */
export function customerHistory(
  model: CompiledStageModel,
  clock: StageClock,
  accumulator: FeatureAccumulator,
  customerId: string,
  days: readonly DayActivity[],
  lastDay: number,
): CustomerHistory | null {
  accumulator.reset(customerId);
  const spells = new SpellBuilder(model);
  // Until the next activity day only the growing features change, and the accumulator gives the
  // features of any day from its last one on: candidate days are classified on their own features.
  const featuresOn = (t: number) => accumulator.ruleFeaturesOn(t);
  for (let i = 0; i < days.length; i++) {
    const day = days[i]!.day;
    accumulator.apply(days[i]!);
    if (!accumulator.known) continue;
    const end = i + 1 < days.length ? days[i + 1]!.day : lastDay + 1;
    const row = featuresOn(day);
    spells.classifyOn(day, row);
    // A stretch of one day has no day in between.
    if (end - day <= 1) continue;
    for (const t of clock.candidateDays(row, day, end)) spells.classifyOn(t, featuresOn(t));
  }
  if (!spells.open) return null;
  const since = accumulator.lastDay!;
  const nextChangeDay = nextChange(model, clock, spells.open, featuresOn(since), since, lastDay, featuresOn);
  return { customerId, spells: spells.closed(), features: accumulator.featuresOn(lastDay), nextChangeDay };
}

/**
 * A customer's history carried on from `fromDay` to `lastDay` when nothing new happened after `fromDay`
 * (their last activity was on or before it), from their spells through `fromDay` (the last one open)
 * and their features on `fromDay`: only the growing features change, by a day a day, so the open spell
 * runs to the first candidate day whose stages differ, and so on — the history customerHistory gives
 * from all their activity through `lastDay`, without reading it. An incremental refresh carries on the
 * customers whose next change day has come this way. Needs an exact clock: an inexact one classifies a
 * window of days after each activity day, which only the activity tells.
 */
export function extendedHistory(
  model: CompiledStageModel,
  clock: StageClock,
  customerId: string,
  spells: readonly StageSpell[],
  features: CustomerFeatures,
  fromDay: number,
  lastDay: number,
): CustomerHistory {
  if (!clock.exact) throw new Error("a history is carried on only with an exact clock");
  const last = spells[spells.length - 1];
  if (!last || last.to !== null) throw new Error(`the stored history of ${customerId} has no open spell`);
  const growingFields = Object.keys(features).filter(growsDaily);
  const on = (t: number): CustomerFeatures => {
    const row = { ...features } as Record<string, unknown>;
    for (const field of growingFields) {
      const base = row[field];
      if (typeof base === "number") row[field] = base + (t - fromDay);
    }
    return row as unknown as CustomerFeatures;
  };
  const builder = new SpellBuilder(model, spells.slice(0, -1), last);
  for (const t of clock.candidateDays(features, fromDay, lastDay + 1)) builder.classifyOn(t, on(t));
  const open = builder.open!;
  return {
    customerId,
    spells: builder.closed(),
    features: on(lastDay),
    nextChangeDay: nextChange(model, clock, open, features, fromDay, lastDay, on),
  };
}

/** The spells of one customer as the days are classified in order: a new one whenever a stage changes. */
class SpellBuilder {
  private readonly spells: StageSpell[];

  constructor(
    private readonly model: CompiledStageModel,
    before: readonly StageSpell[] = [],
    public open: Omit<StageSpell, "to"> | null = null,
  ) {
    this.spells = [...before];
  }

  classifyOn(t: number, row: FeatureRow): void {
    const stage = this.model.stageIndexOf(row);
    const furthest = this.model.furthestIndexOf(row);
    const open = this.open;
    if (open && open.stage === stage && open.furthest === furthest) return;
    if (open) this.spells.push({ ...open, to: t });
    this.open = { stage, furthest, from: t, stageSince: open && open.stage === stage ? open.stageSince : t };
  }

  /** Every spell, the open one last (still open); asked once some day has been classified. */
  closed(): StageSpell[] {
    if (!this.open) throw new Error("no day classified yet");
    return [...this.spells, { ...this.open, to: null }];
  }
}

/**
 * The first candidate day after `lastDay` whose stages differ from the open spell's, given the features
 * on `since` (the last activity day, or a day after it) and nothing new after it; null within the horizon.
 */
function nextChange(
  model: CompiledStageModel,
  clock: StageClock,
  open: { stage: number; furthest: number },
  sinceRow: FeatureRow,
  since: number,
  lastDay: number,
  featuresOn: (t: number) => FeatureRow,
): number | null {
  for (const t of clock.candidateDays(sinceRow, since, since + HORIZON_DAYS)) {
    if (t <= lastDay) continue;
    const row = featuresOn(t);
    if (model.stageIndexOf(row) !== open.stage || model.furthestIndexOf(row) !== open.furthest) return t;
  }
  return null;
}

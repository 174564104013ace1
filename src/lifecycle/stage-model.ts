// The stage model: lifecycle stages (display order, recommended actions) and the rules, evaluated in
// their own order, that put every customer in exactly one stage. The default follows the CLM literature:
// reach → acquisition → develop and nurture → retention → loyalty/advocacy, plus lapse states for win-back.
import { z } from "zod";
import { integer, join, sql, type Sql } from "../sql/sql.ts";
import { compileFirstMatch, type FeatureRow } from "./rule-predicate.ts";
import { compileRuleSql, type RuleSqlContext } from "./rule-sql.ts";
import { checkRule, fieldsOf, ruleSchema, type Rule, type RuleScope } from "./rules.ts";

export interface Stage {
  readonly key: string;
  readonly name: string;
  readonly description: string;
  /** Position in the lifecycle, for display (1 = first). */
  readonly order: number;
  /** progress: a step forward in the relationship; lapse: a state to win customers back from. */
  readonly kind: "progress" | "lapse";
  readonly recommendedActions: readonly string[];
  readonly rule: Rule;
}

export interface StageModel {
  readonly stages: readonly Stage[];
  /** Stage keys in the order their rules are tried; the first match wins. */
  readonly evaluationOrder: readonly string[];
  /** The stage of a customer no rule matches. */
  readonly fallback: string;
}

export const thresholdsSchema = z
  .object({
    churnDays: z.number().int().positive().default(365),
    atRiskMinDays: z.number().int().positive().default(60),
    atRiskGapMultiple: z.number().positive().default(3),
    loyalPurchaseDays: z.number().int().min(3).default(4),
    newMaxDays: z.number().int().positive().default(30),
  })
  .strict();

export type StageThresholds = z.output<typeof thresholdsSchema>;

/**
 * The lapse rules after a purchase, shared by the presets: at risk once the time since the last purchase
 * passes max(a floor, a multiple of the customer's own mean gap), churned after a fixed number of days.
 */
export function purchaseLapseRules(t: {
  readonly atRiskMinDays: number;
  readonly atRiskGapMultiple: number;
  readonly churnDays: number;
}): { atRisk: Rule; churned: Rule } {
  return {
    atRisk: {
      field: "recencyDays",
      op: "gt",
      value: { max: [t.atRiskMinDays, { mul: [t.atRiskGapMultiple, { field: "meanGapDays" }] }] },
    },
    churned: { field: "recencyDays", op: "gt", value: t.churnDays },
  };
}

export function defaultStageModel(input: Partial<StageThresholds> = {}): StageModel {
  const t = thresholdsSchema.parse(input);
  const lapse = purchaseLapseRules(t);
  const purchaseDays = (op: "eq" | "gte", value: number): Rule => ({ field: "purchaseDays", op, value });
  const stages: Stage[] = [
    {
      key: "prospect",
      name: "Prospect",
      order: 1,
      kind: "progress",
      description: "Known (signed up, a lead, or seen in events) but has not bought yet.",
      recommendedActions: [
        "Nurture with a welcome series and useful content",
        "Offer a first-purchase incentive",
        "Retarget recent visitors",
      ],
      rule: purchaseDays("eq", 0),
    },
    {
      key: "new",
      name: "New customer",
      order: 2,
      kind: "progress",
      description: `One purchase day, at most ${t.newMaxDays} days ago.`,
      recommendedActions: [
        "Onboard: delivery follow-up and how-to content",
        "Invite a second purchase while the first is fresh",
        "Ask for first feedback",
      ],
      rule: { all: [purchaseDays("eq", 1), { field: "recencyDays", op: "lte", value: t.newMaxDays }] },
    },
    {
      key: "developing",
      name: "Developing",
      order: 3,
      kind: "progress",
      description: `One purchase day, more than ${t.newMaxDays} days ago: the second purchase has not come yet.`,
      recommendedActions: [
        "Personalised recommendations and cross-sell",
        "A reminder timed to the typical repurchase cycle",
        "A second-purchase incentive",
      ],
      rule: purchaseDays("eq", 1),
    },
    {
      key: "retained",
      name: "Retained",
      order: 4,
      kind: "progress",
      description: `Bought on two or more days (fewer than ${t.loyalPurchaseDays}).`,
      recommendedActions: ["Invite to the loyalty programme", "Bundles and replenishment offers", "Engagement content"],
      rule: purchaseDays("gte", 2),
    },
    {
      key: "loyal",
      name: "Loyal",
      order: 5,
      kind: "progress",
      description: `Bought on ${t.loyalPurchaseDays} or more days.`,
      recommendedActions: ["VIP perks and early access", "Ask for reviews", "Invite to refer friends"],
      rule: purchaseDays("gte", t.loyalPurchaseDays),
    },
    {
      key: "advocate",
      name: "Advocate",
      order: 6,
      kind: "progress",
      description: "A repeat buyer (two or more purchase days) who has referred at least one customer.",
      recommendedActions: ["Reward referrals", "Ambassador and community programmes", "Co-create products and content"],
      rule: { all: [purchaseDays("gte", 2), { field: "referredCount", op: "gte", value: 1 }] },
    },
    {
      key: "at_risk",
      name: "At risk",
      order: 7,
      kind: "lapse",
      description: `No purchase for longer than max(${t.atRiskMinDays}, ${t.atRiskGapMultiple} × their mean gap between purchase days) days.`,
      recommendedActions: [
        "Win-back offer timed to their own purchase cycle",
        "Ask why (short survey)",
        "Check service issues on their last orders",
      ],
      rule: lapse.atRisk,
    },
    {
      key: "churned",
      name: "Churned",
      order: 8,
      kind: "lapse",
      description: `No purchase for more than ${t.churnDays} days.`,
      recommendedActions: [
        "Reactivation campaign with a strong last-chance offer",
        "Move to low-cost channels; suppress from paid retargeting",
      ],
      rule: lapse.churned,
    },
  ];
  return {
    stages,
    evaluationOrder: ["prospect", "churned", "at_risk", "advocate", "loyal", "retained", "new", "developing"],
    fallback: "prospect",
  };
}

const stageSchema = z
  .object({
    key: z.string().regex(/^[a-z][a-z0-9_]{0,39}$/, "must be lower-case letters, digits and _ (at most 40)"),
    name: z.string().min(1),
    description: z.string().default(""),
    order: z.number().int(),
    kind: z.enum(["progress", "lapse"]),
    recommendedActions: z.array(z.string().min(1)).default([]),
    rule: ruleSchema,
  })
  .strict();

/** A whole stage model of one's own in CLM_CONFIG: `{ stages, evaluationOrder, fallback }`. */
export const customModelSchema = z
  .object({
    stages: z.array(stageSchema).min(1),
    evaluationOrder: z.array(z.string()),
    fallback: z.string(),
  })
  .strict();

export interface StageModelIssue {
  readonly path: (string | number)[];
  readonly message: string;
}

/**
 * Everything a parsed model must also satisfy: unique keys and orders, a complete evaluation order, valid
 * rules (reading only the features of the fixed catalog and of the event types in `scope`).
 */
export function checkStageModel(model: StageModel, scope: RuleScope = {}): StageModelIssue[] {
  const issues: StageModelIssue[] = [];
  const keys = new Map<string, number>();
  model.stages.forEach((stage, i) => {
    if (keys.has(stage.key))
      issues.push({ path: ["stages", i, "key"], message: `duplicate stage key ${JSON.stringify(stage.key)}` });
    keys.set(stage.key, i);
    if (model.stages.findIndex((s) => s.order === stage.order) !== i) {
      issues.push({ path: ["stages", i, "order"], message: `duplicate display order ${stage.order}` });
    }
    for (const issue of checkRule(stage.rule, scope))
      issues.push({ path: ["stages", i, "rule", ...issue.path], message: issue.message });
  });
  model.evaluationOrder.forEach((key, i) => {
    if (!keys.has(key)) issues.push({ path: ["evaluationOrder", i], message: `unknown stage ${JSON.stringify(key)}` });
    if (model.evaluationOrder.indexOf(key) !== i)
      issues.push({ path: ["evaluationOrder", i], message: `${key} listed twice` });
  });
  for (const key of keys.keys()) {
    if (!model.evaluationOrder.includes(key))
      issues.push({ path: ["evaluationOrder"], message: `stage ${key} is missing` });
  }
  if (!keys.has(model.fallback))
    issues.push({ path: ["fallback"], message: `unknown stage ${JSON.stringify(model.fallback)}` });
  return issues;
}

/**
 * A model ready to classify: stages by display order, the rules compiled once. `index` numbers the
 * stages by display order (0-based); SQL returns these numbers and TypeScript maps them back.
 */
export class CompiledStageModel {
  readonly stages: readonly Stage[];
  private readonly byKey: ReadonlyMap<string, number>;
  private readonly ordered: readonly { index: number; lapse: boolean; rule: Rule }[];
  private readonly fallbackIndex: number;
  /** The rules in evaluation order as one function each (see rule-predicate.ts): row → display index. */
  private readonly currentIndex: (row: FeatureRow) => number;
  private readonly furthestIndex: (row: FeatureRow) => number;

  constructor(readonly model: StageModel) {
    this.stages = [...model.stages].sort((a, b) => a.order - b.order);
    this.byKey = new Map(this.stages.map((s, i) => [s.key, i]));
    this.ordered = model.evaluationOrder.map((key) => {
      const index = this.byKey.get(key)!;
      const stage = this.stages[index]!;
      return { index, lapse: stage.kind === "lapse", rule: stage.rule };
    });
    this.fallbackIndex = this.byKey.get(model.fallback)!;
    const firstMatch = (entries: typeof this.ordered) =>
      compileFirstMatch(
        entries.map((e) => ({ rule: e.rule, result: e.index })),
        this.fallbackIndex,
      );
    this.currentIndex = firstMatch(this.ordered);
    this.furthestIndex = firstMatch(this.ordered.filter((e) => !e.lapse));
  }

  indexOf(key: string): number | undefined {
    return this.byKey.get(key);
  }

  /** The current stage: the first rule in evaluation order that matches. */
  classify(features: FeatureRow): Stage {
    return this.stages[this.currentIndex(features)]!;
  }

  /**
   * The furthest stage reached: the first matching rule when lapse stages are skipped. Progress rules
   * read cumulative features (purchase days, referrals), so a lapsed loyal customer stays loyal here.
   */
  furthest(features: FeatureRow): Stage {
    return this.stages[this.furthestIndex(features)]!;
  }

  /** classify's stage as its display index (what the state store keeps). */
  stageIndexOf(features: FeatureRow): number {
    return this.currentIndex(features);
  }

  /** furthest's stage as its display index. */
  furthestIndexOf(features: FeatureRow): number {
    return this.furthestIndex(features);
  }

  /** The features the stage rules read (what a query must compute to classify). */
  fieldsRead(): Set<string> {
    return new Set(this.ordered.flatMap((e) => [...fieldsOf(e.rule)]));
  }

  /** SQL giving the current stage's index, over the feature columns `ctx` names. */
  stageIndexSql(ctx: RuleSqlContext, options: { skipLapse?: boolean } = {}): Sql {
    const entries = this.ordered.filter((e) => !(options.skipLapse && e.lapse));
    const whens = entries.map((e) => sql` WHEN ${compileRuleSql(e.rule, ctx)} THEN ${integer(e.index)}`);
    return sql`CASE${join(whens, "")} ELSE ${integer(this.fallbackIndex)} END`;
  }
}

// The sales-funnel preset: the stages the CLM literature puts before the first purchase, told apart by
// events, then the purchase and what follows it. Attraction (known: a visit, an ad click, a cold call),
// interest (the person answers: a lead form, a newsletter sign-up, a call), evaluation (a quote or demo
// requested, or interest shown long enough ago that they are deciding), then first purchase → repeat →
// loyal. Lapse stages on both sides: a cold lead (interest shown, then silence), at risk and churned.
// Service and B2B businesses live in the part before the purchase; ecommerce's default model has one
// stage for all of it (prospect).
import { z } from "zod";
import { eventFeatureField, type EventType } from "./features.ts";
import type { Rule } from "./rules.ts";
import { purchaseLapseRules, type Stage, type StageModel } from "./stage-model.ts";

export const salesFunnelThresholdsSchema = z
  .object({
    /** Interest shown this many days ago (or more), without a purchase, counts as evaluation. */
    evaluationAfterDays: z.number().int().positive().default(14),
    /** A lead with no event of any configured type for longer than this has gone cold. */
    coldLeadDays: z.number().int().positive().default(60),
    churnDays: z.number().int().positive().default(365),
    atRiskMinDays: z.number().int().positive().default(60),
    atRiskGapMultiple: z.number().positive().default(3),
    loyalPurchaseDays: z.number().int().min(3).default(4),
  })
  .strict();

export type SalesFunnelThresholds = z.output<typeof salesFunnelThresholdsSchema>;

export interface SalesFunnelOptions {
  /** Every event type configured (events.types): a lead is cold when none of them happened lately. */
  readonly eventTypes: readonly EventType[];
  /** Types that show interest (a lead form, a sign-up, a call). */
  readonly interestEvents: readonly string[];
  /** Types that show evaluation (a quote or demo requested). */
  readonly evaluationEvents: readonly string[];
  readonly thresholds?: Partial<SalesFunnelThresholds>;
}

/** The default names of the interest and evaluation types (the README's example events.types). */
export const DEFAULT_INTEREST_EVENTS = ["lead", "subscribe"] as const;
export const DEFAULT_EVALUATION_EVENTS = ["quote_request"] as const;

/** `any` over the rules, or the rule itself when there is one (a one-armed any reads worse in a segment). */
function anyOf(rules: readonly Rule[]): Rule {
  return rules.length === 1 ? rules[0]! : { any: [...rules] };
}

export function salesFunnelStageModel(options: SalesFunnelOptions): StageModel {
  const t = salesFunnelThresholdsSchema.parse(options.thresholds ?? {});
  const lapse = purchaseLapseRules(t);
  const purchaseDays = (op: "eq" | "gte", value: number): Rule => ({ field: "purchaseDays", op, value });
  const noPurchase = purchaseDays("eq", 0);
  const happened = (types: readonly string[]): Rule[] =>
    types.map((type) => ({ field: eventFeatureField(type, "count"), op: "gte", value: 1 }));
  const interestShown = anyOf(happened(options.interestEvents));
  const interestedLongAgo = anyOf(
    options.interestEvents.map((type) => ({
      field: eventFeatureField(type, "daysSinceFirst"),
      op: "gte",
      value: t.evaluationAfterDays,
    })),
  );
  const evaluating = anyOf([...happened(options.evaluationEvents), interestedLongAgo]);
  const engaged = anyOf(happened([...options.interestEvents, ...options.evaluationEvents]));
  // "None lately": no configured type's latest event within coldLeadDays. A comparison with a null
  // (a type that never happened) is false, so the negation of "recent" holds for it.
  const silent: Rule = {
    all: options.eventTypes.map((type) => ({
      not: { field: eventFeatureField(type.key, "daysSinceLast"), op: "lte", value: t.coldLeadDays },
    })),
  };
  const stages: Stage[] = [
    {
      key: "attraction",
      name: "Attraction",
      order: 1,
      kind: "progress",
      description: "Known (a visit, an ad, a first contact) but has shown no interest yet, and has not bought.",
      recommendedActions: [
        "Make the offer easy to find: content, search, social proof",
        "Retarget visitors with a reason to leave their contact",
        "Invite to a newsletter or a free resource",
      ],
      rule: noPurchase,
    },
    {
      key: "interest",
      name: "Interest",
      order: 2,
      kind: "progress",
      description: `Showed interest (${options.interestEvents.join(", ")}) in the last ${t.evaluationAfterDays} days, no purchase yet.`,
      recommendedActions: [
        "Answer fast: a call back or a personal reply",
        "A nurture series with cases and answers to common questions",
        "Qualify: budget, need, timing",
      ],
      rule: { all: [noPurchase, interestShown] },
    },
    {
      key: "evaluation",
      name: "Evaluation",
      order: 3,
      kind: "progress",
      description:
        options.evaluationEvents.length > 0
          ? `Asked for ${options.evaluationEvents.join(", ")}, or showed interest ${t.evaluationAfterDays} or more days ago: comparing and deciding.`
          : `Showed interest ${t.evaluationAfterDays} or more days ago: comparing and deciding.`,
      recommendedActions: [
        "A tailored quote or demo, and a follow-up call",
        "Comparisons, references and guarantees that remove risk",
        "A time-limited first-order offer",
      ],
      rule: { all: [noPurchase, evaluating] },
    },
    {
      key: "first_purchase",
      name: "First purchase",
      order: 4,
      kind: "progress",
      description: "Bought on one day.",
      recommendedActions: [
        "Onboard: delivery follow-up and how-to content",
        "Ask for first feedback",
        "Invite a second purchase at the typical repurchase time",
      ],
      rule: purchaseDays("eq", 1),
    },
    {
      key: "repeat",
      name: "Repeat customer",
      order: 5,
      kind: "progress",
      description: `Bought on two or more days (fewer than ${t.loyalPurchaseDays}).`,
      recommendedActions: ["Cross-sell and service plans", "Account reviews", "Invite to the loyalty programme"],
      rule: purchaseDays("gte", 2),
    },
    {
      key: "loyal",
      name: "Loyal",
      order: 6,
      kind: "progress",
      description: `Bought on ${t.loyalPurchaseDays} or more days.`,
      recommendedActions: ["Priority service and early access", "Ask for references and reviews", "Referral rewards"],
      rule: purchaseDays("gte", t.loyalPurchaseDays),
    },
    {
      key: "cold_lead",
      name: "Cold lead",
      order: 7,
      kind: "lapse",
      description: `Showed interest, never bought, and no event for more than ${t.coldLeadDays} days.`,
      recommendedActions: [
        "A re-engagement message with something new",
        "Ask whether the need is still there",
        "Move to a low-cost nurture track",
      ],
      rule: { all: [noPurchase, engaged, silent] },
    },
    {
      key: "at_risk",
      name: "At risk",
      order: 8,
      kind: "lapse",
      description: `No purchase for longer than max(${t.atRiskMinDays}, ${t.atRiskGapMultiple} × their mean gap between purchase days) days.`,
      recommendedActions: [
        "A win-back offer timed to their own cycle",
        "Ask why (short survey)",
        "Check service issues",
      ],
      rule: lapse.atRisk,
    },
    {
      key: "churned",
      name: "Churned",
      order: 9,
      kind: "lapse",
      description: `No purchase for more than ${t.churnDays} days.`,
      recommendedActions: ["A reactivation campaign with a last-chance offer", "Move to low-cost channels"],
      rule: lapse.churned,
    },
  ];
  return {
    stages,
    evaluationOrder: [
      "churned",
      "at_risk",
      "loyal",
      "repeat",
      "first_purchase",
      "cold_lead",
      "evaluation",
      "interest",
      "attraction",
    ],
    fallback: "attraction",
  };
}

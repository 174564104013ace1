// The sales-funnel preset's rules on feature rows written by hand, one threshold edge at a time (the
// warehouse computes the same rows from a hand-built shop in test/sql/sales-funnel.spec.ts). Pure: the
// rules compiled to TypeScript, their display order, lapse kinds and descriptions.
import { describe, expect, it } from "vitest";
import { eventFeatureField } from "../../src/lifecycle/features.ts";
import { salesFunnelStageModel } from "../../src/lifecycle/sales-funnel.ts";
import { checkStageModel, CompiledStageModel } from "../../src/lifecycle/stage-model.ts";

const EVENT_TYPES = ["visit", "lead", "subscribe", "quote_request"].map((key) => ({ key, values: [key] }));
const model = (thresholds = {}, interestEvents = ["lead", "subscribe"], evaluationEvents = ["quote_request"]) =>
  new CompiledStageModel(
    salesFunnelStageModel({ eventTypes: EVENT_TYPES, interestEvents, evaluationEvents, thresholds }),
  );

/** A person's features: no purchase unless given, no events but those given (day counts since first/last). */
function person(
  events: Record<string, { first: number; last?: number }> = {},
  purchase?: { days: number; recency: number; meanGap: number },
): Record<string, unknown> {
  const row: Record<string, unknown> = {
    purchaseDays: purchase?.days ?? 0,
    recencyDays: purchase?.recency ?? null,
    meanGapDays: purchase ? purchase.meanGap : null,
  };
  for (const { key } of EVENT_TYPES) {
    const e = events[key];
    row[eventFeatureField(key, "count")] = e ? 1 : 0;
    row[eventFeatureField(key, "daysSinceFirst")] = e ? e.first : null;
    row[eventFeatureField(key, "daysSinceLast")] = e ? (e.last ?? e.first) : null;
  }
  return row;
}

describe("the sales-funnel preset", () => {
  const stage = (row: Record<string, unknown>, m = model()) => m.classify(row).key;
  const furthest = (row: Record<string, unknown>, m = model()) => m.furthest(row).key;

  it("is a valid model: stages in display order, lapse stages marked, attraction the fallback", () => {
    const m = model();
    expect(checkStageModel(m.model, { eventTypes: new Set(EVENT_TYPES.map((t) => t.key)) })).toEqual([]);
    expect(m.stages.map((s) => [s.key, s.kind])).toEqual([
      ["attraction", "progress"],
      ["interest", "progress"],
      ["evaluation", "progress"],
      ["first_purchase", "progress"],
      ["repeat", "progress"],
      ["loyal", "progress"],
      ["cold_lead", "lapse"],
      ["at_risk", "lapse"],
      ["churned", "lapse"],
    ]);
    expect(m.model.fallback).toBe("attraction");
    for (const s of m.stages) expect(s.recommendedActions.length, s.key).toBeGreaterThanOrEqual(2);
  });

  it("tells the pre-purchase stages apart by interest, evaluation and the days since", () => {
    expect(stage(person())).toBe("attraction");
    expect(stage(person({ visit: { first: 3 } }))).toBe("attraction");
    expect(stage(person({ lead: { first: 13 } }))).toBe("interest");
    expect(stage(person({ subscribe: { first: 0 } }))).toBe("interest");
    expect(stage(person({ lead: { first: 14 } }))).toBe("evaluation");
    expect(stage(person({ subscribe: { first: 14 } }))).toBe("evaluation");
    expect(stage(person({ quote_request: { first: 0 } }))).toBe("evaluation");
    // An evaluation event alone, without an interest event, is still evaluation.
    expect(stage(person({ visit: { first: 100 }, quote_request: { first: 2 } }))).toBe("evaluation");
  });

  it("lets a lead go cold after more than coldLeadDays without an event of any configured type", () => {
    expect(stage(person({ lead: { first: 60 } }))).toBe("evaluation");
    expect(stage(person({ lead: { first: 61 } }))).toBe("cold_lead");
    expect(furthest(person({ lead: { first: 61 } }))).toBe("evaluation");
    expect(stage(person({ quote_request: { first: 61 } }))).toBe("cold_lead");
    // A visit 60 days ago keeps a lead from 200 days ago warm; 61 days does not.
    expect(stage(person({ lead: { first: 200 }, visit: { first: 300, last: 60 } }))).toBe("evaluation");
    expect(stage(person({ lead: { first: 200 }, visit: { first: 300, last: 61 } }))).toBe("cold_lead");
    // Silence alone is not cold: someone who never showed interest stays in attraction.
    expect(stage(person({ visit: { first: 400 } }))).toBe("attraction");
  });

  it("places buyers by purchase days and lapse, whatever their events", () => {
    const lead = { lead: { first: 90 } };
    expect(stage(person(lead, { days: 1, recency: 60, meanGap: 0 }))).toBe("first_purchase");
    expect(stage(person(lead, { days: 1, recency: 61, meanGap: 0 }))).toBe("at_risk");
    expect(furthest(person(lead, { days: 1, recency: 61, meanGap: 0 }))).toBe("first_purchase");
    expect(stage(person({}, { days: 2, recency: 300, meanGap: 100 }))).toBe("repeat");
    expect(stage(person({}, { days: 2, recency: 301, meanGap: 100 }))).toBe("at_risk");
    expect(stage(person({}, { days: 3, recency: 10, meanGap: 20 }))).toBe("repeat");
    expect(stage(person({}, { days: 4, recency: 10, meanGap: 20 }))).toBe("loyal");
    expect(stage(person({}, { days: 4, recency: 365, meanGap: 200 }))).toBe("loyal");
    expect(stage(person({}, { days: 4, recency: 366, meanGap: 200 }))).toBe("churned");
    expect(furthest(person({}, { days: 4, recency: 366, meanGap: 200 }))).toBe("loyal");
  });

  it("moves each edge with its threshold", () => {
    const m = model({
      evaluationAfterDays: 7,
      coldLeadDays: 30,
      churnDays: 100,
      atRiskMinDays: 20,
      atRiskGapMultiple: 2,
      loyalPurchaseDays: 6,
    });
    expect(stage(person({ lead: { first: 6 } }), m)).toBe("interest");
    expect(stage(person({ lead: { first: 7 } }), m)).toBe("evaluation");
    expect(stage(person({ lead: { first: 30 } }), m)).toBe("evaluation");
    expect(stage(person({ lead: { first: 31 } }), m)).toBe("cold_lead");
    expect(stage(person({}, { days: 1, recency: 20, meanGap: 0 }), m)).toBe("first_purchase");
    expect(stage(person({}, { days: 1, recency: 21, meanGap: 0 }), m)).toBe("at_risk");
    expect(stage(person({}, { days: 2, recency: 30, meanGap: 15 }), m)).toBe("repeat");
    expect(stage(person({}, { days: 2, recency: 31, meanGap: 15 }), m)).toBe("at_risk");
    expect(stage(person({}, { days: 5, recency: 1, meanGap: 1 }), m)).toBe("repeat");
    expect(stage(person({}, { days: 6, recency: 1, meanGap: 1 }), m)).toBe("loyal");
    expect(stage(person({}, { days: 6, recency: 101, meanGap: 60 }), m)).toBe("churned");
    expect(m.stages.find((s) => s.key === "cold_lead")!.description).toContain("more than 30 days");
    expect(m.stages.find((s) => s.key === "interest")!.description).toContain("last 7 days");
  });

  it("reads only the interest and evaluation types it is given", () => {
    const m = model({}, ["subscribe"], []);
    expect(stage(person({ lead: { first: 1 } }), m)).toBe("attraction");
    expect(stage(person({ quote_request: { first: 1 } }), m)).toBe("attraction");
    expect(stage(person({ subscribe: { first: 1 } }), m)).toBe("interest");
    expect(stage(person({ subscribe: { first: 14 } }), m)).toBe("evaluation");
    expect(m.stages.find((s) => s.key === "evaluation")!.description).toBe(
      "Showed interest 14 or more days ago: comparing and deciding.",
    );
    expect(
      model({}, ["lead"], ["quote_request", "subscribe"]).stages.find((s) => s.key === "evaluation")!.description,
    ).toBe("Asked for quote_request, subscribe, or showed interest 14 or more days ago: comparing and deciding.");
  });

  it("shows each stage's name, description and recommended actions as written here (the API's text)", () => {
    expect(model().stages.map((s) => [s.key, s.name, s.description, s.recommendedActions])).toEqual([
      [
        "attraction",
        "Attraction",
        "Known (a visit, an ad, a first contact) but has shown no interest yet, and has not bought.",
        [
          "Make the offer easy to find: content, search, social proof",
          "Retarget visitors with a reason to leave their contact",
          "Invite to a newsletter or a free resource",
        ],
      ],
      [
        "interest",
        "Interest",
        "Showed interest (lead, subscribe) in the last 14 days, no purchase yet.",
        [
          "Answer fast: a call back or a personal reply",
          "A nurture series with cases and answers to common questions",
          "Qualify: budget, need, timing",
        ],
      ],
      [
        "evaluation",
        "Evaluation",
        "Asked for quote_request, or showed interest 14 or more days ago: comparing and deciding.",
        [
          "A tailored quote or demo, and a follow-up call",
          "Comparisons, references and guarantees that remove risk",
          "A time-limited first-order offer",
        ],
      ],
      [
        "first_purchase",
        "First purchase",
        "Bought on one day.",
        [
          "Onboard: delivery follow-up and how-to content",
          "Ask for first feedback",
          "Invite a second purchase at the typical repurchase time",
        ],
      ],
      [
        "repeat",
        "Repeat customer",
        "Bought on two or more days (fewer than 4).",
        ["Cross-sell and service plans", "Account reviews", "Invite to the loyalty programme"],
      ],
      [
        "loyal",
        "Loyal",
        "Bought on 4 or more days.",
        ["Priority service and early access", "Ask for references and reviews", "Referral rewards"],
      ],
      [
        "cold_lead",
        "Cold lead",
        "Showed interest, never bought, and no event for more than 60 days.",
        [
          "A re-engagement message with something new",
          "Ask whether the need is still there",
          "Move to a low-cost nurture track",
        ],
      ],
      [
        "at_risk",
        "At risk",
        "No purchase for longer than max(60, 3 × their mean gap between purchase days) days.",
        ["A win-back offer timed to their own cycle", "Ask why (short survey)", "Check service issues"],
      ],
      [
        "churned",
        "Churned",
        "No purchase for more than 365 days.",
        ["A reactivation campaign with a last-chance offer", "Move to low-cost channels"],
      ],
    ]);
  });

  it("writes one interest type as a plain comparison, several as any (segments show these rules)", () => {
    const rule = (m: CompiledStageModel, key: string) => m.stages.find((s) => s.key === key)!.rule;
    const noPurchase = { field: "purchaseDays", op: "eq", value: 0 };
    expect(rule(model({}, ["subscribe"], []), "interest")).toEqual({
      all: [noPurchase, { field: "events.subscribe.count", op: "gte", value: 1 }],
    });
    expect(rule(model(), "interest")).toEqual({
      all: [
        noPurchase,
        {
          any: [
            { field: "events.lead.count", op: "gte", value: 1 },
            { field: "events.subscribe.count", op: "gte", value: 1 },
          ],
        },
      ],
    });
  });
});

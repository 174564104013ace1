// The default stage model's edges, pinned by hand from its documented thresholds (churn after 365 days
// without a purchase, at risk after max(60, 3 × mean gap) days, new for 30 days, loyal from 4 purchase
// days, advocate from one referral): for each rule a customer on the edge day and one day either side.
// The expected stages are written out, not derived from the model, so a moved threshold fails here.
import { describe, expect, it } from "vitest";
import { CompiledStageModel, defaultStageModel } from "../../src/lifecycle/stage-model.ts";

const model = new CompiledStageModel(defaultStageModel());

function row(purchaseDays: number, recencyDays: number | null, meanGapDays: number | null, referredCount = 0) {
  return { purchaseDays, recencyDays, meanGapDays, referredCount };
}

/** [what, features, expected current stage] */
const EDGES: readonly (readonly [string, ReturnType<typeof row>, string])[] = [
  // Churn: more than 365 days (the at-risk rule matches below it for this loyal buyer).
  ["churn 364", row(5, 364, 10), "at_risk"],
  ["churn 365", row(5, 365, 10), "at_risk"],
  ["churn 366", row(5, 366, 10), "churned"],
  // At risk, floor of 60 days (3 × 10 = 30 is below it).
  ["at-risk floor 59", row(2, 59, 10), "retained"],
  ["at-risk floor 60", row(2, 60, 10), "retained"],
  ["at-risk floor 61", row(2, 61, 10), "at_risk"],
  // At risk, 3 × mean gap of 30 = 90 days.
  ["at-risk gap 89", row(2, 89, 30), "retained"],
  ["at-risk gap 90", row(2, 90, 30), "retained"],
  ["at-risk gap 91", row(2, 91, 30), "at_risk"],
  // A single purchase day (mean gap 0): new for 30 days, then developing, at risk after 60.
  ["new 29", row(1, 29, 0), "new"],
  ["new 30", row(1, 30, 0), "new"],
  ["new 31", row(1, 31, 0), "developing"],
  ["developing 60", row(1, 60, 0), "developing"],
  ["developing 61", row(1, 61, 0), "at_risk"],
  // Purchase days: prospect 0, one day new, retained from 2, loyal from 4.
  ["purchase days 0", row(0, null, null), "prospect"],
  ["purchase days 2", row(2, 1, 10), "retained"],
  ["purchase days 3", row(3, 1, 10), "retained"],
  ["purchase days 4", row(4, 1, 10), "loyal"],
  ["purchase days 5", row(5, 1, 10), "loyal"],
  // Advocate: a repeat buyer with one referral or more.
  ["referrals 0", row(2, 1, 10, 0), "retained"],
  ["referrals 1", row(2, 1, 10, 1), "advocate"],
  ["referrals 1, one purchase day", row(1, 1, 0, 1), "new"],
];

describe("default stage model edges", () => {
  it.each(EDGES)("%s", (_, features, expected) => {
    expect(model.classify(features).key).toBe(expected);
  });

  it("a lapsed loyal buyer's furthest stage stays loyal", () => {
    expect(model.furthest(row(5, 366, 10)).key).toBe("loyal");
    expect(model.furthest(row(2, 91, 30)).key).toBe("retained");
  });
});

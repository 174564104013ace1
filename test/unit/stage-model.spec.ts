// The stage model (src/lifecycle/stage-model.ts): the default model as the API shows it, the checks a model
// of one's own must pass (exact paths and messages), and the compiled model's display order, lapse handling
// and SQL. Expected values are written out by hand, not read back from the model.
import { describe, expect, it } from "vitest";
import { duckdbDialect } from "../../src/connectors/duckdb.ts";
import {
  checkStageModel,
  CompiledStageModel,
  defaultStageModel,
  type Stage,
  type StageModel,
} from "../../src/lifecycle/stage-model.ts";
import { stageModelConfigSchema } from "../../src/lifecycle/stage-presets.ts";
import { ident, render } from "../../src/sql/sql.ts";

describe("the default stage model", () => {
  it("has the eight documented stages, in display order, with their names and kinds", () => {
    const { stages, evaluationOrder, fallback } = defaultStageModel();
    expect(stages.map((s) => [s.order, s.key, s.name, s.kind])).toEqual([
      [1, "prospect", "Prospect", "progress"],
      [2, "new", "New customer", "progress"],
      [3, "developing", "Developing", "progress"],
      [4, "retained", "Retained", "progress"],
      [5, "loyal", "Loyal", "progress"],
      [6, "advocate", "Advocate", "progress"],
      [7, "at_risk", "At risk", "lapse"],
      [8, "churned", "Churned", "lapse"],
    ]);
    expect(evaluationOrder).toEqual([
      "prospect",
      "churned",
      "at_risk",
      "advocate",
      "loyal",
      "retained",
      "new",
      "developing",
    ]);
    expect(fallback).toBe("prospect");
  });

  it("gives every stage a description and at least two recommended actions", () => {
    for (const stage of defaultStageModel().stages) {
      expect(stage.description.length, stage.key).toBeGreaterThan(20);
      expect(stage.recommendedActions.length, stage.key).toBeGreaterThanOrEqual(2);
      for (const action of stage.recommendedActions) expect(action.length, stage.key).toBeGreaterThan(5);
    }
  });

  it("states each stage's thresholds in its description, as configured", () => {
    const byKey = (thresholds: Parameters<typeof defaultStageModel>[0]) =>
      new Map(defaultStageModel(thresholds).stages.map((s) => [s.key, s.description]));
    const defaults = byKey({});
    expect(defaults.get("prospect")).toBe("Known (signed up, a lead, or seen in events) but has not bought yet.");
    expect(defaults.get("new")).toBe("One purchase day, at most 30 days ago.");
    expect(defaults.get("developing")).toBe(
      "One purchase day, more than 30 days ago: the second purchase has not come yet.",
    );
    expect(defaults.get("retained")).toBe("Bought on two or more days (fewer than 4).");
    expect(defaults.get("loyal")).toBe("Bought on 4 or more days.");
    expect(defaults.get("advocate")).toBe(
      "A repeat buyer (two or more purchase days) who has referred at least one customer.",
    );
    expect(defaults.get("at_risk")).toBe(
      "No purchase for longer than max(60, 3 × their mean gap between purchase days) days.",
    );
    expect(defaults.get("churned")).toBe("No purchase for more than 365 days.");

    const custom = byKey({
      churnDays: 400,
      atRiskMinDays: 45,
      atRiskGapMultiple: 2.5,
      loyalPurchaseDays: 6,
      newMaxDays: 14,
    });
    expect(custom.get("new")).toBe("One purchase day, at most 14 days ago.");
    expect(custom.get("developing")).toContain("more than 14 days ago");
    expect(custom.get("retained")).toBe("Bought on two or more days (fewer than 6).");
    expect(custom.get("loyal")).toBe("Bought on 6 or more days.");
    expect(custom.get("at_risk")).toContain("max(45, 2.5 × their mean gap");
    expect(custom.get("churned")).toBe("No purchase for more than 400 days.");
  });
});

const rule = (field: string, op: "eq" | "gt" | "gte", value: number) => ({ field, op, value }) as Stage["rule"];

function stage(key: string, order: number, kind: Stage["kind"], stageRule: Stage["rule"]): Stage {
  return { key, name: key.toUpperCase(), description: "", order, kind, recommendedActions: [], rule: stageRule };
}

/** Three stages: none (no purchase), buyer (a purchase), gone (lapse: over 100 days without one). */
function smallModel(overrides: Partial<StageModel> = {}): StageModel {
  return {
    stages: [
      stage("none", 1, "progress", rule("purchaseDays", "eq", 0)),
      stage("buyer", 2, "progress", rule("purchaseDays", "gte", 1)),
      stage("gone", 3, "lapse", rule("recencyDays", "gt", 100)),
    ],
    evaluationOrder: ["none", "gone", "buyer"],
    fallback: "none",
    ...overrides,
  };
}

describe("checking a stage model", () => {
  it("finds nothing wrong with the default model or a complete model of one's own", () => {
    expect(checkStageModel(defaultStageModel())).toEqual([]);
    expect(checkStageModel(smallModel())).toEqual([]);
  });

  it("names a duplicate key and a duplicate display order at the later stage", () => {
    const [none, buyer, gone] = smallModel().stages as Stage[];
    expect(checkStageModel(smallModel({ stages: [none!, { ...buyer!, order: 1 }, gone!] }))).toEqual([
      { path: ["stages", 1, "order"], message: "duplicate display order 1" },
    ]);
    expect(checkStageModel(smallModel({ stages: [none!, buyer!, { ...gone!, key: "buyer" }] }))).toEqual([
      { path: ["stages", 2, "key"], message: 'duplicate stage key "buyer"' },
      { path: ["evaluationOrder", 1], message: 'unknown stage "gone"' },
    ]);
  });

  it("names an unknown stage, a stage listed twice and a missing stage in the evaluation order", () => {
    expect(checkStageModel(smallModel({ evaluationOrder: ["none", "gone", "buyer", "lost"] }))).toEqual([
      { path: ["evaluationOrder", 3], message: 'unknown stage "lost"' },
    ]);
    expect(checkStageModel(smallModel({ evaluationOrder: ["none", "gone", "buyer", "gone"] }))).toEqual([
      { path: ["evaluationOrder", 3], message: "gone listed twice" },
    ]);
    expect(checkStageModel(smallModel({ evaluationOrder: ["none", "buyer"] }))).toEqual([
      { path: ["evaluationOrder"], message: "stage gone is missing" },
    ]);
  });

  it("names an unknown fallback", () => {
    expect(checkStageModel(smallModel({ fallback: "nobody" }))).toEqual([
      { path: ["fallback"], message: 'unknown stage "nobody"' },
    ]);
  });

  it("points into a stage's rule", () => {
    const [none, buyer, gone] = smallModel().stages as Stage[];
    const issues = checkStageModel(
      smallModel({ stages: [none!, { ...buyer!, rule: rule("noSuchField", "gte", 1) }, gone!] }),
    );
    expect(issues.map((i) => i.path)).toEqual([["stages", 1, "rule", "field"]]);
  });
});

describe("the stageModel setting", () => {
  it("takes thresholds for the default model, or a whole model of one's own", () => {
    expect(stageModelConfigSchema.parse({ thresholds: { churnDays: 200 } })).toEqual({
      thresholds: { churnDays: 200, atRiskMinDays: 60, atRiskGapMultiple: 3, loyalPurchaseDays: 4, newMaxDays: 30 },
    });
    const all = { key: "all", name: "All", order: 1, kind: "progress", rule: rule("purchaseDays", "gte", 0) };
    const own = { stages: [all], evaluationOrder: ["all"], fallback: "all" };
    expect(stageModelConfigSchema.parse(own)).toEqual({
      ...own,
      stages: [{ ...all, description: "", recommendedActions: [] }],
    });
  });

  it("points threshold errors inside the thresholds", () => {
    const parsed = stageModelConfigSchema.safeParse({ thresholds: { churnDays: -1 } });
    expect(parsed.error!.issues.map((i) => i.path)).toEqual([["thresholds", "churnDays"]]);
  });

  it("refuses what is not an object, with an issue rather than a crash", () => {
    for (const input of ["thresholds", null, 42]) {
      const parsed = stageModelConfigSchema.safeParse(input);
      expect(parsed.success, String(input)).toBe(false);
      expect(parsed.error!.issues.map((i) => i.path)).toEqual([[]]);
    }
  });
});

describe("the compiled stage model", () => {
  const shuffled = smallModel({ stages: [...smallModel().stages].reverse() });

  it("numbers the stages by display order, whatever order the model lists them in", () => {
    const compiled = new CompiledStageModel(shuffled);
    expect(compiled.stages.map((s) => s.key)).toEqual(["none", "buyer", "gone"]);
    expect([compiled.indexOf("none"), compiled.indexOf("buyer"), compiled.indexOf("gone")]).toEqual([0, 1, 2]);
    expect(compiled.indexOf("unknown")).toBeUndefined();
    expect(compiled.classify({ purchaseDays: 3, recencyDays: 10 }).key).toBe("buyer");
    expect(compiled.classify({ purchaseDays: 3, recencyDays: 101 }).key).toBe("gone");
  });

  it("skips lapse stages for the furthest stage reached", () => {
    const compiled = new CompiledStageModel(defaultStageModel());
    const lapsedLoyal = { purchaseDays: 6, recencyDays: 500, meanGapDays: 20, referredCount: 0 };
    expect(compiled.classify(lapsedLoyal).key).toBe("churned");
    expect(compiled.furthest(lapsedLoyal).key).toBe("loyal");
    const atRiskNew = { purchaseDays: 1, recencyDays: 90, meanGapDays: 0, referredCount: 0 };
    expect(compiled.classify(atRiskNew).key).toBe("at_risk");
    expect(compiled.furthest(atRiskNew).key).toBe("developing");
  });

  it("writes the rules as one CASE in evaluation order, lapse rules left out on request", () => {
    const compiled = new CompiledStageModel(shuffled);
    const ctx = { column: (field: string) => ident("f", field) };
    const text = (skipLapse?: boolean) => render(compiled.stageIndexSql(ctx, { skipLapse }), duckdbDialect);
    const all = text();
    expect(all.text.match(/WHEN/g)).toHaveLength(3);
    expect(all.text).toMatch(
      /^CASE WHEN .*"purchaseDays".* THEN 0 WHEN .*"recencyDays".* THEN 2 WHEN .* THEN 1 ELSE 0 END$/,
    );
    const progress = text(true);
    expect(progress.text.match(/WHEN/g)).toHaveLength(2);
    expect(progress.text).not.toContain("recencyDays");
    expect(progress.text).toMatch(/ THEN 0 WHEN .* THEN 1 ELSE 0 END$/);
    expect(text(false).text).toBe(all.text);
  });
});

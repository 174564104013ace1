// The sales-funnel preset on its hand-built shop (test/fixtures/sales-funnel.ts): every person in the
// stage worked out by hand, in TypeScript and in the warehouse, on every warehouse; thresholds and event
// lists moved to show which edge people move.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { parseConfigFile } from "../../src/config/file.ts";
import { LifecycleService } from "../../src/services/lifecycle/service.ts";
import { filledWarehouse, testWarehouses, type TestWarehouse } from "../helpers/databases.ts";
import {
  SALES_FUNNEL_AS_OF as AS_OF,
  SALES_FUNNEL_CONFIG as CONFIG,
  SALES_FUNNEL_DISPLAY_ORDER,
  SALES_FUNNEL_ROWS as ROWS,
  SALES_FUNNEL_STAGES as EXPECTED,
} from "../fixtures/sales-funnel.ts";

function countsOf(expected: Record<string, { stage: string }>): Record<string, number> {
  const counts: Record<string, number> = {};
  for (const { stage } of Object.values(expected)) counts[stage] = (counts[stage] ?? 0) + 1;
  return counts;
}

describe.each(testWarehouses())("the sales-funnel preset on a hand-built shop in $label", (factory) => {
  let warehouse: TestWarehouse;
  const open = async (config: object) => {
    const { stageModel, eventTypes, timeZone } = parseConfigFile(config);
    return LifecycleService.open(warehouse, stageModel, timeZone, { eventTypes });
  };

  beforeAll(async () => {
    warehouse = await filledWarehouse(factory, ROWS);
  });
  afterAll(async () => {
    await warehouse?.close();
  });

  it("places each person as worked out by hand, in TypeScript, with the furthest stage reached", async () => {
    const lifecycle = await open(CONFIG);
    const features = await lifecycle.featuresOf(AS_OF, Object.keys(EXPECTED));
    expect(features.size).toBe(Object.keys(EXPECTED).length);
    const actual = Object.fromEntries(
      [...features.values()].map((f) => [
        f.customerId,
        { stage: lifecycle.model.classify(f).key, furthest: lifecycle.model.furthest(f).key },
      ]),
    );
    expect(actual).toEqual(EXPECTED);
  });

  it("counts and lists the same people per stage in the warehouse", async () => {
    const lifecycle = await open(CONFIG);
    const counts = await lifecycle.stageCounts(AS_OF);
    expect(counts.map((c) => c.stage.key)).toEqual(SALES_FUNNEL_DISPLAY_ORDER);
    expect(Object.fromEntries(counts.map((c) => [c.stage.key, c.count]))).toEqual(countsOf(EXPECTED));
    for (const stage of ["cold_lead", "evaluation"]) {
      const members = await lifecycle.stageMembers(AS_OF, stage, 50);
      expect(
        members.map((m) => m.customerId),
        stage,
      ).toEqual(
        Object.keys(EXPECTED)
          .filter((id) => EXPECTED[id]!.stage === stage)
          .sort(),
      );
    }
  });

  it("moves the edge people when the thresholds move", async () => {
    const lifecycle = await open({
      ...CONFIG,
      stageModel: { preset: "sales-funnel", thresholds: { evaluationAfterDays: 13, coldLeadDays: 59 } },
    });
    const features = await lifecycle.featuresOf(AS_OF, ["i1", "e3", "c2", "c1"]);
    const stage = (id: string) => lifecycle.model.classify(features.get(id)!).key;
    // i1's lead is 13 days old: now evaluation. e3's and c2's last events are 60 days old: now cold.
    expect(stage("i1")).toBe("evaluation");
    expect(stage("e3")).toBe("cold_lead");
    expect(stage("c2")).toBe("cold_lead");
    expect(stage("c1")).toBe("cold_lead");
  });

  it("reads the interest and evaluation event types the configuration names", async () => {
    // Only subscribe shows interest and nothing is an evaluation event: i1 and e1 (leads) are attraction,
    // e2 (subscribed 5 days ago, quote ignored) is interest.
    const lifecycle = await open({
      ...CONFIG,
      stageModel: { preset: "sales-funnel", interestEvents: ["subscribe"], evaluationEvents: [] },
    });
    const features = await lifecycle.featuresOf(AS_OF, ["i1", "e1", "e2"]);
    const stage = (id: string) => lifecycle.model.classify(features.get(id)!).key;
    expect([stage("i1"), stage("e1"), stage("e2")]).toEqual(["attraction", "attraction", "interest"]);
  });
});

// Segment definitions select the same customers in the warehouse (compiled SQL) as in TypeScript (the
// predicate over one customer's features, stage and RFM scores), for random definitions over the demo
// shop, on every warehouse the test environment has.
import fc from "fast-check";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { compilePredicate } from "../../src/lifecycle/rule-predicate.ts";
import {
  checkDefinition,
  resolveDefinition,
  segmentRow,
  segmentScope,
} from "../../src/lifecycle/segment-definition.ts";
import { defaultStageModel } from "../../src/lifecycle/stage-model.ts";
import type { CustomerFeatures } from "../../src/lifecycle/features.ts";
import type { RfmScore } from "../../src/lifecycle/rfm.ts";
import { LifecycleService } from "../../src/services/lifecycle/service.ts";
import { SegmentService } from "../../src/services/segments.ts";
import { definition } from "../helpers/arbitraries.ts";
import { testWarehouses } from "../helpers/databases.ts";
import { DEMO_END_DATE, openDemoWarehouse } from "../helpers/server.ts";

const AS_OF = DEMO_END_DATE;

describe.each(testWarehouses())("segment back ends agree on $label", (factory) => {
  let close: () => Promise<void>;
  let lifecycle: LifecycleService;
  let segments: SegmentService;
  let features: CustomerFeatures[];
  let rfm: Map<string, RfmScore>;

  beforeAll(async () => {
    const { warehouse } = await openDemoWarehouse(300, factory);
    close = () => warehouse.close();
    lifecycle = await LifecycleService.open(warehouse, defaultStageModel(), "UTC");
    segments = new SegmentService(lifecycle);
    features = await segments.page(AS_OF, { all: [] }, 10_000);
    rfm = await lifecycle.rfmOf(
      AS_OF,
      features.map((f) => f.customerId),
    );
  });
  afterAll(async () => {
    await close?.();
  });

  it("selects the same members for random definitions over features, stages, RFM and relative dates", async () => {
    const scope = segmentScope(lifecycle.model, lifecycle.rfm);
    const arbitrary = definition(
      lifecycle.model.stages.map((s) => s.key),
      lifecycle.rfm.keys,
    );
    expect(features.length).toBeGreaterThan(250);
    await fc.assert(
      fc.asyncProperty(arbitrary, async (d) => {
        expect(checkDefinition(d, scope)).toEqual([]);
        const rule = resolveDefinition(d, AS_OF, () => undefined);
        const predicate = compilePredicate(rule);
        const expected = features
          .filter((f) => predicate(segmentRow(f, lifecycle.model, rfm.get(f.customerId))))
          .map((f) => f.customerId);
        const fromSql = (await segments.page(AS_OF, rule, 10_000)).map((f) => f.customerId);
        expect(fromSql).toEqual(expected);
      }),
      { numRuns: 60, seed: 5 },
    );
  });
});

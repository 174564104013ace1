// Segment definitions: the size limits checked before the shape (exact paths and messages), the scope that
// adds stage and RFM fields, and resolution for a day — references inlined (missing ones and cycles refused,
// the inlined tree bounded) and relative dates made dates.
import { describe, expect, it } from "vitest";
import { InvalidInputError } from "../../src/errors.ts";
import { RfmSegments } from "../../src/lifecycle/rfm.ts";
import type { Rule } from "../../src/lifecycle/rules.ts";
import {
  checkDefinition,
  DefinitionError,
  readsRfm,
  referencedSegments,
  resolveDefinition,
  segmentRow,
  segmentScope,
} from "../../src/lifecycle/segment-definition.ts";
import { CompiledStageModel, defaultStageModel } from "../../src/lifecycle/stage-model.ts";

const STAGE_KEYS = ["prospect", "new", "developing", "retained", "loyal", "advocate", "at_risk", "churned"];
const RFM = new RfmSegments();
const SCOPE = segmentScope(new CompiledStageModel(defaultStageModel()), RFM);

const channel = (value: unknown) => ({ field: "acquisitionChannel", op: "eq", value });
const nested = (levels: number, leaf: unknown): unknown => (levels === 0 ? leaf : { not: nested(levels - 1, leaf) });
const CHECKED: Rule = { field: "revenue", op: "gt", value: 100 };

/** The DefinitionError `run` throws (failing the test when it throws none or another error). */
function definitionError(run: () => unknown): DefinitionError {
  try {
    run();
  } catch (error) {
    expect(error).toBeInstanceOf(DefinitionError);
    return error as DefinitionError;
  }
  throw new Error("expected a DefinitionError");
}

describe("segmentScope", () => {
  it("allows references and relative dates and adds the stage model's keys and the RFM fields", () => {
    expect(SCOPE).toEqual({
      definitions: true,
      eventTypes: new Set(),
      extraFields: new Map([
        ["stage", { type: "string", values: STAGE_KEYS }],
        ["furthestStage", { type: "string", values: STAGE_KEYS }],
        ["rfmRecency", { type: "number" }],
        ["rfmFrequency", { type: "number" }],
        ["rfmMonetary", { type: "number" }],
        ["rfmSegment", { type: "string", values: RFM.keys }],
      ]),
    });
  });
});

describe("checkDefinition: size before shape", () => {
  it("accepts a valid definition with stage, RFM fields, references and relative dates", () => {
    const definition = {
      all: [
        { field: "stage", op: "in", value: ["loyal", "advocate"] },
        { field: "rfmRecency", op: "gte", value: 4 },
        { segment: "big-spenders" },
        { field: "lastPurchaseDate", op: "gte", value: { daysAgo: 30 } },
      ],
    };
    expect(checkDefinition(definition, SCOPE)).toEqual([]);
  });

  it("reports a bad operator and the problems elsewhere in the definition together", () => {
    // Before, a shape problem (the op) hid every field and type problem of the definition.
    const definition = {
      all: [
        { field: "revenue", op: "like", value: 1 },
        { field: "revenu", op: "gt", value: 1 },
        { not: { field: "stage", op: "eq", value: "vip" } },
        {
          any: [
            { field: "orderCount", op: "gte", value: "3" },
            { field: "channel", op: "~" },
          ],
        },
      ],
    };
    const ops = "must be one of eq, neq, lt, lte, gt, gte, in, between, isNull, notNull";
    expect(checkDefinition(definition, SCOPE)).toEqual([
      { path: ["all", 0, "op"], message: ops },
      { path: ["all", 3, "any", 1, "op"], message: ops },
      { path: ["all", 1, "field"], message: 'unknown field "revenu"' },
      { path: ["all", 2, "not", "value"], message: expect.stringMatching(/^expected one of prospect, /) },
      { path: ["all", 3, "any", 0, "value"], message: "expected a number, got a string" },
      // The broken leaf's field name is checked too; its value is not (its op says what it would be).
      { path: ["all", 3, "any", 1, "field"], message: 'unknown field "channel"' },
    ]);
  });

  it("refuses more than 50,000 characters of JSON as a whole, before anything else", () => {
    // A JSON string is its characters and two quotes.
    expect(checkDefinition("x".repeat(49_999), SCOPE)).toEqual([
      { path: [], message: "is 50001 characters of JSON; at most 50000" },
    ]);
    // 50,000 characters pass the byte limit and meet the string limit instead.
    expect(checkDefinition("x".repeat(49_998), SCOPE)).toEqual([
      { path: [], message: "is a string of 49998 characters; at most 200" },
    ]);
  });

  it("refuses more than 300 nodes, counting every value, at the root's path", () => {
    // The rule, its field, op and value list, and the values: 4 + n nodes.
    const values = (n: number) => Array.from({ length: n }, (_, i) => `c${i}`);
    expect(checkDefinition({ field: "acquisitionChannel", op: "in", value: values(296) }, SCOPE)).toEqual([]);
    expect(checkDefinition({ field: "acquisitionChannel", op: "in", value: values(297) }, SCOPE)).toEqual([
      { path: [], message: "has more than 300 nodes" },
    ]);
  });

  it("refuses nesting deeper than 12 levels at the path of the first node too deep", () => {
    const leaf = { field: "revenue", op: "isNull" };
    // Under 11 nots the leaf's field is 12 levels down.
    expect(checkDefinition(nested(11, leaf), SCOPE)).toEqual([]);
    expect(checkDefinition(nested(12, leaf), SCOPE)).toEqual([
      { path: [...Array<string>(12).fill("not"), "field"], message: "nests deeper than 12 levels" },
    ]);
  });

  it("counts a list and the rule in it as a level each", () => {
    const all = (levels: number, leaf: unknown): unknown => (levels === 0 ? leaf : { all: [all(levels - 1, leaf)] });
    const leaf = { field: "revenue", op: "isNull" };
    // Five alls hold the leaf 10 levels down, six hold its field 13 levels down.
    expect(checkDefinition(all(5, leaf), SCOPE)).toEqual([]);
    expect(checkDefinition(all(6, leaf), SCOPE)).toEqual([
      {
        path: [...Array<(string | number)[]>(6).fill(["all", 0]).flat(), "field"],
        message: "nests deeper than 12 levels",
      },
    ]);
  });

  it("walks past a null value to the shape check", () => {
    expect(checkDefinition({ field: "revenue", op: "eq", value: null }, SCOPE)).toEqual([
      { path: ["value"], message: "expected a number, a string, {field}, or {max|min|add|mul: [values]}" },
    ]);
  });

  it("refuses a string longer than 200 characters at its path", () => {
    expect(checkDefinition(channel("w".repeat(200)), SCOPE)).toEqual([]);
    expect(checkDefinition(channel("w".repeat(201)), SCOPE)).toEqual([
      { path: ["value"], message: "is a string of 201 characters; at most 200" },
    ]);
    expect(checkDefinition({ any: [CHECKED, { not: channel("w".repeat(250)) }] }, SCOPE)).toEqual([
      { path: ["any", 1, "not", "value"], message: "is a string of 250 characters; at most 200" },
    ]);
  });

  it("refuses the NUL character anywhere in a string, at its path", () => {
    expect(checkDefinition(channel("web\u0000"), SCOPE)).toEqual([
      { path: ["value"], message: "must not contain the NUL character" },
    ]);
    expect(checkDefinition({ all: [{ segment: "a\u0000b" }] }, SCOPE)).toEqual([
      { path: ["all", 0, "segment"], message: "must not contain the NUL character" },
    ]);
  });

  it("reports only the first size problem", () => {
    const definition = { any: [channel("a".repeat(201)), channel("b\u0000"), channel("c".repeat(300))] };
    expect(checkDefinition(definition, SCOPE)).toEqual([
      { path: ["any", 0, "value"], message: "is a string of 201 characters; at most 200" },
    ]);
  });

  it("refuses what JSON cannot hold: a BigInt, a cycle", () => {
    expect(checkDefinition(channel(10n), SCOPE)).toEqual([{ path: [], message: "is not JSON" }]);
    const cyclic: Record<string, unknown> = { all: [] };
    (cyclic.all as unknown[]).push(cyclic);
    expect(checkDefinition(cyclic, SCOPE)).toEqual([{ path: [], message: "is not JSON" }]);
  });

  it("reports no definition at all as a shape problem, not as non-JSON", () => {
    expect(checkDefinition(undefined, SCOPE)).toEqual([
      { path: [], message: 'expected a rule: {"all":[…]}, {"any":[…]}, {"not":…} or {"field","op","value"}' },
    ]);
  });

  it("then reports the shape, and of a broken leaf only its field name besides", () => {
    expect(checkDefinition({ any: [{ field: "nope", op: "eq" }] }, SCOPE)).toEqual([
      { path: ["any", 0, "value"], message: "is required with op eq" },
      { path: ["any", 0, "field"], message: 'unknown field "nope"' },
    ]);
    expect(checkDefinition({ any: [{ field: "revenue", op: "eq", value: "x", why: 1 }] }, SCOPE)).toEqual([
      { path: ["any", 0, "why"], message: 'unexpected key "why"' },
    ]);
    expect(checkDefinition({ any: [{ field: "nope", op: "isNull" }] }, SCOPE)).toEqual([
      { path: ["any", 0, "field"], message: 'unknown field "nope"' },
    ]);
    expect(checkDefinition({ field: "stage", op: "eq", value: "vip" }, SCOPE)).toEqual([
      { path: ["value"], message: `expected one of ${STAGE_KEYS.join(", ")}` },
    ]);
  });
});

describe("referencedSegments", () => {
  it("collects the ids referred to anywhere in the definition, once each", () => {
    const definition: Rule = {
      all: [
        { segment: "a" },
        { any: [CHECKED, { segment: "b" }, { not: { segment: "c" } }] },
        { not: { all: [{ segment: "a" }] } },
      ],
    };
    expect([...referencedSegments(definition)]).toEqual(["a", "b", "c"]);
    expect(referencedSegments({ segment: "only" })).toEqual(new Set(["only"]));
    expect(referencedSegments({ not: CHECKED }).size).toBe(0);
  });
});

describe("resolveDefinition", () => {
  const lookup =
    (saved: Record<string, Rule>) =>
    (id: string): Rule | undefined =>
      saved[id];
  const none = lookup({});

  it("turns each relative date into the day that many days before the given day", () => {
    const definition: Rule = {
      all: [
        { field: "lastPurchaseDate", op: "gte", value: { daysAgo: 30 } },
        { field: "firstPurchaseDate", op: "between", value: [{ daysAgo: 365 }, { daysAgo: 0 }] },
        { field: "lastEventDate", op: "lt", value: { max: [{ daysAgo: 1 }, { field: "lastPurchaseDate" }] } },
      ],
    };
    expect(resolveDefinition(definition, "2026-06-30", none)).toEqual({
      all: [
        { field: "lastPurchaseDate", op: "gte", value: "2026-05-31" },
        { field: "firstPurchaseDate", op: "between", value: ["2025-06-30", "2026-06-30"] },
        { field: "lastEventDate", op: "lt", value: { max: ["2026-06-29", { field: "lastPurchaseDate" }] } },
      ],
    });
  });

  it("leaves plain values, field values, lists and null tests as they are", () => {
    const definition: Rule = {
      any: [
        { field: "revenue", op: "gt", value: { add: [{ field: "firstPurchaseRevenue" }, 10] } },
        { field: "firstPurchaseDate", op: "between", value: ["2026-01-01", { field: "lastPurchaseDate" }] },
        { field: "acquisitionChannel", op: "in", value: ["web", "social"] },
        { field: "lastEventDate", op: "isNull" },
        { not: { field: "acquisitionChannel", op: "notNull" } },
      ],
    };
    expect(resolveDefinition(definition, "2026-06-30", none)).toStrictEqual(definition);
  });

  it("inlines each referenced segment, resolved for the same day, references within it too", () => {
    const saved = lookup({
      recent: { field: "lastPurchaseDate", op: "gte", value: { daysAgo: 7 } },
      loyal: { all: [{ field: "stage", op: "eq", value: "loyal" }, { segment: "recent" }] },
    });
    expect(
      resolveDefinition({ any: [{ segment: "loyal" }, { not: { segment: "recent" } }] }, "2026-03-03", saved),
    ).toEqual({
      any: [
        {
          all: [
            { field: "stage", op: "eq", value: "loyal" },
            { field: "lastPurchaseDate", op: "gte", value: "2026-02-24" },
          ],
        },
        { not: { field: "lastPurchaseDate", op: "gte", value: "2026-02-24" } },
      ],
    });
  });

  it("refuses a reference to a missing segment at the path of the reference", () => {
    const error = definitionError(() => resolveDefinition({ any: [CHECKED, { segment: "gone" }] }, "2026-06-30", none));
    expect(error.message).toBe("unknown segment");
    expect(error.issues).toEqual([{ path: ["any", 1, "segment"], message: 'no saved segment "gone"' }]);
  });

  it("reports a problem inside a referenced segment at the reference the user wrote", () => {
    const saved = lookup({ outer: { all: [CHECKED, { not: { segment: "gone" } }] } });
    const error = definitionError(() => resolveDefinition({ not: { segment: "outer" } }, "2026-06-30", saved));
    expect(error.message).toBe("unknown segment");
    expect(error.issues).toEqual([{ path: ["not", "segment"], message: 'no saved segment "gone"' }]);
  });

  it("refuses a cycle of references, naming the segments around it", () => {
    const saved = lookup({ a: { segment: "b" }, b: { any: [CHECKED, { segment: "a" }] } });
    const error = definitionError(() => resolveDefinition({ all: [CHECKED, { segment: "a" }] }, "2026-06-30", saved));
    expect(error.message).toBe("segment references form a cycle");
    expect(error.issues).toEqual([{ path: ["all", 1, "segment"], message: "refers back to a → b → a" }]);
  });

  it("refuses a reference back to the segment being saved (within) where it is written", () => {
    const saved = lookup({ b: { segment: "self" } });
    const direct = definitionError(() =>
      resolveDefinition({ not: { segment: "self" } }, "2026-06-30", saved, ["self"]),
    );
    expect(direct.issues).toEqual([{ path: ["not", "segment"], message: "refers back to self → self" }]);
    const viaB = definitionError(() => resolveDefinition({ not: { segment: "b" } }, "2026-06-30", saved, ["self"]));
    expect(viaB.issues).toEqual([{ path: ["not", "segment"], message: "refers back to self → b → self" }]);
  });

  it("lets the same segment be referenced twice side by side (not a cycle)", () => {
    const saved = lookup({ a: CHECKED });
    expect(resolveDefinition({ all: [{ segment: "a" }, { segment: "a" }] }, "2026-06-30", saved)).toEqual({
      all: [CHECKED, CHECKED],
    });
  });

  it("reports every problem a referenced segment had, joined, at the reference", () => {
    const saved = (id: string): Rule | undefined => {
      if (id === "a") return { segment: "b" };
      throw new DefinitionError("stale", [
        { path: ["x"], message: "first" },
        { path: ["y"], message: "second" },
      ]);
    };
    const error = definitionError(() => resolveDefinition({ not: { segment: "a" } }, "2026-06-30", saved));
    expect(error.message).toBe("stale");
    expect(error.issues).toEqual([{ path: ["not", "segment"], message: "first; second" }]);
  });

  it("passes on a failure of the lookup itself, unchanged", () => {
    const down = new Error("app database unavailable");
    const saved = (id: string): Rule | undefined => {
      if (id === "a") return { segment: "b" };
      throw down;
    };
    expect(() => resolveDefinition({ segment: "a" }, "2026-06-30", saved)).toThrow(down);
    let thrown: unknown;
    try {
      resolveDefinition({ segment: "a" }, "2026-06-30", saved);
    } catch (error) {
      thrown = error;
    }
    expect(thrown).toBe(down);
  });

  const TOO_LARGE = "with referenced segments inlined it exceeds 3000 nodes or 40 levels";

  it("bounds the inlined tree at 40 levels", () => {
    const leaf: Rule = { field: "revenue", op: "isNull" };
    expect(() => resolveDefinition(nested(40, leaf) as Rule, "2026-06-30", none)).not.toThrow();
    const error = definitionError(() => resolveDefinition(nested(41, leaf) as Rule, "2026-06-30", none));
    expect(error.message).toBe("the definition is too large with its references inlined");
    expect(error.issues).toEqual([{ path: Array<string>(41).fill("not"), message: TOO_LARGE }]);
  });

  it("counts each all and any as a level", () => {
    const group = (op: "all" | "any", levels: number): Rule =>
      levels === 0
        ? CHECKED
        : op === "all"
          ? { all: [CHECKED, group(op, levels - 1)] }
          : { any: [CHECKED, group(op, levels - 1)] };
    for (const op of ["all", "any"] as const) {
      expect(() => resolveDefinition(group(op, 40), "2026-06-30", none), op).not.toThrow();
      const error = definitionError(() => resolveDefinition(group(op, 41), "2026-06-30", none));
      // The first node 41 levels down: the comparison beside the 41st group.
      expect(error.issues, op).toEqual([
        { path: [...Array<(string | number)[]>(40).fill([op, 1]).flat(), op, 0], message: TOO_LARGE },
      ]);
    }
  });

  it("counts a reference and the referenced definition's root as a level each", () => {
    // c1 → c2 → … → cN, cN a comparison: the comparison is N levels down.
    const chain = (n: number) =>
      lookup(
        Object.fromEntries(
          Array.from({ length: n }, (_, i) => [`c${i + 1}`, i + 1 === n ? CHECKED : { segment: `c${i + 2}` }]),
        ),
      );
    expect(resolveDefinition({ segment: "c1" }, "2026-06-30", chain(40))).toEqual(CHECKED);
    const error = definitionError(() => resolveDefinition({ segment: "c1" }, "2026-06-30", chain(41)));
    expect(error.message).toBe("the definition is too large with its references inlined");
    expect(error.issues).toEqual([{ path: ["segment"], message: TOO_LARGE }]);
  });

  it("starts counting levels at the depth given", () => {
    const leaf: Rule = { field: "revenue", op: "isNull" };
    expect(() => resolveDefinition(nested(38, leaf) as Rule, "2026-06-30", none, [], { nodes: 0 }, 2)).not.toThrow();
    expect(() => resolveDefinition(nested(39, leaf) as Rule, "2026-06-30", none, [], { nodes: 0 }, 2)).toThrow(
      DefinitionError,
    );
  });

  it("bounds the inlined tree at 3000 rule nodes, counted across every reference", () => {
    const leaves = (n: number): Rule[] => Array.from({ length: n }, () => CHECKED);
    expect(() => resolveDefinition({ any: leaves(2999) }, "2026-06-30", none)).not.toThrow();
    const flat = definitionError(() => resolveDefinition({ any: leaves(3000) }, "2026-06-30", none));
    expect(flat.issues).toEqual([{ path: ["any", 2999], message: TOO_LARGE }]);
    // 100 references to a segment of 27 comparisons: 1 + 100 × (1 + 1 + 27) = 2,901 nodes, plus the leaves.
    const saved = lookup({ a: { any: leaves(27) } });
    const refs: Rule[] = Array.from({ length: 100 }, () => ({ segment: "a" }));
    expect(() => resolveDefinition({ any: [...refs, ...leaves(99)] }, "2026-06-30", saved)).not.toThrow();
    const inlined = definitionError(() => resolveDefinition({ any: [...leaves(100), ...refs] }, "2026-06-30", saved));
    expect(inlined.issues).toEqual([{ path: ["any", 199, "segment"], message: TOO_LARGE }]);
  });

  it("continues the node count of the budget given", () => {
    expect(() => resolveDefinition(CHECKED, "2026-06-30", none, [], { nodes: 2999 })).not.toThrow();
    expect(() => resolveDefinition(CHECKED, "2026-06-30", none, [], { nodes: 3000 })).toThrow(DefinitionError);
  });
});

describe("DefinitionError", () => {
  const ISSUES = [{ path: ["not", "segment"], message: 'no saved segment "x"' }];

  it("is a bad-input error with its issues", () => {
    const error = new DefinitionError("unknown segment", ISSUES);
    expect(error).toBeInstanceOf(InvalidInputError);
    expect(error.name).toBe("DefinitionError");
    expect(error.code).toBe("BAD_USER_INPUT");
    expect(error.extensions()).toEqual({ issues: ISSUES });
  });

  it("names the argument it is about, keeping its message and issues", () => {
    const about = new DefinitionError("unknown segment", ISSUES).about("segmentId");
    expect(about).toBeInstanceOf(DefinitionError);
    expect(about.message).toBe("unknown segment");
    expect(about.issues).toEqual(ISSUES);
    expect(about.argument).toBe("segmentId");
    expect(about.extensions()).toEqual({ argument: "segmentId", issues: ISSUES });
  });
});

describe("readsRfm", () => {
  it("is true when any RFM score or segment is read", () => {
    for (const field of ["rfmRecency", "rfmFrequency", "rfmMonetary", "rfmSegment"]) {
      expect(readsRfm(new Set(["revenue", field])), field).toBe(true);
    }
    expect(readsRfm(new Set(["stage", "furthestStage", "revenue"]))).toBe(false);
    expect(readsRfm(new Set())).toBe(false);
  });
});

describe("segmentRow", () => {
  const model = {
    classify: (row: Record<string, unknown>) => ({ key: row.revenue === 0 ? "prospect" : "at_risk" }),
    furthest: (row: Record<string, unknown>) => ({ key: row.revenue === 0 ? "prospect" : "loyal" }),
  } as unknown as CompiledStageModel;

  it("adds the current and furthest stage and the RFM scores to the features", () => {
    const rfm = RFM.score(2, 4, 5);
    expect(segmentRow({ revenue: 80 }, model, rfm)).toEqual({
      revenue: 80,
      stage: "at_risk",
      furthestStage: "loyal",
      rfmRecency: 2,
      rfmFrequency: 4,
      rfmMonetary: 5,
      rfmSegment: rfm.segment,
    });
  });

  it("has null RFM fields for a customer without a score", () => {
    const nulls = { rfmRecency: null, rfmFrequency: null, rfmMonetary: null, rfmSegment: null };
    expect(segmentRow({ revenue: 0 }, model, null)).toEqual({
      revenue: 0,
      stage: "prospect",
      furthestStage: "prospect",
      ...nulls,
    });
    expect(segmentRow({ revenue: 0 }, model, undefined)).toMatchObject(nulls);
  });
});

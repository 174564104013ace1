// The rule language's checks (src/lifecycle/rules.ts): the JSON shape (parseRuleShape, ruleSchema), then
// fields, operators and value types (checkRule), and the fields a rule reads (fieldsOf). Every case pins the
// whole list of issues, path and message, as a client sees it in `extensions.issues`.
import { describe, expect, it } from "vitest";
import type { FeatureType } from "../../src/lifecycle/features.ts";
import {
  checkRule,
  fieldsOf,
  parseRuleShape,
  ruleSchema,
  type Rule,
  type RuleScope,
} from "../../src/lifecycle/rules.ts";

type Issues = { path: (string | number)[]; message: string }[];

const NOT_A_RULE = 'expected a rule: {"all":[…]}, {"any":[…]}, {"not":…} or {"field","op","value"}';
const NO_RULE_KEY = 'expected all, any, not, or a comparison {"field","op","value"}';
const OP_LIST = "must be one of eq, neq, lt, lte, gt, gte, in, between, isNull, notNull";
const NOT_A_VALUE = "expected a number, a string, {field}, or {max|min|add|mul: [values]}";
const NOT_ARITHMETIC = "expected {field} or one of {max|min|add|mul: [values]}";
const DAYS = "must be a whole number of days from 0 to 36500";
const SEGMENT_ID = "must be a saved segment's id";

const cmp = (value: unknown, op = "gt") => ({ field: "revenue", op, value });

describe("parseRuleShape: the JSON shape of a rule, every problem at its path", () => {
  const cases: [string, unknown, Issues][] = [
    // Not a rule at all.
    ["a number", 5, [{ path: [], message: NOT_A_RULE }]],
    ["null", null, [{ path: [], message: NOT_A_RULE }]],
    ["a list", [{ field: "revenue", op: "isNull" }], [{ path: [], message: NOT_A_RULE }]],
    ["a string", "all", [{ path: [], message: NOT_A_RULE }]],
    ["an object with no rule key", { op: "eq", value: 1 }, [{ path: [], message: NO_RULE_KEY }]],
    // all / any / not
    ["all with rules", { all: [cmp(1), { field: "revenue", op: "isNull" }] }, []],
    ["an empty all", { all: [] }, []],
    ["an empty any", { any: [] }, []],
    ["all that is not a list", { all: 5 }, [{ path: ["all"], message: "must be a list of rules" }]],
    [
      "any that is not a list",
      { any: { field: "revenue", op: "isNull" } },
      [{ path: ["any"], message: "must be a list of rules" }],
    ],
    ["all beside any", { all: [], any: [] }, [{ path: ["any"], message: 'unexpected key "any"' }]],
    ["any beside not", { any: [], not: cmp(1) }, [{ path: ["not"], message: 'unexpected key "not"' }]],
    [
      "nested bad parts, each at its own path, the group's extra key first",
      { all: [cmp(1), 7, { any: [cmp(2), { not: { field: 1, op: "like" } }] }], note: "x" },
      [
        { path: ["note"], message: 'unexpected key "note"' },
        { path: ["all", 1], message: NOT_A_RULE },
        { path: ["all", 2, "any", 1, "not", "field"], message: "must be a field name" },
        { path: ["all", 2, "any", 1, "not", "op"], message: OP_LIST },
      ],
    ],
    ["not of a rule", { not: cmp(1) }, []],
    [
      "not of a non-rule, with an extra key",
      { not: 5, x: 1 },
      [
        { path: ["x"], message: 'unexpected key "x"' },
        { path: ["not"], message: NOT_A_RULE },
      ],
    ],
    [
      "not of not of a bad comparison",
      { not: { not: { field: "revenue" } } },
      [{ path: ["not", "not", "op"], message: OP_LIST }],
    ],
    // segment
    ["a segment id", { segment: "seg_1" }, []],
    ["a segment id of 1 character", { segment: "s" }, []],
    ["a segment id of 100 characters", { segment: "s".repeat(100) }, []],
    ["a segment id of 101 characters", { segment: "s".repeat(101) }, [{ path: ["segment"], message: SEGMENT_ID }]],
    ["an empty segment id", { segment: "" }, [{ path: ["segment"], message: SEGMENT_ID }]],
    ["a segment id that is a number", { segment: 12 }, [{ path: ["segment"], message: SEGMENT_ID }]],
    ["a segment id that is null", { segment: null }, [{ path: ["segment"], message: SEGMENT_ID }]],
    [
      "a segment with an extra key",
      { segment: "", field: "revenue" },
      [
        { path: ["field"], message: 'unexpected key "field"' },
        { path: ["segment"], message: SEGMENT_ID },
      ],
    ],
    // field and op
    [
      "a field that is not a string",
      { field: 3, op: "eq", value: 1 },
      [{ path: ["field"], message: "must be a field name" }],
    ],
    ["a null field", { field: null, op: "isNull" }, [{ path: ["field"], message: "must be a field name" }]],
    ["an unknown op", { field: "revenue", op: "like", value: 1 }, [{ path: ["op"], message: OP_LIST }]],
    ["a missing op", { field: "revenue", value: 1 }, [{ path: ["op"], message: OP_LIST }]],
    [
      "a bad field and a bad op: both, and nothing about the value",
      { field: [], op: "~", value: {} },
      [
        { path: ["field"], message: "must be a field name" },
        { path: ["op"], message: OP_LIST },
      ],
    ],
    ["isNull", { field: "revenue", op: "isNull" }, []],
    ["notNull", { field: "revenue", op: "notNull" }, []],
    [
      "isNull with a value",
      { field: "revenue", op: "isNull", value: 1 },
      [{ path: ["value"], message: 'unexpected key "value"' }],
    ],
    [
      "notNull with two extra keys",
      { field: "revenue", op: "notNull", value: null, why: 1 },
      [
        { path: ["value"], message: 'unexpected key "value"' },
        { path: ["why"], message: 'unexpected key "why"' },
      ],
    ],
    [
      "a comparison without a value",
      { field: "revenue", op: "lte" },
      [{ path: ["value"], message: "is required with op lte" }],
    ],
    ["in without a value", { field: "revenue", op: "in" }, [{ path: ["value"], message: "is required with op in" }]],
    [
      "a comparison with an extra key and no value",
      { field: "revenue", op: "eq", values: [1] },
      [
        { path: ["values"], message: 'unexpected key "values"' },
        { path: ["value"], message: "is required with op eq" },
      ],
    ],
    ["a comparison with an extra key", { ...cmp(1), x: 0 }, [{ path: ["x"], message: 'unexpected key "x"' }]],
    // in
    ["in a list of numbers and strings", { field: "revenue", op: "in", value: [1, "a", 2.5] }, []],
    [
      "in an empty list",
      { field: "revenue", op: "in", value: [] },
      [{ path: ["value"], message: "must be a non-empty list" }],
    ],
    [
      "in a non-list",
      { field: "revenue", op: "in", value: 1 },
      [{ path: ["value"], message: "must be a non-empty list" }],
    ],
    [
      "in a list with bad elements",
      { field: "revenue", op: "in", value: [1, null, "b", { field: "x" }, true] },
      [
        { path: ["value", 1], message: "must be a number or a string" },
        { path: ["value", 3], message: "must be a number or a string" },
        { path: ["value", 4], message: "must be a number or a string" },
      ],
    ],
    // between
    ["between two values", { field: "revenue", op: "between", value: [1, { field: "meanGapDays" }] }, []],
    [
      "between one value",
      { field: "revenue", op: "between", value: [1] },
      [{ path: ["value"], message: "must be [low, high]" }],
    ],
    [
      "between three values",
      { field: "revenue", op: "between", value: [1, 2, 3] },
      [{ path: ["value"], message: "must be [low, high]" }],
    ],
    [
      "between a non-list",
      { field: "revenue", op: "between", value: 1 },
      [{ path: ["value"], message: "must be [low, high]" }],
    ],
    [
      "between with bad bounds",
      { field: "revenue", op: "between", value: [null, { field: 2 }] },
      [
        { path: ["value", 0], message: NOT_A_VALUE },
        { path: ["value", 1, "field"], message: "must be a field name" },
      ],
    ],
    // values
    ["a number", cmp(-1.5), []],
    ["a string", cmp("x"), []],
    ["an infinite number", cmp(Infinity), [{ path: ["value"], message: "must be a finite number" }]],
    ["NaN", cmp(NaN), [{ path: ["value"], message: "must be a finite number" }]],
    ["a null value", cmp(null), [{ path: ["value"], message: NOT_A_VALUE }]],
    ["a boolean value", cmp(true), [{ path: ["value"], message: NOT_A_VALUE }]],
    ["a list value with a comparison", cmp([1]), [{ path: ["value"], message: NOT_A_VALUE }]],
    ["a field reference", cmp({ field: "meanGapDays" }), []],
    [
      "a field reference that is not a string",
      cmp({ field: 1 }),
      [{ path: ["value", "field"], message: "must be a field name" }],
    ],
    [
      "a field reference with an extra key",
      cmp({ field: "meanGapDays", daysAgo: 1 }),
      [{ path: ["value", "daysAgo"], message: 'unexpected key "daysAgo"' }],
    ],
    ["daysAgo 0", cmp({ daysAgo: 0 }), []],
    ["daysAgo 36500", cmp({ daysAgo: 36_500 }), []],
    ["daysAgo 36501", cmp({ daysAgo: 36_501 }), [{ path: ["value", "daysAgo"], message: DAYS }]],
    ["daysAgo -1", cmp({ daysAgo: -1 }), [{ path: ["value", "daysAgo"], message: DAYS }]],
    ["daysAgo 1.5", cmp({ daysAgo: 1.5 }), [{ path: ["value", "daysAgo"], message: DAYS }]],
    ['daysAgo "3"', cmp({ daysAgo: "3" }), [{ path: ["value", "daysAgo"], message: DAYS }]],
    [
      "daysAgo with an extra key",
      cmp({ daysAgo: 3, max: [1] }),
      [{ path: ["value", "max"], message: 'unexpected key "max"' }],
    ],
    ["max, min, add and mul", cmp({ max: [1, { min: [{ field: "a" }, 2] }, { add: [3] }, { mul: [4, 5] }] }), []],
    ["arithmetic with no key", cmp({}), [{ path: ["value"], message: NOT_ARITHMETIC }]],
    ["arithmetic with two keys", cmp({ max: [1], min: [2] }), [{ path: ["value"], message: NOT_ARITHMETIC }]],
    ["an unknown operation", cmp({ pow: [2, 3] }), [{ path: ["value"], message: NOT_ARITHMETIC }]],
    ["max of nothing", cmp({ max: [] }), [{ path: ["value", "max"], message: "must be a non-empty list of values" }]],
    ["mul of a non-list", cmp({ mul: 3 }), [{ path: ["value", "mul"], message: "must be a non-empty list of values" }]],
    [
      "nested bad arguments, each at its path",
      cmp({ add: [1, { min: [null, { field: 1 }, { daysAgo: -2 }] }, Infinity] }),
      [
        { path: ["value", "add", 1, "min", 0], message: NOT_A_VALUE },
        { path: ["value", "add", 1, "min", 1, "field"], message: "must be a field name" },
        { path: ["value", "add", 1, "min", 2, "daysAgo"], message: DAYS },
        { path: ["value", "add", 2], message: "must be a finite number" },
      ],
    ],
  ];

  it.each(cases)("%s", (_, input, expected) => {
    expect(parseRuleShape(input)).toEqual(expected);
  });

  it("reports below a given path, into a given list", () => {
    const issues = [{ path: ["earlier"], message: "kept" }];
    expect(parseRuleShape({ not: 1 }, ["segments", 2], issues)).toBe(issues);
    expect(issues).toEqual([
      { path: ["earlier"], message: "kept" },
      { path: ["segments", 2, "not"], message: NOT_A_RULE },
    ]);
  });
});

describe("ruleSchema: the shape as a zod schema", () => {
  it("reports each problem at its own path", () => {
    const result = ruleSchema.safeParse({ all: [{ field: "revenue", op: "eq" }, 3, { segment: "" }] });
    expect(result.success).toBe(false);
    expect(result.error!.issues.map(({ path, message }) => ({ path, message }))).toEqual([
      { path: ["all", 0, "value"], message: "is required with op eq" },
      { path: ["all", 1], message: NOT_A_RULE },
      { path: ["all", 2, "segment"], message: SEGMENT_ID },
    ]);
    expect(result.error!.issues.every((i) => i.code === "custom")).toBe(true);
  });

  it("passes a well-formed rule through unchanged", () => {
    const rule = { any: [{ field: "revenue", op: "gte", value: { max: [1, { field: "meanGapDays" }] } }] };
    expect(ruleSchema.parse(rule)).toEqual(rule);
  });
});

describe("checkRule: fields, operators and value types", () => {
  const definitions: RuleScope = { definitions: true };
  const stage = (type: FeatureType, values?: string[]): RuleScope => ({
    extraFields: new Map([["stage", values ? { type, values } : { type }]]),
  });
  const stages = stage("string", ["new", "loyal"]);
  const DATE = "expected a date YYYY-MM-DD";

  const cases: [string, Rule, RuleScope | undefined, Issues][] = [
    // Fields
    ["a known number field", { field: "revenue", op: "gt", value: 10 }, undefined, []],
    [
      "an unknown field",
      { field: "nope", op: "eq", value: 1 },
      undefined,
      [{ path: ["field"], message: 'unknown field "nope"' }],
    ],
    [
      "isNull on an unknown field",
      { field: "nope", op: "isNull" },
      undefined,
      [{ path: ["field"], message: 'unknown field "nope"' }],
    ],
    [
      "isNull and notNull on any type",
      {
        all: [
          { field: "acquisitionChannel", op: "isNull" },
          { field: "lastPurchaseDate", op: "notNull" },
        ],
      },
      undefined,
      [],
    ],
    [
      "an unknown field deep inside, at its path",
      { all: [{ field: "revenue", op: "isNull" }, { any: [{ not: { field: "nope", op: "gt", value: 1 } }] }] },
      undefined,
      [{ path: ["all", 1, "any", 0, "not", "field"], message: 'unknown field "nope"' }],
    ],
    [
      "an unknown field inside a value",
      { field: "revenue", op: "gt", value: { field: "nope" } },
      undefined,
      [{ path: ["value", "field"], message: 'unknown field "nope"' }],
    ],
    ["a scope's extra field", { field: "stage", op: "eq", value: "new" }, stage("string"), []],
    [
      "an extra field without the scope",
      { field: "stage", op: "eq", value: "new" },
      undefined,
      [{ path: ["field"], message: 'unknown field "stage"' }],
    ],
    [
      "an extra field in a scope without extra fields",
      { field: "stage", op: "eq", value: "new" },
      definitions,
      [{ path: ["field"], message: 'unknown field "stage"' }],
    ],
    [
      "a feature wins over an extra field of the same name",
      { field: "revenue", op: "gt", value: 1 },
      { extraFields: new Map([["revenue", { type: "string" }]]) },
      [],
    ],
    [
      "an extra number field read as a value",
      { field: "revenue", op: "gt", value: { field: "stage" } },
      stage("number"),
      [],
    ],
    // Types
    [
      "a string for a number field",
      { field: "revenue", op: "gt", value: "10" },
      undefined,
      [{ path: ["value"], message: "expected a number, got a string" }],
    ],
    [
      "a number for a date field",
      { field: "lastPurchaseDate", op: "lt", value: 5 },
      undefined,
      [{ path: ["value"], message: "expected a date value, got a number" }],
    ],
    [
      "a number for a string field",
      { field: "acquisitionChannel", op: "eq", value: 5 },
      undefined,
      [{ path: ["value"], message: "expected a string value, got a number" }],
    ],
    [
      "a date field compared with a date field",
      { field: "lastPurchaseDate", op: "gt", value: { field: "firstSeenDate" } },
      undefined,
      [],
    ],
    [
      "a number field compared with a date field",
      { field: "revenue", op: "gt", value: { field: "lastPurchaseDate" } },
      undefined,
      [{ path: ["value", "field"], message: "lastPurchaseDate is a date, expected a number" }],
    ],
    [
      "a string field compared with a number field",
      { field: "acquisitionChannel", op: "neq", value: { field: "revenue" } },
      undefined,
      [{ path: ["value", "field"], message: "revenue is a number, expected a string" }],
    ],
    ["eq on a string field", { field: "acquisitionChannel", op: "eq", value: "email" }, undefined, []],
    ["neq on a string field", { field: "acquisitionChannel", op: "neq", value: "email" }, undefined, []],
    ...(["lt", "lte", "gt", "gte"] as const).map((op): [string, Rule, RuleScope | undefined, Issues] => [
      `${op} on a string field`,
      { field: "acquisitionChannel", op, value: "email" },
      undefined,
      [{ path: ["op"], message: `${op} applies to number and date fields; use eq, neq or in` }],
    ]),
    ["in on a string field", { field: "acquisitionChannel", op: "in", value: ["email", "ads"] }, undefined, []],
    [
      "in with a wrong-typed element",
      { field: "revenue", op: "in", value: [1, "2", 3, "x"] },
      undefined,
      [
        { path: ["value", 1], message: "expected a number, got a string" },
        { path: ["value", 3], message: "expected a number, got a string" },
      ],
    ],
    [
      "between on a string field",
      { field: "acquisitionChannel", op: "between", value: ["a", "b"] },
      undefined,
      [{ path: ["op"], message: "between applies to number and date fields" }],
    ],
    [
      "between on a number field",
      { field: "revenue", op: "between", value: [1, { field: "meanGapDays" }] },
      undefined,
      [],
    ],
    [
      "between on a date field",
      { field: "lastPurchaseDate", op: "between", value: ["2025-01-01", "2025-12-31"] },
      undefined,
      [],
    ],
    [
      "between with wrong-typed bounds",
      { field: "revenue", op: "between", value: ["1", { field: "acquisitionChannel" }] },
      undefined,
      [
        { path: ["value", 0], message: "expected a number, got a string" },
        { path: ["value", 1, "field"], message: "acquisitionChannel is a string, expected a number" },
      ],
    ],
    // Dates
    ["a real day", { field: "lastPurchaseDate", op: "gte", value: "2024-02-29" }, undefined, []],
    [
      "the first and last day of a year",
      { field: "lastPurchaseDate", op: "between", value: ["2025-01-01", "2025-12-31"] },
      undefined,
      [],
    ],
    [
      "February 30th",
      { field: "lastPurchaseDate", op: "gte", value: "2025-02-30" },
      undefined,
      [{ path: ["value"], message: DATE }],
    ],
    [
      "February 29th of a common year",
      { field: "lastPurchaseDate", op: "gte", value: "2025-02-29" },
      undefined,
      [{ path: ["value"], message: DATE }],
    ],
    [
      "April 31st",
      { field: "lastPurchaseDate", op: "gte", value: "2025-04-31" },
      undefined,
      [{ path: ["value"], message: DATE }],
    ],
    [
      "month 13",
      { field: "lastPurchaseDate", op: "gte", value: "2025-13-01" },
      undefined,
      [{ path: ["value"], message: DATE }],
    ],
    [
      "day 0",
      { field: "lastPurchaseDate", op: "gte", value: "2025-01-00" },
      undefined,
      [{ path: ["value"], message: DATE }],
    ],
    [
      "a one-digit month",
      { field: "lastPurchaseDate", op: "gte", value: "2025-1-01" },
      undefined,
      [{ path: ["value"], message: DATE }],
    ],
    [
      "a date with a time",
      { field: "lastPurchaseDate", op: "gte", value: "2025-01-01T00:00:00Z" },
      undefined,
      [{ path: ["value"], message: DATE }],
    ],
    [
      "a date with a prefix",
      { field: "lastPurchaseDate", op: "gte", value: "x2025-01-01" },
      undefined,
      [{ path: ["value"], message: DATE }],
    ],
    [
      "a year past 9999 in extended form",
      { field: "lastPurchaseDate", op: "gte", value: "+012025-01-01" },
      undefined,
      [{ path: ["value"], message: DATE }],
    ],
    [
      "a word",
      { field: "lastPurchaseDate", op: "gte", value: "yesterday" },
      undefined,
      [{ path: ["value"], message: DATE }],
    ],
    [
      "a bad bound of between",
      { field: "lastPurchaseDate", op: "between", value: ["2025-01-01", "2025-02-30"] },
      undefined,
      [{ path: ["value", 1], message: DATE }],
    ],
    [
      "a date-like string for a string field",
      { field: "acquisitionChannel", op: "eq", value: "2025-02-30" },
      undefined,
      [],
    ],
    // daysAgo
    [
      "daysAgo outside definitions",
      { field: "lastPurchaseDate", op: "gte", value: { daysAgo: 30 } },
      undefined,
      [{ path: ["value", "daysAgo"], message: "relative dates are only allowed in segment definitions" }],
    ],
    [
      "daysAgo with definitions false",
      { field: "lastPurchaseDate", op: "gte", value: { daysAgo: 30 } },
      { definitions: false },
      [{ path: ["value", "daysAgo"], message: "relative dates are only allowed in segment definitions" }],
    ],
    ["daysAgo in a definition", { field: "lastPurchaseDate", op: "gte", value: { daysAgo: 30 } }, definitions, []],
    [
      "daysAgo on a number field",
      { field: "revenue", op: "gte", value: { daysAgo: 30 } },
      definitions,
      [{ path: ["value", "daysAgo"], message: "daysAgo is a date, expected a number" }],
    ],
    [
      "daysAgo on a string field",
      { field: "acquisitionChannel", op: "eq", value: { daysAgo: 30 } },
      definitions,
      [{ path: ["value", "daysAgo"], message: "daysAgo is a date, expected a string" }],
    ],
    [
      "daysAgo as a bound of between",
      { field: "lastPurchaseDate", op: "between", value: [{ daysAgo: 60 }, { daysAgo: 0 }] },
      definitions,
      [],
    ],
    // segment
    [
      "a segment outside definitions",
      { segment: "s1" },
      undefined,
      [{ path: ["segment"], message: "segment references are only allowed in segment definitions" }],
    ],
    [
      "a segment with definitions false",
      { not: { segment: "s1" } },
      { definitions: false },
      [{ path: ["not", "segment"], message: "segment references are only allowed in segment definitions" }],
    ],
    [
      "a segment in a definition",
      { all: [{ segment: "s1" }, { field: "revenue", op: "gt", value: 1 }] },
      definitions,
      [],
    ],
    // Arithmetic
    [
      "arithmetic over numbers",
      { field: "revenue", op: "gt", value: { max: [60, { mul: [3, { field: "meanGapDays" }] }] } },
      undefined,
      [],
    ],
    [
      "arithmetic for a date field",
      { field: "lastPurchaseDate", op: "gt", value: { max: [1, 2] } },
      undefined,
      [{ path: ["value", "max"], message: "max computes numbers, expected a date" }],
    ],
    [
      "arithmetic for a string field",
      { field: "acquisitionChannel", op: "eq", value: { add: [1] } },
      undefined,
      [{ path: ["value", "add"], message: "add computes numbers, expected a string" }],
    ],
    [
      "bad arguments of arithmetic, each at its path",
      {
        field: "revenue",
        op: "gt",
        value: { min: [1, "x", { field: "lastPurchaseDate" }, { mul: [{ field: "zz" }] }] },
      },
      undefined,
      [
        { path: ["value", "min", 1], message: "expected a number, got a string" },
        { path: ["value", "min", 2, "field"], message: "lastPurchaseDate is a date, expected a number" },
        { path: ["value", "min", 3, "mul", 0, "field"], message: 'unknown field "zz"' },
      ],
    ],
    // Allowed values
    ["an allowed value", { field: "stage", op: "eq", value: "loyal" }, stages, []],
    [
      "a value not allowed",
      { field: "stage", op: "neq", value: "vip" },
      stages,
      [{ path: ["value"], message: "expected one of new, loyal" }],
    ],
    [
      "in with a value not allowed",
      { field: "stage", op: "in", value: ["new", "vip"] },
      stages,
      [{ path: ["value", 1], message: "expected one of new, loyal" }],
    ],
    [
      "a number for a field with allowed values",
      { field: "stage", op: "eq", value: 1 },
      stages,
      [{ path: ["value"], message: "expected a string value, got a number" }],
    ],
    ["any value for a string field without a list", { field: "stage", op: "eq", value: "vip" }, stage("string"), []],
  ];

  it.each(cases)("%s", (_, rule, scope, expected) => {
    expect(checkRule(rule, scope)).toEqual(expected);
  });

  it("reports below a given path", () => {
    expect(checkRule({ field: "nope", op: "isNull" }, {}, ["stages", 0, "rule"])).toEqual([
      { path: ["stages", 0, "rule", "field"], message: 'unknown field "nope"' },
    ]);
  });

  it("collects every issue of a rule, in order", () => {
    const rule: Rule = {
      all: [
        { field: "acquisitionChannel", op: "gt", value: "a" },
        { field: "revenue", op: "between", value: ["1", "2"] },
        { segment: "s" },
      ],
    };
    expect(checkRule(rule)).toEqual([
      { path: ["all", 0, "op"], message: "gt applies to number and date fields; use eq, neq or in" },
      { path: ["all", 1, "value", 0], message: "expected a number, got a string" },
      { path: ["all", 1, "value", 1], message: "expected a number, got a string" },
      { path: ["all", 2, "segment"], message: "segment references are only allowed in segment definitions" },
    ]);
  });
});

describe("fieldsOf: the fields a rule reads", () => {
  const cases: [string, Rule, string[]][] = [
    ["a comparison with a constant", { field: "revenue", op: "eq", value: "meanGapDays" }, ["revenue"]],
    ["isNull", { field: "revenue", op: "isNull" }, ["revenue"]],
    [
      "nested all, any and not",
      {
        all: [
          { field: "revenue", op: "gt", value: 1 },
          { any: [{ not: { field: "purchaseDays", op: "isNull" } }, { field: "revenue", op: "lt", value: 9 }] },
        ],
      },
      ["revenue", "purchaseDays"],
    ],
    [
      "a field as the value",
      { field: "revenue", op: "gt", value: { field: "meanGapDays" } },
      ["revenue", "meanGapDays"],
    ],
    [
      "fields inside arithmetic",
      {
        field: "recencyDays",
        op: "gt",
        value: { max: [60, { mul: [3, { field: "meanGapDays" }] }, { add: [{ field: "tenureDays" }] }] },
      },
      ["recencyDays", "meanGapDays", "tenureDays"],
    ],
    [
      "fields inside min",
      { field: "recencyDays", op: "lt", value: { min: [{ field: "tenureDays" }, 5] } },
      ["recencyDays", "tenureDays"],
    ],
    [
      "both bounds of between",
      {
        field: "revenue",
        op: "between",
        value: [{ field: "averageOrderValue" }, { add: [{ field: "firstPurchaseRevenue" }, 1] }],
      },
      ["revenue", "averageOrderValue", "firstPurchaseRevenue"],
    ],
    [
      "in: the values are constants",
      { field: "acquisitionChannel", op: "in", value: ["revenue", "purchaseDays"] },
      ["acquisitionChannel"],
    ],
    ["in a list of numbers", { field: "revenue", op: "in", value: [1, 2] }, ["revenue"]],
    ["a segment reads nothing", { segment: "revenue" }, []],
    ["daysAgo reads nothing", { field: "lastPurchaseDate", op: "gt", value: { daysAgo: 3 } }, ["lastPurchaseDate"]],
    ["a segment beside a comparison", { any: [{ segment: "s" }, { field: "revenue", op: "isNull" }] }, ["revenue"]],
  ];

  it.each(cases)("%s", (_, rule, expected) => {
    expect([...fieldsOf(rule)]).toEqual(expected);
  });
});

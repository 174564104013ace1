// Event types in configuration and their features in the catalog and the rule language: names, columns,
// which values count, and the errors a misspelt type gets (the SQL is held to a reference in
// test/sql/event-features.spec.ts).
import { describe, expect, it } from "vitest";
import {
  eventFeatureSpec,
  eventTypesSchema,
  featureCatalog,
  FEATURES,
  featureSpec,
  parseEventFeatureField,
} from "../../src/lifecycle/features.ts";
import { compilePredicate } from "../../src/lifecycle/rule-predicate.ts";
import { checkRule } from "../../src/lifecycle/rules.ts";

describe("events.types in CLM_CONFIG", () => {
  it("takes a list of events.type values, each its own type", () => {
    expect(eventTypesSchema.parse(["visit", "lead"])).toEqual([
      { key: "visit", values: ["visit"] },
      { key: "lead", values: ["lead"] },
    ]);
  });

  it("takes names mapped to the warehouse values that count as each, repeats removed", () => {
    expect(eventTypesSchema.parse({ lead: ["lead", "Contact Form", "lead"], visit: ["page_view"] })).toEqual([
      { key: "lead", values: ["lead", "Contact Form"] },
      { key: "visit", values: ["page_view"] },
    ]);
  });

  it("refuses names that are not lower-case identifiers, a type listed twice, and a type with no values", () => {
    expect(eventTypesSchema.safeParse(["Visit"]).success).toBe(false);
    expect(eventTypesSchema.safeParse(["quote-request"]).success).toBe(false);
    expect(eventTypesSchema.safeParse(["1st"]).success).toBe(false);
    expect(eventTypesSchema.safeParse([`a${"b".repeat(39)}`]).success).toBe(true);
    expect(eventTypesSchema.safeParse([`a${"b".repeat(40)}`]).success).toBe(false);
    const twice = eventTypesSchema.safeParse(["lead", "visit", "lead"]);
    expect(twice.error?.issues.map((i) => [i.path, i.message])).toEqual([[[2], "lead is listed twice"]]);
    expect(eventTypesSchema.safeParse({ lead: [] }).error?.issues[0]?.message).toBe(
      "needs at least one events.type value",
    );
    const tooMany = eventTypesSchema.safeParse(Array.from({ length: 51 }, (_, i) => `t${i}`));
    expect(tooMany.error?.issues.map((i) => [i.code, i.path, i.message])).toEqual([
      ["custom", [], "at most 50 event types"],
    ]);
    expect(twice.error?.issues[0]?.code).toBe("custom");
    expect(eventTypesSchema.safeParse(Array.from({ length: 50 }, (_, i) => `t${i}`)).success).toBe(true);
  });
});

describe("event features in the catalog", () => {
  it("adds five features per configured type after the fixed ones, with SQL column names", () => {
    const catalog = featureCatalog([{ key: "quote_request", values: ["quote"] }]);
    expect(catalog.slice(0, FEATURES.length)).toEqual(FEATURES);
    expect(catalog.slice(FEATURES.length).map((f) => [f.field, f.column, f.type, f.requires])).toEqual([
      ["events.quote_request.count", "event_quote_request_count", "number", "events"],
      ["events.quote_request.firstDate", "event_quote_request_first_date", "date", "events"],
      ["events.quote_request.lastDate", "event_quote_request_last_date", "date", "events"],
      ["events.quote_request.daysSinceFirst", "event_quote_request_days_since_first", "number", "events"],
      ["events.quote_request.daysSinceLast", "event_quote_request_days_since_last", "number", "events"],
    ]);
    expect(featureCatalog([])).toEqual(FEATURES);
  });

  it("reads an event field's type and measure from its name, and nothing else as one", () => {
    expect(parseEventFeatureField("events.lead.daysSinceLast")).toEqual({ key: "lead", measure: "daysSinceLast" });
    for (const name of [
      "events.lead.total",
      "events.lead.constructor",
      "events.Lead.count",
      "events..count",
      "event.lead.count",
      "events.lead.count.x",
      "xevents.lead.count",
      "purchaseDays",
    ])
      expect(parseEventFeatureField(name), name).toBeUndefined();
    expect(eventFeatureSpec("events.lead.count")).toMatchObject({ type: "number", whole: true, unit: "count" });
    expect(eventFeatureSpec("events.lead.firstDate")).toMatchObject({ type: "date" });
    expect(eventFeatureSpec("lastEventType")).toBeUndefined();
    // One lookup for both kinds, as rules compiled to SQL and the features service use it.
    expect(featureSpec("recencyDays")).toMatchObject({ column: "recency_days", type: "number" });
    expect(featureSpec("events.lead.lastDate")).toMatchObject({ column: "event_lead_last_date", type: "date" });
    expect(featureSpec("events.lead.total")).toBeUndefined();
    expect(featureSpec("stage")).toBeUndefined();
  });

  it("are typed in rules: days are numbers, first and last are dates", () => {
    const scope = { eventTypes: new Set(["lead"]) };
    expect(checkRule({ field: "events.lead.daysSinceFirst", op: "gte", value: 14 }, scope)).toEqual([]);
    expect(checkRule({ field: "events.lead.lastDate", op: "gte", value: "2026-01-01" }, scope)).toEqual([]);
    expect(checkRule({ field: "events.lead.lastDate", op: "gte", value: 3 }, scope)).not.toEqual([]);
    expect(checkRule({ field: "recencyDays", op: "lt", value: { field: "events.lead.daysSinceLast" } }, scope)).toEqual(
      [],
    );
    expect(
      checkRule({ field: "recencyDays", op: "lt", value: { field: "events.visit.daysSinceLast" } }, scope),
    ).toEqual([
      {
        path: ["value", "field"],
        message: `unknown field "events.visit.daysSinceLast": event type visit is not in CLM_CONFIG's events.types`,
      },
    ]);
    expect(checkRule({ field: "events.lead.count", op: "gte", value: 1 })).toEqual([
      {
        path: ["field"],
        message: `unknown field "events.lead.count": event type lead is not in CLM_CONFIG's events.types`,
      },
    ]);
  });

  it("are read by compiled rules under their dotted names", () => {
    const interested = compilePredicate({
      all: [
        { field: "events.lead.count", op: "gte", value: 1 },
        { field: "events.lead.daysSinceFirst", op: "gt", value: 14 },
      ],
    });
    expect(interested({ "events.lead.count": 2, "events.lead.daysSinceFirst": 15 })).toBe(true);
    expect(interested({ "events.lead.count": 2, "events.lead.daysSinceFirst": 14 })).toBe(false);
    expect(interested({ "events.lead.count": 0, "events.lead.daysSinceFirst": null })).toBe(false);
  });
});

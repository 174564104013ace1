// RFM codes and segments (src/lifecycle/rfm.ts) without a warehouse: the 125 codes, the default map from
// the CLM literature, the checks on a map of one's own and the segment SQL. The quintile scoring itself
// runs in the warehouse and is pinned in test/sql/rfm.spec.ts.
import { describe, expect, it } from "vitest";
import { duckdbDialect } from "../../src/connectors/duckdb.ts";
import { ALL_RFM_CODES, DEFAULT_RFM_SEGMENTS, RfmSegments, rfmSegmentsSchema } from "../../src/lifecycle/rfm.ts";
import { ident, render } from "../../src/sql/sql.ts";

/** A valid map of one's own: 555 alone is "best", every other code is "rest". */
function twoSegments(): Record<string, string[]> {
  return { best: ["555"], rest: ALL_RFM_CODES.filter((c) => c !== "555") };
}

describe("RFM codes and the default segments", () => {
  it("has the 125 codes 111 to 555, recency first", () => {
    expect(ALL_RFM_CODES).toHaveLength(125);
    expect(ALL_RFM_CODES.slice(0, 6)).toEqual(["111", "112", "113", "114", "115", "121"]);
    expect(ALL_RFM_CODES.at(-1)).toBe("555");
    expect(new Set(ALL_RFM_CODES).size).toBe(125);
  });

  it("puts every code in exactly one default segment", () => {
    expect(rfmSegmentsSchema.safeParse(DEFAULT_RFM_SEGMENTS).error).toBeUndefined();
  });

  it("names the segment of a score by its code", () => {
    const segments = new RfmSegments();
    expect(segments.keys).toEqual([
      "champions",
      "loyal",
      "potential_loyalist",
      "new",
      "promising",
      "need_attention",
      "about_to_sleep",
      "at_risk",
      "cant_lose",
      "hibernating",
      "lost",
    ]);
    // [recency, frequency, monetary, segment], read off the map by hand.
    const cases: [number, number, number, string][] = [
      [5, 5, 5, "champions"],
      [4, 4, 5, "champions"],
      [5, 4, 3, "loyal"],
      [5, 5, 1, "potential_loyalist"],
      [5, 1, 1, "new"],
      [5, 2, 5, "promising"],
      [3, 4, 3, "need_attention"],
      [3, 3, 1, "about_to_sleep"],
      [2, 5, 5, "at_risk"],
      [1, 5, 5, "cant_lose"],
      [2, 2, 2, "hibernating"],
      [1, 1, 1, "lost"],
    ];
    for (const [r, f, m, segment] of cases) {
      expect(segments.score(r, f, m)).toEqual({
        recency: r,
        frequency: f,
        monetary: m,
        code: `${r}${f}${m}`,
        segment,
      });
    }
  });

  it("scores with a map of one's own", () => {
    const segments = new RfmSegments(twoSegments());
    expect(segments.keys).toEqual(["best", "rest"]);
    expect(segments.score(5, 5, 5).segment).toBe("best");
    expect(segments.score(5, 5, 4)).toEqual({ recency: 5, frequency: 5, monetary: 4, code: "554", segment: "rest" });
  });
});

describe("a map of one's own (CLM_CONFIG rfmSegments)", () => {
  it("accepts a map covering every code once", () => {
    expect(rfmSegmentsSchema.parse(twoSegments())).toEqual(twoSegments());
  });

  it("names a code that is not an RFM code, where it stands", () => {
    const map = twoSegments();
    map.best!.push("556", "011");
    expect(rfmSegmentsSchema.safeParse(map).error!.issues).toEqual([
      { code: "custom", path: ["best", 1], message: '"556" is not an RFM code (111–555)' },
      { code: "custom", path: ["best", 2], message: '"011" is not an RFM code (111–555)' },
    ]);
  });

  it("names a code listed twice, at its second place, with the segment that has it", () => {
    const map = twoSegments();
    map.rest!.push("555");
    expect(rfmSegmentsSchema.safeParse(map).error!.issues).toEqual([
      { code: "custom", path: ["rest", 124], message: "555 is already in best" },
    ]);
  });

  it("lists the codes in no segment", () => {
    const map = twoSegments();
    map.rest = map.rest!.filter((c) => c !== "111" && c !== "345");
    expect(rfmSegmentsSchema.safeParse(map).error!.issues).toEqual([
      { code: "custom", path: [], message: "codes in no segment: 111, 345" },
    ]);
  });
});

describe("the segment SQL", () => {
  it("maps each segment's codes, bound as text parameters, to the segment name", () => {
    const segments = new RfmSegments({ top: ["555", "554"], rest: ["111"] });
    const { text, params } = render(segments.segmentSql(ident("r", "code")), duckdbDialect);
    expect(text).toBe(
      'CASE WHEN "r"."code" IN (CAST($1 AS VARCHAR), CAST($2 AS VARCHAR)) THEN CAST($3 AS VARCHAR)' +
        ' WHEN "r"."code" IN (CAST($4 AS VARCHAR)) THEN CAST($5 AS VARCHAR) END',
    );
    expect(params.map((p) => p.value)).toEqual(["555", "554", "top", "111", "rest"]);
  });
});

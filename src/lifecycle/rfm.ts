// RFM: recency, frequency and monetary scores 1–5 (5 best) over the buying customers as of a day, the
// three-digit code and its named segment.
//
// Scores are rank-based quintiles that ties cannot split: a buyer's score is
//   1 + floor(5 × (buyers strictly worse on that measure) / buyers)
// so equal values always get equal scores, whatever the row order. Worse means: a longer time since the
// last purchase day (recency), fewer purchase days (frequency), less revenue (monetary). Revenue is
// ranked in millionths of the currency (monetaryKeySql): with float amounts (BigQuery FLOAT64, a
// PostgreSQL double) 0.01 + 0.01 + 0.28 is 0.30000000000000004, not 0.3, and equal revenues must tie.
import { z } from "zod";
import { cast, comparisonOperator, ident, integer, join, keyword, sql, type Sql } from "../sql/sql.ts";

export type RfmSegmentMap = Readonly<Record<string, readonly string[]>>;

/** The default map from the CLM literature: every one of the 125 codes in exactly one segment. */
// prettier-ignore
export const DEFAULT_RFM_SEGMENTS: RfmSegmentMap = {
  champions: ["555", "554", "544", "545", "454", "455", "445"],
  loyal: ["543", "444", "435", "355", "354", "345", "344", "335"],
  potential_loyalist: ["553", "551", "552", "541", "542", "533", "532", "531", "452", "451", "442", "441", "431", "453",
    "433", "432", "423", "353", "352", "351", "342", "341", "333", "323"],
  new: ["512", "511", "422", "421", "412", "411", "311"],
  promising: ["525", "524", "523", "522", "521", "515", "514", "513", "425", "424", "413", "414", "415", "315", "314", "313"],
  need_attention: ["535", "534", "443", "434", "343", "334", "325", "324"],
  about_to_sleep: ["331", "321", "312", "221", "213", "231", "241", "251"],
  at_risk: ["255", "254", "245", "244", "253", "252", "243", "242", "235", "234", "225", "224", "153", "152", "145", "143",
    "142", "135", "134", "133", "125", "124"],
  cant_lose: ["155", "154", "144", "214", "215", "115", "114", "113"],
  hibernating: ["332", "322", "233", "232", "223", "222", "132", "123", "122", "212", "211"],
  lost: ["111", "112", "121", "131", "141", "151"],
};

export const ALL_RFM_CODES: readonly string[] = [1, 2, 3, 4, 5].flatMap((r) =>
  [1, 2, 3, 4, 5].flatMap((f) => [1, 2, 3, 4, 5].map((m) => `${r}${f}${m}`)),
);

/** CLM_CONFIG's `rfmSegments`: segment key → codes; every code must be in exactly one segment. */
export const rfmSegmentsSchema = z
  .record(z.string().regex(/^[a-z][a-z0-9_]{0,39}$/, "must be lower-case letters, digits and _"), z.array(z.string()))
  .superRefine((map, ctx) => {
    const seen = new Map<string, string>();
    for (const [segment, codes] of Object.entries(map)) {
      codes.forEach((code, i) => {
        if (!ALL_RFM_CODES.includes(code)) {
          ctx.addIssue({
            code: "custom",
            path: [segment, i],
            message: `${JSON.stringify(code)} is not an RFM code (111–555)`,
          });
        } else if (seen.has(code)) {
          ctx.addIssue({ code: "custom", path: [segment, i], message: `${code} is already in ${seen.get(code)}` });
        } else seen.set(code, segment);
      });
    }
    const missing = ALL_RFM_CODES.filter((code) => !seen.has(code));
    if (missing.length > 0)
      ctx.addIssue({ code: "custom", path: [], message: `codes in no segment: ${missing.join(", ")}` });
  });

export interface RfmScore {
  readonly recency: number;
  readonly frequency: number;
  readonly monetary: number;
  readonly code: string;
  readonly segment: string;
}

export class RfmSegments {
  private readonly byCode: ReadonlyMap<string, string>;

  constructor(readonly map: RfmSegmentMap = DEFAULT_RFM_SEGMENTS) {
    this.byCode = new Map(
      Object.entries(map).flatMap(([segment, codes]) => codes.map((code) => [code, segment] as const)),
    );
  }

  get keys(): string[] {
    return Object.keys(this.map);
  }

  score(recency: number, frequency: number, monetary: number): RfmScore {
    const code = `${recency}${frequency}${monetary}`;
    return { recency, frequency, monetary, code, segment: this.byCode.get(code)! };
  }

  /** SQL naming the segment of the code in `code` (a 3-character text), codes bound as parameters. */
  segmentSql(code: Sql): Sql {
    const whens = Object.entries(this.map).map(
      ([segment, codes]) =>
        sql` WHEN ${code} IN (${join(codes.map((c) => cast(c, "text")))}) THEN ${cast(segment, "text")}`,
    );
    return sql`CASE${join(whens, "")} END`;
  }
}

/**
 * The quintile score SQL: 1 + floor(5 × (rank − 1) / n), ranked from the worst value up (ties share a rank),
 * within each `partition` when given (buyers as of each day of a series).
 */
export function quintileSql(worstFirst: Sql, partition?: Sql): Sql {
  const over = partition ? sql`PARTITION BY ${partition}` : sql``;
  const rank = sql`RANK() OVER (${partition ? sql`${over} ` : sql``}ORDER BY ${worstFirst})`;
  return cast(sql`1 + FLOOR(${cast(sql`5 * (${rank} - 1)`, "float")} / COUNT(*) OVER (${over}))`, "int");
}

/**
 * The revenue as RFM ranks it: whole millionths of the currency, rounded half up by FLOOR(v + 0.5)
 * (ROUND breaks ties differently per warehouse). Float summation noise is far below a millionth, and
 * amounts finer than that are not money.
 */
export function monetaryKeySql(revenue: Sql): Sql {
  return sql`FLOOR(1000000 * ${cast(revenue, "float")} + 0.5)`;
}

/** The three measures RFM scores, in code order. */
export const RFM_MEASURES = ["recency", "frequency", "monetary"] as const;
export type RfmMeasure = (typeof RFM_MEASURES)[number];

/**
 * Where each score begins, per measure, over one population of buyers: index s − 1 holds the least
 * good value scored s (recency: the most days since the last purchase day; frequency: the fewest purchase
 * days; monetary: the least revenue key), null where no buyer scored s. A score is monotone in its
 * measure and equal values share it, so a buyer of that population scores the highest s whose bound
 * their value reaches: the same score as the ranks give, from 15 numbers instead of a row per buyer.
 */
export type RfmBounds = Readonly<Record<RfmMeasure, readonly (number | null)[]>>;

/** Each measure's value as RFM ranks it, from a buyer's recency days, purchase days and revenue. */
export function rfmValuesSql(recencyDays: Sql, purchaseDays: Sql, revenue: Sql): Record<RfmMeasure, Sql> {
  return { recency: recencyDays, frequency: purchaseDays, monetary: monetaryKeySql(revenue) };
}

/** The revenue key of monetaryKeySql, in JavaScript (the same IEEE double arithmetic). */
export function monetaryKey(revenue: number): number {
  return Math.floor(1000000 * revenue + 0.5);
}

/** Fewer days since the last purchase is better; for the others, more is. */
const BETTER_IS_SMALLER: Record<RfmMeasure, boolean> = { recency: true, frequency: false, monetary: false };

/**
 * SQL of the bounds of `buyers` (a relation with columns recency, frequency and monetary as
 * rfmValuesSql gives them): rows (measure, score, bound).
 */
export function rfmBoundsSql(buyers: Sql): Sql {
  const parts = RFM_MEASURES.map((measure) => {
    const column = ident(measure);
    const smaller = BETTER_IS_SMALLER[measure];
    return sql`SELECT ${cast(measure, "text")} AS measure, score, ${keyword(smaller ? "MAX" : "MIN")}(${column}) AS bound
FROM (SELECT ${column}, ${quintileSql(sql`${column} ${keyword(smaller ? "DESC" : "ASC")}`)} AS score FROM b) AS q
GROUP BY score`;
  });
  return sql`WITH b AS (${buyers})
${join(parts, " UNION ALL ")}`;
}

/** Bounds from rfmBoundsSql's rows. */
export function rfmBoundsOf(rows: readonly { measure: unknown; score: unknown; bound: unknown }[]): RfmBounds {
  const bounds = Object.fromEntries(RFM_MEASURES.map((m) => [m, [null, null, null, null, null]])) as Record<
    RfmMeasure,
    (number | null)[]
  >;
  for (const r of rows) bounds[r.measure as RfmMeasure][Number(r.score) - 1] = Number(r.bound);
  return bounds;
}

/** A buyer's score on one measure from the bounds of their population. */
export function rfmScoreOf(bounds: RfmBounds, measure: RfmMeasure, value: number): number {
  const list = bounds[measure];
  for (let score = 5; score > 1; score--) {
    const bound = list[score - 1];
    if (bound !== null && bound !== undefined && (BETTER_IS_SMALLER[measure] ? value <= bound : value >= bound))
      return score;
  }
  return 1;
}

/** SQL of a buyer's score on one measure, `bound(i)` reading the bound of score i + 1 (NULL when none). */
export function rfmScoreSql(measure: RfmMeasure, value: Sql, bound: (index: number) => Sql): Sql {
  const reaches = comparisonOperator(BETTER_IS_SMALLER[measure] ? "<=" : ">=");
  const whens = [4, 3, 2, 1].map((i) => sql` WHEN ${value} ${reaches} ${bound(i)} THEN ${integer(i + 1)}`);
  return sql`(CASE${join(whens, "")} ELSE 1 END)`;
}

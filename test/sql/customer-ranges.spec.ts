// A question over every customer split into customer-id ranges gives what it gives in one query: the
// features restricted to ranges cut at any ids are every customer's features once, in id order, on every
// warehouse; the export read range by range is byte for byte the export read in one query.
import fc from "fast-check";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { CustomerRange } from "../../src/lifecycle/features-sql.ts";
import { sql } from "../../src/sql/sql.ts";
import { defaultStageModel } from "../../src/lifecycle/stage-model.ts";
import type { Rule } from "../../src/lifecycle/rules.ts";
import { memberCsvParts } from "../../src/server/export.ts";
import { ALL_CUSTOMERS, customerRanges, rangesBetween } from "../../src/services/customer-ranges.ts";
import { LifecycleService } from "../../src/services/lifecycle/service.ts";
import { SegmentService } from "../../src/services/segments.ts";
import { testWarehouses, type TestWarehouse } from "../helpers/databases.ts";
import { DEMO_END_DATE, openDemoWarehouse } from "../helpers/server.ts";

const CUSTOMERS = 300;

describe("rangesBetween", () => {
  it("cuts the id space at each bound: below the first, between neighbours, from the last", () => {
    expect(rangesBetween([])).toEqual(ALL_CUSTOMERS);
    expect(rangesBetween(["m"])).toEqual([{ below: "m" }, { from: "m" }]);
    expect(rangesBetween(["b", "d", "f"])).toEqual([
      { below: "b" },
      { from: "b", below: "d" },
      { from: "d", below: "f" },
      { from: "f" },
    ]);
  });
});

describe.each(testWarehouses())("customer id ranges on $label", (factory) => {
  let warehouse: TestWarehouse;
  let lifecycle: LifecycleService;
  let all: Record<string, unknown>[];

  const featuresIn = (range: CustomerRange) =>
    warehouse.query(
      sql`SELECT f.* FROM (${lifecycle.features(DEMO_END_DATE, undefined, { customerRange: range })}) AS f ORDER BY f.customer_id`,
    );

  beforeAll(async () => {
    ({ warehouse } = await openDemoWarehouse(CUSTOMERS, factory));
    lifecycle = await LifecycleService.open(warehouse, defaultStageModel(), "UTC");
    all = await featuresIn({});
  });
  afterAll(async () => {
    await warehouse?.close();
  });

  it("gives every customer's features once, in id order, for ranges cut at any ids", async () => {
    const ids = all.map((row) => String(row.customer_id));
    expect(ids.length).toBeGreaterThan(CUSTOMERS / 2);
    // Bounds at known ids (in the warehouse's own order, which the full query's ORDER BY gave) and at
    // ids between them (an id with a suffix sorts right after it in every collation used here).
    const bound = fc.oneof(
      fc.nat({ max: ids.length - 1 }).map((i) => ({ at: i, text: ids[i]! })),
      fc.nat({ max: ids.length - 1 }).map((i) => ({ at: i + 0.5, text: `${ids[i]!}5` })),
    );
    await fc.assert(
      fc.asyncProperty(fc.uniqueArray(bound, { maxLength: 4, selector: (b) => b.at }), async (cuts) => {
        const bounds = [...cuts].sort((a, b) => a.at - b.at).map((b) => b.text);
        const parts: Record<string, unknown>[] = [];
        for (const range of rangesBetween(bounds)) parts.push(...(await featuresIn(range)));
        expect(parts).toEqual(all);
      }),
      { numRuns: 12, seed: 20261205 },
    );
  });

  it("splits on the embedded warehouse only, into ascending ranges of about the size asked", async () => {
    const ranges = await customerRanges(warehouse, lifecycle.available, { perRange: 60 });
    if (warehouse.kind !== "duckdb") {
      expect(ranges).toEqual(ALL_CUSTOMERS);
      return;
    }
    expect(ranges.length).toBe(Math.ceil(CUSTOMERS / 60));
    const bounds = ranges.slice(1).map((r) => r.from!);
    expect(bounds).toEqual([...bounds].sort());
    expect(new Set(bounds).size).toBe(bounds.length);
    for (const range of ranges) expect((await featuresIn(range)).length).toBeGreaterThan(0);
    expect(await customerRanges(warehouse, lifecycle.available, { perRange: 1e9 })).toEqual(ALL_CUSTOMERS);
  });

  it("exports the same bytes range by range as in one query", async () => {
    const read = async (rule: Rule, perRange: number) => {
      const chunks: Buffer[] = [];
      let rows = 0;
      const parts = memberCsvParts(warehouse, new SegmentService(lifecycle), rule, DEMO_END_DATE, undefined, perRange);
      for (let next = await parts.next(); !next.done; next = await parts.next()) {
        chunks.push(Buffer.from(next.value.bytes));
        rows += next.value.rows;
      }
      return { csv: Buffer.concat(chunks).toString("utf8"), rows };
    };
    const everyone: Rule = { field: "purchaseDays", op: "gte", value: 0 };
    const loyal: Rule = { field: "stage", op: "in", value: ["loyal", "retained"] };
    for (const rule of [everyone, loyal]) {
      const whole = await read(rule, Number.POSITIVE_INFINITY);
      const split = await read(rule, 40);
      expect(whole.rows).toBeGreaterThan(0);
      expect(split.rows).toBe(whole.rows);
      expect(split.csv).toBe(whole.csv);
    }
  });

  it("closes every range's query when the reader stops early, the one running ahead included", async () => {
    if (warehouse.kind !== "duckdb") return; // only DuckDB splits
    // Counts the streams open at once: each range's query is one, closed when its reading ends.
    let open = 0;
    let most = 0;
    const streamColumns = warehouse.streamColumns!.bind(warehouse);
    const counted = Object.assign(Object.create(warehouse), {
      streamColumns: (query: Parameters<typeof streamColumns>[0], options?: Parameters<typeof streamColumns>[1]) =>
        (async function* () {
          open++;
          most = Math.max(most, open);
          try {
            yield* streamColumns(query, options);
          } finally {
            open--;
          }
        })(),
    });
    const rule: Rule = { field: "purchaseDays", op: "gte", value: 0 };
    const parts = memberCsvParts(counted, new SegmentService(lifecycle), rule, DEMO_END_DATE, undefined, 40);
    expect((await parts.next()).done).toBe(false);
    expect(open).toBe(2); // the first range, and the second one's query started ahead
    await parts.return!();
    expect(open).toBe(0);
    expect(most).toBe(2);
  });
});

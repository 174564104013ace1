// Hostile input at createSegment and previewSegment: quotes, SQL, unicode, 10 KB strings, deep and huge
// definitions. Each gets a clear error or a correct answer; the warehouse and the saved segments are
// unchanged; the server keeps answering.
import fc from "fast-check";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startTestServer, type TestServer } from "../helpers/server.ts";
import { METRIC_ROWS } from "../fixtures/metrics.ts";

const HOSTILE = [
  "'",
  '"',
  "'; DROP TABLE transactions; --",
  '"); DELETE FROM segment; --',
  "Robert'); DROP TABLE segment;--",
  "\u0000",
  "😀 ünïcödé ⁂",
  "\\",
  "$1",
  "@p1",
  "x".repeat(10_000),
  "%s%s%n",
  "<script>alert(1)</script>",
];

const hostileString = fc.oneof(
  fc.constantFrom(...HOSTILE),
  fc.string({ maxLength: 40 }),
  fc.string({ unit: "grapheme", maxLength: 20 }),
);

/** Anything JSON can hold, hostile strings included, nested a little. */
const anyJson: fc.Arbitrary<unknown> = fc.letrec<{ value: unknown }>((tie) => ({
  value: fc.oneof(
    { depthSize: "small" },
    hostileString,
    fc.double(),
    fc.integer(),
    fc.boolean(),
    fc.constant(null),
    fc.array(tie("value"), { maxLength: 4 }),
    fc.dictionary(
      fc.oneof(hostileString, fc.constantFrom("all", "any", "not", "field", "op", "value", "segment")),
      tie("value"),
      {
        maxKeys: 3,
      },
    ),
  ),
})).value;

/** Definitions that look right but carry hostile values where values go. */
const plausible: fc.Arbitrary<unknown> = fc.record({
  field: fc.constantFrom("acquisitionChannel", "lastEventType", "stage", "revenue", "firstPurchaseDate", "nope"),
  op: fc.constantFrom("eq", "neq", "in", "gt", "between", "isNull"),
  value: fc.oneof(hostileString, fc.array(hostileString, { minLength: 1, maxLength: 3 }), fc.double(), anyJson),
});

function deep(levels: number): unknown {
  let d: unknown = { field: "revenue", op: "gt", value: 1 };
  for (let i = 0; i < levels; i++) d = { not: d };
  return d;
}

let server: TestServer;
beforeAll(async () => {
  server = await startTestServer({ rows: METRIC_ROWS });
});
afterAll(async () => {
  await server?.close();
});

async function snapshot() {
  const tables = await server.warehouse.tableStatus();
  const segments = await server.appDb.prisma.segment.findMany({ orderBy: { id: "asc" } });
  return { counts: tables.map((t) => [t.logical, t.rowCount]), segments };
}

describe("hostile segment input", () => {
  it("answers every hostile definition and name with an error or a correct answer, changing nothing else", async () => {
    const before = await snapshot();
    const codes = new Set<string>();
    await fc.assert(
      fc.asyncProperty(
        fc.oneof(anyJson, plausible).filter((d) => d !== null),
        hostileString,
        async (definition, name) => {
          const preview = await server.graphql<{ previewSegment: { size: number } }>(
            `query($d: JSON!) { previewSegment(definition: $d, asOf: "2026-06-30") { size } }`,
            { d: definition },
          );
          if (preview.errors) {
            const code = preview.errors[0]!.extensions?.code as string;
            codes.add(code);
            expect(["BAD_USER_INPUT"], JSON.stringify(preview.errors[0])).toContain(code);
          } else {
            expect(preview.data!.previewSegment.size).toBeGreaterThanOrEqual(0);
            expect(preview.data!.previewSegment.size).toBeLessThanOrEqual(9);
          }
          const created = await server.graphql<{ createSegment: { id: string; name: string } }>(
            `mutation($input: CreateSegmentInput!) { createSegment(input: $input) { id name } }`,
            { input: { name, definition } },
          );
          if (created.errors) {
            const code = created.errors[0]!.extensions?.code as string;
            expect(["BAD_USER_INPUT", "CONFLICT"], JSON.stringify(created.errors[0])).toContain(code);
          } else {
            // A valid one is saved as given; remove it so the store is compared unchanged below.
            expect(created.data!.createSegment.name).toBe(name.trim());
            await server.appDb.prisma.segmentVersion.deleteMany({
              where: { segmentId: created.data!.createSegment.id },
            });
            await server.appDb.prisma.segment.delete({ where: { id: created.data!.createSegment.id } });
          }
        },
      ),
      { numRuns: 150, seed: 99 },
    );
    expect(codes.has("BAD_USER_INPUT")).toBe(true);
    expect(await snapshot()).toEqual(before);
  });

  it("compares hostile strings as plain values (no injection): a channel named like SQL matches nobody", async () => {
    for (const value of HOSTILE) {
      const { data, errors } = await server.graphql<{ previewSegment: { size: number } }>(
        `query($d: JSON!) { previewSegment(definition: $d, asOf: "2026-06-30") { size } }`,
        {
          d: {
            any: [
              { field: "acquisitionChannel", op: "eq", value },
              { field: "lastEventType", op: "in", value: [value] },
            ],
          },
        },
      );
      if (value.length > 200 || value === "\u0000") {
        expect(errors?.[0]?.extensions?.code, JSON.stringify(value).slice(0, 40)).toBe("BAD_USER_INPUT");
      } else {
        expect(errors, value).toBeUndefined();
        expect(data!.previewSegment.size).toBe(0);
      }
    }
  });

  it("refuses deep and huge definitions with a clear message, and keeps answering", async () => {
    const tooDeep = await server.graphql(`query($d: JSON!) { previewSegment(definition: $d) { size } }`, {
      d: deep(40),
    });
    expect(tooDeep.errors![0]!.message).toBeTruthy();
    expect(tooDeep.errors![0]!.extensions).toMatchObject({ code: "BAD_USER_INPUT" });
    const huge = { any: Array.from({ length: 2_000 }, (_, i) => ({ field: "revenue", op: "eq", value: i })) };
    const tooBig = await server.graphql(`query($d: JSON!) { previewSegment(definition: $d) { size } }`, { d: huge });
    expect(tooBig.errors![0]!.extensions).toMatchObject({ code: "BAD_USER_INPUT" });
    const fine = await server.graphql<{ previewSegment: { size: number } }>(
      `query($d: JSON!) { previewSegment(definition: $d, asOf: "2026-06-30") { size } }`,
      { d: deep(5) },
    );
    // not⁵(revenue > 1) = not(revenue > 1): the buyers with revenue ≤ 1 and everyone without revenue data.
    expect(fine.errors).toBeUndefined();
    expect((await server.graphql(`{ stages(asOf: "2026-06-30") { key } }`)).errors).toBeUndefined();
  });
});

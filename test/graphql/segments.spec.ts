// Saved segments through GraphQL: create, update with versions (no lost update), archive and restore;
// membership, stages and metrics of a definition on the hand-built fixture (test/fixtures/metrics.ts);
// preview without saving; the segments of a customer.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { sql } from "../../src/sql/sql.ts";
import { KeyStore } from "../../src/auth/keys.ts";
import { FEATURES } from "../../src/lifecycle/features.ts";
import { defaultStageModel } from "../../src/lifecycle/stage-model.ts";
import { csvField } from "../../src/server/export.ts";
import { LifecycleService } from "../../src/services/lifecycle/service.ts";
import { toFeatures } from "../../src/services/lifecycle/features.ts";
import { startTestServer, type TestServer } from "../helpers/server.ts";
import { JUNE, METRIC_ROWS } from "../fixtures/metrics.ts";

let server: TestServer;
beforeAll(async () => {
  server = await startTestServer({ rows: METRIC_ROWS });
});
afterAll(async () => {
  await server?.close();
});

interface SegmentData {
  id: string;
  name: string;
  version: number;
  archived: boolean;
  definition: unknown;
  versions: { version: number; name: string; definition: unknown; archived: boolean }[];
}

const FIELDS = "id name version archived definition versions { version name definition archived }";

async function create(name: string, definition: unknown) {
  return server.graphql<{ createSegment: SegmentData }>(
    `mutation($input: CreateSegmentInput!) { createSegment(input: $input) { ${FIELDS} } }`,
    { input: { name, description: "", definition } },
  );
}

async function update(input: Record<string, unknown>) {
  return server.graphql<{ updateSegment: SegmentData }>(
    `mutation($input: UpdateSegmentInput!) { updateSegment(input: $input) { ${FIELDS} } }`,
    { input },
  );
}

const NEW_CUSTOMERS = { field: "stage", op: "eq", value: "new" };

describe("saving segments", () => {
  it("creates a segment at version 1 with its first version kept", async () => {
    const { data, errors } = await create("new customers", NEW_CUSTOMERS);
    expect(errors).toBeUndefined();
    expect(data!.createSegment).toMatchObject({ name: "new customers", version: 1, archived: false });
    expect(data!.createSegment.versions).toEqual([
      { version: 1, name: "new customers", definition: NEW_CUSTOMERS, archived: false },
    ]);
  });

  it("refuses a taken name with CONFLICT and an invalid definition with every problem and its path", async () => {
    const clash = await create("new customers", NEW_CUSTOMERS);
    expect(clash.errors![0]!.extensions!.code).toBe("CONFLICT");
    const invalid = await create("broken", {
      all: [{ field: "stage", op: "eq", value: "vip" }, { field: "revenue", op: "gt", value: "a lot" }, { nope: 1 }],
    });
    expect(invalid.errors![0]!.extensions).toMatchObject({ code: "BAD_USER_INPUT" });
    const issues = invalid.errors![0]!.extensions!.issues as { path: (string | number)[] }[];
    // The part that is no rule at all does not hide the others' problems.
    expect(issues.map((i) => i.path)).toEqual([
      ["definition", "all", 2],
      ["definition", "all", 0, "value"],
      ["definition", "all", 1, "value"],
    ]);
    const types = await create("broken", {
      all: [
        { field: "stage", op: "eq", value: "vip" },
        { field: "revenue", op: "gt", value: "a lot" },
      ],
    });
    expect((types.errors![0]!.extensions!.issues as { path: unknown[] }[]).map((i) => i.path)).toEqual([
      ["definition", "all", 0, "value"],
      ["definition", "all", 1, "value"],
    ]);
    const unknown = await create("dangling", { segment: "00000000-0000-0000-0000-000000000000" });
    expect(unknown.errors![0]!.extensions).toMatchObject({ code: "BAD_USER_INPUT" });
    const blank = await create("   ", NEW_CUSTOMERS);
    expect((blank.errors![0]!.extensions!.issues as { path: unknown[] }[])[0]!.path).toEqual(["name"]);
  });

  it("updates only the version edited: a stale version gets CONFLICT, history stays whole", async () => {
    const { data } = await create("recent buyers", { field: "lastPurchaseDate", op: "gte", value: { daysAgo: 10 } });
    const id = data!.createSegment.id;
    const first = await update({ id, version: 1, description: "bought in the last 10 days" });
    expect(first.errors).toBeUndefined();
    expect(first.data!.updateSegment.version).toBe(2);
    const stale = await update({ id, version: 1, name: "recent" });
    expect(stale.errors![0]!.extensions!.code).toBe("CONFLICT");
    expect(stale.errors![0]!.message).toMatch(/version 2, not 1/);

    // Two writers of version 2 at once: exactly one wins.
    const racing = await Promise.all([
      update({ id, version: 2, name: "recent A" }),
      update({ id, version: 2, name: "recent B" }),
    ]);
    const won = racing.filter((r) => !r.errors);
    const lost = racing.filter((r) => r.errors);
    expect(won).toHaveLength(1);
    expect(lost[0]!.errors![0]!.extensions!.code).toBe("CONFLICT");
    const { data: after } = await server.graphql<{ segment: SegmentData }>(
      `query($id: ID!) { segment(id: $id) { ${FIELDS} } }`,
      { id },
    );
    expect(after!.segment.version).toBe(3);
    expect(after!.segment.name).toBe(won[0]!.data!.updateSegment.name);
    expect(after!.segment.versions.map((v) => [v.version, v.name])).toEqual([
      [3, won[0]!.data!.updateSegment.name],
      [2, "recent buyers"],
      [1, "recent buyers"],
    ]);
  });

  it("archives and restores, each a new version; unknown ids are NOT_FOUND", async () => {
    const { data } = await create("to archive", NEW_CUSTOMERS);
    const id = data!.createSegment.id;
    const archived = await server.graphql<{ archiveSegment: SegmentData }>(
      `mutation($id: ID!) { archiveSegment(id: $id) { ${FIELDS} } }`,
      { id },
    );
    expect(archived.data!.archiveSegment).toMatchObject({ archived: true, version: 2 });
    const listed = await server.graphql<{ segments: { edges: { node: { id: string } }[] } }>(
      `{ segments { edges { node { id } } } }`,
    );
    expect(listed.data!.segments.edges.map((e) => e.node.id)).not.toContain(id);
    const restored = await server.graphql<{ restoreSegment: SegmentData }>(
      `mutation($id: ID!) { restoreSegment(id: $id) { ${FIELDS} } }`,
      { id },
    );
    expect(restored.data!.restoreSegment).toMatchObject({ archived: false, version: 3 });
    const missing = await server.graphql(
      `mutation { archiveSegment(id: "00000000-0000-0000-0000-000000000000") { id } }`,
    );
    expect(missing.errors![0]!.extensions!.code).toBe("NOT_FOUND");
    const updateMissing = await update({ id: "nope", version: 1, name: "x" });
    expect(updateMissing.errors![0]!.extensions!.code).toBe("NOT_FOUND");
  });

  it("refuses a reference cycle", async () => {
    const a = (await create("cycle a", NEW_CUSTOMERS)).data!.createSegment;
    const b = (await create("cycle b", { segment: a.id })).data!.createSegment;
    const cycle = await update({ id: a.id, version: 1, definition: { not: { segment: b.id } } });
    expect(cycle.errors![0]!.extensions).toMatchObject({ code: "BAD_USER_INPUT" });
    expect((cycle.errors![0]!.extensions!.issues as { path: unknown[] }[])[0]!.path).toEqual([
      "definition",
      "not",
      "segment",
    ]);
    for (const s of [a, b]) {
      await server.graphql(`mutation($id: ID!) { archiveSegment(id: $id) { id } }`, { id: s.id });
    }
  });

  it("refuses one of two concurrent edits that together would close a cycle", async () => {
    const a = (await create("race a", NEW_CUSTOMERS)).data!.createSegment;
    const b = (await create("race b", NEW_CUSTOMERS)).data!.createSegment;
    const results = await Promise.all([
      update({ id: a.id, version: 1, definition: { segment: b.id } }),
      update({ id: b.id, version: 1, definition: { segment: a.id } }),
    ]);
    expect(results.filter((r) => !r.errors)).toHaveLength(1);
    expect(results.find((r) => r.errors)!.errors![0]!.extensions!.code).toBe("BAD_USER_INPUT");
    for (const s of [a, b]) await server.graphql(`mutation($id: ID!) { archiveSegment(id: $id) { id } }`, { id: s.id });
  });

  it("refuses a definition that explodes once its references are inlined", async () => {
    let id = (await create("boom 0", NEW_CUSTOMERS)).data!.createSegment.id;
    const made: string[] = [id];
    for (let level = 1; level <= 3; level++) {
      const result = await create(`boom ${level}`, { any: Array.from({ length: 30 }, () => ({ segment: id })) });
      if (level < 3) {
        expect(result.errors, `level ${level}`).toBeUndefined();
        id = result.data!.createSegment.id;
        made.push(id);
      } else {
        // 30 × 30 × 30 leaves: far past the resolved-size bound; refused with the path of the reference.
        expect(result.errors![0]!.extensions).toMatchObject({ code: "BAD_USER_INPUT" });
        expect(result.errors![0]!.message).toMatch(/too large with its references inlined/);
      }
    }
    for (const s of made) await server.graphql(`mutation($id: ID!) { archiveSegment(id: $id) { id } }`, { id: s });
  });
});

describe("using segments on the fixture (2026-06-30)", () => {
  const MEMBERSHIP = `membership(asOf: "2026-06-30") {
    size members(first: 10) { edges { node { id } } pageInfo { hasNextPage } }
    stageBreakdown { stage { key } count share }
  }`;

  it("pages members with every feature as the full features query computes them", async () => {
    const fields = FEATURES.map((f) => f.field);
    const { data, errors } = await server.graphql<{
      previewSegment: { members: { edges: { node: { id: string; features: Record<string, unknown> } }[] } };
    }>(
      `query($d: JSON!) { previewSegment(definition: $d, asOf: "2026-06-30") {
        members(first: 50) { edges { node { id features { ${fields.join(" ")} } } } } } }`,
      { d: { field: "purchaseDays", op: "gte", value: 0 } },
    );
    expect(errors).toBeUndefined();
    const lifecycle = await LifecycleService.open(server.warehouse, defaultStageModel(), "UTC");
    const rows = await server.warehouse.query(
      sql`SELECT * FROM (${lifecycle.features("2026-06-30")}) AS f ORDER BY f.customer_id`,
    );
    const expected = rows.map((row) => {
      const { customerId, ...features } = toFeatures(row);
      return { id: customerId, features };
    });
    expect(expected.length).toBeGreaterThan(5);
    expect(data!.previewSegment.members.edges.map((e) => e.node)).toEqual(expected);
  });

  it("previews a definition with references and relative dates without saving it", async () => {
    const social = (await create("social", { field: "acquisitionChannel", op: "eq", value: "social" })).data!
      .createSegment;
    const before = await server.appDb.prisma.segment.count();
    // Purchases on or after 06-20: C, D, I; of those, social: C, D, I.
    const { data, errors } = await server.graphql<{
      previewSegment: {
        size: number;
        members: { edges: { node: { id: string } }[] };
        stageBreakdown: { stage: { key: string }; count: number }[];
      };
    }>(
      `query($d: JSON!) { previewSegment(definition: $d, asOf: "2026-06-30") { size members(first: 10) { edges { node { id } } } stageBreakdown { stage { key } count } } }`,
      {
        d: { all: [{ segment: social.id }, { field: "lastPurchaseDate", op: "gte", value: { daysAgo: 10 } }] },
      },
    );
    expect(errors).toBeUndefined();
    expect(data!.previewSegment.size).toBe(3);
    expect(data!.previewSegment.members.edges.map((e) => e.node.id)).toEqual(["C", "D", "I"]);
    const stages = Object.fromEntries(
      data!.previewSegment.stageBreakdown.filter((s) => s.count > 0).map((s) => [s.stage.key, s.count]),
    );
    expect(stages).toEqual({ new: 1, advocate: 1, retained: 1 });
    expect(await server.appDb.prisma.segment.count()).toBe(before);
    const bad = await server.graphql(
      `query { previewSegment(definition: {field: "stage", op: "gt", value: "new"}) { size } }`,
    );
    expect(bad.errors![0]!.extensions).toMatchObject({ code: "BAD_USER_INPUT", argument: "definition" });
  });

  it("pages a saved segment's members with stable cursors, with its stages and metrics", async () => {
    const known = (await create("known by June", { field: "firstSeenDate", op: "lte", value: "2026-06-30" })).data!
      .createSegment;
    const first = await server.graphql<{
      segment: {
        membership: {
          size: number;
          members: { edges: { node: { id: string } }[]; pageInfo: { endCursor: string; hasNextPage: boolean } };
        };
      };
    }>(
      `query($id: ID!) { segment(id: $id) { membership(asOf: "2026-06-30") { size members(first: 5) { edges { node { id } } pageInfo { endCursor hasNextPage } } } } }`,
      { id: known.id },
    );
    expect(first.data!.segment.membership.size).toBe(9);
    expect(first.data!.segment.membership.members.edges.map((e) => e.node.id)).toEqual(["A", "B", "C", "D", "E"]);
    const next = await server.graphql<{
      segment: { membership: { members: { edges: { node: { id: string } }[]; pageInfo: { hasNextPage: boolean } } } };
    }>(
      `query($id: ID!, $after: String) { segment(id: $id) { membership(asOf: "2026-06-30") { members(first: 5, after: $after) { edges { node { id } } pageInfo { hasNextPage } } } } }`,
      { id: known.id, after: first.data!.segment.membership.members.pageInfo.endCursor },
    );
    expect(next.data!.segment.membership.members.edges.map((e) => e.node.id)).toEqual(["F", "G", "H", "I"]);
    expect(next.data!.segment.membership.members.pageInfo.hasNextPage).toBe(false);

    const newOnes = (await server.appDb.prisma.segment.findFirst({ where: { name: "new customers" } }))!;
    const { data, errors } = await server.graphql<{
      segment: {
        size: number;
        membership: { stageBreakdown: { stage: { key: string }; count: number; share: number }[] };
        metrics: { key: string; value: number }[];
      };
    }>(
      `query($id: ID!, $period: PeriodInput!) { segment(id: $id) { size(asOf: "2026-06-30") ${MEMBERSHIP}
        metrics(keys: [REVENUE, ACTIVE_CUSTOMERS], period: $period) { key value } } }`,
      { id: newOnes.id, period: JUNE },
    );
    expect(errors).toBeUndefined();
    // New on 06-30: A (06-10) and C (06-20); June revenue 100 + 80.
    expect(data!.segment.size).toBe(2);
    const newStage = data!.segment.membership.stageBreakdown.find((s) => s.stage.key === "new")!;
    expect(newStage).toMatchObject({ count: 2, share: 1 });
    const direct = await server.graphql<{
      segment: {
        members: { edges: { node: { id: string } }[] };
        stageBreakdown: { stage: { key: string }; count: number }[];
      };
    }>(
      `query($id: ID!) { segment(id: $id) { members(asOf: "2026-06-30", first: 10) { edges { node { id } } } stageBreakdown(asOf: "2026-06-30") { stage { key } count } } }`,
      { id: newOnes.id },
    );
    expect(direct.data!.segment.members.edges.map((e) => e.node.id)).toEqual(["A", "C"]);
    expect(direct.data!.segment.stageBreakdown.find((s) => s.stage.key === "new")!.count).toBe(2);
    expect(data!.segment.metrics).toEqual([
      { key: "REVENUE", value: 180 },
      { key: "ACTIVE_CUSTOMERS", value: 2 },
    ]);
  });

  it("lists the saved segments each customer belongs to, in one warehouse query for all of them", async () => {
    server.warehouseQueries.length = 0;
    const { data, errors } = await server.graphql<{ customers: { id: string; segments: { name: string }[] }[] }>(
      `{ customers(ids: ["A", "C", "D", "B"], asOf: "2026-06-30") { id segments { name } } }`,
    );
    expect(errors).toBeUndefined();
    const names = Object.fromEntries(data!.customers.map((c) => [c.id, c.segments.map((s) => s.name)]));
    // The segments saved above: "recent A" or "recent B" (whichever won the race) has C and D.
    const recent = (await server.appDb.prisma.segment.findFirst({ where: { name: { startsWith: "recent" } } }))!.name;
    expect(names).toEqual({
      A: ["known by June", "new customers", "to archive"],
      C: ["known by June", "new customers", recent, "social", "to archive"],
      D: ["known by June", recent, "social"],
      B: ["known by June"],
    });
    expect(server.warehouseQueries).toEqual(["customer_features"]);
  });
});

describe("comparing two segments", () => {
  it("puts metrics side by side with the difference and a significance test for rates", async () => {
    const search = (await create("search", { field: "acquisitionChannel", op: "eq", value: "search" })).data!
      .createSegment;
    const social = (await server.appDb.prisma.segment.findFirst({ where: { name: "social" } }))!;
    const { data, errors } = await server.graphql<{
      compareSegments: {
        metric: { key: string; value: number | null; population: number | null };
        other: { value: number | null };
        difference: number | null;
        significance: { z: number; pValue: number; significantAt95: boolean } | null;
      }[];
    }>(
      `query($a: ID!, $b: ID!, $period: PeriodInput!) {
        compareSegments(a: $a, b: $b, keys: [CONVERSION_RATE, REVENUE], period: $period) {
          metric { key value population } other { value } difference significance { z pValue significantAt95 }
        }
      }`,
      { a: search.id, b: social.id, period: JUNE },
    );
    expect(errors).toBeUndefined();
    const [conversion, revenue] = data!.compareSegments;
    // Leads in June: search A, B (A bought) = 1/2; social C, I (both bought) = 2/2.
    expect(conversion!.metric).toMatchObject({ key: "CONVERSION_RATE", value: 0.5, population: 2 });
    expect(conversion!.other.value).toBe(1);
    expect(conversion!.difference).toBeCloseTo(-0.5, 12);
    // Pooled 3/4: z = −0.5 / sqrt(0.75 × 0.25 × (1/2 + 1/2)) (Python: math.erfc for p).
    expect(conversion!.significance!.z).toBeCloseTo(-1.1547005383792517, 9);
    expect(conversion!.significance!.pValue).toBeCloseTo(0.2482130789899235, 6);
    expect(conversion!.significance!.significantAt95).toBe(false);
    // June revenue: search A 100; social C 80 + D 80 + I 10. Not a rate: no test.
    expect(revenue!.metric.value).toBe(100);
    expect(revenue!.other.value).toBe(170);
    expect(revenue!.difference).toBe(-70);
    expect(revenue!.significance).toBeNull();
  });
});

describe("exporting a segment's members as CSV", () => {
  const get = (path: string, init: { method?: string } = {}) => server.yoga.fetch(`http://test${path}`, init);

  it("streams the members with their stages and features, ordered by id", async () => {
    const social = (await server.appDb.prisma.segment.findFirst({ where: { name: "social" } }))!;
    const response = await get(`/segments/${social.id}/members.csv?asOf=2026-06-30`);
    expect(response.status).toBe(200);
    expect(response.headers.get("content-type")).toBe("text/csv; charset=utf-8");
    expect(response.headers.get("content-disposition")).toContain(`segment-${social.id}-2026-06-30.csv`);
    const lines = (await response.text()).trimEnd().split("\r\n");
    const header = lines[0]!.split(",");
    expect(header.slice(0, 4)).toEqual(["customer_id", "stage", "furthest_stage", "first_seen_date"]);
    const rows = lines.slice(1).map((line) => Object.fromEntries(line.split(",").map((v, i) => [header[i], v])));
    // Social on 06-30: C (new), D (advocate), I (retained).
    expect(rows.map((r) => [r.customer_id, r.stage, r.acquisition_channel, r.revenue])).toEqual([
      ["C", "new", "social", "80"],
      ["D", "advocate", "social", "120"],
      ["I", "retained", "social", "10"],
    ]);
  });

  it("answers an unknown segment, a bad day and another method with the right status", async () => {
    expect((await get(`/segments/00000000-0000-0000-0000-000000000000/members.csv`)).status).toBe(404);
    expect((await get(`/segments/not-a-uuid/members.csv`)).status).toBe(404);
    const social = (await server.appDb.prisma.segment.findFirst({ where: { name: "social" } }))!;
    const badDay = await get(`/segments/${social.id}/members.csv?asOf=30.06.2026`);
    expect(badDay.status).toBe(400);
    expect(await badDay.json()).toMatchObject({
      errors: [{ extensions: { code: "BAD_USER_INPUT", argument: "asOf" } }],
    });
    expect((await get(`/segments/${social.id}/members.csv`, { method: "POST" })).status).toBe(405);
    // Not a real day: refused before anything is sent, not a 200 whose CSV breaks off.
    expect((await get(`/segments/${social.id}/members.csv?asOf=2026-02-31`)).status).toBe(400);
    // An id that is not percent-encoded UTF-8 is bad input (src/server/input-hygiene.ts), not a missing segment.
    const broken = await get(`/segments/%E0%A4%A/members.csv`);
    expect(broken.status).toBe(400);
    expect(await broken.json()).toMatchObject({
      errors: [{ extensions: { code: "BAD_USER_INPUT", argument: "path" } }],
    });
  });

  it("runs at most two exports at once and one per key; the others are told to retry", async () => {
    const social = (await server.appDb.prisma.segment.findFirst({ where: { name: "social" } }))!;
    const url = `/segments/${social.id}/members.csv?asOf=2026-06-30`;
    const keys = new KeyStore(server.appDb.prisma);
    const [one, two] = [(await keys.create("viewer", "bi")).secret, (await keys.create("viewer", "crm")).secret];
    const as = (key: string | undefined) =>
      server.yoga.fetch(`http://test${url}`, key ? { headers: { authorization: `Bearer ${key}` } } : {});
    const first = await as(one);
    expect(first.status).toBe(200);
    // The same key again: its one export is still being read.
    const sameKey = await as(one);
    expect(sameKey.status).toBe(429);
    expect(await sameKey.json()).toMatchObject({ errors: [{ extensions: { code: "RATE_LIMITED" } }] });
    const second = await as(two);
    expect(second.status).toBe(200);
    const third = await as(undefined);
    expect(third.status).toBe(429);
    expect(third.headers.get("retry-after")).toBe("10");
    expect(await third.json()).toMatchObject({ errors: [{ extensions: { code: "RATE_LIMITED" } }] });
    await first.text();
    await second.body!.cancel();
    const again = await as(one);
    expect(again.status).toBe(200);
    expect((await again.text()).split("\r\n")).toHaveLength(5);
  });

  it("quotes CSV fields and defuses spreadsheet formulas in text", () => {
    expect(csvField('say "hi", ok', true)).toBe('"say ""hi"", ok"');
    expect(csvField("=HYPERLINK(1)", true)).toBe("'=HYPERLINK(1)");
    expect(csvField(-3.5, false)).toBe("-3.5");
    expect(csvField(null, true)).toBe("");
    expect(csvField("line\nbreak", true)).toBe('"line\nbreak"');
  });
});

describe("listing segments", () => {
  it("filters by a name fragment in any case, and by archived", async () => {
    const { data } = await server.graphql<{ segments: { totalCount: number; edges: { node: { name: string } }[] } }>(
      `{ segments(filter: { nameContains: "SOC" }) { totalCount edges { node { name } } } }`,
    );
    expect(data!.segments.edges.map((e) => e.node.name)).toEqual(["social"]);
    expect(data!.segments.totalCount).toBe(1);
    const withArchived = await server.graphql<{ segments: { edges: { node: { name: string } }[] } }>(
      `{ segments(filter: { nameContains: "cycle", includeArchived: true }) { edges { node { name } } } }`,
    );
    expect(withArchived.data!.segments.edges.map((e) => e.node.name)).toEqual(["cycle a", "cycle b"]);
    const hidden = await server.graphql<{ segments: { totalCount: number } }>(
      `{ segments(filter: { nameContains: "cycle" }) { totalCount } }`,
    );
    expect(hidden.data!.segments.totalCount).toBe(0);
  });
});

import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { testWarehouses } from "../helpers/databases.ts";
import { startTestServer, type TestServer } from "../helpers/server.ts";

describe.each(testWarehouses())("GraphQL over the demo shop in $label", (factory) => {
  let server: TestServer;
  beforeAll(async () => {
    server = await startTestServer({ warehouseFactory: factory });
  });
  afterAll(async () => {
    await server?.close();
  });

  it("answers { __typename }", async () => {
    expect(await server.graphql("{ __typename }")).toEqual({ data: { __typename: "Query" } });
  });

  it("lists the contract tables with the row counts the demo generator wrote", async () => {
    const { data, errors } = await server.graphql<{
      warehouse: { kind: string; tables: { name: string; rowCount: number }[] };
    }>("{ warehouse { kind tables { name present required rowCount } } }");
    expect(errors).toBeUndefined();
    expect(data!.warehouse.kind).toBe(server.warehouse.kind.toUpperCase());
    expect(Object.fromEntries(data!.warehouse.tables.map((t) => [t.name, t.rowCount]))).toEqual(server.demoCounts);
    expect(server.demoCounts.transactions).toBeGreaterThan(0);
  });

  it("serves GraphiQL to browsers without any network asset", async () => {
    const response = await server.yoga.fetch("http://test/graphql", { headers: { accept: "text/html" } });
    expect(response.status).toBe(200);
    const html = await response.text();
    expect(html).toContain("<title>CLM GraphQL</title>");
    expect(html).not.toMatch(/<(script|link)[^>]+(src|href)=["']?https?:/);
    expect(html).toContain("warehouse");
  });

  it("answers /health and /ready", async () => {
    expect((await server.yoga.fetch("http://test/health")).status).toBe(200);
    const ready = await server.yoga.fetch("http://test/ready");
    expect(ready.status).toBe(200);
    expect(await ready.json()).toEqual({ ready: true, appDatabase: "ok", warehouse: "ok", circuit: "closed" });
  });
});

describe(`saved segments (app database: ${process.env.TEST_DATABASE_URL ? "postgres" : "pglite"})`, () => {
  let server: TestServer;
  beforeAll(async () => {
    server = await startTestServer({ customers: 20 });
    const prisma = server.appDb.prisma;
    for (const [name, archived] of [
      ["b-lapsed", false],
      ["a-loyal", false],
      ["c-old", true],
    ] as const) {
      await prisma.segment.create({
        data: {
          name,
          archived,
          definition: { field: "stage", op: "eq", value: name },
          versions: { create: { version: 1, name, description: "", definition: {}, archived } },
        },
      });
    }
  });
  afterAll(async () => {
    await server?.close();
  });

  it("pages through segments by name with stable cursors and a total", async () => {
    const page = `query($after: String) { segments(first: 1, after: $after) { totalCount pageInfo { hasNextPage endCursor } edges { node { name version versions { version } } } } }`;
    type Page = {
      segments: {
        totalCount: number;
        pageInfo: { hasNextPage: boolean; endCursor: string };
        edges: { node: { name: string } }[];
      };
    };
    const first = await server.graphql<Page>(page);
    expect(first.errors).toBeUndefined();
    expect(first.data!.segments.totalCount).toBe(2);
    expect(first.data!.segments.edges.map((e) => e.node.name)).toEqual(["a-loyal"]);
    const second = await server.graphql<Page>(page, { after: first.data!.segments.pageInfo.endCursor });
    expect(second.data!.segments.edges.map((e) => e.node.name)).toEqual(["b-lapsed"]);
    expect(second.data!.segments.pageInfo.hasNextPage).toBe(false);
  });

  it("includes archived segments when asked", async () => {
    const { data } = await server.graphql<{ segments: { totalCount: number } }>(
      "{ segments(filter: { includeArchived: true }) { totalCount } }",
    );
    expect(data!.segments.totalCount).toBe(3);
  });

  it("finds one segment by id, and null for an unknown or malformed id", async () => {
    const { id } = await server.appDb.prisma.segment.findUniqueOrThrow({ where: { name: "a-loyal" } });
    const found = await server.graphql<{ segment: { name: string; definition: unknown } }>(
      `query($id: ID!) { segment(id: $id) { name definition } }`,
      { id },
    );
    expect(found.data!.segment).toEqual({
      name: "a-loyal",
      definition: { field: "stage", op: "eq", value: "a-loyal" },
    });
    for (const unknown of ["00000000-0000-0000-0000-000000000000", "not-a-uuid"]) {
      const missing = await server.graphql(`query($id: ID!) { segment(id: $id) { name } }`, { id: unknown });
      expect(missing).toEqual({ data: { segment: null } });
    }
  });
});

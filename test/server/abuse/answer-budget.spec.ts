// Cost counted after variables, and bounded while running. Before, GraphQL Armor's cost read only a
// literal `first`: `customers(first: $n)` nested under stages with n = 500 answered 29.5 MB in 13.6 s
// and blocked every other client; and the request deadline cancelled warehouse queries only.
import { setTimeout as sleep } from "node:timers/promises";
import { execute, parse } from "graphql";
import { pino } from "pino";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { newRequestScope, runInRequestScope } from "../../../src/request-scope.ts";
import { schema } from "../../../src/schema/index.ts";
import { answerSize, MAX_ANSWER_VALUES } from "../../../src/server/limits.ts";
import { startTestServer, type TestServer } from "../../helpers/server.ts";

const NESTED = `query($n: Int) { stages { key customers(first: $n) { edges { node { id stage { key customers(first: $n) { edges { node { id } } } } } } } } }`;

let server: TestServer;
beforeAll(async () => {
  server = await startTestServer({ customers: 300 });
});
afterAll(async () => {
  await server?.close();
});

describe("the answer budget", () => {
  it("counts a page size given by a variable, and refuses before any warehouse query", async () => {
    server.warehouseQueries.length = 0;
    const refused = await server.graphql(NESTED, { n: 500 });
    expect(refused.data ?? null).toBeNull();
    expect(refused.errors).toHaveLength(1);
    expect(refused.errors![0]!.extensions).toMatchObject({
      code: "QUERY_TOO_EXPENSIVE",
      limit: "answerValues",
      max: MAX_ANSWER_VALUES,
    });
    expect(refused.errors![0]!.message).toMatch(/^Answer size limit of \d+ values exceeded/);
    expect(server.warehouseQueries).toEqual([]);
    // The same shape with small pages runs.
    const small = await server.graphql(NESTED, { n: 5 });
    expect(small.errors).toBeUndefined();
  });

  it("estimates a repeated query again when its page sizes or ids differ, not when only its text values do", async () => {
    // The estimate is kept per document and sizing variables: a small page first must not let a large
    // one through, nor a few ids a thousand.
    expect((await server.graphql(NESTED, { n: 5 })).errors).toBeUndefined();
    expect((await server.graphql(NESTED, { n: 500 })).errors?.[0]?.extensions?.code).toBe("QUERY_TOO_EXPENSIVE");
    const LOOKUP = `query($ids: [ID!]!) { customers(ids: $ids) { id stage { key name description } } }`;
    expect((await server.graphql(LOOKUP, { ids: ["c000001"] })).errors).toBeUndefined();
    const many = Array.from({ length: 30_000 }, (_, i) => `c${String(i).padStart(6, "0")}`);
    expect((await server.graphql(LOOKUP, { ids: many })).errors?.[0]?.extensions?.code).toBe("QUERY_TOO_EXPENSIVE");
    expect((await server.graphql(LOOKUP, { ids: ["c000002"] })).errors).toBeUndefined();
  });

  it("counts the default page when no size is given, and ids by their number", async () => {
    const defaultPages = await server.graphql(
      `{ stages { customers { edges { node { stage { customers { edges { node { id stage { customers { edges { node { id } } } } } } } } } } } } }`,
    );
    expect(defaultPages.errors?.[0]?.extensions?.code).toBe("QUERY_TOO_EXPENSIVE");
    const ids = Array.from({ length: 5_000 }, (_, i) => `c${String(i).padStart(6, "0")}`);
    const manyFields = await server.graphql(
      `query($ids: [ID!]!) { customers(ids: $ids) { id stage { key name description recommendedActions } furthestStage { key name } features { purchaseDays orderCount revenue recencyDays tenureDays meanGapDays averageOrderValue referredCount acquisitionChannel lastEventType } } }`,
      { ids },
    );
    expect(manyFields.errors?.[0]?.extensions?.code).toBe("QUERY_TOO_EXPENSIVE");
  });

  it("accepts the largest answers real clients ask for, and says how large they are", async () => {
    // Every stage with a full page of customers and their features: the shape of an export by GraphQL.
    const response = await server.yoga.fetch("http://test/graphql", {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({
        query: `{ stages { key customers(first: 500) { edges { node { id features { purchaseDays orderCount revenue recencyDays } } } } } }`,
      }),
    });
    const text = await response.text();
    expect(JSON.parse(text).errors).toBeUndefined();
    expect(text.length).toBeLessThan(5_000_000);
  });
});

describe("the request deadline inside execution", () => {
  it("answers DEADLINE_EXCEEDED at the deadline while work in Node is still running", async () => {
    const slow = await startTestServer({ customers: 60, requestTimeoutMs: 300 });
    let closed = false;
    try {
      // A fit that ignores cancellation, as work in Node does. Once the test is over it goes no further
      // (a promise that never settles): its work would query a warehouse the test has closed.
      const fit = slow.lifecycle.clvModel.bind(slow.lifecycle);
      slow.lifecycle.clvModel = async (...args: Parameters<typeof fit>) => {
        await sleep(2_000);
        if (closed) return new Promise<never>(() => {});
        return fit(...args);
      };
      const started = performance.now();
      const answer = await slow.graphql(`{ clvModel(asOf: "2026-06-30", timeUnit: WEEK) { customers } }`);
      const ms = performance.now() - started;
      expect(answer.errors?.[0]?.extensions?.code).toBe("DEADLINE_EXCEEDED");
      expect(ms).toBeLessThan(1_500);
    } finally {
      closed = true;
      await slow.close();
    }
  });
});

describe("past the deadline inside execution", () => {
  it("starts no field that selects more, so nothing below it runs", async () => {
    server.warehouseQueries.length = 0;
    // A request whose deadline has passed as its execution starts.
    const scope = newRequestScope("late", 0);
    const lifecycle = server.lifecycle.forRequest();
    let asked = 0;
    const stageCounts = lifecycle.stageCounts.bind(lifecycle);
    lifecycle.stageCounts = (...args: Parameters<typeof stageCounts>) => {
      asked += 1;
      return stageCounts(...args);
    };
    const contextValue = {
      auth: { role: "admin", keyId: null, principal: null, badKey: false },
      prisma: server.appDb.prisma,
      warehouse: server.guarded,
      lifecycle,
      log: pino({ level: "silent" }),
      requestId: "late",
    };
    const result = await runInRequestScope(scope, async () =>
      execute({ schema, document: parse("{ stages { key count } }"), contextValue }),
    );
    expect(result.errors?.[0]?.originalError?.name).toBe("DeadlineExceededError");
    expect(result.errors?.[0]?.path).toEqual(["stages"]);
    // Not even the work in Node below it started.
    expect(asked).toBe(0);
    expect(server.warehouseQueries).toEqual([]);
  });
});

describe("the answer as built", () => {
  it("counts every value and the text, and stops counting past the bound", () => {
    expect(answerSize({ a: [1, 2, { b: "xyz" }] }, 100, 1_000)).toEqual({
      values: 6,
      bytes: 2 + 5 + 2 + 8 + 8 + 2 + 5 + 6,
    });
    const big = { list: Array.from({ length: 10_000 }, (_, i) => ({ id: `c${i}` })) };
    expect(answerSize(big, 1_000, 1e9).values).toBeLessThanOrEqual(1_002);
  });
});

// Each operation limit alone: a query just over one limit (and under every other) is refused with that
// limit's own message, and the same query at the limit runs. The limits are written here as the
// documented numbers (depth 12, aliases 256, directives 20, tokens 5,000), not read from QUERY_LIMITS,
// so a limit changed or miswired (depth 12 → 1200, the alias limit reported as the cost's) fails.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startTestServer, type TestServer } from "../helpers/server.ts";

let server: TestServer;
beforeAll(async () => {
  server = await startTestServer({ customers: 50 });
});
afterAll(async () => {
  await server?.close();
});

/** `{ __type(name: "Query") { ofType { … { name } } } }`: depth 2 + nested (armor counts leaves too). */
function deep(nested: number): string {
  let selection = "name";
  for (let i = 0; i < nested; i++) selection = `ofType { ${selection} }`;
  return `{ __type(name: "Query") { ${selection} } }`;
}

/** `count` aliases of `__type`, 11 tokens each (armor does not count aliases of __typename). */
function aliased(count: number): string {
  return `{ ${Array.from({ length: count }, (_, i) => `a${i}: __type(name: "Query") { name }`).join(" ")} }`;
}

/** `count` selections of one field, each with a directive (7 tokens each; they merge, no alias). */
function directed(count: number): string {
  return `{ ${"__typename @include(if: true) ".repeat(count)}}`;
}

/** `{ __typename … }`: count + 2 tokens, no alias, depth 1, no directive. */
function tokens(count: number): string {
  return `{ ${"__typename ".repeat(count - 2)}}`;
}

async function refusedWith(query: string, message: string) {
  const result = await server.graphql(query);
  expect(result.data ?? null).toBeNull();
  expect(result.errors!.map((e) => e.message)).toEqual([message]);
  expect(result.errors!.map((e) => e.extensions!.code)).toEqual(["QUERY_TOO_EXPENSIVE"]);
}

async function accepted(query: string) {
  const result = await server.graphql(query);
  expect(result.errors).toBeUndefined();
  expect(result.data).toBeTruthy();
}

/** For each limit: a query at it (runs) and the same one over it (refused with this message only). */
const LIMITS = [
  {
    limit: "depth: 12 runs, 13 is refused by the depth limit",
    at: deep(10),
    over: deep(11),
    message: "Query depth limit of 12 exceeded, found 13.",
  },
  {
    limit: "aliases: 256 run, 257 are refused by the alias limit",
    at: aliased(256),
    over: aliased(257),
    message: "Aliases limit of 256 exceeded, found 257.",
  },
  {
    limit: "directives: 20 run, 21 are refused by the directive limit",
    at: directed(20),
    over: directed(21),
    message: "Directives limit of 20 exceeded, found 21.",
  },
  {
    limit: "tokens: 5,000 run, 5,001 are refused by the token limit",
    at: tokens(5_000),
    over: tokens(5_001),
    message: "Token limit of 5000 exceeded.",
  },
];

describe("each limit alone", () => {
  for (const { limit, at, over, message } of LIMITS) {
    it(limit, async () => {
      await accepted(at);
      await refusedWith(over, message);
    });
  }
});

// The request limits of src/server/limits.ts on their own: a yoga over a three-field schema with the
// limit plugins, asked in process (no server, no warehouse). The numbers are the documented ones (README,
// Limits: depth 12, 256 aliases, 20 directives, 5,000 tokens, 100,000 answer values, 16 MB of answer
// text, 1 MB bodies), written out here rather than read from the module.
import { GraphQLInt, GraphQLList, GraphQLObjectType, GraphQLSchema, GraphQLString } from "graphql";
import { createYoga } from "graphql-yoga";
import { describe, expect, it } from "vitest";
import {
  answerSize,
  MAX_ANSWER_BYTES,
  MAX_ANSWER_VALUES,
  MAX_BODY_BYTES,
  QUERY_LIMITS,
  useAnswerBudget,
  useBodyLimit,
  useQueryLimits,
} from "../../src/server/limits.ts";

/**
 * `Item { name, items(first), unsized(count) }`: `name` is `size` x's; `items` a page of `first` items (10
 * when absent), estimated at 2 + 2 × first × what each selects, which is what its answer holds when each
 * selects one field (the list and its parent's key, then each item and its field); `unsized` a list of
 * `count` numbers the estimate counts as one value.
 */
const item: GraphQLObjectType = new GraphQLObjectType({
  name: "Item",
  fields: () => ({
    name: {
      type: GraphQLString,
      args: { size: { type: GraphQLInt }, pad: { type: new GraphQLList(GraphQLInt) } },
      resolve: (_, a) => "x".repeat(a.size ?? 1),
    },
    items: {
      type: new GraphQLList(item),
      args: { first: { type: GraphQLInt } },
      extensions: { complexity: (args: { first?: number }) => ({ field: 2, multiplier: 2 * (args.first ?? 10) }) },
      resolve: (_, a: { first?: number }) => Array.from({ length: a.first ?? 10 }, () => ({})),
    },
    unsized: {
      type: new GraphQLList(GraphQLInt),
      args: { count: { type: GraphQLInt } },
      resolve: (_, a: { count: number }) => Array.from({ length: a.count }, (_, i) => i),
    },
  }),
});
const schema = new GraphQLSchema({ query: item });

function yogaWith(maxValues?: number) {
  return createYoga({
    schema,
    maxRequestBodySize: false,
    logging: false,
    plugins: [
      useBodyLimit(),
      useQueryLimits(),
      maxValues === undefined ? useAnswerBudget() : useAnswerBudget(maxValues),
    ],
  });
}

interface Answer {
  data?: unknown;
  errors?: { message: string; extensions?: Record<string, unknown> }[];
}

async function ask(query: string, variables?: Record<string, unknown>, maxValues?: number): Promise<Answer> {
  const response = await yogaWith(maxValues).fetch("http://limits.test/graphql", {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ query, variables }),
  });
  return (await response.json()) as Answer;
}

async function refusedWith(query: string, message: string) {
  const answer = await ask(query);
  expect(answer.data ?? null).toBeNull();
  expect(answer.errors!.map((e) => e.message)).toEqual([message]);
  expect(answer.errors!.map((e) => e.extensions?.code)).toEqual(["QUERY_TOO_EXPENSIVE"]);
}

async function accepted(query: string) {
  const answer = await ask(query);
  expect(answer.errors).toBeUndefined();
  expect(answer.data).toBeTruthy();
}

const deep = (levels: number) => `{ ${"items(first: 1) { ".repeat(levels - 1)}name${" }".repeat(levels - 1)} }`;
const aliased = (count: number) => `{ ${Array.from({ length: count }, (_, i) => `a${i}: name`).join(" ")} }`;
const directed = (count: number) => `{ ${"name @include(if: true) ".repeat(count)}}`;
/** `count` tokens: `{ name(pad: [` and `]) }` are 9, the rest are numbers (one field: cheap to validate). */
const tokens = (count: number) => `{ name(pad: [${" 1".repeat(count - 9)} ]) }`;

describe("operation limits (GraphQL Armor)", () => {
  it("are the documented numbers", () => {
    expect(QUERY_LIMITS).toEqual({ depth: 12, aliases: 256, directives: 20, tokens: 5_000 });
    expect(MAX_ANSWER_VALUES).toBe(100_000);
    expect(MAX_ANSWER_BYTES).toBe(16 * 1024 * 1024);
    expect(MAX_BODY_BYTES).toBe(1_000_000);
  });

  it("runs depth 12 and refuses 13, saying so without Armor's 'Syntax Error:' prefix", async () => {
    await accepted(deep(12));
    await refusedWith(deep(13), "Query depth limit of 12 exceeded, found 13.");
  });

  it("runs 256 aliases and refuses 257", async () => {
    await accepted(aliased(256));
    await refusedWith(aliased(257), "Aliases limit of 256 exceeded, found 257.");
  });

  it("runs 20 directives and refuses 21", async () => {
    await accepted(directed(20));
    await refusedWith(directed(21), "Directives limit of 20 exceeded, found 21.");
  });

  it("runs 5,000 tokens and refuses 5,001 (raised from the parser, yet no 'Syntax Error:')", async () => {
    await accepted(tokens(5_000));
    await refusedWith(tokens(5_001), "Token limit of 5000 exceeded.");
  });

  it("suggests no field names", async () => {
    const answer = await ask("{ nam }");
    expect(answer.errors!.map((e) => e.message)).toEqual([
      'Cannot query field "nam" on type "Item". [Suggestion hidden]',
    ]);
  });
});

describe("the answer budget", () => {
  it("estimates with the variables applied, and refuses over the limit before anything runs", async () => {
    // 2 + 2 × n × 1: 10 values for 4 items, 12 for 5.
    const query = "query ($n: Int) { items(first: $n) { name } }";
    expect((await ask(query, { n: 4 }, 10)).data).toEqual({
      items: [{ name: "x" }, { name: "x" }, { name: "x" }, { name: "x" }],
    });
    const refused = await ask(query, { n: 5 }, 10);
    expect(refused.data ?? null).toBeNull();
    expect(refused.errors).toEqual([
      {
        message:
          "Answer size limit of 10 values exceeded: with these variables the answer could hold about 12 (lists count their page sizes); ask for smaller pages or fewer fields",
        extensions: { code: "QUERY_TOO_EXPENSIVE", limit: "answerValues", max: 10, estimated: 12 },
      },
    ]);
  });

  it("is 100,000 values unless told otherwise", async () => {
    const query = "query ($n: Int) { items(first: $n) { name } }";
    const refused = await ask(query, { n: 50_000 });
    expect(refused.errors!.map((e) => e.extensions)).toEqual([
      { code: "QUERY_TOO_EXPENSIVE", limit: "answerValues", max: 100_000, estimated: 100_002 },
    ]);
    expect((await ask(query, { n: 49_999 })).errors).toBeUndefined();
  });

  it("refuses an answer that holds more values than allowed though its estimate was under", async () => {
    // Estimated 1; built: the list and its 9 numbers, 10 values (with the root object, 11).
    const over = await ask("{ unsized(count: 9) }", undefined, 10);
    expect(over.data ?? null).toBeNull();
    expect(over.errors).toEqual([
      {
        message:
          "Answer size limit of 10 values exceeded: the answer held more; ask for smaller pages, shorter periods or fewer fields",
        extensions: { code: "QUERY_TOO_EXPENSIVE", limit: "answerValues", max: 10 },
      },
    ]);
    // The root object, the list and its 8 numbers: 10, the limit itself.
    expect(await ask("{ unsized(count: 8) }", undefined, 10)).toEqual({ data: { unsized: [0, 1, 2, 3, 4, 5, 6, 7] } });
  });

  it("refuses an answer of more than 16 MB of text", async () => {
    const size = 17 * 1024 * 1024;
    const refused = await ask(`{ name(size: ${size}) }`);
    expect(refused.data ?? null).toBeNull();
    expect(refused.errors).toEqual([
      {
        message: `Answer size limit of ${16 * 1024 * 1024} bytes exceeded; ask for smaller pages, shorter periods or fewer fields`,
        extensions: { code: "QUERY_TOO_EXPENSIVE", limit: "answerBytes", max: 16 * 1024 * 1024 },
      },
    ]);
    // Just under: the object's 2 bytes, the key's 4 + 4 and the string's length + 3.
    const fits = 16 * 1024 * 1024 - 13;
    expect(((await ask(`{ name(size: ${fits}) }`)).data as { name: string }).name).toHaveLength(fits);
  });
});

describe("the answer budget's refusal names the limit passed", () => {
  it("bytes, when only the bytes are over, though the values are at their limit", async () => {
    // The root object and one string: 2 values, the limit; 17 MB of text, over.
    const refused = await ask(`{ name(size: ${17 * 1024 * 1024}) }`, undefined, 2);
    expect(refused.errors!.map((e) => e.extensions)).toEqual([
      { code: "QUERY_TOO_EXPENSIVE", limit: "answerBytes", max: 16 * 1024 * 1024 },
    ]);
  });
});

describe("answerSize", () => {
  it("counts values and JSON bytes: objects 2 + 4 a key, strings their length + 3, lists 2, scalars 8", () => {
    expect(answerSize(null, 100, 1_000)).toEqual({ values: 1, bytes: 8 });
    expect(answerSize(42, 100, 1_000)).toEqual({ values: 1, bytes: 8 });
    expect(answerSize("abc", 100, 1_000)).toEqual({ values: 1, bytes: 6 });
    expect(answerSize([], 100, 1_000)).toEqual({ values: 1, bytes: 2 });
    expect(answerSize({}, 100, 1_000)).toEqual({ values: 1, bytes: 2 });
    // {"ab": ["x", 1, null]}: 2 + (2 + 4) + 2 + 4 + 8 + 8 bytes; the object, the list and 3 items.
    expect(answerSize({ ab: ["x", 1, null] }, 100, 1_000)).toEqual({ values: 5, bytes: 30 });
    // A Date is one scalar, not an object of its fields.
    expect(answerSize(new Date(0), 100, 1_000)).toEqual({ values: 1, bytes: 8 });
  });

  it("stops counting once the values or the bytes pass their bound", () => {
    const list = Array.from({ length: 100 }, () => 1);
    expect(answerSize(list, 1_000, 10_000)).toEqual({ values: 101, bytes: 802 });
    // Stops at 4 values: one past the bound of 3.
    expect(answerSize(list, 3, 10_000)).toEqual({ values: 4, bytes: 26 });
    // At the bound it goes on: 3 values allowed, the list and 2 items counted whole.
    expect(answerSize([1, 1], 3, 10_000)).toEqual({ values: 3, bytes: 18 });
    // Bytes: past 20 after the list (2) and 3 items (26): stops there.
    expect(answerSize(list, 1_000, 20)).toEqual({ values: 4, bytes: 26 });
    expect(answerSize([1, 1], 1_000, 18)).toEqual({ values: 3, bytes: 18 });
    // At the byte bound it goes on too: the fourth value is counted.
    expect(answerSize([1, 1, 1], 1_000, 18)).toEqual({ values: 4, bytes: 26 });
  });
});

function post(body: BodyInit, headers: Record<string, string> = {}): Request {
  return new Request("http://limits.test/graphql", {
    method: "POST",
    headers: { "content-type": "application/json", ...headers },
    body,
    duplex: "half",
  } as RequestInit);
}

/** A body streamed in chunks of `chunk` bytes (no Content-Length), counting what was pulled. */
function streamed(total: number, chunk: number, text = " ") {
  let pulled = 0;
  const piece = new TextEncoder().encode(text.repeat(chunk));
  const body = new ReadableStream<Uint8Array>({
    pull(controller) {
      if (pulled >= total) return controller.close();
      const part = piece.subarray(0, Math.min(chunk, total - pulled));
      pulled += part.byteLength;
      controller.enqueue(part);
    },
  });
  return { body, pulled: () => pulled };
}

async function errorOf(response: Response) {
  return ((await response.json()) as { errors: { message: string; extensions: { code: string } }[] }).errors[0]!;
}

describe("the body limit", () => {
  it("refuses a declared length over 1,000,000 bytes with 413, without reading the body", async () => {
    const response = await yogaWith().fetch(post("{ name }", { "content-length": "1000001" }));
    expect(response.status).toBe(413);
    const error = await errorOf(response);
    expect(error.extensions.code).toBe("BAD_USER_INPUT");
    expect(error.message).toBe("the request body is 1000001 bytes; at most 1000000 bytes");
  });

  it("passes a declared length of 1,000,000 bytes and less", async () => {
    const query = JSON.stringify({ query: "{ name }" });
    const padded = query + " ".repeat(MAX_BODY_BYTES - query.length);
    const response = await yogaWith().fetch(post(padded, { "content-length": String(MAX_BODY_BYTES) }));
    expect(response.status).toBe(200);
    expect(await response.json()).toEqual({ data: { name: "x" } });
  });

  it("refuses a Content-Length that is not one whole number with 400", async () => {
    for (const length of ["12, 12", "-1", "+12", "1e3", "1.5", "abc"]) {
      const response = await yogaWith().fetch(post("{}", { "content-length": length }));
      expect(response.status, length).toBe(400);
      const error = await errorOf(response);
      expect(error.extensions.code, length).toBe("BAD_REQUEST");
      expect(error.message, length).toBe("Content-Length header is invalid.");
    }
  });

  it("refuses a body sent without a length as soon as it passes 1,000,000 bytes", async () => {
    const body = streamed(10_000_000, 64 * 1024);
    const response = await yogaWith().fetch(post(body.body));
    expect(response.status).toBe(413);
    const error = await errorOf(response);
    expect(error.extensions.code).toBe("BAD_USER_INPUT");
    expect(error.message).toBe("the request body is over 1000000 bytes (sent without a length); at most 1000000 bytes");
    expect(body.pulled()).toBeLessThan(MAX_BODY_BYTES + 3 * 64 * 1024);
  });

  it("answers a body sent without a length of exactly 1,000,000 bytes, read whole", async () => {
    const query = JSON.stringify({ query: "{ name }" });
    const text = query + " ".repeat(MAX_BODY_BYTES - query.length);
    const bytes = new TextEncoder().encode(text);
    let sent = 0;
    const body = new ReadableStream<Uint8Array>({
      pull(controller) {
        if (sent >= bytes.length) return controller.close();
        controller.enqueue(bytes.subarray(sent, sent + 100_000));
        sent += 100_000;
      },
    });
    const response = await yogaWith().fetch(post(body));
    expect(response.status).toBe(200);
    expect(await response.json()).toEqual({ data: { name: "x" } });
  });

  it("leaves a POST without a body to yoga", async () => {
    const response = await yogaWith().fetch(
      new Request("http://limits.test/graphql", { method: "POST", headers: { "content-type": "application/json" } }),
    );
    // Yoga's own answer to an empty body, not a failure of the limit's reading it.
    expect(response.status).toBe(400);
    expect((await errorOf(response)).message).toBe("POST body sent invalid JSON.");
  });

  it("leaves GET requests alone", async () => {
    const response = await yogaWith().fetch("http://limits.test/graphql?query=%7Bname%7D", {
      headers: { "content-length": "5000000", accept: "application/json" },
    });
    expect(response.status).toBe(200);
    expect(await response.json()).toEqual({ data: { name: "x" } });
  });
});

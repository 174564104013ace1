// Hostile operations are refused before anything runs, with QUERY_TOO_EXPENSIVE and the limit named:
// an alias bomb, a 50-deep query, a 10 MB body; the server keeps answering others meanwhile.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { MAX_BODY_BYTES, QUERY_LIMITS } from "../../src/server/limits.ts";
import { startTestServer, type TestServer } from "../helpers/server.ts";

let server: TestServer;
beforeAll(async () => {
  server = await startTestServer({ customers: 300 });
});
afterAll(async () => {
  await server?.close();
});

async function timed<T>(work: () => Promise<T>): Promise<{ result: T; ms: number }> {
  const started = performance.now();
  const result = await work();
  return { result, ms: performance.now() - started };
}

describe("query limits", () => {
  it("refuses an alias bomb before touching the warehouse", async () => {
    server.warehouseQueries.length = 0;
    // 300 aliases: under the token limit, over the alias limit.
    const aliases = Array.from({ length: 300 }, (_, i) => `a${i}: stages { key }`).join(" ");
    const { result, ms } = await timed(() => server.graphql(`{ ${aliases} }`));
    expect(result.errors![0]!.extensions!.code).toBe("QUERY_TOO_EXPENSIVE");
    expect(result.errors![0]!.message).toMatch(/alias/i);
    expect(server.warehouseQueries).toEqual([]);
    expect(ms).toBeLessThan(2_000);
  });

  it("refuses a 50-deep query", async () => {
    let selection = "name";
    for (let i = 0; i < 50; i++) selection = `ofType { ${selection} }`;
    const { result, ms } = await timed(() => server.graphql(`{ __type(name: "Query") { ${selection} } }`));
    expect(result.errors!.every((e) => e.extensions!.code === "QUERY_TOO_EXPENSIVE")).toBe(true);
    expect(result.errors!.map((e) => e.message).join("\n")).toMatch(new RegExp(`depth limit of ${QUERY_LIMITS.depth}`));
    expect(ms).toBeLessThan(2_000);
  });

  it("refuses a 10 MB body by its length, without reading it", async () => {
    const body = JSON.stringify({ query: "{ stages { key } }", variables: { pad: "x".repeat(10_000_000) } });
    const { result: response, ms } = await timed(async () =>
      server.yoga.fetch("http://test/graphql", {
        method: "POST",
        headers: { "content-type": "application/json", "content-length": String(body.length) },
        body,
      }),
    );
    expect(response.status).toBe(413);
    const answer = (await response.json()) as { errors: { message: string; extensions: { code: string } }[] };
    expect(answer.errors[0]!.extensions.code).toBe("BAD_USER_INPUT");
    expect(answer.errors[0]!.message).toMatch(new RegExp(`at most ${MAX_BODY_BYTES}`));
    expect(ms).toBeLessThan(2_000);
  });

  it("refuses a Content-Length that is not one whole number (400), as yoga's own check did", async () => {
    for (const length of ["abc", "10, 10", "-1"]) {
      const response = await server.yoga.fetch("http://test/graphql", {
        method: "POST",
        headers: { "content-type": "application/json", "content-length": length },
        body: JSON.stringify({ query: "{ stages { key } }" }),
      });
      expect(response.status, length).toBe(400);
      const answer = (await response.json()) as { errors: { extensions: { code: string } }[] };
      expect(answer.errors[0]!.extensions.code, length).toBe("BAD_REQUEST");
    }
  });

  /** A body sent in chunks with no Content-Length (as `Transfer-Encoding: chunked`), counting what was pulled. */
  function chunked(text: string, chunkBytes = 64 * 1024) {
    const bytes = new TextEncoder().encode(text);
    let offset = 0;
    const stream = new ReadableStream<Uint8Array>({
      pull(controller) {
        if (offset >= bytes.length) return controller.close();
        controller.enqueue(bytes.subarray(offset, offset + chunkBytes));
        offset += chunkBytes;
      },
    });
    return { stream, pulled: () => Math.min(offset, bytes.length) };
  }

  const postStream = (stream: ReadableStream<Uint8Array>) =>
    server.yoga.fetch("http://test/graphql", {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: stream,
      duplex: "half",
    } as RequestInit);

  it("refuses a 10 MB body sent without a length once it passes the limit, reading no further", async () => {
    const body = chunked(JSON.stringify({ query: "{ stages { key } }", variables: { pad: "x".repeat(10_000_000) } }));
    const response = await postStream(body.stream);
    expect(response.status).toBe(413);
    const answer = (await response.json()) as { errors: { message: string }[] };
    expect(answer.errors[0]!.message).toMatch(/sent without a length/);
    expect(body.pulled()).toBeLessThan(MAX_BODY_BYTES + 3 * 64 * 1024);
  });

  it("answers a small body sent without a length", async () => {
    const body = chunked(JSON.stringify({ query: `{ stages(asOf: "2026-06-30") { key } }` }), 8);
    const response = await postStream(body.stream);
    expect(response.status).toBe(200);
    expect(((await response.json()) as { data: { stages: unknown[] } }).data.stages).toHaveLength(8);
  });

  it("keeps answering ordinary requests, also while refusing others", async () => {
    const bomb = Array.from({ length: 1_000 }, (_, i) => `a${i}: stages { key }`).join(" ");
    const [refused, fine] = await Promise.all([
      server.graphql(`{ ${bomb} }`),
      server.graphql<{ stages: { key: string }[] }>(`{ stages(asOf: "2026-06-30") { key count } }`),
    ]);
    expect(refused.errors![0]!.extensions!.code).toBe("QUERY_TOO_EXPENSIVE");
    expect(fine.errors).toBeUndefined();
    expect(fine.data!.stages).toHaveLength(8);
  });

  it("does not suggest field names to a probe", async () => {
    const { errors } = await server.graphql(`{ stagez { key } }`);
    expect(errors![0]!.message).not.toMatch(/Did you mean/);
  });
});

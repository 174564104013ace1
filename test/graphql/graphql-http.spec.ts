// The GraphQL-over-HTTP conformance audit of the graphql-http package, each audit its own test.
import { serverAudits } from "graphql-http";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startTestServer, type TestServer } from "../helpers/server.ts";

let server: TestServer;

beforeAll(async () => {
  server = await startTestServer({ customers: 50 });
});
afterAll(async () => {
  await server?.close();
});

describe("GraphQL over HTTP audit", () => {
  for (const audit of serverAudits({
    url: "http://test/graphql",
    fetchFn: (input: RequestInfo | URL, init?: RequestInit) => server.yoga.fetch(input as URL, init ?? {}),
  })) {
    it(audit.name, async () => {
      const result = await audit.fn();
      if (result.status === "error") throw new Error(result.reason);
      // Warnings are SHOULDs of the spec; this server meets them all today, so one appearing is a regression.
      expect(result.status, result.status === "warn" ? result.reason : undefined).toBe("ok");
    });
  }
});

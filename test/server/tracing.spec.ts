// Optional OpenTelemetry tracing: with a tracer provider registered (here an in-memory exporter; in
// production CLM_OTEL=otlp), each request is a server span and each warehouse query a child of it.
import { InMemorySpanExporter, SimpleSpanProcessor } from "@opentelemetry/sdk-trace-base";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startTracing } from "../../src/observability/tracing.ts";
import { startTestServer, type TestServer } from "../helpers/server.ts";

const exporter = new InMemorySpanExporter();
let tracing: ReturnType<typeof startTracing>;
let server: TestServer;

beforeAll(async () => {
  tracing = startTracing("off", new SimpleSpanProcessor(exporter));
  server = await startTestServer({ customers: 40 });
});
afterAll(async () => {
  await server?.close();
  await tracing?.shutdown();
});

describe("tracing", () => {
  it("traces a request as a server span with its warehouse queries as children", async () => {
    exporter.reset();
    const body = await server.graphql(`query Stages { stages(asOf: "2026-06-30") { key count } }`);
    expect(body.errors).toBeUndefined();
    const spans = exporter.getFinishedSpans();
    const request = spans.find((s) => s.name === "POST /graphql");
    expect(request).toBeDefined();
    expect(request!.attributes).toMatchObject({
      "graphql.operation.name": "Stages",
      "graphql.operation.type": "query",
      "http.response.status_code": 200,
    });
    const queries = spans.filter((s) => s.name === "warehouse.query");
    expect(queries.length).toBe(server.warehouseQueries.filter((l) => l === "stage_counts").length);
    expect(queries.length).toBeGreaterThan(0);
    for (const query of queries) {
      expect(query.spanContext().traceId).toBe(request!.spanContext().traceId);
      expect(query.parentSpanContext?.spanId).toBe(request!.spanContext().spanId);
      expect(query.attributes).toMatchObject({ "clm.query.label": "stage_counts", "clm.query.outcome": "ok" });
    }
    expect(request!.attributes["clm.warehouse_queries"]).toBe(queries.length);
  });

  it("marks a failed request's span as an error", async () => {
    exporter.reset();
    const ids = Array.from({ length: 5_001 }, (_, i) => `c${i}`);
    const body = await server.graphql(`query ($ids: [ID!]!) { customers(ids: $ids) { id } }`, { ids });
    expect(body.errors?.[0]?.extensions?.code).toBe("BAD_USER_INPUT");
    const request = exporter.getFinishedSpans().find((s) => s.name === "POST /graphql");
    expect(request!.status.code).toBe(2); // SpanStatusCode.ERROR
    expect(request!.attributes["clm.error_codes"]).toBe("BAD_USER_INPUT");
  });
});

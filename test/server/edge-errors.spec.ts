// Failures answered outside GraphQL (the export, /ready, authentication): each with the status of its
// code, and counted where it is a failure of the run rather than a refusal of what was asked.
import pino from "pino";
import { describe, expect, it } from "vitest";
import { QueryTooExpensiveError, WarehouseBusyError } from "../../src/connectors/connector.ts";
import { CancelledError, NotFoundError } from "../../src/errors.ts";
import { ServerMetrics } from "../../src/observability/metrics.ts";
import { newRequestScope, runInRequestScope } from "../../src/request-scope.ts";
import { failureResponse } from "../../src/server/edge-errors.ts";

const log = pino({ level: "silent" });

async function answered(error: unknown) {
  const metrics = new ServerMetrics();
  const scope = newRequestScope("req-1", 30_000);
  const response = await runInRequestScope(scope, async () => failureResponse(error, log, metrics, "export"));
  const counted = (await metrics.edgeFailures.get()).values.map((v) => [v.labels.code, v.value]);
  return { status: response.status, body: await response.json(), counted, codes: [...scope.errorCodes] };
}

describe("a failure answered outside GraphQL", () => {
  it("a budget reached while running: 422 with its fields and the request id, counted", async () => {
    const a = await answered(new QueryTooExpensiveError(2_000, 1_000));
    expect(a.status).toBe(422);
    expect(a.body.errors[0].extensions).toMatchObject({
      code: "QUERY_TOO_EXPENSIVE",
      estimatedBytes: 2_000,
      budgetBytes: 1_000,
      requestId: "req-1",
    });
    expect(a.counted).toEqual([["QUERY_TOO_EXPENSIVE", 1]]);
    expect(a.codes).toEqual(["QUERY_TOO_EXPENSIVE"]);
  });

  it("the client gone: 499 CANCELLED, counted", async () => {
    const a = await answered(new CancelledError());
    expect(a.status).toBe(499);
    expect(a.counted).toEqual([["CANCELLED", 1]]);
  });

  it("a busy warehouse: 503, counted", async () => {
    const a = await answered(new WarehouseBusyError("no slot"));
    expect(a.status).toBe(503);
    expect(a.body.errors[0].extensions.code).toBe("WAREHOUSE_BUSY");
    expect(a.counted).toEqual([["WAREHOUSE_BUSY", 1]]);
  });

  it("an unknown segment: 404, answered only (a refusal, not a failure of the server)", async () => {
    const a = await answered(new NotFoundError("no segment with id x"));
    expect(a.status).toBe(404);
    expect(a.body.errors[0]).toMatchObject({ message: "no segment with id x", extensions: { code: "NOT_FOUND" } });
    expect(a.counted).toEqual([]);
    expect(a.codes).toEqual([]);
  });

  it("anything unexpected: 500 'Unexpected error.' with the request id, counted", async () => {
    const a = await answered(new Error("secret detail"));
    expect(a.status).toBe(500);
    expect(a.body.errors[0]).toEqual({
      message: "Unexpected error.",
      extensions: { code: "INTERNAL_SERVER_ERROR", requestId: "req-1" },
    });
    expect(a.counted).toEqual([["INTERNAL_SERVER_ERROR", 1]]);
  });
});

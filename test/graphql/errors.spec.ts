// The error model: an internal failure reaches the client masked, with the request id it can quote;
// the log has the whole error under that id; every answer carries the id in x-request-id.
import { pino } from "pino";
import { Writable } from "node:stream";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { WarehouseConnector } from "../../src/connectors/connector.ts";
import { DEFAULT_MAPPING } from "../../src/sql/contract.ts";
import { duckdbDialect } from "../../src/connectors/duckdb.ts";
import { defaultStageModel } from "../../src/lifecycle/stage-model.ts";
import { createAppServices } from "../../src/services/app-services.ts";
import { createClmYoga, type ClmYoga } from "../../src/server/yoga.ts";
import { openTestAppDatabase, type TestAppDatabase } from "../helpers/databases.ts";

const lines: Record<string, unknown>[] = [];
const log = pino(
  { level: "info" },
  new Writable({
    write(chunk, _encoding, done) {
      lines.push(JSON.parse(String(chunk)));
      done();
    },
  }),
);

/** A warehouse whose every query fails with a message a client must never see. */
const broken: WarehouseConnector = {
  kind: "duckdb",
  dialect: duckdbDialect,
  mapping: DEFAULT_MAPPING,
  query: async () => {
    throw new Error('syntax error at "secret_table" near password=hunter2');
  },
  async *stream() {},
  ping: async () => {},
  tableStatus: async () => [],
  close: async () => {},
};

let appDb: TestAppDatabase;
let yoga: ClmYoga;
beforeAll(async () => {
  appDb = await openTestAppDatabase();
  const services = createAppServices({
    warehouse: broken,
    prisma: appDb.prisma,
    log,
    stageModel: defaultStageModel(),
    timeZone: "UTC",
    available: new Set(),
  });
  yoga = createClmYoga(
    { ...services, prisma: appDb.prisma, pingAppDatabase: () => appDb.ping() },
    { allowAnonymous: true },
  );
});
afterAll(async () => {
  await appDb?.close();
});

describe("error model", () => {
  it("masks an internal error, gives the client the request id, and logs the detail under it", async () => {
    const response = await yoga.fetch("http://test/graphql", {
      method: "POST",
      headers: { "content-type": "application/json", "x-request-id": "req-42" },
      body: JSON.stringify({ query: `{ stages(asOf: "2026-06-30") { key count } }` }),
    });
    expect(response.headers.get("x-request-id")).toBe("req-42");
    const body = (await response.json()) as { errors: { message: string; extensions: Record<string, unknown> }[] };
    expect(body.errors[0]!.message).toBe("Unexpected error.");
    expect(body.errors[0]!.extensions).toMatchObject({ code: "INTERNAL_SERVER_ERROR", requestId: "req-42" });
    expect(JSON.stringify(body)).not.toMatch(/secret_table|hunter2|at .*\.ts/);
    const logged = lines.find((l) => l.msg === "internal error" && l.requestId === "req-42");
    expect(logged).toBeDefined();
    expect(JSON.stringify(logged)).toMatch(/secret_table/);
  });

  it("keeps concurrent requests' ids apart", async () => {
    const ids = Array.from({ length: 20 }, (_, i) => `r${i}`);
    const answers = await Promise.all(
      ids.map((id) =>
        yoga.fetch("http://test/graphql", {
          method: "POST",
          headers: { "content-type": "application/json", "x-request-id": id },
          body: JSON.stringify({ query: `{ stages(asOf: "2026-06-30") { count } }` }),
        }),
      ),
    );
    for (const [i, response] of answers.entries()) {
      expect(response.headers.get("x-request-id")).toBe(ids[i]);
      const body = (await response.json()) as { errors: { extensions: { requestId: string } }[] };
      expect(body.errors.every((e) => e.extensions.requestId === ids[i])).toBe(true);
    }
  });

  it("makes up an id when the client sends none (or an unusable one), and echoes it", async () => {
    const response = await yoga.fetch("http://test/graphql?query=%7B__typename%7D", {
      headers: { "x-request-id": "bad id with spaces\u0007" },
    });
    expect(response.headers.get("x-request-id")).toMatch(/^[0-9a-f-]{36}$/);
    const plain = await yoga.fetch("http://test/graphql?query=%7B__typename%7D");
    expect(plain.headers.get("x-request-id")).toMatch(/^[0-9a-f-]{36}$/);
  });
});

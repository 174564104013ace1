// Saved segments survive a restart of the server process, on the embedded store and on a PostgreSQL
// server: the segment, its current version and its whole history come back as they were.
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { adminQuery, TEST_DATABASE_URL, testName, withDatabase } from "../helpers/databases.ts";
import { serveClm } from "../helpers/process.ts";

async function graphql<T>(url: string, query: string, variables?: Record<string, unknown>) {
  const response = await fetch(`${url}/graphql`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ query, variables }),
  });
  return (await response.json()) as { data?: T; errors?: { message: string }[] };
}

const SEGMENT = `id name version definition versions { version name definition }`;

/** Saves a segment and changes it once, restarts the server, and reads it back. */
async function survivesRestart(env: Record<string, string>): Promise<void> {
  const first = await serveClm(env);
  let saved: Record<string, unknown>;
  try {
    const created = await graphql<{ createSegment: { id: string } }>(
      first.url,
      `
        mutation {
          createSegment(input: { name: "kept", definition: { field: "stage", op: "eq", value: "loyal" } }) {
            id
          }
        }
      `,
    );
    expect(created.errors).toBeUndefined();
    const id = created.data!.createSegment.id;
    const updated = await graphql<{ updateSegment: Record<string, unknown> }>(
      first.url,
      `mutation($id: ID!) { updateSegment(input: { id: $id, version: 1, name: "kept, renamed" }) { ${SEGMENT} } }`,
      { id },
    );
    expect(updated.errors).toBeUndefined();
    saved = updated.data!.updateSegment;
  } finally {
    expect(await first.stop()).toBe(0);
  }
  const second = await serveClm(env);
  try {
    const read = await graphql<{ segment: Record<string, unknown> }>(
      second.url,
      `query($id: ID!) { segment(id: $id) { ${SEGMENT} } }`,
      { id: saved.id },
    );
    expect(read.data!.segment).toEqual(saved);
    expect((read.data!.segment.versions as unknown[]).length).toBe(2);
  } finally {
    expect(await second.stop()).toBe(0);
  }
}

describe("segments across a restart", () => {
  it("on the embedded store", async () => {
    const dir = mkdtempSync(join(tmpdir(), "clm-restart-"));
    await survivesRestart({ CLM_DATA_DIR: join(dir, "data"), CLM_DEMO_CUSTOMERS: "200", PORT: "0" });
  }, 120_000);

  describe.runIf(TEST_DATABASE_URL)("on a PostgreSQL server", () => {
    const database = testName();
    afterAll(async () => {
      await adminQuery(`DROP DATABASE IF EXISTS ${database} WITH (FORCE)`);
    });
    it("keeps them in the app database", async () => {
      await adminQuery(`CREATE DATABASE ${database}`);
      await survivesRestart({
        DATABASE_URL: withDatabase(TEST_DATABASE_URL!, database),
        // The demo warehouse beside a real app database is said, not assumed; so is keyless access.
        CLM_WAREHOUSE: "duckdb",
        CLM_ALLOW_ANONYMOUS: "1",
        CLM_DEMO_CUSTOMERS: "200",
        PORT: "0",
      });
    }, 120_000);
  });
});

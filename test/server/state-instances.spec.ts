// Several server processes on one PostgreSQL app database share one state store: at start both try to
// refresh and exactly one does (the other skips its turn under the refresh lock); both serve the new
// generation right after it commits; a refresh killed with SIGKILL midway leaves the old state serving
// (and serving throughout), releases the lock with its connection, and the next refresh completes and
// removes the killed one's rows. Needs a PostgreSQL server (TEST_DATABASE_URL), as in CI.
import { copyFileSync, mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { spawn } from "node:child_process";
import pg from "pg";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { adminQuery, TEST_DATABASE_URL, testName, withDatabase } from "../helpers/databases.ts";
import { CLM_BIN, cleanEnv, runClm, serveClm, until, type Served } from "../helpers/process.ts";

const STATE_DAY = "2026-06-30";

async function graphql(url: string, query: string) {
  const response = await fetch(`${url}/graphql`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ query }),
  });
  return (await response.json()) as {
    data?: Record<string, any>;
    errors?: { message: string }[];
    extensions?: Record<string, any>;
  };
}

describe.skipIf(!TEST_DATABASE_URL)("the state store shared by two server processes", () => {
  const dir = mkdtempSync(join(tmpdir(), "clm-instances-"));
  const database = testName();
  const databaseUrl = TEST_DATABASE_URL ? withDatabase(TEST_DATABASE_URL, database) : "";
  let db: pg.Client;
  const servers: Served[] = [];
  const env = (warehouse: string, extra: Record<string, string> = {}) => ({
    CLM_DUCKDB_PATH: join(dir, warehouse),
    DATABASE_URL: databaseUrl,
    CLM_DATA_DIR: dir,
    CLM_ALLOW_ANONYMOUS: "1",
    PORT: "0",
    HOST: "127.0.0.1",
    LOG_LEVEL: "info",
    TZ: "UTC",
    ...extra,
  });

  beforeAll(async () => {
    // Each process its own copy of one warehouse (DuckDB files are one process's); one app database.
    const seeded = await runClm(
      ["seed", "--customers", "30000", "--end-date", STATE_DAY, "--out", join(dir, "a.duckdb"), "-q"],
      {},
      120_000,
    );
    expect(seeded.code, seeded.stderr).toBe(0);
    for (const copy of ["b.duckdb", "c.duckdb"]) copyFileSync(join(dir, "a.duckdb"), join(dir, copy));
    await adminQuery(`CREATE DATABASE ${database}`);
    db = new pg.Client({ connectionString: databaseUrl });
    await db.connect();
  }, 180_000);

  afterAll(async () => {
    for (const server of servers) await server.stop("SIGKILL").catch(() => {});
    await db?.end();
    if (TEST_DATABASE_URL) await adminQuery(`DROP DATABASE IF EXISTS ${database} WITH (FORCE)`);
  });

  it("refreshes once at start and both serve the new generation", async () => {
    // Both refresh at start (a schedule), the state day being today: one publishes, one skips.
    const started = await Promise.all(
      ["a.duckdb", "b.duckdb"].map((file) => serveClm(env(file, { CLM_STATE_REFRESH_MINUTES: "60" }), 120_000)),
    );
    servers.push(...started);
    await until("a published state", async () => {
      const { rows } = await db.query(`SELECT count(*)::int AS n FROM state_refresh WHERE published`).catch(() => ({
        rows: [{ n: 0 }],
      }));
      return rows[0].n > 0;
    });
    await until("both instances to finish their turn", async () =>
      started.every((s) => /state refresh (published|skipped)/.test(s.stderr())),
    );
    const published = started.filter((s) => /state refresh published/.test(s.stderr()));
    const skipped = started.filter((s) => /state refresh skipped/.test(s.stderr()));
    expect([published.length, skipped.length]).toEqual([1, 1]);
    const { rows } = await db.query(`SELECT generation, kind, published FROM state_refresh ORDER BY generation`);
    expect(rows).toEqual([{ generation: 1, kind: "full", published: true }]);
    await until(
      "both to serve generation 1",
      async () => {
        const answers = await Promise.all(
          started.map((s) =>
            graphql(
              s.url,
              `
                {
                  stages {
                    count
                  }
                }
              `,
            ),
          ),
        );
        return answers.every((a) => a.extensions?.stateStore?.generation === 1);
      },
      5_000,
    );
  }, 240_000);

  it("keeps serving the old state through a refresh killed midway, and the next one completes", async () => {
    const [a, b] = servers;
    const lookup = `{ customer(id: "c000042") { id asOf stage { key } } }`;
    const before = await graphql(a!.url, lookup);
    expect(before.data?.customer?.id).toBe("c000042");

    // A full refresh in a process of its own, killed once it has loaded some rows of its generation.
    const child = spawn(process.execPath, [CLM_BIN, "refresh", "--full", "-q"], {
      env: cleanEnv(env("c.duckdb")),
      stdio: ["ignore", "pipe", "pipe"],
    });
    const exited = new Promise<NodeJS.Signals | null>((r) => child.on("exit", (_code, signal) => r(signal)));
    await until("the refresh to load rows of generation 2", async () => {
      const { rows } = await db.query(`SELECT count(*)::int AS n FROM customer_state WHERE rows_generation = 2`);
      return rows[0].n > 0;
    });
    // Serving goes on meanwhile, from generation 1.
    const during = await graphql(b!.url, lookup);
    expect(during.data).toEqual(before.data);
    expect(during.extensions?.stateStore?.generation).toBe(1);
    child.kill("SIGKILL");
    expect(await exited).toBe("SIGKILL");

    const { rows: afterKill } = await db.query(
      `SELECT generation, published, finished_at IS NULL AS unfinished FROM state_refresh ORDER BY generation`,
    );
    expect(afterKill).toEqual([
      { generation: 1, published: true, unfinished: false },
      { generation: 2, published: false, unfinished: true },
    ]);
    for (const server of [a!, b!]) {
      const answer = await graphql(
        server.url,
        `
          {
            stateStore {
              generation
            }
            customer(id: "c000042") {
              id
            }
          }
        `,
      );
      expect(answer.data).toEqual({ stateStore: { generation: 1 }, customer: { id: "c000042" } });
    }

    // The lock went with the killed process's connection: the next refresh runs, and both serve it.
    const next = await runClm(["refresh"], env("c.duckdb"), 120_000);
    expect(next.code, next.stderr).toBe(0);
    expect(next.stdout).toMatch(/^generation 3 \(incremental\)/);
    await until(
      "both to serve generation 3",
      async () => {
        const answers = await Promise.all(
          [a!, b!].map((s) =>
            graphql(
              s.url,
              `
                {
                  stateStore {
                    generation
                  }
                }
              `,
            ),
          ),
        );
        return answers.every((x) => x.data?.stateStore?.generation === 3);
      },
      5_000,
    );
    const { rows: leftover } = await db.query(
      `SELECT count(*)::int AS n FROM customer_state WHERE rows_generation = 2`,
    );
    expect(leftover[0].n).toBe(0);
  }, 240_000);
});

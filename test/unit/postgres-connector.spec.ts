// The PostgreSQL connector's server side (src/connectors/postgres.ts) against a stand-in for node-postgres'
// Pool and its clients: the pool's options, the session it asks for, the value decoding, which SQL a query
// and a cursor stream send, when a client goes back to the pool as broken, the cancel on abort, and how a
// driver error becomes the project's WAREHOUSE_UNAVAILABLE / WAREHOUSE_BUSY or stays what it is. (Against a
// real server: test/sql/connectors.spec.ts with TEST_DATABASE_URL; without one it runs on PGlite.)
import { EventEmitter } from "node:events";
import { beforeEach, describe, expect, it, vi } from "vitest";
import { WarehouseBusyError, WarehouseUnavailableError } from "../../src/connectors/connector.ts";
import {
  openPostgres,
  pgPoolSource,
  POOL_CONNECTIONS,
  PostgresConnector,
  pgliteSource,
  type PgQuerySource,
} from "../../src/connectors/postgres.ts";
import { DEFAULT_MAPPING } from "../../src/sql/contract.ts";
import { sql } from "../../src/sql/sql.ts";

type Answer = (text: string, values: unknown[] | undefined) => Promise<{ rows: Record<string, unknown>[] }>;

interface FakeClient extends EventEmitter {
  processID: number | undefined;
  calls: { text: string; values: unknown[] | undefined }[];
  released: (boolean | undefined)[];
}

const fake = vi.hoisted(() => ({
  pools: [] as FakePool[],
  /** How the next clients answer each query. */
  answer: (async () => ({ rows: [] })) as Answer,
  processID: 4242 as number | undefined,
}));

interface FakePool extends EventEmitter {
  options: Record<string, unknown> & { max?: number };
  clients: FakeClient[];
  poolQueries: { text: string; values: unknown[] }[];
  ended: boolean;
}

vi.mock("pg", async () => {
  const actual = (await vi.importActual<typeof import("pg")>("pg")).default;
  const { EventEmitter } = await import("node:events");
  class Client extends EventEmitter {
    processID = fake.processID;
    calls: { text: string; values: unknown[] | undefined }[] = [];
    released: (boolean | undefined)[] = [];
    query(text: string, values?: unknown[]) {
      this.calls.push({ text, values });
      return fake.answer(text, values);
    }
    release(broken?: boolean) {
      this.released.push(broken);
    }
  }
  class Pool extends EventEmitter {
    clients: Client[] = [];
    poolQueries: { text: string; values: unknown[] }[] = [];
    ended = false;
    constructor(readonly options: Record<string, unknown>) {
      super();
      fake.pools.push(this as unknown as FakePool);
    }
    async connect() {
      const client = new Client();
      this.clients.push(client);
      return client;
    }
    async query(text: string, values: unknown[]) {
      this.poolQueries.push({ text, values });
      return { rows: [] };
    }
    async end() {
      this.ended = true;
    }
  }
  return { default: { ...actual, Pool } };
});

const URL = "postgres://app@db.test/warehouse";

function errorWith(code: string | undefined, message = "failed"): Error {
  return Object.assign(new Error(message), { code });
}

async function collect<T>(rows: AsyncIterable<T>): Promise<T[]> {
  const out: T[] = [];
  for await (const batch of rows) out.push(batch);
  return out;
}

beforeEach(() => {
  fake.pools.length = 0;
  fake.answer = async () => ({ rows: [] });
  fake.processID = 4242;
});

describe("pgPoolSource's pool", () => {
  it("asks for ten connections, a 5 s connect timeout, its name and a UTC session", () => {
    const source = pgPoolSource(URL);
    const { options } = fake.pools[0]!;
    expect(options).toMatchObject({
      connectionString: URL,
      max: 10,
      connectionTimeoutMillis: 5000,
      application_name: "clm-graphql",
      options: "-c TimeZone=UTC",
    });
    expect(POOL_CONNECTIONS).toBe(10);
    expect(source.connections).toBe(10);
  });

  it("lets the caller's options win", () => {
    const source = pgPoolSource(URL, { max: 3, connectionTimeoutMillis: 100 });
    expect(fake.pools[0]!.options).toMatchObject({
      max: 3,
      connectionTimeoutMillis: 100,
      application_name: "clm-graphql",
    });
    expect(source.connections).toBe(3);
  });

  it("decodes int8 and numeric as numbers, keeps a date as its day, leaves other types to pg", () => {
    pgPoolSource(URL);
    const types = fake.pools[0]!.options.types as {
      getTypeParser(oid: number, format?: string): (v: string) => unknown;
    };
    expect(types.getTypeParser(20)("9007199254740")).toBe(9_007_199_254_740);
    expect(types.getTypeParser(1700)("1234.50")).toBe(1234.5);
    expect(types.getTypeParser(1082)("2026-01-15")).toBe("2026-01-15");
    // bool (16) and int4 (23) by pg's own parsers.
    expect(types.getTypeParser(16)("t")).toBe(true);
    expect(types.getTypeParser(23)("42")).toBe(42);
    expect(types.getTypeParser(25)("2026-01-15")).toBe("2026-01-15");
  });

  it("survives an idle client's connection error", () => {
    pgPoolSource(URL);
    // An EventEmitter with no 'error' listener throws the error.
    expect(() => fake.pools[0]!.emit("error", new Error("terminated"))).not.toThrow();
  });

  it("ends the pool on close", async () => {
    await pgPoolSource(URL).close();
    expect(fake.pools[0]!.ended).toBe(true);
  });

  it("openPostgres sizes the pool from the settings, and leaves four connections out of the query slots", async () => {
    const sized = await openPostgres({ url: URL, connections: 8 }, DEFAULT_MAPPING);
    expect(fake.pools[0]!.options).toMatchObject({ connectionString: URL, max: 8 });
    expect(sized.concurrentQueries).toBe(4);
    const plain = await openPostgres({ url: URL }, DEFAULT_MAPPING);
    expect(fake.pools[1]!.options.max).toBe(10);
    expect(plain.concurrentQueries).toBe(6);
    const small = await openPostgres({ url: URL, connections: 2 }, DEFAULT_MAPPING);
    expect(small.concurrentQueries).toBe(1);
  });
});

describe("pgPoolSource.query", () => {
  it("sends the text and values on a client, returns its rows and releases it whole", async () => {
    fake.answer = async () => ({ rows: [{ n: 1 }] });
    const source = pgPoolSource(URL);
    await expect(source.query("SELECT $1::int AS n", [1])).resolves.toEqual([{ n: 1 }]);
    const client = fake.pools[0]!.clients[0]!;
    expect(client.calls).toEqual([{ text: "SELECT $1::int AS n", values: [1] }]);
    expect(client.released).toEqual([false]);
    expect(client.listenerCount("error")).toBe(0);
  });

  it("hears a client's lost connection during the query and releases it as broken", async () => {
    const source = pgPoolSource(URL);
    fake.answer = async () => {
      const client = fake.pools[0]!.clients[0]!;
      expect(() => client.emit("error", new Error("Connection terminated unexpectedly"))).not.toThrow();
      return { rows: [] };
    };
    await source.query("SELECT 1", []);
    expect(fake.pools[0]!.clients[0]!.released).toEqual([true]);
  });

  it("releases a client as broken after a connection error, whole after a query error", async () => {
    const source = pgPoolSource(URL);
    for (const code of ["08006", "08001", "57P01", "ECONNRESET", "ECONNREFUSED"]) {
      fake.answer = async () => Promise.reject(errorWith(code));
      await expect(source.query("SELECT 1", [])).rejects.toMatchObject({ code });
    }
    for (const code of ["57014", "42601", "53300", "P0001", "ETIMEDOUT", undefined]) {
      fake.answer = async () => Promise.reject(errorWith(code));
      await expect(source.query("SELECT 1", [])).rejects.toThrow("failed");
    }
    expect(fake.pools[0]!.clients.map((c) => c.released)).toEqual([
      [true],
      [true],
      [true],
      [true],
      [true],
      [false],
      [false],
      [false],
      [false],
      [false],
      [false],
    ]);
    expect(fake.pools[0]!.clients.every((c) => c.listenerCount("error") === 0)).toBe(true);
  });

  it("releases a client on a rejection that is not an error object", async () => {
    const source = pgPoolSource(URL);
    fake.answer = async () => Promise.reject(null);
    await expect(source.query("SELECT 1", [])).rejects.toBeNull();
    expect(fake.pools[0]!.clients[0]!.released).toEqual([false]);
  });

  it("sends nothing when already aborted, and gives the client back", async () => {
    const source = pgPoolSource(URL);
    const controller = new AbortController();
    controller.abort(new Error("gone"));
    await expect(source.query("SELECT 1", [], controller.signal)).rejects.toThrow("gone");
    const client = fake.pools[0]!.clients[0]!;
    expect(client.calls).toEqual([]);
    expect(client.released).toEqual([false]);
  });

  it("cancels the running query on the server when aborted, by the client's backend pid", async () => {
    const source = pgPoolSource(URL);
    const controller = new AbortController();
    fake.answer = async () => {
      controller.abort();
      return { rows: [] };
    };
    await source.query("SELECT pg_sleep(60)", [], controller.signal);
    expect(fake.pools[0]!.poolQueries).toEqual([{ text: "SELECT pg_cancel_backend($1)", values: [4242] }]);
  });

  it("cancels nothing once the query is done, nor for a client with no pid", async () => {
    const source = pgPoolSource(URL);
    const done = new AbortController();
    await source.query("SELECT 1", [], done.signal);
    done.abort();
    fake.processID = undefined;
    const noPid = new AbortController();
    fake.answer = async () => {
      noPid.abort();
      return { rows: [] };
    };
    await source.query("SELECT 1", [], noPid.signal);
    expect(fake.pools[0]!.poolQueries).toEqual([]);
  });
});

describe("pgPoolSource.stream", () => {
  const TEXT = "SELECT id FROM t WHERE id > $1";

  /** A cursor over `total` rows {i}: FETCH n hands out the next n. */
  function cursorOver(total: number, fail?: { on: string; error: unknown }) {
    let next = 0;
    fake.answer = async (text) => {
      if (fail && text.startsWith(fail.on)) throw fail.error;
      const fetch = /^FETCH (\d+) FROM clm_export$/.exec(text);
      if (!fetch) return { rows: [] };
      const n = Math.min(Number(fetch[1]), total - next);
      const rows = Array.from({ length: n }, (_, k) => ({ i: next + k }));
      next += n;
      return { rows };
    };
  }

  it("reads a cursor in a read-only transaction, batch by batch, and commits", async () => {
    cursorOver(5);
    const source = pgPoolSource(URL);
    const batches = await collect(source.stream(TEXT, [7], 2));
    expect(batches.map((b) => b.map((r) => r.i))).toEqual([[0, 1], [2, 3], [4]]);
    const client = fake.pools[0]!.clients[0]!;
    expect(client.calls).toEqual([
      { text: "BEGIN READ ONLY", values: undefined },
      { text: "SET LOCAL idle_in_transaction_session_timeout = '60s'", values: undefined },
      { text: `DECLARE clm_export NO SCROLL CURSOR FOR ${TEXT}`, values: [7] },
      { text: "FETCH 2 FROM clm_export", values: undefined },
      { text: "FETCH 2 FROM clm_export", values: undefined },
      { text: "FETCH 2 FROM clm_export", values: undefined },
      { text: "COMMIT", values: undefined },
    ]);
    expect(client.released).toEqual([false]);
    expect(client.listenerCount("error")).toBe(0);
  });

  it("yields no empty batch when the rows fill the last one, and fetches at least one row", async () => {
    cursorOver(4);
    const source = pgPoolSource(URL);
    expect((await collect(source.stream(TEXT, [], 2))).map((b) => b.length)).toEqual([2, 2]);
    cursorOver(2);
    expect((await collect(source.stream(TEXT, [], 0.5))).map((b) => b.length)).toEqual([1, 1]);
    expect(fake.pools[0]!.clients[1]!.calls.filter((c) => c.text.startsWith("FETCH"))[0]!.text).toBe(
      "FETCH 1 FROM clm_export",
    );
  });

  it("rolls the transaction back when the reader stops early", async () => {
    cursorOver(10);
    const source = pgPoolSource(URL);
    for await (const batch of source.stream(TEXT, [], 3)) {
      expect(batch).toHaveLength(3);
      break;
    }
    const client = fake.pools[0]!.clients[0]!;
    expect(client.calls.map((c) => c.text).slice(-2)).toEqual(["FETCH 3 FROM clm_export", "ROLLBACK"]);
    expect(client.released).toEqual([false]);
  });

  it("rolls back after a query error, and releases the client whole", async () => {
    cursorOver(10, { on: "DECLARE", error: errorWith("42601", "syntax error") });
    const source = pgPoolSource(URL);
    await expect(collect(source.stream(TEXT, [], 3))).rejects.toThrow("syntax error");
    const client = fake.pools[0]!.clients[0]!;
    expect(client.calls.map((c) => c.text).at(-1)).toBe("ROLLBACK");
    expect(client.released).toEqual([false]);
    expect(client.listenerCount("error")).toBe(0);
  });

  it("does not roll back on a lost connection: the client goes back broken", async () => {
    cursorOver(10, { on: "FETCH", error: errorWith("57P01", "terminating connection") });
    const source = pgPoolSource(URL);
    await expect(collect(source.stream(TEXT, [], 3))).rejects.toThrow("terminating connection");
    const client = fake.pools[0]!.clients[0]!;
    expect(client.calls.map((c) => c.text)).not.toContain("ROLLBACK");
    expect(client.released).toEqual([true]);
  });

  it("does not roll back after a connection error event on the client", async () => {
    cursorOver(10);
    const source = pgPoolSource(URL);
    for await (const _ of source.stream(TEXT, [], 3)) {
      fake.pools[0]!.clients[0]!.emit("error", new Error("Connection terminated unexpectedly"));
      break;
    }
    const client = fake.pools[0]!.clients[0]!;
    expect(client.calls.map((c) => c.text)).not.toContain("ROLLBACK");
    expect(client.released).toEqual([true]);
  });

  it("releases the client as broken when the rollback fails", async () => {
    cursorOver(10, { on: "ROLLBACK", error: new Error("rollback failed") });
    const source = pgPoolSource(URL);
    for await (const _ of source.stream(TEXT, [], 3)) break;
    expect(fake.pools[0]!.clients[0]!.released).toEqual([true]);
  });

  it("opens no transaction when already aborted, and has nothing to roll back", async () => {
    const source = pgPoolSource(URL);
    const controller = new AbortController();
    controller.abort(new Error("gone"));
    await expect(collect(source.stream(TEXT, [], 3, controller.signal))).rejects.toThrow("gone");
    const client = fake.pools[0]!.clients[0]!;
    expect(client.calls).toEqual([]);
    expect(client.released).toEqual([false]);
  });

  it("cancels the cursor's query on the server when aborted", async () => {
    const controller = new AbortController();
    cursorOver(10);
    const source = pgPoolSource(URL);
    for await (const _ of source.stream(TEXT, [], 3, controller.signal)) {
      controller.abort();
      break;
    }
    expect(fake.pools[0]!.poolQueries).toEqual([{ text: "SELECT pg_cancel_backend($1)", values: [4242] }]);
  });

  it("cancels nothing after the stream is done", async () => {
    const controller = new AbortController();
    cursorOver(1);
    const source = pgPoolSource(URL);
    await collect(source.stream(TEXT, [], 3, controller.signal));
    controller.abort();
    expect(fake.pools[0]!.poolQueries).toEqual([]);
  });
});

/** A source that records what the connector asks of it and fails as told. */
function recordingSource(failure?: unknown, connections?: number) {
  const asked: { text: string; values: unknown[]; signal?: AbortSignal; batchRows?: number }[] = [];
  const source: PgQuerySource = {
    async query(text, values, signal) {
      asked.push({ text, values, signal });
      if (failure !== undefined) throw failure;
      return [{ ok: 1 }];
    },
    async *stream(text, values, batchRows, signal) {
      asked.push({ text, values, signal, batchRows });
      if (failure !== undefined) throw failure;
      yield [{ ok: 1 }];
    },
    close: async () => {},
    connections,
  };
  return { source, asked };
}

describe("PostgresConnector", () => {
  it("renders the query with numbered placeholders and passes the values and the signal", async () => {
    const { source, asked } = recordingSource();
    const connector = new PostgresConnector(source, DEFAULT_MAPPING);
    const signal = new AbortController().signal;
    await expect(connector.query(sql`SELECT ${3} AS a, ${"x"} AS b`, { signal })).resolves.toEqual([{ ok: 1 }]);
    expect(asked).toEqual([{ text: "SELECT $1 AS a, $2 AS b", values: [3, "x"], signal }]);
  });

  it("streams in batches of 5,000 rows unless told otherwise", async () => {
    const { source, asked } = recordingSource();
    const connector = new PostgresConnector(source, DEFAULT_MAPPING);
    await collect(connector.stream(sql`SELECT ${1} AS a`));
    await collect(connector.stream(sql`SELECT ${1} AS a`, { batchRows: 7 }));
    expect(asked.map((a) => [a.text, a.values, a.batchRows])).toEqual([
      ["SELECT $1 AS a", [1], 5000],
      ["SELECT $1 AS a", [1], 7],
    ]);
  });

  it("pings with SELECT 1", async () => {
    const { source, asked } = recordingSource();
    await new PostgresConnector(source, DEFAULT_MAPPING).ping();
    expect(asked.map((a) => a.text)).toEqual(["SELECT 1 AS ok"]);
  });

  it("takes no query-slot limit from a source without a connection count (PGlite)", () => {
    expect(new PostgresConnector(recordingSource().source, DEFAULT_MAPPING).concurrentQueries).toBeUndefined();
    expect(new PostgresConnector(recordingSource(undefined, 5).source, DEFAULT_MAPPING).concurrentQueries).toBe(1);
    expect(new PostgresConnector(recordingSource(undefined, 14).source, DEFAULT_MAPPING).concurrentQueries).toBe(10);
  });

  it("closes its source", async () => {
    const { source } = recordingSource();
    const close = vi.spyOn(source, "close");
    await new PostgresConnector(source, DEFAULT_MAPPING).close();
    expect(close).toHaveBeenCalledOnce();
  });

  it("appends rows as unnest arrays, timestamps as ISO text, nulls kept, 5,000 rows a statement", async () => {
    const { source, asked } = recordingSource();
    const connector = new PostgresConnector(source, DEFAULT_MAPPING);
    const at = Date.UTC(2026, 0, 15, 10, 30);
    await connector.append("transactions", [
      ["c1", at, 12.5, "o1", null],
      ["c2", null, 3, null, "web"],
    ]);
    expect(asked).toHaveLength(1);
    expect(asked[0]!.text).toBe(
      'INSERT INTO "transactions" ("customer_id", "occurred_at", "amount", "order_id", "channel") ' +
        "SELECT * FROM unnest($1::TEXT[], $2::TIMESTAMPTZ[], $3::NUMERIC[], $4::TEXT[], $5::TEXT[])",
    );
    expect(asked[0]!.values).toEqual([
      ["c1", "c2"],
      ["2026-01-15T10:30:00.000Z", null],
      [12.5, 3],
      ["o1", null],
      [null, "web"],
    ]);
    asked.length = 0;
    await connector.append("transactions", []);
    expect(asked).toEqual([]);
    const rows = Array.from({ length: 5001 }, (_, i) => [`c${i}`, at, 1, null, null] as const);
    await connector.append("transactions", rows);
    expect(asked.map((a) => (a.values[0] as string[]).length)).toEqual([5000, 1]);
    expect((asked[1]!.values[0] as string[])[0]).toBe("c5000");
  });
});

describe("pgliteSource", () => {
  it("sets a UTC session, hands a result out in slices, with no empty last one, and closes the database", async () => {
    const calls: string[] = [];
    const db = {
      exec: async (text: string) => calls.push(text),
      query: async () => ({ rows: [{ i: 0 }, { i: 1 }, { i: 2 }, { i: 3 }] }),
      close: async () => void calls.push("close"),
    };
    const source = await pgliteSource(db as never);
    expect(calls).toEqual(["SET TimeZone TO 'UTC'"]);
    expect(await collect(source.stream("SELECT i", [], 2))).toEqual([
      [{ i: 0 }, { i: 1 }],
      [{ i: 2 }, { i: 3 }],
    ]);
    await source.close();
    expect(calls).toEqual(["SET TimeZone TO 'UTC'", "close"]);
  });
});

describe("PostgresConnector's driver errors", () => {
  async function mapped(failure: unknown, via: "query" | "stream" = "query"): Promise<unknown> {
    const connector = new PostgresConnector(recordingSource(failure).source, DEFAULT_MAPPING);
    try {
      if (via === "query") await connector.query(sql`SELECT 1`);
      else await collect(connector.stream(sql`SELECT 1`));
    } catch (error) {
      return error;
    }
    throw new Error("no error");
  }

  it("reports a server out of reach as WAREHOUSE_UNAVAILABLE, with the driver's error as cause", async () => {
    for (const code of ["08006", "08001", "08P01", "57P01", "ECONNRESET", "ECONNREFUSED"]) {
      for (const via of ["query", "stream"] as const) {
        const failure = errorWith(code, `lost: ${code}`);
        const error = await mapped(failure, via);
        expect(error, `${code} by ${via}`).toBeInstanceOf(WarehouseUnavailableError);
        expect(error).toMatchObject({
          code: "WAREHOUSE_UNAVAILABLE",
          message: `PostgreSQL warehouse unreachable: lost: ${code}`,
          cause: failure,
        });
      }
    }
    for (const code of ["ETIMEDOUT", "EHOSTUNREACH", "ENOTFOUND", "EPIPE"]) {
      expect(await mapped(errorWith(code)), code).toBeInstanceOf(WarehouseUnavailableError);
    }
  });

  it("reports a connect that hung as unavailable, whatever the letter case", async () => {
    for (const message of ["Connection terminated due to connection timeout", "connection terminated unexpectedly"]) {
      expect(await mapped(new Error(message)), message).toBeInstanceOf(WarehouseUnavailableError);
    }
  });

  it("reports a full pool as WAREHOUSE_BUSY, not as unavailable", async () => {
    const failure = new Error("Timeout exceeded when trying to connect");
    for (const via of ["query", "stream"] as const) {
      const error = await mapped(failure, via);
      expect(error).toBeInstanceOf(WarehouseBusyError);
      expect(error).toMatchObject({
        code: "WAREHOUSE_BUSY",
        message: "every PostgreSQL warehouse connection stayed busy: Timeout exceeded when trying to connect",
        cause: failure,
      });
    }
  });

  it("leaves the other errors as they are: a statement timeout, too many connections, a syntax error", async () => {
    for (const code of ["57014", "53300", "42601", "42P08", "E08006", "P0001"]) {
      const failure = errorWith(code, "server said no");
      expect(await mapped(failure), code).toBe(failure);
    }
    const plain = new Error("something else");
    expect(await mapped(plain)).toBe(plain);
    expect(await mapped(null)).toBeNull();
  });

  it("maps a thrown text by its wording", async () => {
    const error = await mapped("timeout exceeded when trying to connect");
    expect(error).toBeInstanceOf(WarehouseBusyError);
    expect((error as Error).message).toBe(
      "every PostgreSQL warehouse connection stayed busy: timeout exceeded when trying to connect",
    );
    expect(await mapped("Connection terminated")).toBeInstanceOf(WarehouseUnavailableError);
    expect(await mapped("no such table")).toBe("no such table");
  });
});

// Bad input and failures of a state refresh: rows without a customer id are counted and left out, rows
// dated after the state day wait for their day, a warehouse failing midway fails that refresh only
// (recorded with its error, its rows removed, the previous state serving), and the server's schedule
// retries a failed refresh with backoff, counting both outcomes.
import pino from "pino";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { ContractRow, StreamOptions, WarehouseConnector } from "../../src/connectors/connector.ts";
import { asOfCutoff } from "../../src/lifecycle/calendar.ts";
import { defaultStageModel } from "../../src/lifecycle/stage-model.ts";
import { ServerMetrics } from "../../src/observability/metrics.ts";
import { LifecycleService } from "../../src/services/lifecycle/service.ts";
import { StateRefresher, type RefreshOutcome } from "../../src/services/state/refresh.ts";
import { RefreshSchedule } from "../../src/services/state/schedule.ts";
import { StateStore } from "../../src/services/state/state-store.ts";
import { StateTables } from "../../src/services/state/state-tables.ts";
import { ident, sql, type Sql } from "../../src/sql/sql.ts";
import {
  openTestAppDatabase,
  testWarehouses,
  type TestAppDatabase,
  type TestWarehouse,
  type WarehouseFactory,
} from "../helpers/databases.ts";

const DAY = "2026-06-30";
const CUTOFF = asOfCutoff(DAY, "UTC").getTime();
const HOUR = 3_600_000;

/** A warehouse whose transactions are `rows`, some without a customer id. */
async function transactionsWithNullIds(factory: WarehouseFactory, rows: ContractRow[]): Promise<TestWarehouse> {
  const warehouse = await factory.open();
  await warehouse.createTables({ replace: true });
  // A warehouse of one's own may hold rows without an id; the embedded tables refuse them unless told.
  // On the PostgreSQL server the tables are in a schema of the test's own.
  const { schema, tables } = warehouse.mapping;
  await warehouse.query(
    sql`ALTER TABLE ${ident(schema, tables.transactions.table)} ALTER COLUMN ${ident(tables.transactions.columns.customer_id)} DROP NOT NULL`,
  );
  await warehouse.append("transactions", rows);
  return warehouse;
}

describe("state refresh failures and bad input", () => {
  let warehouse: TestWarehouse;
  let appDb: TestAppDatabase;
  beforeAll(async () => {
    appDb = await openTestAppDatabase();
    warehouse = await transactionsWithNullIds(testWarehouses()[0]!, [
      ["a", CUTOFF - 40 * 24 * HOUR, 10, null, null],
      ["a", CUTOFF - 2 * HOUR, 5, null, null],
      ["b", CUTOFF - 100 * 24 * HOUR, 7, null, null],
      [null, CUTOFF - 3 * HOUR, 99, null, null],
      [null, CUTOFF - 30 * HOUR, 1, null, null],
      ["c", CUTOFF + 2 * HOUR, 20, null, null],
      ["a", CUTOFF + 30 * HOUR, 20, null, null],
    ]);
  });
  afterAll(async () => {
    await warehouse?.close();
    await appDb?.close();
  });

  it("counts rows without an id and rows after the state day, and leaves them out", async () => {
    const lifecycle = await LifecycleService.open(warehouse, defaultStageModel(), "UTC");
    const tables = new StateTables(appDb.sql);
    const outcome = (await new StateRefresher(lifecycle, tables).refresh({ stateDay: DAY, full: true }))!;
    expect(outcome).toMatchObject({ customers: 2, nullIdRows: 2, futureRows: 2 });
    expect(outcome.warnings).toContain("2 rows without a customer id were left out");
    const state = (await tables.customerStates(new StateRefresher(lifecycle, tables).modelHash, ["a", "b", "c"]))!;
    expect(state.rows.map((r) => r.customer_id).sort()).toEqual(["a", "b"]);
  });

  it("publishes without predictions, with a warning, when the lifetime-value fit fails", async () => {
    const lifecycle = await LifecycleService.open(warehouse, defaultStageModel(), "UTC");
    const tables = new StateTables(appDb.sql);
    const asked: number[] = [];
    const failing = new StateRefresher(lifecycle, tables, undefined, {
      model: "BG_NBD",
      fit: async (input) => {
        asked.push(input.recency.reduce((n, g) => n + g.count, 0));
        throw new Error("too few repeat buyers to fit");
      },
    });
    const outcome = (await failing.refresh({ stateDay: DAY, full: true }))!;
    // The fit was given the two buyers of the state, summarised from the rows just written.
    expect(asked).toEqual([2]);
    expect(outcome.warnings).toContain("no lifetime value: the fit failed (too few repeat buyers to fit)");
    expect((await tables.pointer())!).toMatchObject({ generation: outcome.generation, clv: null });
    const rows = await appDb.sql.query<{ n: number }>(`SELECT count(*)::int AS n FROM customer_clv`);
    expect(rows[0]!.n).toBe(0);
  });

  it("publishes without predictions, with a warning, when working them out fails", async () => {
    const lifecycle = await LifecycleService.open(warehouse, defaultStageModel(), "UTC");
    const tables = new StateTables(appDb.sql);
    const converged = { logLikelihood: -1, converged: true };
    const failing = new StateRefresher(lifecycle, tables, undefined, {
      model: "BG_NBD",
      // Published CDNOW parameters: the fit succeeds, the pages' predictions do not.
      fit: async () => ({
        customers: 2,
        sampleFraction: 1,
        fittedCustomers: 2,
        summaryGroups: 2,
        bgnbd: { r: 0.243, alpha: 4.414, a: 0.793, b: 2.426, iterations: 1, ...converged },
        paretoNbd: null,
        gammaGamma: { p: 6.25, q: 3.74, gamma: 15.44, customers: 2, ...converged },
        fitMs: 0,
      }),
      predict: async () => {
        throw new Error("a CLV fit worker failed: out of memory");
      },
    });
    const outcome = (await failing.refresh({ stateDay: DAY, full: true }))!;
    expect(outcome.warnings).toContain(
      "no lifetime value: the predictions failed (a CLV fit worker failed: out of memory)",
    );
    expect((await tables.pointer())!).toMatchObject({ generation: outcome.generation, clv: null });
    const rows = await appDb.sql.query<{ n: number }>(`SELECT count(*)::int AS n FROM customer_clv`);
    expect(rows[0]!.n).toBe(0);
  });

  it("records the time a refresh finished, its publishing transaction included", async () => {
    const lifecycle = await LifecycleService.open(warehouse, defaultStageModel(), "UTC");
    const tables = new StateTables(appDb.sql);
    // The fit runs inside the publishing transaction: a slow one must show in the recorded duration.
    const slow = new StateRefresher(lifecycle, tables, undefined, {
      model: "BG_NBD",
      fit: async () => {
        await new Promise((resolve) => setTimeout(resolve, 400));
        throw new Error("slow and failing");
      },
    });
    const outcome = (await slow.refresh({ stateDay: DAY, full: true }))!;
    const last = (await tables.lastRefresh())!;
    expect(last.generation).toBe(outcome.generation);
    expect(last.finishedAt!.getTime() - last.startedAt.getTime()).toBeGreaterThanOrEqual(400);
    expect((await tables.pointer())!.publishedAt.getTime()).toBeGreaterThanOrEqual(last.startedAt.getTime() + 400);
  });

  it("fails a refresh whose warehouse fails midway, and keeps the previous state serving", async () => {
    const lifecycle = await LifecycleService.open(warehouse, defaultStageModel(), "UTC");
    const tables = new StateTables(appDb.sql);
    const good = (await new StateRefresher(lifecycle, tables).refresh({ stateDay: DAY, full: true }))!;
    // The same warehouse, whose activity stream breaks after its first batch.
    const breaking = Object.create(warehouse) as WarehouseConnector;
    breaking.stream = async function* <R>(query: Sql, options?: StreamOptions) {
      for await (const batch of warehouse.stream(query, { ...options, batchRows: 1 })) {
        yield batch as R[];
        throw new Error("connection reset by the warehouse");
      }
    } as WarehouseConnector["stream"];
    // The refresh reads the embedded warehouse's column batches: those break alike.
    breaking.streamColumns = async function* (query: Sql, options?: StreamOptions) {
      for await (const batch of warehouse.streamColumns!(query, options)) {
        yield batch;
        throw new Error("connection reset by the warehouse");
      }
    };
    const broken = new LifecycleService(breaking, defaultStageModel(), "UTC", lifecycle.available);
    const refresher = new StateRefresher(broken, tables);
    await expect(refresher.refresh({ stateDay: DAY, full: true })).rejects.toThrow(/connection reset/);
    const last = (await tables.lastRefresh())!;
    expect(last).toMatchObject({ generation: good.generation + 1, published: false });
    expect(last.error).toMatch(/connection reset/);
    expect((await tables.pointer())!.generation).toBe(good.generation);
    const served = (await tables.customerStates(refresher.modelHash, ["a", "b"]))!;
    expect(served.pointer.generation).toBe(good.generation);
    expect(served.rows).toHaveLength(2);
    const leftover = await appDb.sql.query<{ n: number }>(
      `SELECT count(*)::int AS n FROM customer_state WHERE rows_generation <> $1`,
      [good.generation],
    );
    expect(leftover[0]!.n).toBe(0);
  });
});

describe("a state store whose app database cannot be read", () => {
  it("lets the warehouse answer under serve, and refuses under required", async () => {
    const warehouse = await testWarehouses()[0]!.open();
    try {
      const lifecycle = await LifecycleService.open(warehouse, defaultStageModel(), "UTC");
      const down = () => Promise.reject(new Error("connect ECONNREFUSED 127.0.0.1:5432"));
      const serve = new StateStore(lifecycle, lifecycle.rfm, down, "serve");
      expect(await serve.stateFor(DAY)).toBeUndefined();
      expect(await serve.customers(DAY, ["a"])).toBeUndefined();
      expect(await serve.defaultDay()).toBe(lifecycle.today());
      const required = new StateStore(lifecycle, lifecycle.rfm, down, "required");
      await expect(required.stateFor(DAY)).rejects.toThrow(/ECONNREFUSED/);
    } finally {
      await warehouse.close();
    }
  });
});

describe("the server's refresh schedule", () => {
  it("publishes a baseline before the first refresh when asked (the demo), and only when no state exists", async () => {
    const asked: { stateDay?: string; full?: boolean }[] = [];
    let pointer: object | null = null;
    const published = { generation: 1, kind: "full", milliseconds: 1, warnings: [] } as unknown as RefreshOutcome;
    const store = {
      dueInMs: async () => 0,
      status: async () => ({ pointer }),
      defaultDay: async () => "2026-06-30",
      refresh: async (options: { stateDay?: string; full?: boolean }) => {
        asked.push({ stateDay: options.stateDay, full: options.full });
        pointer = {};
        return published;
      },
    } as unknown as StateStore;
    const woken: number[] = [];
    const options = {
      everyMinutes: 0,
      atStart: true,
      baselineDaysBefore: 28,
      log: pino({ level: "silent" }),
      onPublished: () => woken.push(asked.length),
    };
    for (let run = 0; run < 2; run++) {
      const schedule = new RefreshSchedule(store, options);
      schedule.start();
      const deadline = Date.now() + 5_000;
      while (woken.length <= run && Date.now() < deadline) await new Promise((r) => setTimeout(r, 10));
      await schedule.stop();
    }
    // The first start: the baseline four weeks back, then the refresh (for today); the second: no baseline.
    expect(asked).toEqual([
      { stateDay: "2026-06-02", full: true },
      { stateDay: undefined, full: undefined },
      { stateDay: undefined, full: undefined },
    ]);
    expect(woken).toEqual([2, 3]);
  });

  it("retries a failed refresh with backoff, logging and counting each outcome", async () => {
    const lines: Record<string, unknown>[] = [];
    const log = pino({ level: "info" }, { write: (line: string) => void lines.push(JSON.parse(line)) });
    const metrics = new ServerMetrics();
    let calls = 0;
    const published = { generation: 7, kind: "full", milliseconds: 12, warnings: [] } as unknown as RefreshOutcome;
    const store = {
      dueInMs: async () => 0,
      refresh: async () => {
        calls++;
        if (calls < 3) throw new Error(`warehouse down (${calls})`);
        return published;
      },
    } as unknown as StateStore;
    const schedule = new RefreshSchedule(store, {
      everyMinutes: 0,
      atStart: true,
      log,
      metrics,
      retryFirstMs: 20,
      retryMaxMs: 40,
    });
    schedule.start();
    const deadline = Date.now() + 5_000;
    while (calls < 3 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 10));
    await new Promise((r) => setTimeout(r, 20));
    await schedule.stop();
    expect(calls).toBe(3);
    const messages = lines.map((l) => l.msg);
    expect(messages.filter((m) => m === "state refresh failed; the previous state keeps serving")).toHaveLength(2);
    expect(messages).toContain("state refresh published");
    const text = await metrics.registry.metrics();
    expect(text).toMatch(/clm_state_refreshes_total\{kind="full",result="failed"\} 2/);
    expect(text).toMatch(/clm_state_refreshes_total\{kind="full",result="published"\} 1/);
    expect(text).toMatch(/clm_state_generation 7/);
  });
});

// An incremental refresh audits only what it reads, the rows from its watermark on (so a BigQuery table
// partitioned by day is pruned there too): rows after the day counted as a full rebuild counts them, rows
// without an id counted in the window only.
describe.each(testWarehouses().map((w) => [w.label, w] as const))(
  "the audit of an incremental refresh (%s)",
  (_label, factory) => {
    let warehouse: TestWarehouse;
    let appDb: TestAppDatabase;
    const NEXT = "2026-07-01";
    beforeAll(async () => {
      appDb = await openTestAppDatabase();
      warehouse = await transactionsWithNullIds(factory, [
        ["a", CUTOFF - 40 * 24 * HOUR, 10, null, null],
        ["b", CUTOFF - 100 * 24 * HOUR, 7, null, null],
        // Before the lateness window of the next day's refresh (it starts 2026-06-28), and inside it.
        [null, CUTOFF - 10 * 24 * HOUR, 1, null, null],
        [null, CUTOFF - 3 * HOUR, 99, null, null],
        // On the next day, and after it.
        ["c", CUTOFF + 2 * HOUR, 20, null, null],
        ["a", CUTOFF + 30 * HOUR, 20, null, null],
      ]);
    });
    afterAll(async () => {
      await warehouse?.close();
      await appDb?.close();
    });

    it("counts rows after the day as a full rebuild does, and rows without an id in its window", async () => {
      const lifecycle = await LifecycleService.open(warehouse, defaultStageModel(), "UTC");
      const refresher = new StateRefresher(lifecycle, new StateTables(appDb.sql));
      const first = (await refresher.refresh({ stateDay: DAY }))!;
      expect(first).toMatchObject({ kind: "full", nullIdRows: 2, futureRows: 2 });
      const incremental = (await refresher.refresh({ stateDay: NEXT }))!;
      expect(incremental).toMatchObject({ kind: "incremental", nullIdRows: 1, futureRows: 1, customers: 3 });
      expect(incremental.warnings).toContain(
        "1 rows without a customer id were left out (of the rows since 2026-06-28T00:00:00.000Z)",
      );
      const full = (await refresher.refresh({ stateDay: NEXT, full: true }))!;
      expect(full).toMatchObject({ kind: "full", nullIdRows: 2, futureRows: 1, customers: 3 });
    });
  },
);

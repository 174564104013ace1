import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { ConfigError, loadEnv } from "../../src/config/env.ts";
import { loadConfigFile, parseConfigFile } from "../../src/config/file.ts";
import { defaultStageModel } from "../../src/lifecycle/stage-model.ts";

function configErrorLines(run: () => unknown): readonly string[] {
  try {
    run();
  } catch (error) {
    expect(error).toBeInstanceOf(ConfigError);
    return (error as ConfigError).lines;
  }
  throw new Error("expected a ConfigError");
}

describe("environment contract", () => {
  it("defaults to the embedded stores with demo data", () => {
    const config = loadEnv({});
    expect(config).toMatchObject({
      port: 4000,
      host: "127.0.0.1",
      warehouse: { kind: "duckdb", path: undefined, demo: true, demoCustomers: 5000 },
      databaseUrl: undefined,
      dataDir: "./.data",
      configFile: undefined,
    });
  });

  it("turns demo data off by default when a DuckDB file is given", () => {
    expect(loadEnv({ CLM_DUCKDB_PATH: "/tmp/w.duckdb" }).warehouse).toMatchObject({ demo: false });
    expect(loadEnv({ CLM_DUCKDB_PATH: "/tmp/w.duckdb", CLM_DEMO: "1" }).warehouse).toMatchObject({ demo: true });
    expect(loadEnv({ CLM_DUCKDB_MEMORY_LIMIT: "512MB" }).warehouse).toMatchObject({ memoryLimit: "512MB" });
    // Anonymous access: on for the embedded demo only, unless said; GraphiQL and introspection off in production.
    expect(loadEnv({}).allowAnonymous).toBe(true);
    expect(loadEnv({ CLM_DUCKDB_PATH: "/tmp/w.duckdb" }).allowAnonymous).toBe(false);
    expect(loadEnv({ CLM_WAREHOUSE: "postgres", CLM_POSTGRES_URL: "postgresql://u@h/db" }).allowAnonymous).toBe(false);
    expect(loadEnv({ CLM_ALLOW_ANONYMOUS: "0" }).allowAnonymous).toBe(false);
    expect(loadEnv({}).introspection).toBe(true);
    expect(loadEnv({ NODE_ENV: "production" })).toMatchObject({ graphiql: false, introspection: false });
    expect(loadEnv({ NODE_ENV: "production", CLM_GRAPHIQL: "1" }).graphiql).toBe(true);
    expect(() => loadEnv({ CLM_DUCKDB_MEMORY_LIMIT: "lots" })).toThrow(/CLM_DUCKDB_MEMORY_LIMIT must be a size/);
    // Export ranges: 125,000 customers unless set; a positive whole number.
    expect(loadEnv({}).warehouse).toMatchObject({ customersPerRange: 125_000 });
    expect(loadEnv({ CLM_DUCKDB_RANGE_CUSTOMERS: "50000" }).warehouse).toMatchObject({ customersPerRange: 50_000 });
    expect(() => loadEnv({ CLM_DUCKDB_RANGE_CUSTOMERS: "0" })).toThrow(/CLM_DUCKDB_RANGE_CUSTOMERS must be a positive/);
  });

  it("reads the state store's settings: no writeback unless asked, into a plain table name", () => {
    expect(loadEnv({}).state).toEqual({
      mode: "serve",
      refreshMinutes: 0,
      latenessDays: 3,
      fullEveryDays: 7,
      clvModel: "BG_NBD",
      writebackTable: null,
    });
    expect(loadEnv({ CLM_STATE_WRITEBACK: "1" }).state.writebackTable).toBe("clm_customer_state");
    expect(
      loadEnv({ CLM_STATE_WRITEBACK: "1", CLM_STATE_WRITEBACK_TABLE: "lifecycle_state" }).state.writebackTable,
    ).toBe("lifecycle_state");
    expect(loadEnv({ CLM_STATE_WRITEBACK_TABLE: "lifecycle_state" }).state.writebackTable).toBeNull();
    expect(configErrorLines(() => loadEnv({ CLM_STATE_WRITEBACK: "yes" }))[0]).toMatch(
      /^CLM_STATE_WRITEBACK must be 1 or 0/,
    );
    expect(
      configErrorLines(() => loadEnv({ CLM_STATE_WRITEBACK: "1", CLM_STATE_WRITEBACK_TABLE: 'x"; DROP TABLE y' }))[0],
    ).toMatch(/^CLM_STATE_WRITEBACK_TABLE must be a plain lower-case table name/);
  });

  it("treats empty variables as unset", () => {
    expect(loadEnv({ PORT: "", CLM_WAREHOUSE: "" })).toMatchObject({ port: 4000, warehouse: { kind: "duckdb" } });
  });

  it("refuses an unknown warehouse in one line naming the variable and what is allowed", () => {
    expect(configErrorLines(() => loadEnv({ CLM_WAREHOUSE: "oracle" }))).toEqual([
      'CLM_WAREHOUSE must be one of duckdb | postgres | bigquery (got "oracle")',
    ]);
  });

  it("refuses a port that is not a number", () => {
    expect(configErrorLines(() => loadEnv({ PORT: "abc" }))).toEqual([
      'PORT must be a whole number from 0 to 65535 (got "abc")',
    ]);
    expect(configErrorLines(() => loadEnv({ PORT: "70000" }))).toHaveLength(1);
  });

  it("reports every bad variable at once, each on its own line", () => {
    const lines = configErrorLines(() => loadEnv({ PORT: "-1", CLM_DEMO: "yes", DATABASE_URL: "mysql://x" }));
    expect(lines.map((l) => l.split(" ")[0]).sort()).toEqual(["CLM_DEMO", "DATABASE_URL", "PORT"]);
  });

  it("requires the settings of the chosen warehouse", () => {
    expect(configErrorLines(() => loadEnv({ CLM_WAREHOUSE: "postgres" }))).toEqual([
      "CLM_POSTGRES_URL is required when CLM_WAREHOUSE=postgres",
    ]);
    expect(configErrorLines(() => loadEnv({ CLM_WAREHOUSE: "bigquery" }))).toEqual([
      "CLM_BIGQUERY_PROJECT is required when CLM_WAREHOUSE=bigquery",
      "CLM_BIGQUERY_DATASET is required when CLM_WAREHOUSE=bigquery",
    ]);
    const bqEnv = { CLM_WAREHOUSE: "bigquery", CLM_BIGQUERY_PROJECT: "my-project", CLM_BIGQUERY_DATASET: "shop" };
    const bq = loadEnv(bqEnv);
    expect(bq.warehouse).toEqual({
      kind: "bigquery",
      project: "my-project",
      dataset: "shop",
      location: undefined,
      maxBytesBilled: 10_000_000_000,
      jobTimeoutMs: undefined,
      dryRunBudget: true,
    });
    expect(loadEnv({ ...bqEnv, CLM_BIGQUERY_DRY_RUN: "0" }).warehouse).toMatchObject({ dryRunBudget: false });
  });

  it("reads the operational settings with their defaults, refusing bad ones", () => {
    const defaults = loadEnv({});
    expect(defaults).toMatchObject({
      requestTimeoutMs: 30_000,
      rateLimitPerMinute: 6_000,
      keyCacheSeconds: 5,
      metrics: true,
    });
    expect(defaults.cache).toMatchObject({ ttlSeconds: 60, pastTtlSeconds: 86_400, maxBytes: 64 * 1024 * 1024 });
    expect(defaults.redisUrl).toBeUndefined();
    const set = loadEnv({
      CLM_CACHE: "0",
      CLM_RATE_LIMIT_PER_MINUTE: "0",
      REDIS_URL: "redis://127.0.0.1:6379",
      CLM_REQUEST_TIMEOUT_MS: "5000",
      CLM_KEY_CACHE_SECONDS: "0",
    });
    expect(set).toMatchObject({
      cache: null,
      keyCacheSeconds: 0,
      rateLimitPerMinute: 0,
      redisUrl: "redis://127.0.0.1:6379",
      requestTimeoutMs: 5_000,
    });
    expect(configErrorLines(() => loadEnv({ CLM_KEY_CACHE_SECONDS: "5s" }))).toEqual([
      'CLM_KEY_CACHE_SECONDS must be a whole number of seconds (0: no key cache) (got "5s")',
    ]);
    expect(configErrorLines(() => loadEnv({ REDIS_URL: "localhost:6379", CLM_REQUEST_TIMEOUT_MS: "0" }))).toEqual([
      'CLM_REQUEST_TIMEOUT_MS must be a positive whole number (milliseconds) (got "0")',
      'REDIS_URL must be a Redis URL such as redis://127.0.0.1:6379 (got "localhost:6379")',
    ]);
  });

  it("reads the BigQuery job timeout, refusing a bad one", () => {
    const env = { CLM_WAREHOUSE: "bigquery", CLM_BIGQUERY_PROJECT: "my-project", CLM_BIGQUERY_DATASET: "shop" };
    expect(loadEnv({ ...env, CLM_BIGQUERY_JOB_TIMEOUT_MS: "30000" }).warehouse).toMatchObject({ jobTimeoutMs: 30_000 });
    expect(configErrorLines(() => loadEnv({ ...env, CLM_BIGQUERY_JOB_TIMEOUT_MS: "soon" }))).toEqual([
      'CLM_BIGQUERY_JOB_TIMEOUT_MS must be a positive whole number (milliseconds) (got "soon")',
    ]);
  });

  it("never prints a password it was given", () => {
    const [line] = configErrorLines(() => loadEnv({ DATABASE_URL: "postgresql://app:s3cret@db:5432/app name" }));
    expect(line).toMatch(/^DATABASE_URL must be a PostgreSQL URL .*app:\*\*\*@db/);
    expect(line).not.toContain("s3cret");
    const lines = configErrorLines(() =>
      loadEnv({ CLM_WAREHOUSE: "postgres", CLM_POSTGRES_URL: "postgres://u:s3cret@" }),
    );
    expect(lines.join("\n")).not.toContain("s3cret");
  });

  it("allows demo seeding only into the embedded warehouse", () => {
    expect(
      configErrorLines(() =>
        loadEnv({ CLM_WAREHOUSE: "postgres", CLM_POSTGRES_URL: "postgresql://h/db", CLM_DEMO: "1" }),
      ),
    ).toEqual(["CLM_DEMO can be 1 only with the embedded warehouse (CLM_WAREHOUSE=duckdb)"]);
  });

  it("returns a frozen object", () => {
    expect(Object.isFrozen(loadEnv({}))).toBe(true);
  });
});

describe("CLM_CONFIG file", () => {
  it("maps logical tables and columns to physical names, defaulting to the contract's", () => {
    const { mapping } = parseConfigFile({
      warehouse: { schema: "shop", tables: { transactions: { table: "orders", columns: { amount: "total_eur" } } } },
    });
    expect(mapping.schema).toBe("shop");
    expect(mapping.tables.transactions).toEqual({
      logical: "transactions",
      table: "orders",
      columns: {
        customer_id: "customer_id",
        occurred_at: "occurred_at",
        amount: "total_eur",
        order_id: "order_id",
        channel: "channel",
      },
    });
    expect(mapping.tables.events.table).toBe("events");
  });

  it("refuses an identifier that is not a plain SQL name, pointing at its path", () => {
    expect(() =>
      parseConfigFile({
        warehouse: { tables: { transactions: { columns: { amount: 'amount"; DROP TABLE x; --' } } } },
      }),
    ).toThrow(/CLM_CONFIG at warehouse\.tables\.transactions\.columns\.amount: must be an SQL identifier/);
  });

  it("refuses unknown keys, tables and columns", () => {
    expect(() => parseConfigFile({ warehouse: { tables: { orders: {} } } })).toThrow(/warehouse\.tables/);
    expect(() => parseConfigFile({ warehouse: { tables: { transactions: { columns: { price: "p" } } } } })).toThrow(
      /warehouse\.tables\.transactions\.columns/,
    );
    expect(() => parseConfigFile({ wharehouse: {} })).toThrow(/CLM_CONFIG at \(root\)/);
  });

  it("accepts thresholds for the default stage model and a time zone", () => {
    const config = parseConfigFile({ timeZone: "Europe/Berlin", stageModel: { thresholds: { churnDays: 180 } } });
    expect(config.timeZone).toBe("Europe/Berlin");
    expect(config.stageModel.stages.find((s) => s.key === "churned")!.rule).toEqual({
      field: "recencyDays",
      op: "gt",
      value: 180,
    });
    expect(() => parseConfigFile({ timeZone: "Mars/Olympus" })).toThrow(
      /CLM_CONFIG at timeZone: must be an IANA time zone/,
    );
  });

  it("refuses a bad stage model, pointing at the offending path", () => {
    const stage = (key: string, order: number, rule: unknown) => ({ key, name: key, order, kind: "progress", rule });
    const model = (stages: unknown[], evaluationOrder: string[]) => ({
      stageModel: { stages, evaluationOrder, fallback: "a" },
    });
    expect(() =>
      parseConfigFile(model([stage("a", 1, { field: "purchaseDayz", op: "gte", value: 1 })], ["a"])),
    ).toThrow('CLM_CONFIG at stageModel.stages[0].rule.field: unknown field "purchaseDayz"');
    expect(() =>
      parseConfigFile(model([stage("a", 1, { field: "purchaseDays", op: "like", value: 1 })], ["a"])),
    ).toThrow(/CLM_CONFIG at stageModel/);
    expect(() => parseConfigFile(model([stage("a", 1, { all: [] }), stage("a", 2, { all: [] })], ["a"]))).toThrow(
      'CLM_CONFIG at stageModel.stages[1].key: duplicate stage key "a"',
    );
    expect(() =>
      parseConfigFile(
        model(
          [stage("a", 1, { all: [] }), stage("b", 2, { not: { field: "acquisitionChannel", op: "gt", value: "x" } })],
          ["a", "b"],
        ),
      ),
    ).toThrow(
      "CLM_CONFIG at stageModel.stages[1].rule.not.op: gt applies to number and date fields; use eq, neq or in",
    );
    expect(() => parseConfigFile(model([stage("a", 1, { all: [] }), stage("b", 2, { all: [] })], ["a"]))).toThrow(
      "CLM_CONFIG at stageModel.evaluationOrder: stage b is missing",
    );
    expect(() =>
      parseConfigFile(model([stage("a", 1, { field: "recencyDays", op: "gt", value: "soon" })], ["a"])),
    ).toThrow("CLM_CONFIG at stageModel.stages[0].rule.value: expected a number, got a string");
  });

  it("accepts an RFM segment map only when every code is in exactly one segment", () => {
    const all = ["1", "2", "3", "4", "5"].flatMap((r) =>
      ["1", "2", "3", "4", "5"].flatMap((f) => ["1", "2", "3", "4", "5"].map((m) => r + f + m)),
    );
    expect(parseConfigFile({ rfmSegments: { everyone: all } }).rfmSegments).toEqual({ everyone: all });
    expect(parseConfigFile({}).surveyEventType).toBe("nps");
    expect(parseConfigFile({ surveyEventType: "csat" }).surveyEventType).toBe("csat");
    expect(() => parseConfigFile({ surveyEventType: "" })).toThrow(/CLM_CONFIG at surveyEventType/);
    expect(() => parseConfigFile({ rfmSegments: { everyone: [...all, "611"] } })).toThrow(
      'CLM_CONFIG at rfmSegments.everyone[125]: "611" is not an RFM code (111–555)',
    );
  });

  it("names the file when it cannot be read or parsed", () => {
    const dir = mkdtempSync(join(tmpdir(), "clm-config-"));
    const broken = join(dir, "broken.json");
    writeFileSync(broken, "{ not json");
    expect(() => loadConfigFile(broken)).toThrow(/CLM_CONFIG is not valid JSON \(.*broken\.json/);
    expect(() => loadConfigFile(join(dir, "missing.json"))).toThrow(/CLM_CONFIG cannot be read \(ENOENT/);
  });
});

describe("events.types", () => {
  it("lets stage rules read a configured type's features, and names the missing type otherwise", () => {
    const model = {
      stages: [
        {
          key: "prospect",
          name: "Prospect",
          order: 1,
          kind: "progress",
          rule: { field: "purchaseDays", op: "eq", value: 0 },
        },
        {
          key: "interest",
          name: "Interest",
          order: 2,
          kind: "progress",
          rule: { field: "events.lead.count", op: "gte", value: 1 },
        },
      ],
      evaluationOrder: ["interest", "prospect"],
      fallback: "prospect",
    };
    const config = parseConfigFile({ events: { types: ["lead"] }, stageModel: model });
    expect(config.eventTypes).toEqual([{ key: "lead", values: ["lead"] }]);
    expect(parseConfigFile({ stageModel: { thresholds: {} } }).eventTypes).toEqual([]);
    expect(configErrorLines(() => parseConfigFile({ events: { types: ["visit"] }, stageModel: model }))).toEqual([
      `CLM_CONFIG at stageModel.stages[1].rule.field: unknown field "events.lead.count": event type lead is not in CLM_CONFIG's events.types`,
    ]);
    expect(configErrorLines(() => parseConfigFile({ events: { types: ["visit"], kinds: [] } }))[0]).toMatch(
      /^CLM_CONFIG at events: /,
    );
  });

  it("builds the presets by name, and names event types the sales funnel reads but the config lacks", () => {
    expect(parseConfigFile({ stageModel: { preset: "ecommerce", thresholds: { churnDays: 200 } } }).stageModel).toEqual(
      defaultStageModel({ churnDays: 200 }),
    );
    const funnel = parseConfigFile({
      events: { types: ["visit", "lead", "subscribe", "quote_request"] },
      stageModel: { preset: "sales-funnel", thresholds: { coldLeadDays: 30 } },
    }).stageModel;
    expect(funnel.fallback).toBe("attraction");
    expect(funnel.stages.find((s) => s.key === "cold_lead")?.description).toContain("more than 30 days");
    expect(
      configErrorLines(() =>
        parseConfigFile({
          events: { types: ["visit", "lead"] },
          stageModel: { preset: "sales-funnel", evaluationEvents: ["demo"] },
        }),
      ),
    ).toEqual([
      "CLM_CONFIG at stageModel.interestEvents[1]: event type subscribe is not in CLM_CONFIG's events.types",
      "CLM_CONFIG at stageModel.evaluationEvents[0]: event type demo is not in CLM_CONFIG's events.types",
    ]);
    expect(configErrorLines(() => parseConfigFile({ stageModel: { preset: "b2b" } }))[0]).toMatch(
      /^CLM_CONFIG at stageModel\.preset: /,
    );
    expect(
      configErrorLines(() =>
        parseConfigFile({
          events: { types: ["lead"] },
          stageModel: { preset: "sales-funnel", thresholds: { churnDays: 0 } },
        }),
      )[0],
    ).toMatch(/^CLM_CONFIG at stageModel\.thresholds\.churnDays: /);
  });

  it("takes the interest events of leads from events.interest, else the sales-funnel preset, else none", () => {
    const types = ["visit", "lead", "subscribe", "quote_request"];
    const funnel = { preset: "sales-funnel" };
    expect(parseConfigFile({ events: { types }, stageModel: funnel }).interestEvents).toEqual(["lead", "subscribe"]);
    expect(
      parseConfigFile({ events: { types, interest: ["visit"] }, stageModel: { ...funnel, interestEvents: ["lead"] } })
        .interestEvents,
    ).toEqual(["visit"]);
    expect(parseConfigFile({ events: { types } }).interestEvents).toEqual([]);
    expect(parseConfigFile({ events: { types, interest: ["lead"] } }).interestEvents).toEqual(["lead"]);
    expect(configErrorLines(() => parseConfigFile({ events: { types, interest: ["lead", "call"] } }))).toEqual([
      "CLM_CONFIG at events.interest[1]: event type call is not in CLM_CONFIG's events.types",
    ]);
  });
});

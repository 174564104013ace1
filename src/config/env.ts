// The configuration contract: every environment variable the server reads, validated at start-up.
// All problems are collected and reported at once, one line per variable, without a stack trace.
import { tmpdir } from "node:os";
import { join } from "node:path";
import { z } from "zod";
import { DEFAULT_CUSTOMERS_PER_RANGE } from "../connectors/connector.ts";
import { POOL_CONNECTIONS } from "../connectors/postgres.ts";
import { WAREHOUSE_KINDS, type WarehouseSettings } from "../connectors/index.ts";
import { TRACING_MODES, type TracingMode } from "../observability/tracing.ts";
import {
  DEFAULT_CACHE_SETTINGS,
  DEFAULT_FULL_EVERY_DAYS,
  DEFAULT_WRITEBACK_TABLE,
  DEFAULT_WEBHOOK_RETRY_HOURS,
  DEFAULT_WEBHOOK_TIMEOUT_MS,
  DEFAULT_WEBHOOK_BACKOFF_MS,
  DEFAULT_WEBHOOK_BATCH,
  DEFAULT_KEY_CACHE_SECONDS,
  DEFAULT_LATENESS_DAYS,
  DEFAULT_QUERIES_PER_REQUEST,
  DEFAULT_QUEUE_WAIT_MS,
  defaultFitWorkers,
  type CacheSettings,
} from "./defaults.ts";

export class ConfigError extends Error {
  constructor(readonly lines: readonly string[]) {
    super(lines.join("\n"));
    this.name = "ConfigError";
  }
}

const LOG_LEVELS = ["fatal", "error", "warn", "info", "debug", "trace", "silent"] as const;

const CROSS_VARIABLE = { crossVariable: true };

const unset = (v: unknown) => (v === "" ? undefined : v);

const postgresUrl = z.string().refine((v) => /^postgres(ql)?:\/\/[^\s]+$/.test(v) && URL.canParse(v), {
  message: "must be a PostgreSQL URL such as postgresql://user@127.0.0.1:5432/db",
});

const port = z.preprocess(
  unset,
  z
    .string()
    .default("4000")
    .refine((v) => /^\d+$/.test(v) && Number(v) >= 0 && Number(v) <= 65535, {
      message: "must be a whole number from 0 to 65535",
    })
    .transform(Number),
);

const flag = z.enum(["0", "1"], { message: "must be 1 or 0" }).transform((v) => v === "1");

/** An origin as browsers send it in Origin: scheme, host and port only (no path, no trailing slash). */
function isOrigin(text: string): boolean {
  if (!URL.canParse(text)) return false;
  const url = new URL(text);
  return (url.protocol === "http:" || url.protocol === "https:") && url.origin === text;
}

const positiveInt = (what: string) =>
  z
    .string()
    .refine((v) => /^\d+$/.test(v) && Number(v) > 0 && Number.isSafeInteger(Number(v)), {
      message: `must be a positive whole number (${what})`,
    })
    .transform(Number);

const envSchema = z
  .object({
    PORT: port,
    HOST: z.preprocess(unset, z.string().min(1).default("127.0.0.1")),
    LOG_LEVEL: z.preprocess(
      unset,
      z.enum(LOG_LEVELS, { message: `must be one of ${LOG_LEVELS.join(" | ")}` }).default("info"),
    ),
    CLM_WAREHOUSE: z.preprocess(
      unset,
      z.enum(WAREHOUSE_KINDS, { message: `must be one of ${WAREHOUSE_KINDS.join(" | ")}` }).default("duckdb"),
    ),
    CLM_DUCKDB_PATH: z.preprocess(unset, z.string().optional()),
    CLM_ALLOW_ANONYMOUS: z.preprocess(unset, flag.optional()),
    NODE_ENV: z.preprocess(unset, z.string().optional()),
    CLM_GRAPHIQL: z.preprocess(unset, flag.optional()),
    CLM_INTROSPECTION: z.preprocess(unset, flag.optional()),
    CLM_DUCKDB_MEMORY_LIMIT: z.preprocess(
      unset,
      z
        .string()
        .regex(/^\d+(\.\d+)?\s*(KB|MB|GB|TB|KiB|MiB|GiB|TiB)$/i, "must be a size such as 512MB or 2GB")
        .optional(),
    ),
    CLM_DUCKDB_RANGE_CUSTOMERS: z.preprocess(
      unset,
      positiveInt("customers per id range of an export").default(DEFAULT_CUSTOMERS_PER_RANGE),
    ),
    CLM_POSTGRES_URL: z.preprocess(unset, postgresUrl.optional()),
    CLM_BIGQUERY_PROJECT: z.preprocess(
      unset,
      z
        .string()
        .regex(/^[a-z][a-z0-9.:-]{4,62}$/, "must be a Google Cloud project id")
        .optional(),
    ),
    CLM_BIGQUERY_DATASET: z.preprocess(
      unset,
      z
        .string()
        .regex(/^[A-Za-z0-9_]{1,1024}$/, "must be a dataset name: letters, digits and _")
        .optional(),
    ),
    CLM_BIGQUERY_LOCATION: z.preprocess(
      unset,
      z
        .string()
        .regex(/^[A-Za-z0-9-]+$/, "must be a location such as US, EU or europe-west1")
        .optional(),
    ),
    CLM_BIGQUERY_MAX_BYTES_BILLED: z.preprocess(unset, positiveInt("bytes").default(10_000_000_000)),
    CLM_BIGQUERY_DRY_RUN: z.preprocess(unset, flag.default(true)),
    CLM_BIGQUERY_JOB_TIMEOUT_MS: z.preprocess(unset, positiveInt("milliseconds").optional()),
    DATABASE_URL: z.preprocess(unset, postgresUrl.optional()),
    CLM_DATA_DIR: z.preprocess(unset, z.string().min(1).default("./.data")),
    CLM_DEMO: z.preprocess(unset, flag.optional()),
    CLM_DEMO_CUSTOMERS: z.preprocess(unset, positiveInt("customers in the demo data").default(5_000)),
    CLM_CONFIG: z.preprocess(unset, z.string().optional()),
    CLM_REQUEST_TIMEOUT_MS: z.preprocess(unset, positiveInt("milliseconds").default(30_000)),
    CLM_WAREHOUSE_QUERIES_PER_REQUEST: z.preprocess(
      unset,
      positiveInt("warehouse queries one request runs at once").default(DEFAULT_QUERIES_PER_REQUEST),
    ),
    CLM_WAREHOUSE_QUERIES_PER_KEY: z.preprocess(
      unset,
      positiveInt("warehouse queries one API key runs at once").optional(),
    ),
    CLM_WAREHOUSE_QUEUE_MS: z.preprocess(
      unset,
      positiveInt("milliseconds a query waits for a slot").default(DEFAULT_QUEUE_WAIT_MS),
    ),
    CLM_POSTGRES_POOL_SIZE: z.preprocess(
      unset,
      positiveInt("connections")
        .refine((n) => n >= 5, {
          message: "must be at least 5 (four connections are kept for exports, cancels and pings)",
        })
        .default(POOL_CONNECTIONS),
    ),
    CLM_FIT_WORKERS: z.preprocess(unset, positiveInt("worker threads").default(defaultFitWorkers())),
    CLM_STATE: z.preprocess(unset, z.enum(["off", "serve", "required"]).default("serve")),
    CLM_STATE_LATENESS_DAYS: z.preprocess(
      unset,
      z
        .string()
        .regex(/^\d+$/, "must be a whole number of days")
        .default(String(DEFAULT_LATENESS_DAYS))
        .transform(Number),
    ),
    CLM_STATE_FULL_EVERY_DAYS: z.preprocess(unset, positiveInt("days").default(DEFAULT_FULL_EVERY_DAYS)),
    CLM_STATE_CLV: z.preprocess(unset, z.enum(["BG_NBD", "PARETO_NBD", "off"]).default("BG_NBD")),
    CLM_STATE_WRITEBACK: z.preprocess(unset, flag.default(false)),
    CLM_STATE_WRITEBACK_TABLE: z.preprocess(
      unset,
      z
        .string()
        .regex(/^[a-z_][a-z0-9_]{0,62}$/, "must be a plain lower-case table name (letters, digits, _)")
        .default(DEFAULT_WRITEBACK_TABLE),
    ),
    CLM_STATE_REFRESH_MINUTES: z.preprocess(
      unset,
      z.string().regex(/^\d+$/, "must be a whole number of minutes (0: no schedule)").default("0").transform(Number),
    ),
    CLM_WEBHOOKS: z.preprocess(unset, flag.default(true)),
    CLM_WEBHOOKS_ALLOW_LOOPBACK: z.preprocess(unset, flag.default(false)),
    CLM_WEBHOOKS_ALLOW_PRIVATE: z.preprocess(unset, flag.default(false)),
    CLM_WEBHOOKS_RETRY_HOURS: z.preprocess(unset, positiveInt("hours").default(DEFAULT_WEBHOOK_RETRY_HOURS)),
    CLM_WEBHOOKS_TIMEOUT_MS: z.preprocess(unset, positiveInt("milliseconds").default(DEFAULT_WEBHOOK_TIMEOUT_MS)),
    CLM_WEBHOOKS_BACKOFF_MS: z.preprocess(unset, positiveInt("milliseconds").default(DEFAULT_WEBHOOK_BACKOFF_MS)),
    CLM_WEBHOOKS_BATCH: z.preprocess(
      unset,
      positiveInt("events")
        .refine((n) => n <= 1_000, { message: "must be at most 1000 events" })
        .default(DEFAULT_WEBHOOK_BATCH),
    ),
    CLM_RATE_LIMIT_PER_MINUTE: z.preprocess(
      unset,
      z.string().regex(/^\d+$/, "must be a whole number (0: no limit)").default("6000").transform(Number),
    ),
    CLM_KEY_CACHE_SECONDS: z.preprocess(
      unset,
      z
        .string()
        .regex(/^\d+$/, "must be a whole number of seconds (0: no key cache)")
        .default(String(DEFAULT_KEY_CACHE_SECONDS))
        .transform(Number),
    ),
    CLM_CACHE: z.preprocess(unset, flag.default(true)),
    CLM_CACHE_TTL_SECONDS: z.preprocess(unset, positiveInt("seconds").default(60)),
    CLM_CACHE_PAST_TTL_SECONDS: z.preprocess(unset, positiveInt("seconds").default(86_400)),
    CLM_CACHE_MAX_MB: z.preprocess(unset, positiveInt("megabytes").default(64)),
    REDIS_URL: z.preprocess(
      unset,
      z
        .string()
        .refine((v) => /^rediss?:\/\/[^\s]+$/.test(v) && URL.canParse(v), {
          message: "must be a Redis URL such as redis://127.0.0.1:6379",
        })
        .optional(),
    ),
    CLM_METRICS: z.preprocess(unset, flag.optional()),
    CLM_METRICS_TOKEN: z.preprocess(
      unset,
      z
        .string()
        .regex(/^[\x21-\x7e]{16,200}$/, "must be 16 to 200 visible characters, no spaces (a random token)")
        .optional(),
    ),
    CLM_CORS_ORIGINS: z.preprocess(
      unset,
      z
        .string()
        .transform((v) =>
          v
            .split(",")
            .map((o) => o.trim())
            .filter((o) => o !== ""),
        )
        .refine((origins) => origins.every(isOrigin), {
          message:
            "must be origins separated by commas, each scheme://host[:port] with nothing after, e.g. https://bi.example.com",
        })
        .optional(),
    ),
    CLM_OTEL: z.preprocess(
      unset,
      z.enum(TRACING_MODES, { message: `must be one of ${TRACING_MODES.join(" | ")}` }).default("off"),
    ),
  })
  .superRefine((env, ctx) => {
    if (env.CLM_WAREHOUSE === "postgres" && !env.CLM_POSTGRES_URL) {
      ctx.addIssue({
        code: "custom",
        params: CROSS_VARIABLE,
        path: ["CLM_POSTGRES_URL"],
        message: "is required when CLM_WAREHOUSE=postgres",
      });
    }
    if (env.CLM_WAREHOUSE === "bigquery") {
      for (const name of ["CLM_BIGQUERY_PROJECT", "CLM_BIGQUERY_DATASET"] as const) {
        if (!env[name])
          ctx.addIssue({
            code: "custom",
            params: CROSS_VARIABLE,
            path: [name],
            message: "is required when CLM_WAREHOUSE=bigquery",
          });
      }
    }
    if (env.CLM_DEMO && env.CLM_WAREHOUSE !== "duckdb") {
      ctx.addIssue({
        code: "custom",
        params: CROSS_VARIABLE,
        path: ["CLM_DEMO"],
        message: "can be 1 only with the embedded warehouse (CLM_WAREHOUSE=duckdb)",
      });
    }
  });

export type Env = z.output<typeof envSchema>;

export interface AppConfig {
  readonly port: number;
  readonly host: string;
  readonly logLevel: (typeof LOG_LEVELS)[number];
  /** The warehouse, and for the embedded one whether and how much demo data to seed. */
  readonly warehouse:
    | Exclude<WarehouseSettings, { kind: "duckdb" }>
    | (Extract<WarehouseSettings, { kind: "duckdb" }> & { readonly demo: boolean; readonly demoCustomers: number });
  /** undefined: the embedded PGlite store under dataDir. */
  readonly databaseUrl: string | undefined;
  readonly dataDir: string;
  readonly configFile: string | undefined;
  /** Requests without an API key act as an analyst (the embedded demo's default; see anonymousAccess). */
  readonly allowAnonymous: boolean;
  /** NODE_ENV=production. */
  readonly production: boolean;
  /** GraphiQL at /graphql for browsers, and schema introspection (both off by default in production). */
  readonly graphiql: boolean;
  readonly introspection: boolean;
  /** How long a request's warehouse work may take before its queries are cancelled (ms). */
  readonly requestTimeoutMs: number;
  /** The warehouse's fair queue (warehouse/admission.ts): queries at once per request and per key, longest wait. */
  readonly warehouseQueue: { readonly perRequest: number; readonly perCaller?: number; readonly waitMs: number };
  /** Worker threads for CLV fits (services/fit-pool.ts). */
  readonly fitWorkers: number;
  /** The state store (services/state/): whether it serves, and how often this server refreshes it (0: never; the demo refreshes at start). */
  readonly state: {
    readonly mode: "off" | "serve" | "required";
    readonly refreshMinutes: number;
    /** Rows dated this many days before the last state day are read again by an incremental refresh. */
    readonly latenessDays: number;
    /** A full rebuild at least this often (days). */
    readonly fullEveryDays: number;
    /** The purchase model each refresh fits for the stored lifetime-value predictions; null: none. */
    readonly clvModel: "BG_NBD" | "PARETO_NBD" | null;
    /** The warehouse table each refresh writes the state into (CLM_STATE_WRITEBACK=1); null: none. */
    readonly writebackTable: string | null;
  };
  /** Webhook delivery (services/events/): whether this server runs the delivery worker, and where it may post. */
  readonly webhooks: {
    readonly deliver: boolean;
    readonly allowLoopback: boolean;
    readonly allowPrivate: boolean;
    /** How long an endpoint may keep failing before it is disabled. */
    readonly retryHours: number;
    readonly timeoutMs: number;
    /** The wait after a batch's first failure, doubled per failure (up to an hour). */
    readonly backoffMs: number;
    /** Events per delivery. */
    readonly batch: number;
  };
  /** Requests per minute per API key (or per address without one); 0: no limit. */
  readonly rateLimitPerMinute: number;
  /** How long an authenticated API key is trusted without a lookup (auth/key-cache.ts); 0: never. */
  readonly keyCacheSeconds: number;
  /** The warehouse result cache (null: off); in Redis when redisUrl is set. */
  readonly cache: CacheSettings | null;
  /** Prometheus metrics at /metrics. */
  readonly metrics: boolean;
  /** The Bearer token /metrics asks for; unset: none asked (and in production metrics are then off unless CLM_METRICS=1). */
  readonly metricsToken: string | undefined;
  /** Origins whose pages may read answers cross-origin (CORS); empty: same origin only. */
  readonly corsOrigins: readonly string[];
  /** OpenTelemetry tracing: off, exported over OTLP/HTTP (OTEL_EXPORTER_OTLP_* variables), or printed. */
  readonly tracing: TracingMode;
  /** Redis shared by instances (result cache, rate limits); unset: each instance keeps its own. */
  readonly redisUrl: string | undefined;
}

/** Shows what was given without leaking a password. */
function shown(name: string, value: string | undefined): string {
  if (value === undefined) return "";
  const safe = /URL$/.test(name) ? value.replace(/\/\/([^:@/]+):[^@/]*@/, "//$1:***@") : value;
  return ` (got ${JSON.stringify(safe)})`;
}

/**
 * Where the in-memory DuckDB spills what exceeds its memory limit: under the data directory (DuckDB's
 * own default is ".tmp" in whatever the working directory is), or a directory of this process in the
 * system's when the data directory is in memory too. A database file spills beside itself (DuckDB's default).
 */
function duckdbTempDirectory(path: string | undefined, dataDir: string): string | undefined {
  if (path !== undefined && path !== ":memory:") return undefined;
  return dataDir.startsWith("memory://")
    ? join(tmpdir(), `clm-duckdb-${process.pid}.tmp`)
    : join(dataDir, "duckdb.tmp");
}

/**
 * A real app database beside a warehouse nobody named is a mistake, not a demo: with CLM_WAREHOUSE
 * (and a DuckDB file) unset the server would serve an invented shop against real API keys and segments.
 */
function unnamedWarehouseProblem(source: Readonly<Record<string, string | undefined>>): string | undefined {
  const named = unset(source.CLM_WAREHOUSE) !== undefined || unset(source.CLM_DUCKDB_PATH) !== undefined;
  if (!unset(source.DATABASE_URL) || named) return undefined;
  return "CLM_WAREHOUSE is required when DATABASE_URL is set: duckdb (with CLM_DUCKDB_PATH for your data), postgres or bigquery";
}

/**
 * Requests without a key act as an analyst only where that cannot hurt: the in-memory demo warehouse
 * with the embedded app database, outside production. CLM_ALLOW_ANONYMOUS=1 turns it on anywhere
 * (the server then warns at start); 0 turns it off.
 */
function anonymousAccess(env: Env): boolean {
  if (env.CLM_ALLOW_ANONYMOUS !== undefined) return env.CLM_ALLOW_ANONYMOUS;
  return (
    env.CLM_WAREHOUSE === "duckdb" &&
    env.CLM_DUCKDB_PATH === undefined &&
    env.DATABASE_URL === undefined &&
    env.NODE_ENV !== "production"
  );
}

/** Why anonymous access is a risk in this configuration (for the warning at start), or undefined. */
export function anonymousAccessRisk(config: AppConfig): string | undefined {
  if (!config.allowAnonymous) return undefined;
  const reasons = [
    ...(config.production ? ["NODE_ENV=production"] : []),
    ...(config.databaseUrl ? ["a PostgreSQL app database (DATABASE_URL)"] : []),
    ...(config.warehouse.kind !== "duckdb" || config.warehouse.path !== undefined ? ["a warehouse of real data"] : []),
  ];
  return reasons.length > 0
    ? `requests without an API key act as an analyst, with ${reasons.join(" and ")}`
    : undefined;
}

/**
 * `readsWarehouse: false` for commands that only use the app database (`clm keys`): they need no
 * warehouse named beside DATABASE_URL.
 */
export function loadEnv(
  source: Readonly<Record<string, string | undefined>> = process.env,
  { readsWarehouse = true }: { readsWarehouse?: boolean } = {},
): AppConfig {
  const parsed = envSchema.safeParse(source);
  // Only beside a DATABASE_URL that is itself valid (a bad one is reported as such).
  const badDatabaseUrl = parsed.error?.issues.some((issue) => issue.path[0] === "DATABASE_URL") ?? false;
  const unnamedWarehouse = badDatabaseUrl || !readsWarehouse ? undefined : unnamedWarehouseProblem(source);
  if (!parsed.success || unnamedWarehouse) {
    const lines = (parsed.error?.issues ?? []).map((issue) => {
      const name = String(issue.path[0] ?? "environment");
      // Cross-variable rules (custom issues) are about presence, not about the value given.
      const crossVariable = issue.code === "custom" && issue.params?.crossVariable === true;
      return `${name} ${issue.message}${crossVariable ? "" : shown(name, source[name])}`;
    });
    throw new ConfigError([...new Set([...(unnamedWarehouse ? [unnamedWarehouse] : []), ...lines])]);
  }
  const env = parsed.data;
  const warehouse: AppConfig["warehouse"] =
    env.CLM_WAREHOUSE === "postgres"
      ? { kind: "postgres", url: env.CLM_POSTGRES_URL!, connections: env.CLM_POSTGRES_POOL_SIZE }
      : env.CLM_WAREHOUSE === "bigquery"
        ? {
            kind: "bigquery",
            project: env.CLM_BIGQUERY_PROJECT!,
            dataset: env.CLM_BIGQUERY_DATASET!,
            location: env.CLM_BIGQUERY_LOCATION,
            maxBytesBilled: env.CLM_BIGQUERY_MAX_BYTES_BILLED,
            jobTimeoutMs: env.CLM_BIGQUERY_JOB_TIMEOUT_MS,
            dryRunBudget: env.CLM_BIGQUERY_DRY_RUN,
          }
        : {
            kind: "duckdb",
            path: env.CLM_DUCKDB_PATH,
            memoryLimit: env.CLM_DUCKDB_MEMORY_LIMIT,
            tempDirectory: duckdbTempDirectory(env.CLM_DUCKDB_PATH, env.CLM_DATA_DIR),
            customersPerRange: env.CLM_DUCKDB_RANGE_CUSTOMERS,
            demo: env.CLM_DEMO ?? env.CLM_DUCKDB_PATH === undefined,
            demoCustomers: env.CLM_DEMO_CUSTOMERS,
          };
  return Object.freeze({
    port: env.PORT,
    host: env.HOST,
    logLevel: env.LOG_LEVEL,
    warehouse: Object.freeze(warehouse),
    databaseUrl: env.DATABASE_URL,
    dataDir: env.CLM_DATA_DIR,
    configFile: env.CLM_CONFIG,
    // Open by default only for the embedded demo: any real warehouse needs keys unless said otherwise.
    allowAnonymous: anonymousAccess(env),
    production: env.NODE_ENV === "production",
    graphiql: env.CLM_GRAPHIQL ?? env.NODE_ENV !== "production",
    introspection: env.CLM_INTROSPECTION ?? env.NODE_ENV !== "production",
    requestTimeoutMs: env.CLM_REQUEST_TIMEOUT_MS,
    warehouseQueue: Object.freeze({
      perRequest: env.CLM_WAREHOUSE_QUERIES_PER_REQUEST,
      perCaller: env.CLM_WAREHOUSE_QUERIES_PER_KEY,
      waitMs: env.CLM_WAREHOUSE_QUEUE_MS,
    }),
    fitWorkers: env.CLM_FIT_WORKERS,
    state: Object.freeze({
      mode: env.CLM_STATE,
      refreshMinutes: env.CLM_STATE_REFRESH_MINUTES,
      latenessDays: env.CLM_STATE_LATENESS_DAYS,
      fullEveryDays: env.CLM_STATE_FULL_EVERY_DAYS,
      clvModel: env.CLM_STATE_CLV === "off" ? null : env.CLM_STATE_CLV,
      writebackTable: env.CLM_STATE_WRITEBACK ? env.CLM_STATE_WRITEBACK_TABLE : null,
    }),
    webhooks: Object.freeze({
      deliver: env.CLM_WEBHOOKS,
      allowLoopback: env.CLM_WEBHOOKS_ALLOW_LOOPBACK,
      allowPrivate: env.CLM_WEBHOOKS_ALLOW_PRIVATE,
      retryHours: env.CLM_WEBHOOKS_RETRY_HOURS,
      timeoutMs: env.CLM_WEBHOOKS_TIMEOUT_MS,
      backoffMs: env.CLM_WEBHOOKS_BACKOFF_MS,
      batch: env.CLM_WEBHOOKS_BATCH,
    }),
    rateLimitPerMinute: env.CLM_RATE_LIMIT_PER_MINUTE,
    keyCacheSeconds: env.CLM_KEY_CACHE_SECONDS,
    cache: env.CLM_CACHE
      ? Object.freeze({
          ...DEFAULT_CACHE_SETTINGS,
          ttlSeconds: env.CLM_CACHE_TTL_SECONDS,
          pastTtlSeconds: env.CLM_CACHE_PAST_TTL_SECONDS,
          maxBytes: env.CLM_CACHE_MAX_MB * 1024 * 1024,
          redisUrl: env.REDIS_URL,
        })
      : null,
    // Public by default only outside production: there a scrape needs CLM_METRICS_TOKEN, or CLM_METRICS=1
    // said explicitly (a private network), since /metrics tells anyone the operations and error rates.
    metrics: env.CLM_METRICS ?? (env.CLM_METRICS_TOKEN !== undefined || env.NODE_ENV !== "production"),
    metricsToken: env.CLM_METRICS_TOKEN,
    corsOrigins: Object.freeze(env.CLM_CORS_ORIGINS ?? []),
    redisUrl: env.REDIS_URL,
    tracing: env.CLM_OTEL,
  });
}

// Prometheus metrics (prom-client), served at /metrics. One registry per server instance, so several
// servers in one process (tests) do not share counters. Labels are bounded: operation names from
// clients are kept only while few (a client inventing names cannot grow the registry without end).
import { collectDefaultMetrics, Counter, Gauge, Histogram, Registry } from "prom-client";

/** Distinct operation names kept as label values; later names count as "other". */
const MAX_OPERATION_NAMES = 200;

const LATENCY_BUCKETS = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30];

export class ServerMetrics {
  readonly registry = new Registry();
  private readonly operationNames = new Set<string>();

  readonly requests = new Counter({
    name: "clm_http_requests_total",
    help: "HTTP requests answered, by route and status",
    labelNames: ["route", "status"] as const,
    registers: [this.registry],
  });
  readonly graphqlErrors = new Counter({
    name: "clm_graphql_errors_total",
    help: "Errors in GraphQL answers, by extensions.code",
    labelNames: ["code"] as const,
    registers: [this.registry],
  });
  readonly requestDuration = new Histogram({
    name: "clm_graphql_request_duration_seconds",
    help: "Time to answer a GraphQL request, by operation name and type",
    labelNames: ["operation", "type"] as const,
    buckets: LATENCY_BUCKETS,
    registers: [this.registry],
  });
  readonly warehouseQueries = new Counter({
    name: "clm_warehouse_queries_total",
    help: "Warehouse query attempts, by query label and outcome (ok, error, unavailable, cancelled, refused)",
    labelNames: ["label", "outcome"] as const,
    registers: [this.registry],
  });
  readonly warehouseDuration = new Histogram({
    name: "clm_warehouse_query_duration_seconds",
    help: "Time of one warehouse query attempt, by query label",
    labelNames: ["label"] as const,
    buckets: LATENCY_BUCKETS,
    registers: [this.registry],
  });
  readonly warehouseRetries = new Counter({
    name: "clm_warehouse_retries_total",
    help: "Warehouse queries retried after a transient failure",
    registers: [this.registry],
  });
  readonly warehouseBytes = new Counter({
    name: "clm_warehouse_bytes_estimated_total",
    help: "Bytes the warehouse estimated a query would scan (BigQuery dry runs), queries run or refused",
    registers: [this.registry],
  });
  readonly circuitOpen = new Gauge({
    name: "clm_warehouse_circuit_open",
    help: "1 while the warehouse circuit breaker is open (queries fail fast), else 0",
    registers: [this.registry],
  });
  readonly cacheRequests = new Counter({
    name: "clm_cache_requests_total",
    help: "Warehouse result cache lookups, by result (hit, miss, error)",
    labelNames: ["result"] as const,
    registers: [this.registry],
  });
  readonly rateLimited = new Counter({
    name: "clm_rate_limited_total",
    help: "Requests refused by the per-key rate limit",
    registers: [this.registry],
  });
  readonly edgeFailures = new Counter({
    name: "clm_request_failures_total",
    help: "Requests ended outside GraphQL execution by a failure (authentication, export, /ready), by code",
    labelNames: ["code"] as const,
    registers: [this.registry],
  });

  readonly stateRefreshes = new Counter({
    name: "clm_state_refreshes_total",
    help: "State store refreshes run by this instance, by kind (full, incremental) and result (published, failed, skipped: another instance held the lock)",
    labelNames: ["kind", "result"] as const,
    registers: [this.registry],
  });
  readonly stateRefreshSeconds = new Gauge({
    name: "clm_state_refresh_seconds",
    help: "How long the last published state store refresh of this instance took",
    registers: [this.registry],
  });
  readonly stateGeneration = new Gauge({
    name: "clm_state_generation",
    help: "The state store generation this instance last published",
    registers: [this.registry],
  });

  constructor() {
    collectDefaultMetrics({ register: this.registry, prefix: "clm_" });
  }

  /** The label for an operation name: itself while the set of names is small, else "other". */
  operationLabel(name: string | undefined): string {
    if (!name) return "anonymous";
    if (this.operationNames.has(name)) return name;
    if (this.operationNames.size >= MAX_OPERATION_NAMES || !/^\w{1,100}$/.test(name)) return "other";
    this.operationNames.add(name);
    return name;
  }
}

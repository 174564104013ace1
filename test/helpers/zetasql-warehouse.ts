// BigQuery as a test warehouse, with ZetaSQL computing the answers: the real BigQuery connector and
// client library talk HTTP to a local endpoint (fake-bigquery.ts) that evaluates each query on ZetaSQL
// over rows held here. So a test runs GraphQL → services → BigQuery connector → @google-cloud/bigquery
// → REST wire format → BigQuery's reference semantics, on any data it loads.
import { afterAll, beforeAll } from "vitest";
import { BigQueryConnector } from "../../src/connectors/bigquery.ts";
import type { ContractRow } from "../../src/connectors/connector.ts";
import {
  DEFAULT_MAPPING,
  LOGICAL_TABLES,
  columnsOf,
  type LogicalTable,
  type WarehouseMapping,
} from "../../src/sql/contract.ts";
import type { TestWarehouse, WarehouseFactory } from "./databases.ts";
import { startFakeBigQuery, type FakeAnswer, type FakeBigQuery, type WireParameter } from "./fake-bigquery.ts";
import {
  ContractCatalog,
  describeZetaSql,
  startZetaSql,
  type BigQueryType,
  type QueryParam,
  type ZetaSqlService,
} from "./zetasql.ts";

const PROJECT = "zetasql-project";

/** The client's legacy type names, as BigQuery reads them. */
const WIRE_TYPES: Record<string, BigQueryType> = { INTEGER: "INT64", FLOAT: "FLOAT64", BOOLEAN: "BOOL" };

function wireType(name: string): BigQueryType {
  return WIRE_TYPES[name] ?? (name as BigQueryType);
}

/** A REST query parameter as ZetaSQL takes it: the declared type, the value as text (or a list of them). */
export function queryParam(p: WireParameter): QueryParam {
  if (p.parameterType.type === "ARRAY") {
    return {
      name: p.name,
      type: `ARRAY<${wireType(p.parameterType.arrayType!.type)}>`,
      value: (p.parameterValue.arrayValues ?? []).map((v) => v.value ?? null),
    };
  }
  return { name: p.name, type: wireType(p.parameterType.type), value: p.parameterValue.value ?? null };
}

export interface ZetaSqlWarehouseOptions {
  /** The type of the contract's numeric columns (amounts, event values) in the dataset. */
  readonly numericAs: "NUMERIC" | "FLOAT64";
  readonly mapping?: WarehouseMapping;
  /** The job's default dataset (where unqualified table names resolve). */
  readonly dataset?: string;
}

/** A BigQuery warehouse answered by ZetaSQL, with the endpoint's record of what it was sent. */
export type ZetaSqlWarehouse = TestWarehouse & { readonly bigquery: FakeBigQuery };

/** Counters of what a ZetaSQL warehouse was asked (for a suite's timing notes). */
export interface ZetaSqlWarehouseStats {
  queries: number;
  evaluationMs: number;
}

/**
 * A factory of BigQuery warehouses answered by ZetaSQL. Each warehouse keeps its rows in memory and
 * registers them with the service (once per change); the tables exist after createTables.
 * BigQuery's INFORMATION_SCHEMA has no ZetaSQL counterpart (see zetasql.md), so the table-status
 * probe's column listing is answered here from the mapping; its text is analyzed in bigquery-sql.spec.ts.
 */
export function zetaSqlWarehouse(
  zeta: ZetaSqlService,
  options: ZetaSqlWarehouseOptions,
  stats: ZetaSqlWarehouseStats = { queries: 0, evaluationMs: 0 },
): WarehouseFactory {
  const mapping = options.mapping ?? DEFAULT_MAPPING;
  const dataset = options.dataset ?? mapping.schema ?? "clm";
  const label = `bigquery on ZetaSQL (amount ${options.numericAs})`;
  return {
    label,
    async open() {
      const catalog = new ContractCatalog({ dataset, mapping, numericAs: options.numericAs });
      let tables: Map<LogicalTable, ContractRow[]> | undefined;
      let registered: Promise<string> | undefined;

      const unregister = async () => {
        const id = registered;
        registered = undefined;
        if (id) await zeta.unregisterCatalog(await id);
      };
      const catalogId = () => {
        registered ??= zeta.registerCatalog(
          catalog.evaluationCatalog(zeta.languageOptions),
          catalog.contents(
            Object.fromEntries(
              LOGICAL_TABLES.map((table) => {
                const columns = columnsOf(table);
                const rows = tables?.get(table) ?? [];
                return [table, rows.map((row) => Object.fromEntries(columns.map((c, i) => [c, row[i]])))];
              }),
            ),
          ),
        );
        return registered;
      };
      const columnListing = (table: unknown): FakeAnswer => {
        const logical = LOGICAL_TABLES.find((t) => mapping.tables[t].table === table);
        const columns = tables && logical ? columnsOf(logical).map((c) => mapping.tables[logical].columns[c]!) : [];
        return { fields: [{ name: "column_name", type: "STRING" }], rows: columns.map((c) => [c]) };
      };

      const fake = await startFakeBigQuery(PROJECT, async (text, params, wire) => {
        if (text.includes("`INFORMATION_SCHEMA`.`COLUMNS`")) return columnListing(params.p1);
        const started = performance.now();
        try {
          const result = await zeta.evaluate(await catalogId(), catalog.forEvaluation(text), wire.map(queryParam));
          // What a dry run says the query scans: a stand-in (its text's length), which a test can add up.
          return { fields: result.rest.fields, rows: result.rest.rows, bytes: text.length };
        } catch (error) {
          // What BigQuery does with a query it cannot run: HTTP 400, reason invalidQuery, the message.
          return { fields: [], rows: [], fail: { status: 400, reason: "invalidQuery", message: String(error) } };
        } finally {
          stats.queries++;
          stats.evaluationMs += performance.now() - started;
        }
      });
      const connector = new BigQueryConnector(
        { project: PROJECT, dataset, location: undefined, maxBytesBilled: 1e12, clientOptions: fake.clientOptions },
        mapping,
      );
      const warehouse: ZetaSqlWarehouse = Object.assign(connector, {
        label,
        bigquery: fake,
        async createTables({ replace }: { replace: boolean }) {
          if (tables && !replace) return;
          tables = new Map(LOGICAL_TABLES.map((t) => [t, []]));
          await unregister();
        },
        async append(table: LogicalTable, rows: readonly ContractRow[]) {
          if (!tables) throw new Error(`no table ${table}: createTables first`);
          tables.get(table)!.push(...rows);
          await unregister();
        },
        async close() {
          await unregister();
          await fake.close();
        },
      });
      return warehouse;
    },
  };
}

/**
 * describeZetaSql for suites that only need BigQuery warehouses: the service starts before the suite's
 * tests and stops after them, and `warehouses(options)` (called once the suite runs, e.g. in a
 * beforeAll) is zetaSqlWarehouse on it.
 */
export function describeOnZetaSql(
  name: string,
  body: (warehouses: (options: ZetaSqlWarehouseOptions) => WarehouseFactory) => void,
): void {
  describeZetaSql(name, () => {
    let zeta: ZetaSqlService | undefined;
    beforeAll(async () => {
      zeta = await startZetaSql();
    });
    afterAll(async () => {
      await zeta?.stop();
    });
    body((options) => {
      if (!zeta) throw new Error("ZetaSQL is not started yet: ask for warehouses inside a test or a hook");
      return zetaSqlWarehouse(zeta, options);
    });
  });
}

// Table presence and completeness, shared by the connectors: each supplies how to list a table's
// columns and how to count its rows in its own dialect.
import { columnsOf, LOGICAL_TABLES, WAREHOUSE_CONTRACT, type WarehouseMapping } from "../sql/contract.ts";
import type { TableStatus, WarehouseConnector } from "./connector.ts";
import { ident, sql, type Sql } from "../sql/sql.ts";

export interface TableProbe {
  /** Lower-cased column names of the physical table, or null when it does not exist. */
  columnsOf(schema: string | undefined, table: string): Promise<Set<string> | null>;
  countRows(schema: string | undefined, table: string): Promise<number>;
  qualifiedName(schema: string | undefined, table: string): string;
}

export async function probeTables(mapping: WarehouseMapping, probe: TableProbe): Promise<TableStatus[]> {
  return Promise.all(
    LOGICAL_TABLES.map(async (logical): Promise<TableStatus> => {
      const mapped = mapping.tables[logical];
      const columns = await probe.columnsOf(mapping.schema, mapped.table);
      const missingColumns = columns
        ? columnsOf(logical)
            .map((c) => mapped.columns[c]!)
            .filter((physical) => !columns.has(physical.toLowerCase()))
        : [];
      const complete = columns !== null && missingColumns.length === 0;
      return {
        logical,
        source: probe.qualifiedName(mapping.schema, mapped.table),
        required: WAREHOUSE_CONTRACT[logical].required,
        present: columns !== null,
        missingColumns,
        rowCount: complete ? await probe.countRows(mapping.schema, mapped.table) : null,
      };
    }),
  );
}

/** One line naming what keeps the warehouse from serving, or null when the contract is met. */
export function contractProblem(statuses: readonly TableStatus[]): string | null {
  const problems = statuses.flatMap((s) => {
    if (s.present && s.missingColumns.length > 0) {
      return [`table ${s.source} (${s.logical}) lacks column(s) ${s.missingColumns.join(", ")}`];
    }
    if (!s.present && s.required) return [`required table ${s.source} (${s.logical}) not found`];
    return [];
  });
  return problems.length > 0 ? problems.join("; ") : null;
}

/** Lists a table's columns from the standard information_schema (DuckDB, PostgreSQL). */
const standardColumnsQuery = (schema: string, table: string): Sql =>
  sql`SELECT column_name FROM information_schema.columns WHERE table_schema = ${schema} AND table_name = ${table}`;

/**
 * The probe for warehouses with an information_schema: the standard one, or the warehouse's own
 * listing of columns (`columnsQuery`, e.g. BigQuery's per-dataset INFORMATION_SCHEMA.COLUMNS).
 */
export function informationSchemaProbe(
  connector: Pick<WarehouseConnector, "query">,
  defaultSchema: string,
  columnsQuery: (schema: string, table: string) => Sql = standardColumnsQuery,
): TableProbe {
  return {
    qualifiedName: (schema, table) => `${schema ?? defaultSchema}.${table}`,
    columnsOf: async (schema, table) => {
      const rows = await connector.query<{ column_name: string }>(columnsQuery(schema ?? defaultSchema, table), {
        label: "table_status",
      });
      return rows.length === 0 ? null : new Set(rows.map((r) => r.column_name.toLowerCase()));
    },
    countRows: async (schema, table) => {
      const [row] = await connector.query<{ n: number }>(
        sql`SELECT count(*) AS n FROM ${ident(schema ?? defaultSchema, table)}`,
        { label: "table_status" },
      );
      return Number(row!.n);
    },
  };
}

// DDL for the contract tables, for warehouses the server loads itself (demo data, imports, tests).
import type { OwnedColumn, OwnedTable, WarehouseConnector } from "./connector.ts";
import type { Dialect } from "../sql/dialect.ts";
import {
  columnSpec,
  columnsOf,
  LOGICAL_TABLES,
  type ColumnType,
  type LogicalTable,
  type WarehouseMapping,
} from "../sql/contract.ts";
import { ident, join, keyword, sql, type Sql } from "../sql/sql.ts";

export function createTableSql(
  mapping: WarehouseMapping,
  logical: LogicalTable,
  typeNames: Readonly<Record<ColumnType, string>>,
): Sql {
  const mapped = mapping.tables[logical];
  const columns = columnsOf(logical).map((c) => {
    const spec = columnSpec(logical, c);
    return sql`${ident(mapped.columns[c])} ${keyword(typeNames[spec.type] + (spec.nullable ? "" : " NOT NULL"))}`;
  });
  return sql`CREATE TABLE IF NOT EXISTS ${ident(mapping.schema, mapped.table)} (${join(columns)})`;
}

/** Creates every contract table (and the mapping's schema), dropping existing ones when `replace`. */
export async function createContractTables(
  connector: Pick<WarehouseConnector, "query" | "mapping">,
  typeNames: Readonly<Record<ColumnType, string>>,
  { replace }: { replace: boolean },
): Promise<void> {
  const { mapping } = connector;
  if (mapping.schema) await connector.query(sql`CREATE SCHEMA IF NOT EXISTS ${ident(mapping.schema)}`);
  for (const logical of LOGICAL_TABLES) {
    if (replace)
      await connector.query(sql`DROP TABLE IF EXISTS ${ident(mapping.schema, mapping.tables[logical].table)}`);
    await connector.query(createTableSql(mapping, logical, typeNames));
  }
}

/** The dialect's type of an owned table's column. */
const OWNED_TYPE = { text: "text", date: "date", number: "float" } as const satisfies Record<
  OwnedColumn["type"],
  Parameters<Dialect["typeName"]>[0]
>;

/** CREATE TABLE for a table the server owns in the warehouse (every column nullable), under `name`. */
export function ownedTableSql(dialect: Dialect, schema: string | undefined, table: OwnedTable, name = table.name): Sql {
  const columns = table.columns.map((c) => sql`${ident(c.name)} ${keyword(dialect.typeName(OWNED_TYPE[c.type]))}`);
  return sql`CREATE TABLE ${ident(schema, name)} (${join(columns)})`;
}

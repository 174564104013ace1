// DDL for the contract tables, for warehouses the server loads itself (demo data, imports, tests).
import { columnSpec, columnsOf, type ColumnType, type LogicalTable, type WarehouseMapping } from "./contract.ts";
import { ident, join, keyword, sql, type Sql } from "./sql.ts";

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

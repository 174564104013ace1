// The warehouse input contract: the logical tables and columns the server reads, and the mapping
// from them to a warehouse's physical names (configurable in CLM_CONFIG).
import { z } from "zod";
import { isIdentifier } from "./sql.ts";

export type ColumnType = "text" | "timestamp" | "numeric" | "date";

export interface ColumnSpec {
  readonly type: ColumnType;
  readonly nullable: boolean;
}

const col = (type: ColumnType, nullable = false): ColumnSpec => ({ type, nullable });

/** Column order here is the order of rows given to a WarehouseWriter. */
export const WAREHOUSE_CONTRACT = {
  transactions: {
    required: true,
    description: "one row per order line or order: who bought, when and for how much",
    columns: {
      customer_id: col("text"),
      occurred_at: col("timestamp"),
      amount: col("numeric"),
      order_id: col("text", true),
      channel: col("text", true),
    },
  },
  customers: {
    required: false,
    description: "one row per known person, buyer or not: when they became known, how, and who referred them",
    columns: {
      customer_id: col("text"),
      created_at: col("timestamp"),
      acquisition_channel: col("text", true),
      referred_by: col("text", true),
    },
  },
  events: {
    required: false,
    description: "behaviour besides purchases: visits, sign-ups, leads, survey scores (value)",
    columns: {
      customer_id: col("text"),
      occurred_at: col("timestamp"),
      type: col("text"),
      value: col("numeric", true),
    },
  },
  marketing_spend: {
    required: false,
    description: "acquisition spend per day and channel",
    columns: {
      day: col("date"),
      channel: col("text"),
      amount: col("numeric"),
    },
  },
} as const;

export type LogicalTable = keyof typeof WAREHOUSE_CONTRACT;
export type LogicalColumn<T extends LogicalTable> = keyof (typeof WAREHOUSE_CONTRACT)[T]["columns"] & string;
export const LOGICAL_TABLES = Object.keys(WAREHOUSE_CONTRACT) as LogicalTable[];

export function columnsOf<T extends LogicalTable>(table: T): LogicalColumn<T>[] {
  return Object.keys(WAREHOUSE_CONTRACT[table].columns) as LogicalColumn<T>[];
}

export function columnSpec(table: LogicalTable, column: string): ColumnSpec {
  return (WAREHOUSE_CONTRACT[table].columns as Record<string, ColumnSpec>)[column]!;
}

const identifier = z
  .string()
  .refine(isIdentifier, { message: "must be an SQL identifier: letters, digits and _, not starting with a digit" });

function tableMappingSchema<T extends LogicalTable>(table: T) {
  const columns = Object.fromEntries(columnsOf(table).map((c) => [c, identifier.optional()]));
  return z
    .object({
      table: identifier.optional(),
      columns: z.object(columns).strict().optional(),
    })
    .strict();
}

/** The `warehouse` section of CLM_CONFIG. Every name is optional and defaults to the logical one. */
export const warehouseMappingSchema = z
  .object({
    /** Schema (PostgreSQL, DuckDB) holding the tables. BigQuery uses CLM_BIGQUERY_DATASET. */
    schema: identifier.optional(),
    tables: z
      .object({
        transactions: tableMappingSchema("transactions").optional(),
        customers: tableMappingSchema("customers").optional(),
        events: tableMappingSchema("events").optional(),
        marketing_spend: tableMappingSchema("marketing_spend").optional(),
      })
      .strict()
      .optional(),
  })
  .strict();

export type WarehouseMappingInput = z.infer<typeof warehouseMappingSchema>;

export interface TableMapping {
  readonly logical: LogicalTable;
  readonly table: string;
  readonly columns: Readonly<Record<string, string>>;
}

export interface WarehouseMapping {
  readonly schema: string | undefined;
  readonly tables: Readonly<Record<LogicalTable, TableMapping>>;
}

export function resolveMapping(input: WarehouseMappingInput = {}): WarehouseMapping {
  const tables = Object.fromEntries(
    LOGICAL_TABLES.map((logical) => {
      const given = input.tables?.[logical];
      const givenColumns = (given?.columns ?? {}) as Record<string, string | undefined>;
      const columns = Object.fromEntries(columnsOf(logical).map((c) => [c, givenColumns[c] ?? c]));
      return [logical, { logical, table: given?.table ?? logical, columns }];
    }),
  ) as Record<LogicalTable, TableMapping>;
  return Object.freeze({ schema: input.schema, tables });
}

export const DEFAULT_MAPPING = resolveMapping();

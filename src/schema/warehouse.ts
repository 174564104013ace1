// The warehouse as the server sees it: which contract tables it found, and how many rows they hold.
import type { TableStatus } from "../connectors/connector.ts";
import { WAREHOUSE_DESCRIPTIONS, type WarehouseKind } from "../connectors/index.ts";
import { WAREHOUSE_CONTRACT } from "../sql/contract.ts";
import type { DataRange } from "../services/lifecycle/features.ts";
import { builder } from "./builder.ts";

const WarehouseKindEnum = builder.enumType("WarehouseKind", {
  description: "Where the customer data lives.",
  // One value per kind of the registry (src/connectors/index.ts), described by its connector.
  values: Object.fromEntries(
    WAREHOUSE_DESCRIPTIONS.map(({ kind, description }) => [kind.toUpperCase(), { value: kind, description }]),
  ),
});

const WarehouseTable = builder.objectRef<TableStatus>("WarehouseTable").implement({
  description: "One table of the warehouse input contract, as found under the configured mapping.",
  fields: (t) => ({
    name: t.exposeString("logical", {
      description: "The contract's name: transactions, customers, events or marketing_spend.",
    }),
    description: t.string({
      description: "What the table holds.",
      resolve: (table) => WAREHOUSE_CONTRACT[table.logical].description,
    }),
    source: t.exposeString("source", { description: "The physical, qualified table the mapping points at." }),
    required: t.exposeBoolean("required", {
      description: "Whether the server needs this table (only transactions is required).",
    }),
    present: t.exposeBoolean("present", { description: "Whether the physical table exists." }),
    missingColumns: t.exposeStringList("missingColumns", {
      description: "Mapped columns the physical table lacks; features that need them stay null.",
    }),
    rowCount: t.exposeInt("rowCount", {
      nullable: true,
      description: "Rows in the table (count); null when it is absent or lacks columns.",
    }),
  }),
});

const DataRangeRef = builder.objectRef<DataRange>("DataRange").implement({
  description: "The days the warehouse holds rows for, in the configured time zone.",
  fields: (t) => ({
    firstDay: t.expose("firstDay", {
      type: "Date",
      description: "The first day with a row in transactions, customers (signed up) or events.",
    }),
    lastDay: t.expose("lastDay", {
      type: "Date",
      description:
        "The last day with such a row. Answers without asOf are for this day when it is before today (and no state store serves).",
    }),
  }),
});

const Warehouse = builder.objectRef<{ kind: WarehouseKind }>("Warehouse").implement({
  description: "The warehouse holding transactions and the optional customers, events and spend tables.",
  fields: (t) => ({
    kind: t.field({
      type: WarehouseKindEnum,
      description: "Which kind of warehouse is configured.",
      resolve: (w) => w.kind,
    }),
    tables: t.field({
      type: [WarehouseTable],
      description: "The contract tables, required first.",
      resolve: (_w, _args, ctx) => ctx.warehouse.tableStatus(),
    }),
    dataRange: t.field({
      type: DataRangeRef,
      nullable: true,
      description:
        "The first and last day with data (null when the tables are empty); read again at most every five minutes.",
      resolve: (_w, _args, ctx) => ctx.services.lifecycle.dataRange(),
    }),
  }),
});

builder.queryField("defaultDay", (t) =>
  t.field({
    type: "Date",
    description:
      "The day answers without asOf are for: the state store's day while it serves, else today, or the last day with data (warehouse.dataRange) when the data ends before today.",
    resolve: (_root, _args, ctx) => ctx.lifecycle.defaultDay(),
  }),
);

builder.queryField("warehouse", (t) =>
  t.field({
    type: Warehouse,
    description: "The configured warehouse and the state of its input tables.",
    // Every connector is opened from the registry, so its kind is one of the registry's.
    resolve: (_root, _args, ctx) => ({ kind: ctx.warehouse.kind as WarehouseKind }),
  }),
);

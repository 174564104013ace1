// The registry of warehouses: one line per kind, each defined in its connector's file. Everything that
// lists the kinds (CLM_WAREHOUSE's values, GraphQL's WarehouseKind enum, the settings types) is derived
// from it.
import type { Warehouse, WarehouseConnector } from "./connector.ts";
import type { WarehouseMapping } from "../sql/contract.ts";
import { bigqueryWarehouse } from "./bigquery.ts";
import { duckdbWarehouse } from "./duckdb.ts";
import { postgresWarehouse } from "./postgres.ts";

const WAREHOUSES = registry({
  duckdb: duckdbWarehouse,
  postgres: postgresWarehouse,
  bigquery: bigqueryWarehouse,
});

/** Each entry listed under its own kind, so a line naming a kind its warehouse does not have fails tsc. */
function registry<const R extends { readonly [K in keyof R]: Warehouse<never> & { readonly kind: K } }>(r: R): R {
  return r;
}

export type WarehouseKind = keyof typeof WAREHOUSES;

/** The kinds, in the registry's order (the first is the default). */
export const WAREHOUSE_KINDS = Object.keys(WAREHOUSES) as [WarehouseKind, ...WarehouseKind[]];

/** Each kind with what it is, for the GraphQL enum. */
export const WAREHOUSE_DESCRIPTIONS: readonly { readonly kind: WarehouseKind; readonly description: string }[] =
  Object.values(WAREHOUSES);

type SettingsOf<K extends WarehouseKind> = Parameters<(typeof WAREHOUSES)[K]["open"]>[0];

export type WarehouseSettings = { [K in WarehouseKind]: { readonly kind: K } & SettingsOf<K> }[WarehouseKind];

export async function openWarehouse(
  settings: WarehouseSettings,
  mapping: WarehouseMapping,
): Promise<WarehouseConnector> {
  return openKind(settings, mapping);
}

function openKind<K extends WarehouseKind>(
  settings: { readonly kind: K } & SettingsOf<K>,
  mapping: WarehouseMapping,
): Promise<WarehouseConnector> {
  // The entry of the settings' own kind: TypeScript cannot correlate the two through the union.
  const open = WAREHOUSES[settings.kind].open as (
    settings: SettingsOf<K>,
    mapping: WarehouseMapping,
  ) => Promise<WarehouseConnector>;
  return open(settings, mapping);
}

export type { WarehouseConnector } from "./connector.ts";

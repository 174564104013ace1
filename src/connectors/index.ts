// Opens the configured warehouse connector: one opener per kind, each defined in its connector's file.
import type { WarehouseConnector, WarehouseKind } from "./connector.ts";
import type { WarehouseMapping } from "../sql/contract.ts";
import { openBigQuery } from "./bigquery.ts";
import { openDuckDB } from "./duckdb.ts";
import { openPostgres } from "./postgres.ts";

const OPENERS = {
  duckdb: openDuckDB,
  postgres: openPostgres,
  bigquery: openBigQuery,
} satisfies Record<WarehouseKind, unknown>;

type SettingsOf<K extends WarehouseKind> = Parameters<(typeof OPENERS)[K]>[0];

/** The openers typed per kind, so that openKind calls the one its settings name without a cast. */
const OPENER_OF_KIND: {
  readonly [K in WarehouseKind]: (settings: SettingsOf<K>, mapping: WarehouseMapping) => Promise<WarehouseConnector>;
} = OPENERS;

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
  return OPENER_OF_KIND[settings.kind](settings, mapping);
}

export type { WarehouseConnector } from "./connector.ts";

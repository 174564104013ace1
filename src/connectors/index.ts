// Opens the configured warehouse connector.
import type { WarehouseConnector } from "./connector.ts";
import type { WarehouseMapping } from "../sql/contract.ts";
import { BigQueryConnector, type BigQuerySettings } from "./bigquery.ts";
import { DuckDBConnector } from "./duckdb.ts";
import { pgPoolSource, PostgresConnector } from "./postgres.ts";

export type WarehouseSettings =
  | {
      readonly kind: "duckdb";
      readonly path: string | undefined;
      readonly memoryLimit?: string;
      readonly tempDirectory?: string;
      readonly customersPerRange?: number;
    }
  | { readonly kind: "postgres"; readonly url: string; readonly connections?: number }
  | ({ readonly kind: "bigquery" } & BigQuerySettings);

export async function openWarehouse(
  settings: WarehouseSettings,
  mapping: WarehouseMapping,
): Promise<WarehouseConnector> {
  switch (settings.kind) {
    case "duckdb":
      return DuckDBConnector.open(settings.path, mapping, {
        memoryLimit: settings.memoryLimit,
        tempDirectory: settings.tempDirectory,
        customersPerRange: settings.customersPerRange,
      });
    case "postgres":
      return new PostgresConnector(
        pgPoolSource(settings.url, settings.connections ? { max: settings.connections } : {}),
        mapping,
      );
    case "bigquery":
      return new BigQueryConnector(settings, mapping);
  }
}

export type { WarehouseConnector } from "./connector.ts";

// The state store on BigQuery (its SQL evaluated by ZetaSQL, through the real client library): each
// refresh records what its queries would scan, the sum of a dry run of every query it runs, and with the
// writeback on, the state goes back into the dataset as one load job replacing the table whole.
import { afterAll, beforeAll, expect, it } from "vitest";
import type { ContractRow } from "../../src/connectors/connector.ts";
import { asOfCutoff } from "../../src/lifecycle/calendar.ts";
import { defaultStageModel } from "../../src/lifecycle/stage-model.ts";
import { LifecycleService } from "../../src/services/lifecycle/service.ts";
import { StateStore } from "../../src/services/state/state-store.ts";
import { StateTables } from "../../src/services/state/state-tables.ts";
import { openTestAppDatabase, type TestAppDatabase } from "../helpers/databases.ts";
import type { RecordedRequest } from "../helpers/fake-bigquery.ts";
import { describeOnZetaSql, type ZetaSqlWarehouse } from "../helpers/zetasql-warehouse.ts";

const DAY = "2026-06-30";
const CUTOFF = asOfCutoff(DAY, "UTC").getTime();
const DAY_MS = 86_400_000;

/** A query job's text, label and whether it was a dry run (jobs.query and jobs.insert alike). */
function job(request: RecordedRequest): { text: string; label: string; dryRun: boolean } | undefined {
  const body = request.body;
  if (request.method !== "POST" || !body) return undefined;
  if (request.path.endsWith("/queries")) return { text: body.query, label: body.labels?.query, dryRun: !!body.dryRun };
  const query = body.configuration?.query;
  if (!query) return undefined;
  return { text: query.query, label: body.configuration.labels?.query, dryRun: !!body.configuration.dryRun };
}

describeOnZetaSql("the state store on BigQuery", (warehouses) => {
  let warehouse: ZetaSqlWarehouse;
  let appDb: TestAppDatabase;
  beforeAll(async () => {
    warehouse = (await warehouses({ numericAs: "NUMERIC" }).open()) as ZetaSqlWarehouse;
    appDb = await openTestAppDatabase();
    await warehouse.createTables({ replace: true });
    const rows: ContractRow[] = [];
    for (let c = 0; c < 12; c++)
      for (let i = 0; i <= c % 4; i++)
        rows.push([`c${c}`, CUTOFF - (c * 37 + i * 90) * DAY_MS - 1, 10 + c + i, null, null]);
    await warehouse.append("transactions", rows);
  });
  afterAll(async () => {
    await warehouse?.close();
    await appDb?.close();
  });

  it("records the dry-run bytes of every query a refresh runs, and writes the state back with a load job", async () => {
    const lifecycle = await LifecycleService.open(warehouse, defaultStageModel(), "UTC");
    const store = new StateStore(lifecycle, lifecycle.rfm, async () => appDb.sql, "serve", {
      writebackTable: "clm_customer_state",
    });
    const sent = warehouse.bigquery.requests.length;
    const outcome = (await store.refresh({ stateDay: DAY, full: true }))!;

    const jobs = warehouse.bigquery.requests
      .slice(sent)
      .map(job)
      .filter((j) => j !== undefined && j.label?.startsWith("state_"));
    const run = jobs.filter((j) => !j!.dryRun).map((j) => j!.text);
    const dry = jobs.filter((j) => j!.dryRun).map((j) => j!.text);
    expect(run.length).toBeGreaterThanOrEqual(2); // the audit and the activity
    expect(dry.sort()).toEqual([...run].sort());
    // The stand-in endpoint estimates a query's length in bytes.
    const bytes = dry.reduce((n, text) => n + text.length, 0);
    expect(outcome.bytesEstimated).toBe(bytes);
    expect((await new StateTables(appDb.sql).lastRefresh())!.bytesEstimated).toBe(bytes);

    expect(outcome.writeback).toEqual({ table: "clm_customer_state", rows: 12 });
    const load = warehouse.bigquery.loads.at(-1)!;
    expect(load.configuration).toMatchObject({
      destinationTable: { tableId: "clm_customer_state" },
      writeDisposition: "WRITE_TRUNCATE",
    });
    expect(load.configuration.schema.fields.map((f: { name: string }) => f.name)).toEqual(
      store.exportColumns().map((c) => c.name),
    );
    const exported: unknown[][] = [];
    for await (const page of store.exportPages()) exported.push(...page);
    const names = store.exportColumns().map((c) => c.name);
    const loaded = load.data
      .trimEnd()
      .split("\n")
      .map((line) => {
        const record = JSON.parse(line) as Record<string, unknown>;
        return names.map((name) => record[name]);
      });
    expect(loaded).toEqual(exported);
  });
});

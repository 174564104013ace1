// The `clm` commands: their arguments, options and help, and what an outcome means for the exit code
// (exit.ts). Each command's work lives in its own module, loaded only when the command runs, so `--help`
// and usage errors answer at once. src/cli/main.ts runs it as the process.
import { Argument, Command, InvalidArgumentError, Option } from "commander";
import { columnSpec, columnsOf, WAREHOUSE_CONTRACT, type LogicalTable } from "../sql/contract.ts";
import { ROLES, isRole, type Role } from "../auth/api-key.ts";
import { checkLabel, parseExpiry } from "../auth/keys.ts";
import { BREAKDOWNS, MAX_SERIES_PERIODS, METRICS } from "../lifecycle/metrics.ts";
import { CliError, EXIT, firstLine, printLines, UsageError } from "./exit.ts";
import {
  atLeastOne,
  calendarDay,
  delimiter,
  headerMapping,
  IMPORT_TABLES,
  list,
  OUTPUT_FORMATS,
  positiveInt,
  todayUtc,
  type OutputFormat,
} from "./options.ts";

const EXAMPLES = `
Examples:
  $ clm serve                                          # the GraphQL server (what npm start runs)
  $ clm seed --customers 100000 --out shop.duckdb      # demo data into a DuckDB file
  $ clm import transactions orders.csv --db shop.duckdb
  $ clm import customers people.parquet --db shop.duckdb --replace
  $ export CLM_DUCKDB_PATH=shop.duckdb                  # the warehouse the commands below use
  $ clm refresh                                       # the state store, for fast lookups
  $ clm stages --as-of 2026-06-30
  $ clm metrics --from 2026-06-01 --to 2026-06-30 --keys revenue,churn_rate --compare
  $ clm export-segment 2b0c…-uuid --out at-risk.csv
  $ clm keys create --role viewer --label "BI dashboard"

Every command reads the server's environment (CLM_WAREHOUSE, CLM_DUCKDB_PATH, CLM_CONFIG, DATABASE_URL,
CLM_DATA_DIR, …); with none set, the reports run on the embedded demo, as npm start does.
Data goes to stdout, messages and progress bars to stderr (bars only on a terminal).
Exit codes: 0 success, 1 failure (bad data, unreachable warehouse, unknown segment), 2 bad usage.`;

function label(value: string): string {
  const { problems } = checkLabel(value);
  if (problems.length > 0) throw new InvalidArgumentError(problems.join("; "));
  return value;
}

function expiry(value: string): Date {
  try {
    return parseExpiry(value);
  } catch (error) {
    throw new InvalidArgumentError((error as Error).message);
  }
}

function role(value: string): Role {
  if (!isRole(value)) throw new InvalidArgumentError(`must be one of ${ROLES.join(", ")}`);
  return value;
}

const formatOption = () =>
  new Option("--format <format>", "output: an aligned table, CSV or JSON").choices(OUTPUT_FORMATS).default("table");
const quietOption = () => new Option("-q, --quiet", "no progress bar (there is none when stderr is not a terminal)");

export function buildProgram(): Command {
  const program = new Command("clm")
    .description("Customer lifecycle analytics over GraphQL: the server, and its data and reports from a terminal")
    .showHelpAfterError("(add --help for usage)")
    .exitOverride()
    .addHelpText("after", EXAMPLES);

  program
    .command("serve")
    .description("start the GraphQL server (configuration from the environment; see README)")
    .action(async () => (await import("./serve.ts")).serve());

  program
    .command("seed")
    .description("write deterministic demo data (transactions, customers, events, marketing_spend) into a warehouse")
    .addOption(
      new Option("--customers <n>", "people in the demo shop (buyers and leads)").argParser(positiveInt).default(5_000),
    )
    .addOption(
      new Option("--intensity <k>", "purchase intensity: about k times the transactions per buyer (k >= 1)")
        .argParser(atLeastOne)
        .default(1),
    )
    .addOption(
      new Option("--seed <n>", "random seed: the same seed gives the same data").argParser(positiveInt).default(42),
    )
    .addOption(
      new Option("--end-date <day>", "last day of the two-year history")
        .argParser(calendarDay)
        .default(todayUtc(), "today (UTC)"),
    )
    .option("--out <file.duckdb>", "a DuckDB database file to write")
    .option("--postgres-url <url>", "a PostgreSQL database to write instead (tables under the CLM_CONFIG schema)")
    .option("--replace", "drop existing contract tables first", false)
    .addOption(quietOption())
    .addHelpText(
      "after",
      `
A progress bar (customers, rate, eta) shows on stderr when it is a terminal.

Examples:
  $ clm seed --customers 100000 --out shop.duckdb
  $ clm seed --customers 1000000 --intensity 5 --out bench.duckdb --replace
  $ clm seed --customers 5000 --postgres-url postgresql://127.0.0.1/warehouse`,
    )
    .action(async (options) => (await import("./seed.ts")).seed(options));

  program
    .command("import")
    .description("load a CSV or Parquet file into a table of the embedded warehouse (a DuckDB file), all or nothing")
    .addArgument(
      new Argument("<kind>", "the table to load into (spend: marketing_spend)").choices(Object.keys(IMPORT_TABLES)),
    )
    .argument("<file>", "a CSV file with a header line (.csv, .tsv, .txt, also .gz) or a Parquet file (.parquet)")
    .option(
      "--db <file.duckdb>",
      "the DuckDB database file to load into (default: CLM_DUCKDB_PATH); created if missing",
    )
    .option("--replace", "replace the table's rows instead of appending to them")
    .addOption(
      new Option("--format <format>", "the file's format (default: by its extension)").choices(["csv", "parquet"]),
    )
    .addOption(
      new Option(
        "--delimiter <char>",
        'CSV field separator ("tab" for a tab; default ",", ";" with --decimal-comma)',
      ).argParser(delimiter),
    )
    .addOption(
      new Option(
        "--map <column=header>",
        "read a contract column from a header of another name (repeatable)",
      ).argParser(headerMapping),
    )
    .option("--decimal-comma", "CSV numbers are written 1.234,56 (a comma before the decimals)")
    .addOption(
      new Option("--max-errors <n>", "list at most this many problems (all are counted)")
        .argParser(positiveInt)
        .default(20),
    )
    .option("--dry-run", "check the file against the contract and load nothing")
    .addOption(quietOption())
    .addHelpText("after", importHelp)
    .action(async (kind, file, options) => (await import("./import.ts")).importFile(kind, file, options));

  program
    .command("stages")
    .description("customers per lifecycle stage on a day (as the GraphQL stages query counts them)")
    .addOption(
      new Option("--as-of <day>", "the day (YYYY-MM-DD), its end in the configured time zone")
        .argParser(calendarDay)
        .default(undefined, "today"),
    )
    .option("--segment <id>", "only the members of this saved segment")
    .addOption(formatOption())
    .addHelpText(
      "after",
      `
Shares are of everyone known on the day (or of the segment's members). --format csv and json give the
raw counts and shares (0–1) for scripts.

Example:
  $ clm stages --as-of 2026-06-30
     Stages on 2026-06-30: 5000 customers
     stage    |     name     | count | share
  ------------+--------------+-------+-------
   prospect   | Prospect     |  2147 | 42.9%
   new        | New customer |   186 |  3.7%
   …
  (8 rows)`,
    )
    .action(async (options: { asOf?: string; segment?: string; format: OutputFormat }) =>
      (await import("./reports.ts")).stages(options),
    );

  program
    .command("refresh")
    .description("refresh the state store: every customer's state and stage history, into the app database")
    .addOption(
      new Option("--as-of <day>", "the state day (YYYY-MM-DD), its end in the configured time zone")
        .argParser(calendarDay)
        .default(undefined, "today"),
    )
    .option("--full", "rebuild every customer, even when an incremental refresh would do")
    .addOption(quietOption())
    .addHelpText(
      "after",
      `
Reads each customer's activity from the warehouse, works out their stage history and state on the state
day, and publishes it as a new generation: servers answer from it at once (CLM_STATE=serve), and keep
the previous state until it commits; the stage changes it finds go to the outbox (clm events tail,
webhooks). Incremental when a state exists: only customers with new rows since the last state day, or
with rows that came late within CLM_STATE_LATENESS_DAYS (3) of it, and those whose stage changes by
the new day; in full
for the first refresh, a new stage model or mapping, a table that shrank, or every
CLM_STATE_FULL_EVERY_DAYS (7). One refresh runs at a time across every process sharing the
app database; another one under way makes this one exit without refreshing.

Example:
  $ clm refresh --as-of 2026-06-30
  generation 3 (full) for 2026-06-30: 5,000 customers, 61,310 rows read, 4.1 s`,
    )
    .action(async (options: { asOf?: string; full?: boolean; quiet?: boolean }) =>
      (await import("./refresh.ts")).refresh(options),
    );

  program
    .command("export-state")
    .description(
      "every customer's state from the state store as CSV or Parquet: stages, RFM, lifetime value and features on the state day",
    )
    .option("--out <file>", "write to this file (stdout when absent; required for Parquet)")
    .addOption(new Option("--format <format>", "csv or parquet").choices(["csv", "parquet"]).default("csv"))
    .addOption(quietOption())
    .addHelpText(
      "after",
      `
One row per customer known on the state day: customer_id, state_day, stage, furthest_stage,
stage_since, next_change_day, rfm_recency/frequency/monetary, rfm_code, rfm_segment,
probability_alive, expected_purchases, expected_average_spend, predicted_clv, then every feature
column (as GET /segments/:id/members.csv names them), read from one snapshot of the served state.
Parquet has the same columns, typed (text, date, double). Run clm refresh first.

Examples:
  $ clm export-state --out state.csv
  $ clm export-state --format parquet --out state.parquet`,
    )
    .action(async (options: { out?: string; quiet?: boolean; format?: "csv" | "parquet" }) =>
      (await import("./export-state.ts")).exportState(options),
    );

  program
    .command("metrics")
    .description("headline lifecycle metrics over a period (as the GraphQL metrics query computes them)")
    .addOption(
      new Option("--from <day>", "first day of the period")
        .argParser(calendarDay)
        .default(undefined, "29 days before --to"),
    )
    .addOption(new Option("--to <day>", "last day of the period").argParser(calendarDay).default(undefined, "today"))
    .addOption(
      new Option("--keys <keys>", "metrics to show, comma-separated or repeated (default: all)").argParser(list),
    )
    .option("--compare", "also the equally long period just before, with the change")
    .option("--segment <id>", "only the members of this saved segment")
    .addOption(
      new Option(
        "--breakdown <by>",
        "also each metric per group (saved segments: each customer in every one they match)",
      ).choices(BREAKDOWNS),
    )
    .addOption(
      new Option(
        "--interval <interval>",
        "a row per calendar period from --from to --to, a column per metric (default range: 12 periods to --to)",
      ).choices(Object.keys(MAX_SERIES_PERIODS)),
    )
    .addOption(formatOption())
    .option("--json", "same as --format json")
    .addHelpText(
      "after",
      () => `
Metrics (keys): ${METRICS.map((m) => m.key).join(", ")}.
Ratios print as percentages, money with cents; --format csv and json give the raw values.

Example:
  $ clm metrics --from 2026-04-01 --to 2026-06-30 --keys revenue,repeat_purchase_rate --compare
  $ clm metrics --keys revenue,churn_rate --breakdown stage
  $ clm metrics --from 2025-07-01 --to 2026-06-30 --interval month --keys active_customers,revenue`,
    )
    .action(async ({ json, ...options }) => {
      const asked = { ...options, format: json ? "json" : options.format };
      if (asked.interval) await (await import("./metric-series.ts")).metricSeries(asked);
      else await (await import("./reports.ts")).metrics(asked);
    });

  program
    .command("clv-validate")
    .description("holdout validation of the CLV purchase model (as the GraphQL clvValidation query computes it)")
    .addOption(
      new Option("--calibration-end <day>", "last day of the calibration period the model is fitted on")
        .argParser(calendarDay)
        .makeOptionMandatory(),
    )
    .addOption(
      new Option("--holdout-end <day>", "last day of the holdout period, no later than the data's last day")
        .argParser(calendarDay)
        .makeOptionMandatory(),
    )
    .addOption(new Option("--model <model>", "the purchase model").choices(["bgnbd", "pareto-nbd"]).default("bgnbd"))
    .option("--json", "one JSON document (the GraphQL field's names) instead of tables")
    .addHelpText(
      "after",
      `
Fits the purchase model (in weeks) on the buyers whose first purchase is on or before --calibration-end,
predicts each one's purchase days in the holdout (the days after it, to --holdout-end) and sets them
against what they did: totals, mean absolute and root mean squared error per customer, means by
calibration repeat purchases (0 to 6, 7 or more), Gamma-Gamma's expected spend against the actual, and
cumulative repeat purchases per week, actual and expected from the first purchase days.

Example:
  $ clm clv-validate --calibration-end 1997-09-30 --holdout-end 1998-06-30 --model pareto-nbd`,
    )
    .action(async (options) => (await import("./clv-validate.ts")).clvValidate(options));

  program
    .command("export-segment")
    .description("a saved segment's members with their stages and features as CSV (as GET /segments/:id/members.csv)")
    .argument("<id>", "the segment's id")
    .addOption(new Option("--as-of <day>", "membership on this day").argParser(calendarDay).default(undefined, "today"))
    .option("--out <file.csv>", "write to this file (with a progress bar on a terminal) instead of stdout")
    .addOption(quietOption())
    .addHelpText(
      "after",
      `
Examples:
  $ clm export-segment 7f1c2a9e-… > members.csv
  $ clm export-segment 7f1c2a9e-… --as-of 2026-06-30 --out members.csv`,
    )
    .action(async (id: string, options) => (await import("./export-segment.ts")).exportSegment(id, options));

  const events = program.command("events").description("lifecycle events the state refreshes write");
  events
    .command("tail")
    .description("print lifecycle events as the refreshes write them, until Ctrl-C")
    .option("--after <event>", "start after this event (its id or position), events written since first")
    .addOption(
      new Option("--to-stage <key>", "only changes into this stage (repeatable, or comma-separated)").argParser(list),
    )
    .option("--json", "one JSON object per line")
    .addHelpText(
      "after",
      `
Reads the app database the server uses (DATABASE_URL; the embedded one only while no server has it
open). Without --after it prints only events written from now on.

Example:
  $ clm events tail --to-stage at_risk
  2026-06-29	C004211	developing → at_risk	evt_9f1c2a…	#1842`,
    )
    .action(async (options: { after?: string; toStage?: string[]; json?: boolean }) =>
      (await import("./events.ts")).tailEvents(options),
    );

  const keys = program.command("keys").description("API keys: create, list, revoke (in the app database)");
  keys
    .command("create")
    .description("create a key and print it once (only its hash is kept)")
    .addOption(
      new Option("--role <role>", `what the key may do: ${ROLES.join(" | ")}`).argParser(role).makeOptionMandatory(),
    )
    .addOption(new Option("--label <text>", "what the key is for, shown in lists").default("").argParser(label))
    .addOption(
      new Option(
        "--expires <when>",
        "refuse the key after this: a duration (90d, 12h, 2w) or a date (2027-01-01, UTC; or an ISO time with an offset)",
      ).argParser(expiry),
    )
    .action(async (options: { role: Role; label: string; expires?: Date }) =>
      (await import("./keys.ts")).createKey(options),
    );
  keys
    .command("list")
    .description("list keys: id, role, prefix, label, created, state (live, revoked or expired), expires")
    .action(async () => (await import("./keys.ts")).listKeys());
  keys
    .command("revoke <idOrPrefix>")
    .description("revoke a key by id or by its shown prefix; requests with it are refused at once")
    .action(async (idOrPrefix: string) => (await import("./keys.ts")).revokeKey(idOrPrefix));
  return program;
}

/** Each kind's columns, as the contract has them (? = optional). */
function contractHelp(): string {
  return Object.entries(IMPORT_TABLES)
    .map(([kind, table]: [string, LogicalTable]) => {
      const columns = columnsOf(table).map(
        (c) => `${c}${columnSpec(table, c).nullable ? "?" : ""} (${columnSpec(table, c).type})`,
      );
      return `  ${kind.padEnd(13)} ${columns.join(", ")}\n  ${"".padEnd(13)} ${WAREHOUSE_CONTRACT[table].description}`;
    })
    .join("\n");
}

function importHelp(): string {
  return `
Columns are matched by name (case-insensitive) in the CSV header or the Parquet schema; ? marks the
optional ones, other columns are ignored:
${contractHelp()}

A file whose headers differ says which header holds which column, e.g. for cust,when,value:
  --map customer_id=cust --map occurred_at=when --map amount=value

Every value is checked first: required values present, numbers finite, dates YYYY-MM-DD, timestamps
ISO 8601: YYYY-MM-DD[(T| )HH:MM[:SS[.fraction]][Z|±HH:MM|±HHMM|±HH]] (2026-03-02, 2026-03-02 10:15,
2026-03-02T10:15:00+02:00, 2026-03-02T08:15Z); without an offset a time is UTC, with one it is stored
as its UTC instant. Nothing else is read as a date (not 2026-3-2, 20260302 or 02/03/2026).
Numbers are read with a decimal point (12.50, -3, 1e3); --decimal-comma reads 12,50 and 1.234,56
(or 1 234,56: thousands separators in groups of three, so 12.50 is refused, not read as 1250) and
separates fields by ";" unless --delimiter says otherwise (with ",", numbers must be quoted: "12,50").
With any problem nothing is loaded and the problems are listed by line (CSV: the physical line of
the file on which the row starts, 1 = the header, counting line breaks inside quoted fields) or by
row (Parquet: 1 = the first row), e.g.
  clm: orders.csv: line 17: amount "abc" is not a number
Otherwise one transaction appends the rows (or replaces the table's rows with --replace), creating
the table if it is missing. Numbers are stored with the decimals their column keeps: cents in a table
import creates (DECIMAL(18,2)), rounded half away from zero from the digits as written (1.005 is
1.01); the summary counts the values rounded, and the refunds (negative amounts) of transactions,
which are imported as they are, e.g.
  imported 1200 rows … in 0.4s (…); 12 refunds (negative amounts), 3 amounts rounded to cents
A progress bar (rows, rate) shows on stderr when it is a terminal.

Examples:
  $ clm import transactions orders.csv --db shop.duckdb
  $ clm import spend spend.csv --delimiter ';' --replace            # into marketing_spend
  $ clm import transactions export.csv --decimal-comma --map customer_id=kunde --map occurred_at=datum
  $ CLM_DUCKDB_PATH=shop.duckdb clm import events events.parquet --dry-run`;
}

/** What an error means for the exit code, and the lines to say it in. */
function failure(error: unknown): number {
  if (error instanceof UsageError) {
    printLines([error.message, `see: clm ${error.command ? `${error.command} ` : ""}--help`]);
    return EXIT.usage;
  }
  if (error instanceof CliError) {
    printLines(error.lines);
    return EXIT.failure;
  }
  const name = (error as { name?: string } | null)?.name;
  if (name === "ConfigError" || name === "StartupError") {
    printLines(String((error as Error).message).split("\n"));
    return EXIT.failure;
  }
  // Anything else: one line, the stack only when the log level asks for detail.
  printLines([firstLine(error)]);
  if (/^(debug|trace)$/.test(process.env.LOG_LEVEL ?? "")) process.stderr.write(`${(error as Error)?.stack}\n`);
  return EXIT.failure;
}

/**
 * Runs one command line (`argv` as process.argv has it, or the user's words with from "user") and gives
 * its exit code; messages are on stderr. A server (serve) keeps running after it returns 0.
 */
export async function run(argv: readonly string[], from: "node" | "user" = "node"): Promise<number> {
  try {
    await buildProgram().parseAsync(argv, { from });
    return EXIT.ok;
  } catch (error) {
    const e = error as { code?: string; exitCode?: number };
    // Commander has printed its message (or the help) already.
    if (typeof e.code === "string" && e.code.startsWith("commander.")) return e.exitCode === 0 ? EXIT.ok : EXIT.usage;
    return failure(error);
  }
}

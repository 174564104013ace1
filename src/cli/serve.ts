// `clm serve`: the GraphQL server, configured from the environment, until SIGINT or SIGTERM.
import { anonymousAccessRisk, loadEnv, type AppConfig } from "../config/env.ts";
import { listen, openServices } from "../server/boot.ts";
import { createLogger, flushLogs } from "../server/logger.ts";
import { EXIT } from "./exit.ts";

export async function serve(): Promise<void> {
  const config = loadEnv();
  const log = createLogger(config.logLevel);
  const services = await openServices(config, log);
  const running = await listen(services, log).catch(async (error) => {
    await services.close();
    throw error;
  });
  const access = config.allowAnonymous ? "anonymous requests act as an analyst" : "API key required";
  const risk = anonymousAccessRisk(config);
  if (risk) log.warn({ allowAnonymous: true }, `CLM_ALLOW_ANONYMOUS=1: ${risk}`);
  log.info(
    {
      url: `${running.url}/graphql`,
      warehouse: config.warehouse.kind,
      appDatabase: services.appDb.kind,
      access: config.allowAnonymous ? "anonymous" : "api-key",
      graphiql: config.graphiql,
      introspection: config.introspection,
    },
    "listening",
  );
  process.stderr.write(
    `clm: serving ${running.url}/graphql (GraphiQL ${config.graphiql ? "on, in a browser" : "off"}), ` +
      `warehouse ${warehouseLabel(config)}, app database ${services.appDb.kind}, ${access}\n` +
      (risk ? `clm: warning: CLM_ALLOW_ANONYMOUS=1: ${risk}\n` : ""),
  );
  let signals = 0;
  const shutdown = (signal: string) => {
    if (++signals > 1) {
      log.warn({ signal }, "second signal: exiting now");
      process.exit(EXIT.failure);
    }
    log.info({ signal }, "shutting down: finishing in-flight requests");
    // The access log is written asynchronously: its last lines go out before the process ends.
    running.close().then(
      () => flushLogs().then(() => process.exit(EXIT.ok)),
      (err) => {
        log.error({ err }, "shutdown failed");
        void flushLogs().then(() => process.exit(EXIT.failure));
      },
    );
  };
  process.on("SIGINT", shutdown);
  process.on("SIGTERM", shutdown);
}

/** The warehouse as a person would name it: which kind, and whether it is the demo or a file. */
function warehouseLabel(config: AppConfig): string {
  const w = config.warehouse;
  if (w.kind !== "duckdb") return w.kind;
  if (w.path === undefined) return "duckdb (in-memory demo)";
  return `duckdb (${w.path}${w.demo ? ", demo data if empty" : ""})`;
}

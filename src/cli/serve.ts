// `clm serve`: the GraphQL server, configured from the environment, until SIGINT or SIGTERM.
import { loadEnv } from "../config/env.ts";
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
  log.info(
    { url: `${running.url}/graphql`, warehouse: config.warehouse.kind, appDatabase: services.appDb.kind },
    "listening",
  );
  process.stderr.write(
    `clm: serving ${running.url}/graphql (GraphiQL in a browser), warehouse ${config.warehouse.kind}\n`,
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

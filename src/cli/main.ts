// The `clm` command line (bin/clm.js, npm run clm, npm start): runs one command (src/cli/program.ts) and
// exits with its code: 0 success, 1 failure, 2 bad usage. A command that succeeded leaves nothing running
// but a server (serve), so the process ends by itself; a failure ends it at once.
import { run } from "./program.ts";

export { EXIT } from "./exit.ts";

const code = await run(process.argv);
if (code !== 0) {
  // Log lines are written asynchronously (server/logger.ts): the last ones go out before the exit.
  await (await import("../server/logger.ts")).flushLogs();
  process.exit(code);
}

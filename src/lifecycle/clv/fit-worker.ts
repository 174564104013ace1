// The entry of the fit pool's worker threads (src/services/fit-pool.ts): piscina calls the default
// export with each task. Bundled on its own as dist/clm-fit-worker.mjs for the compiled server.
import { fitClvResult } from "./fit.ts";

export default fitClvResult;

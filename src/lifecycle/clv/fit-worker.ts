// The entry of the fit pool's worker threads (src/services/fit-pool.ts): piscina calls the default
// export with each fit, and the named export with each page of buyer predictions. Bundled on its own as
// dist/clm-fit-worker.mjs for the compiled server.
import { fitClvResult } from "./fit.ts";

export { predictBuyers } from "./buyer-predictions.ts";
export default fitClvResult;

// CLV fits in worker threads (piscina), so a fit that takes seconds of CPU never holds the event loop
// that every other request needs. Only the pure maths goes there (src/lifecycle/clv/fit.ts); the
// warehouse query stays on the main thread.
import { createRequire } from "node:module";
import { pathToFileURL } from "node:url";
import type { Worker } from "node:worker_threads";
import { Piscina } from "piscina";
import { defaultFitWorkers } from "../config/defaults.ts";
import type { BuyerPredictionInput, BuyerPredictions } from "../lifecycle/clv/buyer-predictions.ts";
import { fitFromResult, type ClvFitInput, type ClvFitOutput, type ClvFitResult } from "../lifecycle/clv/fit.ts";

/** An idle worker exits after this long (ms), so a server that fits rarely holds no worker's memory. */
const IDLE_WORKER_MS = 30_000;

/**
 * Where the worker's code is. Sources run as .ts (under tsx or vitest) and the worker loads
 * fit-worker.ts through tsx's loader; the compiled server (dist/clm.mjs, plain node) has the worker
 * bundled beside it as dist/clm-fit-worker.mjs (package.json's build script).
 */
export function workerEntry(): { filename: string; execArgv?: string[] } {
  if (!import.meta.url.endsWith(".ts")) return { filename: new URL("./clm-fit-worker.mjs", import.meta.url).href };
  const filename = new URL("../lifecycle/clv/fit-worker.ts", import.meta.url).href;
  // Workers inherit this thread's execArgv: under `tsx` that already imports its loader; under
  // vitest (its own transform, no loader) it has to be added.
  if (process.execArgv.some((arg) => arg.includes("tsx"))) return { filename };
  const tsx = pathToFileURL(createRequire(import.meta.url).resolve("tsx")).href;
  return { filename, execArgv: [...process.execArgv, "--import", tsx] };
}

export class FitPool {
  #pool: Piscina<ClvFitInput | BuyerPredictionInput, ClvFitResult | BuyerPredictions> | undefined;
  /** Fits sent to the workers since start (tests count shared runs by it). */
  tasksStarted = 0;

  constructor(
    readonly workers = defaultFitWorkers(),
    /** The worker's code (tests give another). */
    private readonly entry = workerEntry(),
  ) {
    if (!(Number.isInteger(workers) && workers >= 1)) throw new RangeError(`fit workers must be >= 1, not ${workers}`);
  }

  /**
   * Fits in a worker. An abort takes a queued fit out of the queue, and stops a running one by ending
   * its worker (piscina starts another when needed): nobody waits for it, so its CPU goes back.
   */
  async fit(input: ClvFitInput, signal?: AbortSignal): Promise<ClvFitOutput> {
    this.tasksStarted++;
    return fitFromResult((await this.#run(input, { signal })) as ClvFitResult);
  }

  /** A page of buyers' predictions from a fit (the state store's refresh), in a worker. */
  async predictBuyers(input: BuyerPredictionInput, signal?: AbortSignal): Promise<BuyerPredictions> {
    return (await this.#run(input, { name: "predictBuyers", signal })) as BuyerPredictions;
  }

  /** A task in a worker (the pool opened on the first); a given-up pool's tasks fail with why it was. */
  async #run(task: ClvFitInput | BuyerPredictionInput, options: { name?: string; signal?: AbortSignal }) {
    // Created on the first task: most processes (the CLI, most tests) never fit.
    const pool = (this.#pool ??= this.#open());
    try {
      return await pool.run(task, options);
    } catch (error) {
      throw this.#failures.get(pool) ?? error;
    }
  }

  /** Fits waiting for a worker. */
  get queuedTasks(): number {
    return this.#pool?.queueSize ?? 0;
  }

  /** The worker threads running now. */
  get threads(): readonly Worker[] {
    return this.#pool?.threads ?? [];
  }

  /** Why a pool was given up (its queued fits fail with this rather than piscina's "Terminating worker thread"). */
  readonly #failures = new WeakMap<Piscina, Error>();

  #open(): Piscina<ClvFitInput | BuyerPredictionInput, ClvFitResult | BuyerPredictions> {
    const pool = new Piscina<ClvFitInput | BuyerPredictionInput, ClvFitResult | BuyerPredictions>({
      ...this.entry,
      minThreads: 0,
      maxThreads: this.workers,
      idleTimeout: IDLE_WORKER_MS,
    });
    // A worker that fails outside a task (its code cannot load) would, unheard, end the process, and
    // piscina starts no other, so queued fits would wait for ever: they fail now, the next fit tries
    // a new pool.
    pool.on("error", (error: Error) => {
      this.#failures.set(pool, new Error(`a CLV fit worker failed: ${error.message}`, { cause: error }));
      if (this.#pool === pool) this.#pool = undefined;
      void pool.destroy();
    });
    return pool;
  }

  /** Ends the workers (queued and running fits fail); a later fit starts a new pool. */
  async close(): Promise<void> {
    const pool = this.#pool;
    this.#pool = undefined;
    await pool?.destroy();
  }
}

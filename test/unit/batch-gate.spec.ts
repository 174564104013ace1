// BatchGate (src/services/lifecycle/loaders.ts): shared lookups gather while their batch's query runs,
// are held no longer than the gate's longest hold, and run in the context of the lookup that began them.
import { AsyncLocalStorage } from "node:async_hooks";
import DataLoader from "dataloader";
import { describe, expect, it } from "vitest";
import { BatchGate } from "../../src/services/lifecycle/loaders.ts";

/** A loader behind `gate` whose batches wait for `release()`; records each batch's keys and context. */
function gatedLoader(gate: BatchGate, context?: AsyncLocalStorage<string>) {
  const batches: { keys: string[]; context: string | undefined }[] = [];
  const pending: (() => void)[] = [];
  const loader = new DataLoader<string, string>(
    (keys) =>
      gate.run(async () => {
        batches.push({ keys: [...keys], context: context?.getStore() });
        await new Promise<void>((resolve) => pending.push(resolve));
        return keys.map((k) => k.toUpperCase());
      }),
    { cache: false, batchScheduleFn: gate.schedule },
  );
  const releaseAll = () => pending.splice(0).forEach((resolve) => resolve());
  return { loader, batches, releaseAll };
}

const turn = () => new Promise((resolve) => setImmediate(resolve));
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

describe("BatchGate", () => {
  it("holds the next batch while one runs, gathering every lookup made meanwhile", async () => {
    const { loader, batches, releaseAll } = gatedLoader(new BatchGate(1, 10_000));
    const first = loader.load("a");
    await turn();
    await turn();
    // Lookups in three later turns, while a's batch runs.
    const later = [loader.load("b")];
    await turn();
    later.push(loader.load("c"));
    await turn();
    later.push(loader.load("d"));
    await turn();
    expect(batches.map((b) => b.keys)).toEqual([["a"]]);
    releaseAll();
    expect(await first).toBe("A");
    await turn();
    expect(batches.map((b) => b.keys)).toEqual([["a"], ["b", "c", "d"]]);
    releaseAll();
    expect(await Promise.all(later)).toEqual(["B", "C", "D"]);
  });

  it("without a running batch, dispatches on the next turn", async () => {
    const { loader, batches, releaseAll } = gatedLoader(new BatchGate(2, 10_000));
    const a = loader.load("a");
    await turn();
    await turn();
    const b = loader.load("b");
    await turn();
    await turn();
    // Two may run at once: b did not wait for a.
    expect(batches.map((x) => x.keys)).toEqual([["a"], ["b"]]);
    releaseAll();
    expect(await Promise.all([a, b])).toEqual(["A", "B"]);
  });

  it("holds a batch no longer than its longest hold", async () => {
    const { loader, batches, releaseAll } = gatedLoader(new BatchGate(1, 50));
    const a = loader.load("a");
    await turn();
    await turn();
    const b = loader.load("b");
    await sleep(20);
    expect(batches).toHaveLength(1);
    await sleep(80);
    // a still runs; b went anyway once held 50 ms.
    expect(batches.map((x) => x.keys)).toEqual([["a"], ["b"]]);
    releaseAll();
    expect(await Promise.all([a, b])).toEqual(["A", "B"]);
  });

  it("a held batch runs in the context of the lookup that began it, not of the batch that ended", async () => {
    const requests = new AsyncLocalStorage<string>();
    const { loader, batches, releaseAll } = gatedLoader(new BatchGate(1, 10_000), requests);
    const a = requests.run("request A", () => loader.load("a"));
    await turn();
    await turn();
    const b = requests.run("request B", () => loader.load("b"));
    await turn();
    releaseAll();
    await a;
    await turn();
    releaseAll();
    await b;
    expect(batches.map((x) => x.context)).toEqual(["request A", "request B"]);
  });
});

// Customer ranges are read one ahead (src/services/customer-ranges.ts readAhead; the export, the refresh): every item in
// order, the next range opened while the current one is read, and everything opened closed when the
// reader stops early or a range fails.
import { describe, expect, it } from "vitest";
import { readAhead } from "../../src/services/customer-ranges.ts";

/** A source that records when it is opened, read and closed. */
function source(name: string, items: readonly number[], log: string[], failAt?: number) {
  return () =>
    (async function* () {
      log.push(`open ${name}`);
      try {
        for (const [i, item] of items.entries()) {
          await new Promise((resolve) => setTimeout(resolve, 1));
          if (i === failAt) throw new Error(`${name} failed`);
          yield item;
        }
      } finally {
        log.push(`close ${name}`);
      }
    })();
}

async function collect<T>(items: AsyncIterable<T>): Promise<T[]> {
  const out: T[] = [];
  for await (const item of items) out.push(item);
  return out;
}

describe("readAhead", () => {
  it("gives every item in order, tagged with its source, and opens the next source during the current one", async () => {
    const log: string[] = [];
    const read = await collect(
      readAhead([source("a", [1, 2, 3], log), source("b", [], log), source("c", [4, 5], log)]),
    );
    expect(read).toEqual([
      [0, 1],
      [0, 2],
      [0, 3],
      [2, 4],
      [2, 5],
    ]);
    // b is opened once a's first item is in, before a is read to its end.
    expect(log.indexOf("open b")).toBeLessThan(log.indexOf("close a"));
    expect(log.filter((l) => l.startsWith("open"))).toEqual(["open a", "open b", "open c"]);
    expect(log.filter((l) => l.startsWith("close")).sort()).toEqual(["close a", "close b", "close c"]);
  });

  it("closes the current and the read-ahead source when the reader stops early", async () => {
    const log: string[] = [];
    for await (const [, item] of readAhead([source("a", [1, 2, 3], log), source("b", [4], log)])) {
      if (item === 2) break;
    }
    expect(log).toContain("close a");
    expect(log).toContain("close b");
    expect(log).not.toContain("open c");
  });

  it("a source failing ahead of its turn fails the read in its turn, after the items before it", async () => {
    const log: string[] = [];
    const read: number[] = [];
    const failure = await (async () => {
      for await (const [, item] of readAhead([source("a", [1, 2], log), source("b", [3], log, 0)])) read.push(item);
    })().catch((e: unknown) => e);
    expect(read).toEqual([1, 2]);
    expect((failure as Error).message).toBe("b failed");
    expect(log).toContain("close b");
  });

  it("reads nothing from no sources", async () => {
    expect(await collect(readAhead([]))).toEqual([]);
  });
});

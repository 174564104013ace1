// The embedded app database (PGlite) on a data directory: a server's first start creates the cluster,
// which grows PGlite's WebAssembly memory to ~570 MB for the life of the instance; openAppDatabase opens
// a new cluster again so that a first start holds no more than a later one once the first instance is
// collected. Measured in a child process of its own (external memory is per process), after a full GC.
// And one process at a time on a directory (src/appdb/store-lock.ts).
import { execFile, spawnSync } from "node:child_process";
import { existsSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { pathToFileURL } from "node:url";
import { promisify } from "node:util";
import { afterAll, describe, expect, it } from "vitest";
import { openAppDatabase } from "../../src/appdb/database.ts";

const run = promisify(execFile);
const DATABASE_MODULE = pathToFileURL(join(import.meta.dirname, "../../src/appdb/database.ts")).href;

/** Opens the app database on `dataDir` in a fresh process: its external memory and its API keys. */
async function openInChild(dataDir: string): Promise<{ externalMb: number; keys: number }> {
  const script = `
    const { openAppDatabase } = await import(${JSON.stringify(DATABASE_MODULE)});
    const db = await openAppDatabase({ dataDir: ${JSON.stringify(dataDir)} });
    const keys = await db.prisma.apiKey.count();
    // The first instance's memory is freed when it is collected: a few rounds of GC give it the time a
    // loaded machine needs (one round with 50 ms between measured 380 MB once under CI's load).
    let externalMb = Infinity;
    for (let round = 0; round < 20 && externalMb >= 200; round++) {
      globalThis.gc();
      await new Promise((resolve) => setTimeout(resolve, 100));
      externalMb = process.memoryUsage().external / 1048576;
    }
    await db.close();
    console.log(JSON.stringify({ externalMb, keys }));`;
  const { stdout } = await run(
    process.execPath,
    ["--expose-gc", "--import", "tsx", "--input-type=module", "-e", script],
    {
      timeout: 60_000,
    },
  );
  return JSON.parse(stdout.trim().split("\n").pop()!);
}

describe("the embedded app database on a data directory", () => {
  const dir = mkdtempSync(join(tmpdir(), "clm-appdb-"));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it("holds no more memory after creating its cluster than when reopening it", async () => {
    const first = await openInChild(join(dir, "data"));
    const again = await openInChild(join(dir, "data"));
    expect(first.keys).toBe(0);
    expect(again.keys).toBe(0);
    // PGlite's WebAssembly memory starts at 128 MB; without the reopen the first start held ~570 MB.
    expect(first.externalMb).toBeLessThan(300);
    expect(again.externalMb).toBeLessThan(300);
  }, 120_000);

  it("serves one process at a time, and takes over a lock its holder left when killed", async () => {
    const dataDir = join(dir, "locked");
    const db = await openAppDatabase({ dataDir });
    try {
      // A second opener (a CLI command while a server holds the store) is refused, naming the holder.
      await expect(openAppDatabase({ dataDir })).rejects.toThrow(
        new RegExp(`app database .*locked/appdb is in use by process ${process.pid} \\(this one\\)`),
      );
      await expect(openInChild(dataDir)).rejects.toThrow(`is in use by process ${process.pid}`);
    } finally {
      await db.close();
    }
    // Released on close: the next process opens it.
    expect((await openInChild(dataDir)).keys).toBe(0);
    // A holder that is gone (its lock file left behind by a kill) does not keep the store locked.
    const lock = join(dataDir, "appdb", "clm.lock");
    const dead = spawnSync(process.execPath, ["-e", ""]).pid!;
    writeFileSync(lock, String(dead));
    expect((await openInChild(dataDir)).keys).toBe(0);
    expect(existsSync(lock)).toBe(false);
    // Nor does one naming this very process that it did not take (a container restarted on its volume,
    // given the same pid as the process that was killed).
    writeFileSync(lock, String(process.pid));
    const again = await openAppDatabase({ dataDir });
    await again.close();
    expect(existsSync(lock)).toBe(false);
  }, 120_000);
});

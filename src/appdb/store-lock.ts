// One process at a time on an embedded app database directory. PGlite is PostgreSQL in one process
// without a postmaster: a second process opening the same directory (`clm keys create` while `npm start`
// serves it) works on its own copy, so the key it creates is never seen by the server, and the two
// write the same files. The lock is a file naming the holder's process id, put in place whole (written
// aside, then linked, which fails if one is there); one left by a process that is gone is taken over.
import { linkSync, readFileSync, unlinkSync, writeFileSync } from "node:fs";

export class StoreInUseError extends Error {
  override name = "StoreInUseError";
}

/** The lock files this process holds: a file naming this pid that is not among them was left by an earlier process of the same id (a container restarted on its volume). */
const held = new Set<string>();

/** Whether a process with this id runs (signal 0 checks without sending anything). */
function running(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    // EPERM: it runs, under another user.
    return (error as NodeJS.ErrnoException).code === "EPERM";
  }
}

/** Whether the lock file at `path` belongs to a live holder other than a predecessor of this process. */
function holderOf(path: string): number | null {
  let text: string;
  try {
    text = readFileSync(path, "utf8");
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === "ENOENT") return null;
    throw error;
  }
  const pid = Number.parseInt(text, 10);
  if (!Number.isInteger(pid) || pid <= 0) return null;
  if (pid === process.pid) return held.has(path) ? pid : null;
  return running(pid) ? pid : null;
}

/**
 * Takes the lock file `path` for this process, or throws StoreInUseError naming the process that holds
 * it; `what` names the store in that message. Returns the release, which is also run at exit.
 */
export function lockStore(path: string, what: string): () => void {
  const aside = `${path}.${process.pid}`;
  writeFileSync(aside, String(process.pid));
  try {
    for (let attempt = 0; attempt < 3; attempt++) {
      try {
        linkSync(aside, path);
      } catch (error) {
        if ((error as NodeJS.ErrnoException).code !== "EEXIST") throw error;
        const holder = holderOf(path);
        if (holder !== null) {
          throw new StoreInUseError(
            `${what} is in use by process ${holder}${holder === process.pid ? " (this one)" : ""}: ` +
              "an embedded store serves one process at a time; stop the other (a server?) first, " +
              "or give both a PostgreSQL app database (DATABASE_URL)",
          );
        }
        // Left by a process that is gone: taken over (linked again on the next attempt).
        try {
          unlinkSync(path);
        } catch {
          // Another opener took it over first; the next link tells.
        }
        continue;
      }
      held.add(path);
      const release = () => {
        if (!held.delete(path)) return;
        process.off("exit", release);
        try {
          unlinkSync(path);
        } catch {
          // Already gone.
        }
      };
      process.on("exit", release);
      return release;
    }
    throw new StoreInUseError(`${what}: its lock file ${path} could not be taken`);
  } finally {
    unlinkSync(aside);
  }
}

// One process at a time on an embedded app database directory. PGlite is PostgreSQL in one process
// without a postmaster: a second process opening the same directory (`clm keys create` while `npm start`
// serves it) works on its own copy, so the key it creates is never seen by the server, and the two
// write the same files. The lock is a file naming the holder's process id, taken with O_EXCL; one left
// by a process that is gone (killed) is taken over.
import { closeSync, openSync, readFileSync, unlinkSync, writeSync } from "node:fs";

export class StoreInUseError extends Error {
  override name = "StoreInUseError";
}

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

/**
 * Takes the lock file `path` for this process, or throws StoreInUseError naming the process that holds
 * it; `what` names the store in that message. Returns the release, which is also run at exit.
 */
export function lockStore(path: string, what: string): () => void {
  for (let attempt = 0; attempt < 2; attempt++) {
    let fd: number;
    try {
      fd = openSync(path, "wx");
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== "EEXIST") throw error;
      const holder = Number.parseInt(readFileSync(path, "utf8"), 10);
      if (Number.isInteger(holder) && holder > 0 && running(holder)) {
        throw new StoreInUseError(
          `${what} is in use by process ${holder}${holder === process.pid ? " (this one)" : ""}: ` +
            "an embedded store serves one process at a time; stop the other (a server?) first, " +
            "or give both a PostgreSQL app database (DATABASE_URL)",
        );
      }
      // Left by a process that is gone: taken over (the next attempt creates it again).
      unlinkSync(path);
      continue;
    }
    writeSync(fd, String(process.pid));
    closeSync(fd);
    let held = true;
    const release = () => {
      if (!held) return;
      held = false;
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
}

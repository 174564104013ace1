// Writing a command's output: to stdout or to a file opened before the work starts, with back-pressure.
import { createWriteStream, openSync } from "node:fs";
import type { Writable } from "node:stream";
import { CliError, firstLine } from "./exit.ts";

/** Writes with back-pressure: waits for the stream to drain when its buffer is full. */
export function write(stream: Writable, data: string | Uint8Array): Promise<void> {
  if (stream.write(data)) return Promise.resolve();
  return new Promise((resolve, reject) => {
    const settle = (error?: Error) => {
      stream.off("drain", onDrain);
      stream.off("error", onError);
      stream.off("close", onClose);
      if (error) reject(error);
      else resolve();
    };
    const onDrain = () => settle();
    const onError = (error: Error) => settle(error);
    const onClose = () => settle(Object.assign(new Error("the output was closed"), { code: "EPIPE" }));
    stream.on("drain", onDrain);
    stream.on("error", onError);
    stream.on("close", onClose);
  });
}

/** Opens the file now, so a directory that does not exist or cannot be written fails before the export runs. */
export function openOutput(path: string, shownAs: string): Writable {
  try {
    return createWriteStream(path, { fd: openSync(path, "w") });
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    throw new CliError(
      `cannot write ${shownAs}: ${code === "ENOENT" ? "no such directory" : (code ?? firstLine(error))}`,
    );
  }
}

// The server's log (src/server/logger.ts) is written asynchronously, a few KB at a time: no line may be
// lost however the process ends (process.exit, an uncaught error, flushLogs before a shutdown), and a
// quiet process' lines still go out promptly.
import { spawn } from "node:child_process";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";

const LOGGER = fileURLToPath(new URL("../../src/server/logger.ts", import.meta.url));

/** Runs a script with the logger in a child process; its stderr lines and exit code. */
function run(body: string): Promise<{ code: number | null; lines: string[]; stdout: string }> {
  const script = `import { createLogger, flushLogs } from ${JSON.stringify(LOGGER)};\nconst log = createLogger("info");\n${body}`;
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ["--import", "tsx", "--input-type=module", "-e", script], {
      stdio: ["ignore", "pipe", "pipe"],
    });
    let stderr = "";
    let stdout = "";
    child.stderr.on("data", (d) => (stderr += d));
    child.stdout.on("data", (d) => (stdout += d));
    child.on("error", reject);
    child.on("exit", (code) => resolve({ code, lines: stderr.split("\n").filter((l) => l.startsWith("{")), stdout }));
  });
}

const LOG_MANY = `for (let i = 0; i < 20000; i++) log.info({ i }, "line");`;

function numbered(lines: string[]): number[] {
  return lines
    .map((l) => JSON.parse(l) as { msg: string; i?: number })
    .flatMap((l) => (l.msg === "line" ? [l.i!] : []));
}

describe("the asynchronous log", () => {
  it("keeps every line, in order, when the process exits with process.exit", async () => {
    const { code, lines } = await run(`${LOG_MANY}\nprocess.exit(3);`);
    expect(code).toBe(3);
    expect(numbered(lines)).toEqual(Array.from({ length: 20000 }, (_, i) => i));
  });

  it("keeps every line when the process dies of an uncaught error", async () => {
    const { code, lines } = await run(`${LOG_MANY}\nthrow new Error("boom");`);
    expect(code).toBe(1);
    expect(numbered(lines)).toHaveLength(20000);
  });

  it("has written every line when flushLogs resolves", async () => {
    const { lines, stdout } = await run(
      `${LOG_MANY}\nawait flushLogs();\nprocess.stdout.write("flushed\\n");\nsetTimeout(() => process.exit(0), 100);`,
    );
    expect(stdout).toBe("flushed\n");
    expect(numbered(lines)).toHaveLength(20000);
  });

  it("writes a quiet process' line within a fraction of a second", async () => {
    // The line is logged, then the process waits 500 ms and is killed outright (no exit hook runs):
    // only a periodic write can have put it out.
    const { lines } = await run(`log.info("alone");\nsetTimeout(() => process.kill(process.pid, "SIGKILL"), 500);`);
    expect(lines.map((l) => JSON.parse(l).msg)).toEqual(["alone"]);
  });
});

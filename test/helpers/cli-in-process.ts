// Runs one `clm` command line in this process (src/cli/program.ts `run`), its output captured: fast
// enough for usage, help and exit-code checks of every command (a child process costs a second each).
import { vi } from "vitest";
import { run } from "../../src/cli/program.ts";

export async function runClmInProcess(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  let stdout = "";
  let stderr = "";
  const out = vi.spyOn(process.stdout, "write").mockImplementation((chunk) => ((stdout += String(chunk)), true));
  const err = vi.spyOn(process.stderr, "write").mockImplementation((chunk) => ((stderr += String(chunk)), true));
  try {
    const code = await run(args, "user");
    return { code, stdout, stderr };
  } finally {
    out.mockRestore();
    err.mockRestore();
  }
}

// `clm events tail` as a user runs it: after two refreshes of a seeded shop (the first the baseline),
// it prints the stage changes the second wrote, from the start with --after 0, as lines or JSON, only
// those into a stage with --to-stage, and stops cleanly on Ctrl-C (SIGINT).
import { spawn } from "node:child_process";
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { beforeAll, describe, expect, it } from "vitest";
import { CLM_BIN, cleanEnv, runClm } from "../helpers/process.ts";

const dir = mkdtempSync(join(tmpdir(), "clm-events-"));
const env = { CLM_DUCKDB_PATH: join(dir, "shop.duckdb"), CLM_DATA_DIR: dir };

/** Runs `clm events tail` until it printed `lines` lines, then sends SIGINT; its output and exit code. */
function tail(args: string[], lines: number): Promise<{ out: string[]; code: number | null }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [CLM_BIN, "events", "tail", ...args], {
      env: cleanEnv(env),
      stdio: ["ignore", "pipe", "pipe"],
    });
    let stdout = "";
    let stderr = "";
    let interrupted = false;
    const timer = setTimeout(() => {
      child.kill("SIGKILL");
      reject(new Error(`clm events tail printed ${stdout.split("\n").length - 1} of ${lines} lines; ${stderr}`));
    }, 60_000);
    child.stdout.on("data", (d) => {
      stdout += d;
      if (!interrupted && stdout.split("\n").length - 1 >= lines) {
        interrupted = true;
        // A moment for anything past the expected lines to show.
        setTimeout(() => child.kill("SIGINT"), 300);
      }
    });
    child.stderr.on("data", (d) => (stderr += d));
    child.on("exit", (code) => {
      clearTimeout(timer);
      resolve({ out: stdout.trimEnd().split("\n"), code });
    });
  });
}

describe("clm events tail", () => {
  let written = 0;
  beforeAll(async () => {
    const seeded = await runClm(
      ["seed", "--customers", "800", "--end-date", "2026-06-30", "--out", env.CLM_DUCKDB_PATH, "-q"],
      {},
    );
    expect(seeded.code, seeded.stderr).toBe(0);
    const baseline = await runClm(["refresh", "--as-of", "2026-05-31", "-q"], env);
    expect(baseline.stdout).not.toContain("stage changes");
    const later = await runClm(["refresh", "--as-of", "2026-06-30", "-q"], env);
    expect(later.code, later.stderr).toBe(0);
    written = Number(/([\d,]+) stage changes to the outbox/.exec(later.stdout)![1]!.replaceAll(",", ""));
    expect(written).toBeGreaterThan(0);
  }, 180_000);

  it("prints the changes from the start, as JSON, and exits on Ctrl-C", { timeout: 90_000 }, async () => {
    const json = await tail(["--after", "0", "--json"], written);
    expect(json.code).toBe(0);
    expect(json.out).toHaveLength(written);
    const events = json.out.map((l) => JSON.parse(l));
    for (const e of events) {
      expect(e).toMatchObject({ type: "stage.changed", generation: 2 });
      expect(e.day > "2026-05-28" && e.day <= "2026-06-30").toBe(true);
      expect(e.toStage).not.toBe(e.fromStage);
    }
    // As lines, after the first event by id: the rest.
    const lines = await tail(["--after", events[0].id], written - 1);
    expect(lines.out).toHaveLength(written - 1);
    expect(lines.out[0]).toBe(
      `${events[1].day}\t${events[1].customerId}\t${events[1].fromStage ?? "(new)"} → ${events[1].toStage}\t${events[1].id}\t#${events[1].position}`,
    );
    // Only the changes into one stage.
    const stage = events[0].toStage;
    const into = events.filter((e) => e.toStage === stage);
    const filtered = await tail(["--after", "0", "--json", "--to-stage", stage], into.length);
    expect(filtered.out.map((l) => JSON.parse(l).id)).toEqual(into.map((e) => e.id));
  });

  it("names an unknown event to start after", async () => {
    const unknown = await runClm(["events", "tail", "--after", "evt_nope"], env);
    expect(unknown.code).toBe(1);
    expect(unknown.stderr).toContain('no event "evt_nope"');
  });
});

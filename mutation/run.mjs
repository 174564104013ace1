// `npm run mutation [-- <group> … --concurrency 2]`: runs Stryker once per group of mutation/groups.mjs (all by
// default; other flags pass through to Stryker), then joins every group's latest report into one:
// reports/mutation/mutation.json and mutation.html, and prints the score per folder and file.
// `npm run mutation -- --joined` only joins and prints the reports already there.
import { spawnSync } from "node:child_process";
import { existsSync, readFileSync, writeFileSync } from "node:fs";
import { createRequire } from "node:module";
import { calculateMetrics } from "mutation-testing-metrics";
import { GROUPS } from "./groups.mjs";

const joinOnly = process.argv.includes("--joined");
const args = process.argv.slice(2).filter((a) => a !== "--joined");
const names = args.filter((a, i) => !a.startsWith("--") && !args[i - 1]?.startsWith("--"));
const strykerFlags = args.filter((a) => !names.includes(a));
for (const name of names) if (!GROUPS[name]) throw new Error(`no group ${name} (${Object.keys(GROUPS).join(", ")})`);

for (const name of joinOnly ? [] : names.length > 0 ? names : Object.keys(GROUPS)) {
  console.log(`\n=== mutation group ${name}`);
  const run = spawnSync("npx", ["stryker", "run", ...strykerFlags], {
    stdio: "inherit",
    env: { ...process.env, MUTATION_GROUP: name },
  });
  if (run.status !== 0) process.exit(run.status ?? 1);
}

// One report from the groups' latest runs (a group not run yet is left out, and named).
const reports = Object.keys(GROUPS).map((name) => ({ name, path: `reports/mutation/${name}.json` }));
const missing = reports.filter((r) => !existsSync(r.path)).map((r) => r.name);
const parts = reports.filter((r) => existsSync(r.path)).map((r) => JSON.parse(readFileSync(r.path, "utf8")));
if (parts.length === 0) process.exit(0);
const joined = {
  ...parts[0],
  files: Object.assign({}, ...parts.map((p) => p.files)),
  testFiles: Object.assign({}, ...parts.map((p) => p.testFiles ?? {})),
};
writeFileSync("reports/mutation/mutation.json", JSON.stringify(joined));
const elements = readFileSync(
  createRequire(import.meta.url).resolve("mutation-testing-elements/dist/mutation-test-elements.js"),
  "utf8",
);
writeFileSync(
  "reports/mutation/mutation.html",
  `<!DOCTYPE html><html><head><meta charset="utf-8"><script>${elements}</script></head><body>
<mutation-test-report-app titlePostfix="CLM core"></mutation-test-report-app>
<script>document.querySelector("mutation-test-report-app").report = ${JSON.stringify(joined).replace(/</g, '<"+"')};</script>
</body></html>`,
);

// Score = detected / (detected + survived + no coverage); ignored (static) mutants count in neither.
const rows = [];
const walk = (result, depth) => {
  const m = result.metrics;
  rows.push([
    `${"  ".repeat(depth)}${result.name}`,
    Number.isNaN(m.mutationScore) ? "n/a" : m.mutationScore.toFixed(1),
    m.killed,
    m.timeout,
    m.survived,
    m.noCoverage,
    m.ignored,
  ]);
  for (const child of result.childResults) if (!child.file || depth < 3) walk(child, depth + 1);
};
walk(calculateMetrics(joined.files), 0);
const header = ["", "score %", "killed", "timeout", "survived", "no cov", "ignored"];
const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => String(r[i]).length)));
for (const row of [header, ...rows])
  console.log(row.map((c, i) => String(c)[i === 0 ? "padEnd" : "padStart"](widths[i])).join("  "));
if (missing.length > 0) console.log(`not run yet: ${missing.join(", ")}`);
console.log("reports/mutation/mutation.html");

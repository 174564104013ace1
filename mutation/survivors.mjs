// `node mutation/survivors.mjs . sql rules …`: the surviving and uncovered mutants of the groups' latest
// reports (reports/mutation/<group>.json under the directory given), one line each with the line they
// change, and the counts and score per file, per group and in all: what mutation/survivors.md is written from.
import { readFileSync } from "node:fs";
const dir = process.argv[2];
const groups = process.argv.slice(3);
const total = { Killed: 0, Timeout: 0, Survived: 0, NoCoverage: 0, Ignored: 0, other: 0 };
for (const g of groups) {
  const report = JSON.parse(readFileSync(`${dir}/reports/mutation/${g}.json`, "utf8"));
  const gt = { Killed: 0, Timeout: 0, Survived: 0, NoCoverage: 0, Ignored: 0, other: 0 };
  for (const [path, file] of Object.entries(report.files)) {
    const lines = file.source.split("\n");
    const per = { Killed: 0, Timeout: 0, Survived: 0, NoCoverage: 0, Ignored: 0, other: 0 };
    const out = [];
    for (const m of file.mutants) {
      const k = m.status in per ? m.status : "other";
      per[k]++;
      gt[k]++;
      total[k]++;
      if (m.status === "Survived" || m.status === "NoCoverage") {
        const { line, column } = m.location.start;
        out.push(
          `- ${line}:${column} ${m.mutatorName}${m.status === "NoCoverage" ? " (no coverage)" : ""} → \`${(m.replacement ?? "").slice(0, 70).replace(/\n/g, " ")}\` in \`${lines[line - 1].trim().slice(0, 90)}\``,
        );
      }
    }
    const score = (100 * (per.Killed + per.Timeout)) / (per.Killed + per.Timeout + per.Survived + per.NoCoverage);
    console.log(
      `### ${path} (${g}): ${score.toFixed(1)}% k${per.Killed} t${per.Timeout} s${per.Survived} nc${per.NoCoverage} ign${per.Ignored}${per.other ? " other" + per.other : ""}`,
    );
    for (const l of out) console.log(l);
  }
  const s = (100 * (gt.Killed + gt.Timeout)) / (gt.Killed + gt.Timeout + gt.Survived + gt.NoCoverage);
  console.log(`## group ${g}: ${s.toFixed(2)}% ${JSON.stringify(gt)}\n`);
}
const s = (100 * (total.Killed + total.Timeout)) / (total.Killed + total.Timeout + total.Survived + total.NoCoverage);
console.log(`## all: ${s.toFixed(2)}% ${JSON.stringify(total)}`);

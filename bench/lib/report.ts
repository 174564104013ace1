// The benchmark report: figures (min / median / max over repeats), each with its baseline measured in
// the same run, the paired ratio, the target and PASS / MISS; written as Markdown and as JSON.
import { writeFileSync } from "node:fs";
import { fmt, summarize, type Summary } from "./stats.ts";

export interface Target {
  /** What the target says, e.g. "≤ 1.2× hand-written SQL". */
  readonly text: string;
  /** Judged on the median; null when it could not be judged (no data). */
  readonly met: boolean | null;
}

export interface Figure {
  readonly name: string;
  readonly unit: string;
  readonly value: Summary;
  readonly baseline?: { readonly name: string; readonly value: Summary };
  /** value / baseline, paired per repeat. */
  readonly ratio?: Summary;
  readonly target?: Target;
  readonly note?: string;
}

export interface Section {
  readonly id: string;
  readonly title: string;
  readonly figures: Figure[];
  /** Free-form lines: what was compared, how, and what a miss is caused by. */
  readonly notes: string[];
  /** Extra tables (e.g. estimated vs true parameters). */
  readonly tables: { title: string; rows: string[][] }[];
  /** Anything else worth keeping in the JSON. */
  readonly data: Record<string, unknown>;
  seconds?: number;
  error?: string;
}

export function targetAtMost(value: number, limit: number, text: string): Target {
  return { text, met: Number.isFinite(value) ? value <= limit : null };
}

export function targetAtLeast(value: number, limit: number, text: string): Target {
  return { text, met: Number.isFinite(value) ? value >= limit : null };
}

export class Report {
  readonly sections: Section[] = [];

  constructor(readonly header: Record<string, unknown>) {}

  section(id: string, title: string): Section {
    const s: Section = { id, title, figures: [], notes: [], tables: [], data: {} };
    this.sections.push(s);
    return s;
  }

  targets(): { section: string; figure: Figure }[] {
    return this.sections.flatMap((s) => s.figures.filter((f) => f.target).map((figure) => ({ section: s.id, figure })));
  }

  toJson(): unknown {
    return { ...this.header, sections: this.sections };
  }

  toMarkdown(): string {
    const h = this.header as Record<string, any>;
    const out: string[] = [];
    out.push(`# Benchmark results — ${h.runKind}`, "");
    out.push(
      `Written by \`npm run bench${h.argv ? ` -- ${h.argv}` : ""}\` (bench/bench.ts) on ${h.finishedAt}; the run took ${fmt(h.totalSeconds / 60, 1)} min.`,
    );
    if (h.otherRun) out.push("", h.otherRun);
    out.push("", "## Machine", "");
    for (const [k, v] of Object.entries(h.machine as Record<string, unknown>)) out.push(`- ${k}: ${String(v)}`);
    out.push("", "## Sizes", "");
    for (const [k, v] of Object.entries(h.sizes as Record<string, unknown>)) out.push(`- ${k}: ${String(v)}`);
    out.push(
      "",
      "## Targets",
      "",
      "Each figure is judged on its median over the repeats; ratios are paired per repeat (the two sides ran back to back, in rotating order).",
      "",
      "| # | Figure | Median | Ratio (median) | Target | Verdict |",
      "|---|---|---|---|---|---|",
    );
    for (const { section, figure } of this.targets()) {
      const verdict = figure.target!.met === null ? "n/a" : figure.target!.met ? "**PASS**" : "**MISS**";
      out.push(
        `| ${section} | ${figure.name} | ${show(figure.value.median, figure.unit)} | ${figure.ratio ? `${fmt(figure.ratio.median, 2)}×` : "—"} | ${figure.target!.text} | ${verdict} |`,
      );
    }
    for (const s of this.sections) {
      out.push("", `## ${s.id}. ${s.title}`, "");
      if (s.error) out.push(`**Failed:** ${s.error}`, "");
      if (s.figures.length > 0) {
        out.push(
          "| Figure | min | median | max | n | Baseline (median) | Ratio min / median / max | Target | Verdict |",
          "|---|---|---|---|---|---|---|---|---|",
        );
        for (const f of s.figures) {
          const base = f.baseline ? `${f.baseline.name}: ${show(f.baseline.value.median, f.unit)}` : "—";
          const ratio = f.ratio ? `${fmt(f.ratio.min, 2)} / ${fmt(f.ratio.median, 2)} / ${fmt(f.ratio.max, 2)}` : "—";
          const verdict = !f.target ? "" : f.target.met === null ? "n/a" : f.target.met ? "PASS" : "MISS";
          out.push(
            `| ${f.name}${f.note ? ` (${f.note})` : ""} | ${show(f.value.min, f.unit)} | ${show(f.value.median, f.unit)} | ${show(f.value.max, f.unit)} | ${f.value.n} | ${base} | ${ratio} | ${f.target?.text ?? ""} | ${verdict} |`,
          );
        }
        out.push("");
      }
      for (const t of s.tables) {
        out.push(`${t.title}:`, "");
        out.push(`| ${t.rows[0]!.join(" | ")} |`, `|${t.rows[0]!.map(() => "---").join("|")}|`);
        for (const row of t.rows.slice(1)) out.push(`| ${row.join(" | ")} |`);
        out.push("");
      }
      for (const note of s.notes) out.push(`- ${note}`);
      if (s.seconds !== undefined) out.push("", `(section time ${fmt(s.seconds, 0)} s)`);
    }
    out.push("");
    return out.join("\n");
  }

  write(mdPath: string, jsonPath: string): void {
    writeFileSync(mdPath, this.toMarkdown());
    writeFileSync(jsonPath, `${JSON.stringify(this.toJson(), null, 2)}\n`);
  }
}

/** A value with its unit, at a sensible precision. */
export function show(x: number, unit: string): string {
  if (!Number.isFinite(x)) return "n/a";
  switch (unit) {
    case "ms":
      return x >= 1000 ? `${fmt(x / 1000, 2)} s` : `${fmt(x, x >= 100 ? 0 : 1)} ms`;
    case "×":
      return `${fmt(x, 2)}×`;
    case "MB":
      return `${fmt(x, 0)} MB`;
    case "req/s":
    case "customers/s":
    case "rows/s":
      return `${Math.round(x).toLocaleString("en-US")} ${unit}`;
    case "queries":
      return `${fmt(x, x < 10 ? 1 : 0)}`;
    default:
      return `${fmt(x, 3)} ${unit}`;
  }
}

/** A figure from raw values, with an optional paired baseline (ratio = value / baseline per pair). */
export function figure(
  name: string,
  unit: string,
  values: readonly number[],
  options: {
    baseline?: { name: string; values: readonly number[] };
    ratio?: readonly number[];
    target?: (value: Summary, ratio: Summary | undefined) => Target;
    note?: string;
  } = {},
): Figure {
  const value = summarize(values);
  const baseline = options.baseline
    ? { name: options.baseline.name, value: summarize(options.baseline.values) }
    : undefined;
  const ratio = options.ratio
    ? summarize(options.ratio)
    : options.baseline
      ? summarize(values.map((v, i) => v / options.baseline!.values[i]!))
      : undefined;
  return { name, unit, value, baseline, ratio, target: options.target?.(value, ratio), note: options.note };
}

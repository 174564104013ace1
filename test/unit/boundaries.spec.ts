// The layers of src/ (.dependency-cruiser.cjs says which, bottom to top): no module imports a layer
// above its own or a sibling, and no import goes round in a circle. A failure lists every offending
// import with the rule it breaks.
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { cruise, type ICruiseResult, type IViolation } from "dependency-cruiser";
import extractDepcruiseOptions from "dependency-cruiser/config-utl/extract-depcruise-options";
import extractTSConfig from "dependency-cruiser/config-utl/extract-ts-config";
import { beforeAll, describe, expect, it } from "vitest";

const ROOT = fileURLToPath(new URL("../..", import.meta.url));

/** One line per violation: the rule, the import (or the circle) and what the rule allows. */
function readable(violation: IViolation, comments: ReadonlyMap<string, string>): string {
  const { name } = violation.rule;
  const path = violation.cycle?.length
    ? [violation.from, ...violation.cycle.map((step) => step.name)].join(" → ")
    : `${violation.from} → ${violation.to}`;
  return `${name}: ${path}${comments.has(name) ? ` (${comments.get(name)})` : ""}`;
}

describe("module boundaries", () => {
  let result: ICruiseResult;

  beforeAll(async () => {
    const options = await extractDepcruiseOptions(join(ROOT, ".dependency-cruiser.cjs"));
    const tsConfig = extractTSConfig(join(ROOT, "tsconfig.json"));
    const cruised = await cruise(["src"], { ...options, baseDir: ROOT }, {}, { tsConfig });
    result = cruised.output as ICruiseResult;
  }, 120_000);

  it("checks every layer it names: each one's path matches modules of src/", () => {
    const sources = result.modules.map((module) => module.source);
    const layerRules = (result.summary.ruleSetUsed?.forbidden ?? []).filter((rule) => rule.name?.startsWith("layer-"));
    expect(layerRules.length).toBeGreaterThan(10);
    const empty = layerRules
      .filter((rule) => !sources.some((source) => new RegExp(String(rule.from.path)).test(source)))
      .map((rule) => rule.name);
    expect(empty).toEqual([]);
  });

  it("finds no layer importing one above it, and no circular import", () => {
    const comments = new Map(
      (result.summary.ruleSetUsed?.forbidden ?? []).map((rule) => [rule.name ?? "", rule.comment ?? ""]),
    );
    const violations = result.summary.violations.map((violation) => readable(violation, comments));
    expect(violations, `${violations.length} boundary violations:\n${violations.join("\n")}`).toEqual([]);
  });
});

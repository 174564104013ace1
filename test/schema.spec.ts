// The printed SDL and the typed operations are committed; these tests fail when either is stale.
import { readFileSync } from "node:fs";
import { generate } from "@graphql-codegen/cli";
import { describe, expect, it } from "vitest";
import codegenConfig from "../codegen.ts";
import { isEnumType, isInputObjectType, isInterfaceType, isObjectType, isSpecifiedScalarType } from "graphql";
import { schema } from "../src/schema/index.ts";
import { printedSchema, SCHEMA_FILE } from "../src/schema/print.ts";

describe("committed schema artifacts", () => {
  it("schema/schema.graphql matches the Pothos schema (run `npm run codegen`)", () => {
    expect(readFileSync(SCHEMA_FILE, "utf8")).toBe(printedSchema());
  });

  it("the typed operations under src/generated/graphql match schema/operations (run `npm run codegen`)", async () => {
    const outputs: { filename: string; content: string }[] = await generate({ ...codegenConfig, silent: true }, false);
    expect(outputs.length).toBeGreaterThan(0);
    for (const output of outputs) {
      expect(readFileSync(output.filename, "utf8"), output.filename).toBe(output.content);
    }
  });

  it("every type, field, argument and enum value carries a description", () => {
    const missing: string[] = [];
    for (const type of Object.values(schema.getTypeMap())) {
      if (type.name.startsWith("__") || isSpecifiedScalarType(type)) continue;
      if (!type.description) missing.push(type.name);
      if (isObjectType(type) || isInterfaceType(type) || isInputObjectType(type)) {
        for (const field of Object.values(type.getFields())) {
          if (!field.description) missing.push(`${type.name}.${field.name}`);
          for (const arg of "args" in field ? field.args : []) {
            if (!arg.description) missing.push(`${type.name}.${field.name}(${arg.name})`);
          }
        }
      }
      if (isEnumType(type)) {
        for (const value of type.getValues()) if (!value.description) missing.push(`${type.name}.${value.name}`);
      }
    }
    expect(missing).toEqual([]);
  });
});

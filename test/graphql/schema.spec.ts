// The printed SDL and the typed operations are committed; these tests fail when either is stale.
import { readFileSync } from "node:fs";
import { generate } from "@graphql-codegen/cli";
import { describe, expect, it } from "vitest";
import codegenConfig from "../../codegen.ts";
import { isEnumType, isInputObjectType, isInterfaceType, isObjectType, isSpecifiedScalarType } from "graphql";
import { schema } from "../../src/schema/index.ts";
import { printedSchema, SCHEMA_FILE } from "../../src/schema/print.ts";

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

  it("every type, field, argument and enum value carries a description of at least three words", () => {
    // GraphiQL's Docs panel is where analysts learn the API: a missing description, or a label such as
    // "Last day." that says nothing a name does not, fails here.
    const missing: string[] = [];
    const check = (path: string, description: string | null | undefined) => {
      if (!description || description.trim().split(/\s+/).length < 3) missing.push(`${path}: ${description ?? ""}`);
    };
    for (const type of Object.values(schema.getTypeMap())) {
      if (type.name.startsWith("__") || isSpecifiedScalarType(type)) continue;
      check(type.name, type.description);
      if (isObjectType(type) || isInterfaceType(type) || isInputObjectType(type)) {
        for (const field of Object.values(type.getFields())) {
          check(`${type.name}.${field.name}`, field.description);
          for (const arg of "args" in field ? field.args : []) {
            check(`${type.name}.${field.name}(${arg.name})`, arg.description);
          }
        }
      }
      if (isEnumType(type)) {
        for (const value of type.getValues()) check(`${type.name}.${value.name}`, value.description);
      }
    }
    expect(missing).toEqual([]);
  });
});

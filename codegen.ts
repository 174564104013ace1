// GraphQL Code Generator: typed documents for the operations under schema/operations/, generated
// from the printed SDL (`npm run codegen` prints it first from the Pothos schema).
import type { CodegenConfig } from "@graphql-codegen/cli";

const config: CodegenConfig = {
  schema: "schema/schema.graphql",
  documents: ["schema/operations/**/*.graphql"],
  ignoreNoDocuments: false,
  generates: {
    "src/generated/graphql/": {
      preset: "client",
      presetConfig: { fragmentMasking: false },
      config: {
        importExtension: ".js",
        useTypeImports: true,
        enumsAsTypes: true,
        scalars: { Date: "string", DateTime: "string", JSON: "unknown" },
      },
    },
  },
};

export default config;

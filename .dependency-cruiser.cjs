// The layers of src/, bottom to top: a module may import its own layer and the layers below it, never
// one above, nor a sibling (two layers of the same rank know nothing of each other). No circular
// imports anywhere in src/. Tests and benchmarks may import anything. Checked by
// test/unit/boundaries.spec.ts (and `npx depcruise src`).
//
// Two files stand at the top of src/, at the bottom of the layers, because every layer uses them and
// they import nothing of the project: errors.ts (the catalog of expected failures) and request-scope.ts
// (what the server knows of the request being handled).

/** [rank, layer, path regex]: a higher rank may import a lower one. */
const LAYERS = [
  [0, "generated", "^src/generated/"],
  [0, "request-scope", "^src/request-scope[.]ts$"],
  [0, "errors", "^src/errors[.]ts$"],
  [1, "sql", "^src/sql/"],
  [2, "lifecycle", "^src/lifecycle/"],
  [3, "connectors", "^src/connectors/"],
  [4, "observability", "^src/observability/"],
  [5, "config", "^src/config/"],
  [6, "warehouse", "^src/warehouse/"],
  [7, "appdb", "^src/appdb/"],
  [8, "auth", "^src/auth/"],
  [8, "demo", "^src/demo/"],
  [9, "services", "^src/services/"],
  [10, "schema", "^src/schema/"],
  [11, "server", "^src/server/"],
  [12, "cli", "^src/cli/"],
];

/** The dashboard is browser code the server sends as files: it imports only itself, and nothing imports it. */
const DASHBOARD = "^src/dashboard/";

const anyOf = (paths) => paths.map((path) => `(${path})`).join("|");
const EVERY_LAYER = anyOf([...LAYERS.map(([, , path]) => path), DASHBOARD]);

const layerRules = LAYERS.flatMap(([rank, layer, path]) => {
  const forbidden = LAYERS.filter(([r, other]) => r > rank || (r === rank && other !== layer));
  if (forbidden.length === 0) return [];
  return {
    name: `layer-${layer}`,
    comment: `${layer} may import only ${
      LAYERS.filter(([r, other]) => r < rank || other === layer)
        .map(([, other]) => other)
        .join(", ") || "itself"
    } (of src/)`,
    severity: "error",
    from: { path },
    to: { path: anyOf(forbidden.map(([, , p]) => p)) },
  };
});

module.exports = {
  forbidden: [
    ...layerRules,
    {
      name: "dashboard-apart",
      comment: "the dashboard (browser code) imports only itself",
      severity: "error",
      from: { path: DASHBOARD },
      to: { path: "^src/", pathNot: DASHBOARD },
    },
    {
      name: "nothing-imports-dashboard",
      comment: "the server sends the dashboard's files; it does not import them",
      severity: "error",
      from: { path: "^src/", pathNot: DASHBOARD },
      to: { path: DASHBOARD },
    },
    {
      name: "in-a-layer",
      comment: "every module of src/ belongs to a layer: add its folder to LAYERS in .dependency-cruiser.cjs",
      severity: "error",
      from: { path: "^src/", pathNot: EVERY_LAYER },
      to: {},
    },
    {
      name: "to-a-layer",
      comment: "every module of src/ belongs to a layer: add its folder to LAYERS in .dependency-cruiser.cjs",
      severity: "error",
      from: { path: "^src/" },
      to: { path: "^src/", pathNot: EVERY_LAYER },
    },
    {
      name: "no-circular",
      comment: "no module of src/ reaches itself through its imports (type-only imports included)",
      severity: "error",
      from: { path: "^src/" },
      to: { circular: true },
    },
    {
      name: "resolvable",
      comment: "a relative import that resolves to no file would escape every rule above",
      severity: "error",
      from: { path: "^src/" },
      to: { couldNotResolve: true, path: "^[.]" },
    },
  ],
  options: {
    doNotFollow: { path: "node_modules" },
    // Type-only imports count: a layer that names a type from above depends on it all the same.
    tsPreCompilationDeps: true,
    tsConfig: { fileName: "tsconfig.json" },
    enhancedResolveOptions: {
      exportsFields: ["exports"],
      conditionNames: ["import", "require", "node", "default", "types"],
      extensions: [".ts", ".js", ".mjs", ".cjs", ".json", ".d.ts"],
    },
  },
};

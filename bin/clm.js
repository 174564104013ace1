#!/usr/bin/env node
// `npx clm …`: runs the TypeScript CLI through tsx, which ships as a dependency.
import { register } from "tsx/esm/api";

register();
await import("../src/cli/main.ts");

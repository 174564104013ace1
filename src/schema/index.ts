// Imports every domain module for its side effect on the builder, then builds the schema once.
import { builder } from "./builder.ts";
import "./warehouse.ts";
import "./segment.ts";
import "./segment-membership.ts";
import "./segment-mutations.ts";
import "./segment-comparison.ts";
import "./stage.ts";
import "./customer.ts";
import "./rfm.ts";
import "./clv.ts";
import "./metrics.ts";
import "./cohorts.ts";
import "./funnel.ts";
import "./api-keys.ts";
import "./state-store.ts";
import "./events.ts";

export const schema = builder.toSchema({ sortSchema: true });

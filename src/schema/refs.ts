// The object types other schema files refer to both ways, declared once here so that neither imports
// the other for them: a customer has a stage (customer.ts) and a stage has customers (stage.ts). Each
// is implemented in its own file.
import type { CustomerFeatures } from "../lifecycle/features.ts";
import type { Stage } from "../lifecycle/stage-model.ts";
import { builder } from "./builder.ts";

export interface CustomerShape {
  readonly id: string;
  readonly asOf: string;
  readonly features: CustomerFeatures;
}

export const CustomerRef = builder.objectRef<CustomerShape>("Customer");

/** A stage as seen on one day (its count and members depend on it). */
export interface StageShape {
  readonly stage: Stage;
  readonly asOf: string;
}

export const StageRef = builder.objectRef<StageShape>("Stage");

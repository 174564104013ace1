// The request's deadline inside GraphQL execution: past it, no field that selects more (an object or
// a list) resolves any longer — it fails with DeadlineExceededError — so a request whose answer is still
// being built stops starting new work in Node, not only in the warehouse. Leaf fields are left as they
// are: they start nothing, and checking each one would cost every answer's largest part.
import SchemaBuilder, { BasePlugin, type PothosOutputFieldConfig, type SchemaTypes } from "@pothos/core";
import type { GraphQLFieldResolver } from "graphql";
import { currentRequestScope, deadlinePassed } from "../request-scope.ts";
import { DeadlineExceededError } from "../warehouse/guarded-warehouse.ts";

declare global {
  // eslint-disable-next-line @typescript-eslint/no-namespace
  export namespace PothosSchemaTypes {
    interface Plugins<Types extends SchemaTypes> {
      requestDeadline: RequestDeadlinePlugin<Types>;
    }
  }
}

/** The request's deadline if it has passed (undefined otherwise, or outside a request). */
export function passedDeadline(): number | undefined {
  const scope = currentRequestScope();
  return scope && deadlinePassed(scope) ? scope.deadlineMs : undefined;
}

function selectsMore(type: PothosOutputFieldConfig<SchemaTypes>["type"]): boolean {
  if (type.kind === "List") return selectsMore(type.type);
  return type.kind !== "Scalar" && type.kind !== "Enum";
}

export class RequestDeadlinePlugin<Types extends SchemaTypes> extends BasePlugin<Types> {
  override wrapResolve(
    resolver: GraphQLFieldResolver<unknown, Types["Context"], object>,
    fieldConfig: PothosOutputFieldConfig<Types>,
  ): GraphQLFieldResolver<unknown, Types["Context"], object> {
    if (!selectsMore(fieldConfig.type as PothosOutputFieldConfig<SchemaTypes>["type"])) return resolver;
    return (parent, args, context, info) => {
      // A subscription outlives the request's deadline by design: it ends when the client goes away.
      if (info.operation.operation === "subscription") return resolver(parent, args, context, info);
      const deadlineMs = passedDeadline();
      if (deadlineMs !== undefined)
        throw new DeadlineExceededError(
          deadlineMs,
          `the request's deadline of ${deadlineMs} ms passed while its answer was being built; the rest was not computed`,
        );
      return resolver(parent, args, context, info);
    };
  }
}

SchemaBuilder.registerPlugin("requestDeadline", RequestDeadlinePlugin);

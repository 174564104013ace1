// The request's deadline for GraphQL execution as a whole: an answer still being built when it passes
// is answered then with DEADLINE_EXCEEDED, whatever the execution is doing (fields past the deadline
// stop resolving too: schema/deadline-plugin.ts). Without it, a deadline cancelled warehouse queries
// only, and an answer built in Node ran on for as long as it took.
import { getOperationAST, type ExecutionResult } from "graphql";
import type { Plugin } from "graphql-yoga";
import { currentRequestScope } from "../request-scope.ts";
import { graphQLErrorOf } from "../schema/errors.ts";
import { DeadlineExceededError } from "../warehouse/guarded-warehouse.ts";

export function useExecutionDeadline(): Plugin {
  return {
    onExecute({ args, executeFn, setExecuteFn }) {
      const scope = currentRequestScope();
      if (!scope) return;
      // A mutation is answered when its writes are done, whatever the clock says: an early answer would
      // hide whether they were applied (no field starts past the deadline, so none starts late).
      if (getOperationAST(args.document, args.operationName)?.operation === "mutation") return;
      setExecuteFn(async (args) => {
        let timer: NodeJS.Timeout | undefined;
        const deadline = new Promise<ExecutionResult>((resolve) => {
          timer = setTimeout(
            () =>
              resolve({
                errors: [
                  graphQLErrorOf(
                    new DeadlineExceededError(
                      scope.deadlineMs,
                      `the request's deadline of ${scope.deadlineMs} ms passed before its answer was complete`,
                    ),
                    { requestId: scope.requestId },
                  ),
                ],
              }),
            Math.max(0, scope.deadlineAt - Date.now()),
          );
          timer.unref();
        });
        try {
          return await Promise.race([executeFn(args) as Promise<ExecutionResult>, deadline]);
        } finally {
          clearTimeout(timer);
        }
      });
    },
  };
}

// The expected failures of the app's own rules, shared by the lifecycle logic and the stores (segments,
// API keys); the GraphQL layer answers each with its code (schema/errors.ts), anything else is masked.
import type { RuleIssue } from "./lifecycle/rules.ts";

/** Input that breaks a rule; each issue has the path of the field it is about. */
export class InvalidInputError extends Error {
  override name = "InvalidInputError";
  constructor(
    message: string,
    readonly issues: readonly RuleIssue[],
  ) {
    super(message);
  }
}

/** No such record (unknown or malformed id). */
export class NotFoundError extends Error {
  override name = "NotFoundError";
}

/** A write that lost a race (a stale version) or would break a rule of the store (a name in use). */
export class ConflictError extends Error {
  override name = "ConflictError";
}

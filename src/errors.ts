// The expected failures of this server, each with the stable code clients read in `extensions.code`.
// Every layer throws them and none below the edge turns them into answers: yoga's error masking
// (server/error-masking.ts) does inside GraphQL, server/edge-errors.ts outside it (the export, /ready),
// both from what the error says here. Anything that is not a DomainError, nor one of the few raw failures
// the edge recognises (an unreachable app database, an abort), is an internal failure, masked as
// "Unexpected error." and logged whole. This module imports nothing, so every layer may import it.

/**
 * Every code a client may see, with the HTTP status of an answer that carries it outside GraphQL (inside
 * GraphQL errors ride the answer). BAD_REQUEST, RATE_LIMITED and INTERNAL_SERVER_ERROR are the edge's
 * own answers; every other code has its class below or beside the code that throws it.
 */
export const ERROR_STATUS = {
  BAD_REQUEST: 400,
  BAD_USER_INPUT: 400,
  UNAUTHENTICATED: 401,
  FORBIDDEN: 403,
  NOT_FOUND: 404,
  CONFLICT: 409,
  INVALID_SEGMENT: 422,
  INSUFFICIENT_DATA: 422,
  QUERY_TOO_EXPENSIVE: 422,
  RATE_LIMITED: 429,
  // The client went away: nobody reads the answer (nginx's code for it).
  CANCELLED: 499,
  INTERNAL_SERVER_ERROR: 500,
  WAREHOUSE_UNAVAILABLE: 503,
  WAREHOUSE_BUSY: 503,
  APP_DATABASE_UNAVAILABLE: 503,
  // CLM_STATE=required and the state store cannot answer (not refreshed yet, another model, a later day).
  STATE_NOT_READY: 503,
  DEADLINE_EXCEEDED: 504,
} as const;

export type ErrorCode = keyof typeof ERROR_STATUS;

/** A problem of an input value, with the path of the field it is about (rule issues are ones). */
export interface InputIssue {
  readonly path: (string | number)[];
  readonly message: string;
}

/** An expected failure: its code, what the client is told, and the fields it adds beside the code. */
export abstract class DomainError extends Error {
  abstract readonly code: ErrorCode;
  /**
   * Whether the client is also told the request id: failures of this run (a dependency, the load, the
   * deadline, a budget reached while running) are worth quoting to find the log; a refusal of what was
   * asked (input, an unknown id, a stale version) fails the same way every time.
   */
  readonly tellsRequestId: boolean = false;

  /** The message for the client; `message` may hold detail meant for the log only. */
  get publicMessage(): string {
    return this.message;
  }

  /** The fields the client gets beside `code` (and `requestId`), in the order they are shown. */
  extensions(): Record<string, unknown> {
    return {};
  }
}

/** The fields that are set, in order: an error leaves out what it does not know. */
function defined(fields: Record<string, unknown>): Record<string, unknown> {
  return Object.fromEntries(Object.entries(fields).filter(([, value]) => value !== undefined));
}

/**
 * Input that breaks a rule (BAD_USER_INPUT): the argument at fault, when known, and each issue with the
 * path of the field it is about. Thrown by the rules, the stores and the resolvers alike: issues are
 * plain paths and messages, so it depends on no rule language.
 */
export class InvalidInputError extends DomainError {
  override name = "InvalidInputError";
  readonly code = "BAD_USER_INPUT";
  readonly argument: string | undefined;
  readonly issues: readonly InputIssue[] | undefined;
  constructor(message: string, details: { argument?: string; issues?: readonly InputIssue[] } = {}) {
    super(message);
    this.argument = details.argument;
    this.issues = details.issues;
  }

  /** The same error about `argument` (the name the caller gave the value). */
  about(argument: string): InvalidInputError {
    return new InvalidInputError(this.message, { argument, issues: this.issues });
  }

  override extensions() {
    return defined({ argument: this.argument, issues: this.issues });
  }
}

/** No such record (unknown or malformed id); the argument that named it, when known. */
export class NotFoundError extends DomainError {
  override name = "NotFoundError";
  readonly code = "NOT_FOUND";
  readonly argument: string | undefined;
  constructor(message: string, details: { argument?: string } = {}) {
    super(message);
    this.argument = details.argument;
  }

  override extensions() {
    return defined({ argument: this.argument });
  }
}

/** A write that lost a race (a stale version) or would break a rule of the store (a name in use). */
export class ConflictError extends DomainError {
  override name = "ConflictError";
  readonly code = "CONFLICT";
}

/** A saved segment whose definition no longer holds for this server (its stage model changed since). */
export class InvalidSegmentError extends DomainError {
  override name = "InvalidSegmentError";
  readonly code = "INVALID_SEGMENT";
  readonly argument: string | undefined;
  readonly issues: readonly InputIssue[];
  constructor(message: string, details: { argument?: string; issues: readonly InputIssue[] }) {
    super(message);
    this.argument = details.argument;
    this.issues = details.issues;
  }

  override extensions() {
    return defined({ argument: this.argument, issues: this.issues });
  }
}

/** A request refused for who sent it: no identity (UNAUTHENTICATED) or too little of a role (FORBIDDEN). */
export class RefusedError extends DomainError {
  override name = "RefusedError";
  constructor(
    readonly code: "UNAUTHENTICATED" | "FORBIDDEN",
    message: string,
  ) {
    super(message);
  }
}

/** The client went away before its answer was complete: no internal error, and nobody reads the answer. */
export class CancelledError extends DomainError {
  override name = "CancelledError";
  readonly code = "CANCELLED";
  override readonly tellsRequestId = true;
  constructor() {
    super("the request was cancelled");
  }
}

/** What the client is told of a dependency that cannot answer now, and when to try again. */
const UNAVAILABLE = {
  WAREHOUSE_UNAVAILABLE: { says: "the warehouse is unavailable", retryAfterSeconds: 5 },
  // A queue moves fast.
  WAREHOUSE_BUSY: { says: "the warehouse is busy with other queries", retryAfterSeconds: 2 },
  APP_DATABASE_UNAVAILABLE: { says: "the app database cannot be reached", retryAfterSeconds: 5 },
  STATE_NOT_READY: { says: "the state store cannot answer this yet", retryAfterSeconds: 60 },
} as const;

/**
 * A dependency that cannot answer now (unreachable, or every slot busy): the client is told which, with
 * retry advice (`retryAfterSeconds`, and Retry-After outside GraphQL), since waiting helps; the
 * detail (`message`) is for the log.
 */
export abstract class DependencyError extends DomainError {
  abstract override readonly code: keyof typeof UNAVAILABLE;
  override readonly tellsRequestId = true;

  /** Seconds the client is told to wait before retrying. */
  get retryAfterSeconds(): number {
    return UNAVAILABLE[this.code].retryAfterSeconds;
  }

  override get publicMessage(): string {
    return `${UNAVAILABLE[this.code].says}; retry in ${this.retryAfterSeconds} s`;
  }

  override extensions() {
    return { retryAfterSeconds: this.retryAfterSeconds };
  }
}

/**
 * An answer over the answer budget (QUERY_TOO_EXPENSIVE): estimated before it runs, with the request's
 * variables, or counted once built. `limit` names the budget ("answerValues", "answerBytes").
 */
export class AnswerTooLargeError extends DomainError {
  override name = "AnswerTooLargeError";
  readonly code = "QUERY_TOO_EXPENSIVE";
  constructor(
    message: string,
    readonly limit: "answerValues" | "answerBytes",
    readonly max: number,
    readonly estimated?: number,
  ) {
    super(message);
  }

  override extensions() {
    return defined({ limit: this.limit, max: this.max, estimated: this.estimated });
  }
}

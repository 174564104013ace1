// "The app database cannot be reached", told apart from every other failure of an app-database call,
// so that the edge answers APP_DATABASE_UNAVAILABLE (503) with retry advice instead of a masked error,
// and the key cache may fall back to what it last knew. Prisma with a driver adapter reports it in
// several shapes: P1001 with the adapter's cause "DatabaseNotReachable", P1017 (connection closed),
// an initialization error, or node-postgres' own error passed through unchanged ("Connection
// terminated unexpectedly") for the query that was running. Waiting too long for a connection of a
// busy pool (P2024, "timeout exceeded when trying to connect") is not one: that is load, not an outage.
import { DependencyError } from "../errors.ts";

/** The app database could not be reached (clients see APP_DATABASE_UNAVAILABLE, with retry advice). */
export class AppDatabaseUnavailableError extends DependencyError {
  readonly code = "APP_DATABASE_UNAVAILABLE";
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = "AppDatabaseUnavailableError";
  }
}

const PRISMA_UNREACHABLE_CODES = new Set(["P1001", "P1002", "P1008", "P1017"]);
const ADAPTER_UNREACHABLE_KINDS = new Set(["DatabaseNotReachable", "ConnectionClosed", "SocketTimeout"]);
const NODE_UNREACHABLE_CODES = new Set([
  "ECONNREFUSED",
  "ECONNRESET",
  "ETIMEDOUT",
  "EHOSTUNREACH",
  "ENOTFOUND",
  "EPIPE",
]);

/** Whether `error` (or what caused it) says the app database could not be reached. */
export function isAppDatabaseUnreachable(error: unknown): boolean {
  for (let e = error, depth = 0; e && typeof e === "object" && depth < 5; depth++) {
    if (e instanceof AppDatabaseUnavailableError) return true;
    const { name, code, message, meta, cause } = e as {
      name?: string;
      code?: string;
      message?: string;
      meta?: { driverAdapterError?: { cause?: { kind?: string } } };
      cause?: unknown;
    };
    if (name === "PrismaClientInitializationError") return true;
    if (code && (PRISMA_UNREACHABLE_CODES.has(code) || NODE_UNREACHABLE_CODES.has(code))) return true;
    // SQLSTATE class 08 (connection exception) and 57P01-57P03 (the server shutting down).
    if (code && /^(08|57P0[123])/.test(code)) return true;
    const kind = meta?.driverAdapterError?.cause?.kind;
    if (kind && ADAPTER_UNREACHABLE_KINDS.has(kind)) return true;
    if (message && /Connection terminated|connect ECONNREFUSED|Can't reach database server/i.test(message)) return true;
    e = cause;
  }
  return false;
}

/** `error` as AppDatabaseUnavailableError when it says the app database could not be reached; else unchanged. */
export function asAppDatabaseError(error: unknown): unknown {
  if (error instanceof AppDatabaseUnavailableError || !isAppDatabaseUnreachable(error)) return error;
  return new AppDatabaseUnavailableError("the app database cannot be reached", { cause: error });
}

// The Pothos builder and its plugins; no types are defined here.
import SchemaBuilder from "@pothos/core";
import { Kind } from "graphql";
import PrismaPlugin from "@pothos/plugin-prisma";
import RelayPlugin from "@pothos/plugin-relay";
import ScopeAuthPlugin, { AuthScopeFailureType, type AuthFailure } from "@pothos/plugin-scope-auth";
import { allows, type Role } from "../auth/api-key.ts";
import { refusal } from "../auth/request-auth.ts";
import { InvalidInputError, RefusedError } from "../errors.ts";
import { FIRST_DAY, isCalendarDay, LAST_DAY } from "../lifecycle/calendar.ts";
import { DateTimeResolver, JSONResolver } from "graphql-scalars";
import type { RequestContext } from "./context.ts";
import "./answer-size.ts";
import "./deadline-plugin.ts";
import { graphQLErrorOf } from "./errors.ts";
import { PAGE_SIZE } from "./page-size.ts";
import PrismaTypes, { getDatamodel } from "../generated/pothos-prisma-types.ts";

export { PAGE_SIZE } from "./page-size.ts";

/** The first role scope a failed check asked for (type-level scopes nest it in an any/all failure). */
function neededScope(failure: AuthFailure): string | undefined {
  if (failure.kind === AuthScopeFailureType.AuthScope) return failure.scope;
  if (failure.kind === AuthScopeFailureType.AnyAuthScopes || failure.kind === AuthScopeFailureType.AllAuthScopes) {
    for (const f of failure.failures) {
      const scope = neededScope(f);
      if (scope) return scope;
    }
  }
  return undefined;
}

export const builder = new SchemaBuilder<{
  Context: RequestContext;
  PrismaTypes: PrismaTypes;
  /** Roles, each including the one before: viewer ⊂ analyst ⊂ admin. */
  AuthScopes: { viewer: boolean; analyst: boolean; admin: boolean };
  DefaultFieldNullability: false;
  Scalars: {
    /** A calendar day as "YYYY-MM-DD"; days have no time zone until the stage model gives one. */
    Date: { Input: string; Output: string };
    DateTime: { Input: Date; Output: Date };
    JSON: { Input: unknown; Output: unknown };
  };
}>({
  // Scope auth first, so no other plugin's wrapper runs for a refused field.
  // answerSize: each field's share of an answer's size, read by the answer budget (server/limits.ts);
  // requestDeadline: past the deadline no object or list field resolves.
  plugins: [ScopeAuthPlugin, PrismaPlugin, RelayPlugin, "answerSize", "requestDeadline"],
  scopeAuth: {
    // A subscription is refused when it is made, not event by event on a stream left open.
    authorizeOnSubscribe: true,
    authScopes: (ctx) => ({
      viewer: allows(ctx.auth.role, "viewer"),
      analyst: allows(ctx.auth.role, "analyst"),
      admin: allows(ctx.auth.role, "admin"),
    }),
    // No identity is UNAUTHENTICATED, too little of a role FORBIDDEN; the field's path comes with it.
    unauthorizedError: (_parent, ctx, _info, result) => {
      const needed = (neededScope(result.failure) ?? "viewer") as Role;
      const why = refusal(ctx.auth, needed) ?? { code: "FORBIDDEN" as const, message: result.message };
      return new RefusedError(why.code, why.message);
    },
  },
  defaultFieldNullability: false,
  prisma: {
    // The client comes from the context, so the schema itself holds no connection.
    client: (ctx) => ctx.prisma,
    dmmf: getDatamodel(),
    exposeDescriptions: true,
    filterConnectionTotalCount: true,
    // Every connection over app data is capped here, not per resolver.
    defaultConnectionSize: PAGE_SIZE.default,
    maxConnectionSize: PAGE_SIZE.max,
    onUnusedQuery: process.env.NODE_ENV === "production" ? null : "warn",
  },
  relay: {
    clientMutationId: "omit",
    cursorType: "String",
    nodeQueryOptions: false,
    nodesQueryOptions: false,
    // Relay's shared types and arguments, described once for every connection.
    pageInfoTypeOptions: { description: "Where a page sits in its connection." },
    hasNextPageFieldOptions: { description: "Whether more items follow this page." },
    hasPreviousPageFieldOptions: { description: "Whether items precede this page." },
    startCursorFieldOptions: { description: "Cursor of the first item of this page." },
    endCursorFieldOptions: {
      description: "Cursor of the last item of this page; pass it as `after` for the next page.",
    },
    firstArgOptions: {
      description: `Items to return after \`after\` (default ${PAGE_SIZE.default}, at most ${PAGE_SIZE.max}).`,
    },
    afterArgOptions: { description: "Return items after this cursor (an `endCursor`)." },
    lastArgOptions: { description: `Items to return before \`before\` (at most ${PAGE_SIZE.max}).` },
    beforeArgOptions: { description: "Return items before this cursor (a `startCursor`)." },
    cursorFieldOptions: { description: "Opaque, stable position of this item in its connection." },
    edgesFieldOptions: { description: "The items of this page, each with its cursor." },
    pageInfoFieldOptions: { description: "Paging state of this page." },
    nodeFieldOptions: { description: "The item at this position of the page." },
  },
});

builder.scalarType("Date", {
  description: `A calendar day, YYYY-MM-DD (RFC 3339 full-date), from ${FIRST_DAY} to ${LAST_DAY}: days the server derives from it (a day later, a prior period, a relative date) stay within what every warehouse engine represents. Others are BAD_USER_INPUT.`,
  serialize: (value) => value,
  parseValue: (value) => parseCalendarDay(value),
  parseLiteral: (ast) => parseCalendarDay(ast.kind === Kind.STRING ? ast.value : undefined),
});
builder.addScalarType("DateTime", DateTimeResolver, {
  description: "A point in time, RFC 3339 date-time in UTC.",
});
builder.addScalarType("JSON", JSONResolver, { description: "Any JSON value." });

// Every query field needs at least a viewer; mutations say what they need themselves.
builder.queryType({
  description: "Lifecycle answers over the warehouse, and the app's saved state.",
  authScopes: { viewer: true },
});

// Following lifecycle events needs a viewer, as reading them does.
builder.subscriptionType({
  description: "Lifecycle events as the state refreshes write them, over server-sent events.",
  authScopes: { viewer: true },
});

/** A field only admins may use, whatever its root type asks of the others (API keys, webhooks). */
export const ADMIN_ONLY = { authScopes: { admin: true }, skipTypeScopes: true } as const;

// Changing saved state needs an analyst (admins included).
builder.mutationType({
  description: "Changes to the app's saved state; each runs in one transaction.",
  authScopes: { analyst: true },
});

/** A scalar's parse error must be a GraphQLError: graphql-js would reword any other, and drop its code. */
function parseCalendarDay(value: unknown): string {
  if (isCalendarDay(value)) return value;
  throw graphQLErrorOf(
    new InvalidInputError(
      `Date must be a calendar day YYYY-MM-DD from ${FIRST_DAY} to ${LAST_DAY}, got ${JSON.stringify(value)}`,
    ),
  );
}

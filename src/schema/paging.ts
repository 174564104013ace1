// Page sizes and cursors for connections computed in the warehouse. One helper clamps them all.
import { PAGE_SIZE } from "./builder.ts";
import { InvalidInputError } from "../errors.ts";

export interface PageArgs {
  readonly first?: number | null;
  readonly after?: string | null;
  readonly last?: number | null;
  readonly before?: string | null;
}

/** The page a forward-only connection is asked for: its size and the decoded `after` cursor. */
export function forwardPage(args: PageArgs, cursorKind: string): { size: number; after: string | undefined } {
  refuseBackwardPaging(args);
  return { size: pageSize(args), after: decodeCursor(cursorKind, args.after) };
}

/** Warehouse-computed connections page forward only. */
function refuseBackwardPaging(args: PageArgs): void {
  if (args.last != null || args.before != null) {
    throw new InvalidInputError("this connection pages forward only: use first and after", {
      argument: args.last != null ? "last" : "before",
    });
  }
}

/** The page size asked for, refused outside 1..PAGE_SIZE.max. */
export function pageSize(args: PageArgs): number {
  const first = args.first ?? PAGE_SIZE.default;
  if (!Number.isInteger(first) || first < 1 || first > PAGE_SIZE.max) {
    throw new InvalidInputError(`first must be between 1 and ${PAGE_SIZE.max}, got ${first}`, { argument: "first" });
  }
  return first;
}

export function encodeCursor(kind: string, value: string): string {
  return Buffer.from(`${kind}:${value}`, "utf8").toString("base64url");
}

/** Decodes a cursor this server made for `kind`; anything else is a clear input error. */
export function decodeCursor(kind: string, cursor: string | null | undefined): string | undefined {
  if (cursor === null || cursor === undefined) return undefined;
  const text = Buffer.from(cursor, "base64url").toString("utf8");
  if (!text.startsWith(`${kind}:`))
    throw new InvalidInputError("after is not a cursor of this connection", { argument: "after" });
  return text.slice(kind.length + 1);
}

export interface Page<T> {
  readonly edges: { cursor: string; node: T }[];
  readonly pageInfo: {
    hasNextPage: boolean;
    hasPreviousPage: boolean;
    startCursor: string | null;
    endCursor: string | null;
  };
}

/** Builds a page from `size + 1` fetched items (the extra one only tells that more follow). */
export function toPage<T>(
  items: readonly T[],
  size: number,
  cursorOf: (item: T, index: number) => string,
  hasPrevious: boolean,
): Page<T> {
  const edges = items.slice(0, size).map((node, i) => ({ cursor: cursorOf(node, i), node }));
  return {
    edges,
    pageInfo: {
      hasNextPage: items.length > size,
      hasPreviousPage: hasPrevious,
      startCursor: edges[0]?.cursor ?? null,
      endCursor: edges[edges.length - 1]?.cursor ?? null,
    },
  };
}

// GraphiQL, the page /graphql shows a browser: the operation it opens with, and the page itself.
import type { GraphiQLOptions } from "graphql-yoga";

export const FIRST_QUERY = `# Welcome to the lifecycle analytics server.
# Press the run button (or Ctrl-Enter): how many customers sit in
# each lifecycle stage, what marketing should do there, and what
# the warehouse holds. Without asOf an answer is for today, or for
# the last day with data when the data ends before today.
# "Docs" (top left) describes every type and field: what it means,
# its unit and how it is computed.
#
# Then try:
#   stages(asOf: "2026-01-31") { key count }
#   customer(id: "c000042") { stage { key } features { revenue } }
#   funnel { stage { key } reached dropOffFromPrevious }
#   metrics(period: { from: "2026-01-01", to: "2026-03-31" }) { value }
# More examples (segments, CLV, a dashboard): schema/operations/.
{
  stages {
    key
    name
    count
    share
    recommendedActions
  }
  warehouse {
    kind
    tables {
      name
      rowCount
    }
  }
}
`;

/**
 * GraphiQL's page, its assets inlined from the package: it works with no network. Loaded when the page
 * is first asked for: the package is a large script that costs resident memory once loaded, which a
 * server that never shows GraphiQL should not carry (bench/README.md, "GraphiQL loaded lazily").
 */
export async function renderGraphiQL(options?: GraphiQLOptions): Promise<string> {
  return (await import("@graphql-yoga/render-graphiql")).renderGraphiQL(options);
}

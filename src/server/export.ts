// GET /segments/:id/members.csv?asOf=YYYY-MM-DD: a saved segment's members with their stage and
// features, streamed from the warehouse in batches (a cursor or result pages), so memory stays flat
// whatever the segment's size. A client that disconnects stops the query.
import type { Plugin } from "graphql-yoga";
import { sql } from "../../connectors/sql.ts";
import { refusal, type RequestAuth } from "../auth/request-auth.ts";
import type { Services } from "../context.ts";
import { today } from "../lifecycle/calendar.ts";
import { FEATURES } from "../lifecycle/features.ts";
import type { Rule } from "../lifecycle/rules.ts";
import { checkDefinition, DefinitionError, segmentScope } from "../lifecycle/segment-definition.ts";
import { SegmentStore } from "../services/segment-store.ts";
import { SegmentService } from "../services/segments.ts";

const ROUTE = /^\/segments\/([^/]+)\/members\.csv$/;

/** Columns of the export: id, stages, then every feature under its SQL name. */
const COLUMNS = [
  { header: "customer_id", column: "customer_id", text: true },
  { header: "stage", column: "stage_key", text: true },
  { header: "furthest_stage", column: "furthest_stage_key", text: true },
  ...FEATURES.map((f) => ({ header: f.column, column: f.column, text: f.type === "string" })),
];

/**
 * One CSV field (RFC 4180 quoting). Text that a spreadsheet would run as a formula (starting with
 * = + - @ or a tab/carriage return) gets a leading apostrophe, the usual CSV-injection guard.
 */
export function csvField(value: unknown, text: boolean): string {
  if (value === null || value === undefined) return "";
  let s = String(value);
  if (text && /^[=+\-@\t\r]/.test(s)) s = `'${s}`;
  return /[",\r\n]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s;
}

const json = (status: number, body: unknown) =>
  new Response(JSON.stringify(body), { status, headers: { "content-type": "application/json" } });

async function exportResponse(services: Services, segmentId: string, url: URL, signal: AbortSignal): Promise<Response> {
  const lifecycle = services.lifecycle;
  const asOf = url.searchParams.get("asOf") ?? today(lifecycle.timeZone);
  if (!/^\d{4}-\d{2}-\d{2}$/.test(asOf) || Number.isNaN(Date.parse(`${asOf}T00:00:00Z`))) {
    return json(400, { error: { code: "BAD_USER_INPUT", message: "asOf must be a day YYYY-MM-DD", argument: "asOf" } });
  }
  const scope = segmentScope(lifecycle.model, lifecycle.rfm);
  const store = new SegmentStore(services.prisma, scope);
  const segment = await store.get(decodeURIComponent(segmentId));
  if (!segment) return json(404, { error: { code: "NOT_FOUND", message: `no segment with id ${segmentId}` } });
  const issues = checkDefinition(segment.definition, scope);
  if (issues.length > 0) {
    return json(422, {
      error: { code: "INVALID_SEGMENT", message: `segment ${segment.name} has an invalid definition`, issues },
    });
  }
  let rule: Rule;
  try {
    rule = await store.resolve(segment.definition as Rule, asOf);
  } catch (error) {
    if (error instanceof DefinitionError) {
      return json(422, { error: { code: "INVALID_SEGMENT", message: error.message, issues: error.issues } });
    }
    throw error;
  }
  const members = new SegmentService(lifecycle).members(asOf, rule);
  const rows = services.warehouse
    .stream(sql`SELECT m.* FROM (${members}) AS m ORDER BY m.customer_id`, { label: "segment_export", signal })
    [Symbol.asyncIterator]();
  const encoder = new TextEncoder();
  const body = new ReadableStream<Uint8Array>({
    start(controller) {
      controller.enqueue(encoder.encode(`${COLUMNS.map((c) => c.header).join(",")}\r\n`));
    },
    // One warehouse batch per pull: the stream asks for more only when the client has read the last.
    async pull(controller) {
      try {
        const next = await rows.next();
        if (next.done) return controller.close();
        const lines = next.value.map((row) => COLUMNS.map((c) => csvField(row[c.column], c.text)).join(","));
        controller.enqueue(encoder.encode(`${lines.join("\r\n")}\r\n`));
      } catch (error) {
        services.log.error({ err: error, segmentId }, "segment export failed");
        controller.error(error);
      }
    },
    async cancel() {
      await rows.return?.();
    },
  });
  const filename = `segment-${segment.id}-${asOf}.csv`;
  return new Response(body, {
    status: 200,
    headers: {
      "content-type": "text/csv; charset=utf-8",
      "content-disposition": `attachment; filename="${filename}"`,
      "cache-control": "no-store",
    },
  });
}

/** The export route as a yoga plugin, beside /graphql, /health and /ready; it needs a viewer, as GraphQL does. */
export function useSegmentExport(services: Services, who: (request: Request) => Promise<RequestAuth>): Plugin {
  return {
    async onRequest({ request, url, endResponse }) {
      const match = ROUTE.exec(url.pathname);
      if (!match) return;
      if (request.method !== "GET") {
        endResponse(new Response(null, { status: 405, headers: { allow: "GET" } }));
        return;
      }
      try {
        const refused = refusal(await who(request), "viewer");
        if (refused) {
          endResponse(json(refused.code === "UNAUTHENTICATED" ? 401 : 403, { error: refused }));
          return;
        }
        endResponse(await exportResponse(services, match[1]!, url, request.signal));
      } catch (error) {
        services.log.error({ err: error }, "segment export failed");
        endResponse(json(500, { error: { code: "INTERNAL_SERVER_ERROR", message: "export failed" } }));
      }
    },
  };
}

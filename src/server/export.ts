// GET /segments/:id/members.csv?asOf=YYYY-MM-DD: a saved segment's members with their stage and
// features, streamed from the warehouse in batches (a cursor or result pages), so memory stays flat
// whatever the segment's size. A client that disconnects stops the query. The pieces the route is made
// of — the members' rows batch by batch, the CSV text — are shared with `clm export-segment`
// (src/cli/export-segment.ts); both find the saved segment's rule for the day in the segment store.
import type { Plugin } from "graphql-yoga";
import type { ColumnBatch, WarehouseConnector } from "../connectors/connector.ts";
import type { CustomerRange } from "../lifecycle/features-sql.ts";
import { sql } from "../sql/sql.ts";
import { refusal, type RequestAuth } from "../auth/request-auth.ts";
import { InvalidInputError, InvalidSegmentError, NotFoundError } from "../errors.ts";
import type { Services } from "../schema/context.ts";
import { FIRST_DAY, isCalendarDay, LAST_DAY, today } from "../lifecycle/calendar.ts";
import { FEATURES, type FeatureSpec } from "../lifecycle/features.ts";
import { fieldsOf, type Rule } from "../lifecycle/rules.ts";
import { DefinitionError, readsRfm } from "../lifecycle/segment-definition.ts";
import { ALL_CUSTOMERS, customerRanges, readAhead } from "../services/customer-ranges.ts";
import type { SegmentService } from "../services/segments.ts";
import { csvField, CsvBytes } from "./csv.ts";
import { codedResponse, refusalResponse } from "./edge-errors.ts";

const ROUTE = /^\/segments\/([^/]+)\/members\.csv$/;

/**
 * Exports running at once. Each holds a warehouse connection (on PostgreSQL a cursor in an open
 * transaction; on DuckDB two while a range's query runs ahead) for as long as its client reads, so they
 * are capped to leave the pool to GraphQL.
 */
export const MAX_CONCURRENT_EXPORTS = 2;
/** Exports one API key (or anonymous) runs at once: a client reading slowly cannot hold them all. */
export const MAX_EXPORTS_PER_KEY = 1;

/** A column of the export: its header, the member row's column it comes from, and whether it is text. */
export interface MemberCsvColumn {
  readonly header: string;
  readonly column: string;
  readonly text: boolean;
}

/** Columns of the export: id, stages, then every feature of the catalog (event types' too) under its SQL name. */
export function memberCsvColumns(catalog: readonly FeatureSpec[]): readonly MemberCsvColumn[] {
  return [
    { header: "customer_id", column: "customer_id", text: true },
    { header: "stage", column: "stage_key", text: true },
    { header: "furthest_stage", column: "furthest_stage_key", text: true },
    ...catalog.map((f) => ({ header: f.column, column: f.column, text: f.type === "string" })),
  ];
}

/** The columns with the fixed features only (no event types configured). */
const FIXED_COLUMNS = memberCsvColumns(FEATURES);

// The export's field rule, where the bench and tests look for it.
export { csvField };

/** The export's header line (CRLF-terminated, as every line of it). */
export function memberCsvHeader(columns = FIXED_COLUMNS): string {
  return `${columns.map((c) => c.header).join(",")}\r\n`;
}

/** The export's lines for a batch of member rows. */
export function memberCsvLines(batch: readonly Record<string, unknown>[], columns = FIXED_COLUMNS): string {
  return `${batch.map((row) => columns.map((c) => csvField(row[c.column], c.text)).join(",")).join("\r\n")}\r\n`;
}

/**
 * The same bytes as memberCsvLines gives as text, from a batch by column: written field by field
 * straight into UTF-8, with no object per row nor the batch's text.
 */
export function memberCsvColumnBytes(batch: ColumnBatch, wanted = FIXED_COLUMNS): Uint8Array {
  const columns = wanted.map((c) => {
    const index = batch.names.indexOf(c.column);
    return index < 0 ? null : batch.columns[index]!;
  });
  const text = wanted.map((c) => c.text);
  const csv = new CsvBytes(batch.rowCount * 160);
  for (let row = 0; row < batch.rowCount; row++) {
    for (let c = 0; c < columns.length; c++) {
      if (c > 0) csv.comma();
      const column = columns[c];
      if (column) csv.column(column, row, text[c]!);
    }
    csv.lineEnd();
  }
  return csv.take();
}

/** A piece of an export: the CSV lines of one warehouse batch as UTF-8, and how many members they are. */
export interface MemberCsvPart {
  readonly bytes: Uint8Array;
  readonly rows: number;
}

/**
 * A segment's members on a day with their stages and features, by id, as CSV lines, one warehouse batch
 * at a time, read as they are asked for: column batches where the connector has them (DuckDB), rows
 * otherwise. Either way the same bytes. On the embedded warehouse the members are read range of ids by
 * range (src/services/customer-ranges.ts), which bounds the query's memory, each range's query started
 * once the range before has given its first rows (readAhead); `perRange` sets the range size (tests).
 */
export function memberCsvParts(
  warehouse: WarehouseConnector,
  segments: SegmentService,
  rule: Rule,
  asOf: string,
  signal?: AbortSignal,
  perRange?: number,
): AsyncIterator<MemberCsvPart> {
  const { lifecycle } = segments;
  const columns = memberCsvColumns(lifecycle.catalog);
  const options = { label: "segment_export", signal };
  const encoder = new TextEncoder();
  const rangeParts = (range: CustomerRange) => {
    const query = sql`SELECT m.* FROM (${segments.members(asOf, rule, "all", range)}) AS m ORDER BY m.customer_id`;
    // Column batches are one DuckDB chunk (2,048 rows) each: written out before the next is read, they
    // die young, where batches of JS values grew V8's heap (bench/README.md, "Export batches").
    return warehouse.streamColumns
      ? formatted(warehouse.streamColumns(query, options), (batch) => ({
          bytes: memberCsvColumnBytes(batch, columns),
          rows: batch.rowCount,
        }))
      : formatted(warehouse.stream(query, options), (batch) => ({
          bytes: encoder.encode(memberCsvLines(batch, columns)),
          rows: batch.length,
        }));
  };
  async function* parts() {
    // A definition reading RFM scores ranks every buyer in each query: split, that ranking would be
    // repeated per range.
    const ranges = readsRfm(fieldsOf(rule))
      ? ALL_CUSTOMERS
      : await customerRanges(warehouse, lifecycle.available, { perRange, signal });
    for await (const [, part] of readAhead(ranges.map((range) => () => rangeParts(range)))) yield part;
  }
  return parts();
}

async function* formatted<T>(batches: AsyncIterable<T>, format: (batch: T) => MemberCsvPart) {
  for await (const batch of batches) yield format(batch);
}

/**
 * Why a saved segment cannot be exported, as the route tells it: unknown (by the id in the path), or a
 * definition this server cannot read for the day (INVALID_SEGMENT with its issues, no argument: the
 * route has none).
 */
function unexportable(error: unknown, segmentId: string): unknown {
  if (error instanceof NotFoundError) return new NotFoundError(`no segment with id ${segmentId}`);
  if (error instanceof InvalidSegmentError || error instanceof DefinitionError) {
    return new InvalidSegmentError(error.message, { issues: error.issues ?? [] });
  }
  return error;
}

async function exportResponse(services: Services, segmentId: string, url: URL, signal: AbortSignal): Promise<Response> {
  const lifecycle = services.lifecycle;
  const asOf = url.searchParams.get("asOf") ?? today(lifecycle.timeZone);
  if (!isCalendarDay(asOf)) {
    throw new InvalidInputError(`asOf must be a calendar day YYYY-MM-DD from ${FIRST_DAY} to ${LAST_DAY}`, {
      argument: "asOf",
    });
  }
  let id: string;
  try {
    id = decodeURIComponent(segmentId);
  } catch {
    throw new NotFoundError("no segment with that id");
  }
  const saved = await services.segmentStore.ruleOn(id, asOf).catch((error: unknown) => {
    throw unexportable(error, segmentId);
  });
  const { segment, rule } = saved;
  const parts = memberCsvParts(services.warehouse, services.segments, rule, asOf, signal);
  const encoder = new TextEncoder();
  // The first batch is read before answering, so a query that fails at once is answered with its code
  // and a clear body rather than a 200 whose CSV breaks off after the header.
  const first = await parts.next();
  const body = new ReadableStream<Uint8Array>({
    start(controller) {
      controller.enqueue(encoder.encode(memberCsvHeader(memberCsvColumns(lifecycle.catalog))));
      if (first.done) controller.close();
      else if (first.value.rows > 0) controller.enqueue(first.value.bytes);
    },
    // One warehouse batch per pull: the stream asks for more only when the client has read the last.
    async pull(controller) {
      try {
        const next = await parts.next();
        if (next.done) return controller.close();
        controller.enqueue(next.value.bytes);
      } catch (error) {
        services.log.error({ err: error, segmentId }, "segment export failed");
        controller.error(error);
      }
    },
    async cancel() {
      await parts.return?.();
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

/** The same response, calling `done` once its body has been read to the end, failed or been cancelled. */
function releasedWhenDone(response: Response, done: () => void): Response {
  let released = false;
  const release = () => {
    if (!released) ((released = true), done());
  };
  const reader = response.body!.getReader();
  const body = new ReadableStream<Uint8Array>({
    async pull(controller) {
      try {
        const { done: finished, value } = await reader.read();
        if (finished) {
          release();
          controller.close();
        } else controller.enqueue(value);
      } catch (error) {
        release();
        controller.error(error);
      }
    },
    async cancel(reason) {
      release();
      await reader.cancel(reason);
    },
  });
  return new Response(body, { status: response.status, headers: response.headers });
}

/** The export route as a yoga plugin, beside /graphql, /health and /ready; it needs a viewer, as GraphQL does. */
export function useSegmentExport(services: Services, who: (request: Request) => Promise<RequestAuth>): Plugin {
  let running = 0;
  const runningByKey = new Map<string, number>();
  const finished = (key: string) => {
    running--;
    const left = (runningByKey.get(key) ?? 1) - 1;
    if (left > 0) runningByKey.set(key, left);
    else runningByKey.delete(key);
  };
  return {
    async onRequest({ request, url, endResponse }) {
      const match = ROUTE.exec(url.pathname);
      if (!match) return;
      if (request.method !== "GET") {
        endResponse(new Response(null, { status: 405, headers: { allow: "GET" } }));
        return;
      }
      let counted: string | undefined;
      try {
        const auth = await who(request);
        const refused = refusal(auth, "viewer");
        if (refused) {
          endResponse(refusalResponse(refused, auth));
          return;
        }
        const key = auth.keyId ?? "anonymous";
        const busy =
          (runningByKey.get(key) ?? 0) >= MAX_EXPORTS_PER_KEY
            ? `this API key's export is still running (at most ${MAX_EXPORTS_PER_KEY} at once); retry when it has finished`
            : running >= MAX_CONCURRENT_EXPORTS
              ? `${running} exports are running; retry when one has finished`
              : undefined;
        if (busy) {
          endResponse(codedResponse(429, "RATE_LIMITED", busy, { retryAfterSeconds: 10 }, { "retry-after": "10" }));
          return;
        }
        running++;
        runningByKey.set(key, (runningByKey.get(key) ?? 0) + 1);
        counted = key;
        const response = await exportResponse(services, match[1]!, url, request.signal);
        // A CSV holds its slot until read to the end; a failure frees it at once.
        endResponse(releasedWhenDone(response, () => finished(key)));
        counted = undefined;
      } catch (error) {
        if (counted !== undefined) finished(counted);
        // Answered where every request hook's failure is (edge-errors.ts): coded JSON with the request id,
        // the status its code has (404 NOT_FOUND, 422 INVALID_SEGMENT, 503 for a dependency …).
        throw error;
      }
    },
  };
}

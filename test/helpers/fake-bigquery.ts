// A local HTTP endpoint that speaks enough of the BigQuery REST wire format (jobs.query and
// getQueryResults) for the real client library to run against it. No Google service is contacted.
import { createServer, type IncomingMessage, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import type { BigQueryOptions } from "@google-cloud/bigquery";

export interface FakeField {
  name: string;
  type: string;
  /** REPEATED for an array (its cells are lists of { v }); NULLABLE when left out. */
  mode?: "NULLABLE" | "REPEATED";
}

/** A cell as the REST API sends it: text, NULL, or an array's elements. */
export type FakeCell = string | null | { v: FakeCell }[];

export interface FakeAnswer {
  fields: FakeField[];
  rows: FakeCell[][];
  /** Answer `jobComplete: false` first; the rows come from the poll. */
  slow?: boolean;
  /** Fail this many times first with this HTTP status and BigQuery error reason. */
  failFirst?: { times: number; status: number; reason: string };
  /** What a dry run reports it would scan. */
  bytes?: number;
  /** Never answer (a BigQuery that hangs); the connection is dropped when the fake closes. */
  hang?: boolean;
  /** Fail every time with this HTTP status, BigQuery error reason and message (a query BigQuery rejects). */
  fail?: { status: number; reason: string; message: string };
}

export interface RecordedRequest {
  method: string;
  path: string;
  body: Record<string, any> | undefined;
}

export interface FakeBigQuery {
  readonly requests: RecordedRequest[];
  /** Load jobs uploaded (the state writeback), in order. */
  readonly loads: ReceivedLoad[];
  /** Options that point a BigQuery client at this endpoint. */
  readonly clientOptions: BigQueryOptions;
  close(): Promise<void>;
}

/** A load job received as a multipart upload (jobs.insert with media): its configuration and data. */
export interface ReceivedLoad {
  readonly configuration: Record<string, any>;
  readonly data: string;
}

async function readText(request: IncomingMessage): Promise<string> {
  let text = "";
  for await (const chunk of request) text += chunk;
  return text;
}

/** The parts of a multipart body (their headers dropped): the job's JSON, then the data. */
function multipartBodies(text: string, contentType: string): string[] {
  const boundary = /boundary="?([^";]+)"?/.exec(contentType)?.[1];
  if (!boundary) throw new Error(`no boundary in ${contentType}`);
  return text
    .split(`--${boundary}`)
    .slice(1, -1)
    .map((part) => part.slice(part.indexOf("\r\n\r\n") + 4).replace(/\r\n$/, ""));
}

/** A named query parameter as the client sends it (the REST API's QueryParameter). */
export interface WireParameter {
  name: string;
  parameterType: { type: string; arrayType?: { type: string } };
  parameterValue: { value?: string; arrayValues?: { value?: string }[] };
}

/**
 * `params` maps each named parameter to its scalar value (as sent on the wire); `wire` is the
 * parameters as sent, types included.
 */
export type Answerer = (
  sql: string,
  params: Record<string, unknown>,
  wire: readonly WireParameter[],
) => FakeAnswer | Promise<FakeAnswer>;

function scalarParams(parameters: readonly WireParameter[]): Record<string, unknown> {
  return Object.fromEntries(parameters.map((p) => [p.name, p.parameterValue.value]));
}

function failure({ status, reason, message }: { status: number; reason: string; message: string }) {
  return { error: { code: status, message, errors: [{ reason, message }] } };
}

export async function startFakeBigQuery(project: string, answer: Answerer): Promise<FakeBigQuery> {
  const requests: RecordedRequest[] = [];
  const pending = new Map<string, FakeAnswer>();
  let jobs = 0;
  const failures = new Map<string, number>();
  const loads: ReceivedLoad[] = [];
  const server: Server = createServer(async (request, response) => {
    const text = await readText(request);
    const contentType = request.headers["content-type"] ?? "";
    const parts = contentType.startsWith("multipart/") ? multipartBodies(text, contentType) : undefined;
    const body: Record<string, any> | undefined = parts ? JSON.parse(parts[0]!) : text ? JSON.parse(text) : undefined;
    const path = new URL(request.url!, "http://x").pathname;
    requests.push({ method: request.method!, path, body });
    const send = (status: number, payload: unknown) => {
      response.writeHead(status, { "content-type": "application/json" });
      response.end(JSON.stringify(payload));
    };
    const result = (jobId: string, a: FakeAnswer) => ({
      kind: "bigquery#queryResponse",
      jobReference: { projectId: project, jobId, location: "US" },
      jobComplete: true,
      totalRows: String(a.rows.length),
      schema: { fields: a.fields.map((f) => ({ mode: "NULLABLE", ...f })) },
      rows: a.rows.map((row) => ({ f: row.map((v) => ({ v })) })),
    });
    if (request.method === "POST" && path === `/bigquery/v2/projects/${project}/queries`) {
      const jobId = `job_${++jobs}`;
      const wire = (body!.queryParameters ?? []) as WireParameter[];
      const a = await answer(body!.query as string, scalarParams(wire), wire);
      if (a.hang) return;
      if (a.fail) return send(a.fail.status, failure(a.fail));
      const failed = failures.get(body!.query) ?? 0;
      if (a.failFirst && failed < a.failFirst.times) {
        failures.set(body!.query, failed + 1);
        return send(
          a.failFirst.status,
          failure({ status: a.failFirst.status, reason: a.failFirst.reason, message: `fake ${a.failFirst.reason}` }),
        );
      }
      if (a.slow) {
        pending.set(jobId, a);
        return send(200, {
          kind: "bigquery#queryResponse",
          jobReference: { projectId: project, jobId, location: "US" },
          jobComplete: false,
        });
      }
      return send(200, result(jobId, a));
    }
    if (request.method === "POST" && path === `/bigquery/v2/projects/${project}/jobs`) {
      const config = body!.configuration.query;
      const wire = (config.queryParameters ?? []) as WireParameter[];
      const a = await answer(config.query as string, scalarParams(wire), wire);
      if (a.fail) return send(a.fail.status, failure(a.fail));
      // The client names its jobs itself (jobReference.jobId) and polls them by that name.
      const jobId = (body!.jobReference?.jobId as string | undefined) ?? `job_${++jobs}`;
      pending.set(jobId, a);
      return send(200, {
        kind: "bigquery#job",
        jobReference: { projectId: project, jobId, location: "US" },
        configuration: body!.configuration,
        status: { state: "DONE" },
        statistics: { totalBytesProcessed: String(a.bytes ?? 0), query: { totalBytesProcessed: String(a.bytes ?? 0) } },
      });
    }
    if (request.method === "POST" && path === `/upload/bigquery/v2/projects/${project}/jobs` && parts) {
      // A load job with its data: done at once (the client then polls it by name).
      loads.push({ configuration: body!.configuration.load, data: parts[1] ?? "" });
      return send(200, { kind: "bigquery#job", ...body, status: { state: "DONE" } });
    }
    const job = new RegExp(`^/bigquery/v2/projects/${project}/jobs/([^/]+)$`).exec(path);
    if (request.method === "GET" && job) {
      return send(200, {
        kind: "bigquery#job",
        jobReference: { projectId: project, jobId: job[1], location: "US" },
        status: { state: "DONE" },
      });
    }
    const poll = new RegExp(`^/bigquery/v2/projects/${project}/queries/([^/]+)$`).exec(path);
    if (request.method === "GET" && poll && pending.has(poll[1]!)) {
      // jobs.getQueryResults pages: maxResults rows from the offset the pageToken names.
      const search = new URL(request.url!, "http://x").searchParams;
      const all = pending.get(poll[1]!)!;
      if (!search.has("maxResults")) return send(200, result(poll[1]!, all));
      const from = Number(search.get("pageToken") ?? 0);
      const to = from + Number(search.get("maxResults"));
      const page = result(poll[1]!, { ...all, rows: all.rows.slice(from, to) });
      return send(200, {
        ...page,
        totalRows: String(all.rows.length),
        ...(to < all.rows.length ? { pageToken: String(to) } : {}),
      });
    }
    send(404, { error: { code: 404, message: `fake BigQuery has no route ${request.method} ${path}` } });
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as AddressInfo;
  return {
    requests,
    loads,
    clientOptions: {
      apiEndpoint: `http://127.0.0.1:${port}`,
      authClient: { getRequestHeaders: async () => new Headers({ authorization: "Bearer test" }) } as never,
    },
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}

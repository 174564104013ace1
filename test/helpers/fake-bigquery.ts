// A local HTTP endpoint that speaks enough of the BigQuery REST wire format (jobs.query and
// getQueryResults) for the real client library to run against it. No Google service is contacted.
import { createServer, type IncomingMessage, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import type { BigQueryOptions } from "@google-cloud/bigquery";

export interface FakeField {
  name: string;
  type: string;
}

export interface FakeAnswer {
  fields: FakeField[];
  rows: (string | null)[][];
  /** Answer `jobComplete: false` first; the rows come from the poll. */
  slow?: boolean;
  /** Fail this many times first with this HTTP status and BigQuery error reason. */
  failFirst?: { times: number; status: number; reason: string };
  /** What a dry run reports it would scan. */
  bytes?: number;
  /** Never answer (a BigQuery that hangs); the connection is dropped when the fake closes. */
  hang?: boolean;
}

export interface RecordedRequest {
  method: string;
  path: string;
  body: Record<string, any> | undefined;
}

export interface FakeBigQuery {
  readonly requests: RecordedRequest[];
  /** Options that point a BigQuery client at this endpoint. */
  readonly clientOptions: BigQueryOptions;
  close(): Promise<void>;
}

async function readBody(request: IncomingMessage): Promise<Record<string, any> | undefined> {
  let text = "";
  for await (const chunk of request) text += chunk;
  return text ? JSON.parse(text) : undefined;
}

/** `params` maps each named parameter to its scalar value (as sent on the wire). */
export type Answerer = (sql: string, params: Record<string, unknown>) => FakeAnswer;

export async function startFakeBigQuery(project: string, answer: Answerer): Promise<FakeBigQuery> {
  const requests: RecordedRequest[] = [];
  const pending = new Map<string, FakeAnswer>();
  let jobs = 0;
  const failures = new Map<string, number>();
  const server: Server = createServer(async (request, response) => {
    const body = await readBody(request);
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
      schema: { fields: a.fields.map((f) => ({ ...f, mode: "NULLABLE" })) },
      rows: a.rows.map((row) => ({ f: row.map((v) => ({ v })) })),
    });
    if (request.method === "POST" && path === `/bigquery/v2/projects/${project}/queries`) {
      const jobId = `job_${++jobs}`;
      const params = Object.fromEntries(
        ((body!.queryParameters ?? []) as { name: string; parameterValue: { value?: unknown } }[]).map((p) => [
          p.name,
          p.parameterValue.value,
        ]),
      );
      const a = answer(body!.query as string, params);
      if (a.hang) return;
      const failed = failures.get(body!.query) ?? 0;
      if (a.failFirst && failed < a.failFirst.times) {
        failures.set(body!.query, failed + 1);
        return send(a.failFirst.status, {
          error: {
            code: a.failFirst.status,
            message: `fake ${a.failFirst.reason}`,
            errors: [{ reason: a.failFirst.reason, message: "fake" }],
          },
        });
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
      const params = Object.fromEntries(
        ((config.queryParameters ?? []) as { name: string; parameterValue: { value?: unknown } }[]).map((p) => [
          p.name,
          p.parameterValue.value,
        ]),
      );
      const a = answer(config.query as string, params);
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

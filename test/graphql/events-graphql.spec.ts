// Lifecycle events and webhook endpoints over GraphQL: the outbox a refresh writes, read page by page
// by viewers; endpoints managed by admins only (the secret shown once, never listed), refused URLs and
// unknown stages reported with their issues, NOT_FOUND for unknown ids, replay moving the cursor back.
import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { KeyStore } from "../../src/auth/keys.ts";
import { addDays } from "../../src/lifecycle/calendar.ts";
import { startTestServer, type TestServer } from "../helpers/server.ts";
import { METRIC_ROWS } from "../fixtures/metrics.ts";

interface Answer {
  data?: Record<string, any> | null; // eslint-disable-line @typescript-eslint/no-explicit-any
  errors?: { message: string; path?: (string | number)[]; extensions?: Record<string, unknown> }[];
}

let server: TestServer;
let admin: string;
let viewer: string;
let analyst: string;

beforeAll(async () => {
  server = await startTestServer({ rows: METRIC_ROWS, allowAnonymous: false });
  const keys = new KeyStore(server.appDb.prisma);
  admin = (await keys.create("admin", "ops")).secret;
  viewer = (await keys.create("viewer", "dashboard")).secret;
  analyst = (await keys.create("analyst", "crm")).secret;
});
afterAll(async () => {
  await server?.close();
});

async function ask(query: string, secret: string, variables?: Record<string, unknown>): Promise<Answer> {
  const response = await server.yoga.fetch("http://test/graphql", {
    method: "POST",
    headers: { "content-type": "application/json", authorization: `Bearer ${secret}` },
    body: JSON.stringify({ query, variables }),
  });
  return (await response.json()) as Answer;
}

const EVENTS = `query($after: String, $first: Int, $to: [String!]) {
  lifecycleEvents(after: $after, first: $first, toStages: $to) {
    events { id position type customerId day fromStage toStage generation createdAt } endPosition hasMore } }`;
const ENDPOINT = "id url description eventTypes toStages enabled disabledReason cursor attempts createdBy";
const CREATE = `mutation($input: WebhookEndpointInput!) { createWebhookEndpoint(input: $input) { secret endpoint { ${ENDPOINT} } } }`;

describe("lifecycle events", () => {
  it("are what the refreshes found: none for the first state, the changes of the days after it", async () => {
    const state = server.services.state;
    const first = (await state.refresh({ stateDay: "2026-05-31", full: true }))!;
    expect(first.events).toBe(0);
    expect((await ask(EVENTS, viewer)).data!.lifecycleEvents).toEqual({
      events: [],
      endPosition: null,
      hasMore: false,
    });
    const second = (await state.refresh({ stateDay: "2026-06-30" }))!;
    expect(second.events).toBeGreaterThan(0);
    const all = (await ask(EVENTS, viewer, { first: 500 })).data!.lifecycleEvents;
    expect(all.events).toHaveLength(second.events);
    expect(all.hasMore).toBe(false);
    for (const e of all.events) {
      expect(e.type).toBe("STAGE_CHANGED");
      expect(e.generation).toBe(second.generation);
      expect(e.day > addDays("2026-05-31", -3) && e.day <= "2026-06-30").toBe(true);
      expect(e.toStage).not.toBe(e.fromStage);
      // Each change agrees with the stage the customer was in on that day.
      const asked = await ask(`query($id: ID!, $d: Date!) { customer(id: $id, asOf: $d) { stage { key } } }`, viewer, {
        id: e.customerId,
        d: e.day,
      });
      expect(asked.data!.customer.stage.key).toBe(e.toStage);
    }
    // Paged: the same events, in position order.
    const pages: string[] = [];
    let after: string | null = null;
    for (;;) {
      const page: Answer = await ask(EVENTS, viewer, { after, first: 2 });
      pages.push(...page.data!.lifecycleEvents.events.map((e: { id: string }) => e.id));
      after = page.data!.lifecycleEvents.endPosition;
      if (!page.data!.lifecycleEvents.hasMore) break;
    }
    expect(pages).toEqual(all.events.map((e: { id: string }) => e.id));
    const positions = all.events.map((e: { position: string }) => BigInt(e.position));
    expect([...positions].sort((a, b) => (a < b ? -1 : 1))).toEqual(positions);
    // Filtered by target stage.
    const target = all.events[0].toStage;
    const into = (await ask(EVENTS, viewer, { first: 500, to: [target] })).data!.lifecycleEvents.events;
    expect(into.map((e: { id: string }) => e.id)).toEqual(
      all.events.filter((e: { toStage: string }) => e.toStage === target).map((e: { id: string }) => e.id),
    );
    // The same day again finds nothing new.
    expect((await state.refresh({ stateDay: "2026-06-30" }))!.events).toBe(0);
  });

  it("refuses a bad position or page size with the argument named", async () => {
    const bad = await ask(EVENTS, viewer, { after: "abc" });
    expect(bad.errors![0]!.extensions).toMatchObject({ code: "BAD_USER_INPUT", argument: "after" });
    const big = await ask(EVENTS, viewer, { first: 501 });
    expect(big.errors![0]!.extensions!.code).toBe("BAD_USER_INPUT");
  });
});

/** A subscription over SSE: the events it streams, read as they come. */
async function subscribe(query: string, secret: string, variables?: Record<string, unknown>) {
  const controller = new AbortController();
  const response = await server.yoga.fetch("http://test/graphql", {
    method: "POST",
    headers: { "content-type": "application/json", accept: "text/event-stream", authorization: `Bearer ${secret}` },
    body: JSON.stringify({ query, variables }),
    signal: controller.signal,
  });
  expect(response.headers.get("content-type")).toContain("text/event-stream");
  const reader = response.body!.getReader();
  const decoder = new TextDecoder();
  let buffer = "";
  /** The next `n` results (data of `next` events), or fails after `ms`. */
  const next = async (n: number, ms = 10_000): Promise<Answer[]> => {
    const out: Answer[] = [];
    const until = Date.now() + ms;
    while (out.length < n) {
      const blocks = buffer.split("\n\n");
      buffer = blocks.pop()!;
      for (const block of blocks) {
        const data = block.split("\n").find((l) => l.startsWith("data:"));
        if (block.includes("event: next") && data) out.push(JSON.parse(data.slice(5)));
      }
      if (out.length >= n) break;
      if (Date.now() > until) throw new Error(`only ${out.length} of ${n} results in ${ms} ms`);
      const chunk = await Promise.race([
        reader.read(),
        new Promise<{ done: true; value: undefined }>((r) =>
          setTimeout(() => r({ done: true, value: undefined }), until - Date.now()),
        ),
      ]);
      if (chunk.value) buffer += decoder.decode(chunk.value, { stream: true });
    }
    return out;
  };
  return { next, close: () => controller.abort() };
}

const STAGE_CHANGED = `subscription($after: String, $to: [String!]) {
  stageChanged(after: $after, toStages: $to) { id position customerId day toStage } }`;

describe("the stageChanged subscription", () => {
  it("streams each change as a refresh publishes it, and resumes after an event given by id", async () => {
    // A state on 2026-06-30 (the baseline when this test runs alone).
    await server.services.state.refresh({ stateDay: "2026-06-30" });
    // From the end of the outbox as it is now (a subscription without `after` starts whenever it starts).
    const end = (await ask(EVENTS, viewer, { first: 500 })).data!.lifecycleEvents.endPosition;
    const live = await subscribe(STAGE_CHANGED, viewer, { after: end ?? "0" });
    // What the refresh writes arrives, woken by the commit's notification (not the slow poll).
    const outcome = (await server.services.state.refresh({ stateDay: "2026-07-31" }))!;
    expect(outcome.events).toBeGreaterThan(1);
    const started = Date.now();
    const streamed = (await live.next(outcome.events)).map((r) => r.data!.stageChanged);
    expect(Date.now() - started).toBeLessThan(4_000);
    live.close();
    const written = (await ask(EVENTS, viewer, { first: 500 })).data!.lifecycleEvents.events.slice(-outcome.events);
    expect(streamed).toEqual(
      written.map((e: Record<string, unknown>) => ({
        id: e.id,
        position: e.position,
        customerId: e.customerId,
        day: e.day,
        toStage: e.toStage,
      })),
    );
    // Resumed after the first: the rest, at once, from the outbox.
    const resumed = await subscribe(STAGE_CHANGED, viewer, { after: streamed[0].id });
    expect((await resumed.next(outcome.events - 1, 3_000)).map((r) => r.data!.stageChanged.id)).toEqual(
      streamed.slice(1).map((e) => e.id),
    );
    resumed.close();
    // Filtered by target stage, from the start of the outbox.
    const target = streamed[0].toStage;
    const expected = written.filter((e: { toStage: string }) => e.toStage === target);
    const into = await subscribe(STAGE_CHANGED, viewer, { after: "0", to: [target] });
    const all = (await ask(EVENTS, viewer, { first: 500, to: [target] })).data!.lifecycleEvents.events;
    expect((await into.next(all.length, 3_000)).map((r) => r.data!.stageChanged.id)).toEqual(
      all.map((e: { id: string }) => e.id),
    );
    expect(all.slice(-expected.length).map((e: { id: string }) => e.id)).toEqual(
      expected.map((e: { id: string }) => e.id),
    );
    into.close();
  });

  it("refuses an unknown event to resume after, and a caller without a key", async () => {
    const unknown = await subscribe(STAGE_CHANGED, viewer, { after: "evt_nope" });
    const [answer] = await unknown.next(1, 3_000);
    expect(answer!.errors![0]!.extensions).toMatchObject({ code: "NOT_FOUND", argument: "after" });
    unknown.close();
    const response = await server.yoga.fetch("http://test/graphql", {
      method: "POST",
      headers: { "content-type": "application/json", accept: "text/event-stream" },
      body: JSON.stringify({ query: STAGE_CHANGED }),
    });
    expect(response.status).toBe(401);
  });
});

describe("a subscription", () => {
  it("outlives the request deadline, and is refused at once without a key", { timeout: 30_000 }, async () => {
    const short = await startTestServer({ rows: METRIC_ROWS, requestTimeoutMs: 300 });
    const closers: (() => Promise<void>)[] = [];
    try {
      await short.services.state.refresh({ stateDay: "2026-05-31", full: true });
      // Over a real HTTP listener: the stream is pulled in the request's own async context, as in the
      // server (with yoga.fetch the test's reads would pull it, outside the request's scope).
      const http = createServer(short.yoga);
      await new Promise<void>((resolve) => http.listen(0, "127.0.0.1", resolve));
      const response = await fetch(`http://127.0.0.1:${(http.address() as AddressInfo).port}/graphql`, {
        method: "POST",
        headers: { "content-type": "application/json", accept: "text/event-stream" },
        body: JSON.stringify({ query: `subscription { stageChanged(after: "0") { id } }` }),
      });
      closers.push(() => {
        http.closeAllConnections();
        return new Promise((resolve) => http.close(() => resolve()));
      });
      const reader = response.body!.getReader();
      const first = reader.read();
      // Past the deadline, then the refresh: its events still come, without a deadline error.
      await new Promise((r) => setTimeout(r, 600));
      const outcome = (await short.services.state.refresh({ stateDay: "2026-06-30" }))!;
      expect(outcome.events).toBeGreaterThan(0);
      let text = new TextDecoder().decode((await first).value);
      while (!text.includes("event: next")) text += new TextDecoder().decode((await reader.read()).value);
      expect(text).toContain('"stageChanged":{"id":"evt_');
      expect(text).not.toContain("DEADLINE_EXCEEDED");
      await reader.cancel();
    } finally {
      for (const close of closers) await close();
      await short.close();
    }
    // No key on a server that needs one: the subscription is refused when made, not event by event.
    const refused = await server.yoga.fetch("http://test/graphql", {
      method: "POST",
      headers: { "content-type": "application/json", accept: "text/event-stream", authorization: "Bearer clm_nope" },
      body: JSON.stringify({ query: `subscription { stageChanged { id } }` }),
    });
    expect(refused.status).toBe(401);
  });
});

describe("tracked segments", () => {
  it(
    "write who entered and who left at each refresh after the baseline, and stream them",
    { timeout: 60_000 },
    async () => {
      const state = server.services.state;
      await state.refresh({ stateDay: "2026-07-31" });
      const created = await ask(
        `mutation { createSegment(input: { name: "At risk (tracked)", definition: { field: "stage", op: "in", value: ["at_risk", "churned"] } }) { id tracked } }`,
        analyst,
      );
      const segment = created.data!.createSegment;
      expect(segment.tracked).toBe(false);
      // Not tracked yet: a subscription to it is refused with the argument named.
      const early = await subscribe(
        `subscription($id: ID!) { segmentMembershipChanged(segmentId: $id) { id } }`,
        viewer,
        {
          id: segment.id,
        },
      );
      expect((await early.next(1, 3_000))[0]!.errors![0]!.extensions).toMatchObject({
        code: "BAD_USER_INPUT",
        argument: "segmentId",
      });
      early.close();
      const tracked = await ask(`mutation($id: ID!) { trackSegment(id: $id) { id tracked } }`, analyst, {
        id: segment.id,
      });
      expect(tracked.data!.trackSegment).toEqual({ id: segment.id, tracked: true });
      const members = async (day: string) => {
        const answer = await ask(
          `query($id: ID!, $day: Date!) { segment(id: $id) { members(asOf: $day, first: 500) { edges { node { id } } } } }`,
          viewer,
          { id: segment.id, day },
        );
        expect(answer.errors).toBeUndefined();
        return new Set<string>(answer.data!.segment.members.edges.map((e: { node: { id: string } }) => e.node.id));
      };
      const SEGMENT_EVENTS = `query($id: ID) { lifecycleEvents(segmentId: $id, first: 500) { events { id type customerId day segmentId generation } } }`;
      // The first refresh after tracking began is the baseline: no segment events.
      const baseline = (await state.refresh({ stateDay: "2026-08-31" }))!;
      expect((await ask(SEGMENT_EVENTS, viewer, { id: segment.id })).data!.lifecycleEvents.events).toEqual([]);
      const before = await members("2026-08-31");
      const end = (await ask(EVENTS, viewer, { first: 500 })).data!.lifecycleEvents.endPosition;
      const stream = await subscribe(
        `subscription($id: ID!, $after: String) { segmentMembershipChanged(segmentId: $id, after: $after) { id type customerId } }`,
        viewer,
        { id: segment.id, after: end },
      );
      const next = (await state.refresh({ stateDay: "2026-10-31" }))!;
      expect(next.generation).toBeGreaterThan(baseline.generation);
      const after = await members("2026-10-31");
      const events = (await ask(SEGMENT_EVENTS, viewer, { id: segment.id })).data!.lifecycleEvents.events;
      const of = (type: string) =>
        events
          .filter((e: { type: string }) => e.type === type)
          .map((e: { customerId: string }) => e.customerId)
          .sort();
      expect(of("SEGMENT_ENTERED")).toEqual([...after].filter((id) => !before.has(id)).sort());
      expect(of("SEGMENT_LEFT")).toEqual([...before].filter((id) => !after.has(id)).sort());
      expect(events.length).toBeGreaterThan(0);
      for (const e of events)
        expect(e).toMatchObject({ day: "2026-10-31", segmentId: segment.id, generation: next.generation });
      const streamed = (await stream.next(events.length)).map((r) => r.data!.segmentMembershipChanged.id);
      expect(streamed).toEqual(events.map((e: { id: string }) => e.id));
      stream.close();
      // The same day again: nothing new; stageChanged for the segment's members is accepted now.
      expect((await state.refresh({ stateDay: "2026-10-31" }))!.events).toBe(0);
      const members2 = await subscribe(
        `subscription($id: ID!) { stageChanged(segmentId: $id, after: "0") { customerId } }`,
        viewer,
        {
          id: segment.id,
        },
      );
      const first = (await members2.next(1, 3_000))[0]!;
      expect(after.has(first.data!.stageChanged.customerId)).toBe(true);
      members2.close();
      // Untracked: no more segment events, and the subscription is refused again.
      await ask(`mutation($id: ID!) { untrackSegment(id: $id) { tracked } }`, analyst, { id: segment.id });
      await state.refresh({ stateDay: "2026-11-30" });
      expect((await ask(SEGMENT_EVENTS, viewer, { id: segment.id })).data!.lifecycleEvents.events).toHaveLength(
        events.length,
      );
    },
  );

  it("refuse a segment id that is not one", async () => {
    const bad = await ask(`{ lifecycleEvents(segmentId: "nope") { events { id } } }`, viewer);
    expect(bad.errors![0]!.extensions).toMatchObject({ code: "BAD_USER_INPUT", argument: "segmentId" });
    const unknown = await ask(`mutation { trackSegment(id: "00000000-0000-0000-0000-000000000000") { id } }`, analyst);
    expect(unknown.errors![0]!.extensions!.code).toBe("NOT_FOUND");
    expect(
      (await ask(`mutation { trackSegment(id: "00000000-0000-0000-0000-000000000000") { id } }`, viewer)).errors![0]!
        .extensions!.code,
    ).toBe("FORBIDDEN");
  });
});

describe("webhook endpoints", () => {
  it("are for admins only", async () => {
    for (const secret of [viewer, analyst]) {
      const answer = await ask(CREATE, secret, { input: { url: "https://hooks.example.com/clm" } });
      expect(answer.errors![0]!.extensions!.code).toBe("FORBIDDEN");
      expect((await ask(`{ webhookEndpoints { id } }`, secret)).errors![0]!.extensions!.code).toBe("FORBIDDEN");
    }
  });

  it("are created with a secret shown once, listed without it, and managed", async () => {
    const created = await ask(CREATE, admin, {
      input: {
        url: "https://hooks.example.com/clm",
        description: "CRM",
        eventTypes: ["STAGE_CHANGED"],
        toStages: ["at_risk"],
      },
    });
    const { secret, endpoint } = created.data!.createWebhookEndpoint;
    expect(secret).toMatch(/^whsec_[A-Za-z0-9+/]{43}=$/);
    expect(endpoint).toMatchObject({
      url: "https://hooks.example.com/clm",
      description: "CRM",
      eventTypes: ["STAGE_CHANGED"],
      toStages: ["at_risk"],
      enabled: true,
      disabledReason: null,
      attempts: 0,
      createdBy: "ops",
    });
    // It starts at the end of the outbox: what is written from now on.
    const events = (await ask(EVENTS, viewer, { first: 500 })).data!.lifecycleEvents;
    expect(endpoint.cursor).toBe(events.endPosition ?? "0");
    const listed = await ask(`{ webhookEndpoints { ${ENDPOINT} } }`, admin);
    expect(JSON.stringify(listed)).not.toContain(secret);
    expect(listed.data!.webhookEndpoints.map((e: { id: string }) => e.id)).toContain(endpoint.id);

    const id = endpoint.id;
    const disabled = await ask(
      `mutation($id: ID!) { disableWebhookEndpoint(id: $id) { enabled disabledReason } }`,
      admin,
      { id },
    );
    expect(disabled.data!.disableWebhookEndpoint).toEqual({ enabled: false, disabledReason: "disabled by an admin" });
    const enabled = await ask(
      `mutation($id: ID!) { enableWebhookEndpoint(id: $id) { enabled disabledReason } }`,
      admin,
      { id },
    );
    expect(enabled.data!.enableWebhookEndpoint).toEqual({ enabled: true, disabledReason: null });
    const rotated = await ask(`mutation($id: ID!) { rotateWebhookEndpointSecret(id: $id) { secret } }`, admin, { id });
    expect(rotated.data!.rotateWebhookEndpointSecret.secret).toMatch(/^whsec_/);
    expect(rotated.data!.rotateWebhookEndpointSecret.secret).not.toBe(secret);
    const replayed = await ask(
      `mutation($id: ID!, $from: DateTime!) { replayWebhookEndpoint(id: $id, from: $from) { cursor } }`,
      admin,
      {
        id,
        from: "2000-01-01T00:00:00Z",
      },
    );
    expect(replayed.data!.replayWebhookEndpoint.cursor).toBe("0");
    const log = await ask(
      `query($id: ID!) { webhookEndpoint(id: $id) { deliveries(first: 5) { messageId } } }`,
      admin,
      { id },
    );
    expect(log.data!.webhookEndpoint.deliveries).toEqual([]);
    const deleted = await ask(`mutation($id: ID!) { deleteWebhookEndpoint(id: $id) { id } }`, admin, { id });
    expect(deleted.data!.deleteWebhookEndpoint.id).toBe(id);
    const gone = await ask(`query($id: ID!) { webhookEndpoint(id: $id) { id } }`, admin, { id });
    expect(gone.errors![0]!.extensions).toMatchObject({ code: "NOT_FOUND", argument: "id" });
  });

  it("refuse URLs aimed at the server's own network, plain http, and unknown stages, each reported", async () => {
    for (const [url, why] of [
      ["http://hooks.example.com/clm", /must be https/],
      ["http://127.0.0.1:9000/hook", /must be https/],
      ["https://127.0.0.1/hook", /loopback address/],
      ["https://localhost/hook", /loopback name/],
      ["https://10.1.2.3/hook", /private or reserved range/],
      ["https://[fd00::1]/hook", /private or reserved range/],
      ["https://169.254.169.254/latest/meta-data", /private or reserved range/],
      ["https://user:pw@hooks.example.com/", /credentials/],
      ["ftp://hooks.example.com/", /must be https/],
      ["not a url", /not a URL/],
    ] as const) {
      const answer = await ask(CREATE, admin, { input: { url } });
      expect(answer.errors?.[0]?.extensions, url).toMatchObject({ code: "BAD_USER_INPUT", argument: "input" });
      expect(answer.errors![0]!.message, url).toMatch(why);
    }
    const both = await ask(CREATE, admin, { input: { url: "http://10.0.0.1/", toStages: ["vip", "at_risk"] } });
    const issues = both.errors![0]!.extensions!.issues as { path: string[]; message: string }[];
    expect(issues.map((i) => i.path[0])).toEqual(["url", "toStages"]);
    expect(issues[1]!.message).toContain('unknown stage "vip"');
  });
});

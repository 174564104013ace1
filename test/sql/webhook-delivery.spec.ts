// Webhook delivery against a real receiver on loopback: signed batches a Standard Webhooks library
// verifies, the cursor moved only on 2xx, the same batch under the same id after a failure, backoff,
// a hanging receiver timed out, 410 and an expired retry window disabling the endpoint, filters passing
// over events, replay from a time; on the app database of the run (PGlite, or PostgreSQL in CI).
import { createServer, type IncomingMessage, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import pino from "pino";
import { Webhook } from "standardwebhooks";
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from "vitest";
import {
  DELIVERY_DEFAULTS,
  WebhookDelivery,
  type DeliveryOptions,
} from "../../src/services/events/webhook-delivery.ts";
import { newSecret, WebhookEndpoints } from "../../src/services/events/webhooks.ts";
import { openTestAppDatabase, type TestAppDatabase } from "../helpers/databases.ts";

interface Received {
  readonly headers: IncomingMessage["headers"];
  readonly body: string;
}

/** A receiver answering each request with what `answer` says (status, "hang", or "trickle": a byte a tick). */
class Receiver {
  readonly received: Received[] = [];
  answer: () => number | "hang" | "trickle" = () => 204;
  private readonly server: Server = createServer((req, res) => {
    let body = "";
    req.on("data", (c) => (body += c));
    req.on("end", () => {
      this.received.push({ headers: req.headers, body });
      const a = this.answer();
      if (a === "hang") return;
      if (a === "trickle") {
        res.writeHead(200);
        const timer = setInterval(() => (res.writableEnded ? clearInterval(timer) : res.write(".")), 50);
        res.on("close", () => clearInterval(timer));
        return;
      }
      res.writeHead(a).end(a >= 400 ? "receiver says no" : "");
    });
  });
  url = "";
  async start(): Promise<void> {
    await new Promise<void>((resolve) => this.server.listen(0, "127.0.0.1", resolve));
    this.url = `http://127.0.0.1:${(this.server.address() as AddressInfo).port}/hooks`;
  }
  stop(): Promise<void> {
    this.server.closeAllConnections();
    return new Promise((resolve) => this.server.close(() => resolve()));
  }
  /** The customers of each batch received, in order. */
  batches(): string[][] {
    return this.received.map((r) =>
      (JSON.parse(r.body).data.events as { customerId: string }[]).map((e) => e.customerId),
    );
  }
}

const STAGES = ["prospect", "new", "developing", "at_risk", "churned"];
const policy = { allowLoopback: true, allowPrivate: false };

describe("webhook delivery", () => {
  let db: TestAppDatabase;
  let receiver: Receiver;
  let endpoints: WebhookEndpoints;
  const workers: WebhookDelivery[] = [];
  const worker = (options: Partial<DeliveryOptions> = {}) => {
    const w = new WebhookDelivery(
      async () => db.sql,
      { ...DELIVERY_DEFAULTS, policy, retryFirstMs: 1, retryMaxMs: 1, ...options },
      pino({ level: "silent" }),
    );
    workers.push(w);
    return w;
  };
  let day = 0;
  /** Writes events into the outbox as a refresh would (one transaction, generation `g`). */
  const write = async (changes: [customer: string, to: string][], g = 1) => {
    await db.sql.transaction(async (tx) => {
      for (const [customer, to] of changes) {
        day++;
        await tx.query(
          `INSERT INTO lifecycle_event (id, type, customer_id, day, from_stage, to_stage, generation)
           VALUES ($1, 'stage.changed', $2, DATE '2026-01-01' + $3::int, NULL, $4, $5)`,
          [`evt_${customer}_${day}`, customer, day, to, g],
        );
      }
    });
  };
  const endpoint = async (id: string) => endpoints.get(id);

  beforeAll(async () => {
    db = await openTestAppDatabase();
  });
  afterAll(async () => {
    await db?.close();
  });
  beforeEach(async () => {
    await db.sql.query(`DELETE FROM webhook_endpoint`);
    await db.sql.query(`DELETE FROM lifecycle_event`);
    receiver = new Receiver();
    await receiver.start();
    endpoints = new WebhookEndpoints(async () => db.sql, policy, STAGES);
  });
  afterEach(async () => {
    await Promise.all(workers.splice(0).map((w) => w.stop()));
    await receiver.stop();
  });

  it("posts the events written after the endpoint was made, signed, and moves the cursor on 2xx", async () => {
    await write([["before", "new"]]);
    const { endpoint: e, secret } = await endpoints.create({ url: receiver.url }, "test");
    await write([
      ["a", "new"],
      ["b", "at_risk"],
    ]);
    await worker().turn();
    expect(receiver.received).toHaveLength(1);
    const [got] = receiver.received;
    // A Standard Webhooks verifier accepts it with the secret shown once, and not with another.
    const verified = new Webhook(secret).verify(got!.body, got!.headers as Record<string, string>) as {
      type: string;
      data: { events: { id: string; customerId: string; toStage: string; fromStage: null; day: string }[] };
    };
    expect(verified.type).toBe("lifecycle.events");
    expect(verified.data.events.map((x) => [x.customerId, x.toStage])).toEqual([
      ["a", "new"],
      ["b", "at_risk"],
    ]);
    expect(() => new Webhook(newSecret()).verify(got!.body, got!.headers as Record<string, string>)).toThrow();
    const after = await endpoint(e.id);
    expect(after.pendingThrough).toBeNull();
    expect(after.attempts).toBe(0);
    // Nothing new: nothing posted.
    await worker().turn();
    expect(receiver.received).toHaveLength(1);
    const log = await endpoints.attempts(e.id, 10);
    expect(log.map((a) => [a.succeeded, a.status, a.events, a.attempt])).toEqual([[true, 204, 2, 1]]);
  });

  it("retries a failed batch as the same message, with backoff, until it is taken", async () => {
    const { endpoint: e } = await endpoints.create({ url: receiver.url }, "test");
    await write([
      ["a", "new"],
      ["b", "new"],
    ]);
    receiver.answer = () => 503;
    const w = worker({ retryFirstMs: 60_000, retryMaxMs: 60_000 });
    await w.turn();
    let now = await endpoint(e.id);
    expect(now.attempts).toBe(1);
    expect(now.failingSince).not.toBeNull();
    // Waiting between 30 and 60 s (full jitter over the first wait): not due on the next turn.
    expect(now.nextAttemptAt!.getTime() - Date.now()).toBeGreaterThan(25_000);
    await w.turn();
    expect(receiver.received).toHaveLength(1);
    // An event written meanwhile does not join the batch being tried.
    await write([["c", "new"]]);
    await db.sql.query(`UPDATE webhook_endpoint SET next_attempt_at = now() - interval '1 second'`);
    receiver.answer = () => 200;
    await w.turn();
    expect(receiver.received).toHaveLength(2);
    const [first, second] = receiver.received;
    expect(second!.headers["webhook-id"]).toBe(first!.headers["webhook-id"]);
    expect(second!.body.includes('"c"')).toBe(false);
    now = await endpoint(e.id);
    expect([now.attempts, now.failingSince, now.pendingThrough]).toEqual([0, null, null]);
    // Then the next batch, under a new id.
    await w.turn();
    expect(receiver.received).toHaveLength(3);
    expect(receiver.received[2]!.headers["webhook-id"]).not.toBe(first!.headers["webhook-id"]);
    expect(receiver.batches()).toEqual([["a", "b"], ["a", "b"], ["c"]]);
    const log = await endpoints.attempts(e.id, 10);
    expect(log.map((a) => [a.attempt, a.succeeded, a.status])).toEqual([
      [1, true, 200],
      [2, true, 200],
      [1, false, 503],
    ]);
    expect(log[2]!.error).toContain("receiver says no");
  });

  it("gives up on a receiver that does not answer in time, and retries it", async () => {
    const { endpoint: e } = await endpoints.create({ url: receiver.url }, "test");
    await write([["a", "new"]]);
    receiver.answer = () => "hang";
    await worker({ timeoutMs: 200 }).turn();
    const [attempt] = await endpoints.attempts(e.id, 1);
    expect(attempt!.succeeded).toBe(false);
    expect(attempt!.status).toBeNull();
    expect(attempt!.error).toMatch(/no answer within 200 ms/);
    expect((await endpoint(e.id)).attempts).toBe(1);
  });

  it("cuts off a receiver that trickles its answer past the timeout", async () => {
    const { endpoint: e } = await endpoints.create({ url: receiver.url }, "test");
    await write([["a", "new"]]);
    receiver.answer = () => "trickle";
    const started = Date.now();
    await worker({ timeoutMs: 300 }).turn();
    expect(Date.now() - started).toBeLessThan(2_000);
    const [attempt] = await endpoints.attempts(e.id, 1);
    expect(attempt).toMatchObject({ succeeded: false, error: "no answer within 300 ms" });
  });

  it("does not post to an address in the URL that the worker's settings refuse", async () => {
    // Saved while loopback was allowed (the receiver's address is written in the URL).
    const { endpoint: e } = await endpoints.create({ url: receiver.url }, "test");
    await write([["a", "new"]]);
    await worker({ policy: { allowLoopback: false, allowPrivate: true } }).turn();
    expect(receiver.received).toHaveLength(0);
    const [attempt] = await endpoints.attempts(e.id, 1);
    expect(attempt!.error).toMatch(/^refused target: 127\.0\.0\.1 is a loopback address/);
  });

  it("disables an endpoint that answers 410 Gone, or fails for the whole retry window", async () => {
    const gone = (await endpoints.create({ url: receiver.url }, "test")).endpoint;
    await write([["a", "new"]]);
    receiver.answer = () => 410;
    await worker().turn();
    expect(await endpoint(gone.id)).toMatchObject({ enabled: false, disabledReason: "the receiver answered 410 Gone" });
    await endpoints.delete(gone.id);

    const failing = (await endpoints.create({ url: receiver.url }, "test")).endpoint;
    await write([["b", "new"]]);
    receiver.answer = () => 500;
    const w = worker({ retryWindowMs: 50 });
    await w.turn();
    expect((await endpoint(failing.id)).enabled).toBe(true);
    await new Promise((r) => setTimeout(r, 80));
    await db.sql.query(`UPDATE webhook_endpoint SET next_attempt_at = NULL`);
    await w.turn();
    const disabled = await endpoint(failing.id);
    expect(disabled.enabled).toBe(false);
    expect(disabled.disabledReason).toMatch(/^failing since .* \(2 attempts\); last: HTTP 500/);
    // Disabled: not tried; enabled again: the same batch goes out.
    receiver.answer = () => 200;
    const before = receiver.received.length;
    await w.turn();
    expect(receiver.received).toHaveLength(before);
    await endpoints.setEnabled(failing.id, true);
    await w.turn();
    expect(receiver.received).toHaveLength(before + 1);
    expect((await endpoint(failing.id)).pendingThrough).toBeNull();
  });

  it("passes over events its filters leave out, and replays from a time", async () => {
    const { endpoint: e } = await endpoints.create({ url: receiver.url, toStages: ["at_risk"] }, "test");
    await write([
      ["a", "new"],
      ["b", "at_risk"],
      ["c", "churned"],
    ]);
    const w = worker();
    await w.turn();
    expect(receiver.batches()).toEqual([["b"]]);
    const all = await db.sql.query<{ p: string }>(`SELECT MAX(position)::text AS p FROM lifecycle_event`);
    expect((await endpoint(e.id)).cursor.toString()).toBe(all[0]!.p);
    await endpoints.replayFrom(e.id, new Date(0));
    await w.turn();
    expect(receiver.batches()).toEqual([["b"], ["b"]]);
    // Replayed events keep their ids (receivers deduplicate by them).
    const ids = receiver.received.map((r) => JSON.parse(r.body).data.events[0].id);
    expect(ids[1]).toBe(ids[0]);
  });

  it("checks the address a name resolves to when it connects, not only the URL saved", async () => {
    // Saved while loopback was allowed; the worker no longer allows it: localhost resolves to loopback.
    const { endpoint: e } = await endpoints.create({ url: receiver.url.replace("127.0.0.1", "localhost") }, "test");
    await write([["a", "new"]]);
    await worker({ policy: { allowLoopback: false, allowPrivate: false } }).turn();
    expect(receiver.received).toHaveLength(0);
    const [attempt] = await endpoints.attempts(e.id, 1);
    expect(attempt!.error).toMatch(/refused target: .* is a loopback address/);
  });

  it("delivers big backlogs in batches of the configured size, in order", async () => {
    // Positions cross from two digits to three: the feed orders them as numbers.
    await db.sql.query(`SELECT setval(pg_get_serial_sequence('lifecycle_event', 'position'), 90)`);
    const { endpoint: e } = await endpoints.create({ url: receiver.url }, "test");
    await write(Array.from({ length: 25 }, (_, i) => [`c${i}`, "new"] as [string, string]));
    const w = worker({ batchSize: 10 });
    for (let i = 0; i < 3; i++) await w.turn();
    expect(receiver.batches().map((b) => b.length)).toEqual([10, 10, 5]);
    expect(receiver.batches().flat()).toEqual(Array.from({ length: 25 }, (_, i) => `c${i}`));
    expect((await endpoint(e.id)).pendingThrough).toBeNull();
  });
});

// Revocations made by other processes on a PostgreSQL app database (`clm keys revoke`, another server
// instance): KeyStore.revoke notifies this channel with the key's id in the transaction that revokes it,
// and every server LISTENs on its own connection and drops the key from its cache (./key-cache.ts). While
// the connection is down the cache holds nothing, so no revocation can go unheard; it reconnects by itself.
import pg from "pg";
import type { Logger } from "pino";
import { KEY_REVOKED_CHANNEL } from "./api-key.ts";
import type { KeyCache } from "./key-cache.ts";

/** Reconnection waits double from the first to the last. */
const RETRY_FIRST_MS = 250;
const RETRY_MAX_MS = 5_000;
/**
 * A connection can die without an error (a half-open TCP connection): a query every so often proves it
 * alive, and one that does not answer in time counts as a lost connection.
 */
const PING_EVERY_MS = 5_000;
const PING_TIMEOUT_MS = 2_000;

export class RevocationListener {
  private client: pg.Client | undefined;
  private closed = false;
  private retryMs = RETRY_FIRST_MS;
  private retryTimer: NodeJS.Timeout | undefined;
  private pingTimer: NodeJS.Timeout | undefined;

  private constructor(
    private readonly url: string,
    private readonly cache: KeyCache,
    private readonly log: Logger,
  ) {}

  /** Starts listening; resolves after the first attempt (the cache stays off until one succeeds). */
  static async start(url: string, cache: KeyCache, log: Logger): Promise<RevocationListener> {
    const listener = new RevocationListener(url, cache, log);
    await listener.connect();
    return listener;
  }

  private async connect(): Promise<void> {
    // Stryker disable next-line ConditionalExpression: unreachable after close(), which clears the retry timer first
    if (this.closed) return;
    const client = new pg.Client({
      connectionString: this.url,
      application_name: "clm-graphql-key-revocations",
      connectionTimeoutMillis: 5_000,
      keepAlive: true,
    });
    this.client = client;
    // Once: a lost client is no longer this.client (nor is one close() let go).
    const onLost = (error?: Error) => {
      if (this.client !== client) return;
      this.client = undefined;
      clearInterval(this.pingTimer);
      this.cache.setListening(false);
      client.removeAllListeners("notification");
      client.end().catch(() => {});
      // Stryker disable next-line ConditionalExpression: unreachable: close() lets this.client go first
      if (this.closed) return;
      this.log.warn(
        { err: error, retryInMs: this.retryMs },
        "API key revocation listener lost its connection: keys are looked up on every request until it is back",
      );
      this.retryTimer = setTimeout(() => void this.connect(), this.retryMs);
      this.retryTimer.unref();
      this.retryMs = Math.min(RETRY_MAX_MS, this.retryMs * 2);
    };
    client.on("error", onLost);
    client.on("end", () => onLost());
    client.on("notification", (message) => {
      if (message.channel === KEY_REVOKED_CHANNEL && message.payload) this.cache.dropKey(message.payload);
    });
    try {
      await client.connect();
      await client.query(`LISTEN ${KEY_REVOKED_CHANNEL}`);
    } catch (error) {
      onLost(error as Error);
      return;
    }
    if (this.client !== client) return;
    this.retryMs = RETRY_FIRST_MS;
    this.cache.setListening(true);
    this.pingTimer = setInterval(() => {
      let timer: NodeJS.Timeout | undefined;
      const timeout = new Promise<never>((_, reject) => {
        timer = setTimeout(() => reject(new Error(`no answer within ${PING_TIMEOUT_MS} ms`)), PING_TIMEOUT_MS);
      });
      Promise.race([client.query("SELECT 1"), timeout])
        .catch((error: Error) => onLost(error))
        .finally(() => clearTimeout(timer));
    }, PING_EVERY_MS);
    this.pingTimer.unref();
  }

  /** Whether revocations are being heard now. */
  get listening(): boolean {
    return this.client !== undefined && this.cache.active;
  }

  async close(): Promise<void> {
    // Stryker disable next-line BooleanLiteral: read only by the two guards above, which close() makes unreachable
    this.closed = true;
    clearTimeout(this.retryTimer);
    clearInterval(this.pingTimer);
    const client = this.client;
    this.client = undefined;
    this.cache.setListening(false);
    await client?.end().catch(() => {});
  }
}

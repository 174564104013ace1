// Requests per minute per caller (an API key, or the client address for anonymous requests), with
// rate-limiter-flexible: in memory, or in Redis when REDIS_URL is set so that several instances count
// together (falling back to memory when Redis does not answer, rather than refusing everyone).
import { Redis } from "ioredis";
import { RateLimiterMemory, RateLimiterRedis, RateLimiterRes, type RateLimiterAbstract } from "rate-limiter-flexible";

export class RateLimit {
  private readonly limiter: RateLimiterAbstract;
  private readonly redis: Redis | undefined;

  constructor(
    readonly perMinute: number,
    redisUrl?: string,
  ) {
    const memory = new RateLimiterMemory({ points: perMinute, duration: 60, keyPrefix: "clm_rate" });
    if (redisUrl) {
      this.redis = new Redis(redisUrl, { enableOfflineQueue: false, maxRetriesPerRequest: 0, commandTimeout: 250 });
      this.redis.on("error", () => {}); // the cache logs Redis' state; here the memory limiter takes over
      this.limiter = new RateLimiterRedis({
        storeClient: this.redis,
        points: perMinute,
        duration: 60,
        keyPrefix: "clm_rate",
        insuranceLimiter: memory,
      });
    } else {
      this.limiter = memory;
    }
  }

  /** Counts one request of `caller`: null when allowed, else why not and when to retry. */
  async check(caller: string): Promise<{ message: string; retryAfterSeconds: number } | null> {
    try {
      await this.limiter.consume(caller);
      return null;
    } catch (rejection) {
      if (!(rejection instanceof RateLimiterRes)) throw rejection;
      const retryAfterSeconds = Math.max(1, Math.ceil(rejection.msBeforeNext / 1000));
      return {
        message: `rate limit: at most ${this.perMinute} requests per minute for this caller; retry in ${retryAfterSeconds} s`,
        retryAfterSeconds,
      };
    }
  }

  close(): void {
    this.redis?.disconnect();
  }
}

/** The client's address of a request served by node:http (yoga's server context); "unknown" in process (tests). */
export function clientAddress(serverContext: unknown): string {
  return (
    (serverContext as { req?: { socket?: { remoteAddress?: string } } } | undefined)?.req?.socket?.remoteAddress ??
    "unknown"
  );
}

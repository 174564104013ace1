// A deterministic demo shop: people become known through acquisition channels (some never buy),
// buyers purchase at heterogeneous rates and drop out (the BG/NBD story), spend varies per customer
// (the Gamma-Gamma story), some refer others, paid channels cost money every day, and visits, sign-ups,
// leads, newsletter subscriptions, quote requests and survey scores are recorded as events. Before the
// first purchase each person walks the pre-purchase funnel: a first visit (attraction), then perhaps a
// lead form or a subscription (interest), then perhaps a quote request (evaluation); buyers mostly went
// through them, and the further someone got the likelier they bought. Every draw comes from seeded
// generators: one for the shop, one for the pre-purchase journey (so the journey leaves the shop's own
// draws, and the answers tests pin on them, as they were).
import type { ContractRow, WarehouseWriter } from "../connectors/connector.ts";
import type { LogicalTable } from "../sql/contract.ts";
import { Random } from "../lifecycle/random.ts";

export interface DemoOptions {
  readonly customers: number;
  readonly seed?: number;
  /** Last day of the history, "YYYY-MM-DD" (UTC); the history covers the two years before it. */
  readonly endDate: string;
  readonly historyDays?: number;
  /**
   * Multiplies buyers' purchase rates and divides their drop-out chance (default 1): about that many
   * times the transactions from the same people over the same window, for benchmark sizes.
   */
  readonly intensity?: number;
  /** Called after each block of customers with the number done so far. */
  readonly onProgress?: (customersDone: number) => void;
}

export type DemoCounts = Record<LogicalTable, number>;

const DAY_MS = 86_400_000;
const FLUSH_ROWS = 50_000;

const ACQUISITION = { organic_search: 30, paid_search: 22, social: 15, email: 10, referral: 13, display: 10 } as const;
type AcquisitionChannel = keyof typeof ACQUISITION;

/** What acquiring one person costs per paid channel, before daily noise. */
const COST_PER_ACQUISITION: Partial<Record<AcquisitionChannel, number>> = {
  paid_search: 14,
  social: 11,
  display: 18,
  email: 3,
};

/** Channel quality: share who never buy, and a multiplier on purchase rate. */
const CHANNEL_PROFILE: Record<AcquisitionChannel, { leadOnly: number; rate: number }> = {
  organic_search: { leadOnly: 0.38, rate: 1.0 },
  paid_search: { leadOnly: 0.45, rate: 0.9 },
  social: { leadOnly: 0.55, rate: 0.8 },
  email: { leadOnly: 0.3, rate: 1.2 },
  referral: { leadOnly: 0.25, rate: 1.3 },
  display: { leadOnly: 0.6, rate: 0.7 },
};

const SALES_CHANNEL = { web: 70, app: 25, store: 5 } as const;

/**
 * The pre-purchase journey: the chance to show interest (a lead form or a newsletter subscription) and,
 * once interested, to ask for a quote; buyers first, then the others (who, by the channel's quality, show
 * interest less often). Days are the mean wait after the step before, for those who do not buy.
 */
const JOURNEY = {
  buyerInterest: 0.8,
  buyerQuote: 0.55,
  otherInterest: (leadOnly: number) => 0.55 - 0.4 * leadOnly,
  otherQuote: 0.3,
  interestDays: 4,
  quoteDays: 9,
} as const;

export function formatDay(ms: number): string {
  return new Date(ms).toISOString().slice(0, 10);
}

export async function generateDemoData(
  sink: Pick<WarehouseWriter, "append">,
  options: DemoOptions,
): Promise<DemoCounts> {
  const random = new Random(options.seed ?? 42);
  const journey = new Random((options.seed ?? 42) + 1);
  const endMs = Date.parse(`${options.endDate}T00:00:00Z`) + DAY_MS - 1;
  if (Number.isNaN(endMs)) throw new Error(`endDate must be YYYY-MM-DD, got ${JSON.stringify(options.endDate)}`);
  const historyDays = options.historyDays ?? 730;
  const intensity = options.intensity ?? 1;
  if (!(intensity >= 1)) throw new Error(`intensity must be at least 1, got ${intensity}`);
  const startMs = endMs + 1 - historyDays * DAY_MS;
  const idWidth = Math.max(6, String(options.customers).length);

  const buffers: Record<LogicalTable, ContractRow[]> = {
    transactions: [],
    customers: [],
    events: [],
    marketing_spend: [],
  };
  const counts: DemoCounts = { transactions: 0, customers: 0, events: 0, marketing_spend: 0 };
  const flush = async (table: LogicalTable, force = false) => {
    const rows = buffers[table];
    if (rows.length === 0 || (!force && rows.length < FLUSH_ROWS)) return;
    counts[table] += rows.length;
    buffers[table] = [];
    await sink.append(table, rows);
  };

  // People arrive in time order, a little faster as the shop grows (density rising with time).
  const arrivals = Array.from(
    { length: options.customers },
    () => startMs + Math.sqrt(random.uniform()) * (endMs - startMs),
  );
  arrivals.sort((a, b) => a - b);

  // The pre-purchase steps, from the journey's own generator.
  const interestEvent = () => (journey.chance(0.5) ? "lead" : "subscribe");
  /** Interest and a quote request between the first contact and the first purchase, for those who took them. */
  const preparePurchase = (id: string, contactAt: number, purchaseAt: number) => {
    if (!journey.chance(JOURNEY.buyerInterest)) return;
    const interestAt = contactAt + Math.floor(journey.uniform() * (purchaseAt - contactAt));
    buffers.events.push([id, interestAt, interestEvent(), null]);
    if (journey.chance(JOURNEY.buyerQuote)) {
      buffers.events.push([
        id,
        interestAt + Math.floor(journey.uniform() * (purchaseAt - interestAt)),
        "quote_request",
        null,
      ]);
    }
  };
  /** Interest and a quote request at their own pace, for someone who never buys. */
  const journeyWithoutPurchase = (id: string, contactAt: number, leadOnly: number) => {
    if (!journey.chance(JOURNEY.otherInterest(leadOnly))) return;
    const interestAt = contactAt + Math.floor(journey.exponential(JOURNEY.interestDays * DAY_MS));
    if (interestAt > endMs) return;
    buffers.events.push([id, interestAt, interestEvent(), null]);
    if (!journey.chance(JOURNEY.otherQuote)) return;
    const quoteAt = interestAt + Math.floor(journey.exponential(JOURNEY.quoteDays * DAY_MS));
    if (quoteAt <= endMs) buffers.events.push([id, quoteAt, "quote_request", null]);
  };

  const buyers: string[] = [];
  const acquiredPerDay = new Map<number, Partial<Record<AcquisitionChannel, number>>>();
  let orderSeq = 0;

  for (let i = 0; i < options.customers; i++) {
    const id = `c${String(i + 1).padStart(idWidth, "0")}`;
    const createdAt = Math.floor(arrivals[i]!);
    let channel: AcquisitionChannel = random.weighted(ACQUISITION);
    if (channel === "referral" && buyers.length === 0) channel = "organic_search";
    const referredBy = channel === "referral" ? buyers[random.int(buyers.length)]! : null;
    buffers.customers.push([id, createdAt, channel, referredBy]);

    const day = Math.floor(createdAt / DAY_MS);
    const perChannel = acquiredPerDay.get(day) ?? {};
    perChannel[channel] = (perChannel[channel] ?? 0) + 1;
    acquiredPerDay.set(day, perChannel);

    // First contact: a visit (attraction).
    buffers.events.push([id, createdAt, "visit", null]);
    const signsUp = random.chance(0.6);
    if (signsUp) {
      buffers.events.push([
        id,
        Math.min(endMs, createdAt + Math.floor(random.exponential(3_600_000))),
        "sign_up",
        null,
      ]);
    }

    const profile = CHANNEL_PROFILE[channel];
    const buys = random.uniform() >= profile.leadOnly;
    // Latent traits: purchase rate per day (Gamma), drop-out chance after each purchase (Beta),
    // mean spend (Gamma-Gamma), satisfaction (drives survey scores).
    const ratePerDay = random.gamma(0.9, 1 / 30) * profile.rate * intensity;
    const dropout = random.beta(0.8, 3.2) / intensity;
    const spendScale = random.gamma(3.5, 1);
    const satisfaction = random.normal();

    let visits = random.poisson(2);
    if (buys) {
      buyers.push(id);
      let t = createdAt + (random.chance(0.3) ? random.uniform() * 3_600_000 * 4 : random.exponential(9 * DAY_MS));
      if (t <= endMs) preparePurchase(id, createdAt, Math.floor(t));
      while (t <= endMs) {
        const orders = random.chance(0.05) ? 2 : 1;
        for (let o = 0; o < orders; o++) {
          const amount = Math.max(1, Math.round(random.gamma(6, 11 / spendScale) * 100 * 2.4) / 100);
          orderSeq++;
          buffers.transactions.push([
            id,
            Math.min(endMs, Math.floor(t) + o * 600_000),
            amount,
            `o${orderSeq}`,
            random.weighted(SALES_CHANNEL),
          ]);
        }
        visits += 1 + random.poisson(1.5);
        if (random.chance(0.12)) {
          const score = Math.round(Math.min(10, Math.max(0, 7.5 + 2 * satisfaction + random.normal())));
          const surveyAt = t + DAY_MS * (1 + random.int(5));
          if (surveyAt <= endMs) buffers.events.push([id, Math.floor(surveyAt), "nps", score]);
        }
        if (random.chance(dropout)) break;
        t += random.exponential(1 / Math.max(ratePerDay, 1e-4)) * DAY_MS;
        // Purchases cluster in the daytime: keep the time of day plausible without moving the day.
        t = Math.floor(t / DAY_MS) * DAY_MS + (8 + random.int(14)) * 3_600_000 + random.int(3_600_000);
      }
    } else journeyWithoutPurchase(id, createdAt, profile.leadOnly);
    for (let v = 0; v < visits; v++) {
      const visitAt = createdAt + random.uniform() * (endMs - createdAt);
      buffers.events.push([id, Math.floor(visitAt), "visit", null]);
    }

    await flush("customers");
    await flush("transactions");
    await flush("events");
    if ((i + 1) % 10_000 === 0) options.onProgress?.(i + 1);
  }

  for (let day = Math.floor(startMs / DAY_MS); day <= Math.floor(endMs / DAY_MS); day++) {
    const acquired = acquiredPerDay.get(day) ?? {};
    for (const [channel, cost] of Object.entries(COST_PER_ACQUISITION) as [AcquisitionChannel, number][]) {
      // Spend runs every day (always-on campaigns) and scales with what it brings in.
      const base = cost * (0.5 + (acquired[channel] ?? 0)) * Math.exp(0.25 * random.normal());
      buffers.marketing_spend.push([formatDay(day * DAY_MS), channel, Math.round(base * 100) / 100]);
    }
  }

  for (const table of Object.keys(buffers) as LogicalTable[]) await flush(table, true);
  options.onProgress?.(options.customers);
  return counts;
}

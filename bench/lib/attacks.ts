// The attacks of the abuse suite (`npm run abuse`, bench/abuse.ts) and the isolation benchmark
// (bench/isolation.ts): one key attacks a server as the hostile tester did while a second key keeps
// sending a cheap query (one customer's stage, every 20 ms); what each side got back is returned.
import { performance } from "node:perf_hooks";
import { sleep, type RunningServer } from "./servers.ts";

const VICTIM_EVERY_MS = 20;
const REQUEST_TIMEOUT_MS = 60_000;

/** The victim's query. */
export const VICTIM_QUERY = `query($id: ID!) { customer(id: $id) { stage { key } } }`;
export { VICTIM_EVERY_MS };

export interface Answer {
  readonly ms: number;
  readonly codes: string[];
  readonly bytes: number;
}

export async function send(url: string, key: string, query: string, variables?: unknown): Promise<Answer> {
  const started = performance.now();
  try {
    const response = await fetch(`${url}/graphql`, {
      method: "POST",
      headers: { "content-type": "application/json", authorization: `Bearer ${key}` },
      body: JSON.stringify({ query, variables }),
      signal: AbortSignal.timeout(REQUEST_TIMEOUT_MS),
    });
    const text = await response.text();
    let codes: string[] = [];
    try {
      const body = JSON.parse(text) as { errors?: { extensions?: { code?: string } }[] };
      codes = (body.errors ?? []).map((e) => e.extensions?.code ?? "NO_CODE");
    } catch {
      codes = [`HTTP_${response.status}_NOT_JSON`];
    }
    return { ms: performance.now() - started, codes, bytes: text.length };
  } catch (error) {
    return { ms: performance.now() - started, codes: [(error as Error).name], bytes: 0 };
  }
}

export const percentile = (sorted: number[], p: number) =>
  sorted.length === 0 ? NaN : sorted[Math.min(sorted.length - 1, Math.floor(p * sorted.length))]!;

export function counts(answers: Answer[]): string {
  const byCode = new Map<string, number>();
  for (const a of answers)
    for (const c of new Set(a.codes.length ? a.codes : ["OK"])) byCode.set(c, (byCode.get(c) ?? 0) + 1);
  return [...byCode].map(([c, n]) => `${c} ${n}`).join(", ");
}

/** Attacks as the hostile tester ran them; each returns the attacker's next request. */
export interface Attack {
  readonly key: string;
  readonly name: string;
  readonly workers: number;
  request(i: number): [string, unknown?];
  /** Something done to the server's surroundings for the round (the app database going away). */
  readonly around?: { begin(): Promise<void>; end(): Promise<void> };
}

/** A document of `count` aliased fields, field k written by `field(k)`. */
function aliased(count: number, field: (k: number) => string): string {
  return `{ ${Array.from({ length: count }, (_, k) => field(k)).join(" ")} }`;
}

export const ATTACKS: Attack[] = [
  { key: "baseline", name: "none (baseline)", workers: 0, request: () => ["{ __typename }"] },
  {
    key: "pool",
    name: "pool: 40 aliased stageTimings per request, 4 at once",
    workers: 4,
    request: (i) => [
      aliased(
        40,
        (k) =>
          `t${k}: stageTimings(from: "2025-01-01", to: "2026-0${(k % 6) + 1}-${String(((i + k) % 28) + 1).padStart(2, "0")}", stepDays: ${20 + k}) { entries }`,
      ),
    ],
  },
  {
    key: "cost",
    name: "cost by variables: stages > customers(first: $n) > stage > customers(first: $n), n = 500",
    workers: 4,
    request: () => [
      `query($n: Int) { stages { customers(first: $n) { edges { node { id stage { customers(first: $n) { edges { node { id } } } } } } } } }`,
      { n: 500 },
    ],
  },
  {
    key: "cpu",
    name: "CPU: 10 aliased Pareto/NBD clvModel fits per request, 2 at once",
    workers: 2,
    request: (i) => [
      aliased(
        10,
        (k) =>
          `f${k}: clvModel(asOf: "2026-${String((k % 9) + 1).padStart(2, "0")}-${String((i % 27) + 1).padStart(2, "0")}", timeUnit: WEEK, model: PARETO_NBD) { customers }`,
      ),
    ],
  },
  {
    key: "nul",
    name: "NUL id in the shared lookup batch, 8 at once",
    workers: 8,
    request: (i) => [`query($id: ID!) { customer(id: $id) { id } }`, { id: `c${i}\u0000x` }],
  },
];

/** What each side got during one attack. */
export interface AttackRound {
  readonly victim: Answer[];
  readonly attacker: Answer[];
}

/**
 * Runs `attack` for `seconds` with the victim's lookups beside it (ids of `customers` people written as
 * the demo writes them, `idWidth` digits).
 */
export async function runAttack(
  server: RunningServer,
  keys: { attacker: string; victim: string },
  attack: Attack,
  options: { seconds: number; customers: number; idWidth: number },
): Promise<AttackRound> {
  await attack.around?.begin();
  const until = performance.now() + options.seconds * 1000;
  const attacker: Answer[] = [];
  const workers = Array.from({ length: attack.workers }, async (_, w) => {
    for (let i = w; performance.now() < until; i += attack.workers) {
      const [query, variables] = attack.request(i);
      attacker.push(await send(server.url, keys.attacker, query, variables));
    }
  });
  await sleep(200);
  const victim: Answer[] = [];
  for (let i = 0; performance.now() < until; i++) {
    const id = `c${String(((i * 37) % options.customers) + 1).padStart(options.idWidth, "0")}`;
    victim.push(await send(server.url, keys.victim, VICTIM_QUERY, { id }));
    await sleep(VICTIM_EVERY_MS);
  }
  await Promise.all(workers);
  await attack.around?.end();
  return { victim, attacker };
}

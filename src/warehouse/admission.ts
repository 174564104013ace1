// Who may run a warehouse query now. The warehouse runs only so many queries at once (a PostgreSQL
// pool's connections, BigQuery's concurrent jobs, DuckDB's threads); without a queue of our own, a client
// that sends forty slow queries holds every connection and the next client waits in the driver's queue
// until its connect timeout, which used to read as "warehouse unreachable" and open the circuit for
// everyone. Here every query waits for a slot in a queue that is fair between callers (API keys; the
// shared batch of lookups is a caller of its own): a free slot goes to the caller given one least recently,
// no caller holds more than `perCaller` slots and no request more than `perRequest`, so one request or
// key can slow only itself. A query that gets no slot within its wait is WarehouseBusyError
// (WAREHOUSE_BUSY, retry advice), which is back-pressure, never a fault: it is not retried and does not
// count toward the circuit.
import { WarehouseBusyError } from "../connectors/connector.ts";

export interface AdmissionSettings {
  /** Queries the warehouse runs at once for this server. */
  readonly slots: number;
  /** Slots one request may hold at once (a dashboard's dozen queries run a few at a time). */
  readonly perRequest: number;
  /** Slots one caller (an API key) may hold at once, whatever its number of requests. */
  readonly perCaller: number;
  /** The longest a query waits for a slot (less when the request's deadline is nearer). */
  readonly maxWaitMs: number;
}

/** Whose query it is: the caller it is queued under and the request whose share it uses (if any). */
export interface AdmissionTicket {
  readonly caller: string;
  readonly request?: object;
  /** Epoch ms after which waiting is pointless (the request's deadline). */
  readonly deadlineAt?: number;
  readonly signal?: AbortSignal;
}

interface Waiter {
  readonly ticket: AdmissionTicket;
  readonly grant: (release: () => void) => void;
  readonly fail: (error: unknown) => void;
}

export interface AdmissionState {
  readonly inUse: number;
  readonly waiting: number;
}

export class FairAdmission {
  private inUse = 0;
  private readonly byCaller = new Map<string, number>();
  private readonly byRequest = new WeakMap<object, number>();
  private readonly queues = new Map<string, Waiter[]>();
  /** When each caller with slots or waiters was last given a slot (a counter, not a time). */
  private readonly lastServed = new Map<string, number>();
  private served = 0;

  constructor(readonly settings: AdmissionSettings) {}

  get state(): AdmissionState {
    let waiting = 0;
    for (const queue of this.queues.values()) waiting += queue.length;
    return { inUse: this.inUse, waiting };
  }

  /** Waits for a slot; the returned function gives it back (call it exactly once, when the query ends). */
  acquire(ticket: AdmissionTicket): Promise<() => void> {
    ticket.signal?.throwIfAborted();
    return new Promise((resolve, reject) => {
      const wait = Math.min(this.settings.maxWaitMs, (ticket.deadlineAt ?? Infinity) - Date.now());
      let timer: NodeJS.Timeout | undefined;
      const settle = () => {
        clearTimeout(timer);
        ticket.signal?.removeEventListener("abort", onAbort);
      };
      const waiter: Waiter = {
        ticket,
        grant: (release) => {
          settle();
          resolve(release);
        },
        fail: (error) => {
          settle();
          this.remove(waiter);
          reject(error);
        },
      };
      const onAbort = () => waiter.fail(ticket.signal!.reason);
      ticket.signal?.addEventListener("abort", onAbort, { once: true });
      timer = setTimeout(
        () =>
          waiter.fail(
            new WarehouseBusyError(
              `no warehouse query slot became free within ${Math.max(0, Math.round(wait))} ms ` +
                `(${this.settings.slots} queries run at once, at most ${this.settings.perCaller} per API key)`,
            ),
          ),
        Math.max(0, wait),
      );
      const queue = this.queues.get(ticket.caller);
      if (queue) queue.push(waiter);
      else this.queues.set(ticket.caller, [waiter]);
      this.dispatch();
    });
  }

  private eligible(ticket: AdmissionTicket): boolean {
    if ((this.byCaller.get(ticket.caller) ?? 0) >= this.settings.perCaller) return false;
    return !ticket.request || (this.byRequest.get(ticket.request) ?? 0) < this.settings.perRequest;
  }

  /** Hands free slots to waiters: each to the eligible caller given a slot least recently. */
  private dispatch(): void {
    while (this.inUse < this.settings.slots) {
      let chosen: { caller: string; queue: Waiter[]; index: number; served: number } | undefined;
      for (const [caller, queue] of this.queues) {
        const served = this.lastServed.get(caller) ?? 0;
        if (chosen && served >= chosen.served) continue;
        const index = queue.findIndex((w) => this.eligible(w.ticket));
        if (index >= 0) chosen = { caller, queue, index, served };
      }
      if (!chosen) return;
      const [waiter] = chosen.queue.splice(chosen.index, 1);
      if (chosen.queue.length === 0) this.queues.delete(chosen.caller);
      this.take(waiter!);
    }
  }

  private take(waiter: Waiter): void {
    const { caller, request } = waiter.ticket;
    this.inUse += 1;
    this.lastServed.set(caller, ++this.served);
    this.byCaller.set(caller, (this.byCaller.get(caller) ?? 0) + 1);
    if (request) this.byRequest.set(request, (this.byRequest.get(request) ?? 0) + 1);
    let released = false;
    waiter.grant(() => {
      if (released) return;
      released = true;
      this.inUse -= 1;
      const held = (this.byCaller.get(caller) ?? 1) - 1;
      if (held > 0) this.byCaller.set(caller, held);
      else {
        this.byCaller.delete(caller);
        // A caller with nothing held nor queued is forgotten (the map stays as small as the callers).
        if (!this.queues.has(caller)) this.lastServed.delete(caller);
      }
      if (request) this.byRequest.set(request, (this.byRequest.get(request) ?? 1) - 1);
      this.dispatch();
    });
  }

  private remove(waiter: Waiter): void {
    const queue = this.queues.get(waiter.ticket.caller);
    if (!queue) return;
    const index = queue.indexOf(waiter);
    if (index >= 0) queue.splice(index, 1);
    if (queue.length === 0) {
      this.queues.delete(waiter.ticket.caller);
      if (!this.byCaller.has(waiter.ticket.caller)) this.lastServed.delete(waiter.ticket.caller);
    }
  }
}

// The fair admission queue in front of the warehouse (src/warehouse/admission.ts), on its own.
import { describe, expect, it } from "vitest";
import { WarehouseBusyError } from "../../src/connectors/connector.ts";
import { FairAdmission } from "../../src/warehouse/admission.ts";

const settings = { slots: 4, perRequest: 2, perCaller: 3, maxWaitMs: 1_000 };

describe("FairAdmission", () => {
  it("gives a free slot to the caller served least recently, not to the one with the longest queue", async () => {
    const admission = new FairAdmission({ ...settings, perCaller: 4, perRequest: 4 });
    const order: string[] = [];
    const held: (() => void)[] = [];
    const take = (caller: string) =>
      admission.acquire({ caller }).then((release) => {
        order.push(caller);
        held.push(release);
      });
    // A floods first: it gets the four slots and queues six more; B arrives after.
    const all = Array.from({ length: 10 }, () => take("A"));
    await new Promise((r) => setImmediate(r));
    all.push(take("B"));
    expect(order).toEqual(["A", "A", "A", "A"]);
    held.shift()!(); // one of A's queries ends
    await new Promise((r) => setImmediate(r));
    expect(order[4]).toBe("B");
    // Everything else still runs, in turn.
    while (order.length < 11) {
      held.shift()?.();
      await new Promise((r) => setImmediate(r));
    }
    await Promise.all(all);
    for (const release of held) release();
    expect(admission.state).toEqual({ inUse: 0, waiting: 0 });
  });

  it("holds a caller to perCaller slots and a request to perRequest, while others use the rest", async () => {
    const admission = new FairAdmission(settings);
    const request = {};
    const granted: string[] = [];
    for (let i = 0; i < 4; i++) void admission.acquire({ caller: "A", request }).then(() => granted.push(`A${i}`));
    for (let i = 0; i < 4; i++) void admission.acquire({ caller: "A", request: {} }).then(() => granted.push(`a${i}`));
    void admission.acquire({ caller: "B" }).then(() => granted.push("B"));
    await new Promise((r) => setImmediate(r));
    // A's first request: 2 (perRequest); A's others: 1 more (perCaller 3); B: the fourth slot.
    expect(granted.filter((g) => g.startsWith("A"))).toHaveLength(2);
    expect(granted.filter((g) => g.startsWith("A") || g.startsWith("a"))).toHaveLength(3);
    expect(granted).toContain("B");
    expect(admission.state).toEqual({ inUse: 4, waiting: 5 });
  });

  it("says busy when no slot frees within the wait or before the deadline, and forgets the waiter", async () => {
    const admission = new FairAdmission({ ...settings, slots: 1, maxWaitMs: 50 });
    const release = await admission.acquire({ caller: "A" });
    await expect(admission.acquire({ caller: "B" })).rejects.toBeInstanceOf(WarehouseBusyError);
    await expect(admission.acquire({ caller: "C", deadlineAt: Date.now() + 10 })).rejects.toBeInstanceOf(
      WarehouseBusyError,
    );
    expect(admission.state).toEqual({ inUse: 1, waiting: 0 });
    release();
    release(); // a second release gives nothing back twice
    expect(admission.state).toEqual({ inUse: 0, waiting: 0 });
  });

  it("drops a waiter whose request is cancelled, with the signal's reason", async () => {
    const admission = new FairAdmission({ ...settings, slots: 1 });
    const release = await admission.acquire({ caller: "A" });
    const controller = new AbortController();
    const waiting = admission.acquire({ caller: "B", signal: controller.signal });
    controller.abort(new Error("client left"));
    await expect(waiting).rejects.toThrow("client left");
    expect(admission.state.waiting).toBe(0);
    release();
    expect(admission.state.inUse).toBe(0);
  });
});

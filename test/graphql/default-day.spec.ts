// Answers without asOf when the data ends before today (the test shop ends on DEMO_END_DATE, months
// ago): they are for the last day with data, not for today (when everyone would be churned), and say
// which day they used; a state store, once it serves, is the default instead.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { today } from "../../src/lifecycle/calendar.ts";
import { DEMO_END_DATE, startTestServer, type TestServer } from "../helpers/server.ts";

let server: TestServer;
beforeAll(async () => {
  server = await startTestServer({ customers: 200 });
});
afterAll(async () => {
  await server?.close();
});

describe("the default day", () => {
  it("is the last day with data when the data ends before today, named in the answer", async () => {
    expect(today(server.lifecycle.timeZone) > DEMO_END_DATE).toBe(true);
    const range = await server.graphql(`{ warehouse { dataRange { firstDay lastDay } } defaultDay }`);
    expect(range.errors).toBeUndefined();
    expect(range.data).toEqual({
      warehouse: { dataRange: { firstDay: expect.stringMatching(/^2024-/), lastDay: DEMO_END_DATE } },
      defaultDay: DEMO_END_DATE,
    });

    const implicit = await server.graphql<{ stages: unknown }>(`{ stages { key count } }`);
    const explicit = await server.graphql<{ stages: unknown }>(`{ stages(asOf: "${DEMO_END_DATE}") { key count } }`);
    expect(implicit.data).toEqual(explicit.data);
    expect(implicit.extensions).toEqual({ defaultDay: DEMO_END_DATE });
    // An answer for the day asked for names no default.
    expect(explicit.extensions?.defaultDay).toBeUndefined();
    // Today would have shown every buyer at risk or churned.
    const todays = await server.graphql<{ stages: { key: string; count: number }[] }>(
      `{ stages(asOf: "${today(server.lifecycle.timeZone)}") { key count } }`,
    );
    expect(todays.data).not.toEqual(explicit.data);
  });

  it("is the state store's day once a state serves", async () => {
    const stateDay = "2026-05-31";
    await server.services.state.refresh({ stateDay });
    const answer = await server.graphql(`{ defaultDay stages { key count } }`);
    expect(answer.data?.defaultDay).toBe(stateDay);
    expect(answer.extensions).toMatchObject({ defaultDay: stateDay, stateStore: { stateDay } });
  });
});

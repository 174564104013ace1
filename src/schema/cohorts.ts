// Cohorts by first-purchase month: the retention matrix, revenue per cohort and stages per cohort.
import { MAX_COHORTS, type Cohort, type CohortMonth } from "../services/cohorts.ts";
import { monthOf } from "../lifecycle/calendar.ts";
import { builder } from "./builder.ts";
import { InvalidInputError } from "../errors.ts";
import { AS_OF_DESCRIPTION, resolveAsOf } from "./lifecycle-args.ts";
import { segmentRuleOn } from "./segment-access.ts";
import { StageRef } from "./refs.ts";

type CohortShape = Cohort & { readonly asOf: string };

const CohortMonthRef = builder.objectRef<CohortMonth & { readonly customers: number }>("CohortMonth").implement({
  description: "One month in a cohort's life: who of the cohort bought in it, and what they spent.",
  fields: (t) => ({
    offset: t.exposeInt("offset", { description: "Months since the first-purchase month (0 = that month)." }),
    month: t.exposeString("month", { description: "The calendar month, YYYY-MM." }),
    activeCustomers: t.exposeInt("activeCustomers", {
      description: "Cohort members with a purchase in the month (count).",
    }),
    retention: t.float({
      description: "activeCustomers / the cohort's customers (ratio; 1 in month 0).",
      resolve: (m) => (m.customers === 0 ? 0 : m.activeCustomers / m.customers),
    }),
    revenue: t.exposeFloat("revenue", { description: "The cohort's revenue in the month (currency)." }),
  }),
});

const CohortStageRef = builder
  .objectRef<{ stage: CohortShape["stages"][number]; asOf: string }>("CohortStage")
  .implement({
    description: "How many of a cohort are in one stage on the as-of day.",
    fields: (t) => ({
      stage: t.field({
        type: StageRef,
        description: "The stage the cohort's customers are in on the as-of day.",
        resolve: (s) => ({ stage: s.stage.stage, asOf: s.asOf }),
      }),
      count: t.int({ description: "Cohort members in the stage (count).", resolve: (s) => s.stage.count }),
    }),
  });

const CohortRef = builder.objectRef<CohortShape>("Cohort").implement({
  description: "The customers whose first purchase was in one month.",
  fields: (t) => ({
    month: t.exposeString("month", { description: "The first-purchase month, YYYY-MM." }),
    customers: t.exposeInt("customers", { description: "Customers in the cohort (count)." }),
    revenue: t.float({
      description: "The cohort's revenue from its first month to the as-of day, over the months listed (currency).",
      resolve: (c) => c.months.reduce((sum, m) => sum + m.revenue, 0),
    }),
    revenuePerCustomer: t.float({
      nullable: true,
      description: "revenue / customers (currency); null for an empty cohort.",
      resolve: (c) => (c.customers === 0 ? null : c.months.reduce((sum, m) => sum + m.revenue, 0) / c.customers),
    }),
    months: t.field({
      type: [CohortMonthRef],
      description:
        "Month 0 (the first-purchase month) and every later month up to the as-of day's month, empty months included.",
      resolve: (c) => c.months.map((m) => ({ ...m, customers: c.customers })),
    }),
    stages: t.field({
      type: [CohortStageRef],
      description: "Every stage of the model with the cohort's members in it on the as-of day.",
      resolve: (c) => c.stages.map((stage) => ({ stage, asOf: c.asOf })),
    }),
  }),
});

builder.queryField("cohorts", (t) =>
  t.field({
    type: [CohortRef],
    description:
      "Cohorts by first-purchase month, oldest first: the retention matrix (share of each cohort buying in month k), revenue per cohort and month, and each cohort's stage distribution; of every buyer, or of a saved segment's members. Computed in the warehouse.",
    args: {
      from: t.arg({ type: "Date", required: true, description: "A day in the first cohort's month." }),
      to: t.arg({ type: "Date", required: true, description: "A day in the last cohort's month." }),
      asOf: t.arg({ type: "Date", description: AS_OF_DESCRIPTION }),
      months: t.arg.int({ defaultValue: 12, description: "Months after the first to show (0–120)." }),
      segmentId: t.arg.id({
        description:
          "Only the members of this saved segment on asOf (its definition evaluated on asOf): cohort sizes, retention, revenue and stages count those members only.",
      }),
    },
    resolve: async (_root, args, ctx) => {
      const asOf = await resolveAsOf(args.asOf, ctx);
      const months = args.months ?? 12;
      if (!(months >= 0 && months <= 120))
        throw new InvalidInputError("months must be between 0 and 120", { argument: "months" });
      if (args.to < args.from) throw new InvalidInputError("to must be on or after from", { argument: "to" });
      const count = monthOf(args.to) - monthOf(args.from) + 1;
      if (count > MAX_COHORTS) {
        throw new InvalidInputError(`${count} cohorts asked for; at most ${MAX_COHORTS}`, { argument: "to" });
      }
      const rule = args.segmentId ? await segmentRuleOn(String(args.segmentId), asOf, ctx) : undefined;
      const cohorts = await ctx.services.cohorts.cohorts(args.from, args.to, asOf, months, rule);
      return cohorts.map((c) => ({ ...c, asOf }));
    },
  }),
);

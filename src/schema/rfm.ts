// RFM scores per customer and the RFM grid a dashboard draws.
import type { RfmScore } from "../lifecycle/rfm.ts";
import type { RfmCell } from "../services/lifecycle/rfm.ts";
import { builder } from "./builder.ts";
import { CustomerRef } from "./refs.ts";
import { AS_OF_DESCRIPTION, resolveAsOf } from "./lifecycle-args.ts";
import { segmentRuleOn } from "./segment-access.ts";

const SCORE_RULE =
  "Score 1–5, 5 best: 1 + floor(5 × buyers strictly worse / buyers), so ties always share a score whatever the row order.";

const RfmRef = builder.objectRef<RfmScore>("Rfm").implement({
  description: "A buyer's RFM scores among all buyers as of the day, computed in the warehouse.",
  fields: (t) => ({
    recency: t.exposeInt("recency", {
      description: `Recency: days since the last purchase day, fewer is better. ${SCORE_RULE}`,
    }),
    frequency: t.exposeInt("frequency", { description: `Frequency: purchase days, more is better. ${SCORE_RULE}` }),
    monetary: t.exposeInt("monetary", { description: `Monetary: revenue, more is better. ${SCORE_RULE}` }),
    code: t.exposeString("code", { description: "The three scores as a code, e.g. 545." }),
    segment: t.exposeString("segment", {
      description: "The named segment of the code (champions, loyal, at_risk, …).",
    }),
  }),
});

builder.objectField(CustomerRef, "rfm", (t) =>
  t.field({
    type: RfmRef,
    nullable: true,
    description:
      "RFM scores among all buyers as of the day; null for prospects. Batched: one query per request and day.",
    resolve: (c, _args, ctx) => ctx.lifecycle.rfm(c.asOf).load(c.id),
  }),
);

interface GridShape {
  readonly cells: readonly RfmCell[];
}

const RfmGridCellRef = builder
  .objectRef<{ recency: number; frequency: number; customers: number; revenue: number }>("RfmGridCell")
  .implement({
    description: "Buyers with one recency and one frequency score (all monetary scores).",
    fields: (t) => ({
      recency: t.exposeInt("recency", { description: "Recency score 1–5." }),
      frequency: t.exposeInt("frequency", { description: "Frequency score 1–5." }),
      customers: t.exposeInt("customers", { description: "Buyers in the cell (count)." }),
      revenue: t.exposeFloat("revenue", { description: "Their revenue (currency of the amounts)." }),
    }),
  });

const RfmSegmentTotalRef = builder
  .objectRef<{ segment: string; customers: number; revenue: number; share: number }>("RfmSegmentTotal")
  .implement({
    description: "Buyers of one named RFM segment.",
    fields: (t) => ({
      segment: t.exposeString("segment", { description: "The segment's key." }),
      customers: t.exposeInt("customers", { description: "Buyers in the segment (count)." }),
      revenue: t.exposeFloat("revenue", { description: "Their revenue (currency of the amounts)." }),
      share: t.exposeFloat("share", {
        description:
          "customers / the buyers of the grid (all buyers, or the segment's members who are buyers) (ratio 0–1).",
      }),
    }),
  });

const RfmGridRef = builder.objectRef<GridShape>("RfmGrid").implement({
  description:
    "The RFM grid as of a day: buyers and revenue per recency × frequency cell and per named segment (of all buyers, or of a saved segment's members, scored among all buyers).",
  fields: (t) => ({
    buyers: t.int({
      description:
        "Buyers counted (customers with a purchase day by then; with a segment, only its members among them).",
      resolve: (g) => g.cells.reduce((sum, c) => sum + c.customers, 0),
    }),
    cells: t.field({
      type: [RfmGridCellRef],
      description: "The 25 recency × frequency cells (empty ones included), recency then frequency descending.",
      resolve: (g) =>
        [5, 4, 3, 2, 1].flatMap((recency) =>
          [5, 4, 3, 2, 1].map((frequency) => {
            const inCell = g.cells.filter((c) => c.recency === recency && c.frequency === frequency);
            return {
              recency,
              frequency,
              customers: inCell.reduce((sum, c) => sum + c.customers, 0),
              revenue: inCell.reduce((sum, c) => sum + c.revenue, 0),
            };
          }),
        ),
    }),
    segments: t.field({
      type: [RfmSegmentTotalRef],
      description: "Every named segment of the map, in its order, with its buyers and revenue.",
      resolve: (g, _args, ctx) => {
        const rfm = ctx.lifecycle.service.rfm;
        const buyers = g.cells.reduce((sum, c) => sum + c.customers, 0);
        return rfm.keys.map((segment) => {
          const inSegment = g.cells.filter((c) => rfm.score(c.recency, c.frequency, c.monetary).segment === segment);
          const customers = inSegment.reduce((sum, c) => sum + c.customers, 0);
          return {
            segment,
            customers,
            revenue: inSegment.reduce((sum, c) => sum + c.revenue, 0),
            share: buyers === 0 ? 0 : customers / buyers,
          };
        });
      },
    }),
  }),
});

builder.queryField("rfmGrid", (t) =>
  t.field({
    type: RfmGridRef,
    description:
      "The RFM grid as of a day: from the state store's stored scores on its day (without a segment), else aggregated in the warehouse (one query).",
    args: {
      asOf: t.arg({ type: "Date", description: AS_OF_DESCRIPTION }),
      segmentId: t.arg.id({
        description:
          "Only buyers who are members of this saved segment on asOf are counted; their scores stay ranked among all buyers (the quintiles are not recomputed on the members).",
      }),
    },
    resolve: async (_root, args, ctx) => {
      const asOf = await resolveAsOf(args.asOf, ctx);
      const service = ctx.lifecycle.service;
      const members = args.segmentId
        ? ctx.services.segments.members(asOf, await segmentRuleOn(String(args.segmentId), asOf, ctx), "read")
        : undefined;
      const stored = members ? undefined : await ctx.lifecycle.state?.rfmCells(asOf);
      return { cells: stored ?? (await service.rfmCells(asOf, members)) };
    },
  }),
);

// Predicted lifetime value: model fits over the buyers as of a day, and per-customer predictions.
import { predict, purchaseModel, summaryOf, TIME_UNIT_DAYS, type Prediction } from "../lifecycle/clv/predict.ts";
import { MAX_CLV_FITS_PER_REQUEST, type ClvModel, type ClvValidation } from "../services/lifecycle/clv.ts";
import type { CalibrationPurchasesBin, SpendComparison, TrackingWeek } from "../lifecycle/clv/validation.ts";
import { CLV_SAMPLE_CUSTOMERS } from "../lifecycle/clv/sample.ts";
import { builder } from "./builder.ts";
import { CustomerRef } from "./refs.ts";
import { InvalidInputError } from "../errors.ts";

export const TimeUnitEnum = builder.enumType("TimeUnit", {
  description: "The time unit the purchase model is fitted in (its rates are per unit).",
  values: {
    DAY: { value: "DAY", description: "The model's time is counted in days." },
    WEEK: { value: "WEEK", description: "Seven days (the unit of the published CDNOW results)." },
    MONTH: { value: "MONTH", description: "365.25 / 12 days." },
  } as const,
});

export const ClvModelKindEnum = builder.enumType("ClvModelKind", {
  description: "The purchase-count and drop-out model.",
  values: {
    BG_NBD: {
      value: "BG_NBD",
      description: "Beta-geometric / NBD (Fader, Hardie & Lee 2005): drop-out only right after a purchase.",
    },
    PARETO_NBD: {
      value: "PARETO_NBD",
      description:
        "Pareto/NBD (Schmittlein, Morrison & Colombo 1987): drop-out at any time; slower to fit (about 0.3 s on CDNOW against 30 ms).",
    },
  } as const,
});

const BgNbdRef = builder.objectRef<NonNullable<ClvModel["bgnbd"]>>("BgNbdParameters").implement({
  description: "BG/NBD maximum-likelihood estimates: purchase rate λ ~ Gamma(r, α), drop-out p ~ Beta(a, b).",
  fields: (t) => ({
    r: t.exposeFloat("r", { description: "Shape of the purchase-rate distribution." }),
    alpha: t.exposeFloat("alpha", { description: "Scale of the purchase-rate distribution (in time units)." }),
    a: t.exposeFloat("a", { description: "First shape of the drop-out distribution." }),
    b: t.exposeFloat("b", { description: "Second shape of the drop-out distribution." }),
    logLikelihood: t.exposeFloat("logLikelihood", { description: "Log-likelihood at the estimates." }),
  }),
});

const ParetoNbdRef = builder.objectRef<NonNullable<ClvModel["paretoNbd"]>>("ParetoNbdParameters").implement({
  description: "Pareto/NBD maximum-likelihood estimates: purchase rate λ ~ Gamma(r, α), lifetime rate μ ~ Gamma(s, β).",
  fields: (t) => ({
    r: t.exposeFloat("r", { description: "Shape of the purchase-rate distribution." }),
    alpha: t.exposeFloat("alpha", { description: "Scale of the purchase-rate distribution (in time units)." }),
    s: t.exposeFloat("s", { description: "Shape of the drop-out-rate distribution." }),
    beta: t.exposeFloat("beta", { description: "Scale of the drop-out-rate distribution (in time units)." }),
    logLikelihood: t.exposeFloat("logLikelihood", { description: "Log-likelihood at the estimates." }),
  }),
});

const GammaGammaRef = builder.objectRef<ClvModel["gammaGamma"]>("GammaGammaParameters").implement({
  description: "Gamma-Gamma spend model estimates, fitted on buyers with repeat purchases.",
  fields: (t) => ({
    p: t.exposeFloat("p", { description: "Shape of each transaction's value." }),
    q: t.exposeFloat("q", { description: "Shape of the customers' mean-value distribution." }),
    gamma: t.exposeFloat("gamma", { description: "Scale of the customers' mean-value distribution." }),
    logLikelihood: t.exposeFloat("logLikelihood", { description: "Log-likelihood at the estimates." }),
    customers: t.exposeInt("customers", { description: "Buyers with repeat purchases it was fitted on (count)." }),
  }),
});

const ClvDiagnosticsRef = builder.objectRef<ClvModel>("ClvDiagnostics").implement({
  description: "How the fits went: convergence, iterations, time, and which customers they ran on.",
  fields: (t) => ({
    summaryGroups: t.exposeInt("summaryGroups", { description: "Distinct (x, t_x, T) summaries fitted (count)." }),
    sampleFraction: t.exposeFloat("sampleFraction", {
      description: `Share of the buyers the fits ran on: 1, or (above ${CLV_SAMPLE_CUSTOMERS.toLocaleString("en")} buyers) a seeded simple random sample of about that many, the same for the same data (ratio).`,
    }),
    fittedCustomers: t.exposeInt("fittedCustomers", {
      description: "Buyers the BG/NBD fit ran on: all of them, or the sample (count).",
    }),
    purchaseModelConverged: t.boolean({
      description: "Whether the purchase model's (BG/NBD or Pareto/NBD) optimiser converged.",
      resolve: (m) => purchaseFit(m).converged,
    }),
    purchaseModelIterations: t.int({
      description: "Optimiser iterations for the purchase model.",
      resolve: (m) => purchaseFit(m).iterations,
    }),
    gammaGammaConverged: t.boolean({
      description: "Whether the Gamma-Gamma optimiser converged.",
      resolve: (m) => m.gammaGamma.converged,
    }),
    fitMilliseconds: t.float({ description: "Time to fit both models in Node (ms).", resolve: (m) => m.fitMs }),
  }),
});

const ClvModelRef = builder.objectRef<ClvModel>("ClvModel").implement({
  description:
    "BG/NBD and Gamma-Gamma fitted by maximum likelihood on per-buyer summaries computed in the warehouse (distinct purchase days, calibration ending at asOf inclusive, buyers whose first purchase is on or before asOf).",
  fields: (t) => ({
    asOf: t.field({ type: "Date", description: "End of the calibration period.", resolve: (m) => m.asOf }),
    timeUnit: t.field({
      type: TimeUnitEnum,
      description: "The unit of t_x, T and the rates.",
      resolve: (m) => m.timeUnit,
    }),
    customers: t.exposeInt("customers", { description: "Buyers summarised (count)." }),
    model: t.field({ type: ClvModelKindEnum, description: "The purchase model fitted.", resolve: (m) => m.model }),
    bgnbd: t.field({
      type: BgNbdRef,
      nullable: true,
      description: "BG/NBD estimates when model is BG_NBD.",
      resolve: (m) => m.bgnbd,
    }),
    paretoNbd: t.field({
      type: ParetoNbdRef,
      nullable: true,
      description: "Pareto/NBD estimates when model is PARETO_NBD.",
      resolve: (m) => m.paretoNbd,
    }),
    gammaGamma: t.field({
      type: GammaGammaRef,
      description: "The Gamma-Gamma spend model (Fader, Hardie & Lee 2005): average order value per customer.",
      resolve: (m) => m.gammaGamma,
    }),
    diagnostics: t.field({
      type: ClvDiagnosticsRef,
      description: "Convergence, time and sample of the fits.",
      resolve: (m) => m,
    }),
  }),
});

/** The purchase model's fit, whichever was asked for. */
function purchaseFit(m: ClvModel): { converged: boolean; iterations: number } {
  return (m.bgnbd ?? m.paretoNbd)!;
}

builder.queryField("clvModel", (t) =>
  t.field({
    type: ClvModelRef,
    // Nullable so that a refused or failed fit nulls only its own field, not the whole answer.
    nullable: true,
    description: `The lifetime-value models fitted as of a day (kept per day and unit once fitted). A request may ask for at most ${MAX_CLV_FITS_PER_REQUEST} distinct (asOf, timeUnit, model) fits, here and in Customer.prediction together; more are refused with QUERY_TOO_EXPENSIVE. Null, with the error, when refused or when the fit fails.`,
    args: {
      asOf: t.arg({ type: "Date", required: true, description: "End of the calibration period." }),
      timeUnit: t.arg({ type: TimeUnitEnum, defaultValue: "WEEK", description: "Unit of the model's time." }),
      model: t.arg({ type: ClvModelKindEnum, defaultValue: "BG_NBD", description: "The purchase model." }),
    },
    resolve: (_root, args, ctx) => ctx.lifecycle.clvModel(args.asOf, args.timeUnit ?? "WEEK", args.model ?? "BG_NBD"),
  }),
);

const PredictionRef = builder.objectRef<Prediction>("Prediction").implement({
  description: "What the fitted models expect of one buyer after the as-of day.",
  fields: (t) => ({
    probabilityAlive: t.exposeFloat("probabilityAlive", { description: "P(still active) (ratio 0–1)." }),
    expectedPurchases: t.exposeFloat("expectedPurchases", {
      description: "Expected purchase days in the horizon (count).",
    }),
    expectedAverageSpend: t.exposeFloat("expectedAverageSpend", {
      description: "Expected spend per purchase day (currency of the amounts).",
    }),
    predictedClv: t.exposeFloat("predictedClv", {
      description:
        "expectedAverageSpend × expected purchases, each month discounted at discountRate a year (currency).",
    }),
  }),
});

builder.objectField(CustomerRef, "prediction", (t) =>
  t.field({
    type: PredictionRef,
    nullable: true,
    description:
      "Predicted purchases, spend and lifetime value after the as-of day (BG/NBD or Pareto/NBD, with Gamma-Gamma); null for prospects.",
    args: {
      horizonDays: t.arg.int({ defaultValue: 365, description: "Days ahead to predict (1–3650)." }),
      discountRate: t.arg.float({ defaultValue: 0.1, description: "Yearly discount rate for the CLV (0–1)." }),
      timeUnit: t.arg({ type: TimeUnitEnum, defaultValue: "WEEK", description: "Unit of the model's time." }),
      model: t.arg({ type: ClvModelKindEnum, defaultValue: "BG_NBD", description: "The purchase model." }),
    },
    resolve: async (c, args, ctx) => {
      const horizonDays = args.horizonDays ?? 365;
      const discountRate = args.discountRate ?? 0.1;
      if (!(horizonDays >= 1 && horizonDays <= 3650))
        throw new InvalidInputError("horizonDays must be between 1 and 3650", { argument: "horizonDays" });
      if (!(discountRate >= 0 && discountRate <= 1))
        throw new InvalidInputError("discountRate must be between 0 and 1", { argument: "discountRate" });
      const unit = args.timeUnit ?? "WEEK";
      const summary = summaryOf(c.features, c.asOf, TIME_UNIT_DAYS[unit]);
      if (!summary) return null;
      const settings = { model: args.model ?? "BG_NBD", timeUnit: unit, horizonDays, discountRate } as const;
      const stored = await ctx.lifecycle.storedPrediction(c.asOf, settings).load(c.id);
      if (stored.stored) return stored.prediction;
      const model = await ctx.lifecycle.clvModel(c.asOf, unit, settings.model);
      const purchases = model.bgnbd
        ? purchaseModel({ kind: "BG_NBD", params: model.bgnbd })
        : purchaseModel({ kind: "PARETO_NBD", params: model.paretoNbd! });
      return predict(purchases, model.gammaGamma, summary, TIME_UNIT_DAYS[unit], horizonDays, discountRate);
    },
  }),
);

const ClvValidationPeriodEnum = builder.enumType("ClvValidationPeriod", {
  description: "The part of a holdout validation a week belongs to.",
  values: {
    CALIBRATION: { value: "CALIBRATION", description: "Up to calibrationEnd: the data the model was fitted on." },
    HOLDOUT: { value: "HOLDOUT", description: "After calibrationEnd: the data the model did not see." },
  } as const,
});

const CalibrationPurchasesBinRef = builder.objectRef<CalibrationPurchasesBin>("ClvCalibrationPurchasesBin").implement({
  description:
    "Calibration buyers with the same number of repeat purchases in the calibration period: their mean holdout purchases, actual and predicted (lifetimes' plot_calibration_purchases_vs_holdout_purchases).",
  fields: (t) => ({
    calibrationPurchases: t.exposeInt("calibrationPurchases", {
      description: "Repeat purchase days in the calibration period (count); the last bin holds this many or more.",
    }),
    orMore: t.exposeBoolean("orMore", { description: "Whether this is the last bin: calibrationPurchases or more." }),
    customers: t.exposeInt("customers", { description: "Customers in the bin (count)." }),
    meanActualPurchases: t.float({
      nullable: true,
      description: "Mean purchase days in the holdout (count); null for an empty bin.",
      resolve: (b) => b.meanActual,
    }),
    meanPredictedPurchases: t.float({
      nullable: true,
      description: "Mean predicted purchases in the holdout (count); null for an empty bin.",
      resolve: (b) => b.meanPredicted,
    }),
  }),
});

const TrackingWeekRef = builder.objectRef<TrackingWeek>("ClvTrackingWeek").implement({
  description:
    "One week of the tracking series (Fader, Hardie & Lee 2005, Figure 1): the calibration buyers' repeat purchases, actual and expected, cumulated from the first week to the end of this one. Weeks end on calibrationEnd and every seventh day from it; the first and the last may be shorter.",
  fields: (t) => ({
    week: t.exposeInt("week", { description: "1 for the week of the first calibration buyer's first purchase." }),
    from: t.field({ type: "Date", description: "The week's first day.", resolve: (w) => w.from }),
    to: t.field({ type: "Date", description: "The week's last day.", resolve: (w) => w.to }),
    period: t.field({
      type: ClvValidationPeriodEnum,
      description: "Calibration or holdout.",
      resolve: (w) => (w.holdout ? "HOLDOUT" : "CALIBRATION"),
    }),
    cumulativeRepeatPurchases: t.exposeInt("cumulativeActual", {
      description: "Repeat purchase days of the calibration buyers from the first week to the end of this one (count).",
    }),
    cumulativeExpectedRepeatPurchases: t.exposeFloat("cumulativeExpected", {
      description:
        "What the model expects of the same customers knowing only their first purchase days: Σ E[X(t)] over them, t the time from each one's first purchase to the week's end (count).",
    }),
  }),
});

const SpendComparisonRef = builder.objectRef<SpendComparison>("ClvSpendValidation").implement({
  description:
    "Gamma-Gamma's conditional expected spend per purchase day against the actual spend in the holdout, of the customers with repeat purchases (of positive mean value) in the calibration period and purchases in the holdout.",
  fields: (t) => ({
    customers: t.exposeInt("customers", { description: "Customers compared (count)." }),
    meanPredictedSpend: t.exposeFloat("meanPredicted", {
      description: "Mean of their expected spend per purchase day, from their calibration purchases (currency).",
    }),
    meanActualSpend: t.exposeFloat("meanActual", {
      description: "Mean of their actual spend per purchase day in the holdout (currency).",
    }),
  }),
});

const ClvValidationRef = builder.objectRef<ClvValidation>("ClvValidation").implement({
  description:
    "The purchase model fitted on a calibration period and its predictions for the holdout period after it, against what the calibration buyers (first purchase on or before calibrationEnd) did there. Purchases are purchase days, as in the fit.",
  fields: (t) => ({
    calibrationEnd: t.field({
      type: "Date",
      description: "The calibration period's last day.",
      resolve: (v) => v.calibrationEnd,
    }),
    holdoutEnd: t.field({ type: "Date", description: "The holdout period's last day.", resolve: (v) => v.holdoutEnd }),
    holdoutDays: t.exposeInt("holdoutDays", { description: "Days in the holdout, after calibrationEnd (count)." }),
    model: t.field({ type: ClvModelKindEnum, description: "The purchase model.", resolve: (v) => v.model }),
    timeUnit: t.field({
      type: TimeUnitEnum,
      description: "The unit the model is fitted in (weeks, as the tracking series).",
      resolve: (v) => v.timeUnit,
    }),
    fit: t.field({
      type: ClvModelRef,
      description: "The fit on the calibration period (clvModel as of calibrationEnd).",
      resolve: (v) => v.fit,
    }),
    customers: t.exposeInt("customers", { description: "Calibration buyers (count)." }),
    calibrationRepeatPurchases: t.exposeInt("calibrationRepeatPurchases", {
      description: "Their repeat purchase days in the calibration period (count).",
    }),
    actualHoldoutPurchases: t.exposeInt("actualHoldoutPurchases", {
      description: "Their purchase days in the holdout (count).",
    }),
    predictedHoldoutPurchases: t.exposeFloat("predictedHoldoutPurchases", {
      description: "Σ of each one's expected purchases in the holdout given their calibration (x, t_x, T) (count).",
    }),
    meanAbsoluteError: t.exposeFloat("meanAbsoluteError", {
      description: "Mean over the customers of |predicted − actual| holdout purchases (count).",
    }),
    rootMeanSquaredError: t.exposeFloat("rootMeanSquaredError", {
      description: "√(mean over the customers of (predicted − actual)²) holdout purchases (count).",
    }),
    byCalibrationPurchases: t.field({
      type: [CalibrationPurchasesBinRef],
      description:
        "Mean holdout purchases, actual and predicted, by repeat purchases in the calibration: 0, 1, …, 6, 7 or more.",
      resolve: (v) => v.byCalibrationPurchases,
    }),
    tracking: t.field({
      type: [TrackingWeekRef],
      description: "Cumulative repeat purchases per week, actual and expected, across the calibration and the holdout.",
      resolve: (v) => v.tracking,
    }),
    spend: t.field({
      type: SpendComparisonRef,
      nullable: true,
      description: "Predicted against actual spend per purchase day; null when no customer has both.",
      resolve: (v) => v.spend,
    }),
  }),
});

builder.queryField("clvValidation", (t) =>
  t.field({
    type: ClvValidationRef,
    // Nullable as clvModel: a refused or failed fit nulls only this field.
    nullable: true,
    description: `Holdout validation of the purchase model: fitted on the buyers as of calibrationEnd (in weeks), its predictions for (calibrationEnd, holdoutEnd] against what they did. calibrationEnd must be before holdoutEnd, and holdoutEnd no later than the last day with data (BAD_USER_INPUT otherwise). The calibration fit counts among the request's ${MAX_CLV_FITS_PER_REQUEST} distinct fits, shared with a clvModel of the same day and model.`,
    args: {
      calibrationEnd: t.arg({ type: "Date", required: true, description: "The calibration period's last day." }),
      holdoutEnd: t.arg({ type: "Date", required: true, description: "The holdout period's last day." }),
      model: t.arg({ type: ClvModelKindEnum, defaultValue: "BG_NBD", description: "The purchase model." }),
    },
    resolve: (_root, args, ctx) =>
      ctx.lifecycle.clvValidation({
        calibrationEnd: args.calibrationEnd,
        holdoutEnd: args.holdoutEnd,
        model: args.model ?? "BG_NBD",
      }),
  }),
);

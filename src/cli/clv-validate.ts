// `clm clv-validate`: the holdout validation the GraphQL clvValidation field gives (the same use case,
// services/lifecycle/clv.ts), printed as tables or as one JSON document on stdout.
import { InvalidInputError } from "../errors.ts";
import type { PurchaseModelKind } from "../lifecycle/clv/predict.ts";
import type { ClvValidation } from "../services/lifecycle/clv.ts";
import { withContext } from "./context.ts";
import { CliError, UsageError } from "./exit.ts";
import { renderJson, renderTable } from "./table.ts";

/** The --model values, as the command line spells the purchase models. */
export const CLI_CLV_MODELS = { bgnbd: "BG_NBD", "pareto-nbd": "PARETO_NBD" } as const satisfies Record<
  string,
  PurchaseModelKind
>;
export type CliClvModel = keyof typeof CLI_CLV_MODELS;

const MODEL_NAMES: Record<PurchaseModelKind, string> = { BG_NBD: "BG/NBD", PARETO_NBD: "Pareto/NBD" };

export interface ClvValidateOptions {
  readonly calibrationEnd: string;
  readonly holdoutEnd: string;
  readonly model: CliClvModel;
  readonly json?: boolean;
}

export async function clvValidate(options: ClvValidateOptions): Promise<void> {
  // Usage problems before anything is opened.
  if (!(options.calibrationEnd < options.holdoutEnd)) {
    throw new UsageError(
      `--holdout-end (${options.holdoutEnd}) must be after --calibration-end (${options.calibrationEnd})`,
      "clv-validate",
    );
  }
  await withContext(async (ctx) => {
    const question = {
      calibrationEnd: options.calibrationEnd,
      holdoutEnd: options.holdoutEnd,
      model: CLI_CLV_MODELS[options.model],
    };
    const about = { calibrationEnd: "--calibration-end", holdoutEnd: "--holdout-end" };
    const validation = await ctx.services.lifecycle.clvValidation(question, { about }).catch((error: unknown) => {
      // A holdout past the data: the option's value does not fit the warehouse, which only the run can tell.
      throw error instanceof InvalidInputError ? new CliError(error.message) : error;
    });
    process.stdout.write(options.json ? renderJson(validationJson(validation)) : validationTables(validation));
  });
}

/** The validation as the GraphQL field names it (the per-summary groups left out). */
export function validationJson(v: ClvValidation): unknown {
  const { fit } = v;
  return {
    calibrationEnd: v.calibrationEnd,
    holdoutEnd: v.holdoutEnd,
    holdoutDays: v.holdoutDays,
    model: v.model,
    timeUnit: v.timeUnit,
    fit: {
      customers: fit.customers,
      bgnbd: fit.bgnbd && { r: fit.bgnbd.r, alpha: fit.bgnbd.alpha, a: fit.bgnbd.a, b: fit.bgnbd.b },
      paretoNbd: fit.paretoNbd && {
        r: fit.paretoNbd.r,
        alpha: fit.paretoNbd.alpha,
        s: fit.paretoNbd.s,
        beta: fit.paretoNbd.beta,
      },
      logLikelihood: (fit.bgnbd ?? fit.paretoNbd)!.logLikelihood,
      gammaGamma: { p: fit.gammaGamma.p, q: fit.gammaGamma.q, gamma: fit.gammaGamma.gamma },
    },
    customers: v.customers,
    calibrationRepeatPurchases: v.calibrationRepeatPurchases,
    actualHoldoutPurchases: v.actualHoldoutPurchases,
    predictedHoldoutPurchases: v.predictedHoldoutPurchases,
    meanAbsoluteError: v.meanAbsoluteError,
    rootMeanSquaredError: v.rootMeanSquaredError,
    byCalibrationPurchases: v.byCalibrationPurchases.map((b) => ({
      calibrationPurchases: b.calibrationPurchases,
      orMore: b.orMore,
      customers: b.customers,
      meanActualPurchases: b.meanActual,
      meanPredictedPurchases: b.meanPredicted,
    })),
    tracking: v.tracking.map((w) => ({
      week: w.week,
      from: w.from,
      to: w.to,
      period: w.holdout ? "HOLDOUT" : "CALIBRATION",
      cumulativeRepeatPurchases: w.cumulativeActual,
      cumulativeExpectedRepeatPurchases: w.cumulativeExpected,
    })),
    spend: v.spend && {
      customers: v.spend.customers,
      meanPredictedSpend: v.spend.meanPredicted,
      meanActualSpend: v.spend.meanActual,
    },
  };
}

const fixed = (value: number | null, digits: number): string => (value === null ? "" : value.toFixed(digits));

/** Three tables: the figures, holdout purchases by calibration purchases, and the weekly tracking. */
export function validationTables(v: ClvValidation): string {
  const { fit } = v;
  const parameters = fit.bgnbd
    ? `r ${fit.bgnbd.r.toFixed(4)}, alpha ${fit.bgnbd.alpha.toFixed(4)}, a ${fit.bgnbd.a.toFixed(4)}, b ${fit.bgnbd.b.toFixed(4)}`
    : `r ${fit.paretoNbd!.r.toFixed(4)}, alpha ${fit.paretoNbd!.alpha.toFixed(4)}, s ${fit.paretoNbd!.s.toFixed(4)}, beta ${fit.paretoNbd!.beta.toFixed(4)}`;
  const gg = fit.gammaGamma;
  const figures: string[][] = [
    [`${MODEL_NAMES[v.model]} parameters (weeks)`, parameters],
    ["Gamma-Gamma parameters", `p ${gg.p.toFixed(4)}, q ${gg.q.toFixed(4)}, gamma ${gg.gamma.toFixed(4)}`],
    ["calibration buyers", String(v.customers)],
    ["calibration repeat purchases", String(v.calibrationRepeatPurchases)],
    ["holdout purchases, actual", String(v.actualHoldoutPurchases)],
    ["holdout purchases, predicted", v.predictedHoldoutPurchases.toFixed(2)],
    ["mean absolute error (per customer)", v.meanAbsoluteError.toFixed(4)],
    ["root mean squared error (per customer)", v.rootMeanSquaredError.toFixed(4)],
  ];
  if (v.spend) {
    figures.push(
      ["spend per purchase day, actual", `${v.spend.meanActual.toFixed(2)} (mean of ${v.spend.customers} customers)`],
      ["spend per purchase day, predicted", v.spend.meanPredicted.toFixed(2)],
    );
  }
  const summary = renderTable([{ header: "figure" }, { header: "value" }], figures, {
    title: `${MODEL_NAMES[v.model]} fitted to ${v.calibrationEnd}, holdout to ${v.holdoutEnd} (${v.holdoutDays} days)`,
  });
  const bins = renderTable(
    [
      { header: "calibration purchases" },
      { header: "customers", align: "right" },
      { header: "holdout actual", align: "right" },
      { header: "holdout predicted", align: "right" },
    ],
    v.byCalibrationPurchases.map((b) => [
      `${b.calibrationPurchases}${b.orMore ? "+" : ""}`,
      String(b.customers),
      fixed(b.meanActual, 3),
      fixed(b.meanPredicted, 3),
    ]),
    { title: "Mean holdout purchases by calibration repeat purchases" },
  );
  const tracking = renderTable(
    [
      { header: "week", align: "right" },
      { header: "to" },
      { header: "period" },
      { header: "actual", align: "right" },
      { header: "expected", align: "right" },
    ],
    v.tracking.map((w) => [
      String(w.week),
      w.to,
      w.holdout ? "holdout" : "calibration",
      String(w.cumulativeActual),
      w.cumulativeExpected.toFixed(1),
    ]),
    { title: "Cumulative repeat purchases per week" },
  );
  return [summary, bins, tracking].join("\n");
}

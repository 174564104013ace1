// The clvValidation query on the CDNOW sample (test/fixtures/cdnow): the service's validation through
// GraphQL, its input errors with their code, path and argument, and its fit counted among the request's.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { cdnowSampleTransactions } from "../helpers/cdnow.ts";
import { startTestServer, type TestServer } from "../helpers/server.ts";

const CALIBRATION_END = "1997-09-30";
const HOLDOUT_END = "1998-06-30";

const QUERY = `query($calibrationEnd: Date!, $holdoutEnd: Date!, $model: ClvModelKind) {
  clvValidation(calibrationEnd: $calibrationEnd, holdoutEnd: $holdoutEnd, model: $model) {
    calibrationEnd holdoutEnd holdoutDays model timeUnit
    fit { asOf customers bgnbd { r alpha a b } paretoNbd { r } gammaGamma { p q gamma } }
    customers calibrationRepeatPurchases actualHoldoutPurchases predictedHoldoutPurchases
    meanAbsoluteError rootMeanSquaredError
    byCalibrationPurchases { calibrationPurchases orMore customers meanActualPurchases meanPredictedPurchases }
    tracking { week from to period cumulativeRepeatPurchases cumulativeExpectedRepeatPurchases }
    spend { customers meanPredictedSpend meanActualSpend }
  }
}`;

interface Answer {
  clvValidation: {
    calibrationEnd: string;
    holdoutEnd: string;
    holdoutDays: number;
    model: string;
    timeUnit: string;
    fit: { asOf: string; customers: number; bgnbd: Record<string, number>; paretoNbd: null };
    customers: number;
    calibrationRepeatPurchases: number;
    actualHoldoutPurchases: number;
    predictedHoldoutPurchases: number;
    meanAbsoluteError: number;
    rootMeanSquaredError: number;
    byCalibrationPurchases: Record<string, unknown>[];
    tracking: { week: number; period: string; cumulativeRepeatPurchases: number }[];
    spend: { customers: number; meanPredictedSpend: number; meanActualSpend: number };
  } | null;
}

describe("clvValidation on the CDNOW sample", () => {
  let server: TestServer;
  beforeAll(async () => {
    server = await startTestServer({ rows: { transactions: cdnowSampleTransactions() } });
  });
  afterAll(async () => {
    await server?.close();
  });

  it("answers the service's validation: the calibration fit, totals, errors, bins, weeks and spend", async () => {
    const { data, errors } = await server.graphql<Answer>(QUERY, {
      calibrationEnd: CALIBRATION_END,
      holdoutEnd: HOLDOUT_END,
    });
    expect(errors).toBeUndefined();
    const v = data!.clvValidation!;
    const direct = await server.lifecycle.clvValidation({
      calibrationEnd: CALIBRATION_END,
      holdoutEnd: HOLDOUT_END,
      model: "BG_NBD",
    });
    expect(v).toMatchObject({
      calibrationEnd: CALIBRATION_END,
      holdoutEnd: HOLDOUT_END,
      holdoutDays: 273,
      model: "BG_NBD",
      timeUnit: "WEEK",
      fit: { asOf: CALIBRATION_END, customers: 2_357, paretoNbd: null },
      customers: direct.customers,
      calibrationRepeatPurchases: direct.calibrationRepeatPurchases,
      actualHoldoutPurchases: direct.actualHoldoutPurchases,
      predictedHoldoutPurchases: direct.predictedHoldoutPurchases,
      meanAbsoluteError: direct.meanAbsoluteError,
      rootMeanSquaredError: direct.rootMeanSquaredError,
      spend: {
        customers: direct.spend!.customers,
        meanPredictedSpend: direct.spend!.meanPredicted,
        meanActualSpend: direct.spend!.meanActual,
      },
    });
    expect(v.fit.bgnbd.r).toBeCloseTo(0.243, 2);
    expect(v.fit.bgnbd.b).toBeCloseTo(2.426, 2);
    expect(v.byCalibrationPurchases).toEqual(
      direct.byCalibrationPurchases.map((b) => ({
        calibrationPurchases: b.calibrationPurchases,
        orMore: b.orMore,
        customers: b.customers,
        meanActualPurchases: b.meanActual,
        meanPredictedPurchases: b.meanPredicted,
      })),
    );
    expect(v.tracking).toEqual(
      direct.tracking.map((w) => ({
        week: w.week,
        from: w.from,
        to: w.to,
        period: w.holdout ? "HOLDOUT" : "CALIBRATION",
        cumulativeRepeatPurchases: w.cumulativeActual,
        cumulativeExpectedRepeatPurchases: w.cumulativeExpected,
      })),
    );
    expect(v.tracking.filter((w) => w.period === "HOLDOUT")).toHaveLength(39);
  });

  it("refuses a holdout end on or before the calibration end: BAD_USER_INPUT about holdoutEnd, only this field null", async () => {
    for (const holdoutEnd of [CALIBRATION_END, "1997-01-01"]) {
      const { data, errors } = await server.graphql<Answer & { clvModel: { asOf: string } }>(
        `query($holdoutEnd: Date!) {
          clvModel(asOf: "${CALIBRATION_END}") { asOf }
          clvValidation(calibrationEnd: "${CALIBRATION_END}", holdoutEnd: $holdoutEnd) { customers }
        }`,
        { holdoutEnd },
      );
      expect(data!.clvValidation).toBeNull();
      expect(data!.clvModel).toEqual({ asOf: CALIBRATION_END });
      expect(errors).toHaveLength(1);
      expect(errors![0]!.path).toEqual(["clvValidation"]);
      expect(errors![0]!.message).toBe(`holdoutEnd (${holdoutEnd}) must be after calibrationEnd (${CALIBRATION_END})`);
      expect(errors![0]!.extensions).toMatchObject({ code: "BAD_USER_INPUT", argument: "holdoutEnd" });
    }
  });

  it("refuses a holdout end after the last day with data", async () => {
    const { data, errors } = await server.graphql<Answer>(QUERY, {
      calibrationEnd: CALIBRATION_END,
      holdoutEnd: "1998-07-01",
    });
    expect(data!.clvValidation).toBeNull();
    expect(errors![0]!.path).toEqual(["clvValidation"]);
    expect(errors![0]!.message).toBe("holdoutEnd (1998-07-01) is after the last day with data (1998-06-30)");
    expect(errors![0]!.extensions).toMatchObject({ code: "BAD_USER_INPUT", argument: "holdoutEnd" });
  });

  it("counts its calibration fit among the request's distinct fits, shared with clvModel's of the same day", async () => {
    const validation = `clvValidation(calibrationEnd: "${CALIBRATION_END}", holdoutEnd: "${HOLDOUT_END}") { customers }`;
    const shared = await server.graphql<Record<string, unknown>>(`{
      a: clvModel(asOf: "${CALIBRATION_END}") { asOf }
      b: clvModel(asOf: "1997-08-31") { asOf }
      c: clvModel(asOf: "1997-07-31") { asOf }
      ${validation}
    }`);
    expect(shared.errors).toBeUndefined();
    const beyond = await server.graphql<Record<string, unknown>>(`{
      a: clvModel(asOf: "1997-06-30") { asOf }
      b: clvModel(asOf: "1997-08-31") { asOf }
      c: clvModel(asOf: "1997-07-31") { asOf }
      ${validation}
    }`);
    expect(beyond.data!.clvValidation).toBeNull();
    expect(beyond.errors).toHaveLength(1);
    expect(beyond.errors![0]!.path).toEqual(["clvValidation"]);
    expect(beyond.errors![0]!.extensions).toMatchObject({ code: "QUERY_TOO_EXPENSIVE", maxClvFitsPerRequest: 3 });
  });
});

// The CDNOW summary (test/fixtures/cdnow_summary.csv, copied from shared/data/cdnow: Fader & Hardie's
// CDNOW 1/10 sample, 2,357 customers, weeks) as rows, and the sample's transactions
// (test/fixtures/cdnow/CDNOW_sample.txt, from the lifetimes package).
import { readFileSync } from "node:fs";
import type { ContractRow } from "../../src/connectors/connector.ts";

export interface CdnowRow {
  readonly id: number;
  readonly x: number;
  readonly tx: number;
  readonly T: number;
  readonly zbar: number;
}

export function readCdnow(): CdnowRow[] {
  return readFileSync(new URL("../fixtures/cdnow_summary.csv", import.meta.url), "utf8")
    .trim()
    .split("\n")
    .slice(1)
    .map((line) => {
      const [id, x, tx, T, zbar] = line.split(",").map(Number);
      return { id: id!, x: x!, tx: tx!, T: T!, zbar: zbar! };
    });
}

/** One line of the CDNOW 1/10 sample's transactions (test/fixtures/cdnow/CDNOW_sample.txt). */
export interface CdnowPurchase {
  /** The customer's id in the sample (1–2357, the summary's ID), as text. */
  readonly customerId: string;
  /** YYYY-MM-DD. */
  readonly day: string;
  readonly cds: number;
  readonly dollars: number;
}

/** The CDNOW sample's transactions, in file order. */
export function readCdnowSample(): CdnowPurchase[] {
  return readFileSync(new URL("../fixtures/cdnow/CDNOW_sample.txt", import.meta.url), "utf8")
    .split(/\r?\n/)
    .filter((line) => line.trim() !== "")
    .map((line) => {
      const [, sampleId, date, cds, dollars] = line.trim().split(/\s+/);
      return {
        customerId: String(Number(sampleId)),
        day: `${date!.slice(0, 4)}-${date!.slice(4, 6)}-${date!.slice(6, 8)}`,
        cds: Number(cds),
        dollars: Number(dollars),
      };
    });
}

/** The sample as transactions rows (customer_id, occurred_at at noon UTC, amount, no order id, no channel). */
export function cdnowSampleTransactions(): ContractRow[] {
  return readCdnowSample().map((p) => [p.customerId, Date.parse(`${p.day}T12:00:00Z`), p.dollars, null, null]);
}

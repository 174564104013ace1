// The CDNOW summary (test/fixtures/cdnow_summary.csv, copied from shared/data/cdnow: Fader & Hardie's
// CDNOW 1/10 sample, 2,357 customers, weeks) as rows.
import { readFileSync } from "node:fs";

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

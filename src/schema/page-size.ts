// The most items lists of the API hold, where a client's arguments size them: read by the fields that
// refuse more and by the answer budget's estimate (answer-size.ts).

/** Items a connection gives when not told (`first`/`last`), and the most it gives. */
export const PAGE_SIZE = { default: 50, max: 500 } as const;

/** Points a stage series may have from the state store's day counts (one query whatever their number). */
export const MAX_SERIES_POINTS = 1_000;

/** Items a connection gives when not told (`first`/`last`), and the most it gives. */
export const PAGE_SIZE = { default: 50, max: 500 } as const;

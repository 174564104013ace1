// Text no store can hold faithfully: U+0000 (PostgreSQL refuses it in text, failing the whole statement
// it is bound in) and UTF-16 surrogates without their pair (not Unicode: drivers silently turn them into
// U+FFFD, so the value stored or compared is not the one sent). Refused at the edge (server/input-hygiene.ts,
// the export route) and kept out of shared warehouse batches (services/lifecycle/features.ts).

/** Any NUL or surrogate code unit: a quick test that is false for nearly every string. */
const SUSPECT = /[\0\uD800-\uDFFF]/;
/** A surrogate that is not half of a pair (in Unicode mode a pair is one code point, outside Cs). */
const LONE_SURROGATE = /\p{Cs}/u;

/** Why `text` is refused as input, or undefined when it is fine. */
export function refusedTextReason(text: string): string | undefined {
  if (!SUSPECT.test(text)) return undefined;
  if (text.includes("\0")) return "contains a NUL character (U+0000)";
  if (LONE_SURROGATE.test(text)) return "contains an unpaired UTF-16 surrogate (not Unicode text)";
  return undefined;
}

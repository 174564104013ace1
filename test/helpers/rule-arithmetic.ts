// What max, min, add and mul compute, worked out by hand over a = 2, b = 7, c = 3: one table that both
// back ends of the rule language are held to (test/unit/rule-predicate.spec.ts, test/sql/rule-sql.spec.ts).
import type { ValueExpr } from "../../src/lifecycle/rules.ts";

export const ARITHMETIC_ROW = { a: 2, b: 7, c: 3 } as const;

const [a, b, c] = [{ field: "a" }, { field: "b" }, { field: "c" }];

export const ARITHMETIC_CASES: readonly (readonly [ValueExpr, number])[] = [
  [{ max: [a, b, c] }, 7],
  [{ min: [b, a, c] }, 2],
  [{ add: [a, b, c] }, 12],
  [{ mul: [a, b, c] }, 42],
  [{ max: [a] }, 2],
  [{ min: [b] }, 7],
  [{ add: [c] }, 3],
  [{ mul: [b] }, 7],
  [{ add: [a, -5] }, -3],
  [{ max: [60, { mul: [3, b] }] }, 60],
  [{ max: [6, { mul: [3, b] }] }, 21],
  [{ min: [{ add: [a, c] }, { mul: [a, c] }] }, 5],
];

import { describe, expect, it } from "vitest";
import { bigqueryDialect } from "../../src/connectors/bigquery.ts";
import { duckdbDialect } from "../../src/connectors/duckdb.ts";
import { postgresDialect } from "../../src/connectors/postgres.ts";
import { ident, InvalidIdentifierError, join, keyword, render, sql, TypedParam } from "../../src/sql/sql.ts";

describe("SQL fragments", () => {
  const query = sql`SELECT ${ident("t", "customer_id")} FROM ${ident("shop", "transactions")} AS t WHERE amount > ${10} AND channel = ANY(${["web", "app"]})`;

  it("bind every value as a parameter, in each dialect's style", () => {
    expect(render(query, postgresDialect)).toEqual({
      text: 'SELECT "t"."customer_id" FROM "shop"."transactions" AS t WHERE amount > $1 AND channel = ANY($2)',
      params: [
        { name: "p1", value: 10, type: undefined, array: undefined },
        { name: "p2", value: ["web", "app"], type: undefined, array: undefined },
      ],
    });
    expect(render(query, duckdbDialect).text).toBe(render(query, postgresDialect).text);
    expect(render(query, bigqueryDialect).text).toBe(
      "SELECT `t`.`customer_id` FROM `shop`.`transactions` AS t WHERE amount > @p1 AND channel = ANY(@p2)",
    );
  });

  it("give the same text for the same shape whatever the values (so warehouse caches hit)", () => {
    const shape = (v: string) => render(sql`SELECT 1 WHERE x = ${v}`, bigqueryDialect).text;
    expect(shape("a")).toBe(shape("'; DROP TABLE x; --"));
  });

  it("keep hostile values out of the text", () => {
    const hostile = "x'); DROP TABLE transactions; --";
    const { text, params } = render(sql`SELECT * FROM t WHERE id = ${hostile}`, postgresDialect);
    expect(text).not.toContain("DROP");
    expect(params[0]!.value).toBe(hostile);
  });

  it("refuse identifiers outside the strict pattern", () => {
    for (const bad of ['a"b', "a b", "1abc", "a;b", "", "a`b", "x".repeat(129)]) {
      if (bad === "") {
        expect(render(ident(bad), postgresDialect).text).toBe("");
        continue;
      }
      expect(() => ident(bad)).toThrow(InvalidIdentifierError);
    }
    expect(() => ident("valid_name", "INFORMATION_SCHEMA")).not.toThrow();
  });

  it("admit only upper-case keywords as fixed syntax", () => {
    expect(render(keyword("NUMERIC(18,2) NOT NULL"), postgresDialect).text).toBe("NUMERIC(18,2) NOT NULL");
    for (const bad of ["text", "INT; DROP", "A--", "A'B", "A/*"]) expect(() => keyword(bad)).toThrow();
  });

  it("join fragments and carry explicit parameter types", () => {
    const rendered = render(join([sql`a = ${new TypedParam(null, "DATE")}`, sql`b = ${1}`], " AND "), bigqueryDialect);
    expect(rendered.text).toBe("a = @p1 AND b = @p2");
    expect(rendered.params[0]).toMatchObject({ value: null, type: "DATE" });
  });
});

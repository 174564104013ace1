-- RFM scores are read from 15 bounds per state (lifecycle/rfm.ts, RfmBounds) instead of a row per buyer:
-- the pointer keeps them. A served state gets the bounds of its stored scores, so it keeps answering
-- (NULL when it has no buyers).
ALTER TABLE "state_pointer" ADD COLUMN "rfm" JSONB;

UPDATE "state_pointer" p SET "rfm" = b."rfm"
FROM (
  SELECT CASE WHEN EXISTS (SELECT 1 FROM "customer_rfm" r WHERE r.rows_generation = p2.rows_generation) THEN jsonb_build_object(
           'recency', (SELECT jsonb_agg(x.bound ORDER BY x.score) FROM (
             SELECT g.score, (SELECT MAX(p2.state_day - s.last_purchase_date)
                              FROM "customer_rfm" r JOIN "customer_state" s
                                ON s.rows_generation = r.rows_generation AND s.customer_id = r.customer_id
                              WHERE r.rows_generation = p2.rows_generation AND r.recency = g.score)::float8 AS bound
             FROM generate_series(1, 5) AS g(score)) AS x),
           'frequency', (SELECT jsonb_agg(x.bound ORDER BY x.score) FROM (
             SELECT g.score, (SELECT MIN(s.purchase_days)
                              FROM "customer_rfm" r JOIN "customer_state" s
                                ON s.rows_generation = r.rows_generation AND s.customer_id = r.customer_id
                              WHERE r.rows_generation = p2.rows_generation AND r.frequency = g.score)::float8 AS bound
             FROM generate_series(1, 5) AS g(score)) AS x),
           'monetary', (SELECT jsonb_agg(x.bound ORDER BY x.score) FROM (
             SELECT g.score, (SELECT MIN(FLOOR(1000000 * CAST(s.revenue AS float8) + 0.5))
                              FROM "customer_rfm" r JOIN "customer_state" s
                                ON s.rows_generation = r.rows_generation AND s.customer_id = r.customer_id
                              WHERE r.rows_generation = p2.rows_generation AND r.monetary = g.score)::float8 AS bound
             FROM generate_series(1, 5) AS g(score)) AS x)
         ) END AS "rfm"
  FROM "state_pointer" p2 WHERE p2.id = 1
) AS b
WHERE p.id = 1;

DROP TABLE "customer_rfm";

-- Each spell keeps the stage and first day of the spell before it (null for a customer's first): the
-- customers who changed between two days are then those with a spell beginning between them, their
-- stage on the first day the previous stage of the first such spell (stageTransitions), and a stage
-- change is one row (the outbox) — no window over each customer's spells.
ALTER TABLE "stage_spell" ADD COLUMN "previous_stage" SMALLINT,
ADD COLUMN "previous_from" DATE;

-- A state published before this migration gets the values its rows imply.
UPDATE "stage_spell" s SET "previous_stage" = b."previous_stage", "previous_from" = b."previous_from"
FROM (
  SELECT "rows_generation", "customer_id", "from_day",
         LAG("stage") OVER w AS "previous_stage", LAG("from_day") OVER w AS "previous_from"
  FROM "stage_spell"
  WINDOW w AS (PARTITION BY "rows_generation", "customer_id" ORDER BY "from_day")
) b
WHERE b."rows_generation" = s."rows_generation" AND b."customer_id" = s."customer_id"
  AND b."from_day" = s."from_day" AND b."previous_from" IS NOT NULL;

-- The spells beginning in a period are read from the index alone (an index-only scan once the table is
-- vacuumed): at 1M customers a quarter's transitions and entries read ~0.9M spells scattered over the
-- table by customer otherwise. Prisma's schema cannot say INCLUDE; the index keeps its name and keys.
DROP INDEX "stage_spell_rows_generation_from_day_idx";
CREATE INDEX "stage_spell_rows_generation_from_day_idx" ON "stage_spell"("rows_generation", "from_day")
  INCLUDE ("customer_id", "to_day", "stage", "stage_since", "from_seen", "from_purchase", "previous_stage", "previous_from");

-- Each spell keeps the days from the customer's first seen day and first purchase to its first day, so
-- stageTimings reads a period's entries without joining customer_state; and spells are indexed by day.
ALTER TABLE "stage_spell" ADD COLUMN "from_seen" INTEGER NOT NULL DEFAULT 0,
ADD COLUMN "from_purchase" INTEGER;

-- A state published before this migration gets the values its rows imply.
UPDATE "stage_spell" s SET "from_seen" = s."from_day" - c."first_seen_date",
    "from_purchase" = CASE WHEN c."first_purchase_date" <= s."from_day" THEN s."from_day" - c."first_purchase_date" END
FROM "customer_state" c
WHERE c."rows_generation" = s."rows_generation" AND c."customer_id" = s."customer_id";

ALTER TABLE "stage_spell" ALTER COLUMN "from_seen" DROP DEFAULT;

-- CreateIndex
CREATE INDEX "stage_spell_rows_generation_from_day_idx" ON "stage_spell"("rows_generation", "from_day");

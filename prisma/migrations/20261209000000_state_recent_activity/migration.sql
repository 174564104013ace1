-- Rows per customer and day over the lateness window of the state day: an incremental refresh reads
-- again only the customers whose counts there changed (rows came late), not everyone with a row in the
-- window. A state published before this migration has none: its first incremental refresh reads
-- everyone with a row in the window, as before, and keeps them from then on.
CREATE TABLE "state_recent_activity" (
    "rows_generation" INTEGER NOT NULL,
    "customer_id" TEXT NOT NULL,
    "day" DATE NOT NULL,
    "row_count" INTEGER NOT NULL,
    "amount_sum" DOUBLE PRECISION,

    CONSTRAINT "state_recent_activity_pkey" PRIMARY KEY ("rows_generation","customer_id","day")
);

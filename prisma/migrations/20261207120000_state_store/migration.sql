-- CreateTable
CREATE TABLE "state_pointer" (
    "id" INTEGER NOT NULL DEFAULT 1,
    "generation" INTEGER NOT NULL,
    "rows_generation" INTEGER NOT NULL,
    "state_day" DATE NOT NULL,
    "data_through" DATE,
    "model_hash" TEXT NOT NULL,
    "stage_keys" JSONB NOT NULL,
    "clv" JSONB,
    "published_at" TIMESTAMPTZ(3) NOT NULL,

    CONSTRAINT "state_pointer_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "state_refresh" (
    "generation" INTEGER NOT NULL,
    "kind" TEXT NOT NULL,
    "started_at" TIMESTAMPTZ(3) NOT NULL,
    "finished_at" TIMESTAMPTZ(3),
    "state_day" DATE NOT NULL,
    "data_through" DATE,
    "watermark" TIMESTAMPTZ(3),
    "rows_read" BIGINT NOT NULL DEFAULT 0,
    "customers" INTEGER NOT NULL DEFAULT 0,
    "changed_customers" INTEGER NOT NULL DEFAULT 0,
    "future_rows" BIGINT NOT NULL DEFAULT 0,
    "null_id_rows" BIGINT NOT NULL DEFAULT 0,
    "bytes_estimated" BIGINT,
    "table_rows" JSONB,
    "reason" TEXT,
    "model_hash" TEXT NOT NULL,
    "warnings" JSONB NOT NULL DEFAULT '[]',
    "error" TEXT,
    "published" BOOLEAN NOT NULL DEFAULT false,

    CONSTRAINT "state_refresh_pkey" PRIMARY KEY ("generation")
);

-- CreateTable
CREATE TABLE "customer_state" (
    "rows_generation" INTEGER NOT NULL,
    "customer_id" TEXT NOT NULL,
    "stage" SMALLINT NOT NULL,
    "furthest" SMALLINT NOT NULL,
    "stage_since" DATE NOT NULL,
    "next_change_day" DATE,
    "first_seen_date" DATE NOT NULL,
    "first_purchase_date" DATE,
    "second_purchase_date" DATE,
    "last_purchase_date" DATE,
    "purchase_days" INTEGER NOT NULL,
    "order_count" INTEGER NOT NULL,
    "revenue" DOUBLE PRECISION NOT NULL,
    "first_purchase_revenue" DOUBLE PRECISION,
    "referred_count" INTEGER,
    "acquisition_channel" TEXT,
    "last_event_date" DATE,
    "last_event_type" TEXT,
    "event_features" JSONB,

    CONSTRAINT "customer_state_pkey" PRIMARY KEY ("rows_generation","customer_id")
);

-- CreateTable
CREATE TABLE "customer_rfm" (
    "rows_generation" INTEGER NOT NULL,
    "customer_id" TEXT NOT NULL,
    "recency" SMALLINT NOT NULL,
    "frequency" SMALLINT NOT NULL,
    "monetary" SMALLINT NOT NULL,

    CONSTRAINT "customer_rfm_pkey" PRIMARY KEY ("rows_generation","customer_id")
);

-- CreateTable
CREATE TABLE "customer_clv" (
    "rows_generation" INTEGER NOT NULL,
    "customer_id" TEXT NOT NULL,
    "probability_alive" DOUBLE PRECISION NOT NULL,
    "expected_purchases" DOUBLE PRECISION NOT NULL,
    "expected_average_spend" DOUBLE PRECISION NOT NULL,
    "predicted_clv" DOUBLE PRECISION NOT NULL,

    CONSTRAINT "customer_clv_pkey" PRIMARY KEY ("rows_generation","customer_id")
);

-- CreateTable
CREATE TABLE "stage_spell" (
    "rows_generation" INTEGER NOT NULL,
    "customer_id" TEXT NOT NULL,
    "from_day" DATE NOT NULL,
    "to_day" DATE,
    "stage" SMALLINT NOT NULL,
    "furthest" SMALLINT NOT NULL,
    "stage_since" DATE NOT NULL,

    CONSTRAINT "stage_spell_pkey" PRIMARY KEY ("rows_generation","customer_id","from_day")
);

-- CreateTable
CREATE TABLE "stage_day_count" (
    "rows_generation" INTEGER NOT NULL,
    "furthest" BOOLEAN NOT NULL,
    "day" DATE NOT NULL,
    "stage" SMALLINT NOT NULL,
    "customers" INTEGER NOT NULL,

    CONSTRAINT "stage_day_count_pkey" PRIMARY KEY ("rows_generation","furthest","day","stage")
);

-- CreateIndex
CREATE INDEX "customer_state_rows_generation_stage_idx" ON "customer_state"("rows_generation", "stage");

-- Written by hand (Prisma does not model CHECK constraints): one pointer row, two kinds of refresh.
ALTER TABLE "state_pointer" ADD CONSTRAINT "state_pointer_one_row" CHECK ("id" = 1);
ALTER TABLE "state_refresh" ADD CONSTRAINT "state_refresh_kind_check" CHECK ("kind" IN ('full', 'incremental'));

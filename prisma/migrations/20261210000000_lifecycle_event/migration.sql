-- The outbox of lifecycle events: each refresh writes the stage changes it found in the transaction
-- that publishes it; webhooks, subscriptions and `clm events tail` read it by position.
CREATE TABLE "lifecycle_event" (
    "position" BIGSERIAL NOT NULL,
    "id" TEXT NOT NULL,
    "type" TEXT NOT NULL,
    "customer_id" TEXT NOT NULL,
    "day" DATE NOT NULL,
    "from_stage" TEXT,
    "to_stage" TEXT,
    "segment_id" UUID,
    "generation" INTEGER NOT NULL,
    "created_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "lifecycle_event_pkey" PRIMARY KEY ("position")
);

-- CreateIndex
CREATE UNIQUE INDEX "lifecycle_event_id_key" ON "lifecycle_event"("id");

-- CreateIndex
CREATE INDEX "lifecycle_event_created_at_idx" ON "lifecycle_event"("created_at");

-- Saved segments whose entries and exits become events, and their members at the last refresh (the
-- next one writes who entered and who left). `members_generation` null: no members kept yet (the first
-- refresh after tracking starts is the baseline).
CREATE TABLE "segment_tracking" (
    "segment_id" UUID NOT NULL,
    "tracked_since" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "members_generation" INTEGER,

    CONSTRAINT "segment_tracking_pkey" PRIMARY KEY ("segment_id")
);

CREATE TABLE "segment_member" (
    "segment_id" UUID NOT NULL,
    "customer_id" TEXT NOT NULL,

    CONSTRAINT "segment_member_pkey" PRIMARY KEY ("segment_id","customer_id")
);

-- AddForeignKey
ALTER TABLE "segment_tracking" ADD CONSTRAINT "segment_tracking_segment_id_fkey" FOREIGN KEY ("segment_id") REFERENCES "segment"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "segment_member" ADD CONSTRAINT "segment_member_segment_id_fkey" FOREIGN KEY ("segment_id") REFERENCES "segment_tracking"("segment_id") ON DELETE CASCADE ON UPDATE CASCADE;

-- Webhook endpoints: where the outbox is delivered, signed per Standard Webhooks with the endpoint's
-- secret. `cursor` is the last position delivered (or passed over by the filters); `pending_through`
-- the last position of the batch being tried, so a retry sends the same batch under the same id.
CREATE TABLE "webhook_endpoint" (
    "id" UUID NOT NULL,
    "url" TEXT NOT NULL,
    "description" TEXT NOT NULL DEFAULT '',
    "event_types" TEXT[] NOT NULL DEFAULT ARRAY[]::TEXT[],
    "to_stages" TEXT[] NOT NULL DEFAULT ARRAY[]::TEXT[],
    "segment_ids" TEXT[] NOT NULL DEFAULT ARRAY[]::TEXT[],
    "secret" TEXT NOT NULL,
    "enabled" BOOLEAN NOT NULL DEFAULT true,
    "disabled_reason" TEXT,
    "cursor" BIGINT NOT NULL DEFAULT 0,
    "pending_through" BIGINT,
    "attempts" INTEGER NOT NULL DEFAULT 0,
    "failing_since" TIMESTAMPTZ(3),
    "next_attempt_at" TIMESTAMPTZ(3),
    "created_by" TEXT,
    "created_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "updated_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "webhook_endpoint_pkey" PRIMARY KEY ("id")
);

-- The delivery log: one row per attempt to send a batch.
CREATE TABLE "webhook_attempt" (
    "id" BIGSERIAL NOT NULL,
    "endpoint_id" UUID NOT NULL,
    "message_id" TEXT NOT NULL,
    "first_position" BIGINT NOT NULL,
    "last_position" BIGINT NOT NULL,
    "events" INTEGER NOT NULL,
    "attempt" INTEGER NOT NULL,
    "status" INTEGER,
    "error" TEXT,
    "succeeded" BOOLEAN NOT NULL,
    "duration_ms" INTEGER NOT NULL,
    "attempted_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "webhook_attempt_pkey" PRIMARY KEY ("id")
);

-- CreateIndex
CREATE INDEX "webhook_attempt_endpoint_id_id_idx" ON "webhook_attempt"("endpoint_id", "id");

-- AddForeignKey
ALTER TABLE "webhook_attempt" ADD CONSTRAINT "webhook_attempt_endpoint_id_fkey" FOREIGN KEY ("endpoint_id") REFERENCES "webhook_endpoint"("id") ON DELETE CASCADE ON UPDATE CASCADE;

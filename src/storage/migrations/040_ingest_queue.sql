-- Webhooks answered once stored, and applied right behind (src/ingest/queue.ts). The intake
-- writes only this row (no JSON parsing, no personal-data checks in the database) and answers;
-- the applier turns rows into deliveries, messages and statuses and folds their conversations in
-- one transaction that also deletes them, so a webhook is applied exactly once whatever stops the
-- exporter in between: a row still here after a crash is applied at the next start, or by any
-- replica's sweep.
CREATE TABLE ingest_queue (
  id          bigserial   PRIMARY KEY,
  provider    text        NOT NULL,
  -- What recognises a redelivery, as webhook_deliveries.body_sha256: an identical body waiting
  -- here or stored there is answered `duplicate` and not queued again.
  body_sha256 bytea       NOT NULL,
  -- The body as received (JSON text), parsed again by the applier.
  body        text        NOT NULL,
  queued_at   timestamptz NOT NULL DEFAULT now(),
  UNIQUE (provider, body_sha256)
);

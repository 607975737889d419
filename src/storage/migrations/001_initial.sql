-- Foundation schema: raw webhook deliveries (audit and replay), business numbers, contacts,
-- messages in both directions, message status history, account-level webhook events, and the
-- conversations (tickets) that the lifecycle builds on.
-- Personal data (phone numbers, names, message text) lives only here, never in metrics or logs.

-- Every accepted webhook body, once: an identical redelivery hits the unique key.
CREATE TABLE webhook_deliveries (
  id           bigserial PRIMARY KEY,
  provider     text        NOT NULL,
  received_at  timestamptz NOT NULL DEFAULT now(),
  body_sha256  bytea       NOT NULL,
  payload      jsonb       NOT NULL,
  -- 'stored' when parsed into rows, 'rejected' when signed but not understood (kept for replay).
  outcome      text        NOT NULL CHECK (outcome IN ('stored', 'rejected')),
  error        text,
  UNIQUE (provider, body_sha256)
);
CREATE INDEX webhook_deliveries_received_at_idx ON webhook_deliveries (received_at);

-- The business's WhatsApp numbers (Meta phone_number_id), the tenant key of every message.
CREATE TABLE business_numbers (
  phone_number_id      text PRIMARY KEY,
  display_phone_number text,
  waba_id              text,
  first_seen_at        timestamptz NOT NULL DEFAULT now()
);

-- Customers by normalised WhatsApp id (digits only; business-scoped ids kept as given).
CREATE TABLE contacts (
  wa_id         text PRIMARY KEY,
  profile_name  text,
  first_seen_at timestamptz NOT NULL DEFAULT now(),
  updated_at    timestamptz NOT NULL DEFAULT now()
);

-- One row per WhatsApp message (wamid), inbound or outbound.
-- source: 'webhook' (inbound messages[]), 'echo' (smb_message_echoes, typed in the Business app),
-- 'status' (an API-sent message known only from its status updates), 'event' (helpdesk events API).
CREATE TABLE messages (
  wamid           text PRIMARY KEY,
  provider        text        NOT NULL,
  source          text        NOT NULL,
  phone_number_id text,
  contact_wa_id   text,
  direction       text        NOT NULL CHECK (direction IN ('inbound', 'outbound')),
  sender          text        NOT NULL CHECK (sender IN ('customer', 'agent', 'bot', 'unknown')),
  agent_id        text,
  type            text        NOT NULL,
  sent_at         timestamptz NOT NULL,
  received_at     timestamptz NOT NULL DEFAULT now(),
  text_body       text,
  context_wamid   text,
  payload         jsonb,
  delivery_id     bigint REFERENCES webhook_deliveries (id) ON DELETE SET NULL
);
CREATE INDEX messages_thread_idx ON messages (phone_number_id, contact_wa_id, sent_at);
CREATE INDEX messages_sent_at_idx ON messages (sent_at);
CREATE INDEX messages_context_idx ON messages (context_wamid) WHERE context_wamid IS NOT NULL;

-- Status history of outbound messages, one row per (wamid, status). No foreign key on purpose:
-- a status may arrive before the message it refers to is known.
CREATE TABLE message_statuses (
  wamid         text        NOT NULL,
  status        text        NOT NULL,
  occurred_at   timestamptz NOT NULL,
  received_at   timestamptz NOT NULL DEFAULT now(),
  recipient_id  text,
  error_codes   integer[]   NOT NULL DEFAULT '{}',
  payload       jsonb       NOT NULL,
  delivery_id   bigint REFERENCES webhook_deliveries (id) ON DELETE SET NULL,
  PRIMARY KEY (wamid, status)
);
CREATE INDEX message_statuses_failed_idx ON message_statuses (occurred_at) WHERE status = 'failed';

-- Webhook fields other than messages (template status, account updates, user preferences,
-- value-level errors …), kept whole; value_sha256 makes redeliveries idempotent.
CREATE TABLE account_events (
  id            bigserial PRIMARY KEY,
  provider      text        NOT NULL,
  field         text        NOT NULL,
  account_id    text,
  occurred_at   timestamptz,
  received_at   timestamptz NOT NULL DEFAULT now(),
  value         jsonb       NOT NULL,
  value_sha256  bytea       NOT NULL,
  delivery_id   bigint REFERENCES webhook_deliveries (id) ON DELETE SET NULL,
  UNIQUE (provider, field, value_sha256)
);
CREATE INDEX account_events_field_idx ON account_events (field, received_at);

-- Conversations (tickets) derived by the lifecycle, the helpdesk events that drive them, and
-- agent presence and handling history for the agent time counters.

CREATE TABLE conversations (
  id                       bigserial PRIMARY KEY,
  phone_number_id          text        NOT NULL,
  contact_wa_id            text        NOT NULL,
  status                   text        NOT NULL CHECK (status IN ('open', 'resolved')),
  -- unassigned | assigned | bot | waiting_customer while open; resolved after.
  state                    text        NOT NULL,
  category                 text        NOT NULL DEFAULT 'unknown',
  -- Set by sentiment analysis: 'negative' marks a customer whose conversation turned negative.
  sentiment                text,
  opened_at                timestamptz NOT NULL,
  cycle_started_at         timestamptz NOT NULL,
  handler                  text        NOT NULL CHECK (handler IN ('none', 'bot', 'agent')),
  assigned_agent           text,
  bot_engaged              boolean     NOT NULL DEFAULT false,
  handed_over              boolean     NOT NULL DEFAULT false,
  first_response_at        timestamptz,
  first_responder          text,
  first_response_agent     text,
  first_response_wamid     text,
  waiting_since            timestamptz,
  last_customer_message_at timestamptz NOT NULL,
  last_business_message_at timestamptz,
  last_activity_at         timestamptz NOT NULL,
  resolved_at              timestamptz,
  resolved_by              text CHECK (resolved_by IN ('agent', 'bot', 'auto')),
  resolved_agent           text,
  reopen_count             integer     NOT NULL DEFAULT 0,
  fcr                      text CHECK (fcr IN ('pending', 'resolved', 'reopened')),
  window_expired_at        timestamptz,
  updated_at               timestamptz NOT NULL DEFAULT now()
);
-- At most one open conversation per thread (customer × business number).
CREATE UNIQUE INDEX conversations_one_open_idx ON conversations (phone_number_id, contact_wa_id) WHERE status = 'open';
CREATE INDEX conversations_thread_idx ON conversations (phone_number_id, contact_wa_id, opened_at DESC);
-- Scrape-time gauges read only open conversations.
CREATE INDEX conversations_open_idx ON conversations (state, category) WHERE status = 'open';
CREATE INDEX conversations_open_agent_idx ON conversations (assigned_agent) WHERE status = 'open';
-- The timers job: auto-resolution, service windows, FCR windows.
CREATE INDEX conversations_open_activity_idx ON conversations (last_activity_at) WHERE status = 'open';
CREATE INDEX conversations_open_waiting_idx ON conversations (last_customer_message_at) WHERE status = 'open' AND waiting_since IS NOT NULL;
CREATE INDEX conversations_fcr_pending_idx ON conversations (resolved_at) WHERE fcr = 'pending';
CREATE INDEX conversations_first_response_wamid_idx ON conversations (first_response_wamid) WHERE first_response_wamid IS NOT NULL;

-- Events from the helpdesk events API, idempotent on the sender's event id.
CREATE TABLE helpdesk_events (
  id              text PRIMARY KEY,
  type            text        NOT NULL,
  occurred_at     timestamptz NOT NULL,
  received_at     timestamptz NOT NULL DEFAULT now(),
  phone_number_id text,
  contact_wa_id   text,
  agent           text,
  payload         jsonb       NOT NULL
);
CREATE INDEX helpdesk_events_thread_idx ON helpdesk_events (phone_number_id, contact_wa_id, occurred_at);

-- Every agent id ever seen, so per-agent series exist (at 0) for all of them.
CREATE TABLE agents (
  agent         text PRIMARY KEY,
  first_seen_at timestamptz NOT NULL DEFAULT now()
);

-- Presence changes; online intervals are derived from them at scrape time, in event-time order.
CREATE TABLE agent_status_events (
  event_id    text PRIMARY KEY,
  agent       text        NOT NULL,
  status      text        NOT NULL CHECK (status IN ('online', 'away', 'offline')),
  occurred_at timestamptz NOT NULL
);
CREATE INDEX agent_status_events_agent_idx ON agent_status_events (agent, occurred_at);

-- When an agent was handling an open conversation (for whatsapp_agent_busy_seconds_total).
CREATE TABLE agent_handling (
  id              bigserial PRIMARY KEY,
  agent           text        NOT NULL,
  conversation_id bigint      NOT NULL REFERENCES conversations (id) ON DELETE CASCADE,
  started_at      timestamptz NOT NULL,
  ended_at        timestamptz
);
CREATE INDEX agent_handling_agent_idx ON agent_handling (agent, started_at);
CREATE INDEX agent_handling_open_idx ON agent_handling (conversation_id, agent) WHERE ended_at IS NULL;

-- Request analysis: per-message category and sentiment, opt-in and opt-out, CSAT surveys, and
-- analytics views without personal data for dashboards (read by Grafana's read-only role).

ALTER TABLE messages
  ADD COLUMN category        text,
  ADD COLUMN sentiment       text CHECK (sentiment IN ('negative', 'neutral', 'positive')),
  ADD COLUMN sentiment_score real,
  ADD COLUMN language        text;

ALTER TABLE contacts
  ADD COLUMN opted_in_at  timestamptz,
  ADD COLUMN opted_out_at timestamptz;

-- One survey per resolved conversation, ever.
CREATE TABLE csat_surveys (
  id               bigserial PRIMARY KEY,
  conversation_id  bigint      NOT NULL UNIQUE REFERENCES conversations (id) ON DELETE CASCADE,
  phone_number_id  text        NOT NULL,
  contact_wa_id    text        NOT NULL,
  agent            text,
  category         text        NOT NULL,
  resolved_at      timestamptz NOT NULL,
  due_at           timestamptz NOT NULL,
  -- pending → sending → sent → answered | expired | undelivered; or skipped / failed.
  status           text        NOT NULL DEFAULT 'pending'
                   CHECK (status IN ('pending', 'sending', 'sent', 'answered', 'expired', 'undelivered', 'skipped', 'failed')),
  kind             text CHECK (kind IN ('interactive', 'template')),
  attempts         integer     NOT NULL DEFAULT 0,
  claimed_at       timestamptz,
  next_attempt_at  timestamptz,
  last_error       text,
  wamid            text UNIQUE,
  sent_at          timestamptz,
  answered_at      timestamptz,
  score            integer CHECK (score BETWEEN 1 AND 5),
  answer_wamid     text,
  created_at       timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX csat_surveys_due_idx ON csat_surveys (next_attempt_at) WHERE status = 'pending';
CREATE INDEX csat_surveys_open_idx ON csat_surveys (phone_number_id, contact_wa_id, sent_at) WHERE status = 'sent';

-- Settings the views need, written by the exporter at start (the business time zone).
CREATE TABLE exporter_settings (
  key   text PRIMARY KEY,
  value text NOT NULL
);

CREATE SCHEMA analytics;

-- Messages per local day and hour (the weekday × hour heatmap), in the business time zone, by
-- the category of the conversation they belong to (the latest one opened by then).
CREATE VIEW analytics.messages_by_hour AS
SELECT (m.sent_at AT TIME ZONE s.tz)::date                AS day,
       extract(dow FROM m.sent_at AT TIME ZONE s.tz)::int  AS weekday,
       extract(hour FROM m.sent_at AT TIME ZONE s.tz)::int AS hour,
       m.direction,
       m.sender,
       coalesce(c.category, m.category, 'unknown')         AS category,
       count(*)                                            AS messages
  FROM messages m
 CROSS JOIN (SELECT coalesce((SELECT value FROM exporter_settings WHERE key = 'timezone'), 'UTC') AS tz) s
  LEFT JOIN LATERAL (SELECT category FROM conversations c
                      WHERE c.phone_number_id = m.phone_number_id AND c.contact_wa_id = m.contact_wa_id
                        AND c.opened_at <= m.sent_at
                      ORDER BY c.opened_at DESC LIMIT 1) c ON true
 GROUP BY 1, 2, 3, 4, 5, 6;

-- Conversations with their KPIs; no phone numbers, names or text.
CREATE VIEW analytics.conversations AS
SELECT c.id,
       c.phone_number_id,
       c.opened_at,
       c.resolved_at,
       c.state,
       c.category,
       coalesce(c.sentiment, 'neutral')                               AS sentiment,
       extract(epoch FROM c.first_response_at - c.opened_at)::float8  AS first_response_seconds,
       c.first_responder,
       extract(epoch FROM c.resolved_at - c.cycle_started_at)::float8 AS resolution_seconds,
       c.resolved_by,
       c.assigned_agent,
       c.reopen_count,
       CASE WHEN c.status = 'open' AND c.waiting_since IS NOT NULL
            THEN extract(epoch FROM now() - c.waiting_since)::float8 END AS waiting_seconds,
       s.score                                                        AS csat_score
  FROM conversations c
  LEFT JOIN csat_surveys s ON s.conversation_id = c.id;

-- Grafana's read-only role is not created here: migrations need only ownership of the database
-- (no CREATEROLE, as on RDS, Cloud SQL and Azure). An administrator creates the role if wanted
-- (deploy/sql/readonly-role.sql); the exporter then grants it SELECT on the analytics views at
-- every start. Views read the base tables with their owner's rights; the role gets no base-table
-- access. This file was changed after it landed; migrate.ts accepts its first version's checksum.

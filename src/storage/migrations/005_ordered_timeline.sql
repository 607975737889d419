-- Conversations follow the time-ordered timeline, whatever order their inputs arrive in: each
-- time an input reaches a thread, its conversations are folded again from the stored inputs.
-- Facts (a first response, a resolution …) are kept per conversation with their own keys, and a
-- fact is counted once, after it has stood unchanged for SETTLE_AFTER.

-- key → {"v": fact, "s": since (epoch ms, when this value first appeared), "c": 1 | the fact as counted}.
-- NULL on conversations stored before this migration: their first fold takes every fact as
-- counted already (they were counted by the version that stored them).
ALTER TABLE conversations
  ADD COLUMN facts            jsonb,
  -- When the earliest fact not yet counted has stood for SETTLE_AFTER; NULL when none waits.
  ADD COLUMN settle_at        timestamptz,
  -- When time alone changes the conversation next (auto-resolution, window expiry, FCR decision).
  ADD COLUMN next_deadline_at timestamptz;
CREATE INDEX conversations_settle_idx ON conversations (settle_at) WHERE settle_at IS NOT NULL;
CREATE INDEX conversations_deadline_idx ON conversations (next_deadline_at) WHERE next_deadline_at IS NOT NULL;
-- Let the timers job fold every conversation that time may still change once, to set its deadline.
UPDATE conversations SET next_deadline_at = now() WHERE status = 'open' OR fcr = 'pending';

-- An unanswered conversation's first resolution is 'unanswered' until the customer comes back
-- (then 'reopened') or the FCR window closes ('abandoned': neither success nor failure).
ALTER TABLE conversations DROP CONSTRAINT conversations_fcr_check;
ALTER TABLE conversations ADD CONSTRAINT conversations_fcr_check
  CHECK (fcr IN ('pending', 'unanswered', 'resolved', 'reopened', 'abandoned'));
ALTER TABLE conversations RENAME COLUMN first_response_wamid TO first_response_message_id;
DROP INDEX conversations_first_response_wamid_idx;
-- The scrape-time gauges group by business number.
DROP INDEX conversations_open_idx;
CREATE INDEX conversations_open_idx ON conversations (phone_number_id, state, category) WHERE status = 'open';
-- The timers job used these; it now follows next_deadline_at.
DROP INDEX conversations_open_activity_idx;
DROP INDEX conversations_open_waiting_idx;
DROP INDEX conversations_fcr_pending_idx;

-- What the adapter says of a message: whether a customer message is a request (a reaction or a
-- system notice is not), and whether it answers a CSAT survey (then it is no request either).
ALTER TABLE messages
  ADD COLUMN is_request   boolean,
  ADD COLUMN survey_reply boolean NOT NULL DEFAULT false;
UPDATE messages SET is_request = (direction = 'inbound' AND sender = 'customer' AND type NOT IN ('reaction', 'system', 'request_welcome'));
ALTER TABLE messages ALTER COLUMN is_request SET NOT NULL, ALTER COLUMN is_request SET DEFAULT false;
UPDATE messages m SET survey_reply = true FROM csat_surveys s WHERE s.answer_wamid = m.wamid;

-- Inputs are no longer applied once and flagged: every fold reads them all.
DROP INDEX helpdesk_events_unapplied_idx;
DROP INDEX messages_unapplied_outbound_idx;
ALTER TABLE helpdesk_events DROP COLUMN applied;
ALTER TABLE messages DROP COLUMN applied;

-- Conversation events from any provider, with the fields the fold reads as columns.
ALTER TABLE helpdesk_events
  ADD COLUMN provider    text NOT NULL DEFAULT 'helpdesk',
  ADD COLUMN resolved_by text,
  ADD COLUMN category    text,
  ADD COLUMN message_id  text;
UPDATE helpdesk_events
   SET resolved_by = payload->>'by', category = payload->>'category', message_id = payload->>'message_id'
 WHERE type IN ('resolved', 'categorized', 'agent_message', 'bot_message');
-- Answers a helpdesk reports with a message id are that message; the fold reads the message.
CREATE INDEX helpdesk_events_fold_idx ON helpdesk_events (phone_number_id, contact_wa_id, occurred_at) WHERE message_id IS NULL;
DROP INDEX helpdesk_events_thread_idx;

-- A survey answer is the customer's earliest scoring reply, whatever order replies arrive in;
-- provider-collected ratings (Chatwoot) are surveys we did not send.
ALTER TABLE csat_surveys DROP CONSTRAINT csat_surveys_kind_check;
ALTER TABLE csat_surveys ADD CONSTRAINT csat_surveys_kind_check CHECK (kind IN ('interactive', 'template', 'provider'));
ALTER TABLE csat_surveys ADD COLUMN rating_id text UNIQUE;
CREATE INDEX csat_surveys_answered_idx ON csat_surveys (phone_number_id, contact_wa_id, sent_at) WHERE status IN ('sent', 'answered');

-- Helpdesk events and outbound messages that arrived before the customer message they belong to
-- (e.g. while Meta was still retrying the inbound webhook) are applied when that message opens
-- the conversation. These flags say what has been applied already.
-- Rows stored before this migration count as applied (they were handled when they arrived);
-- new rows start unapplied.
ALTER TABLE helpdesk_events ADD COLUMN applied boolean NOT NULL DEFAULT true;
ALTER TABLE helpdesk_events ALTER COLUMN applied SET DEFAULT false;
ALTER TABLE messages ADD COLUMN applied boolean NOT NULL DEFAULT true;
ALTER TABLE messages ALTER COLUMN applied SET DEFAULT false;
CREATE INDEX helpdesk_events_unapplied_idx ON helpdesk_events (phone_number_id, contact_wa_id, occurred_at) WHERE NOT applied;
CREATE INDEX messages_unapplied_outbound_idx ON messages (phone_number_id, contact_wa_id, sent_at) WHERE direction = 'outbound' AND NOT applied;

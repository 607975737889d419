-- Helpdesk events and outbound messages that arrived before the customer message they belong to
-- (e.g. while Meta was still retrying the inbound webhook) are applied when that message opens
-- the conversation. These flags say what has been applied already.
ALTER TABLE helpdesk_events ADD COLUMN applied boolean NOT NULL DEFAULT false;
ALTER TABLE messages ADD COLUMN applied boolean NOT NULL DEFAULT false;
CREATE INDEX helpdesk_events_unapplied_idx ON helpdesk_events (phone_number_id, contact_wa_id, occurred_at) WHERE NOT applied;
CREATE INDEX messages_unapplied_outbound_idx ON messages (phone_number_id, contact_wa_id, sent_at) WHERE direction = 'outbound' AND NOT applied;

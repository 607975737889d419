-- Privacy: retention and erasure (src/privacy/personal-data.ts lists every table and column and
-- what happens to it). Personal values are replaced by pseudonyms that start with 'anon:', text
-- and raw payloads are set to NULL, and the anonymous facts KPIs and views need stay.

-- The pseudonym of an id that carries a random part (a wamid, a helpdesk event id): 'anon:' and
-- its SHA-256. Deterministic, so a message and its statuses keep one key across runs, and a
-- redelivered message is recognised as one already anonymised (see src/storage/anonymised.ts).
-- Phone numbers are never hashed this way (there are too few to guess): customers get keyed or
-- random pseudonyms from the exporter. An id that is already a pseudonym stays as it is.
CREATE FUNCTION privacy_id_pseudonym(id text) RETURNS text
  LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE
  AS $$ SELECT CASE WHEN id LIKE 'anon:%' THEN id ELSE 'anon:' || encode(sha256(convert_to(id, 'UTF8')), 'hex') END $$;

-- Raw bodies and payloads are set to NULL once their personal data is removed.
ALTER TABLE webhook_deliveries ALTER COLUMN payload DROP NOT NULL;
ALTER TABLE message_statuses ALTER COLUMN payload DROP NOT NULL;
ALTER TABLE account_events ALTER COLUMN value DROP NOT NULL;

-- Rows that still hold personal data, by the time retention compares with its cutoff. A row
-- leaves its index when it is anonymised, so each hourly run reads only what became due.
CREATE INDEX messages_personal_idx ON messages (sent_at) WHERE wamid NOT LIKE 'anon:%';
CREATE INDEX message_statuses_personal_idx ON message_statuses (occurred_at) WHERE wamid NOT LIKE 'anon:%';
CREATE INDEX helpdesk_events_personal_idx ON helpdesk_events (occurred_at)
  WHERE contact_wa_id IS NOT NULL AND contact_wa_id NOT LIKE 'anon:%';
CREATE INDEX conversations_personal_idx ON conversations (last_activity_at) WHERE contact_wa_id NOT LIKE 'anon:%';
CREATE INDEX webhook_deliveries_personal_idx ON webhook_deliveries (received_at) WHERE payload IS NOT NULL;
CREATE INDEX account_events_personal_idx ON account_events (received_at) WHERE value IS NOT NULL;

-- One customer's rows, whatever the business number: erasure, and whether a contact has any
-- personal data left.
CREATE INDEX messages_contact_idx ON messages (contact_wa_id);
CREATE INDEX helpdesk_events_contact_idx ON helpdesk_events (contact_wa_id);
CREATE INDEX conversations_contact_idx ON conversations (contact_wa_id);
CREATE INDEX csat_surveys_contact_idx ON csat_surveys (contact_wa_id);

-- A raw body that repeats a message already anonymised (Meta redelivering an erased message in a
-- new envelope) is stored without its payload: the body hash and the arrival stay, the personal
-- data does not come back. Used by the write path (storage/webhook-store.ts) on every body.
CREATE FUNCTION privacy_storable_body(body jsonb) RETURNS jsonb
  LANGUAGE sql STABLE PARALLEL SAFE
  AS $$
    SELECT CASE WHEN EXISTS (
      SELECT 1
        FROM jsonb_path_query(body, 'lax $.entry[*].changes[*].value.*[*].id') AS ids(id)
        JOIN messages anonymised ON anonymised.wamid = privacy_id_pseudonym(ids.id #>> '{}')
       WHERE jsonb_typeof(ids.id) = 'string'
    ) THEN NULL ELSE body END
  $$;

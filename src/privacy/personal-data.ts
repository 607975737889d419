/**
 * Where personal data lives, and what retention and erasure do to it: one explicit list of every
 * table and column. A test compares it with the database, so a new table or column cannot land
 * without a decision here. Everything else in src/privacy is built from this list.
 *
 * The rule: personal values (phone numbers, names, message text, raw payloads, and ids that
 * embed a phone number, as wamids do) are removed; the anonymous facts that KPIs, the analytics
 * views, the dashboards and the conversation fold need — times, direction, sender, type, agent,
 * category, sentiment, status, scores, and a thread key shared by the rows of one thread — stay.
 */

export type Treatment =
  /** Anonymous: kept as it is. */
  | { kind: 'keep'; why: string }
  /** A customer id: replaced by the customer's pseudonym (one per customer in a run, so a thread keeps one key). */
  | { kind: 'customer'; why: string }
  /** An id that carries the customer's number or is chosen by a sender: replaced by privacy_id_pseudonym (SHA-256). */
  | { kind: 'id'; why: string }
  /** Personal content: set to NULL. */
  | { kind: 'null'; why: string }
  /** A JSON document reduced to its anonymous keys (`idKeys` are pseudonymised like ids). */
  | { kind: 'reduce'; why: string; keys: readonly string[]; idKeys: readonly string[] }
  /** The whole row goes. */
  | { kind: 'delete'; why: string }
  /** A conversation's facts map: keys that name a message or event (`m:<wamid>`, `reply:<id>`) take that id's pseudonym. */
  | { kind: 'factKeys'; why: string };

export interface TableRule {
  /** What the table holds, and how rows are chosen (for the docs and the report). */
  about: string;
  columns: Readonly<Record<string, Treatment>>;
}

const keep = (why: string): Treatment => ({ kind: 'keep', why });
const customer = (why: string): Treatment => ({ kind: 'customer', why });
const id = (why: string): Treatment => ({ kind: 'id', why });
const nullify = (why: string): Treatment => ({ kind: 'null', why });
const remove = (why: string): Treatment => ({ kind: 'delete', why });

const EVENT_TIME = 'event time: durations, the fold, heatmaps';
const THREAD = 'thread key: rows of one thread share one pseudonym, so the fold and per-thread views still work';
const WAMID = 'wamids embed the customer number (base64); the SHA-256 keeps statuses and replies linked and stops redeliveries';

/** Every table of the schema (public; the analytics views read these) and every column. */
export const PERSONAL_DATA: Readonly<Record<string, TableRule>> = Object.freeze({
  webhook_deliveries: {
    about: 'raw webhook bodies; cleared when the rows stored from them are anonymised, and at the latest RETENTION_DAYS after arrival',
    columns: {
      id: keep('row id'),
      provider: keep('provider name'),
      received_at: keep('arrival time'),
      body_sha256: keep('recognises an identical redelivery of an erased body; a hash of a body with random ids'),
      payload: nullify('the raw body: names, numbers, text'),
      outcome: keep('stored or rejected'),
      error: nullify('parser messages may quote the body'),
    },
  },
  ingest_queue: {
    about:
      'webhook bodies answered and not yet applied (WEBHOOK_ACK=stored): each row is deleted when applied, normally within a second; erasure applies the queue first, so nothing queued brings erased data back',
    columns: {
      id: remove('part of the applied row'),
      provider: remove('part of the applied row'),
      body_sha256: remove('part of the applied row'),
      body: remove('the raw body: names, numbers, text'),
      queued_at: remove('part of the applied row'),
    },
  },
  business_numbers: {
    about: "the business's own WhatsApp numbers: not personal data",
    columns: {
      phone_number_id: keep('tenant key of every message'),
      display_phone_number: keep("the business's public number"),
      waba_id: keep('business account id'),
      first_seen_at: keep('time'),
    },
  },
  contacts: {
    about: 'customers: deleted once none of their rows holds personal data any more (their opt-in/out goes with them)',
    columns: {
      wa_id: remove('phone number'),
      profile_name: remove('name'),
      first_seen_at: remove('part of the deleted row'),
      updated_at: remove('part of the deleted row'),
      opted_in_at: remove('part of the deleted row'),
      opted_out_at: remove('part of the deleted row'),
    },
  },
  messages: {
    about: 'every message; anonymised when its thread has no conversation younger than the cutoff',
    columns: {
      wamid: id(WAMID),
      provider: keep('provider name'),
      source: keep('webhook, echo, status or event'),
      phone_number_id: keep("the business's number: thread key part"),
      contact_wa_id: customer(THREAD),
      direction: keep('inbound or outbound'),
      sender: keep('customer, agent, bot or unknown'),
      agent_id: keep('agent id (employee data, see AGENT_LABELS)'),
      type: keep('message type'),
      sent_at: keep(EVENT_TIME),
      received_at: keep('arrival time'),
      text_body: nullify('message text'),
      context_wamid: id(WAMID),
      payload: nullify('the message as sent: text, media ids, locations, contact cards'),
      delivery_id: keep('link to the raw body row'),
      category: keep('request category'),
      sentiment: keep('polarity'),
      sentiment_score: keep('score'),
      language: keep('de or en'),
      is_request: keep('whether a customer message is a request'),
      survey_reply: keep('whether a customer message answers a CSAT survey'),
    },
  },
  message_statuses: {
    about: 'status history; anonymised with its message',
    columns: {
      wamid: id(WAMID),
      status: keep('sent, delivered, read, failed'),
      occurred_at: keep(EVENT_TIME),
      received_at: keep('arrival time'),
      recipient_id: customer('the recipient is the customer of the thread'),
      error_codes: keep('failure codes'),
      payload: nullify('the status as sent: recipient, pricing, errors'),
      delivery_id: keep('link to the raw body row'),
    },
  },
  account_events: {
    about: 'other webhook fields (user preferences carry wa_ids); the value is cleared RETENTION_DAYS after arrival',
    columns: {
      id: keep('row id'),
      provider: keep('provider name'),
      field: keep('webhook field'),
      account_id: keep('business account id'),
      occurred_at: keep('time'),
      received_at: keep('arrival time'),
      value: nullify('may carry wa_ids and names'),
      value_sha256: keep('idempotency of redeliveries'),
      delivery_id: keep('link to the raw body row'),
    },
  },
  conversations: {
    about: 'conversations (tickets); anonymised once they ended (resolved, or due for auto-resolution) before the cutoff',
    columns: {
      id: keep('row id'),
      phone_number_id: keep("the business's number: thread key part"),
      contact_wa_id: customer(THREAD),
      status: keep('open or resolved'),
      state: keep('state'),
      category: keep('category'),
      sentiment: keep('polarity'),
      opened_at: keep(EVENT_TIME),
      cycle_started_at: keep(EVENT_TIME),
      handler: keep('none, bot or agent'),
      assigned_agent: keep('agent id'),
      bot_engaged: keep('flag'),
      handed_over: keep('flag'),
      first_response_at: keep(EVENT_TIME),
      first_responder: keep('agent or bot'),
      first_response_agent: keep('agent id'),
      first_response_message_id: id(WAMID),
      waiting_since: keep(EVENT_TIME),
      last_customer_message_at: keep(EVENT_TIME),
      last_business_message_at: keep(EVENT_TIME),
      last_activity_at: keep(EVENT_TIME),
      resolved_at: keep(EVENT_TIME),
      resolved_by: keep('agent, bot or auto'),
      resolved_agent: keep('agent id'),
      reopen_count: keep('count'),
      fcr: keep('first-contact resolution'),
      window_expired_at: keep(EVENT_TIME),
      updated_at: keep('bookkeeping'),
      facts: {
        kind: 'factKeys',
        why: 'fact keys name the message or event behind a fact; they take the same pseudonym as its row, so a later fold finds them',
      },
      settle_at: keep('counting bookkeeping'),
      next_deadline_at: keep('timers bookkeeping'),
    },
  },
  helpdesk_events: {
    about: 'events from the helpdesk API; anonymised with the thread, payload reduced to what the fold replays',
    columns: {
      id: id("the sender's event id may embed anything; the SHA-256 stops a redelivery of an erased event"),
      type: keep('event type'),
      occurred_at: keep(EVENT_TIME),
      received_at: keep('arrival time'),
      phone_number_id: keep("the business's number: thread key part"),
      contact_wa_id: customer(THREAD),
      agent: keep('agent id'),
      payload: {
        kind: 'reduce',
        why: 'the event as sent may carry extra fields with names or text; the fold reads columns, these keys stay for audit',
        keys: ['type', 'agent', 'by', 'category', 'status'],
        idKeys: ['message_id'],
      },
      provider: keep('provider name'),
      resolved_by: keep('agent or bot'),
      category: keep('category as sent'),
      message_id: id(WAMID),
    },
  },
  agents: { about: 'agent ids (employee data, see AGENT_LABELS)', columns: { agent: keep('agent id'), first_seen_at: keep('time') } },
  agent_status_events: {
    about: 'agent presence; no customer data',
    columns: { event_id: keep('event id'), agent: keep('agent id'), status: keep('presence'), occurred_at: keep(EVENT_TIME) },
  },
  agent_handling: {
    about: 'agent handling intervals; no customer data',
    columns: {
      id: keep('row id'),
      agent: keep('agent id'),
      conversation_id: keep('conversation'),
      started_at: keep(EVENT_TIME),
      ended_at: keep(EVENT_TIME),
    },
  },
  agent_time_totals: {
    about: 'per-agent online and busy seconds folded up to a watermark (the agent time counters); no customer data',
    columns: {
      agent: keep('agent id'),
      until: keep('watermark time'),
      status: keep('presence at the watermark'),
      online_seconds: keep('total'),
      busy_seconds: keep('total'),
    },
  },
  agent_time_changes: {
    about: 'corrections of past agent presence or handling, until the agent_time job applies them; no customer data',
    columns: { agent: keep('agent id'), since: keep(EVENT_TIME) },
  },
  csat_surveys: {
    about: 'CSAT surveys; anonymised with their conversation (erasure also cancels a pending one)',
    columns: {
      id: keep('row id'),
      conversation_id: keep('conversation'),
      phone_number_id: keep("the business's number"),
      contact_wa_id: customer(THREAD),
      agent: keep('agent id'),
      category: keep('category'),
      resolved_at: keep(EVENT_TIME),
      due_at: keep('time'),
      status: keep('survey state'),
      kind: keep('interactive or template'),
      attempts: keep('count'),
      claimed_at: keep('time'),
      next_attempt_at: keep('time'),
      last_error: nullify('Graph API errors may quote the recipient'),
      wamid: id(WAMID),
      sent_at: keep(EVENT_TIME),
      answered_at: keep(EVENT_TIME),
      score: keep('the CSAT score'),
      answer_wamid: id(WAMID),
      created_at: keep('time'),
      rating_id: id("a provider's rating id may embed anything"),
    },
  },
  exporter_settings: { about: 'settings (time zone)', columns: { key: keep('setting'), value: keep('setting') } },
  schema_migrations: {
    about: 'applied migrations',
    columns: { name: keep('migration'), checksum: keep('checksum'), applied_at: keep('time') },
  },
});

/** The prefix of every pseudonym: rows whose key starts with it hold no personal data. */
export const PSEUDONYM_PREFIX = 'anon:';

/**
 * The SET list that anonymises a row of `table` (aliased `t`), from the catalogue. Customer
 * columns take the pseudonym from the `scope` relation (wa_id → pseudonym) that the statement
 * defines; a customer id outside the scope becomes NULL.
 */
export function anonymizingSet(table: string): string {
  const rule = PERSONAL_DATA[table];
  if (!rule) throw new Error(`no privacy rule for table ${table}`);
  const sets = Object.entries(rule.columns).flatMap(([column, treatment]): string[] => {
    if (treatment.kind === 'delete') throw new Error(`${table} rows are deleted, not anonymised`);
    if (treatment.kind === 'null') return [`${column} = NULL`];
    if (treatment.kind === 'id') return [`${column} = privacy_id_pseudonym(t.${column})`];
    if (treatment.kind === 'customer') return [`${column} = (SELECT s.pseudonym FROM scope s WHERE s.wa_id = t.${column})`];
    if (treatment.kind === 'reduce') return [`${column} = ${reducedJson(`t.${column}`, treatment.keys, treatment.idKeys)}`];
    if (treatment.kind === 'factKeys') return [`${column} = ${pseudonymisedFactKeys(`t.${column}`)}`];
    return [];
  });
  return sets.join(', ');
}

/**
 * The SET list that removes only the content of a row (its `null` and `reduce` columns) and keeps
 * its keys: for another customer's row that mentions the one being erased.
 */
export function contentSet(table: string): string {
  const rule = PERSONAL_DATA[table];
  if (!rule) throw new Error(`no privacy rule for table ${table}`);
  return Object.entries(rule.columns)
    .flatMap(([column, treatment]) => {
      if (treatment.kind === 'null') return [`${column} = NULL`];
      if (treatment.kind === 'reduce') return [`${column} = ${reducedJson(`t.${column}`, treatment.keys, treatment.idKeys)}`];
      return [];
    })
    .join(', ');
}

/** The facts map with every message or event id in its keys replaced by privacy_id_pseudonym (NULL stays NULL). */
function pseudonymisedFactKeys(expression: string): string {
  return `CASE WHEN ${expression} IS NULL THEN NULL ELSE coalesce((
    SELECT jsonb_object_agg(CASE WHEN e.k ~ '^(m|reply):' THEN split_part(e.k, ':', 1) || ':' || privacy_id_pseudonym(substr(e.k, strpos(e.k, ':') + 1)) ELSE e.k END, e.v)
      FROM jsonb_each(${expression}) AS e(k, v)), '{}'::jsonb) END`;
}

function reducedJson(expression: string, keys: readonly string[], idKeys: readonly string[]): string {
  const pairs = [
    ...keys.map((key) => `'${key}', ${expression} -> '${key}'`),
    ...idKeys.map((key) => `'${key}', to_jsonb(privacy_id_pseudonym(${expression} ->> '${key}'))`),
  ];
  return `jsonb_strip_nulls(jsonb_build_object(${pairs.join(', ')}))`;
}

/** Tables with at least one column that is not kept as it is. */
export function tablesWithPersonalData(): string[] {
  return Object.entries(PERSONAL_DATA)
    .filter(([, rule]) => Object.values(rule.columns).some((t) => t.kind !== 'keep'))
    .map(([table]) => table);
}

/** The scope relation of the anonymising statements: customer ids and their pseudonyms, as one JSON parameter. */
export function scopeCte(parameter: string): string {
  return `scope AS MATERIALIZED (SELECT * FROM jsonb_to_recordset(${parameter}::jsonb) AS s(wa_id text, pseudonym text))`;
}

/**
 * WATI at POST /webhooks/wati/<token>: the token in the URL is the only authentication (WATI
 * signs nothing); received messages, session and template sends (the bot's told apart from
 * agents'), delivered, read and failed statuses in WATI's shapes and their documented variations
 * become the same domain rows Meta's webhooks give; malformed and replayed requests are refused
 * or ignored, each counted by outcome.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import request from 'supertest';
import type { App } from '../src/app.ts';
import { createApp } from '../src/app.ts';
import { loadConfig } from '../src/config/config.ts';
import { createLogger } from '../src/logging/logger.ts';
import { baseEventType, normalizeWati } from '../src/ingest/wati/normalize.ts';
import { changes, metricValue, sample, scrape, testApp, testConfig, webhookOutcomes } from './support/app.ts';
import { createTestDatabase, type TestDatabase } from './support/database.ts';
import { fixture, fixtureText, postWati, WATI_CHANNEL, WATI_SETTINGS, WATI_TOKEN } from './support/wati.ts';

let db: TestDatabase;
let app: App;
before(async () => {
  db = await createTestDatabase();
  app = testApp(db.database, WATI_SETTINGS);
});
after(() => db.drop());

const query = async <T = Record<string, unknown>>(sql: string, params: unknown[] = []) =>
  (await db.database.query<T & object>(sql, params)).rows;
const outcomes = (target = app) => webhookOutcomes(target, 'wati');
const post = async (body: unknown) => {
  const res = await postWati(app, body);
  assert.equal(res.status, 200, res.text);
  return res;
};

const MAX = '4915112345678';
const SENT_KEY = 'wati:d38f0c3a-e833-4725-a894-53a2b1dc1af6';

describe('the token in the WATI webhook URL', () => {
  it('lets in requests that carry it as the last path segment or as ?token=, and refuses others with 401', async () => {
    const before = await outcomes();
    const event = fixture('template-status-update');
    assert.equal((await postWati(app, event)).status, 200);
    assert.equal((await postWati(app, { ...event, status: 'PAUSED' }, { via: 'query' })).status, 200);
    const slash = await request(app.express)
      .post(`/webhooks/wati/${WATI_TOKEN}/`)
      .set('Content-Type', 'application/json')
      .send({ ...event, status: 'DISABLED' });
    assert.equal(slash.status, 200);

    const missing = await postWati(app, event, { token: null });
    assert.equal(missing.status, 401);
    assert.deepEqual(missing.body, {
      error: { code: 'unauthorized', message: 'the WATI webhook URL must carry the token: /webhooks/wati/<WATI_WEBHOOK_TOKEN>' },
    });
    const wrong = await postWati(app, event, { token: `${WATI_TOKEN.slice(0, -1)}x` });
    assert.equal(wrong.status, 401);
    assert.equal(wrong.body.error.message, 'the token in the WATI webhook URL does not match WATI_WEBHOOK_TOKEN');
    assert.equal((await postWati(app, event, { token: 'x', via: 'query' })).status, 401);
    assert.equal((await postWati(app, event, { token: WATI_TOKEN.toUpperCase() })).status, 401, 'compared exactly');
    // A deeper path is no webhook URL at all.
    assert.equal((await request(app.express).post(`/webhooks/wati/${WATI_TOKEN}/more`).send(event)).status, 404);
    assert.deepEqual(changes(before, await outcomes()), { accepted: 3, rejected_signature: 4 });
  });

  it('accepts every token of a comma-separated WATI_WEBHOOK_TOKEN (rotation), and is off (404) without one', async () => {
    const rotating = testApp(db.database, { WATI_WEBHOOK_TOKEN: `new-wati-token-fedcba9876543210, ${WATI_TOKEN}` });
    for (const token of ['new-wati-token-fedcba9876543210', WATI_TOKEN])
      assert.equal((await postWati(rotating, fixture('template-status-update'), { token })).status, 200);
    const off = testApp(db.database);
    assert.equal((await postWati(off, fixture('template-status-update'))).status, 404);
  });

  it('never logs the token, in whatever case the path is written or wherever the token is', async () => {
    const lines: string[] = [];
    const logger = createLogger('info', { write: (line: string) => void lines.push(line) });
    const logged = createApp({ config: testConfig(WATI_SETTINGS), database: db.database, logger });
    const event = fixture('template-status-update', { status: 'LOGGED' });
    for (const path of [`/webhooks/WATI/${WATI_TOKEN}`, `/webhooks/wati?token=${WATI_TOKEN}`, `/webhooks/wati/${WATI_TOKEN}x`]) {
      await request(logged.express).post(path).set('Content-Type', 'application/json').send(event);
    }
    assert.ok(lines.length >= 3, 'each request was logged');
    assert.ok(!lines.join('\n').includes(WATI_TOKEN), lines.join('\n'));
    assert.ok(lines.some((line) => line.includes('/webhooks/wati/{token}')));
  });

  it('validates WATI_WEBHOOK_TOKEN and WATI_CHANNEL_NUMBER with one line each', () => {
    const required = { WHATSAPP_APP_SECRET: 's', WHATSAPP_VERIFY_TOKEN: 'v', EVENTS_API_TOKEN: 'e' };
    const errors = (env: Record<string, string>) => {
      const result = loadConfig({ ...required, ...env });
      return result.ok ? [] : result.errors;
    };
    assert.deepEqual(errors({ WATI_WEBHOOK_TOKEN: 'short' }), [
      'WATI_WEBHOOK_TOKEN: too short — expected at least 16 characters, e.g. from openssl rand -hex 24; it alone authenticates WATI',
    ]);
    assert.deepEqual(errors({ WATI_WEBHOOK_TOKEN: 'has/slash/0123456789' }), [
      'WATI_WEBHOOK_TOKEN: only letters, digits and . _ ~ - may appear (it is part of the webhook URL), e.g. from openssl rand -hex 24',
    ]);
    assert.deepEqual(errors({ WATI_WEBHOOK_TOKEN: 'change-me-wati-token' }), [
      'WATI_WEBHOOK_TOKEN: "change-me-wati-token" is a placeholder, not a secret — set a real value (e.g. openssl rand -hex 24)',
    ]);
    assert.deepEqual(errors({ WATI_CHANNEL_NUMBER: 'main' }), [
      `WATI_CHANNEL_NUMBER: "main" is not a phone number — expected the WATI channel's number with country code, e.g. 4930123456`,
    ]);
    const ok = loadConfig({ ...required, WATI_WEBHOOK_TOKEN: WATI_TOKEN, WATI_CHANNEL_NUMBER: '+49 30 123456' });
    assert.ok(ok.ok);
    assert.equal(ok.config.watiChannelNumber, '4930123456');
  });
});

describe('WATI events', () => {
  it('stores a received message, its customer and the assignee it names', async () => {
    await post(fixture('message-bsuid'));
    assert.deepEqual(
      await query(
        `SELECT wamid, provider, phone_number_id, contact_wa_id, direction, sender, type, text_body, sent_at FROM messages WHERE contact_wa_id = $1`,
        [MAX],
      ),
      [
        {
          wamid: 'wamid.HBgNNDkxNTExMjM0NTY3OBUCABIYFDNBQkM=',
          provider: 'wati',
          phone_number_id: WATI_CHANNEL,
          contact_wa_id: MAX,
          direction: 'inbound',
          sender: 'customer',
          type: 'text',
          text_body: 'Hallo, meine Bestellung fehlt',
          sent_at: new Date(1779614043_000),
        },
      ],
    );
    assert.deepEqual(await query(`SELECT profile_name FROM contacts WHERE wa_id = $1`, [MAX]), [{ profile_name: 'Max' }]);
    const [conversation] = await query(
      `SELECT assigned_agent, opened_at FROM conversations WHERE phone_number_id = $1 AND contact_wa_id = $2`,
      [WATI_CHANNEL, MAX],
    );
    assert.deepEqual(conversation, { assigned_agent: 'lena@example.com', opened_at: new Date(1779614043_000) });
  });

  it('stores an agent’s session message with its sent, delivered and read statuses, and counts the first response', async () => {
    const frt = async () => {
      const m = await scrape(app);
      const labels = { responder: 'agent', category: 'delivery', business_number: WATI_CHANNEL };
      return [sample(m, 'whatsapp_first_response_seconds_count', labels), sample(m, 'whatsapp_first_response_seconds_sum', labels)];
    };
    for (const name of ['session-message-sent-v2', 'sent-message-delivered-v2', 'sent-message-read-v2']) await post(fixture(name));
    assert.deepEqual(
      await query(`SELECT direction, sender, agent_id, type, text_body, sent_at FROM messages WHERE wamid = $1`, [SENT_KEY]),
      [
        {
          direction: 'outbound',
          sender: 'agent',
          agent_id: 'lena@example.com',
          type: 'text',
          text_body: 'Wir prüfen das sofort.',
          sent_at: new Date(1779614160_000),
        },
      ],
    );
    assert.deepEqual(await query(`SELECT status, occurred_at FROM message_statuses WHERE wamid = $1 ORDER BY occurred_at`, [SENT_KEY]), [
      { status: 'sent', occurred_at: new Date(1779614160_000) },
      { status: 'delivered', occurred_at: new Date(1779614165_000) },
      { status: 'read', occurred_at: new Date(1779614190_000) },
    ]);
    assert.deepEqual(await frt(), [1, 117], 'Max waited from 09:14:03 to 09:16:00');
    // REPLIED changes nothing (the reply arrives as its own message), even with its malformed timestamp.
    await post(fixture('sent-message-replied-v2'));
    assert.equal((await query(`SELECT count(*)::int AS n FROM message_statuses WHERE wamid = $1`, [SENT_KEY]))[0]!.n, 3);
  });

  it('tells the bot’s sends (chatbotTriggeredEventId) apart, and keys a customer without a number by their bsuid', async () => {
    await post(
      fixture('message-bsuid', {
        id: '6650f0e1a1b2c3d4e5f60742',
        whatsappMessageId: 'wamid.HBgMNDQ3NzAwOTAwMTIzFQIAEhgSQk9UQ1VTVAA=',
        waId: null,
        bsuid: 'HK.bot00customer',
        text: 'Hi',
        timestamp: '1779614040',
        assignedId: null,
        operatorEmail: null,
      }),
    );
    await post(fixture('session-message-sent-v2-bot'));
    assert.deepEqual(
      await query(`SELECT sender, agent_id, contact_wa_id FROM messages WHERE wamid = 'wati:5b0e1c2d-3f4a-4b5c-8d6e-7f8091a2b3c4'`),
      [{ sender: 'bot', agent_id: null, contact_wa_id: 'HK.bot00customer' }],
    );
    const m = await scrape(app);
    assert.equal(
      sample(m, 'whatsapp_first_response_seconds_sum', { responder: 'bot', category: 'unknown', business_number: WATI_CHANNEL }),
      10,
    );
  });

  it('stores template sends (timed by `created`) and failures with Meta’s error code, also before their send is known', async () => {
    const failuresBefore = await metricValue(app, 'whatsapp_message_failures_total', { error_code: '131026' });
    await post(fixture('template-message-sent-v2'));
    await post(fixture('template-message-failed'));
    const key = 'wati:7c1d2e3f-4a5b-4c6d-8e7f-9a0b1c2d3e4f';
    assert.deepEqual(await query(`SELECT type, sender, sent_at FROM messages WHERE wamid = $1`, [key]), [
      { type: 'template', sender: 'agent', sent_at: new Date('2026-05-24T09:46:23.408Z') },
    ]);
    assert.deepEqual(await query(`SELECT status, error_codes FROM message_statuses WHERE wamid = $1 ORDER BY status`, [key]), [
      { status: 'failed', error_codes: [131026] },
      { status: 'sent', error_codes: [] },
    ]);
    assert.equal((await metricValue(app, 'whatsapp_message_failures_total', { error_code: '131026' })) - failuresBefore, 1);

    await post(fixture('session-message-failed'));
    assert.deepEqual(
      await query(
        `SELECT status, error_codes, recipient_id FROM message_statuses WHERE wamid = 'wati:0a9b8c7d-6e5f-4a3b-9c2d-1e0f9a8b7c6d'`,
      ),
      [{ status: 'failed', error_codes: [131047], recipient_id: null }],
    );
  });

  it('reads list replies, numbers written with + and spaces, numbers as timestamps and "false" as text', async () => {
    await post(fixture('message-list-reply'));
    assert.deepEqual(
      await query(
        `SELECT phone_number_id, contact_wa_id, type, text_body, context_wamid, sent_at FROM messages WHERE wamid = 'wamid.HBgNNDkxNTExMjM0NTY3OBUCABIYFDNMSVNU'`,
      ),
      [
        {
          phone_number_id: WATI_CHANNEL,
          contact_wa_id: MAX,
          type: 'interactive',
          text_body: 'Rechnung',
          context_wamid: 'wamid.HBgNNDkxNTExMjM0NTY3OBUCABEYEjA0QkE=',
          sent_at: new Date(1779614400_000),
        },
      ],
    );
  });

  it('files events without channelPhoneNumber under WATI_CHANNEL_NUMBER, else under "wati"', async () => {
    await post(fixture('message-legacy'));
    const channelled = testApp(db.database, { ...WATI_SETTINGS, WATI_CHANNEL_NUMBER: '+44 20 7946 0000' });
    assert.equal(
      (
        await postWati(
          channelled,
          fixture('message-legacy', { id: '6349008d6e5f2a1b9c0d1e30', whatsappMessageId: 'gBEGkXmJQZVJAgkRHwjjZsITS7N' }),
        )
      ).status,
      200,
    );
    assert.deepEqual(await query(`SELECT wamid, phone_number_id FROM messages WHERE contact_wa_id = '447700900123' ORDER BY wamid`), [
      { wamid: 'gBEGkXmJQZVJAgkRHwjjZsITS6M', phone_number_id: 'wati' },
      { wamid: 'gBEGkXmJQZVJAgkRHwjjZsITS7N', phone_number_id: '442079460000' },
    ]);
  });

  it('keeps a new contact, other events and the Meta-shaped payment notice without counting them as messages', async () => {
    const before = await metricValue(app, 'whatsapp_messages_total');
    for (const name of ['new-contact-message', 'payment-status']) await post(fixture(name));
    assert.deepEqual(await query(`SELECT profile_name FROM contacts WHERE wa_id = '447700900999'`), [{ profile_name: 'Nora' }]);
    assert.deepEqual(
      (await query<{ field: string }>(`SELECT DISTINCT field FROM account_events WHERE provider = 'wati' ORDER BY field`)).map(
        (r) => r.field,
      ),
      ['wati.statuses', 'wati.templateStatusUpdate'],
    );
    assert.equal(await metricValue(app, 'whatsapp_messages_total'), before);
  });

  it('answers a redelivery (the same id and eventType, whatever else changed) as a duplicate, counted once', async () => {
    const before = await outcomes();
    const event = fixture('message-bsuid', { id: '6650f0c2a1b2c3d4e5f6dddd', whatsappMessageId: 'wamid.DUPLICATE0001', text: 'Noch da?' });
    assert.deepEqual((await post(event)).body, { status: 'accepted' });
    assert.deepEqual((await post(event)).body, { status: 'duplicate' });
    assert.deepEqual((await post({ ...event, avatarUrl: 'https://example.com/a.png' })).body, { status: 'duplicate' });
    // The same message under another event id (WATI documents no universal event id) is still one message.
    assert.deepEqual((await post({ ...event, id: '6650f0c2a1b2c3d4e5f6eeee' })).body, { status: 'duplicate' });
    assert.equal((await query(`SELECT count(*)::int AS n FROM messages WHERE wamid = 'wamid.DUPLICATE0001'`))[0]!.n, 1);
    assert.deepEqual(changes(before, await outcomes()), { accepted: 1, duplicate: 3 });
  });

  it('answers 400 naming the problem for a body that is not a WATI event, and keeps it for replay', async () => {
    const before = await outcomes();
    const cases: [unknown, string][] = [
      ['{"eventType":', 'body is not valid JSON'],
      ['[1, 2]', 'not a WATI webhook: [0] expected a JSON object with an eventType'],
      [{ id: 'x', text: 'hi' }, 'not a WATI webhook: eventType: required — e.g. "message" or "sessionMessageSent_v2"'],
      [{ eventType: 42 }, 'not a WATI webhook: eventType: expected the event name as text, e.g. "message" or "sessionMessageSent_v2"'],
      [
        fixture('message-bsuid', { waId: null, bsuid: null }),
        'not a WATI webhook: waId: a received message needs waId or bsuid (the customer)',
      ],
      [
        fixture('message-bsuid', { id: null, whatsappMessageId: null }),
        'not a WATI webhook: id: a received message needs id or whatsappMessageId',
      ],
      [
        fixture('sent-message-read-v2', { localMessageId: null, whatsappMessageId: null, id: null }),
        'not a WATI webhook: id: a status needs localMessageId, whatsappMessageId or id',
      ],
      [[fixture('template-status-update'), 'x'], 'not a WATI webhook: [1] expected a JSON object with an eventType'],
      // Identifiers are keys of indexed columns: a huge one is refused, not a database error.
      [
        fixture('message-bsuid', { whatsappMessageId: `wamid.${'Q'.repeat(3000)}` }),
        'not a WATI webhook: whatsappMessageId: at most 200 characters',
      ],
    ];
    for (const [body, message] of cases) {
      const res = await postWati(app, body);
      assert.equal(res.status, 400, JSON.stringify(body));
      assert.ok(res.body.error.message.startsWith(message), `${res.body.error.message} starts with ${message}`);
    }
    const kept = await query<{ n: number }>(
      `SELECT count(*)::int AS n FROM webhook_deliveries WHERE provider = 'wati' AND outcome = 'rejected'`,
    );
    assert.equal(kept[0]!.n, cases.length - 1, 'every body but the one that is not JSON');
    assert.deepEqual(changes(before, await outcomes()), { rejected_payload: cases.length });
  });
});

describe('reading WATI payloads', () => {
  const at = new Date('2026-11-27T00:00:00Z');

  it('routes every documented variant of an event name to its base event', () => {
    assert.deepEqual(
      ['message', 'message_bsuid', 'sessionMessageSent', 'sessionMessageSent_v2', 'sessionMessageSent_v2_bsuid', 'sentMessageREAD_v2'].map(
        baseEventType,
      ),
      ['message', 'message', 'sessionmessagesent', 'sessionmessagesent', 'sessionmessagesent', 'sentmessageread'],
    );
  });

  it('times an event by a plausible timestamp, else created, else its receipt', () => {
    const timeOf = (changes: Record<string, unknown>) =>
      normalizeWati(fixture('message-bsuid', changes), at).batch.messages[0]!.sentAt.toISOString();
    assert.equal(timeOf({}), '2026-05-24T09:14:03.000Z');
    assert.equal(timeOf({ timestamp: '17651326' }), '2026-05-24T09:14:03.123Z', 'an 8-digit timestamp is no time: created');
    assert.equal(timeOf({ timestamp: 1779614043123 }), '2026-05-24T09:14:03.123Z', 'milliseconds are read as such');
    assert.equal(timeOf({ timestamp: null, created: 'yesterday' }), at.toISOString());
    assert.equal(timeOf({ timestamp: '4102444800' }), '2026-05-24T09:14:03.123Z', 'years ahead is no time either');
  });

  it('sends the operator’s e-mail as the agent id when it is one, else WATI’s agent id', () => {
    const agentOf = (changes: Record<string, unknown>) =>
      normalizeWati(fixture('session-message-sent-v2', changes), at).batch.messages[0]!.agentId;
    assert.equal(agentOf({}), 'lena@example.com');
    assert.equal(agentOf({ operatorEmail: 'lena+support@example.com' }), '65a109615b5cf65262aa0001');
    assert.equal(agentOf({ operatorEmail: null, assigneeId: null }), null);
  });
});

describe('WATI and Meta', () => {
  it('are told apart by the provider label, initialised for both', async () => {
    const m = await scrape(app);
    for (const provider of ['meta', 'wati', 'twilio'])
      assert.notEqual(sample(m, 'whatsapp_webhook_requests_total', { provider, outcome: 'rejected_signature' }), undefined, provider);
    assert.ok(fixtureText('message-bsuid').includes('channelPhoneNumber'));
  });
});

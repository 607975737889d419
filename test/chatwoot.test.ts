/**
 * The Chatwoot receiver end to end: signatures (enforced, log-only, unsigned), redeliveries,
 * bad bodies, every message kind and conversation change, CSAT ratings, and threads keyed like
 * Meta's — HTTP in, rows in PostgreSQL, counts on /metrics.
 */
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { Writable } from 'node:stream';
import { after, before, describe, it } from 'node:test';
import { pino } from 'pino';
import request from 'supertest';
import type { App } from '../src/app.ts';
import { createApp } from '../src/app.ts';
import { loadConfig } from '../src/config/config.ts';
import { signChatwoot, verifyChatwootSignature } from '../src/ingest/chatwoot/signature.ts';
import { metricValue, openTestApp, testApp, testConfig } from './support/app.ts';
import { createTestDatabase, type TestDatabase } from './support/database.ts';
import { inbound, PHONE_NUMBER_ID, signed, textMessage, wamid } from './support/meta.ts';
import {
  answerSurveyOnMeta,
  openRuns,
  assertSameAsReference,
  CSAT,
  NAMES,
  presence,
  runMeta,
  surveyLoop,
  TIMELINE,
  timeAt,
  wamidOf,
} from './support/provider-timeline.ts';
import { CHATWOOT_SECRET, chatwootFixture, postChatwoot, assertSimulatorSpeaks } from './support/providers.ts';

let db: TestDatabase;
let app: App;
const SETTINGS = { CHATWOOT_WEBHOOK_SECRET: `other-webhook-secret-abcdef,${CHATWOOT_SECRET}`, CHATWOOT_INBOXES: `17=${PHONE_NUMBER_ID}` };

before(async () => ({ db, app } = await openTestApp(SETTINGS)));
after(() => db.drop());

const count = async (sql: string, params: unknown[] = []) => Number((await db.database.query<{ n: string }>(sql, params)).rows[0]!.n);
const requests = (outcome: string, target = app) =>
  metricValue(target, 'whatsapp_webhook_requests_total', { provider: 'chatwoot', outcome });

let sequence = 0;
/** A fresh customer (and conversation display id) per test, so tests do not share threads. */
function customer(): { waId: string; conversation: Record<string, unknown> } {
  sequence += 1;
  const waId = `49151${String(Date.now()).slice(-5)}${String(sequence).padStart(3, '0')}`;
  return {
    waId,
    conversation: {
      id: 1000 + sequence,
      contact_inbox: { source_id: waId },
      meta: { sender: { phone_number: `+${waId}`, name: `Kunde ${sequence}` } },
    },
  };
}
const NOW = Math.floor(Date.now() / 1000) * 1000;
const iso = (secondsAgo: number) => new Date(NOW - secondsAgo * 1000).toISOString();
const epoch = (secondsAgo: number) => (NOW - secondsAgo * 1000) / 1000;

describe('Chatwoot signatures', () => {
  it('matches the locally computed test vector', () => {
    const body = '{"event":"conversation_status_changed","id":42,"status":"resolved"}';
    assert.equal(signChatwoot('cw-secret', 1767225600, body), 'sha256=8166d74e382f3894fa55f3fef6cd4969c76a37f50ffeb2c0802373c63e3a35d7');
    const check = (header: string | undefined, ts: string | undefined, nowS = 1767225600) =>
      verifyChatwootSignature(['cw-secret'], Buffer.from(body), header, ts, nowS * 1000);
    const header = signChatwoot('cw-secret', 1767225600, body);
    assert.equal(check(header, '1767225600'), 'valid');
    assert.equal(check(header.toUpperCase().replace('SHA256=', 'sha256='), '1767225600'), 'valid');
    assert.equal(check(header, '1767225600', 1767225600 + 301), 'stale');
    assert.equal(check(header, '1767225600', 1767225600 - 301), 'stale');
    assert.equal(check(header, '1767225601', 1767225600), 'mismatch');
    assert.equal(check(undefined, '1767225600'), 'missing');
    assert.equal(check('sha1=abc', '1767225600'), 'malformed');
    assert.equal(check(header, undefined), 'no_timestamp');
  });

  it('accepts a body signed with any configured secret over the exact bytes sent (Rails escapes)', async () => {
    const c = customer();
    const payload = chatwootFixture('message_created.incoming', {
      id: 11_001,
      source_id: wamid('cw'),
      content: 'Rechnung <falsch> & zu hoch',
      created_at: iso(60),
      conversation: c.conversation,
    });
    const accepted = await requests('accepted');
    const res = await postChatwoot(app, payload, { delivery: 'b7c1f2de-0001-4000-8000-000000000001' });
    assert.equal(res.status, 200, res.text);
    assert.deepEqual(res.body, { status: 'accepted' });
    assert.equal(await requests('accepted'), accepted + 1);
    const other = await postChatwoot(
      app,
      chatwootFixture('message_created.incoming', { id: 11_002, source_id: wamid('cw2'), conversation: c.conversation }),
      {
        secret: 'other-webhook-secret-abcdef',
      },
    );
    assert.equal(other.status, 200, other.text);
  });

  it('refuses a missing, malformed, wrong or stale signature with 401 and stores nothing', async () => {
    const c = customer();
    const payload = chatwootFixture('message_created.incoming', { id: 11_010, source_id: wamid('forged'), conversation: c.conversation });
    const rejected = await requests('rejected_signature');
    const now = Math.floor(Date.now() / 1000);
    const cases: [Parameters<typeof postChatwoot>[2], RegExp][] = [
      [{ unsigned: true }, /missing X-Chatwoot-Signature/],
      [{ signature: 'sha256=nothex' }, /must be sha256=<64 hex digits>/],
      [{ secret: 'a-forger-guessing-the-secret' }, /does not match/],
      [{ timestamp: now - 301 }, /more than 300 seconds away/],
      [{ timestamp: now + 600 }, /more than 300 seconds away/],
      [{ signature: signChatwoot(CHATWOOT_SECRET, now, '{"event":"message_created"}') }, /does not match/],
    ];
    for (const [signing, message] of cases) {
      const res = await postChatwoot(app, payload, signing);
      assert.equal(res.status, 401, JSON.stringify(signing));
      assert.equal(res.body.error.code, 'unauthorized');
      assert.match(res.body.error.message, message);
    }
    // A signature without its timestamp header.
    const body = JSON.stringify(payload);
    const noTimestamp = await request(app.express)
      .post('/webhooks/chatwoot')
      .set('Content-Type', 'application/json')
      .set('X-Chatwoot-Signature', signChatwoot(CHATWOOT_SECRET, now, body))
      .send(body);
    assert.equal(noTimestamp.status, 401);
    assert.match(noTimestamp.body.error.message, /X-Chatwoot-Timestamp/);
    assert.equal(await requests('rejected_signature'), rejected + cases.length + 1);
    assert.equal(await count(`SELECT count(*) AS n FROM messages WHERE contact_wa_id = $1`, [c.waId]), 0);
    assert.equal(await count(`SELECT count(*) AS n FROM webhook_deliveries WHERE payload->>'id' = '11010'`), 0);
  });

  it('log-only accepts (and logs) what enforce refuses; unsigned needs an explicit opt-in; no settings: the endpoint is off', async () => {
    const lines: string[] = [];
    const logger = pino(
      { level: 'debug' },
      new Writable({
        write(chunk, _encoding, done) {
          lines.push(String(chunk));
          done();
        },
      }),
    );
    const logOnly = createApp({ config: testConfig({ ...SETTINGS, CHATWOOT_SIGNATURE: 'log-only' }), database: db.database, logger });
    const c = customer();
    const payload = chatwootFixture('message_created.incoming', { id: 11_020, source_id: wamid('logonly'), conversation: c.conversation });
    const res = await postChatwoot(logOnly, payload, { secret: 'the-secret-chatwoot-shows-is-wrong' });
    assert.equal(res.status, 200, res.text);
    assert.ok(lines.some((l) => /not enforced/.test(l)));
    assert.ok(lines.some((l) => /accepted although X-Chatwoot-Signature does not match/.test(l)));
    assert.ok(!lines.some((l) => l.includes(CHATWOOT_SECRET)), 'the secret is never logged');

    const unsigned = createApp({
      config: testConfig({ CHATWOOT_SIGNATURE: 'unsigned', CHATWOOT_INBOXES: `17=${PHONE_NUMBER_ID}` }),
      database: db.database,
      logger,
    });
    const c2 = customer();
    const plain = await postChatwoot(
      unsigned,
      chatwootFixture('message_created.incoming', { id: 11_021, source_id: wamid('plain'), conversation: c2.conversation }),
      { unsigned: true },
    );
    assert.equal(plain.status, 200, plain.text);
    assert.ok(lines.some((l) => /accepted unsigned/.test(l)));
    assert.equal(await count(`SELECT count(*) AS n FROM messages WHERE contact_wa_id = $1`, [c2.waId]), 1);

    const off = testApp(db.database);
    const none = await postChatwoot(off, payload);
    assert.equal(none.status, 404);
  });

  it('validates its settings with one line per problem', () => {
    const base = { WHATSAPP_APP_SECRET: 's', WHATSAPP_VERIFY_TOKEN: 'v', EVENTS_API_TOKEN: 'e' };
    const errors = (env: Record<string, string>) => {
      const result = loadConfig({ ...base, ...env });
      return result.ok ? [] : result.errors;
    };
    assert.deepEqual(errors({ CHATWOOT_SIGNATURE: 'strict' }), ['CHATWOOT_SIGNATURE: expected enforce, log-only, unsigned']);
    assert.deepEqual(errors({ CHATWOOT_SIGNATURE: 'log-only' }), [
      'CHATWOOT_SIGNATURE: log-only needs CHATWOOT_WEBHOOK_SECRET — or set unsigned for a Chatwoot older than 4.11.2, which signs nothing',
    ]);
    assert.deepEqual(errors({ CHATWOOT_SIGNATURE: 'unsigned', CHATWOOT_WEBHOOK_SECRET: 'x1y2z3' }), [
      'CHATWOOT_SIGNATURE: unsigned contradicts CHATWOOT_WEBHOOK_SECRET — with a secret use enforce (the default) or log-only',
    ]);
    assert.deepEqual(errors({ CHATWOOT_INBOXES: '17=106540352242922' }), [
      "CHATWOOT_INBOXES: the Chatwoot endpoint is off — set CHATWOOT_WEBHOOK_SECRET (the webhook's secret), or CHATWOOT_SIGNATURE=unsigned for a Chatwoot that signs nothing",
    ]);
    assert.deepEqual(errors({ CHATWOOT_WEBHOOK_SECRET: 'x1y2z3', CHATWOOT_INBOXES: '17' }), [
      'CHATWOOT_INBOXES: "17" is not inbox_id=phone_number_id — e.g. 17=106540352242922',
    ]);
    assert.deepEqual(errors({ CHATWOOT_WEBHOOK_SECRET: 'x1y2z3', CHATWOOT_INBOXES: '17=1,17=2' }), [
      'CHATWOOT_INBOXES: 17 is given twice, with different values',
    ]);
    assert.deepEqual(errors({ CHATWOOT_WEBHOOK_SECRET: 'change-me' }), [
      'CHATWOOT_WEBHOOK_SECRET: "change-me" is a placeholder, not a secret — set a real value (e.g. openssl rand -hex 24)',
    ]);
    const ok = loadConfig({ ...base, CHATWOOT_WEBHOOK_SECRET: 'x1y2z3', CHATWOOT_INBOXES: ' 17 = 106540352242922 , 18=2' });
    assert.ok(ok.ok);
    assert.equal(ok.config.chatwootSignature, 'enforce');
    assert.deepEqual(
      [...ok.config.chatwootInboxes],
      [
        ['17', '106540352242922'],
        ['18', '2'],
      ],
    );
    const none = loadConfig(base);
    assert.ok(none.ok);
    assert.equal(none.config.chatwootSignature, undefined);
  });
});

describe('Chatwoot redeliveries and bad bodies', () => {
  it('answers a redelivery (same X-Chatwoot-Delivery, or the same message again) duplicate and counts it once', async () => {
    const c = customer();
    const payload = chatwootFixture('message_created.incoming', { id: 12_001, source_id: wamid('dup'), conversation: c.conversation });
    const delivery = 'c0ffee00-1111-4222-8333-444455556666';
    assert.equal((await postChatwoot(app, payload, { delivery })).body.status, 'accepted');
    const before = await metricValue(app, 'whatsapp_messages_total', { direction: 'inbound', sender: 'customer' });
    // A Sidekiq retry: same delivery id, signed again a moment later.
    const retry = await postChatwoot(app, payload, { delivery, timestamp: Math.floor(Date.now() / 1000) + 2 });
    assert.deepEqual([retry.status, retry.body.status], [200, 'duplicate']);
    // Chatwoot's own duplicate message_created (#11901): a new delivery id, the same message.
    const again = await postChatwoot(app, payload, { delivery: 'c0ffee00-1111-4222-8333-777788889999' });
    assert.deepEqual([again.status, again.body.status], [200, 'duplicate']);
    assert.equal(await requests('duplicate'), 2);
    assert.equal(await metricValue(app, 'whatsapp_messages_total', { direction: 'inbound', sender: 'customer' }), before);
    assert.equal(await count(`SELECT count(*) AS n FROM messages WHERE contact_wa_id = $1`, [c.waId]), 1);
  });

  it('answers 400 naming the problem for signed bodies that are not Chatwoot webhooks, and keeps them for replay', async () => {
    const cases: [unknown, RegExp][] = [
      ['[]', /expected a JSON object/],
      [{ id: 1, message_type: 'incoming' }, /event: required/],
      [{ event: 'message_created', message_type: 'incoming', conversation: {} }, /id: required/],
      [
        { event: 'message_created', id: 5, message_type: 'sideways', conversation: {} },
        /message_type: expected incoming, outgoing, activity, template/,
      ],
      [{ event: 'message_created', id: 5, message_type: 'incoming' }, /conversation: required/],
      [
        { event: 'message_created', id: 12_099, message_type: 'incoming', conversation: { id: 1 } },
        /contact_inbox or conversation\.meta\.sender/,
      ],
      [{ event: 'conversation_status_changed', id: 3, status: 'resolved' }, /contact_inbox or meta\.sender is required/],
    ];
    for (const [payload, message] of cases) {
      const res = typeof payload === 'string' ? await postRaw(payload) : await postChatwoot(app, payload);
      assert.equal(res.status, 400, JSON.stringify(payload));
      assert.match(res.body.error.message, message, JSON.stringify(payload));
    }
    const invalid = await postRaw('{"event": "message_created", ');
    assert.equal(invalid.status, 400);
    assert.match(invalid.body.error.message, /not valid JSON/);
    assert.equal(
      await count(
        `SELECT count(*) AS n FROM webhook_deliveries WHERE provider = 'chatwoot' AND outcome = 'rejected' AND payload->>'id' = '12099'`,
      ),
      1,
    );
  });

  function postRaw(body: string) {
    const timestamp = Math.floor(Date.now() / 1000);
    return request(app.express)
      .post('/webhooks/chatwoot')
      .set('Content-Type', 'application/json')
      .set('X-Chatwoot-Timestamp', String(timestamp))
      .set('X-Chatwoot-Signature', signChatwoot(CHATWOOT_SECRET, timestamp, body))
      .send(body);
  }

  it('takes the documented variations: unknown events, missing optional fields, epoch times, numeric message types', async () => {
    const c = customer();
    for (const event of ['conversation_created', 'contact_updated', 'conversation_typing_on', 'automation_event.message_created']) {
      const res = await postChatwoot(
        app,
        chatwootFixture('conversation_status_changed', { event, conversation: undefined, ...c.conversation }),
      );
      assert.equal(res.status, 200, event);
    }
    const minimal = {
      event: 'message_created',
      id: 12_201,
      message_type: 0,
      content: 'Hallo?',
      created_at: epoch(30),
      conversation: { id: 77, inbox_id: 17, contact_inbox: { source_id: `+${c.waId}` } },
    };
    assert.equal((await postChatwoot(app, minimal)).status, 200);
    const row = (await db.database.query(`SELECT wamid, phone_number_id, sender, sent_at FROM messages WHERE contact_wa_id = $1`, [c.waId]))
      .rows[0]!;
    assert.deepEqual(
      { ...row, sent_at: row.sent_at.toISOString() },
      { wamid: 'chatwoot:12201', phone_number_id: PHONE_NUMBER_ID, sender: 'customer', sent_at: iso(30) },
    );
  });
});

describe('Chatwoot messages and conversations', () => {
  it('turns a timeline into a conversation: bot, handover, assignment, agent, label, resolution, CSAT — private notes and activity excluded', async () => {
    const c = customer();
    const conv = c.conversation;
    const opened = await metricValue(app, 'whatsapp_conversations_opened_total');
    const post = async (name: string, overrides: Record<string, unknown>) => {
      const res = await postChatwoot(app, chatwootFixture(name, { conversation: conv, ...overrides }));
      assert.equal(res.status, 200, `${name}: ${res.text}`);
    };
    const postConversation = async (name: string, overrides: Record<string, unknown>) => {
      const res = await postChatwoot(app, chatwootFixture(name, { ...conv, ...overrides }));
      assert.equal(res.status, 200, `${name}: ${res.text}`);
    };
    await post('message_created.incoming', { id: 13_001, source_id: wamid('in'), created_at: iso(900) });
    await post('message_created.bot', { id: 13_002, created_at: iso(895) });
    await postConversation('conversation_updated.handover', { updated_at: epoch(880) });
    await postConversation('conversation_updated.assignee', { updated_at: epoch(870) });
    await post('message_created.private', { id: 13_003, created_at: iso(860) });
    await post('message_created.activity', { id: 13_004, created_at: iso(859) });
    await post('message_created.agent', { id: 13_005, created_at: iso(840) });
    await postConversation('conversation_updated.labels', { updated_at: epoch(830) });
    // The resolution arrives twice (both events of one save), in either order.
    await postConversation('conversation_updated.assignee', {
      updated_at: epoch(300),
      status: 'resolved',
      changed_attributes: [{ status: { previous_value: 'open', current_value: 'resolved' } }],
    });
    await postConversation('conversation_status_changed', { updated_at: epoch(300) });
    await post('message_created.csat_survey', { id: 13_006, created_at: iso(299) });
    await post('message_updated.csat', { id: 13_006, created_at: iso(299) });

    const conversation = (
      await db.database.query(
        `SELECT phone_number_id, status, category, handler, assigned_agent, bot_engaged, handed_over, first_responder,
                first_response_at, resolved_by, resolved_agent, resolved_at, opened_at
           FROM conversations WHERE contact_wa_id = $1`,
        [c.waId],
      )
    ).rows;
    assert.equal(conversation.length, 1);
    assert.deepEqual(
      {
        ...conversation[0]!,
        first_response_at: conversation[0]!.first_response_at.toISOString(),
        resolved_at: conversation[0]!.resolved_at.toISOString(),
        opened_at: conversation[0]!.opened_at.toISOString(),
      },
      {
        phone_number_id: PHONE_NUMBER_ID,
        status: 'resolved',
        category: 'billing',
        handler: 'agent',
        assigned_agent: '7',
        bot_engaged: true,
        handed_over: true,
        first_responder: 'bot',
        first_response_at: iso(895),
        resolved_by: 'agent',
        resolved_agent: '7',
        resolved_at: iso(300),
        opened_at: iso(900),
      },
    );
    const messages = (
      await db.database.query(`SELECT wamid, direction, sender, agent_id FROM messages WHERE contact_wa_id = $1 ORDER BY sent_at`, [c.waId])
    ).rows;
    assert.deepEqual(
      messages.map((m) => [m.direction, m.sender, m.agent_id]),
      [
        ['inbound', 'customer', null],
        ['outbound', 'bot', null],
        ['outbound', 'agent', '7'],
      ],
      'no private note, activity or survey message',
    );
    assert.equal(
      await count(`SELECT count(*) AS n FROM helpdesk_events WHERE provider = 'chatwoot' AND contact_wa_id = $1 AND type = 'resolved'`, [
        c.waId,
      ]),
      1,
    );
    assert.equal(await metricValue(app, 'whatsapp_conversations_opened_total'), opened + 1);
    assert.equal(await metricValue(app, 'whatsapp_csat_responses_total', { score: '4', agent: '7', category: 'billing' }), 1);
    const survey = (
      await db.database.query(
        `SELECT kind, score, agent FROM csat_surveys s JOIN conversations c ON c.id = s.conversation_id WHERE c.contact_wa_id = $1`,
        [c.waId],
      )
    ).rows;
    assert.deepEqual(survey, [{ kind: 'provider', score: 4, agent: '7' }]);

    // A resubmission within Chatwoot's 14 days replaces the score.
    await post('message_updated.csat', {
      id: 13_006,
      created_at: iso(299),
      content_attributes: { submitted_values: { csat_survey_response: { rating: 5 } } },
    });
    const rescored = (
      await db.database.query(
        `SELECT score FROM csat_surveys s JOIN conversations c ON c.id = s.conversation_id WHERE c.contact_wa_id = $1`,
        [c.waId],
      )
    ).rows;
    assert.deepEqual(rescored, [{ score: 5 }]);
  });

  it('keys threads by the WhatsApp customer and mapped inbox: a Chatwoot message continues the Meta conversation', async () => {
    const c = customer();
    const meta = signed(inbound(c.waId, 'Max', [textMessage(c.waId, 'Hallo', new Date(NOW - 120_000))]));
    const res = await request(app.express)
      .post('/webhooks/whatsapp')
      .set('Content-Type', 'application/json')
      .set('X-Hub-Signature-256', meta.signature)
      .send(meta.body);
    assert.equal(res.status, 200);
    await postChatwoot(app, chatwootFixture('message_created.agent', { id: 14_001, created_at: iso(60), conversation: c.conversation }));
    const rows = (
      await db.database.query(`SELECT phone_number_id, first_responder, first_response_agent FROM conversations WHERE contact_wa_id = $1`, [
        c.waId,
      ])
    ).rows;
    assert.deepEqual(rows, [{ phone_number_id: PHONE_NUMBER_ID, first_responder: 'agent', first_response_agent: '7' }]);

    // An inbox not in CHATWOOT_INBOXES is its own business number; the display id is no key.
    const d = customer();
    await postChatwoot(
      app,
      chatwootFixture('message_created.incoming', {
        id: 14_002,
        source_id: wamid('other'),
        inbox: { id: 99 },
        conversation: { ...d.conversation, id: (c.conversation as { id: number }).id, inbox_id: 99 },
      }),
    );
    const other = (await db.database.query(`SELECT DISTINCT phone_number_id FROM messages WHERE contact_wa_id = $1`, [d.waId])).rows;
    assert.deepEqual(other, [{ phone_number_id: 'chatwoot-inbox-99' }]);
    assert.equal(await count(`SELECT count(*) AS n FROM business_numbers WHERE phone_number_id = 'chatwoot-inbox-99'`), 1);
  });

  it('tells the customer from contact_inbox, the contact phone or a WhatsApp JID, and ignores inboxes that are not WhatsApp', async () => {
    const c = customer();
    // An API-channel inbox fed by a WhatsApp bridge: source_id is a UUID, the contact has the number.
    await postChatwoot(
      app,
      chatwootFixture('message_created.incoming', {
        id: 15_001,
        source_id: 'bridge-7f3a',
        sender: { phone_number: undefined },
        conversation: {
          channel: 'Channel::Api',
          contact_inbox: { source_id: '0b4f5c1e-8a2d-4c7e-9d3b-6f1a2e5c8b90' },
          meta: c.conversation.meta,
        },
      }),
    );
    const jid = customer();
    await postChatwoot(
      app,
      chatwootFixture('message_created.incoming', {
        id: 15_002,
        source_id: wamid('jid'),
        conversation: {
          channel: 'Channel::Api',
          contact_inbox: { source_id: `${jid.waId}@s.whatsapp.net` },
          meta: { sender: { phone_number: null } },
        },
      }),
    );
    const widget = customer();
    const ignored = await postChatwoot(
      app,
      chatwootFixture('message_created.incoming', { id: 15_003, conversation: { ...widget.conversation, channel: 'Channel::WebWidget' } }),
    );
    assert.equal(ignored.status, 200);
    const group = customer();
    await postChatwoot(
      app,
      chatwootFixture('message_created.incoming', { id: 15_004, conversation: { ...group.conversation, group: true } }),
    );
    const seen = async (waId: string) => count(`SELECT count(*) AS n FROM messages WHERE contact_wa_id = $1`, [waId]);
    assert.deepEqual([await seen(c.waId), await seen(jid.waId), await seen(widget.waId), await seen(group.waId)], [1, 1, 0, 0]);
  });

  it('counts a send Chatwoot reports failed as a failure, not as an answer; an echo from the Business app is an agent answer', async () => {
    const c = customer();
    const failures = await metricValue(app, 'whatsapp_message_failures_total', { error_code: '131047' });
    await postChatwoot(
      app,
      chatwootFixture('message_created.incoming', {
        id: 16_001,
        source_id: wamid('f'),
        created_at: iso(600),
        conversation: c.conversation,
      }),
    );
    await postChatwoot(app, chatwootFixture('message_created.agent', { id: 16_002, created_at: iso(500), conversation: c.conversation }));
    await postChatwoot(
      app,
      chatwootFixture('message_updated.status', {
        id: 16_002,
        created_at: iso(500),
        conversation: { ...c.conversation, messages: [{ id: 16_002, status: 'failed', updated_at: iso(497) }] },
      }),
    );
    let row = (await db.database.query(`SELECT first_response_at FROM conversations WHERE contact_wa_id = $1`, [c.waId])).rows[0]!;
    assert.equal(row.first_response_at, null);
    assert.equal(await metricValue(app, 'whatsapp_message_failures_total', { error_code: '131047' }), failures + 1);

    await postChatwoot(
      app,
      chatwootFixture('message_created.agent', {
        id: 16_003,
        created_at: iso(400),
        sender: null,
        content_attributes: { external_echo: true },
        conversation: c.conversation,
      }),
    );
    row = (await db.database.query(`SELECT first_response_at, first_responder FROM conversations WHERE contact_wa_id = $1`, [c.waId]))
      .rows[0]!;
    assert.deepEqual([row.first_response_at.toISOString(), row.first_responder], [iso(400), 'agent']);
  });

  it("a resolution by an agent bot counts as the bot's; a label outside the categories counts as other; unassignment changes nothing", async () => {
    const c = customer();
    await postChatwoot(
      app,
      chatwootFixture('message_created.incoming', {
        id: 17_001,
        source_id: wamid('b'),
        created_at: iso(300),
        conversation: c.conversation,
      }),
    );
    await postChatwoot(app, chatwootFixture('message_created.bot', { id: 17_002, created_at: iso(290), conversation: c.conversation }));
    await postChatwoot(
      app,
      chatwootFixture('conversation_updated.labels', {
        ...c.conversation,
        updated_at: epoch(285),
        changed_attributes: [{ label_list: { previous_value: [], current_value: ['vip-kunde'] } }],
      }),
    );
    await postChatwoot(
      app,
      chatwootFixture('conversation_updated.assignee', {
        ...c.conversation,
        updated_at: epoch(284),
        changed_attributes: [{ assignee_id: { previous_value: 7, current_value: null } }],
        meta: { assignee: null },
      }),
    );
    await postChatwoot(
      app,
      chatwootFixture('conversation_status_changed', {
        ...c.conversation,
        updated_at: epoch(280),
        meta: { ...(c.conversation.meta as object), assignee: { id: 3, name: 'Triage bot', type: 'agent_bot' }, assignee_type: 'AgentBot' },
      }),
    );
    const row = (
      await db.database.query(`SELECT category, resolved_by, resolved_agent, assigned_agent FROM conversations WHERE contact_wa_id = $1`, [
        c.waId,
      ])
    ).rows[0]!;
    assert.deepEqual(row, { category: 'other', resolved_by: 'bot', resolved_agent: null, assigned_agent: null });
  });
});

describe('the same timeline through Chatwoot as through Meta and the events API', () => {
  const NUMBER = '200000000000017';
  let runs: Awaited<ReturnType<typeof openRuns>>;
  // The reference answers the exporter's own CSAT survey; Chatwoot collects the rating itself.
  before(
    async () => (runs = await openRuns(NUMBER, { CHATWOOT_WEBHOOK_SECRET: CHATWOOT_SECRET, CHATWOOT_INBOXES: `17=${NUMBER}` }, false)),
  );
  after(() => runs.close());

  /** Chatwoot's conversation (display id and all) of a timeline customer. */
  const conversationOf = (customer: string) => ({
    id: 300 + Number(customer.slice(-2)),
    inbox_id: 17,
    contact_inbox: { source_id: customer },
    meta: { sender: { id: 4400 + Number(customer.slice(-2)), name: NAMES[customer], phone_number: `+${customer}` } },
  });
  const user = (agent: string) => ({ id: Number(agent), name: `Agent ${agent}`, available_name: `Agent ${agent}`, type: 'user' });

  async function runChatwoot(): Promise<void> {
    const post = async (payload: Record<string, unknown>) => {
      const res = await postChatwoot(runs.provider.app, payload, { delivery: `d-${randomUUID()}` });
      if (res.status !== 200) throw new Error(`${payload.event}: ${res.status} ${res.text}`);
    };
    for (const step of TIMELINE) {
      const created_at = timeAt(step.at).toISOString();
      // Chatwoot's save time (a float of seconds; whole here, to name the reference's instants).
      const updated_at = timeAt(step.at).getTime() / 1000;
      const id = 20_000 + step.n;
      if (step.kind === 'presence') {
        await presence(runs.provider.app, step);
        continue;
      }
      const conversation = conversationOf(step.customer);
      switch (step.kind) {
        case 'customer':
          await post(
            chatwootFixture('message_created.incoming', { id, source_id: wamidOf(step), content: step.text, created_at, conversation }),
          );
          break;
        case 'bot':
          await post(chatwootFixture('message_created.bot', { id, created_at, conversation }));
          break;
        case 'agent': {
          const sender = { id: Number(step.agent), name: `Agent ${step.agent}`, email: `agent${step.agent}@example.com`, type: 'user' };
          const created = () => post(chatwootFixture('message_created.agent', { id, created_at, sender, conversation }));
          const messages = [
            { id, status: step.failed ? 'failed' : 'delivered', updated_at: new Date(timeAt(step.at).getTime() + 2000).toISOString() },
          ];
          // Chatwoot's events come from separate jobs: a failure reported first, as in the reference.
          if (!step.failed) await created();
          await post(
            chatwootFixture('message_updated.status', {
              id,
              created_at,
              sender,
              source_id: wamidOf(step),
              content_attributes: step.failed ? { external_error: '131026: Message undeliverable' } : { external_error: undefined },
              conversation: { ...conversation, messages },
            }),
          );
          if (step.failed) await created();
          break;
        }
        case 'handover':
          await post(chatwootFixture('conversation_updated.handover', { ...conversation, updated_at }));
          break;
        case 'assigned':
          await post(
            chatwootFixture('conversation_updated.assignee', {
              ...conversation,
              updated_at,
              changed_attributes: [{ assignee_id: { previous_value: null, current_value: Number(step.agent) } }],
              meta: { ...conversation.meta, assignee: user(step.agent), assignee_type: 'User' },
            }),
          );
          break;
        case 'categorized':
          await post(
            chatwootFixture('conversation_updated.labels', {
              ...conversation,
              updated_at,
              labels: ['vip', step.category],
              changed_attributes: [{ label_list: { previous_value: [], current_value: ['vip', step.category] } }],
            }),
          );
          break;
        case 'resolved': {
          const assignee =
            step.by === 'bot'
              ? { assignee: { id: 3, name: 'Triage bot', type: 'agent_bot' }, assignee_type: 'AgentBot' }
              : { assignee: user(step.agent!), assignee_type: 'User' };
          const resolved = { ...conversation, updated_at, status: 'resolved', meta: { ...conversation.meta, ...assignee } };
          // One save, two events, the updated one first this time.
          await post(
            chatwootFixture('conversation_updated.assignee', {
              ...resolved,
              changed_attributes: [{ status: { previous_value: 'open', current_value: 'resolved' } }],
            }),
          );
          await post(chatwootFixture('conversation_status_changed', resolved));
          if (step.customer === CSAT.customer) {
            const survey = { id: 29_000, created_at: new Date(timeAt(step.at).getTime() + 1000).toISOString(), conversation: resolved };
            await post(chatwootFixture('message_created.csat_survey', survey));
            await post(
              chatwootFixture('message_updated.csat', {
                ...survey,
                content_attributes: {
                  assigned_agent_id: Number(CSAT.agent),
                  submitted_values: { csat_survey_response: { rating: CSAT.score, feedback_message: 'Danke' } },
                },
              }),
            );
          }
          break;
        }
      }
    }
  }

  it('gives the same KPIs on /metrics and the same stored conversations', async () => {
    const { reference } = runs;
    await runMeta(reference.app);
    await surveyLoop(reference.app, reference.stub, (survey, at) => answerSurveyOnMeta(reference.app, survey, at));
    await runChatwoot();

    // Messages alike, but for the survey answer: a message through Meta, a rating through Chatwoot.
    await assertSameAsReference(reference, runs.provider, 1);
  });
});

describe('the simulator speaks Chatwoot', () => {
  it('sends signed Chatwoot webhooks that the exporter accepts and turns into KPIs', async () => {
    const simDb = await createTestDatabase();
    try {
      const settings = { CHATWOOT_WEBHOOK_SECRET: CHATWOOT_SECRET, CHATWOOT_INBOXES: `1=${PHONE_NUMBER_ID}` };
      await assertSimulatorSpeaks(testApp(simDb.database, settings), 'chatwoot', settings);
    } finally {
      await simDb.drop();
    }
  });
});

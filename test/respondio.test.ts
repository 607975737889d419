/**
 * The respond.io receiver end to end: signatures against several keys, redeliveries by event_id,
 * bad bodies, messages (customer, agent, workflow, AI agent, Business-app echo), assignee
 * changes and closed conversations, and threads keyed like Meta's.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { App } from '../src/app.ts';
import { loadConfig } from '../src/config/config.ts';
import { signRespondio, verifyRespondioSignature } from '../src/ingest/respondio/signature.ts';
import { metricValue, openTestApp, testApp } from './support/app.ts';
import { createTestDatabase, type TestDatabase } from './support/database.ts';
import { PHONE_NUMBER_ID, wamid } from './support/meta.ts';
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
import { postRespondio, RESPONDIO_KEYS, respondioFixture, assertSimulatorSpeaks } from './support/providers.ts';

let db: TestDatabase;
let app: App;
const CHANNEL = 123;
before(
  async () =>
    ({ db, app } = await openTestApp({
      RESPONDIO_SIGNING_KEYS: RESPONDIO_KEYS.join(','),
      RESPONDIO_CHANNELS: `${CHANNEL}=${PHONE_NUMBER_ID}`,
    })),
);
after(() => db.drop());

const count = async (sql: string, params: unknown[] = []) => Number((await db.database.query<{ n: string }>(sql, params)).rows[0]!.n);
const requests = (outcome: string) => metricValue(app, 'whatsapp_webhook_requests_total', { provider: 'respondio', outcome });

const NOW_S = Math.floor(Date.now() / 1000);
const ago = (seconds: number) => NOW_S - seconds;
const isoAgo = (seconds: number) => new Date((NOW_S - seconds) * 1000).toISOString();

let sequence = 0;
/** A fresh contact per test: its phone (E.164), customer id and respond.io ids. */
function contact() {
  sequence += 1;
  const waId = `6012${String(Date.now()).slice(-5)}${String(sequence).padStart(3, '0')}`;
  return { waId, id: 5000 + sequence, contact: { id: 5000 + sequence, phone: `+${waId}`, firstName: 'Siti', lastName: `Test${sequence}` } };
}
const uuid = (n: number) => `00000000-0000-4000-8000-${String(n).padStart(12, '0')}`;

describe('respond.io signatures', () => {
  it('matches the locally computed test vector, in base64 as sent and leniently read', () => {
    const body =
      '{"event_type":"message.received","event_id":"313ba4a0-7dd6-4818-84f0-43a5e987786e","contact":{"id":1},"message":{"messageId":1262965213,"traffic":"incoming","message":{"type":"text","text":"hi"},"timestamp":1662965213}}';
    const signature = 'fdrJejGYU+rKTO4G3megT9xfepZ+p2u7tIs9eGYgWeI=';
    assert.equal(signRespondio('rio-signing-key', body), signature);
    const check = (keys: string[], text: string, header: string | undefined) => verifyRespondioSignature(keys, Buffer.from(text), header);
    assert.equal(check(['another-key', 'rio-signing-key'], body, signature), 'valid');
    assert.equal(check(['rio-signing-key'], body, signature.replace(/\+/g, '-').replace(/=$/, '')), 'valid', 'URL-safe, unpadded');
    assert.equal(check(['rio-signing-key'], body, `sha256=${Buffer.from(signature, 'base64').toString('hex')}`), 'valid', 'hex');
    assert.equal(check(['rio-signing-key'], JSON.stringify(JSON.parse(body), null, 2), signature), 'valid', 'signed compact, sent pretty');
    assert.equal(check(['rio-signing-key'], body.replace('hi', 'ho'), signature), 'mismatch');
    assert.equal(check(['wrong-key'], body, signature), 'mismatch');
    assert.equal(check(['rio-signing-key'], body, undefined), 'missing');
    assert.equal(check(['rio-signing-key'], body, 'not-a-signature'), 'malformed');
    assert.equal(check(['rio-signing-key'], body, Buffer.alloc(20).toString('base64')), 'malformed', 'a SHA-1-sized digest');
  });

  it('accepts the signature of any configured key and refuses missing, malformed and forged ones with 401, storing nothing', async () => {
    const c = contact();
    const payload = respondioFixture('message.received', {
      contact: c.contact,
      event_id: uuid(1),
      message: { messageId: 7001, channelMessageId: wamid('r') },
    });
    const rejected = await requests('rejected_signature');
    for (const [options, message] of [
      [{ signature: '' }, /missing X-Webhook-Signature/],
      [{ signature: 'abc' }, /must be the base64 HMAC-SHA256/],
      [{ key: 'forged-key-not-configured' }, /does not match the body signed with any of RESPONDIO_SIGNING_KEYS/],
    ] as const) {
      const res = await postRespondio(app, payload, options);
      assert.equal(res.status, 401);
      assert.match(res.body.error.message, message);
    }
    assert.equal(await requests('rejected_signature'), rejected + 3);
    assert.equal(await count(`SELECT count(*) AS n FROM messages WHERE contact_wa_id = $1`, [c.waId]), 0);
    assert.equal((await postRespondio(app, payload, { key: RESPONDIO_KEYS[1] })).status, 200);
    assert.equal(await count(`SELECT count(*) AS n FROM messages WHERE contact_wa_id = $1`, [c.waId]), 1);
  });

  it('is off without signing keys, and validates its settings with one line per problem', async () => {
    const off = testApp(db.database);
    assert.equal((await postRespondio(off, respondioFixture('message.received'))).status, 404);
    const base = { WHATSAPP_APP_SECRET: 's', WHATSAPP_VERIFY_TOKEN: 'v', EVENTS_API_TOKEN: 'e' };
    const errors = (env: Record<string, string>) => {
      const result = loadConfig({ ...base, ...env });
      return result.ok ? [] : result.errors;
    };
    assert.deepEqual(errors({ RESPONDIO_CHANNELS: '123=106540352242922' }), [
      "RESPONDIO_CHANNELS: the respond.io endpoint is off — set RESPONDIO_SIGNING_KEYS (each webhook's signing key)",
    ]);
    assert.deepEqual(errors({ RESPONDIO_SIGNING_KEYS: 'k1k1k1', RESPONDIO_CHANNELS: 'whatsapp' }), [
      'RESPONDIO_CHANNELS: "whatsapp" is not channel_id=phone_number_id — e.g. 123456=106540352242922',
    ]);
    assert.deepEqual(errors({ RESPONDIO_SIGNING_KEYS: 'k1k1k1,change-me' }), [
      'RESPONDIO_SIGNING_KEYS: "k1k1k1,change-me" is a placeholder, not a secret — set a real value (e.g. openssl rand -hex 24)',
    ]);
  });
});

describe('respond.io redeliveries and bad bodies', () => {
  it('answers a redelivered event (same event_id, even re-serialised) duplicate and counts it once', async () => {
    const c = contact();
    const payload = respondioFixture('message.received', {
      contact: c.contact,
      event_id: uuid(2),
      message: { messageId: 7002, channelMessageId: wamid('d') },
    });
    assert.equal((await postRespondio(app, payload)).body.status, 'accepted');
    const duplicates = await requests('duplicate');
    const same = await postRespondio(app, payload);
    assert.deepEqual([same.status, same.body.status], [200, 'duplicate']);
    const pretty = JSON.stringify(payload, null, 2);
    const reserialised = await postRespondio(app, payload, { raw: pretty, signature: signRespondio(RESPONDIO_KEYS[0]!, pretty) });
    assert.deepEqual([reserialised.status, reserialised.body.status], [200, 'duplicate']);
    assert.equal(await requests('duplicate'), duplicates + 2);
    assert.equal(await count(`SELECT count(*) AS n FROM messages WHERE contact_wa_id = $1`, [c.waId]), 1);
  });

  it('answers 400 naming the problem for signed bodies that are not respond.io webhooks', async () => {
    for (const [payload, message] of [
      [[1, 2], /expected a JSON object/],
      [{ event_id: uuid(3), contact: { id: 1 } }, /event_type: required/],
      [{ event_type: 'message.received', event_id: uuid(4), message: { messageId: 1 } }, /contact: required, with a phone or an id/],
      [{ event_type: 'message.sent', contact: { id: 1 }, message: { type: 'text', text: 'x' } }, /message\.messageId: required/],
    ] as const) {
      const res = await postRespondio(app, payload);
      assert.equal(res.status, 400, JSON.stringify(payload));
      assert.match(res.body.error.message, message);
    }
    assert.equal(await count(`SELECT count(*) AS n FROM webhook_deliveries WHERE provider = 'respondio' AND outcome = 'rejected'`), 4);
  });

  it('stores events it has no use for (contact.updated, tags, comments) and unknown ones without error', async () => {
    for (const [i, type] of ['contact.updated', 'contact.tag.updated', 'comment.created', 'call.ended', 'something.new'].entries()) {
      const res = await postRespondio(app, { event_type: type, event_id: uuid(100 + i), contact: contact().contact });
      assert.deepEqual([res.status, res.body.status], [200, 'accepted'], type);
    }
  });
});

describe('respond.io messages and conversations', () => {
  it('turns a timeline into a conversation: workflow answer, assignment, agent answer, closing category and resolution', async () => {
    const c = contact();
    const post = async (name: string, overrides: Record<string, unknown>) => {
      const res = await postRespondio(app, respondioFixture(name, { contact: c.contact, ...overrides }));
      assert.equal(res.status, 200, `${name}: ${res.text}`);
    };
    const opened = await metricValue(app, 'whatsapp_conversations_opened_total');
    await post('conversation.opened', { event_id: uuid(201), conversation: { openedTime: ago(900) } });
    await post('message.received', {
      event_id: uuid(202),
      message: { messageId: 8001, channelMessageId: wamid('in'), timestamp: ago(900) },
    });
    await post('message.sent.workflow', {
      event_id: uuid(203),
      message: { messageId: 8002, channelMessageId: wamid('wf'), timestamp: ago(895) },
    });
    await post('contact.assignee.updated', { event_id: uuid(204), timestamp: ago(870) });
    // The flat shape with the agent as `user`, times in milliseconds.
    await post('message.sent.agent', { event_id: uuid(205), channelMessageId: wamid('ag'), timestamp: ago(840) * 1000 });
    await post('conversation.closed', { event_id: uuid(206), conversation: { closedTime: ago(300), category: 'Billing' } });

    const row = (
      await db.database.query(
        `SELECT phone_number_id, status, category, assigned_agent, bot_engaged, handed_over, first_responder, first_response_at,
                resolved_by, resolved_agent, resolved_at
           FROM conversations WHERE contact_wa_id = $1`,
        [c.waId],
      )
    ).rows;
    assert.equal(row.length, 1);
    assert.deepEqual(
      { ...row[0]!, first_response_at: row[0]!.first_response_at.toISOString(), resolved_at: row[0]!.resolved_at.toISOString() },
      {
        phone_number_id: PHONE_NUMBER_ID,
        status: 'resolved',
        category: 'billing',
        assigned_agent: '2',
        bot_engaged: true,
        handed_over: true,
        first_responder: 'bot',
        first_response_at: isoAgo(895),
        resolved_by: 'agent',
        resolved_agent: '2',
        resolved_at: isoAgo(300),
      },
    );
    const messages = (
      await db.database.query(`SELECT direction, sender, agent_id FROM messages WHERE contact_wa_id = $1 ORDER BY sent_at`, [c.waId])
    ).rows;
    assert.deepEqual(
      messages.map((m) => [m.direction, m.sender, m.agent_id]),
      [
        ['inbound', 'customer', null],
        ['outbound', 'bot', null],
        ['outbound', 'agent', '2'],
      ],
    );
    assert.equal(await metricValue(app, 'whatsapp_conversations_opened_total'), opened + 1);
    // Without a channel the closing reaches each mapped number (and `respondio`): one took effect.
    assert.deepEqual(
      (
        await db.database.query(
          `SELECT id, phone_number_id FROM helpdesk_events WHERE id LIKE 'respondio:${uuid(206)}%' AND type = 'resolved' ORDER BY id`,
        )
      ).rows,
      [
        { id: `respondio:${uuid(206)}@${PHONE_NUMBER_ID}`, phone_number_id: PHONE_NUMBER_ID },
        { id: `respondio:${uuid(206)}@respondio`, phone_number_id: 'respondio' },
      ],
    );
  });

  it('tells a person from automation: echo and user sources are agents; AI agents, broadcasts and sends without a user are the bot', async () => {
    const c = contact();
    const sent = (n: number, fields: Record<string, unknown>) =>
      postRespondio(
        app,
        respondioFixture('message.sent.workflow', {
          contact: c.contact,
          event_id: uuid(300 + n),
          message: { messageId: 8100 + n, channelMessageId: wamid(`s${n}`), timestamp: ago(100 - n), sender: undefined, ...fields },
        }),
      );
    await sent(1, { sender: { source: 'echo' } });
    await sent(2, { sender: { source: 'user', userId: 9 } });
    await sent(3, { sender: { source: 'ai_agent' } });
    await sent(4, { sender: { source: 'broadcast' } });
    await sent(5, {});
    const rows = (await db.database.query(`SELECT sender, agent_id FROM messages WHERE contact_wa_id = $1 ORDER BY sent_at`, [c.waId]))
      .rows;
    assert.deepEqual(
      rows.map((r) => [r.sender, r.agent_id]),
      [
        ['agent', null],
        ['agent', '9'],
        ['bot', null],
        ['bot', null],
        ['bot', null],
      ],
    );
  });

  it('keys threads by phone and mapped channel; a conversation event without a channel reaches the contact wherever it is open', async () => {
    const c = contact();
    await postRespondio(
      app,
      respondioFixture('message.received', {
        contact: c.contact,
        event_id: uuid(401),
        channel: { id: 999 },
        message: { messageId: 8201, channelMessageId: wamid('u'), channelId: 999, timestamp: ago(200) },
      }),
    );
    await postRespondio(
      app,
      respondioFixture('message.received', {
        contact: c.contact,
        event_id: uuid(402),
        message: { messageId: 8202, channelMessageId: wamid('m'), timestamp: ago(190) },
      }),
    );
    const numbers = (await db.database.query(`SELECT phone_number_id FROM conversations WHERE contact_wa_id = $1 ORDER BY 1`, [c.waId]))
      .rows;
    assert.deepEqual(numbers, [{ phone_number_id: PHONE_NUMBER_ID }, { phone_number_id: 'respondio' }]);
    const closed = respondioFixture('conversation.closed', {
      contact: c.contact,
      event_id: uuid(403),
      conversation: { closedTime: ago(100), closedBySource: 'workflow', closedBy: null, category: '' },
    });
    assert.equal((await postRespondio(app, closed)).status, 200);
    const rows = (
      await db.database.query(`SELECT phone_number_id, status, resolved_by FROM conversations WHERE contact_wa_id = $1 ORDER BY 1`, [
        c.waId,
      ])
    ).rows;
    assert.deepEqual(rows, [
      { phone_number_id: PHONE_NUMBER_ID, status: 'resolved', resolved_by: 'bot' },
      { phone_number_id: 'respondio', status: 'resolved', resolved_by: 'bot' },
    ]);
    // A replay changes nothing.
    assert.equal((await postRespondio(app, closed)).body.status, 'duplicate');
  });

  it('counts a failed send respond.io reports as a failure, not as an answer', async () => {
    const c = contact();
    const failures = await metricValue(app, 'whatsapp_message_failures_total', { error_code: '131026' });
    await postRespondio(
      app,
      respondioFixture('message.received', {
        contact: c.contact,
        event_id: uuid(501),
        message: { messageId: 8301, channelMessageId: wamid('i'), timestamp: ago(60) },
      }),
    );
    await postRespondio(
      app,
      respondioFixture('message.sent.workflow', {
        contact: c.contact,
        event_id: uuid(502),
        message: {
          messageId: 8302,
          channelMessageId: wamid('x'),
          timestamp: ago(50),
          status: [
            { value: 'sent', timestamp: ago(50) },
            { value: 'failed', timestamp: ago(49), message: 'Message undeliverable (131026)' },
          ],
        },
      }),
    );
    const row = (await db.database.query(`SELECT first_response_at FROM conversations WHERE contact_wa_id = $1`, [c.waId])).rows[0]!;
    assert.equal(row.first_response_at, null);
    assert.equal(await metricValue(app, 'whatsapp_message_failures_total', { error_code: '131026' }), failures + 1);
  });
});

describe('the same timeline through respond.io as through Meta and the events API', () => {
  const NUMBER = '300000000000123';
  let runs: Awaited<ReturnType<typeof openRuns>>;
  // respond.io reports no CSAT: both runs answer the exporter's own survey.
  before(
    async () =>
      (runs = await openRuns(
        NUMBER,
        { RESPONDIO_SIGNING_KEYS: RESPONDIO_KEYS.join(','), RESPONDIO_CHANNELS: `${CHANNEL}=${NUMBER}` },
        true,
      )),
  );
  after(() => runs.close());

  const contactOf = (customer: string, assignee: string | null = null) => ({
    id: 6000 + Number(customer.slice(-2)),
    firstName: NAMES[customer],
    lastName: 'Test',
    phone: `+${customer}`,
    status: 'open',
    assignee: assignee ? { id: Number(assignee), firstName: 'Agent', lastName: assignee, email: `agent${assignee}@example.com` } : null,
  });
  const seconds = (at: number) => timeAt(at).getTime() / 1000;
  const channel = { id: CHANNEL, name: 'WhatsApp DE', source: 'whatsapp_cloud' };

  async function post(payload: Record<string, unknown>, key = RESPONDIO_KEYS[0]!): Promise<void> {
    const res = await postRespondio(runs.provider.app, payload, { key });
    if (res.status !== 200) throw new Error(`${payload.event_type}: ${res.status} ${res.text}`);
  }

  async function runRespondio(): Promise<void> {
    const assignees = new Map<string, string>();
    const categories = new Map<string, string>();
    for (const step of TIMELINE) {
      const event_id = uuid(10_000 + step.n);
      if (step.kind === 'presence') {
        await presence(runs.provider.app, step);
        continue;
      }
      const contact = contactOf(step.customer, assignees.get(step.customer) ?? null);
      const timestamp = seconds(step.at);
      switch (step.kind) {
        case 'customer':
          await post(
            respondioFixture('message.received', {
              event_id,
              contact,
              channel,
              message: {
                messageId: 90_000 + step.n,
                channelMessageId: wamidOf(step),
                channelId: CHANNEL,
                timestamp,
                message: { type: 'text', text: step.text },
                status: undefined,
              },
            }),
          );
          break;
        case 'bot':
          await post(
            respondioFixture('message.sent.workflow', {
              event_id,
              contact,
              channel,
              message: {
                messageId: 90_000 + step.n,
                channelMessageId: wamidOf(step),
                timestamp,
                status: [
                  { value: 'sent', timestamp },
                  { value: 'delivered', timestamp: timestamp + 2 },
                ],
              },
            }),
            RESPONDIO_KEYS[1],
          );
          break;
        case 'agent':
          await post(
            respondioFixture('message.sent.agent', {
              event_id,
              contact,
              channel,
              channelMessageId: wamidOf(step),
              timestamp,
              user: { id: Number(step.agent), name: `Agent ${step.agent}`, email: `agent${step.agent}@example.com` },
              status: [
                { value: 'sent', timestamp },
                step.failed
                  ? { value: 'failed', timestamp: timestamp + 2, message: '131026: Message undeliverable' }
                  : { value: 'delivered', timestamp: timestamp + 2 },
              ],
            }),
            RESPONDIO_KEYS[1],
          );
          break;
        case 'handover':
          // respond.io has no handover event: the assignment that follows is the handover.
          break;
        case 'assigned':
          assignees.set(step.customer, step.agent);
          await post(
            respondioFixture('contact.assignee.updated', { event_id, timestamp, channel, contact: contactOf(step.customer, step.agent) }),
          );
          break;
        case 'categorized':
          // The category is respond.io's closing note.
          categories.set(step.customer, step.category);
          break;
        case 'resolved':
          await post(
            respondioFixture('conversation.closed', {
              event_id,
              contact: { ...contact, status: 'closed' },
              conversation: {
                category: categories.get(step.customer) ?? '',
                closedTime: timestamp,
                closedBy:
                  step.by === 'agent'
                    ? { id: Number(step.agent), name: `Agent ${step.agent}`, email: `agent${step.agent}@example.com` }
                    : null,
                closedBySource: step.by === 'agent' ? 'user' : 'workflow',
              },
            }),
          );
          break;
      }
    }
  }

  it('gives the same KPIs on /metrics and the same stored conversations', async () => {
    const { reference, provider } = runs;
    await runMeta(reference.app);
    await surveyLoop(reference.app, reference.stub, (survey, at) => answerSurveyOnMeta(reference.app, survey, at));
    await runRespondio();
    await surveyLoop(provider.app, provider.stub!, (survey, at) =>
      post(
        respondioFixture('message.received', {
          event_id: uuid(19_999),
          contact: contactOf(survey.to),
          channel,
          message: {
            messageId: 99_999,
            channelMessageId: `wamid.TIMELINEcsat${survey.to}`,
            channelId: CHANNEL,
            timestamp: at.getTime() / 1000,
            message: { type: 'text', text: String(CSAT.score) },
            status: undefined,
          },
        }),
      ),
    );

    await assertSameAsReference(reference, provider);
  });
});

describe('the simulator speaks respond.io', () => {
  it('sends signed respond.io webhooks that the exporter accepts and turns into KPIs', async () => {
    const simDb = await createTestDatabase();
    try {
      const settings = { RESPONDIO_SIGNING_KEYS: RESPONDIO_KEYS.join(','), RESPONDIO_CHANNELS: `1=${PHONE_NUMBER_ID}` };
      await assertSimulatorSpeaks(testApp(simDb.database, settings), 'respondio', settings);
    } finally {
      await simDb.drop();
    }
  });
});

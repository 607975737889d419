/** The Meta receiver end to end: HTTP in, rows in PostgreSQL, counts on /metrics. */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import request from 'supertest';
import type { App } from '../src/app.ts';
import type { TestDatabase } from './support/database.ts';
import { metricValue, openTestApp, postWebhook, testApp } from './support/app.ts';
import {
  APP_SECRET,
  contact,
  envelope,
  everyMessageType,
  inbound,
  messagesChange,
  metaJson,
  PHONE_NUMBER_ID,
  signed,
  status,
  statuses,
  textMessage,
  VERIFY_TOKEN,
  wamid,
} from './support/meta.ts';
import { signBody } from '../src/ingest/meta/signature.ts';

let db: TestDatabase;
let app: App;

before(async () => ({ db, app } = await openTestApp()));
after(() => db.drop());

const post = postWebhook;

const count = async (sql: string, params: unknown[] = []) => Number((await db.database.query<{ n: string }>(sql, params)).rows[0]!.n);

describe('verification handshake', () => {
  it('echoes the challenge as text/plain for the right token', async () => {
    const res = await request(app.express)
      .get('/webhooks/whatsapp')
      .query({ 'hub.mode': 'subscribe', 'hub.verify_token': VERIFY_TOKEN, 'hub.challenge': '1158201444' });
    assert.equal(res.status, 200);
    assert.match(String(res.headers['content-type']), /^text\/plain/);
    assert.equal(res.text, '1158201444');
  });

  it('answers 403 for a wrong token, a wrong mode or no challenge', async () => {
    for (const query of [
      { 'hub.mode': 'subscribe', 'hub.verify_token': 'nope', 'hub.challenge': '1' },
      { 'hub.mode': 'unsubscribe', 'hub.verify_token': VERIFY_TOKEN, 'hub.challenge': '1' },
      { 'hub.mode': 'subscribe', 'hub.verify_token': VERIFY_TOKEN },
      {},
    ]) {
      const res = await request(app.express).get('/webhooks/whatsapp').query(query);
      assert.equal(res.status, 403, JSON.stringify(query));
      assert.match(res.body.error.message, /verify_token|hub\.mode/);
    }
  });
});

describe('signatures', () => {
  it('accepts a non-ASCII payload signed over the escaped bytes Meta sends', async () => {
    const from = '4915111100001';
    const payload = inbound(from, 'Jürgen Çelik 李', [textMessage(from, 'Grüße aus Köln — äöå 😀 / مرحبا')]);
    const { body, signature } = signed(payload);
    assert.match(body, /\\u00fc/, 'the body carries escapes, as Meta sends it');
    const res = await request(app.express)
      .post('/webhooks/whatsapp')
      .set('Content-Type', 'application/json')
      .set('X-Hub-Signature-256', signature)
      .send(body);
    assert.equal(res.status, 200, res.text);
    const { rows } = await db.database.query('SELECT text_body FROM messages WHERE contact_wa_id = $1', [from]);
    assert.equal(rows[0]!.text_body, 'Grüße aus Köln — äöå 😀 / مرحبا');
    const name = await db.database.query('SELECT profile_name FROM contacts WHERE wa_id = $1', [from]);
    assert.equal(name.rows[0]!.profile_name, 'Jürgen Çelik 李');
  });

  it('rejects the signature of re-serialised JSON (the naive receiver mistake)', async () => {
    const payload = inbound('4915111100002', 'Zoë', [textMessage('4915111100002', 'Straße')]);
    const body = metaJson(payload);
    const naive = signBody(APP_SECRET, JSON.stringify(payload));
    const res = await request(app.express)
      .post('/webhooks/whatsapp')
      .set('Content-Type', 'application/json')
      .set('X-Hub-Signature-256', naive)
      .send(body);
    assert.equal(res.status, 401);
  });

  it('answers 401 for a missing, malformed or wrong signature and stores nothing', async () => {
    const before401 = await metricValue(app, 'whatsapp_webhook_requests_total', { outcome: 'rejected_signature' });
    const from = '4915111100003';
    const payload = inbound(from, 'Eve', [textMessage(from, 'forged')]);
    const { body, signature } = signed(payload, 'some-other-secret');
    const cases: [string | undefined, RegExp][] = [
      [undefined, /missing X-Hub-Signature-256/],
      ['sha1=abcdef', /must be sha256=/],
      [`sha256=${'0'.repeat(63)}`, /must be sha256=/],
      [signature, /does not match/],
    ];
    for (const [header, message] of cases) {
      const req = request(app.express).post('/webhooks/whatsapp').set('Content-Type', 'application/json');
      if (header) req.set('X-Hub-Signature-256', header);
      const res = await req.send(body);
      assert.equal(res.status, 401);
      assert.match(res.body.error.message, message);
    }
    assert.equal(await count('SELECT count(*) AS n FROM messages WHERE contact_wa_id = $1', [from]), 0);
    assert.equal(await metricValue(app, 'whatsapp_webhook_requests_total', { outcome: 'rejected_signature' }), before401 + 4);
  });

  it('accepts any of several comma-separated app secrets (rotation)', async () => {
    const rotating = testApp(db.database, { WHATSAPP_APP_SECRET: `old-secret, ${APP_SECRET}` });
    const from = '4915111100004';
    const res = await post(rotating, inbound(from, 'Ann', [textMessage(from, 'hi')]), 'old-secret');
    assert.equal(res.status, 200);
  });
});

describe('storing webhooks', () => {
  it('stores a batch of several entries, changes and every message type, and counts each once', async () => {
    const a = '4915122200001';
    const b = '4915122200002';
    const messages = everyMessageType(a);
    const echo = {
      from: '15550783881',
      to: b,
      id: wamid('echo'),
      timestamp: String(Math.floor(Date.now() / 1000)),
      type: 'text',
      text: { body: 'Ihre Bestellung ist unterwegs' },
    };
    const payload = {
      object: 'whatsapp_business_account',
      entry: [
        {
          id: 'waba-1',
          changes: [
            messagesChange({ contacts: [contact(a, 'Anna')], messages: messages.slice(0, 9) }),
            messagesChange({ contacts: [contact(a, 'Anna')], messages: messages.slice(9) }),
          ],
        },
        {
          id: 'waba-1',
          time: 1764000000,
          changes: [
            messagesChange({ contacts: [contact(b, 'Ben')], messages: [textMessage(`+${b}`, 'Hello, I need a refund')] }),
            {
              field: 'smb_message_echoes',
              value: {
                messaging_product: 'whatsapp',
                metadata: { display_phone_number: '15550783881', phone_number_id: PHONE_NUMBER_ID },
                message_echoes: [echo],
              },
            },
            {
              field: 'message_template_status_update',
              value: {
                event: 'APPROVED',
                message_template_id: 1234,
                message_template_name: 'csat_survey',
                message_template_language: 'en_US',
                reason: 'NONE',
              },
            },
            {
              field: 'user_preferences',
              value: {
                messaging_product: 'whatsapp',
                metadata: { display_phone_number: '15550783881', phone_number_id: PHONE_NUMBER_ID },
                contacts: [contact(b, 'Ben')],
                user_preferences: [
                  {
                    wa_id: b,
                    detail: 'User requested to stop marketing messages',
                    category: 'marketing_messages',
                    value: 'stop',
                    timestamp: 1764000000,
                  },
                ],
              },
            },
            { field: 'account_update', value: { event: 'VOLUME_BASED_PRICING_TIER_UPDATE' } },
          ],
        },
      ],
    };
    const inboundBefore = await metricValue(app, 'whatsapp_messages_total', { direction: 'inbound' });
    const res = await post(app, payload);
    assert.equal(res.status, 200, res.text);
    assert.deepEqual(res.body, { status: 'accepted' });

    assert.equal(await count('SELECT count(*) AS n FROM messages WHERE contact_wa_id = $1', [a]), messages.length);
    // "+4915…" and "4915…" are the same customer.
    assert.equal(await count(`SELECT count(*) AS n FROM messages WHERE contact_wa_id = $1 AND direction = 'inbound'`, [b]), 1);
    const echoRow = (await db.database.query('SELECT direction, sender, source, text_body FROM messages WHERE wamid = $1', [echo.id]))
      .rows[0];
    assert.deepEqual(echoRow, { direction: 'outbound', sender: 'agent', source: 'echo', text_body: 'Ihre Bestellung ist unterwegs' });
    const numbers = (await db.database.query(`SELECT phone_number_id, display_phone_number, waba_id FROM business_numbers`)).rows;
    assert.deepEqual(numbers, [{ phone_number_id: PHONE_NUMBER_ID, display_phone_number: '15550783881', waba_id: 'waba-1' }]);
    const fields = (await db.database.query(`SELECT field FROM account_events ORDER BY field`)).rows.map((r) => r.field);
    for (const field of ['account_update', 'message_template_status_update', 'user_preferences']) assert.ok(fields.includes(field), field);

    assert.equal((await metricValue(app, 'whatsapp_messages_total', { direction: 'inbound' })) - inboundBefore, messages.length + 1);
    assert.equal(await metricValue(app, 'whatsapp_messages_total', { direction: 'outbound', sender: 'agent', type: 'text' }), 1);
    assert.equal(
      await metricValue(app, 'whatsapp_messages_total', { direction: 'inbound', type: 'other' }),
      1,
      'an undocumented type is counted as other',
    );
    assert.equal(await metricValue(app, 'whatsapp_messages_total', { type: 'interactive' }), 3);
    assert.equal(await metricValue(app, 'whatsapp_messages_total', { type: 'system', sender: 'unknown' }), 1);

    const stored = (await db.database.query(`SELECT type, payload FROM messages WHERE type = 'poll_vote_2027'`)).rows[0];
    assert.deepEqual(stored!.payload.poll_vote_2027, { option: 'yes' }, 'an unknown type is stored whole');
  });

  it('counts a redelivered message once, also on a new app over the same database (a restart)', async () => {
    const from = '4915133300001';
    const second = textMessage(from, 'second');
    const payload = inbound(from, 'Carla', [textMessage(from, 'first'), second]);
    const first = await post(app, payload);
    assert.deepEqual(first.body, { status: 'accepted' });
    const again = await post(app, payload);
    assert.equal(again.status, 200);
    assert.deepEqual(again.body, { status: 'duplicate' });

    const restarted = testApp(db.reopen());
    const afterRestart = await post(restarted, payload);
    assert.deepEqual(afterRestart.body, { status: 'duplicate' });
    assert.equal(await metricValue(restarted, 'whatsapp_messages_total'), 0);
    assert.equal(await metricValue(restarted, 'whatsapp_webhook_requests_total', { outcome: 'duplicate' }), 1);
    assert.equal(await count('SELECT count(*) AS n FROM messages WHERE contact_wa_id = $1', [from]), 2);
    assert.equal(
      await count(
        `SELECT count(*) AS n FROM webhook_deliveries WHERE payload->'entry'->0->'changes'->0->'value'->'contacts'->0->>'wa_id' = $1`,
        [from],
      ),
      1,
    );

    // The same message inside a differently batched body is still not new.
    const rebatched = inbound(from, 'Carla', [second, textMessage(from, 'third')]);
    const mixed = await post(restarted, rebatched);
    assert.deepEqual(mixed.body, { status: 'accepted' });
    assert.equal(await metricValue(restarted, 'whatsapp_messages_total'), 1);
  });

  it('counts concurrent redeliveries of one message once', async () => {
    const from = '4915133300002';
    const payload = inbound(from, 'Dora', [textMessage(from, 'are you there?')]);
    const replica = testApp(db.reopen());
    const before = (await metricValue(app, 'whatsapp_messages_total')) + (await metricValue(replica, 'whatsapp_messages_total'));
    const answers = await Promise.all([post(app, payload), post(replica, payload), post(app, payload), post(replica, payload)]);
    assert.ok(answers.every((a) => a.status === 200));
    const after = (await metricValue(app, 'whatsapp_messages_total')) + (await metricValue(replica, 'whatsapp_messages_total'));
    assert.equal(after - before, 1);
    assert.equal(answers.filter((a) => a.body.status === 'accepted').length, 1);
  });

  it('credits each new message to exactly one of many concurrent, overlapping requests (group commit)', async () => {
    const from = '4915133300003';
    const shared = textMessage(from, 'in every body');
    const bodies = Array.from({ length: 40 }, (_, i) => inbound(from, 'Many', [shared, textMessage(from, `own ${i}`)]));
    const before = await metricValue(app, 'whatsapp_messages_total', { direction: 'inbound' });
    const answers = await Promise.all(bodies.map((b) => post(app, b)));
    assert.ok(answers.every((a) => a.status === 200 && a.body.status === 'accepted'));
    assert.equal((await metricValue(app, 'whatsapp_messages_total', { direction: 'inbound' })) - before, 41);
    assert.equal(await count('SELECT count(*) AS n FROM messages WHERE contact_wa_id = $1', [from]), 41);
  });

  it('takes statuses in any order, before their message is known, each (wamid, status) once', async () => {
    const id = wamid('out');
    const t0 = new Date('2026-11-20T10:00:00Z');
    const at = (s: number) => new Date(t0.getTime() + s * 1000);
    // read arrives first, without delivered; then sent; then read again; then a failure of another message.
    assert.equal((await post(app, statuses(status(id, 'read', at(30), { biz_opaque_callback_data: 'agent:alice' })))).status, 200);
    assert.equal((await post(app, statuses(status(id, 'sent', at(0), { biz_opaque_callback_data: 'agent:alice' })))).status, 200);
    assert.deepEqual((await post(app, statuses(status(id, 'read', at(30), { biz_opaque_callback_data: 'agent:alice' })))).body, {
      status: 'duplicate',
    });
    const failedId = wamid('fail');
    const failure = status(failedId, 'failed', at(5), {
      errors: [
        {
          code: 131047,
          title: 'Re-engagement message',
          message: 'Re-engagement message',
          error_data: { details: 'More than 24 hours have passed' },
        },
      ],
    });
    await post(app, statuses(failure, status(failedId, 'sent', at(1))));
    await post(app, statuses(failure));

    const rows = (await db.database.query(`SELECT status, occurred_at FROM message_statuses WHERE wamid = $1 ORDER BY occurred_at`, [id]))
      .rows;
    assert.deepEqual(
      rows.map((r) => r.status),
      ['sent', 'read'],
    );
    const message = (
      await db.database.query(`SELECT direction, sender, agent_id, source, type, sent_at FROM messages WHERE wamid = $1`, [id])
    ).rows[0];
    assert.deepEqual(message, {
      direction: 'outbound',
      sender: 'agent',
      agent_id: 'alice',
      source: 'status',
      type: 'unknown',
      sent_at: at(0),
    });
    assert.equal(await metricValue(app, 'whatsapp_message_statuses_total', { status: 'read' }), 1);
    assert.equal(await metricValue(app, 'whatsapp_message_statuses_total', { status: 'sent' }), 2);
    assert.equal(await metricValue(app, 'whatsapp_message_statuses_total', { status: 'failed' }), 1);
    assert.equal(await metricValue(app, 'whatsapp_message_failures_total', { error_code: '131047' }), 1);
    assert.equal(await metricValue(app, 'whatsapp_messages_total', { direction: 'outbound', sender: 'agent', type: 'unknown' }), 1);
  });

  it('stores a group holding the same body twice next to another body', async () => {
    const { insertDeliveries, sha256 } = await import('../src/storage/webhook-store.ts');
    const delivery = (p: unknown) => {
      const { body } = signed(p);
      return { provider: 'meta', body, bodySha256: sha256(body) };
    };
    const a = delivery(inbound('4915133300009', 'A', [textMessage('4915133300009', 'a')]));
    const b = delivery(inbound('4915133300010', 'B', [textMessage('4915133300010', 'b')]));
    const { ids } = await db.database.transaction((tx) => insertDeliveries(tx, [a, a, b]));
    assert.deepEqual(
      ids.map((id) => id !== null),
      [true, false, true],
    );
  });

  it('keeps the earliest status time and the attribution when one group carries several statuses of one send', async () => {
    const { insertMessages, messageRowsOf } = await import('../src/storage/webhook-store.ts');
    const { normalizeMetaWebhook } = await import('../src/ingest/meta/normalize.ts');
    const id = wamid('group');
    const rows = (payload: unknown) =>
      messageRowsOf(normalizeMetaWebhook(payload)).map((m) => ({ ...m, provider: 'meta', deliveryId: null }));
    const sentAt = new Date(Math.floor(Date.now() / 1000) * 1000 - 60_000);
    const read = rows(statuses(status(id, 'read', new Date(sentAt.getTime() + 50_000))));
    const sent = rows(statuses(status(id, 'sent', sentAt, { biz_opaque_callback_data: 'agent:alice' })));
    await db.database.transaction((tx) => insertMessages(tx, [...read, ...sent]));
    const stored = (await db.database.query('SELECT sent_at, sender, agent_id FROM messages WHERE wamid = $1', [id])).rows[0]!;
    assert.equal(stored.sent_at.getTime(), sentAt.getTime());
    assert.deepEqual([stored.sender, stored.agent_id], ['agent', 'alice']);
  });

  it('does not count a send that only failed as an answer', async () => {
    const from = '4915133300011';
    await post(app, inbound(from, 'Failed', [textMessage(from, 'hello?', new Date(Date.now() - 60_000))])).expect(200);
    await post(
      app,
      statuses(status(wamid('neverarrived'), 'failed', new Date(), { recipient_id: from, errors: [{ code: 131047 }] })),
    ).expect(200);
    const conversation = (
      await db.database.query('SELECT first_response_at, waiting_since FROM conversations WHERE contact_wa_id = $1', [from])
    ).rows[0];
    assert.equal(conversation!.first_response_at, null);
    assert.notEqual(conversation!.waiting_since, null, 'the customer is still waiting');
  });

  it('keeps unknown status values and counts rare error codes as other', async () => {
    const id = wamid('odd');
    const res = await post(
      app,
      statuses(status(id, 'deleted'), status(wamid('rare'), 'failed', new Date(), { errors: [{ code: 999999, title: 'x' }] })),
    );
    assert.equal(res.status, 200);
    assert.equal(await count(`SELECT count(*) AS n FROM message_statuses WHERE wamid = $1 AND status = 'deleted'`, [id]), 1);
    assert.equal(await metricValue(app, 'whatsapp_message_failures_total', { error_code: 'other' }), 1);
    assert.equal(await metricValue(app, 'whatsapp_message_statuses_total', { status: 'other' }), 1);
  });

  it('stores a 1,000-message POST in one request', async () => {
    const from = '4915144400001';
    const messages = Array.from({ length: 1000 }, (_, i) => textMessage(from, `Nachricht ${i} — ${'x'.repeat(200)}`));
    const before = await metricValue(app, 'whatsapp_messages_total', { direction: 'inbound' });
    const res = await post(app, inbound(from, 'Bulk', messages));
    assert.equal(res.status, 200, res.text);
    assert.equal(await count('SELECT count(*) AS n FROM messages WHERE contact_wa_id = $1', [from]), 1000);
    assert.equal((await metricValue(app, 'whatsapp_messages_total', { direction: 'inbound' })) - before, 1000);
  });
});

describe('bad bodies', () => {
  it('answers 400, not 500, for an id too long to index (a real wamid is about 60 characters)', async () => {
    const id = `wamid.${'x'.repeat(4_000)}`;
    const res = await post(app, inbound('4915100099999', 'X', [textMessage('4915100099999', 'hi', new Date(), id)]));
    assert.equal(res.status, 400);
    assert.match(res.body.error.message, /messages\[0\]\.id: is longer than 512 characters/);
  });

  const send = (body: string | Buffer, contentType = 'application/json') =>
    request(app.express)
      .post('/webhooks/whatsapp')
      .set('Content-Type', contentType)
      .set('X-Hub-Signature-256', signBody(APP_SECRET, body))
      .send(body);

  it('answers 400 naming the problem for signed bodies that are not WhatsApp webhooks', async () => {
    const cases: [string, RegExp][] = [
      ['{"object": "whatsapp_business_account", "entry": [', /not valid JSON/],
      ['[]', /not a WhatsApp webhook/],
      ['"hello"', /not a WhatsApp webhook/],
      [JSON.stringify({ object: 'page', entry: [] }), /object: expected "whatsapp_business_account", got "page"/],
      [JSON.stringify({ object: 'whatsapp_business_account' }), /entry/],
      [
        JSON.stringify(envelope([{ field: 'messages', value: { messaging_product: 'whatsapp' } }])),
        /entry\[0\]\.changes\[0\]\.value\.metadata/,
      ],
      [
        JSON.stringify(envelope([messagesChange({ messages: [{ from: '491', id: 'wamid.x', timestamp: 'yesterday', type: 'text' }] })])),
        /value\.messages\[0\]\.timestamp: expected unix seconds/,
      ],
      [
        JSON.stringify(envelope([messagesChange({ statuses: [{ id: 'wamid.y', timestamp: '1764000000' }] })])),
        /value\.statuses\[0\]\.status/,
      ],
      [
        JSON.stringify({
          object: 'whatsapp_business_account',
          entry: [{ id: '1', changes: [{ field: 'account_update', value: 'not an object' }] }],
        }),
        /changes\[0\]\.value/,
      ],
      ['', /not valid JSON/],
    ];
    for (const [body, message] of cases) {
      const res = await send(body);
      assert.equal(res.status, 400, body);
      assert.equal(res.body.error.code, 'bad_request');
      assert.match(res.body.error.message, message, body);
    }
  });

  it('keeps a signed but misunderstood body for replay without storing its rows', async () => {
    const body = JSON.stringify(
      envelope([messagesChange({ messages: [{ from: '4915155500001', id: 'wamid.keep', timestamp: '1764000000' }] })]),
    );
    const res = await send(body);
    assert.equal(res.status, 400);
    const kept = (
      await db.database.query(
        `SELECT outcome, error FROM webhook_deliveries WHERE payload @> '{"entry":[{"changes":[{"value":{"messages":[{"id":"wamid.keep"}]}}]}]}'`,
      )
    ).rows;
    assert.equal(kept.length, 1);
    assert.equal(kept[0]!.outcome, 'rejected');
    assert.match(kept[0]!.error, /type/);
    assert.equal(await count(`SELECT count(*) AS n FROM messages WHERE wamid = 'wamid.keep'`), 0);
  });

  it('answers 413 above the body limit and still takes a 3 MB body', async () => {
    const from = '4915155500002';
    const big = inbound(from, 'Big', [textMessage(from, 'y'.repeat(3 * 1024 * 1024))]);
    const ok = await post(app, big);
    assert.equal(ok.status, 200, ok.text);
    // Over a real socket: supertest takes seconds to stream a body the server refuses.
    const tooBig = Buffer.alloc(9 * 1024 * 1024, 0x20);
    const server = app.express.listen(0, '127.0.0.1');
    await new Promise((resolve) => server.once('listening', resolve));
    try {
      const { port } = server.address() as import('node:net').AddressInfo;
      const res = await fetch(`http://127.0.0.1:${port}/webhooks/whatsapp`, {
        method: 'POST',
        body: tooBig,
        headers: { 'Content-Type': 'application/json', 'X-Hub-Signature-256': signBody(APP_SECRET, tooBig) },
      });
      assert.equal(res.status, 413);
      assert.match(((await res.json()) as { error: { message: string } }).error.message, /exceeds the limit/);
    } finally {
      server.close();
    }
    assert.ok((await metricValue(app, 'whatsapp_webhook_requests_total', { outcome: 'rejected_payload' })) >= 1);
  });

  it('stores text with NUL characters and broken surrogates instead of failing', async () => {
    const from = '4915155500003';
    const body = JSON.stringify(inbound(from, 'Nul', [textMessage(from, 'a')])).replace('"body":"a"', '"body":"a\\u0000b\\ud800c"');
    const res = await send(body);
    assert.equal(res.status, 200, res.text);
    const row = (await db.database.query('SELECT text_body FROM messages WHERE contact_wa_id = $1', [from])).rows[0];
    assert.equal(row!.text_body, 'a\uFFFDb\uFFFDc');
  });

  it('answers 400, not 500, for a signed body nested thousands of levels deep', async () => {
    const deep =
      '{"object":"whatsapp_business_account","entry":[{"changes":[{"field":"x","value":{"a":' +
      '['.repeat(20000) +
      ']'.repeat(20000) +
      '}}]}]}';
    const res = await send(deep);
    assert.equal(res.status, 400, res.text);
    assert.match(res.body.error.message, /nested deeper than 64 levels/);
  });

  it('stores a body whose keys carry NUL characters, and escaped emoji pairs untouched', async () => {
    const from = '4915155500005';
    // metaJson escapes the emoji as a surrogate pair, as Meta sends it; the key gets a NUL escape.
    const body = metaJson(inbound(from, 'Keys', [textMessage(from, 'smile 😀')])).replace(
      '"messaging_product"',
      '"odd\\u0000key":1,"messaging_product"',
    );
    assert.match(body, /\\ud83d\\ude00/);
    const res = await send(body);
    assert.equal(res.status, 200, res.text);
    const row = (await db.database.query('SELECT text_body FROM messages WHERE contact_wa_id = $1', [from])).rows[0];
    assert.equal(row!.text_body, 'smile 😀');
  });

  it('takes a body sent without a JSON content type (the signature is what counts)', async () => {
    const from = '4915155500004';
    const { body } = signed(inbound(from, 'Plain', [textMessage(from, 'hi')]));
    const res = await send(body, 'text/plain');
    assert.equal(res.status, 200);
  });
});

describe('service endpoints', () => {
  it('serves a landing page, liveness, readiness and 404s', async () => {
    const landing = await request(app.express).get('/');
    assert.equal(landing.status, 200);
    assert.match(landing.text, /WhatsApp Helpdesk Exporter/);
    assert.match(landing.text, /href="metrics"/);
    assert.equal((await request(app.express).get('/healthz')).status, 200);
    const ready = await request(app.express).get('/readyz');
    assert.equal(ready.status, 200);
    assert.deepEqual(ready.body, { status: 'ready', database: 'up', migrations: 'applied' });
    const missing = await request(app.express).get('/nope');
    assert.equal(missing.status, 404);
    assert.match(missing.body.error.message, /GET \/nope/);
  });

  it('serves /metrics, behind a bearer token when METRICS_TOKEN is set', async () => {
    const open = await request(app.express).get('/metrics');
    assert.equal(open.status, 200);
    assert.match(String(open.headers['content-type']), /text\/plain; version=0\.0\.4/);
    assert.match(open.text, /^whatsapp_database_up 1$/m);
    assert.match(open.text, /^process_cpu_seconds_total /m);

    const guarded = testApp(db.database, { METRICS_TOKEN: 'scrape-me' });
    assert.equal((await request(guarded.express).get('/metrics')).status, 401);
    assert.equal((await request(guarded.express).get('/metrics').set('Authorization', 'Bearer wrong')).status, 401);
    assert.equal((await request(guarded.express).get('/metrics').set('Authorization', 'Bearer scrape-me')).status, 200);
  });

  it('answers 503 to webhooks until migrations are applied', async () => {
    const notReady = testApp(db.database, {}, () => false);
    const res = await post(notReady, inbound('4915166600001', 'X', [textMessage('4915166600001', 'hi')]));
    assert.equal(res.status, 503);
    assert.equal(res.headers['retry-after'], '30');
  });
});

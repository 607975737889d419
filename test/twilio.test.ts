/**
 * Twilio at POST /webhooks/twilio: Twilio's published signature test vectors; inbound WhatsApp
 * messages and status callbacks in Twilio's form encoding (and the JSON bodySHA256 variant)
 * stored as the same domain rows Meta's webhooks give; forged, unsigned, malformed and replayed
 * requests refused or ignored, each counted by outcome.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import request from 'supertest';
import type { App } from '../src/app.ts';
import { loadConfig } from '../src/config/config.ts';
import { EMPTY_TWIML } from '../src/ingest/twilio/adapter.ts';
import { bodySha256, formParams, signedText, twilioSignature, urlVariants, verifyTwilioRequest } from '../src/ingest/twilio/signature.ts';
import { changes, metricValue, testApp, webhookOutcomes } from './support/app.ts';
import { createTestDatabase, type TestDatabase } from './support/database.ts';
import { inbound, signed, textMessage } from './support/meta.ts';
import { fixture, PUBLIC_URL, postTwilio, postTwilioJson, TWILIO_NUMBER, TWILIO_SETTINGS, TWILIO_TOKEN } from './support/twilio.ts';

let db: TestDatabase;
let app: App;
before(async () => {
  db = await createTestDatabase();
  app = testApp(db.database, TWILIO_SETTINGS);
});
after(() => db.drop());

const query = async <T = Record<string, unknown>>(sql: string, params: unknown[] = []) =>
  (await db.database.query<T & object>(sql, params)).rows;
const outcomes = (target = app) => webhookOutcomes(target, 'twilio');

describe("Twilio's signature", () => {
  // Twilio's published vectors (twilio-php and twilio-csharp RequestValidatorTest).
  const url = 'https://mycompany.com/myapp.php?foo=1&bar=2';
  const params = { CallSid: 'CA1234567890ABCDE', Caller: '+14158675309', Digits: '1234', From: '+14158675309', To: '+18005551212' };
  const json = '{"property": "value", "boolean": true}';

  it('reproduces every published test vector', () => {
    assert.equal(
      signedText(url, params),
      'https://mycompany.com/myapp.php?foo=1&bar=2CallSidCA1234567890ABCDECaller+14158675309Digits1234From+14158675309To+18005551212',
    );
    assert.equal(twilioSignature('12345', url, params), 'RSOYDt4T1cUTdK1PDd93/VVr8B8=');
    assert.equal(twilioSignature('12345', 'https://mycompany.com:443/myapp.php?foo=1&bar=2', params), 'kvajT1Ptam85bY51eRf/AJRuM3w=');
    assert.equal(twilioSignature('12345', 'https://MyCompany.com/myapp.php?foo=1&bar=2', params), 'g9IN/x4Cft2g517EjYvEvM/W7LU=');
    assert.equal(twilioSignature('12345', 'http://mycompany.com:1234/myapp.php?foo=1&bar=2', params), 'Zmvh+3yNM1Phv2jhDCwEM3q5ebU=');
    assert.equal(
      twilioSignature('12345', url, { Sid: 'CA123', SidAccount: 'AC123', Digits: ['5678', '1234', '1234'] }),
      'IK+Dwps556ElfBT0I3Rgjkr1wJU=',
    );
    const hash = bodySha256(json);
    assert.equal(hash, '0a1ff7634d9ab3b95db5c9a2dfe9416e41502b283a80c7cf19632632f96e6620');
    assert.equal(twilioSignature('12345', `${url}&bodySHA256=${hash}`, {}), 'a9nBmqA0ju/hNViExpshrM61xv4=');
    assert.equal(twilioSignature('12345', `https://mycompany.com/myapp.php?bodySHA256=${hash}`, {}), 'y77kIzt2vzLz71DgmJGsen2scGs=');
    // The WhatsApp status callback vector of the research notes, from the decoded form body.
    assert.equal(
      twilioSignature('12345', 'https://hooks.example.com/twilio/status', formParams(fixture('status-read.form'))),
      'UwV6wkvAjUCdxqBPc0f72erBrBQ=',
    );
  });

  const verify = (request: Partial<Parameters<typeof verifyTwilioRequest>[1]>, sharedKeys: string[] = []) =>
    verifyTwilioRequest(
      { authTokens: ['12345'], sharedKeys },
      { url, body: Buffer.from(new URLSearchParams(params).toString()), signature: undefined, signatureSettings: undefined, ...request },
    );

  it('accepts the vectors as requests, with or without the default port, and refuses anything changed', () => {
    assert.equal(verify({ signature: 'RSOYDt4T1cUTdK1PDd93/VVr8B8=' }), undefined);
    assert.equal(verify({ signature: 'kvajT1Ptam85bY51eRf/AJRuM3w=' }), undefined, 'Twilio sometimes signs with :443');
    assert.equal(verify({ url: 'https://mycompany.com:443/myapp.php?foo=1&bar=2', signature: 'RSOYDt4T1cUTdK1PDd93/VVr8B8=' }), undefined);
    assert.deepEqual(urlVariants('http://mycompany.com:1234/a?b=1'), ['http://mycompany.com:1234/a?b=1', 'http://mycompany.com/a?b=1']);
    assert.equal(verify({}), 'missing X-Twilio-Signature header');
    assert.match(verify({ signature: 'RSOYDt4T1cUTdK1PDd93/VVr8B9=' })!, /does not match/);
    assert.match(verify({ signature: 'g9IN/x4Cft2g517EjYvEvM/W7LU=' })!, /does not match/, 'the host as signed, not lower-cased');
    const tampered = Buffer.from(new URLSearchParams({ ...params, Digits: '1235' }).toString());
    assert.match(verify({ body: tampered, signature: 'RSOYDt4T1cUTdK1PDd93/VVr8B8=' })!, /does not match/);
    const extra = Buffer.from(new URLSearchParams({ ...params, Extra: '' }).toString());
    assert.match(verify({ body: extra, signature: 'RSOYDt4T1cUTdK1PDd93/VVr8B8=' })!, /does not match/, 'every parameter is signed');
  });

  it('checks the JSON variant: the URL with bodySHA256 is signed, and the hash must be the body’s', () => {
    const hash = bodySha256(json);
    const jsonUrl = `${url}&bodySHA256=${hash}`;
    assert.equal(verify({ url: jsonUrl, body: Buffer.from(json), signature: 'a9nBmqA0ju/hNViExpshrM61xv4=' }), undefined);
    assert.equal(
      verify({ url: jsonUrl, body: Buffer.from(json.replace('true', 'false')), signature: 'a9nBmqA0ju/hNViExpshrM61xv4=' }),
      'bodySHA256 in the URL does not match the body',
    );
  });

  it('verifies shared-key signatures (HMAC-SHA256) only with TWILIO_WEBHOOK_SHARED_KEYS, and rotated auth tokens', () => {
    const sha256 = twilioSignature('shared-secret', url, params, 'sha256');
    const settings = 'key=KS0123,algorithm=HMAC_SHA256';
    assert.equal(verify({ signature: sha256, signatureSettings: settings }, ['old-shared', 'shared-secret']), undefined);
    assert.match(verify({ signature: sha256, signatureSettings: settings })!, /TWILIO_WEBHOOK_SHARED_KEYS is not set/);
    assert.match(verify({ signature: 'RSOYDt4T1cUTdK1PDd93/VVr8B8=', signatureSettings: settings }, ['shared-secret'])!, /does not match/);
    assert.match(
      verify({ signature: sha256, signatureSettings: 'key=KS0123,algorithm=MD5' }, ['shared-secret'])!,
      /no supported algorithm/,
    );
    const rotated = verifyTwilioRequest(
      { authTokens: ['new-token', '12345'], sharedKeys: [] },
      {
        url,
        body: Buffer.from(new URLSearchParams(params).toString()),
        signature: 'RSOYDt4T1cUTdK1PDd93/VVr8B8=',
        signatureSettings: undefined,
      },
    );
    assert.equal(rotated, undefined);
  });
});

describe('POST /webhooks/twilio', () => {
  it('stores an inbound WhatsApp message under the customer and business digits, and answers with empty TwiML', async () => {
    const before = await outcomes();
    const res = await postTwilio(app, fixture('inbound-text.form'));
    assert.equal(res.status, 200, res.text);
    assert.match(res.headers['content-type'] ?? '', /^text\/xml/);
    assert.equal(res.text, EMPTY_TWIML);
    const [row] = await query(
      `SELECT provider, source, phone_number_id, contact_wa_id, direction, sender, type, text_body, is_request
         FROM messages WHERE wamid = 'SMa1b2c3d4e5f60718293a4b5c6d7e8f90'`,
    );
    assert.deepEqual(row, {
      provider: 'twilio',
      source: 'webhook',
      phone_number_id: TWILIO_NUMBER,
      contact_wa_id: '4915112345678',
      direction: 'inbound',
      sender: 'customer',
      type: 'text',
      text_body: 'Hallo, meine Bestellung fehlt 😞',
      is_request: true,
    });
    assert.deepEqual(await query(`SELECT profile_name FROM contacts WHERE wa_id = '4915112345678'`), [{ profile_name: 'Max Müller' }]);
    assert.deepEqual(
      await query(`SELECT display_phone_number, waba_id FROM business_numbers WHERE phone_number_id = $1`, [TWILIO_NUMBER]),
      [{ display_phone_number: TWILIO_NUMBER, waba_id: 'AC00000000000000000000000000000000' }],
    );
    const [conversation] = await query(`SELECT status FROM conversations WHERE phone_number_id = $1 AND contact_wa_id = '4915112345678'`, [
      TWILIO_NUMBER,
    ]);
    assert.equal(conversation?.status, 'open');
    assert.deepEqual(changes(before, await outcomes()), { accepted: 1 });
  });

  it('reads media, button and location messages as Meta names their types', async () => {
    for (const name of ['inbound-image.form', 'inbound-button.form', 'inbound-location.form'])
      assert.equal((await postTwilio(app, fixture(name))).status, 200, name);
    const rows = await query<{ wamid: string; type: string; text_body: string | null; context_wamid: string | null }>(
      `SELECT wamid, type, text_body, context_wamid FROM messages WHERE wamid = ANY($1) ORDER BY wamid`,
      [['MMb1b2c3d4e5f60718293a4b5c6d7e8f91', 'SMc1b2c3d4e5f60718293a4b5c6d7e8f92', 'SMd1b2c3d4e5f60718293a4b5c6d7e8f93']],
    );
    assert.deepEqual(rows, [
      { wamid: 'MMb1b2c3d4e5f60718293a4b5c6d7e8f91', type: 'image', text_body: 'Beschädigt', context_wamid: null },
      {
        wamid: 'SMc1b2c3d4e5f60718293a4b5c6d7e8f92',
        type: 'button',
        text_body: 'Sehr gut',
        context_wamid: 'SM00000000000000000000000000000042',
      },
      { wamid: 'SMd1b2c3d4e5f60718293a4b5c6d7e8f93', type: 'location', text_body: 'Berlin', context_wamid: null },
    ]);
  });

  it('maps status callbacks onto sent, delivered, read and failed, each once per (MessageSid, status)', async () => {
    const sid = 'SM0123456789abcdef0123456789abcdef';
    const before = await outcomes();
    const failedBefore = await metricValue(app, 'whatsapp_message_failures_total');
    for (const name of ['status-sent.form', 'status-delivered.form', 'status-read.form', 'status-undelivered.form'])
      assert.equal((await postTwilio(app, fixture(name))).status, 200, name);
    assert.deepEqual(
      await query(`SELECT wamid, status, error_codes, recipient_id FROM message_statuses WHERE wamid = ANY($1) ORDER BY wamid, status`, [
        [sid, 'SM9876543210fedcba9876543210fedcba'],
      ]),
      [
        { wamid: sid, status: 'delivered', error_codes: [], recipient_id: '4915112345678' },
        { wamid: sid, status: 'read', error_codes: [], recipient_id: '4915112345678' },
        { wamid: sid, status: 'sent', error_codes: [], recipient_id: '4915112345678' },
        // undelivered is a failure; its To names the customer although ChannelToAddress is masked.
        { wamid: 'SM9876543210fedcba9876543210fedcba', status: 'failed', error_codes: [63016], recipient_id: '4915112345678' },
      ],
    );
    const [message] = await query(`SELECT direction, source, sender, phone_number_id, contact_wa_id FROM messages WHERE wamid = $1`, [sid]);
    assert.deepEqual(message, {
      direction: 'outbound',
      source: 'status',
      sender: 'unknown',
      phone_number_id: TWILIO_NUMBER,
      contact_wa_id: '4915112345678',
    });
    assert.equal((await metricValue(app, 'whatsapp_message_failures_total')) - failedBefore, 1);

    // Twilio retries a callback it thinks failed: the same status again is a duplicate, answered with TwiML too.
    const again = await postTwilio(app, fixture('status-delivered.form'));
    assert.equal(again.status, 200);
    assert.equal(again.text, EMPTY_TWIML);
    // A redelivery with another parameter added (Twilio adds parameters without notice) is recognised by its MessageSid and status.
    assert.equal((await postTwilio(app, `${fixture('status-read.form')}&NewParameter=1`)).status, 200);
    assert.deepEqual(changes(before, await outcomes()), { accepted: 4, duplicate: 2 });
    assert.equal((await query(`SELECT count(*)::int AS n FROM message_statuses WHERE wamid = $1`, [sid]))[0]!.n, 3);
  });

  it('accepts upper-case statuses, masked numbers and missing optional parameters, and ignores non-WhatsApp channels and pre-send states', async () => {
    assert.equal((await postTwilio(app, fixture('status-masked-uppercase.form'))).status, 200);
    assert.deepEqual(
      await query(`SELECT status, recipient_id FROM message_statuses WHERE wamid = 'SMe1b2c3d4e5f60718293a4b5c6d7e8f94'`),
      [{ status: 'delivered', recipient_id: null }],
      'a masked ChannelToAddress is no customer',
    );
    for (const name of ['sms-inbound.form', 'status-queued.form']) {
      const res = await postTwilio(app, fixture(name));
      assert.equal(res.status, 200, name);
      assert.equal(res.text, EMPTY_TWIML);
    }
    assert.deepEqual(
      await query(`SELECT wamid FROM messages WHERE wamid IN ('SMf1b2c3d4e5f60718293a4b5c6d7e8f95', 'SMf2b2c3d4e5f60718293a4b5c6d7e8f96')`),
      [],
    );
  });

  it('reads the JSON variant (bodySHA256) and Event Streams deliveries', async () => {
    const json = fixture('eventstreams-delivered.json');
    const res = await postTwilioJson(app, json);
    assert.equal(res.status, 200, res.text);
    const [status] = await query<{ status: string; occurred_at: Date; recipient_id: string }>(
      `SELECT status, occurred_at, recipient_id FROM message_statuses WHERE wamid = 'SMa7b2c3d4e5f60718293a4b5c6d7e8f97'`,
    );
    assert.deepEqual(status, { status: 'delivered', occurred_at: new Date('2026-11-20T09:15:04.000Z'), recipient_id: '4915112345678' });
    const forged = await postTwilioJson(app, json.replace('DELIVERED', 'READ'), { hash: bodySha256(json) });
    assert.equal(forged.status, 401);
    assert.match(forged.body.error.message, /bodySHA256 in the URL does not match the body/);
  });

  it('takes who sent a message from its StatusCallback URL (?attribution=agent:<id> or bot), signed with it', async () => {
    const sid = 'SMb0000000000000000000000000000001';
    const params = Object.fromEntries(new URLSearchParams(fixture('status-sent.form')));
    const res = await postTwilio(app, { ...params, MessageSid: sid, SmsSid: sid }, { path: '/webhooks/twilio?attribution=agent%3Aalice' });
    assert.equal(res.status, 200, res.text);
    assert.deepEqual(await query(`SELECT sender, agent_id FROM messages WHERE wamid = $1`, [sid]), [
      { sender: 'agent', agent_id: 'alice' },
    ]);
    // The query is part of what Twilio signs: the same signature on another URL is refused.
    const signature = twilioSignature(TWILIO_TOKEN, `${PUBLIC_URL}/webhooks/twilio?attribution=bot`, {
      ...params,
      MessageSid: sid,
      SmsSid: sid,
    });
    const moved = await postTwilio(
      app,
      { ...params, MessageSid: sid, SmsSid: sid },
      { path: '/webhooks/twilio?attribution=agent%3Aeve', signature },
    );
    assert.equal(moved.status, 401);
  });

  it('refuses forged and unsigned requests, and requests signed for another PUBLIC_URL, counting each', async () => {
    const before = await outcomes();
    const body = fixture('inbound-text.form').replaceAll('SMa1b2c3d4e5f60718293a4b5c6d7e8f90', 'SMforged00000000000000000000000001');
    const unsigned = await postTwilio(app, body, { signature: null });
    assert.equal(unsigned.status, 401);
    assert.deepEqual(unsigned.body, { error: { code: 'unauthorized', message: 'missing X-Twilio-Signature header' } });
    assert.equal((await postTwilio(app, body, { token: 'not-the-auth-token' })).status, 401);
    assert.equal((await postTwilio(app, body, { publicUrl: 'http://exporter.example.com' })).status, 401);
    const signedOther = twilioSignature(TWILIO_TOKEN, `${PUBLIC_URL}/webhooks/twilio`, formParams(fixture('inbound-text.form')));
    assert.equal((await postTwilio(app, body, { signature: signedOther })).status, 401, 'a signature of another body');
    assert.deepEqual(await query(`SELECT wamid FROM messages WHERE wamid = 'SMforged00000000000000000000000001'`), []);
    assert.deepEqual(changes(before, await outcomes()), { rejected_signature: 4 });
  });

  it('answers 400 naming the problem for a signed body that is not a Twilio message, and keeps it for replay', async () => {
    const before = await outcomes();
    const noSid = await postTwilio(app, { From: 'whatsapp:+4915112345678', To: 'whatsapp:+14155238886', Body: 'hi' });
    assert.equal(noSid.status, 400);
    assert.equal(noSid.body.error.message, 'not a Twilio messaging webhook: MessageSid is missing');
    const noKind = await postTwilio(app, { MessageSid: 'SMx0000000000000000000000000000001', AccountSid: 'AC1' });
    assert.equal(noKind.status, 400);
    assert.match(noKind.body.error.message, /neither a MessageStatus nor an inbound message/);
    const noCustomer = await postTwilio(app, {
      MessageSid: 'SMx0000000000000000000000000000002',
      SmsStatus: 'received',
      Body: 'hi',
      To: 'whatsapp:+14155238886',
      From: 'whatsapp:',
    });
    assert.equal(noCustomer.status, 400);
    assert.match(noCustomer.body.error.message, /From is not the customer's whatsapp/);
    const hugeSid = await postTwilio(app, {
      ...Object.fromEntries(new URLSearchParams(fixture('status-read.form'))),
      MessageSid: `SM${'f'.repeat(3000)}`,
    });
    assert.equal(hugeSid.status, 400);
    assert.equal(hugeSid.body.error.message, 'not a Twilio messaging webhook: MessageSid: at most 200 characters');
    const badJson = await request(app.express)
      .post(`/webhooks/twilio?bodySHA256=${bodySha256('{nope')}`)
      .set('Content-Type', 'application/json')
      .set('X-Twilio-Signature', twilioSignature(TWILIO_TOKEN, `${PUBLIC_URL}/webhooks/twilio?bodySHA256=${bodySha256('{nope')}`, {}))
      .send('{nope');
    assert.equal(badJson.status, 400);
    assert.match(badJson.body.error.message, /^body is not valid JSON/);
    const kept = await query<{ n: number }>(
      `SELECT count(*)::int AS n FROM webhook_deliveries WHERE provider = 'twilio' AND outcome = 'rejected'`,
    );
    assert.equal(kept[0]!.n, 4, 'the signed form bodies are kept for replay');
    assert.deepEqual(changes(before, await outcomes()), { rejected_payload: 5 });
  });

  it('makes a customer one person whichever provider reports them', async () => {
    const customer = '4915177777777';
    const meta = signed(inbound(customer, 'Clara', [textMessage(customer, 'Hallo über Meta')]));
    const viaMeta = await request(app.express)
      .post('/webhooks/whatsapp')
      .set('Content-Type', 'application/json')
      .set('X-Hub-Signature-256', meta.signature)
      .send(meta.body);
    assert.equal(viaMeta.status, 200);
    const params = Object.fromEntries(new URLSearchParams(fixture('inbound-text.form')));
    const sid = 'SMc0000000000000000000000000000077';
    const viaTwilio = await postTwilio(app, {
      ...params,
      MessageSid: sid,
      SmsMessageSid: sid,
      SmsSid: sid,
      From: `whatsapp:+${customer}`,
      WaId: customer,
    });
    assert.equal(viaTwilio.status, 200);
    assert.deepEqual(await query(`SELECT provider, contact_wa_id FROM messages WHERE contact_wa_id = $1 ORDER BY provider`, [customer]), [
      { provider: 'meta', contact_wa_id: customer },
      { provider: 'twilio', contact_wa_id: customer },
    ]);
    assert.equal((await query<{ n: number }>(`SELECT count(*)::int AS n FROM contacts WHERE wa_id = $1`, [customer]))[0]!.n, 1);
  });

  it('is off (404) without TWILIO_AUTH_TOKEN, and its settings are checked', async () => {
    const off = testApp(db.database);
    const res = await request(off.express).post('/webhooks/twilio').type('form').send('MessageSid=SM1');
    assert.equal(res.status, 404);
    const required = { WHATSAPP_APP_SECRET: 's', WHATSAPP_VERIFY_TOKEN: 'v', EVENTS_API_TOKEN: 'e' };
    const errors = (env: Record<string, string>) => {
      const result = loadConfig({ ...required, ...env });
      return result.ok ? [] : result.errors;
    };
    assert.deepEqual(errors({ TWILIO_AUTH_TOKEN: 't' }), [
      'PUBLIC_URL: required when TWILIO_AUTH_TOKEN is set — Twilio signs the public URL it calls',
    ]);
    assert.deepEqual(errors({ TWILIO_WEBHOOK_SHARED_KEYS: 'k' }), [
      'TWILIO_WEBHOOK_SHARED_KEYS: needs TWILIO_AUTH_TOKEN — the Twilio endpoint is on only with the auth token',
    ]);
    assert.deepEqual(errors({ TWILIO_AUTH_TOKEN: 't', PUBLIC_URL: 'exporter.example.com' }), ['PUBLIC_URL: not an http(s) URL']);
    assert.deepEqual(errors({ TWILIO_AUTH_TOKEN: 'change-me-twilio', PUBLIC_URL: PUBLIC_URL }), [
      'TWILIO_AUTH_TOKEN: "change-me-twilio" is a placeholder, not a secret — set a real value (e.g. openssl rand -hex 24)',
    ]);
    assert.deepEqual(errors({ ...TWILIO_SETTINGS, TWILIO_WEBHOOK_SHARED_KEYS: 'a,b' }), []);
  });
});

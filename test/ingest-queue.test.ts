/**
 * WEBHOOK_ACK=stored (the default): a Meta webhook is answered once its body is stored in the
 * ingest queue, and applied right behind the answer — exactly once, whatever stops the exporter
 * in between; a body that cannot be applied is kept for replay and does not hold back others.
 * And the plain-HTTP path those webhooks take (ingest/fast-path.ts) answers as Express would.
 */
import assert from 'node:assert/strict';
import type { AddressInfo } from 'node:net';
import net from 'node:net';
import { after, before, describe, it } from 'node:test';
import request from 'supertest';
import { createHttpServer, listen } from '../src/http/server.ts';
import { signBody } from '../src/ingest/meta/signature.ts';
import { sha256 } from '../src/storage/webhook-store.ts';
import { metricValue, sample, scrape, testApp } from './support/app.ts';
import { createTestDatabase, type TestDatabase } from './support/database.ts';
import { APP_SECRET, inbound, signed, status, statuses, textMessage, wamid } from './support/meta.ts';
import { killLeftoverExporters, runExporter, stopExporter, waitForOutput } from './support/process.ts';

let db: TestDatabase;
before(async () => {
  db = await createTestDatabase();
});
after(async () => {
  killLeftoverExporters();
  await db.drop();
});

const stored = () => testApp(db.database, { WEBHOOK_ACK: 'stored' });

function post(handler: Parameters<typeof request>[0], payload: unknown, signature?: string) {
  const { body, signature: valid } = signed(payload);
  return request(handler)
    .post('/webhooks/whatsapp')
    .set('Content-Type', 'application/json')
    .set('X-Hub-Signature-256', signature ?? valid)
    .send(body);
}

async function messageCount(id: string): Promise<number> {
  const { rows } = await db.database.query<{ n: number }>('SELECT count(*)::int AS n FROM messages WHERE wamid = $1', [id]);
  return rows[0]!.n;
}

/** Puts a body in the queue as a replica that stopped before applying it would have left it. */
async function leftInQueue(body: string, secondsAgo: number): Promise<void> {
  await db.database.query(
    `INSERT INTO ingest_queue (provider, body_sha256, body, queued_at) VALUES ('meta', $1, $2, now() - make_interval(secs => $3))`,
    [sha256(body), body, secondsAgo],
  );
}

describe('webhooks answered once stored, applied right behind', () => {
  it('answers accepted, then applies: the message, its conversation and its count appear once', async () => {
    const app = stored();
    const from = '4915100040001';
    const id = wamid('queue-1');
    const res = await post(app.handler, inbound(from, 'Kim', [textMessage(from, 'Wo bleibt mein Paket?', new Date(), id)]));
    assert.equal(res.status, 200);
    assert.deepEqual(res.body, { status: 'accepted' });
    await app.ingestQueue.idle();
    assert.equal(await messageCount(id), 1);
    const { rows } = await db.database.query('SELECT 1 FROM conversations WHERE contact_wa_id = $1', [from]);
    assert.equal(rows.length, 1);
    assert.equal(await metricValue(app, 'whatsapp_messages_total', { direction: 'inbound' }), 1);
    assert.equal(await metricValue(app, 'whatsapp_webhook_requests_total', { provider: 'meta', outcome: 'accepted' }), 1);
    const { rows: queue } = await db.database.query('SELECT count(*)::int AS n FROM ingest_queue');
    assert.equal(queue[0]!.n, 0, 'the queue row goes with the apply');
  });

  it('answers an identical redelivery duplicate, while it waits and after it was applied, and applies it once', async () => {
    const app = stored();
    const from = '4915100040002';
    const id = wamid('queue-2');
    const payload = inbound(from, 'Kim', [textMessage(from, 'Rechnung doppelt?', new Date(), id)]);
    const answers = await Promise.all([post(app.handler, payload), post(app.handler, payload), post(app.handler, payload)]);
    assert.deepEqual(answers.map((r) => r.body.status).sort(), ['accepted', 'duplicate', 'duplicate']);
    await app.ingestQueue.idle();
    const later = await post(app.handler, payload);
    assert.deepEqual(later.body, { status: 'duplicate' });
    await app.ingestQueue.idle();
    assert.equal(await messageCount(id), 1);
    assert.equal(await metricValue(app, 'whatsapp_messages_total', { direction: 'inbound' }), 1);
    assert.equal(await metricValue(app, 'whatsapp_webhook_requests_total', { provider: 'meta', outcome: 'duplicate' }), 3);
  });

  it('recognises a body sent with bytes that are not UTF-8 when it comes again as the text that was stored', async () => {
    const app = stored();
    const from = '4915100040009';
    const text = JSON.stringify(inbound(from, 'Kim', [textMessage(from, 'Preis: MARK', new Date(), wamid('queue-utf8'))]));
    // 0xFF is never UTF-8: it is stored (and hashed) as U+FFFD, like the cleaned copy below.
    const [head, tail] = text.split('MARK') as [string, string];
    const raw = Buffer.concat([Buffer.from(head), Buffer.from([0xff]), Buffer.from(tail)]);
    const cleaned = Buffer.from(text.replace('MARK', '\uFFFD'));
    const server = createHttpServer(app.handler);
    await listen(server, 0, '127.0.0.1');
    const { port } = server.address() as AddressInfo;
    const send = async (body: Buffer) => {
      const res = await fetch(`http://127.0.0.1:${port}/webhooks/whatsapp`, {
        method: 'POST',
        body,
        headers: { 'Content-Type': 'application/json', 'X-Hub-Signature-256': signBody(APP_SECRET, body) },
      });
      return res.json();
    };
    try {
      assert.deepEqual(await send(raw), { status: 'accepted' });
      assert.deepEqual(await send(cleaned), { status: 'duplicate' });
      await app.ingestQueue.idle();
      assert.deepEqual(await send(raw), { status: 'duplicate' });
    } finally {
      server.close();
    }
  });

  it('applies what a stopped replica left in the queue once, counts it once, and reports the backlog until then', async () => {
    const app = stored();
    const from = '4915100040003';
    const id = wamid('queue-3');
    const { body } = signed(inbound(from, 'Kim', [textMessage(from, 'Hallo?', new Date(), id)]));
    await leftInQueue(body, 90);

    const before = await scrape(app);
    assert.equal(sample(before, 'whatsapp_ingest_backlog_webhooks'), 1);
    assert.ok((sample(before, 'whatsapp_ingest_lag_seconds') ?? 0) >= 90, 'the oldest waiting webhook is 90 s old');
    assert.equal(await app.ingestQueue.sweep(60_000), 1);
    assert.equal(await app.ingestQueue.sweep(0), 0, 'nothing left to apply');
    assert.equal(await messageCount(id), 1);
    const { rows: delivered } = await db.database.query<{ waited: number }>(
      'SELECT extract(epoch FROM now() - received_at)::float8 AS waited FROM webhook_deliveries WHERE body_sha256 = $1',
      [sha256(body)],
    );
    assert.ok(delivered[0]!.waited >= 90, 'the delivery keeps the time it arrived, not the time it was applied');
    // Scrapes within a second share one collector run.
    await new Promise((r) => setTimeout(r, 1_100));
    const afterSweep = await scrape(app);
    assert.equal(sample(afterSweep, 'whatsapp_ingest_backlog_webhooks'), 0);
    assert.equal(sample(afterSweep, 'whatsapp_ingest_lag_seconds'), 0);
    assert.equal(await metricValue(app, 'whatsapp_messages_total', { direction: 'inbound' }), 1);

    // A redelivery after it was applied is recognised as such.
    const res = await post(app.handler, JSON.parse(body));
    assert.deepEqual(res.body, { status: 'duplicate' });
  });

  it('leaves younger rows to the replica that queued them: a sweep takes only rows older than its age', async () => {
    const app = stored();
    const from = '4915100040004';
    const { body } = signed(inbound(from, 'Kim', [textMessage(from, 'Noch da?', new Date(), wamid('queue-4'))]));
    await leftInQueue(body, 5);
    assert.equal(await app.ingestQueue.sweep(60_000), 0);
    assert.equal(await app.ingestQueue.sweep(1_000), 1);
  });

  it('keeps a body that cannot be applied as a rejected delivery, counts it, and applies the others of its group', async () => {
    const app = stored();
    const from = '4915100040005';
    const good = wamid('queue-5');
    const { body: goodBody } = signed(inbound(from, 'Kim', [textMessage(from, 'Alles gut', new Date(), good)]));
    // Stored by an older version that accepted it; this one's parser refuses it.
    const badBody = JSON.stringify({ object: 'whatsapp_business_account', entry: [{ id: 'waba', changes: 'not a list' }] });
    // Not JSON at all: the intake refuses such bodies, but a row put there some other way must leave the queue too.
    const notJson = '{"object": "whatsapp_business_account", "entry": [';
    await leftInQueue(badBody, 120);
    await leftInQueue(notJson, 120);
    await leftInQueue(goodBody, 120);
    assert.equal(await app.ingestQueue.sweep(60_000), 3);
    assert.equal(await messageCount(good), 1);
    const { rows } = await db.database.query<{ outcome: string; error: string }>(
      'SELECT outcome, error FROM webhook_deliveries WHERE body_sha256 = $1',
      [sha256(badBody)],
    );
    assert.equal(rows[0]?.outcome, 'rejected');
    assert.match(rows[0]!.error, /changes/);
    const { rows: kept } = await db.database.query<{ outcome: string; payload: unknown }>(
      'SELECT outcome, payload FROM webhook_deliveries WHERE body_sha256 = $1',
      [sha256(notJson)],
    );
    assert.deepEqual(kept, [{ outcome: 'rejected', payload: notJson }], 'kept as a JSON string, for replay');
    assert.equal(await metricValue(app, 'whatsapp_webhook_apply_failures_total', { provider: 'meta' }), 2);
    const { rows: queue } = await db.database.query('SELECT count(*)::int AS n FROM ingest_queue');
    assert.equal(queue[0]!.n, 0);
  });

  it('answers after the apply with WEBHOOK_ACK=applied: duplicate for a new body whose every item was known', async () => {
    const app = testApp(db.database, { WEBHOOK_ACK: 'applied' });
    const from = '4915100040006';
    const id = wamid('queue-6');
    const message = textMessage(from, 'Einmal bitte', new Date(), id);
    assert.deepEqual((await post(app.handler, inbound(from, 'Kim', [message]))).body, { status: 'accepted' });
    assert.equal(await messageCount(id), 1, 'stored when answered');
    // Another envelope (another name) around the same message: only an apply can tell.
    assert.deepEqual((await post(app.handler, inbound(from, 'Kim K.', [message]))).body, { status: 'duplicate' });
  });

  it('applies what is left in the queue when the program starts', async () => {
    const from = '4915100040007';
    const id = wamid('queue-7');
    const { body } = signed(inbound(from, 'Kim', [textMessage(from, 'Nach dem Neustart', new Date(), id)]));
    await leftInQueue(body, 1);
    const exporter = await runExporter({
      DATABASE_URL: db.url!,
      WHATSAPP_APP_SECRET: APP_SECRET,
      WHATSAPP_VERIFY_TOKEN: 'v',
      EVENTS_API_TOKEN: 'events',
      LOG_LEVEL: 'info',
    });
    try {
      const LEFT_OVER = /"webhooks":1,"msg":"applied stored webhooks left from before the start"/;
      assert.match(await waitForOutput(exporter, LEFT_OVER), LEFT_OVER);
      assert.equal(await messageCount(id), 1);
    } finally {
      assert.equal(await stopExporter(exporter), 0);
    }
  });
});

describe('the plain-HTTP path of Meta webhooks', () => {
  const payload = () => statuses(status(wamid('fast'), 'delivered'));

  it('answers as the Express route does: status, body, security headers and request id', async () => {
    const app = stored();
    const viaExpress = await post(app.express, payload());
    const viaHandler = await post(app.handler, payload());
    for (const res of [viaExpress, viaHandler]) {
      assert.equal(res.status, 200);
      assert.deepEqual(res.body, { status: 'accepted' });
      assert.match(String(res.headers['content-type']), /^application\/json; charset=utf-8/);
      assert.equal(res.headers['x-content-type-options'], 'nosniff');
      assert.equal(res.headers['cache-control'], 'no-store');
      assert.match(String(res.headers['x-request-id']), /^[0-9a-f-]{36}$/);
    }
    const named = await post(app.handler, payload()).set('X-Request-Id', 'trace-42');
    assert.equal(named.headers['x-request-id'], 'trace-42');
    await app.ingestQueue.idle();
  });

  it('refuses a wrong signature (401), counts it, and answers 429 after repeated failures', async () => {
    const app = testApp(db.database, { WEBHOOK_ACK: 'stored' });
    const wrong = `sha256=${'0'.repeat(64)}`;
    const res = await post(app.handler, payload(), wrong);
    assert.equal(res.status, 401);
    assert.equal(res.body.error.code, 'unauthorized');
    assert.equal(await metricValue(app, 'whatsapp_auth_failures_total', { endpoint: '/webhooks/whatsapp' }), 1);
    assert.equal(await metricValue(app, 'whatsapp_webhook_requests_total', { provider: 'meta', outcome: 'rejected_signature' }), 1);
    for (let i = 0; i < 9; i++) await post(app.handler, payload(), wrong);
    const limited = await post(app.handler, payload());
    assert.equal(limited.status, 429);
    assert.ok(Number(limited.headers['retry-after']) > 0);
  });

  it('answers 413 for a body over the limit, 400 for one that is not JSON, and leaves encoded bodies to Express', async () => {
    const app = stored();
    const huge = 'x'.repeat(8 * 1024 * 1024 + 1);
    const tooLarge = await request(app.handler).post('/webhooks/whatsapp').set('Content-Type', 'application/json').send(huge);
    assert.equal(tooLarge.status, 413);
    assert.equal(tooLarge.body.error.code, 'payload_too_large');
    const notJson = await request(app.handler)
      .post('/webhooks/whatsapp')
      .set('Content-Type', 'application/json')
      .set('X-Hub-Signature-256', signBody(APP_SECRET, '{oops'))
      .send('{oops');
    assert.equal(notJson.status, 400);
    assert.match(notJson.body.error.message, /not valid JSON/);
    // Another path or method is Express's (404 with the usual error body).
    const other = await request(app.handler).post('/webhooks/whatsapp/extra').send('{}');
    assert.equal(other.status, 404);
  });

  it('survives a client that goes away in the middle of a body, and answers the next one', async () => {
    const app = stored();
    const server = createHttpServer(app.handler);
    await listen(server, 0, '127.0.0.1');
    const { port } = server.address() as AddressInfo;
    try {
      const socket = net.connect(port, '127.0.0.1');
      await new Promise((r) => socket.once('connect', r));
      socket.write(
        'POST /webhooks/whatsapp HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 1000\r\n\r\n{"object":',
      );
      await new Promise((r) => setTimeout(r, 50));
      socket.destroy();
      await new Promise((r) => setTimeout(r, 50));
      const { body, signature } = signed(payload());
      const res = await fetch(`http://127.0.0.1:${port}/webhooks/whatsapp`, {
        method: 'POST',
        body,
        headers: { 'Content-Type': 'application/json', 'X-Hub-Signature-256': signature },
      });
      assert.equal(res.status, 200);
      await app.ingestQueue.idle();
    } finally {
      server.close();
    }
  });
});

/** While PostgreSQL is unreachable, webhooks get 503 + Retry-After (Meta retries), never a hang or a 500; then it recovers. */
import assert from 'node:assert/strict';
import { after, before, it } from 'node:test';
import request from 'supertest';
import type { App } from '../src/app.ts';
import { createPostgresDatabase, type Database } from '../src/storage/database.ts';
import { metricValue, postWebhook, testApp } from './support/app.ts';
import { createTestDatabase, silentLogger, type TestDatabase } from './support/database.ts';
import { inbound, textMessage } from './support/meta.ts';
import { startTcpProxy, type TcpProxy } from './support/tcp-proxy.ts';

let db: TestDatabase;
let proxy: TcpProxy;
let proxied: Database;
let app: App;

before(async () => {
  db = await createTestDatabase();
  if (!db.url) return;
  const url = new URL(db.url);
  proxy = await startTcpProxy(Number(url.port || 5432), url.hostname);
  url.hostname = '127.0.0.1';
  url.port = String(proxy.port);
  proxied = createPostgresDatabase(
    'postgres',
    { connectionString: url.toString(), max: 4, statementTimeoutMs: 1_000, connectTimeoutMs: 1_000 },
    silentLogger,
  );
  app = testApp(proxied);
});
after(async () => {
  await proxied?.close();
  await proxy?.close();
  await db.drop();
});

const post = (payload: unknown) => postWebhook(app, payload);

it('answers 503 with Retry-After while the database is down or hung, keeps what it had, and recovers', {
  skip: !process.env.DATABASE_URL && 'needs DATABASE_URL (a TCP proxy in front of PostgreSQL)',
}, async () => {
  const from = '4915177700001';
  const first = inbound(from, 'Before', [textMessage(from, 'stored before the outage')]);
  const during = inbound(from, 'During', [textMessage(from, 'sent during the outage')]);
  assert.equal((await post(first)).status, 200);

  for (const outage of ['cut', 'blackhole'] as const) {
    proxy[outage]();
    const started = Date.now();
    const res = await post(during);
    assert.equal(res.status, 503, `${outage}: ${res.text}`);
    assert.equal(res.headers['retry-after'], '30');
    assert.match(res.body.error.message, /database unavailable/);
    assert.ok(Date.now() - started < 8_000, `${outage}: answered in ${Date.now() - started} ms`);

    const ready = await request(app.express).get('/readyz');
    assert.equal(ready.status, 503);
    assert.equal(ready.body.database, 'down');
    const metrics = await request(app.express).get('/metrics');
    assert.equal(metrics.status, 200, 'a dead database never fails the scrape');
    assert.match(metrics.text, /^whatsapp_database_up 0$/m);
    assert.equal((await request(app.express).get('/healthz')).status, 200);
    proxy.restore();
  }
  assert.equal(await metricValue(app, 'whatsapp_webhook_requests_total', { outcome: 'error' }), 2);

  // Meta's retry after the outage is stored; what was stored before is still there.
  const retried = await post(during);
  assert.equal(retried.status, 200, retried.text);
  assert.deepEqual(retried.body, { status: 'accepted' });
  const { rows } = await db.database.query('SELECT text_body FROM messages WHERE contact_wa_id = $1 ORDER BY text_body', [from]);
  assert.deepEqual(
    rows.map((r) => r.text_body),
    ['sent during the outage', 'stored before the outage'],
  );
  assert.equal((await request(app.express).get('/readyz')).status, 200);
});

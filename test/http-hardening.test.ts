/**
 * The hardened surface: security headers on every answer, slow clients cut by the server's
 * timeouts, and repeated authentication failures refused with 429 per source and counted.
 */
import assert from 'node:assert/strict';
import net from 'node:net';
import { after, before, describe, it } from 'node:test';
import request from 'supertest';
import type { App } from '../src/app.ts';
import { AuthFailureLimiter, endpointLabel } from '../src/http/auth-limiter.ts';
import { timingSafeEqualText } from '../src/http/auth.ts';
import { SECURITY_HEADERS } from '../src/http/security-headers.ts';
import { createHttpServer, listen } from '../src/http/server.ts';
import { EVENTS_TOKEN, metricValue, testApp } from './support/app.ts';
import { createTestDatabase, type TestDatabase } from './support/database.ts';

let db: TestDatabase;
let app: App;
before(async () => {
  db = await createTestDatabase();
  app = testApp(db.database);
});
after(() => db.drop());

describe('security headers', () => {
  it('are on every answer: pages, probes, metrics, errors', async () => {
    for (const res of [
      await request(app.express).get('/'),
      await request(app.express).get('/healthz'),
      await request(app.express).get('/metrics'),
      await request(app.express).get('/nowhere'),
      await request(app.express).post('/webhooks/whatsapp').send('{}'),
    ]) {
      for (const [name, value] of Object.entries(SECURITY_HEADERS)) assert.equal(res.headers[name.toLowerCase()], value, name);
      assert.equal(res.headers['x-powered-by'], undefined);
    }
  });
});

describe('authentication failures', () => {
  it('are refused with 429 and Retry-After after 10 a minute from one source, even with the right token, and counted', async () => {
    const limited = testApp(db.database);
    const events = (token: string) =>
      request(limited.express).post('/api/v1/events').set('Authorization', `Bearer ${token}`).send({ id: 'x' });
    for (let i = 0; i < 10; i++) assert.equal((await events(`guess-${i}`)).status, 401);
    const refused = await events(EVENTS_TOKEN);
    assert.equal(refused.status, 429);
    assert.equal(refused.body.error.code, 'too_many_requests');
    assert.ok(Number(refused.headers['retry-after']) > 0 && Number(refused.headers['retry-after']) <= 60);
    // Other authenticated endpoints are refused too; probes are not.
    assert.equal((await request(limited.express).get('/webhooks/whatsapp')).status, 429);
    assert.equal((await request(limited.express).get('/healthz')).status, 200);
    assert.equal(await metricValue(limited, 'whatsapp_auth_failures_total', { endpoint: '/api/v1/events' }), 10);
    assert.equal(await metricValue(limited, 'whatsapp_auth_rate_limited_total', { endpoint: '/api/v1/events' }), 1);
    assert.equal(await metricValue(limited, 'whatsapp_auth_rate_limited_total', { endpoint: '/webhooks/whatsapp' }), 1);
  });

  it('counts wrong webhook signatures and verify tokens as failures', async () => {
    const limited = testApp(db.database);
    await request(limited.express)
      .post('/webhooks/whatsapp')
      .set('X-Hub-Signature-256', `sha256=${'0'.repeat(64)}`)
      .send('{}');
    await request(limited.express)
      .get('/webhooks/whatsapp')
      .query({ 'hub.mode': 'subscribe', 'hub.verify_token': 'no', 'hub.challenge': '1' });
    assert.equal(await metricValue(limited, 'whatsapp_auth_failures_total', { endpoint: '/webhooks/whatsapp' }), 2);
  });

  it('tells sources apart by X-Forwarded-For only when TRUST_PROXY says a proxy is in front', async () => {
    const behindProxy = testApp(db.database, { TRUST_PROXY: '1' });
    const from = (ip: string, token: string) =>
      request(behindProxy.express).post('/api/v1/events').set('X-Forwarded-For', ip).set('Authorization', `Bearer ${token}`).send([]);
    for (let i = 0; i < 10; i++) await from('203.0.113.7', 'wrong');
    assert.equal((await from('203.0.113.7', EVENTS_TOKEN)).status, 429);
    assert.equal((await from('198.51.100.2', EVENTS_TOKEN)).status, 400, 'another client behind the same proxy is not refused');

    const direct = testApp(db.database);
    const spoofed = (ip: string, token: string) =>
      request(direct.express).post('/api/v1/events').set('X-Forwarded-For', ip).set('Authorization', `Bearer ${token}`).send([]);
    for (let i = 0; i < 10; i++) await spoofed(`192.0.2.${i}`, 'wrong');
    assert.equal((await spoofed('192.0.2.99', EVENTS_TOKEN)).status, 429, 'without TRUST_PROXY the header cannot dodge the limit');
  });

  it('forgets a source after the window, and stays bounded in memory', () => {
    let now = 0;
    const limiter = new AuthFailureLimiter({ maxFailures: 3, windowMs: 60_000, maxSources: 100 }, () => now);
    for (let i = 0; i < 3; i++) limiter.recordFailure('a');
    assert.equal(limiter.retryAfterSeconds('a'), 60);
    now = 30_000;
    assert.equal(limiter.retryAfterSeconds('a'), 30);
    now = 60_001;
    assert.equal(limiter.retryAfterSeconds('a'), 0);
    limiter.recordFailure('a');
    assert.equal(limiter.retryAfterSeconds('a'), 0, 'a new window starts from scratch');
    for (let i = 0; i < 1_000; i++) limiter.recordFailure(`10.0.${i >> 8}.${i & 255}`);
    assert.ok(limiter.trackedSources <= 100);
  });

  it('labels endpoints without ids or secret path parts', () => {
    assert.equal(endpointLabel('/api/v1/customers/4915112345678'), '/api/v1/customers');
    assert.equal(endpointLabel('/webhooks/wati/s3cr3t'), '/webhooks/wati');
    assert.equal(endpointLabel('/webhooks/whatsapp'), '/webhooks/whatsapp');
    assert.equal(endpointLabel('/webhooks/evil'), 'other');
    assert.equal(endpointLabel('/api/v2/x'), 'other');
  });

  it('compares tokens in constant time whatever their lengths', () => {
    assert.equal(timingSafeEqualText('abc', 'abc'), true);
    assert.equal(timingSafeEqualText('abc', 'abcd'), false);
    assert.equal(timingSafeEqualText('', 'x'.repeat(10_000)), false);
  });
});

describe('server timeouts', () => {
  const timeouts = { headersMs: 300, requestMs: 600, checkIntervalMs: 50 };

  /** Opens a raw connection, writes `data`, and resolves with what the server sent before closing it. */
  async function slowClient(port: number, data: string): Promise<string> {
    const socket = net.connect(port, '127.0.0.1');
    let received = '';
    socket.on('data', (d) => (received += d));
    socket.write(data);
    await new Promise<void>((resolve) => socket.on('close', () => resolve()));
    return received;
  }

  it('answers 408 and disconnects a client that trickles its headers or its body', async () => {
    const server = createHttpServer(app.express, timeouts);
    await listen(server, 0, '127.0.0.1');
    const { port } = server.address() as net.AddressInfo;
    try {
      const headers = await slowClient(port, 'POST /api/v1/events HTTP/1.1\r\nHost: x\r\nX-Slow: ');
      assert.match(headers, /^HTTP\/1\.1 408/);
      const body = await slowClient(
        port,
        `POST /api/v1/events HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer ${EVENTS_TOKEN}\r\nContent-Type: application/json\r\nContent-Length: 1000\r\n\r\n[{"id":`,
      );
      assert.match(body, /^HTTP\/1\.1 408/);
    } finally {
      server.close();
    }
  });

  it('refuses to pretend: listening on a port in use rejects', async () => {
    const first = createHttpServer(app.express);
    await listen(first, 0, '127.0.0.1');
    const { port } = first.address() as net.AddressInfo;
    try {
      await assert.rejects(listen(createHttpServer(app.express), port, '127.0.0.1'), /EADDRINUSE/);
    } finally {
      first.close();
    }
  });
});

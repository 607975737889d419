/**
 * No personal data in logs: a database constraint error on the write path (whose `detail` holds
 * the failing row) is logged through the safe serializer, and the captured log holds neither
 * the customer's number, nor the name, nor the message text.
 */
import assert from 'node:assert/strict';
import { Writable } from 'node:stream';
import { after, before, describe, it } from 'node:test';
import request from 'supertest';
import { createApp } from '../src/app.ts';
import { createLogger, loggedPath, SuccessSampler } from '../src/logging/logger.ts';
import { maskQuoted, safeError } from '../src/logging/safe-error.ts';
import { EVENTS_TOKEN, testConfig } from './support/app.ts';
import { createTestDatabase, type TestDatabase } from './support/database.ts';
import { inbound, PHONE_NUMBER_ID, signed, textMessage } from './support/meta.ts';

const PHONE = '4915199988877';
const NAME = 'Hildegard Vertraulich';
const TEXT = 'Meine IBAN ist DE89370400440532013000, Geheimnis';

describe('safeError', () => {
  it('drops detail, where, query and parameters, and masks quoted values of database errors', () => {
    const pgError = Object.assign(new Error(`invalid input syntax for type integer: "${PHONE}"`), {
      name: 'error',
      code: '22P02',
      severity: 'ERROR',
      detail: `Failing row contains (${PHONE}, '${TEXT}').`,
      where: `PL/pgSQL function f() line 3 at SQL statement, value ${PHONE}`,
      table: 'messages',
      constraint: 'messages_check',
      query: `INSERT INTO messages VALUES ('${PHONE}')`,
      parameters: [PHONE, TEXT],
    });
    const safe = safeError(pgError);
    const text = JSON.stringify(safe);
    assert.doesNotMatch(text, new RegExp(PHONE));
    assert.doesNotMatch(text, /Geheimnis|IBAN/);
    assert.equal(safe.code, '22P02');
    assert.equal(safe.table, 'messages');
    assert.equal(safe.constraint, 'messages_check');
    assert.equal(safe.message, 'invalid input syntax for type integer: "…"');
    assert.match(safe.stack ?? '', /^error: invalid input syntax for type integer: "…"\n\s+at /);
    assert.deepEqual(safeError(safe), safe, 'idempotent');
  });

  it('follows causes, masks JSON parse errors, and says nothing about thrown non-errors', () => {
    let parseError: unknown;
    try {
      JSON.parse(`{"from": "${PHONE}" oops`);
    } catch (error) {
      parseError = error;
    }
    const wrapped = new Error('database unavailable', { cause: parseError });
    const safe = safeError(wrapped);
    assert.doesNotMatch(JSON.stringify(safe), new RegExp(PHONE));
    assert.equal(safe.cause?.type, 'SyntaxError');
    assert.deepEqual(safeError(`customer ${PHONE}`), { type: 'string', message: 'non-error value thrown (string)' });
    assert.equal(maskQuoted(`a "b\\"c" and 'd'`), `a "…" and '…'`);
  });

  it('logs paths without query strings or customer ids', () => {
    assert.equal(loggedPath('/webhooks/whatsapp?hub.verify_token=secret'), '/webhooks/whatsapp');
    assert.equal(loggedPath(`/api/v1/customers/%2B${PHONE}`), '/api/v1/customers/{wa_id}');
  });
});

describe('a constraint violation on the write path', () => {
  let db: TestDatabase;
  const lines: string[] = [];
  const sink = new Writable({
    write(chunk, _encoding, done) {
      lines.push(String(chunk));
      done();
    },
  });
  let app: ReturnType<typeof createApp>;

  before(async () => {
    db = await createTestDatabase();
    // A constraint the payload violates, so PostgreSQL reports the failing row in `detail`.
    await db.database.query(`ALTER TABLE messages ADD CONSTRAINT no_secrets CHECK (text_body NOT LIKE '%Geheimnis%')`);
    await db.database.query(`ALTER TABLE helpdesk_events ADD CONSTRAINT no_customer CHECK (contact_wa_id <> '${PHONE}')`);
    app = createApp({ config: testConfig({ LOG_LEVEL: 'debug' }), database: db.database, logger: createLogger('debug', sink) });
  });
  after(() => db.drop());

  it('answers 500 and logs the error without the number, the name or the text', async () => {
    const { body, signature } = signed(inbound(PHONE, NAME, [textMessage(PHONE, TEXT)]));
    const webhook = await request(app.express)
      .post('/webhooks/whatsapp?hub.verify_token=x')
      .set('Content-Type', 'application/json')
      .set('X-Hub-Signature-256', signature)
      .send(body);
    assert.equal(webhook.status, 500, webhook.text);

    const events = await request(app.express)
      .post('/api/v1/events')
      .set('Authorization', `Bearer ${EVENTS_TOKEN}`)
      .send({
        id: 'e-1',
        type: 'assigned',
        at: new Date().toISOString(),
        customer: `+${PHONE}`,
        phone_number_id: PHONE_NUMBER_ID,
        agent: 'a',
      });
    assert.equal(events.status, 500, events.text);

    const log = lines.join('');
    const errors = lines.map((l) => JSON.parse(l)).filter((l) => l.err);
    assert.ok(errors.length >= 2, `expected the two failures to be logged:\n${log}`);
    assert.ok(
      errors.some((l) => l.err.code === '23514' && l.err.constraint === 'no_secrets' && l.err.table === 'messages'),
      'the log still says what failed',
    );
    assert.ok(errors.some((l) => l.err.constraint === 'no_customer'));
    for (const secret of [PHONE, NAME, 'Hildegard', 'Geheimnis', 'DE89370400440532013000', 'Failing row', 'verify_token']) {
      assert.ok(!log.includes(secret), `log contains ${secret}:\n${log}`);
    }
  });
});

describe('the request log', () => {
  let db: TestDatabase;
  before(async () => {
    db = await createTestDatabase();
  });
  after(() => db.drop());
  const capture = (level: string) => {
    const lines: Record<string, unknown>[] = [];
    const sink = new Writable({
      write(chunk, _encoding, done) {
        for (const line of String(chunk).split('\n').filter(Boolean)) lines.push(JSON.parse(line));
        done();
      },
    });
    return { lines, logger: createLogger(level, sink) };
  };
  const express = (logger: ReturnType<typeof createLogger>) => createApp({ config: testConfig(), database: db.database, logger }).express;

  it('writes one line per answered request with its id, method, path without query and status; none for probes', async () => {
    const { lines, logger } = capture('info');
    const app = express(logger);
    const ok = await request(app).get('/healthz').set('X-Request-Id', 'probe-1');
    assert.equal(ok.headers['x-request-id'], 'probe-1');
    const missing = await request(app).get(`/api/v1/customers/${PHONE}?token=secret`).set('X-Request-Id', 'abc.123');
    assert.equal(missing.headers['x-request-id'], 'abc.123');
    const generated = await request(app).get('/').set('X-Request-Id', 'not a token!');
    assert.match(generated.headers['x-request-id'] ?? '', /^[0-9a-f-]{36}$/);
    const requestLines = lines.filter((l) => l.msg === 'request completed');
    assert.deepEqual(
      requestLines.map((l) => [l.level, l.req, (l.res as { statusCode: number }).statusCode >= 400]),
      [
        [40, { id: 'abc.123', method: 'GET', path: '/api/v1/customers/{wa_id}' }, true],
        [30, { id: generated.headers['x-request-id'], method: 'GET', path: '/' }, false],
      ],
    );
    assert.equal(typeof requestLines[1]?.responseTime, 'number');
    assert.ok(!JSON.stringify(lines).includes(PHONE) && !JSON.stringify(lines).includes('secret'));
  });

  it('writes at most 10 successful lines a second per path, then says how many it left out; errors always', async () => {
    const sampler = new SuccessSampler();
    const taken = Array.from({ length: 25 }, () => sampler.take('/webhooks/whatsapp', 5_000));
    assert.deepEqual(taken.slice(0, 10), Array(10).fill(0));
    assert.deepEqual(taken.slice(10), Array(15).fill(undefined));
    assert.equal(sampler.take('/metrics', 5_500), 0, 'each path has its own budget');
    assert.equal(sampler.take('/webhooks/whatsapp', 6_000), 15, 'the next second says how many were left out');
    assert.equal(sampler.take('/webhooks/whatsapp', 6_001), 0);

    // Through the app: whatever seconds the requests fall into, no second has more than 10.
    const { lines, logger } = capture('info');
    const app = createApp({ config: testConfig(), database: db.database, logger });
    for (let i = 0; i < 25; i++) await request(app.handler).get('/');
    for (let i = 0; i < 3; i++) await request(app.handler).get('/no-such-page');
    const completed = lines.filter((l) => l.msg === 'request completed');
    const perSecond = new Map<string, number>();
    for (const l of completed.filter((l) => (l.req as { path: string }).path === '/')) {
      const second = String(l.time).slice(0, 19);
      perSecond.set(second, (perSecond.get(second) ?? 0) + 1);
    }
    assert.ok(
      [...perSecond.values()].every((n) => n <= 10),
      JSON.stringify([...perSecond]),
    );
    assert.ok([...perSecond.values()].reduce((a, b) => a + b, 0) >= 10, 'the first 10 of a second are written');
    assert.equal(completed.filter((l) => (l.req as { path: string }).path === '/no-such-page').length, 3, 'client errors are not sampled');
  });

  it('leaves successful requests out at LOG_LEVEL=warn and keeps client errors', async () => {
    const { lines, logger } = capture('warn');
    const app = express(logger);
    await request(app).get('/');
    await request(app).get('/no-such-page');
    assert.deepEqual(
      lines
        .filter((l) => l.msg === 'request completed')
        .map((l) => [l.level, (l.req as { path: string }).path, (l.res as { statusCode: number }).statusCode]),
      [[40, '/no-such-page', 404]],
    );
  });
});

/** /metrics follows Prometheus conventions: `promtool check metrics` finds nothing of ours. */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { after, before, it } from 'node:test';
import { Counter, Gauge, Histogram, Registry } from 'prom-client';
import request from 'supertest';
import type { App } from '../src/app.ts';
import { expositionParts } from '../src/metrics/registry.ts';
import { openTestApp, postWebhook, sample, scrape, testApp } from './support/app.ts';
import type { TestDatabase } from './support/database.ts';
import { everyMessageType, inbound, status, statuses, wamid } from './support/meta.ts';
import { skipUnless } from './support/tools.ts';

let db: TestDatabase;
let app: App;
before(async () => ({ db, app } = await openTestApp()));
after(() => db.drop());

// prom-client's default metrics carry three gauges named *_total; that is upstream's, not ours.
const KNOWN_UPSTREAM = /^nodejs_active_(handles|requests|resources)_total non-counter metrics should not have "_total" suffix$/;

it('passes promtool check metrics after real traffic', { skip: skipUnless('promtool') }, async () => {
  const from = '4915199900001';
  for (const payload of [
    inbound(from, 'Lint', everyMessageType(from)),
    statuses(status(wamid(), 'sent'), status(wamid(), 'failed', new Date(), { errors: [{ code: 131026 }] })),
  ]) {
    await postWebhook(app, payload).expect(200);
  }
  const metrics = await request(app.express).get('/metrics').expect(200);
  const lint = spawnSync('promtool', ['check', 'metrics'], { input: metrics.text, encoding: 'utf8' });
  const findings = `${lint.stdout}${lint.stderr}`.split('\n').filter((line) => line.trim() !== '' && !KNOWN_UPSTREAM.test(line.trim()));
  assert.deepEqual(findings, [], `promtool check metrics:\n${findings.join('\n')}`);
  for (const name of [
    'whatsapp_webhook_requests_total',
    'whatsapp_messages_total',
    'whatsapp_message_statuses_total',
    'whatsapp_message_failures_total',
  ]) {
    assert.match(metrics.text, new RegExp(`^# TYPE ${name} counter$`, 'm'));
  }
});

it('a healthy system shows 0, not "No data": counters that can be zero start at 0', async () => {
  const series = await scrape(testApp(db.database));
  for (const error_code of ['131026', '131047', 'other', 'unknown'])
    assert.equal(sample(series, 'whatsapp_message_failures_total', { error_code }), 0, `failures ${error_code}`);
  for (const type of ['agent_message', 'resolved', 'agent_status'])
    for (const outcome of ['stored', 'duplicate'])
      assert.equal(sample(series, 'whatsapp_helpdesk_events_total', { type, outcome }), 0, `${type} ${outcome}`);
  for (const score of ['1', '5'])
    assert.equal(sample(series, 'whatsapp_csat_responses_total', { score, category: 'billing', agent: 'none' }), 0, `bot CSAT ${score}`);
  for (const outcome of ['sent', 'failed']) assert.equal(sample(series, 'whatsapp_csat_surveys_total', { outcome }), 0);
});

it('says whether BUSINESS_HOURS is set, for the paging policy (docs/alerts.md)', async () => {
  assert.equal(sample(await scrape(app), 'whatsapp_business_schedule_configured'), 0, 'unset');
  assert.equal(sample(await scrape(app), 'whatsapp_business_open'), 1, 'always open when unset');
  const hours = JSON.stringify({ timezone: 'Europe/Berlin', weekly: { mon: ['09:00-17:00'] } });
  const configured = testApp(db.database, { BUSINESS_HOURS: hours });
  assert.equal(sample(await scrape(configured), 'whatsapp_business_schedule_configured'), 1, 'set');
});

it('serves, in parts, exactly the text prom-client formats', async () => {
  const registry = new Registry();
  const counter = new Counter({
    name: 'test_things_total',
    help: 'Things (1–5), with a \\ and a\nline break.',
    labelNames: ['kind'],
    registers: [registry],
  });
  counter.inc({ kind: 'quote " backslash \\ newline \n and ü' }, 3);
  counter.inc({ kind: 'plain' });
  new Gauge({ name: 'test_empty', help: 'No values yet.', labelNames: ['x'], registers: [registry] });
  new Gauge({ name: 'test_level', help: 'A level.', registers: [registry] }).set(-1.5);
  const histogram = new Histogram({ name: 'test_seconds', help: 'Durations.', labelNames: ['a'], buckets: [1, 10], registers: [registry] });
  histogram.observe({ a: 'x' }, 5);
  histogram.observe({ a: 'y' }, 50);
  assert.equal((await expositionParts(registry)).join(''), await registry.metrics());

  const served = await request(app.express).get('/metrics').expect(200);
  assert.equal(served.headers['content-length'], String(Buffer.byteLength(served.text)));
  assert.match(served.headers['content-type'] ?? '', /^text\/plain; version=0\.0\.4/);
  assert.match(served.text, /^# HELP whatsapp_scrape_collector_success /m);
  assert.ok(served.text.endsWith('\n') && !served.text.endsWith('\n\n'), 'one line break at the end');
  const head = await request(app.express).head('/metrics').expect(200);
  assert.equal(head.text, undefined);
});

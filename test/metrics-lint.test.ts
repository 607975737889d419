/** /metrics follows Prometheus conventions: `promtool check metrics` finds nothing of ours. */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { after, before, it } from 'node:test';
import request from 'supertest';
import type { App } from '../src/app.ts';
import { openTestApp } from './support/app.ts';
import type { TestDatabase } from './support/database.ts';
import { everyMessageType, inbound, signed, status, statuses, wamid } from './support/meta.ts';
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
    const { body, signature } = signed(payload);
    await request(app.express)
      .post('/webhooks/whatsapp')
      .set('Content-Type', 'application/json')
      .set('X-Hub-Signature-256', signature)
      .send(body)
      .expect(200);
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

/**
 * The alerting stack as shipped: generated rules in sync with thresholds.ts, promtool and amtool
 * checks, promtool unit tests, routing of every alert, and an end-to-end run — the exporter,
 * a real Prometheus with the repo's rules and a real Alertmanager with the repo's routing —
 * where a customer left waiting pages the supervisors and the page resolves once answered.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import request from 'supertest';
import { parse } from 'yaml';
import { ALERTS_DOC, renderAlertsDoc, renderRules, RULES_FILE } from '../prometheus/generate.ts';
import { EVENTS_TOKEN, openTestApp } from './support/app.ts';
import { inbound, PHONE_NUMBER_ID, signed, textMessage } from './support/meta.ts';
import { startMonitoring, waitFor, type MonitoringStack } from './support/prometheus.ts';
import { skipUnless } from './support/tools.ts';

const ROOT = fileURLToPath(new URL('../', import.meta.url));
const PROM_DIR = join(ROOT, 'prometheus');
const AM_CONFIG = join(PROM_DIR, 'alertmanager.yml');

interface Rule {
  alert?: string;
  record?: string;
  expr: string;
  for?: string;
  labels?: Record<string, string>;
  annotations?: Record<string, string>;
}
const groups = (parse(readFileSync(RULES_FILE, 'utf8')) as { groups: { name: string; rules: Rule[] }[] }).groups;
const alerts = groups.flatMap((g) => g.rules.filter((r) => r.alert));

function run(tool: string, args: string[]) {
  const result = spawnSync(tool, args, { encoding: 'utf8', cwd: ROOT });
  return { status: result.status, output: `${result.stdout}${result.stderr}` };
}

describe('alert rules and routing', () => {
  it('the committed rules and threshold table are what prometheus/thresholds.ts generates', () => {
    assert.equal(readFileSync(RULES_FILE, 'utf8'), renderRules(), 'run npm run rules');
    const doc = readFileSync(ALERTS_DOC, 'utf8');
    assert.equal(doc, renderAlertsDoc(doc), 'run npm run rules');
  });

  it('every alert follows the conventions and has a runbook entry', () => {
    const runbook = readFileSync(join(ROOT, 'docs/runbook.md'), 'utf8');
    const headings = new Set([...runbook.matchAll(/^## (\S+)$/gm)].map((m) => m[1]!.toLowerCase()));
    assert.ok(alerts.length >= 18);
    for (const rule of alerts) {
      assert.match(rule.alert!, /^WhatsApp[A-Z][A-Za-z]+$/);
      assert.ok(['critical', 'warning', 'info'].includes(rule.labels!.severity!), rule.alert);
      assert.ok(['supervisors', 'oncall'].includes(rule.labels!.audience!), rule.alert);
      assert.doesNotMatch(rule.annotations!.summary!, /\{\{/, `${rule.alert}: the summary is static`);
      assert.ok(rule.annotations!.description!.length > 20, rule.alert);
      const anchor = rule.annotations!.runbook_url!.split('#')[1]!;
      assert.equal(anchor, rule.alert!.toLowerCase());
      assert.ok(headings.has(anchor), `docs/runbook.md has no "## ${rule.alert}"`);
    }
    for (const rule of groups.flatMap((g) => g.rules.filter((r) => r.record))) assert.match(rule.record!, /^[a-z]+:[a-z_]+:[a-z0-9_]+$/);
  });

  it('passes promtool check config, check rules and the unit tests', { skip: skipUnless('promtool') }, () => {
    const config = run('promtool', ['check', 'config', join(PROM_DIR, 'prometheus.yml')]);
    assert.equal(config.status, 0, config.output);
    assert.match(config.output, /SUCCESS: \d+ rules found/);
    const tests = run('promtool', ['test', 'rules', ...['alerts.test.yml'].map((f) => join(PROM_DIR, 'tests', f))]);
    assert.equal(tests.status, 0, tests.output);
    assert.match(tests.output, /SUCCESS/);
  });

  it('passes amtool check-config and routes every alert to its audience and severity', { skip: skipUnless('amtool') }, () => {
    const check = run('amtool', ['check-config', AM_CONFIG]);
    assert.equal(check.status, 0, check.output);
    const expected = (labels: Record<string, string>) =>
      labels.audience === 'oncall'
        ? labels.severity === 'critical'
          ? 'oncall-page'
          : 'oncall-ticket'
        : `supervisors-${{ critical: 'page', warning: 'ticket', info: 'info' }[labels.severity!]}`;
    for (const rule of alerts) {
      const labels = { alertname: rule.alert!, ...rule.labels! };
      const routed = run('amtool', [
        'config',
        'routes',
        'test',
        `--config.file=${AM_CONFIG}`,
        `--verify.receivers=${expected(labels)}`,
        ...Object.entries(labels).map(([k, v]) => `${k}=${v}`),
      ]);
      assert.equal(routed.status, 0, `${rule.alert} ${JSON.stringify(labels)}: ${routed.output}`);
    }
    const unlabelled = run('amtool', [
      'config',
      'routes',
      'test',
      `--config.file=${AM_CONFIG}`,
      '--verify.receivers=default',
      'alertname=Other',
    ]);
    assert.equal(unlabelled.status, 0, unlabelled.output);
  });
});

/** Receives Alertmanager webhook notifications on loopback. */
async function startHookReceiver() {
  const received: {
    path: string;
    body: {
      status: string;
      receiver: string;
      alerts: { status: string; labels: Record<string, string>; annotations: Record<string, string> }[];
    };
  }[] = [];
  const server = http.createServer((req, res) => {
    let body = '';
    req.on('data', (chunk) => (body += chunk));
    req.on('end', () => {
      received.push({ path: req.url ?? '', body: JSON.parse(body) });
      res.end('ok');
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return { received, port: (server.address() as AddressInfo).port, close: () => new Promise((r) => server.close(r)) };
}

const E2E_TOOLS = ['prometheus', 'prometheus-alertmanager'];
const e2eSkip = E2E_TOOLS.map(skipUnless).find((s) => s !== false) ?? false;

describe('end to end: a waiting customer pages the supervisors', { skip: e2eSkip }, () => {
  let stack: MonitoringStack | undefined;
  after(() => stack?.stop());

  it('fires WhatsAppCustomerWaitingTooLong to supervisors-page, applies inhibitions, and resolves when answered', async () => {
    const { db, app } = await openTestApp();
    const exporter = app.express.listen(0, '127.0.0.1');
    await new Promise((r) => exporter.once('listening', r));
    const hooks = await startHookReceiver();
    try {
      stack = await startMonitoring({ exporterPort: (exporter.address() as AddressInfo).port, alertWebhookPort: hooks.port });
      const amPort = stack.amPort;
      await stack.scraped();

      // A customer who wrote 10 minutes ago and has not been answered.
      const customer = '4915100000777';
      const { body, signature } = signed(
        inbound(customer, 'Waiting', [textMessage(customer, 'Hallo? Ist da jemand?', new Date(Date.now() - 600_000))]),
      );
      await request(app.express)
        .post('/webhooks/whatsapp')
        .set('Content-Type', 'application/json')
        .set('X-Hub-Signature-256', signature)
        .send(body)
        .expect(200);

      const page = await waitFor('the page notification', () =>
        hooks.received.find(
          (n) => n.body.status === 'firing' && n.body.alerts.some((a) => a.labels.alertname === 'WhatsAppCustomerWaitingTooLong'),
        ),
      );
      assert.equal(page.path, '/supervisors-page');
      assert.equal(page.body.receiver, 'supervisors-page');
      const fired = page.body.alerts.find((a) => a.labels.alertname === 'WhatsAppCustomerWaitingTooLong')!;
      assert.equal(fired.labels.severity, 'critical');
      assert.equal(fired.labels.audience, 'supervisors');
      assert.equal(fired.annotations.summary, 'A customer has waited more than 5 minutes for an answer.');
      assert.equal(
        fired.annotations.description,
        '1 customer(s) have been waiting longer than 5 minutes for an answer on WhatsApp. Step in, reassign, or answer.',
      );
      assert.match(fired.annotations.runbook_url!, /docs\/runbook\.md#whatsappcustomerwaitingtoolong$/);
      const others = hooks.received
        .flatMap((n) => n.body.alerts.map((a) => a.labels.alertname))
        .filter((name) => name !== 'WhatsAppCustomerWaitingTooLong');
      assert.deepEqual(others, [], 'nothing else fires on a healthy exporter');

      // The agent answers: the alert resolves and the supervisors are told.
      await request(app.express)
        .post('/api/v1/events')
        .set('Authorization', `Bearer ${EVENTS_TOKEN}`)
        .send({
          id: 'answer-1',
          type: 'agent_message',
          at: new Date().toISOString(),
          customer,
          phone_number_id: PHONE_NUMBER_ID,
          agent: 'alice',
        })
        .expect(200);
      const resolved = await waitFor('the resolved notification', () =>
        hooks.received.find(
          (n) => n.body.status === 'resolved' && n.body.alerts.some((a) => a.labels.alertname === 'WhatsAppCustomerWaitingTooLong'),
        ),
      );
      assert.equal(resolved.path, '/supervisors-page');

      // Inhibition, as routed by the real Alertmanager: exporter down mutes the helpdesk alerts,
      // and a critical burn mutes the warning of the same alert.
      const now = new Date().toISOString();
      const post = (labels: Record<string, string>) => ({ labels, annotations: { summary: 'test' }, startsAt: now });
      const posted = await fetch(`http://127.0.0.1:${amPort}/api/v2/alerts`, {
        method: 'POST',
        headers: { 'Content-Type': 'application/json' },
        body: JSON.stringify([
          post({ alertname: 'WhatsAppExporterDown', severity: 'critical', audience: 'oncall', job: 'whatsapp-helpdesk-exporter' }),
          post({ alertname: 'WhatsAppServiceWindowClosing', severity: 'warning', audience: 'supervisors' }),
          post({ alertname: 'WhatsAppFirstResponseBudgetBurn', severity: 'critical', audience: 'supervisors', window: 'fast' }),
          post({ alertname: 'WhatsAppFirstResponseBudgetBurn', severity: 'warning', audience: 'supervisors', window: 'slow' }),
        ]),
      });
      assert.equal(posted.status, 200);
      type AmAlert = { fingerprint: string; labels: Record<string, string>; status: { state: string; inhibitedBy: string[] } };
      const list = await waitFor('inhibition to apply', async () => {
        const all = (await (await fetch(`http://127.0.0.1:${amPort}/api/v2/alerts`)).json()) as AmAlert[];
        const window = all.find((a) => a.labels.alertname === 'WhatsAppServiceWindowClosing');
        return all.length >= 4 && window?.status.state === 'suppressed' ? all : undefined;
      });
      const find = (name: string, severity: string) => list.find((a) => a.labels.alertname === name && a.labels.severity === severity)!;
      const down = find('WhatsAppExporterDown', 'critical');
      const fast = find('WhatsAppFirstResponseBudgetBurn', 'critical');
      const slow = find('WhatsAppFirstResponseBudgetBurn', 'warning');
      assert.equal(down.status.state, 'active');
      assert.deepEqual(find('WhatsAppServiceWindowClosing', 'warning').status.inhibitedBy, [down.fingerprint]);
      assert.ok(slow.status.inhibitedBy.includes(fast.fingerprint), 'the critical burn mutes its warning');
      assert.ok(fast.status.inhibitedBy.includes(down.fingerprint), 'exporter down mutes helpdesk pages');
    } finally {
      exporter.close();
      await hooks.close();
      await db.drop();
    }
  });
});

/**
 * The alerting stack as shipped: generated rules in sync with thresholds.ts, promtool and amtool
 * checks, promtool unit tests, routing of every alert, and an end-to-end run — the exporter,
 * a real Prometheus with the repo's rules and a real Alertmanager with the repo's routing —
 * where a customer left waiting pages the supervisors and the page resolves once answered.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { parse } from 'yaml';
import { DEFAULT_CONFIG, parseGeneratorArgs } from '../prometheus/config.ts';
import { ruleOutputs, RULES_FILE } from '../prometheus/generate.ts';
import { openTestApp, postEvents, postWebhook } from './support/app.ts';
import { inbound, PHONE_NUMBER_ID, textMessage } from './support/meta.ts';
import { type MonitoringStack, startMonitoring, waitFor } from './support/prometheus.ts';
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
  it('the committed rules, PrometheusRule and docs/alerts.md are what prometheus/config.ts, thresholds.ts and rules.ts generate', () => {
    const outputs = ruleOutputs();
    assert.deepEqual(
      [...outputs.keys()],
      ['prometheus/rules/whatsapp-helpdesk.rules.yml', 'deploy/kubernetes/prometheusrule.yaml', 'docs/alerts.md'],
    );
    for (const [path, content] of outputs) assert.equal(readFileSync(join(ROOT, path), 'utf8'), content, `${path}: run npm run rules`);
    // The PrometheusRule carries exactly the rule groups Prometheus loads from the rule file.
    assert.deepEqual(parse(outputs.get('deploy/kubernetes/prometheusrule.yaml')!).spec.groups, groups);
  });

  it('Prometheus 3: every bucket selector matches le="60" and le="60.0"', () => {
    const exprs = groups.flatMap((g) => g.rules.map((r) => r.expr));
    for (const expr of exprs) assert.doesNotMatch(expr, /\ble="\d+"/, `exact integer le selects nothing on Prometheus 3: ${expr}`);
    assert.ok(exprs.some((e) => e.includes('le=~"60(\\\\.0)?"')));
  });

  it('only the exporter-health alerts depend on the scrape job; none mutes all supervisor alerts', () => {
    const selector = DEFAULT_CONFIG.exporterSelector;
    for (const rule of alerts) {
      const usesSelector = rule.expr.includes(selector);
      assert.equal(usesSelector, /^WhatsAppExporter(Down|ReplicaDown|Absent)$/.test(rule.alert!), `${rule.alert}: ${rule.expr}`);
      assert.doesNotMatch(rule.expr.replaceAll(selector, ''), /\bjob\s*[=!]/, `${rule.alert}: no job matcher outside the selector`);
    }
    const am = parse(readFileSync(AM_CONFIG, 'utf8')) as { inhibit_rules: { target_matchers: string[]; equal?: string[] }[] };
    for (const rule of am.inhibit_rules) {
      assert.ok(rule.equal && rule.equal.length > 0, `inhibition ${JSON.stringify(rule)} names the labels it requires equal`);
      assert.ok(!rule.target_matchers.some((m) => m.includes('audience="supervisors"')), 'no inhibition mutes the supervisors as a whole');
    }
  });

  it('another selector and runbook address: npm run rules -- --selector --runbook-url --out renders a working copy', {
    skip: skipUnless('promtool'),
  }, () => {
    const out = mkdtempSync(join(tmpdir(), 'wa-rules-'));
    try {
      const cli = spawnSync(
        process.execPath,
        [
          '--import',
          'tsx',
          'prometheus/generate.ts',
          '--selector=job="helpdesk", namespace="support"',
          '--runbook-url=https://wiki.example.org/whatsapp/runbook',
          `--out=${out}`,
        ],
        { cwd: ROOT, encoding: 'utf8' },
      );
      assert.equal(cli.status, 0, cli.stderr);
      assert.match(cli.stdout, /wrote: .*prometheus\/rules\/whatsapp-helpdesk\.rules\.yml/);
      const rules = readFileSync(join(out, 'prometheus/rules/whatsapp-helpdesk.rules.yml'), 'utf8');
      assert.match(rules, /up\{job="helpdesk", namespace="support"\} == 0/);
      assert.match(rules, /runbook_url: https:\/\/wiki\.example\.org\/whatsapp\/runbook#whatsappexporterdown/);
      assert.doesNotMatch(rules, /whatsapp-helpdesk-exporter"/);
      const test = {
        rule_files: [join(out, 'prometheus/rules/whatsapp-helpdesk.rules.yml')],
        evaluation_interval: '1m',
        tests: [
          {
            interval: '1m',
            input_series: [{ series: 'up{job="helpdesk", namespace="support", instance="10.0.0.7:8080"}', values: '0x10' }],
            alert_rule_test: [
              { eval_time: '10m', alertname: 'WhatsAppExporterAbsent', exp_alerts: [] },
              {
                eval_time: '2m',
                alertname: 'WhatsAppExporterDown',
                exp_alerts: [
                  {
                    exp_labels: {
                      severity: 'critical',
                      audience: 'oncall',
                      job: 'helpdesk',
                      namespace: 'support',
                      instance: '10.0.0.7:8080',
                    },
                    exp_annotations: {
                      summary: 'Prometheus cannot scrape the WhatsApp helpdesk exporter.',
                      description:
                        'The exporter target 10.0.0.7:8080 has been down for 2 minutes, and no other target of its job is up; webhooks may be failing and helpdesk alerts are blind.',
                      runbook_url: 'https://wiki.example.org/whatsapp/runbook#whatsappexporterdown',
                    },
                  },
                ],
              },
            ],
          },
        ],
      };
      mkdirSync(join(out, 'tests'), { recursive: true });
      writeFileSync(join(out, 'tests/selector.test.yml'), JSON.stringify(test));
      const result = run('promtool', ['test', 'rules', join(out, 'tests/selector.test.yml')]);
      assert.equal(result.status, 0, result.output);
      // The repository's own files are untouched.
      assert.equal(readFileSync(RULES_FILE, 'utf8'), ruleOutputs().get('prometheus/rules/whatsapp-helpdesk.rules.yml'));
    } finally {
      rmSync(out, { recursive: true, force: true });
    }
  });

  it('refuses a selector or runbook address that would break the rules, with one line', () => {
    assert.throws(() => parseGeneratorArgs(['--selector=helpdesk']), /--selector: "helpdesk" is not a list of label matchers/);
    assert.throws(() => parseGeneratorArgs(['--selector=job="a", }']), /--selector/);
    assert.throws(() => parseGeneratorArgs(['--runbook-url=https://x/y#anchor']), /--runbook-url: .* without spaces or #anchor/);
    assert.deepEqual(parseGeneratorArgs(['--selector= job="a" ,namespace=~"x,y"']).config.exporterSelector, 'job="a", namespace=~"x,y"');
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
    // promtool checks that the token file exists: give it one where compose mounts the secret, in a copy.
    const dir = mkdtempSync(join(tmpdir(), 'wa-promcheck-'));
    try {
      const prom = parse(readFileSync(join(PROM_DIR, 'prometheus.yml'), 'utf8'));
      assert.equal(prom.scrape_configs[0].authorization.credentials_file, '/run/secrets/metrics_token');
      prom.scrape_configs[0].authorization.credentials_file = join(dir, 'metrics_token');
      prom.rule_files = prom.rule_files.map((f: string) => join(PROM_DIR, f));
      writeFileSync(join(dir, 'metrics_token'), 'token');
      writeFileSync(join(dir, 'prometheus.yml'), JSON.stringify(prom));
      const config = run('promtool', ['check', 'config', join(dir, 'prometheus.yml')]);
      assert.equal(config.status, 0, config.output);
      assert.match(config.output, /SUCCESS: \d+ rules found/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
    const files = readdirSync(join(PROM_DIR, 'tests')).filter((f) => f.endsWith('.test.yml'));
    assert.deepEqual(files.sort(), ['alerts.test.yml', 'deployments.test.yml']);
    const tests = run('promtool', ['test', 'rules', ...files.map((f) => join(PROM_DIR, 'tests', f))]);
    assert.equal(tests.status, 0, tests.output);
    assert.match(tests.output, /SUCCESS/);
  });

  it('every paging alert has a promtool test where it fires and one where it stays quiet past its `for:`', () => {
    type AlertTest = { eval_time: string; alertname: string; exp_alerts: { exp_labels: Record<string, string> }[] };
    const cases = readdirSync(join(PROM_DIR, 'tests'))
      .filter((f) => f.endsWith('.test.yml'))
      .flatMap((f) => (parse(readFileSync(join(PROM_DIR, 'tests', f), 'utf8')) as { tests: { alert_rule_test?: AlertTest[] }[] }).tests)
      .flatMap((t) => t.alert_rule_test ?? []);
    const seconds = (text: string) =>
      [...text.matchAll(/(\d+)([hms])/g)].reduce(
        (sum, [, n, unit]) => sum + Number(n) * { h: 3600, m: 60, s: 1 }[unit as 'h' | 'm' | 's'],
        0,
      );
    const pages = alerts.filter((rule) => rule.labels!.severity === 'critical');
    assert.ok(pages.length >= 6, 'the pages: waiting customers, no agent online, budget burn, exporter down, database errors');
    for (const name of new Set(pages.map((rule) => rule.alert!))) {
      const longestFor = Math.max(...pages.filter((rule) => rule.alert === name).map((rule) => seconds(rule.for ?? '0s')));
      const ofAlert = cases.filter((c) => c.alertname === name);
      assert.ok(
        ofAlert.some((c) => c.exp_alerts.some((a) => a.exp_labels.severity === 'critical')),
        `${name}: a promtool test where it pages`,
      );
      assert.ok(
        ofAlert.some((c) => c.exp_alerts.length === 0 && seconds(c.eval_time) > longestFor),
        `${name}: a promtool test where it stays quiet longer than its for: (${longestFor} s)`,
      );
    }
  });

  it('staffing pages need declared business hours: without BUSINESS_HOURS nothing pages for a waiting customer', () => {
    for (const rule of alerts.filter((r) => r.labels!.severity === 'critical' && r.expr.includes('whatsapp_waiting_conversations')))
      assert.match(
        rule.expr,
        /max\(whatsapp_business_schedule_configured\) == 1\) and on \(\) max\(whatsapp_business_open\) == 1/,
        rule.alert,
      );
    const ticket = alerts.find((r) => r.alert === 'WhatsAppCustomersWaitingWithoutBusinessHours')!;
    assert.equal(ticket.labels!.severity, 'warning');
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
    // /metrics needs a token, which Prometheus reads from a file as prometheus.yml says.
    const metricsToken = 'e2e-metrics-token-5d1c';
    // A helpdesk staffed around the clock declares it: waiting customers page at any hour.
    const always = ['00:00-24:00'];
    const BUSINESS_HOURS = JSON.stringify({
      timezone: 'Europe/Berlin',
      weekly: { mon: always, tue: always, wed: always, thu: always, fri: always, sat: always, sun: always },
    });
    const { db, app } = await openTestApp({ METRICS_TOKEN: metricsToken, BUSINESS_HOURS });
    const exporter = app.express.listen(0, '127.0.0.1');
    await new Promise((r) => exporter.once('listening', r));
    const hooks = await startHookReceiver();
    try {
      stack = await startMonitoring({ exporterPort: (exporter.address() as AddressInfo).port, alertWebhookPort: hooks.port, metricsToken });
      const amPort = stack.amPort;
      await stack.scraped();

      // A customer who wrote 10 minutes ago and has not been answered.
      const customer = '4915100000777';
      await postWebhook(
        app,
        inbound(customer, 'Waiting', [textMessage(customer, 'Hallo? Ist da jemand?', new Date(Date.now() - 600_000))]),
      ).expect(200);

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
      assert.equal(fired.labels.business_number, PHONE_NUMBER_ID, 'the page names the business number');
      assert.equal(fired.annotations.summary, 'A customer has waited more than 5 minutes for an answer.');
      assert.equal(
        fired.annotations.description,
        `1 customer(s) of business number ${PHONE_NUMBER_ID} have been waiting longer than 5 minutes for an answer on WhatsApp. Step in, reassign, or answer.`,
      );
      assert.match(fired.annotations.runbook_url!, /docs\/runbook\.md#whatsappcustomerwaitingtoolong$/);
      const others = hooks.received
        .flatMap((n) => n.body.alerts.map((a) => a.labels.alertname))
        .filter((name) => name !== 'WhatsAppCustomerWaitingTooLong');
      assert.deepEqual(others, [], 'nothing else fires on a healthy exporter');

      // The agent answers: the alert resolves and the supervisors are told.
      await postEvents(app, {
        id: 'answer-1',
        type: 'agent_message',
        at: new Date().toISOString(),
        customer,
        phone_number_id: PHONE_NUMBER_ID,
        agent: 'alice',
      }).expect(200);
      const resolved = await waitFor('the resolved notification', () =>
        hooks.received.find(
          (n) => n.body.status === 'resolved' && n.body.alerts.some((a) => a.labels.alertname === 'WhatsAppCustomerWaitingTooLong'),
        ),
      );
      assert.equal(resolved.path, '/supervisors-page');

      // Inhibition, as routed by the real Alertmanager: a critical burn mutes the warning of the
      // same alert; a failing database mutes the failing collectors of the same deployment only;
      // nothing the exporter does mutes the supervisors' alerts.
      const now = new Date().toISOString();
      const post = (labels: Record<string, string>) => ({ labels, annotations: { summary: 'test' }, startsAt: now });
      const exporterA = { audience: 'oncall', job: 'whatsapp-helpdesk-exporter', namespace: 'support' };
      const exporterB = { audience: 'oncall', job: 'whatsapp-helpdesk-exporter', namespace: 'sales' };
      const posted = await fetch(`http://127.0.0.1:${amPort}/api/v2/alerts`, {
        method: 'POST',
        headers: { 'Content-Type': 'application/json' },
        body: JSON.stringify([
          post({ alertname: 'WhatsAppExporterDown', severity: 'critical', ...exporterA, instance: '10.0.0.7:8080' }),
          post({ alertname: 'WhatsAppExporterAbsent', severity: 'warning', audience: 'oncall', job: 'whatsapp-helpdesk-exporter' }),
          post({ alertname: 'WhatsAppDatabaseErrors', severity: 'critical', ...exporterA }),
          post({ alertname: 'WhatsAppCollectorFailing', severity: 'warning', ...exporterA, collector: 'agents' }),
          post({ alertname: 'WhatsAppCollectorFailing', severity: 'warning', ...exporterB, collector: 'agents' }),
          post({ alertname: 'WhatsAppServiceWindowClosing', severity: 'warning', audience: 'supervisors' }),
          post({
            alertname: 'WhatsAppCustomerWaitingTooLong',
            severity: 'critical',
            audience: 'supervisors',
            business_number: 'service-at',
          }),
          post({ alertname: 'WhatsAppFirstResponseBudgetBurn', severity: 'critical', audience: 'supervisors', window: 'fast' }),
          post({ alertname: 'WhatsAppFirstResponseBudgetBurn', severity: 'warning', audience: 'supervisors', window: 'slow' }),
          // One page per cause: nobody online mutes the waiting pages of the same business number only.
          post({ alertname: 'WhatsAppNoAgentOnline', severity: 'critical', audience: 'supervisors', business_number: 'support-de' }),
          post({ alertname: 'WhatsAppAngryCustomerWaiting', severity: 'critical', audience: 'supervisors', business_number: 'support-de' }),
          post({ alertname: 'WhatsAppAngryCustomerWaiting', severity: 'critical', audience: 'supervisors', business_number: 'sales-en' }),
        ]),
      });
      assert.equal(posted.status, 200);
      type AmAlert = { fingerprint: string; labels: Record<string, string>; status: { state: string; inhibitedBy: string[] } };
      const list = await waitFor('inhibition to apply', async () => {
        const all = (await (await fetch(`http://127.0.0.1:${amPort}/api/v2/alerts`)).json()) as AmAlert[];
        const slow = all.find((a) => a.labels.alertname === 'WhatsAppFirstResponseBudgetBurn' && a.labels.severity === 'warning');
        const angry = all.find((a) => a.labels.alertname === 'WhatsAppAngryCustomerWaiting' && a.labels.business_number === 'support-de');
        return all.length >= 12 && slow?.status.state === 'suppressed' && angry?.status.state === 'suppressed' ? all : undefined;
      });
      const find = (name: string, severity: string, namespace?: string) =>
        list.find((a) => a.labels.alertname === name && a.labels.severity === severity && a.labels.namespace === namespace)!;
      const fast = find('WhatsAppFirstResponseBudgetBurn', 'critical');
      const database = find('WhatsAppDatabaseErrors', 'critical', 'support');
      assert.ok(
        find('WhatsAppFirstResponseBudgetBurn', 'warning').status.inhibitedBy.includes(fast.fingerprint),
        'the critical burn mutes its warning',
      );
      assert.deepEqual(find('WhatsAppCollectorFailing', 'warning', 'support').status.inhibitedBy, [database.fingerprint]);
      assert.equal(find('WhatsAppCollectorFailing', 'warning', 'sales').status.state, 'active', 'another deployment is not muted');
      const byNumber = (name: string, number: string) =>
        list.find((a) => a.labels.alertname === name && a.labels.business_number === number)!;
      assert.deepEqual(byNumber('WhatsAppAngryCustomerWaiting', 'support-de').status.inhibitedBy, [
        byNumber('WhatsAppNoAgentOnline', 'support-de').fingerprint,
      ]);
      assert.equal(byNumber('WhatsAppAngryCustomerWaiting', 'sales-en').status.state, 'active', 'another business number still pages');
      assert.equal(byNumber('WhatsAppCustomerWaitingTooLong', 'service-at').status.state, 'active');
      for (const [name, severity] of [
        ['WhatsAppServiceWindowClosing', 'warning'],
        ['WhatsAppFirstResponseBudgetBurn', 'critical'],
        ['WhatsAppExporterAbsent', 'warning'],
      ] as const) {
        assert.equal(find(name, severity).status.state, 'active', `${name} is not muted by the exporter's or the database's alerts`);
      }
    } finally {
      exporter.close();
      await hooks.close();
      await db.drop();
    }
  });
});

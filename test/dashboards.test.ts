/**
 * The Grafana dashboards as shipped: the committed JSON is what grafana/dashboards.ts generates,
 * every panel follows the conventions, and — end to end — every panel returns data: the demo
 * simulator feeds the exporter (on its own test database, with its jobs running), a real
 * Prometheus with the repository's configuration and rules scrapes it, and each panel's query is
 * sent the way Grafana sends it (variables substituted). SQL panels run on PostgreSQL as the
 * read-only role Grafana uses.
 */
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { dashboardOutputs } from '../grafana/build.ts';
import { renderDashboardFiles } from '../grafana/dashboards.ts';
import { BUSINESS_NUMBER_FAMILIES } from '../grafana/render.ts';
import { TARGETS } from '../prometheus/thresholds.ts';
import { ScrapeCollectors } from '../src/metrics/collectors.ts';
import { registerConversationGauges } from '../src/metrics/conversation-gauges.ts';
import { ConversationMetrics, RESOLUTION_BUCKETS, RESPONSE_BUCKETS } from '../src/metrics/conversations.ts';
import { createRegistry } from '../src/metrics/registry.ts';
import type { Database } from '../src/storage/database.ts';
import { startAppJobs } from '../src/jobs/app-jobs.ts';
import { Scheduler } from '../src/jobs/scheduler.ts';
import { startGraphApiStub } from '../src/demo/graph-api.ts';
import { Simulator } from '../src/demo/simulator.ts';
import { EVENTS_TOKEN, testApp } from './support/app.ts';
import { createTestDatabase, silentLogger } from './support/database.ts';
import { APP_SECRET } from './support/meta.ts';
import { startMonitoring, type MonitoringStack } from './support/prometheus.ts';
import { DASHBOARDS_DIR, dashboards, type Json, noData, panelsOf, promQuery, substitutePromQL, substituteSql } from './support/panels.ts';
import { skipUnless } from './support/tools.ts';

const ROOT = fileURLToPath(new URL('../', import.meta.url));

/**
 * Metrics and views of the request-analysis work (issue 4). Until they exist, their panels are
 * listed and allowed to be empty locally; under CI=true every panel must return data.
 */
const ANALYSIS_PARTS = ['whatsapp_inbound_sentiment_total', 'whatsapp_csat_responses_total', 'whatsapp_csat_surveys_total', 'analytics.'];

describe('dashboards as code', () => {
  it('the committed dashboards (compose and Kubernetes) are what grafana/specs/*.ts generate', () => {
    for (const [path, text] of dashboardOutputs())
      assert.equal(readFileSync(join(ROOT, path), 'utf8'), text, `${path}: run npm run dashboards`);
    assert.deepEqual(readdirSync(join(ROOT, 'deploy/kubernetes/dashboards')).sort(), [...renderDashboardFiles().keys()].sort());
    const files = renderDashboardFiles();
    assert.deepEqual(
      dashboards.map((d) => d.file),
      [...files.keys()].sort(),
      'run npm run dashboards',
    );
    for (const [name, text] of files)
      assert.equal(readFileSync(join(DASHBOARDS_DIR, name), 'utf8'), text, `${name}: run npm run dashboards`);
  });

  it('follow the conventions: stable unique uids, datasource variables, a description and unit on every panel', () => {
    assert.ok(dashboards.length >= 4);
    assert.equal(new Set(dashboards.map((d) => d.uid)).size, dashboards.length, 'unique dashboard uids');
    for (const d of dashboards) {
      assert.match(d.uid, /^whatsapp-helpdesk-[a-z-]+$/);
      assert.equal(d.id, undefined, `${d.uid}: no numeric id in provisioned JSON`);
      const variables = (d.templating.list as Json[]).map((v) => v.name);
      assert.ok(variables.includes('datasource'), `${d.uid}: has the datasource variable`);
      const panels = panelsOf(d);
      assert.equal(new Set((d.panels as Json[]).map((p) => p.id)).size, (d.panels as Json[]).length, `${d.uid}: unique panel ids`);
      for (const p of panels) {
        const where = `${d.uid} / ${p.title}`;
        assert.ok(typeof p.description === 'string' && p.description.length > 20, `${where}: has a description`);
        assert.ok(typeof p.fieldConfig?.defaults?.unit === 'string', `${where}: has a unit`);
        assert.ok(p.targets.length > 0, `${where}: has a query`);
        for (const ds of [p.datasource, ...p.targets.map((t: Json) => t.datasource)]) {
          assert.match(ds.uid, /^\$\{(datasource|postgres)\}$/, `${where}: datasource through a variable, not a hard-coded uid`);
          if (ds.uid === '${postgres}') assert.ok(variables.includes('postgres'), `${where}: the postgres variable exists`);
        }
        assert.equal(new Set(p.targets.map((t: Json) => t.refId)).size, p.targets.length, `${where}: unique refIds`);
        for (const t of p.targets) {
          for (const name of String(t.expr ?? t.rawSql).matchAll(/\$\{?([a-z][a-z_]*)\b/g)) {
            assert.ok(variables.includes(name[1]!), `${where}: variable $${name[1]} is defined`);
          }
        }
      }
    }
  });

  it("have job and instance variables that filter every query of the exporter's metrics, and match Prometheus 3 buckets", () => {
    for (const d of dashboards) {
      const list = d.templating.list as Json[];
      const byName = Object.fromEntries(list.map((v) => [v.name, v]));
      assert.equal(byName.job?.definition, 'label_values(whatsapp_exporter_build_info, job)', `${d.uid}: job variable`);
      assert.equal(byName.instance?.definition, 'label_values(whatsapp_exporter_build_info{job=~"$job"}, instance)');
      // "All" must list the exporter's own jobs: `.*` would also select other programs' process_* series.
      assert.equal(byName.job.allValue, undefined);
      assert.equal(byName.instance.allValue, undefined);
      for (const p of panelsOf(d)) {
        for (const t of p.targets as Json[]) {
          if (!t.expr) continue;
          for (const m of String(t.expr).matchAll(/(?<![\w:])((?:whatsapp|process|nodejs)_\w+)(\{[^}]*\})?(?![\w(])/g)) {
            assert.match(
              m[2] ?? '',
              /job=~"\$job", instance=~"\$instance"/,
              `${d.uid} / ${p.title}: ${m[1]} is filtered by job and instance`,
            );
          }
          assert.doesNotMatch(t.expr, /\ble="\d+"/, `${d.uid} / ${p.title}: an exact integer le selects nothing on Prometheus 3`);
        }
      }
    }
    const exporter = dashboards.find((d) => d.uid === 'whatsapp-helpdesk-exporter')!;
    const up = panelsOf(exporter).find((p) => p.title === 'Exporter up')!;
    assert.equal(
      up.targets[0].expr,
      'min(up{job="whatsapp-helpdesk-exporter", job=~"$job", instance=~"$instance"})',
      'the selector of prometheus/config.ts',
    );
  });

  it('use the alert thresholds of prometheus/thresholds.ts', () => {
    const overview = dashboards.find((d) => d.uid === 'whatsapp-helpdesk-overview')!;
    const steps = (title: string) =>
      panelsOf(overview)
        .find((p) => p.title.startsWith(title))!
        .fieldConfig.defaults.thresholds.steps.map((s: Json) => s.value);
    assert.deepEqual(steps('First response p90'), [null, 60, 300]);
    assert.deepEqual(steps('Delivery failures'), [null, 0.05]);
    assert.deepEqual(steps('Waiting > 5 min'), [null, 1]);
    const agents = dashboards.find((d) => d.uid === 'whatsapp-helpdesk-agents')!;
    assert.deepEqual(
      panelsOf(agents)
        .find((p) => p.title === 'Utilization')!
        .fieldConfig.defaults.thresholds.steps.map((s: Json) => [s.color, s.value]),
      [
        ['orange', null],
        ['green', 0.85],
        ['red', 0.9],
      ],
      'the utilization band: too low flagged as well as too high',
    );
  });

  it("draw each of the white paper's KPIs on the Overview against its target (TARGETS), named in the title", () => {
    const overview = dashboards.find((d) => d.uid === 'whatsapp-helpdesk-overview')!;
    const colours = (title: RegExp) => {
      const panel = panelsOf(overview).find((p) => title.test(p.title));
      assert.ok(panel, `a panel titled ${title}`);
      assert.ok(panel.description.includes('target'), `${panel.title}: the description names the target`);
      return panel.fieldConfig.defaults.thresholds.steps.map((s: Json) => [s.color, s.value]);
    };
    const { firstResponse, resolvedWithin, resolvedWithinShare, csat, fcr, utilization } = TARGETS;
    assert.deepEqual(colours(/^First response p50 · target ≤ 1 min$/), [
      ['green', null],
      ['orange', firstResponse.value],
      ['red', 300],
    ]);
    assert.deepEqual(colours(/^Resolved within 5 min · target ≥ 70 %$/), [
      ['red', null],
      ['green', resolvedWithinShare.value],
    ]);
    assert.deepEqual(colours(/^CSAT · target 85–90 %$/), [
      ['red', null],
      ['green', csat.value],
      ['blue', csat.upTo],
    ]);
    assert.deepEqual(colours(/^First-contact resolution \(FCR\) · target ≥ 80 %$/), [
      ['red', null],
      ['green', fcr.value],
    ]);
    assert.deepEqual(colours(/^Agent utilization · target 85–90 %$/), [
      ['orange', null],
      ['green', utilization.value],
      ['red', utilization.upTo],
    ]);
    // 70 % within 5 minutes reads the 300 s bucket of the resolution histogram, in both label forms.
    const resolved = panelsOf(overview).find((p) => p.title.startsWith('Resolved within'))!;
    assert.match(resolved.targets[0].expr, new RegExp(`whatsapp_resolution_seconds_bucket\\{[^}]*le=~"${resolvedWithin.value}\\(`));
    assert.ok(RESOLUTION_BUCKETS.includes(resolvedWithin.value) && RESPONSE_BUCKETS.includes(firstResponse.value), 'targets are buckets');
  });

  it("show only this project's alerts, and a business_number variable that filters the families carrying the label", () => {
    for (const d of dashboards)
      for (const p of panelsOf(d))
        for (const t of p.targets as Json[])
          if (/\bALERTS\b/.test(t.expr ?? '')) assert.match(t.expr, /ALERTS\{alertname=~"WhatsApp\.\+"/, `${d.uid} / ${p.title}`);
    // The families with the label, as the exporter registers them.
    const registry = createRegistry();
    new ConversationMetrics(registry, ['billing']);
    registerConversationGauges(new ScrapeCollectors(registry, {} as Database, silentLogger), ['billing'], (id) => id);
    const labelled = registry
      .getMetricsAsArray()
      .filter((m) => ((m as unknown as { labelNames: string[] }).labelNames ?? []).includes('business_number'))
      .map((m) => (m as unknown as { name: string }).name)
      .sort();
    assert.deepEqual(labelled, [...BUSINESS_NUMBER_FAMILIES].sort());
    const overview = dashboards.find((d) => d.uid === 'whatsapp-helpdesk-overview')!;
    const variable = (overview.templating.list as Json[]).find((v) => v.name === 'business_number');
    assert.equal(variable?.definition, 'label_values(whatsapp_open_conversations{job=~"$job", instance=~"$instance"}, business_number)');
    for (const p of panelsOf(overview))
      for (const t of p.targets as Json[])
        for (const m of String(t.expr ?? '').matchAll(/(?<![\w:])(whatsapp_\w+)(\{[^}]*\})?(?![\w(])/g)) {
          const family = m[1]!.replace(/_(bucket|count|sum)$/, '');
          assert.equal(
            (m[2] ?? '').includes('business_number=~"$business_number"'),
            BUSINESS_NUMBER_FAMILIES.has(family),
            `${p.title}: ${m[1]}`,
          );
        }
  });
});

describe('every panel returns data from the exporter fed by the simulator', { skip: skipUnless('prometheus') }, () => {
  let stack: MonitoringStack | undefined;
  after(() => stack?.stop());

  it('queries every Prometheus panel on a real Prometheus and every SQL panel on PostgreSQL', async () => {
    const db = await createTestDatabase();
    let simulator: Simulator | undefined;
    const stub = await startGraphApiStub({ onSend: (m) => simulator?.handleSentMessage(m) });
    // Windows shortened so that auto-resolution, FCR decisions and CSAT surveys happen in seconds.
    const app = testApp(db.database, {
      WHATSAPP_ACCESS_TOKEN: 'test-token',
      WHATSAPP_API_URL: stub.url,
      CSAT_DELAY: '1s',
      FCR_WINDOW: '6s',
      AUTO_RESOLVE_AFTER: '10s',
    });
    const server = app.express.listen(0, '127.0.0.1');
    await new Promise((r) => server.once('listening', r));
    const exporterPort = (server.address() as AddressInfo).port;
    // The jobs main.ts schedules, every second instead of every 15–30 s.
    const scheduler = new Scheduler(app.metrics.jobs, silentLogger);
    startAppJobs(scheduler, app, {
      conversationTimers: '* * * * * *',
      csatSurveys: '* * * * * *',
      retention: '0 0 * * * *',
      agentTime: '* * * * * *',
      ingestSweep: '* * * * * *',
    });
    try {
      // The repository's configuration; only addresses and intervals change (and `for:`, as in alerting.test.ts).
      stack = await startMonitoring({ exporterPort });
      const promPort = stack.promPort;

      // Monday 09:30 in Berlin on the simulated calendar (agents on shift); 12 calendar minutes and
      // 30 conversation seconds per real second.
      const started = new Date();
      simulator = new Simulator({
        seed: 42,
        start: started,
        calendarStart: new Date('2026-11-23T08:30:00Z'),
        speed: 720,
        pace: 30,
        peakPerHour: 600,
        target: `http://127.0.0.1:${exporterPort}`,
        appSecret: APP_SECRET,
        eventsToken: EVENTS_TOKEN,
        durationMs: 22_000,
        lookaheadMs: 5_000,
        log: (line) => console.log(`simulator: ${line}`),
      });
      const stats = await simulator.run();
      console.log(`simulator: ${JSON.stringify(stats)}`);
      assert.ok(stats.conversations >= 40, `enough traffic (${stats.conversations} conversations)`);
      assert.equal(stats.failedRequests, 0, 'every simulated request was accepted');

      // Let Prometheus scrape the final state and evaluate the rules on it.
      await stack.scraped(15_000);
      await new Promise((r) => setTimeout(r, 3_000));

      const report: string[] = [];
      const failures: string[] = [];
      const pending: string[] = [];
      /** `missing`: no data, or a view or role that does not exist — allowed locally for the analysis panels only. */
      const fail = (where: string, what: string, text: string, missing: boolean) => {
        const line = `${where}: ${what}`;
        report.push(`  FAIL ${line}`);
        (missing && ANALYSIS_PARTS.some((part) => text.includes(part)) ? pending : failures).push(line);
      };
      const to = new Date();
      const from = new Date(to.getTime() - 3_600_000);
      for (const dashboard of dashboards) {
        for (const panel of panelsOf(dashboard)) {
          for (const target of panel.targets as Json[]) {
            const where = `${dashboard.uid} / ${panel.title} [${target.refId}]`;
            if (target.rawSql) {
              const sql = substituteSql(target.rawSql, from, to);
              try {
                // As Grafana's read-only role: proves the grants too.
                const rows = await db.database.transaction(async (tx) => {
                  await tx.query('SET LOCAL ROLE whatsapp_readonly');
                  return (await tx.query(sql)).rows;
                });
                if (rows.length === 0) fail(where, 'SQL returned no rows', target.rawSql, true);
                else report.push(`  ok   ${where}: ${rows.length} rows`);
              } catch (error) {
                const code = (error as { code?: string }).code;
                fail(
                  where,
                  `SQL failed: ${(error as Error).message}`,
                  target.rawSql,
                  ['42P01', '3F000', '42704', '42501'].includes(code ?? ''),
                );
              }
              continue;
            }
            const expr = substitutePromQL(target.expr);
            const answer = await promQuery(promPort, expr);
            const why = noData(answer);
            if (why) fail(where, `${why} — ${expr}`, target.expr, !why.startsWith('HTTP'));
            else report.push(`  ok   ${where}: ${answer.body!.data.result.length} series`);
          }
        }
      }
      console.log(`panel queries:\n${report.join('\n')}`);
      if (pending.length)
        console.log(`panels of the request analysis without data yet (required under CI=true):\n  ${pending.join('\n  ')}`);
      assert.deepEqual(failures, [], 'every panel returns data');
      if (process.env.CI === 'true') assert.deepEqual(pending, [], 'every panel returns data (CI)');
    } finally {
      simulator?.stop();
      await scheduler.stop();
      await new Promise((r) => server.close(r));
      await stub.close();
      await db.drop();
    }
  });
});

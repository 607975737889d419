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
import { startAppJobs } from '../src/jobs/app-jobs.ts';
import { Scheduler } from '../src/jobs/scheduler.ts';
import { startGraphApiStub } from '../src/demo/graph-api.ts';
import { Simulator } from '../src/demo/simulator.ts';
import { EVENTS_TOKEN, testApp } from './support/app.ts';
import { createTestDatabase, silentLogger } from './support/database.ts';
import { APP_SECRET } from './support/meta.ts';
import { startMonitoring, type MonitoringStack } from './support/prometheus.ts';
import { skipUnless } from './support/tools.ts';

const ROOT = fileURLToPath(new URL('../', import.meta.url));
const DASHBOARDS_DIR = join(ROOT, 'grafana/dashboards');

type Json = Record<string, any>;
const dashboards: Json[] = readdirSync(DASHBOARDS_DIR)
  .filter((f) => f.endsWith('.json'))
  .sort()
  .map((f) => ({ file: f, ...JSON.parse(readFileSync(join(DASHBOARDS_DIR, f), 'utf8')) }));
const panelsOf = (d: Json): Json[] =>
  (d.panels as Json[]).flatMap((p) => [p, ...((p.panels as Json[] | undefined) ?? [])]).filter((p) => p.type !== 'row');

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
          for (const name of String(t.expr ?? t.rawSql).matchAll(/\$\{?([a-z]+)\b/g)) {
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
    assert.deepEqual(steps('CSAT'), [null, 0.85]);
    assert.deepEqual(steps('First-contact resolution'), [null, 0.8]);
    assert.deepEqual(steps('Delivery failures'), [null, 0.05]);
    assert.deepEqual(steps('Waiting > 5 min'), [null, 1]);
    const agents = dashboards.find((d) => d.uid === 'whatsapp-helpdesk-agents')!;
    assert.deepEqual(
      panelsOf(agents)
        .find((p) => p.title === 'Utilization')!
        .fieldConfig.defaults.thresholds.steps.map((s: Json) => s.value),
      [null, 0.85, 0.9],
    );
  });
});

/** A panel query the way Grafana sends it, with its variables substituted. */
function substitutePromQL(expr: string): string {
  return expr
    .replaceAll('$__rate_interval', '1m')
    .replaceAll('$__interval', '15s')
    .replaceAll('$__range', '1h')
    .replace(/\$\{?(agent|category|job|instance)(:regex)?\}?/g, '.*');
}

function substituteSql(sql: string, from: Date, to: Date): string {
  return sql
    .replace(/\$__timeFilter\(([^)]+)\)/g, `$1 BETWEEN '${from.toISOString()}' AND '${to.toISOString()}'`)
    .replaceAll('$__timeFrom()', `'${from.toISOString()}'`)
    .replaceAll('$__timeTo()', `'${to.toISOString()}'`)
    .replace(/\$\{(agent|category):regex\}/g, '.*');
}

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

      const query = async (expr: string) => {
        const res = await fetch(`http://127.0.0.1:${promPort}/api/v1/query`, {
          method: 'POST',
          body: new URLSearchParams({ query: expr }),
        }).catch(() => undefined);
        if (!res) return { http: 0, body: undefined as Json | undefined };
        return { http: res.status, body: (await res.json()) as Json };
      };
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
            const { http, body } = await query(expr);
            const result = (body?.data?.result ?? []) as { value: [number, string] }[];
            if (http !== 200 || body?.status !== 'success') fail(where, `HTTP ${http} ${body?.error ?? ''} — ${expr}`, target.expr, false);
            else if (result.length === 0) fail(where, `no data — ${expr}`, target.expr, true);
            else if (result.every((r) => r.value[1] === 'NaN')) fail(where, `only NaN — ${expr}`, target.expr, true);
            else report.push(`  ok   ${where}: ${result.length} series`);
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

/**
 * `npm run demo` is alive at once, at any hour: started when it is night in the simulation's
 * time zone (Europe/Berlin when it is night there, else a zone where it is), with a real
 * Prometheus scraping it every 15 s as prometheus/prometheus.yml does,
 * - within 20 s /metrics shows messages and first responses;
 * - within 3 minutes at least 90 % of the dashboards' Prometheus panels return data, CSAT included,
 *   queried the way Grafana sends them (the default 6-hour range).
 * These are the demo's promises (docs/dashboards.md), so they are the deadlines; the real times
 * are printed, and the test ends as soon as both hold. The 20 s are counted from when the
 * exporter is ready: before that, the time is the embedded database's first start (initdb),
 * which takes 3 s on an idle machine and over 20 s on this project's shared 2-core one; what the
 * demo itself does (start the calendar on shift, replay the recent past) must show within 20 s
 * of it. The time from the start of the process is printed beside it.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { freePort } from './support/process.ts';
import { dashboards, type Json, noData, panelsOf, promQuery, substitutePromQL } from './support/panels.ts';
import { type MonitoringStack, startMonitoring } from './support/prometheus.ts';
import { skipUnless } from './support/tools.ts';

const ROOT = fileURLToPath(new URL('../', import.meta.url));
const ALIVE_WITHIN_MS = 20_000;
const PANELS_WITHIN_MS = 180_000;
const PANEL_SHARE = 0.9;
/** The exporter must at least start (the embedded database's initdb on a busy machine). */
const STARTUP_LIMIT_MS = 120_000;

/** A time zone where it is night now (02:00–04:59): Europe/Berlin if it is night there. */
function nightZone(now: Date): string {
  const hourIn = (timeZone: string) =>
    Number(new Intl.DateTimeFormat('en-GB', { timeZone, hour: '2-digit', hourCycle: 'h23' }).format(now));
  if (hourIn('Europe/Berlin') >= 2 && hourIn('Europe/Berlin') < 5) return 'Europe/Berlin';
  for (let offset = -12; offset <= 14; offset++) {
    // Etc/GMT-3 is three hours ahead of UTC (the signs are inverted).
    const zone = offset === 0 ? 'Etc/GMT' : `Etc/GMT${offset > 0 ? '-' : '+'}${Math.abs(offset)}`;
    if (hourIn(zone) === 3) return zone;
  }
  throw new Error('no night zone');
}

/** The sum of one family's samples on the exporter's /metrics. */
async function total(url: string, name: string): Promise<number> {
  const text = await (await fetch(`${url}/metrics`)).text();
  return text
    .split('\n')
    .filter((line) => line.startsWith(`${name}{`) || line.startsWith(`${name} `))
    .reduce((sum, line) => sum + Number(line.split(' ').pop()), 0);
}

describe('npm run demo, started at night, with a real Prometheus', { skip: skipUnless('prometheus') }, () => {
  let stack: MonitoringStack | undefined;
  after(() => stack?.stop());

  it('shows messages and first responses within 20 s and 90 % of the Prometheus panels within 3 minutes, CSAT included', async (t) => {
    const timeZone = nightZone(new Date());
    const port = await freePort();
    const dataDir = mkdtempSync(join(tmpdir(), 'wa-demo-'));
    // A user's Prometheus is already running when the demo starts: prometheus/demo.yml, the
    // configuration the README gives for the demo (its scrape interval, 15 s; the port moves).
    stack = await startMonitoring({ exporterPort: port, interval: '15s', configFile: 'demo.yml' });
    const url = `http://127.0.0.1:${port}`;
    const began = Date.now();
    const demo = spawn(process.execPath, ['--import', 'tsx', 'src/demo/demo.ts', '--port', String(port), '--time-zone', timeZone], {
      cwd: ROOT,
      env: { ...process.env, DATA_DIR: dataDir, LOG_LEVEL: 'warn' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let out = '';
    demo.stdout.on('data', (chunk) => (out += chunk));
    demo.stderr.on('data', (chunk) => (out += chunk));
    const exited = new Promise((resolve) => demo.once('exit', resolve));
    const seconds = (ms: number) => `${(ms / 1000).toFixed(1)} s`;
    try {
      // 1. /metrics: messages and first responses. (When the exporter answers at all is printed too:
      // most of the time before it is the embedded database's first start, initdb.)
      let ready: number | undefined;
      while (ready === undefined && Date.now() - began < STARTUP_LIMIT_MS && demo.exitCode === null) {
        if ((await fetch(`${url}/readyz`).catch(() => undefined))?.status === 200) ready = Date.now() - began;
        else await new Promise((r) => setTimeout(r, 100));
      }
      assert.ok(ready !== undefined, `the demo's exporter is ready within ${seconds(STARTUP_LIMIT_MS)}\n${out}`);
      let alive: { ms: number; messages: number; firstResponses: number } | undefined;
      while (!alive && Date.now() - began < ready + ALIVE_WITHIN_MS && demo.exitCode === null) {
        const [messages, firstResponses] = await Promise.all([
          total(url, 'whatsapp_messages_total'),
          total(url, 'whatsapp_first_response_seconds_count'),
        ]).catch(() => [0, 0]);
        if (messages > 0 && firstResponses > 0) alive = { ms: Date.now() - began, messages, firstResponses };
        else await new Promise((r) => setTimeout(r, 250));
      }
      assert.ok(alive, `messages and first responses on /metrics within ${seconds(ALIVE_WITHIN_MS)} of the exporter being ready\n${out}`);
      t.diagnostic(
        `demo (${timeZone}, night): exporter ready after ${seconds(ready)}; /metrics alive after ${seconds(alive.ms)} (${seconds(alive.ms - ready)} after ready) — ${alive.messages} messages, ${alive.firstResponses} first responses`,
      );
      assert.match(out, /calendar {3}starts Monday 10:00/, 'the simulated calendar starts at a busy weekday hour, not at the night hour');

      // 2. The Prometheus panels, every 15 s (a scrape interval) until 90 % have data and CSAT has.
      const panels = dashboards.flatMap((d) =>
        panelsOf(d)
          .filter((p) => (p.targets as Json[]).some((t) => t.expr))
          .map((p) => ({
            where: `${d.uid.replace('whatsapp-helpdesk-', '')} / ${p.title}`,
            targets: (p.targets as Json[]).filter((t) => t.expr),
          })),
      );
      const csat = panels.find((p) => p.where.startsWith('overview / CSAT'))!;
      let covered: { ms: number; withData: number; missing: string[] } | undefined;
      let last: { withData: number; missing: string[] } = { withData: 0, missing: [] };
      while (Date.now() - began < PANELS_WITHIN_MS) {
        const missing: string[] = [];
        let csatHasData = false;
        for (const panel of panels) {
          const answers = await Promise.all(panel.targets.map((t) => promQuery(stack!.promPort, substitutePromQL(t.expr, '6h', '1m'))));
          const hasData = answers.some((a) => noData(a) === undefined);
          if (!hasData) missing.push(panel.where);
          if (panel === csat) csatHasData = hasData;
        }
        last = { withData: panels.length - missing.length, missing };
        if (last.withData >= PANEL_SHARE * panels.length && csatHasData) {
          covered = { ms: Date.now() - began, ...last };
          break;
        }
        await new Promise((r) => setTimeout(r, 15_000));
      }
      const share = (n: number) => `${n}/${panels.length} (${Math.round((100 * n) / panels.length)} %)`;
      t.diagnostic(
        `demo: ${covered ? `${share(covered.withData)} Prometheus panels with data after ${seconds(covered.ms)}` : `only ${share(last.withData)} after ${seconds(PANELS_WITHIN_MS)}`}; without data: ${last.missing.join('; ') || 'none'}`,
      );
      assert.ok(covered, `${PANEL_SHARE * 100} % of the Prometheus panels, CSAT included, within ${seconds(PANELS_WITHIN_MS)}`);
    } finally {
      demo.kill('SIGTERM');
      await Promise.race([exited, new Promise((r) => setTimeout(r, 20_000))]);
      if (demo.exitCode === null) demo.kill('SIGKILL');
      rmSync(dataDir, { recursive: true, force: true });
    }
  });
});

/**
 * Real Prometheus and Alertmanager for end-to-end tests, run with the repository's own
 * configuration: only addresses move to loopback and timings shrink (intervals 1 s, `for:` 1 s).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parse, stringify } from 'yaml';
import { RULES_FILE } from '../../prometheus/generate.ts';
import { freePort } from './process.ts';
import { findTool } from './tools.ts';

const PROM_DIR = fileURLToPath(new URL('../../prometheus/', import.meta.url));

export async function waitFor<T>(what: string, probe: () => Promise<T | undefined> | T | undefined, timeoutMs = 40_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 250));
  }
}

export interface MonitoringStack {
  promPort: number;
  amPort: number;
  /** An instant query; undefined until Prometheus answers. */
  query(expr: string): Promise<{ metric: Record<string, string>; value: [number, string] }[] | undefined>;
  /** Resolves once Prometheus has scraped the exporter. */
  scraped(timeoutMs?: number): Promise<void>;
  /** Stops the processes (waiting for them to exit) and removes their files. */
  stop(): Promise<void>;
}

/**
 * Starts Prometheus scraping the exporter on `exporterPort`, with the repo's rules; and, when
 * `alertWebhookPort` is given, Alertmanager with the repo's routing, every receiver's webhook
 * pointed at `http://127.0.0.1:<alertWebhookPort>/<receiver name>`.
 */
export async function startMonitoring(options: {
  exporterPort: number;
  alertWebhookPort?: number;
  /** The exporter's METRICS_TOKEN: Prometheus reads it from a file, as prometheus.yml says. */
  metricsToken?: string;
  /** Scrape and evaluation interval (default 1s); `for:` still shrinks to 1s. */
  interval?: string;
  /** The configuration under prometheus/ to run (default prometheus.yml; demo.yml is the demo's). */
  configFile?: string;
}): Promise<MonitoringStack> {
  const dir = mkdtempSync(join(tmpdir(), 'wa-monitoring-'));
  const [promPort, amPort] = [await freePort(), await freePort()];
  const prom = parse(readFileSync(join(PROM_DIR, options.configFile ?? 'prometheus.yml'), 'utf8'));
  const interval = options.interval ?? '1s';
  prom.global = { scrape_interval: interval, evaluation_interval: interval, scrape_timeout: interval === '1s' ? '1s' : '10s' };
  prom.rule_files = [join(dir, 'rules.yml')];
  if (prom.alerting) prom.alerting.alertmanagers[0].static_configs[0].targets = [`127.0.0.1:${amPort}`];
  prom.scrape_configs[0].static_configs[0].targets = [`127.0.0.1:${options.exporterPort}`];
  writeFileSync(join(dir, 'metrics_token'), options.metricsToken ?? 'no-token-set');
  if (prom.scrape_configs[0].authorization) prom.scrape_configs[0].authorization.credentials_file = join(dir, 'metrics_token');
  writeFileSync(join(dir, 'prometheus.yml'), stringify(prom));
  const rules = parse(readFileSync(RULES_FILE, 'utf8'));
  // An absent target is normal until the first scrape (5 s after start): that alert keeps its `for`.
  for (const group of rules.groups)
    for (const rule of group.rules) if (rule.for && rule.alert !== 'WhatsAppExporterAbsent') rule.for = '1s';
  writeFileSync(join(dir, 'rules.yml'), stringify(rules));

  const children: ChildProcess[] = [];
  if (options.alertWebhookPort !== undefined) {
    const am = parse(readFileSync(join(PROM_DIR, 'alertmanager.yml'), 'utf8'));
    Object.assign(am.route, { group_wait: '1s', group_interval: '1s' });
    for (const route of am.route.routes) if (route.group_wait) route.group_wait = '1s';
    for (const receiver of am.receivers)
      for (const hook of receiver.webhook_configs ?? []) hook.url = `http://127.0.0.1:${options.alertWebhookPort}/${receiver.name}`;
    writeFileSync(join(dir, 'alertmanager.yml'), stringify(am));
    children.push(
      startProcess(findTool('prometheus-alertmanager')!, [
        `--config.file=${join(dir, 'alertmanager.yml')}`,
        `--storage.path=${join(dir, 'am')}`,
        `--web.listen-address=127.0.0.1:${amPort}`,
        '--cluster.listen-address=',
      ]),
    );
  }
  children.push(
    startProcess(findTool('prometheus')!, [
      `--config.file=${join(dir, 'prometheus.yml')}`,
      `--storage.tsdb.path=${join(dir, 'tsdb')}`,
      `--web.listen-address=127.0.0.1:${promPort}`,
    ]),
  );

  const query: MonitoringStack['query'] = async (expr) => {
    const res = await fetch(`http://127.0.0.1:${promPort}/api/v1/query?query=${encodeURIComponent(expr)}`).catch(() => undefined);
    return res?.ok
      ? ((await res.json()) as { data: { result: { metric: Record<string, string>; value: [number, string] }[] } }).data.result
      : undefined;
  };
  return {
    promPort,
    amPort,
    query,
    async scraped(timeoutMs = 40_000) {
      await waitFor('Prometheus to scrape the exporter', async () => ((await query('up == 1'))?.length ? true : undefined), timeoutMs);
    },
    async stop() {
      await Promise.all(
        children.map(
          (child) =>
            new Promise((resolve) => {
              if (child.exitCode !== null) return resolve(null);
              child.once('exit', resolve);
              child.kill('SIGTERM');
            }),
        ),
      );
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

function startProcess(binary: string, args: string[]): ChildProcess {
  const child = spawn(binary, args, { stdio: ['ignore', 'ignore', 'pipe'] });
  child.stderr!.resume();
  return child;
}

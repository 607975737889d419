/**
 * How the rules, dashboards and docs find the exporter — the one place to change it, as the
 * `_config` of a monitoring mixin. `npm run rules` and `npm run dashboards` generate everything
 * from it: prometheus/rules/, grafana/dashboards/, docs/alerts.md and the PrometheusRule and
 * dashboard ConfigMaps under deploy/kubernetes/. A test fails when a committed file differs.
 *
 * A deployment with other values renders its own copy without editing the repository:
 *
 *   npm run rules -- --selector='job="helpdesk", namespace="support"' \
 *     --runbook-url=https://git.example.org/ops/whatsapp-helpdesk-exporter/-/blob/main/docs/runbook.md \
 *     --out=./my-monitoring
 *
 * (the same flags work for `npm run dashboards`).
 */
import { parseArgs } from 'node:util';

export interface MonitoringConfig {
  /**
   * PromQL label matchers that select the exporter's scrape targets, used with `up` (target down
   * or absent) and on the Exporter dashboard. Prometheus names the job after the scrape config
   * (docker compose, prometheus/prometheus.yml) or, with the Prometheus Operator, after the
   * Service the ServiceMonitor selects (deploy/kubernetes/, service whatsapp-helpdesk-exporter).
   * The whatsapp_* metrics are matched by name alone, so the helpdesk alerts and dashboards work
   * whatever the job is called; only the exporter's own health needs this selector.
   */
  exporterSelector: string;
  /**
   * Where your team reads docs/runbook.md. Every alert's runbook_url is this followed by
   * `#<alert name in lower case>`, the anchor of the alert's section. The default is the path of
   * the runbook in this repository, which names the right section but is not a web address: set
   * it to the runbook on your Git host or wiki.
   */
  runbookBaseUrl: string;
}

export const DEFAULT_CONFIG: Readonly<MonitoringConfig> = Object.freeze({
  exporterSelector: 'job="whatsapp-helpdesk-exporter"',
  runbookBaseUrl: 'docs/runbook.md',
});

/** The runbook link of one alert. */
export function runbookUrl(config: MonitoringConfig, alert: string): string {
  return `${config.runbookBaseUrl}#${alert.toLowerCase()}`;
}

/** `up` restricted to the exporter's targets, plus any extra matchers. */
export function exporterUp(config: MonitoringConfig, extra = ''): string {
  return `up{${[config.exporterSelector, extra].filter(Boolean).join(', ')}}`;
}

const MATCHER = /^\s*[a-zA-Z_][a-zA-Z0-9_]*\s*(=|!=|=~|!~)\s*"(?:[^"\\]|\\.)*"\s*$/;

export interface GeneratorOptions {
  config: MonitoringConfig;
  /** Write into this directory instead of the repository (a deployment's own copy). */
  out?: string;
  /** Compare only; exit 1 when a committed file is out of date. */
  check: boolean;
}

/** Command line of `npm run rules` and `npm run dashboards`. Throws with one line on a bad flag. */
export function parseGeneratorArgs(args: string[]): GeneratorOptions {
  const { values } = parseArgs({
    args,
    options: { selector: { type: 'string' }, 'runbook-url': { type: 'string' }, out: { type: 'string' }, check: { type: 'boolean' } },
    strict: true,
  });
  const config = { ...DEFAULT_CONFIG };
  if (values.selector !== undefined) {
    const matchers = splitMatchers(values.selector);
    if (matchers.length === 0 || !matchers.every((m) => MATCHER.test(m)))
      throw new Error(`--selector: "${values.selector}" is not a list of label matchers, e.g. job="helpdesk", namespace="support"`);
    config.exporterSelector = matchers.map((m) => m.trim()).join(', ');
  }
  if (values['runbook-url'] !== undefined) {
    if (!/^\S+$/.test(values['runbook-url']) || values['runbook-url'].includes('#'))
      throw new Error(`--runbook-url: "${values['runbook-url']}" must be a URL without spaces or #anchor (the alert's anchor is appended)`);
    config.runbookBaseUrl = values['runbook-url'];
  }
  if (values.check && values.out) throw new Error('--check compares the committed files; it cannot be combined with --out');
  return { config, out: values.out, check: values.check ?? false };
}

/** Splits `a="x", b=~"y,z"` at the commas between matchers (not those inside quotes). */
function splitMatchers(text: string): string[] {
  const parts: string[] = [];
  let current = '';
  let quoted = false;
  for (let i = 0; i < text.length; i++) {
    const c = text[i]!;
    if (c === '\\' && quoted) {
      current += c + (text[++i] ?? '');
      continue;
    }
    if (c === '"') quoted = !quoted;
    if (c === ',' && !quoted) {
      parts.push(current);
      current = '';
    } else current += c;
  }
  if (current.trim()) parts.push(current);
  return parts;
}

/**
 * The metric contract beyond the golden file (test/kpis.test.ts): every family the exporter
 * registers is documented in docs/metrics.md under its exact labels, with a PromQL example; and
 * every histogram bound (`le`) and waiting threshold (`over_seconds`) that the alert rules and
 * dashboards select exists — a threshold that is no bucket would silently never match.
 */
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { after, before, describe, it } from 'node:test';
import type { App } from '../src/app.ts';
import { WAITING_THRESHOLDS } from '../src/metrics/conversation-gauges.ts';
import { openTestApp } from './support/app.ts';
import type { TestDatabase } from './support/database.ts';

let db: TestDatabase;
let app: App;
before(async () => ({ db, app } = await openTestApp()));
after(() => db.drop());

const read = (path: string) => readFileSync(new URL(`../${path}`, import.meta.url), 'utf8');

/** The families the exporter registers (prom-client's process and Node.js metrics are documented as a group). */
function families(): { name: string; type: string; labels: string[]; buckets?: number[] }[] {
  type Registered = { name: string; type: string; labelNames?: string[]; upperBounds?: number[] };
  return (app.registry.getMetricsAsArray() as unknown as Registered[])
    .filter((m) => m.name.startsWith('whatsapp_'))
    .map((m) => ({
      name: m.name,
      type: String(m.type),
      labels: [...(m.labelNames ?? [])].filter((l) => l !== 'le').sort(),
      buckets: m.upperBounds,
    }));
}

/** `### \`a{x, y}\` and \`b{x}\` — counters` → [{name: a, labels: [x, y]}, {name: b, labels: [x]}], with the section text. */
function documented(): Map<string, { labels: string[]; section: string }> {
  const doc = read('docs/metrics.md');
  const sections = doc.split(/^(?=### )/m);
  const out = new Map<string, { labels: string[]; section: string }>();
  for (const section of sections) {
    const heading = section.split('\n')[0]!;
    if (!heading.startsWith('### ')) continue;
    for (const [, name, labels] of heading.matchAll(/`(whatsapp_[a-z_]+)(?:\{([^}]*)\})?`/g)) {
      out.set(name!, {
        labels: (labels ?? '')
          .split(',')
          .map((l) => l.trim())
          .filter(Boolean)
          .sort(),
        section,
      });
    }
  }
  return out;
}

describe('the metric contract', () => {
  it('documents every family in docs/metrics.md under its exact labels, with a PromQL example', () => {
    const docs = documented();
    const problems: string[] = [];
    const registered = families();
    assert.ok(registered.length > 30, 'the families were read');
    for (const family of registered) {
      const entry = docs.get(family.name);
      if (!entry) {
        problems.push(`${family.name}: not documented (a heading "### \`${family.name}{${family.labels.join(', ')}}\` — ${family.type}")`);
        continue;
      }
      if (entry.labels.join(',') !== family.labels.join(',')) {
        problems.push(`${family.name}: documented with {${entry.labels.join(', ')}}, registered with {${family.labels.join(', ')}}`);
      }
      if (!/```(promql)?\n[\s\S]*?```/.test(entry.section)) problems.push(`${family.name}: no PromQL example in its section`);
    }
    const names = new Set(registered.map((f) => f.name));
    for (const name of docs.keys()) if (!names.has(name)) problems.push(`${name}: documented but not registered`);
    assert.deepEqual(problems, []);
  });

  it('selects only real histogram bounds and waiting thresholds in the rules and dashboards', () => {
    const buckets = new Map(families().flatMap((f) => (f.buckets ? [[f.name, f.buckets] as const] : [])));
    const sources = [
      { file: 'prometheus/rules/whatsapp-helpdesk.rules.yml', text: read('prometheus/rules/whatsapp-helpdesk.rules.yml') },
      ...readdirSync(new URL('../grafana/dashboards/', import.meta.url))
        .filter((f) => f.endsWith('.json'))
        // Dashboard JSON escapes quotes and backslashes; unescape so one pattern reads both.
        .map((f) => ({
          file: `grafana/dashboards/${f}`,
          text: JSON.stringify(JSON.parse(read(`grafana/dashboards/${f}`)))
            .replace(/\\"/g, '"')
            .replace(/\\\\/g, '\\'),
        })),
    ];
    const problems: string[] = [];
    let checked = 0;
    for (const { file, text } of sources) {
      for (const [, metric, labels] of text.matchAll(/(whatsapp_[a-z_]+)_bucket\{([^}]*)\}/g)) {
        const le = /\ble=~?"([0-9.e+]+)/.exec(labels!)?.[1];
        if (le === undefined) continue;
        checked += 1;
        if (!buckets.get(metric!)?.includes(Number(le)))
          problems.push(`${file}: ${metric}_bucket{le="${le}"} is not a bucket of ${metric}`);
      }
      for (const [, over] of text.matchAll(/over_seconds=~?"([0-9]+)"/g)) {
        checked += 1;
        if (!(WAITING_THRESHOLDS as readonly number[]).includes(Number(over))) {
          problems.push(`${file}: over_seconds="${over}" is not one of ${WAITING_THRESHOLDS.join(', ')}`);
        }
      }
    }
    assert.ok(checked >= 5, `found the selectors to check (${checked})`);
    assert.deepEqual(problems, []);
  });
});

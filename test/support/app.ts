/** Builds the app the way main.ts does, with test settings and a silent logger. */
import { createApp, type App } from '../../src/app.ts';
import { loadConfig, type Config } from '../../src/config/config.ts';
import type { Database } from '../../src/storage/database.ts';
import request from 'supertest';
import { APP_SECRET, signed, VERIFY_TOKEN } from './meta.ts';
import { createTestDatabase, silentLogger, type TestDatabase } from './database.ts';

export const EVENTS_TOKEN = 'test-events-token';

export function testConfig(overrides: Record<string, string> = {}): Config {
  const result = loadConfig({
    WHATSAPP_APP_SECRET: APP_SECRET,
    WHATSAPP_VERIFY_TOKEN: VERIFY_TOKEN,
    EVENTS_API_TOKEN: EVENTS_TOKEN,
    LOG_LEVEL: 'silent',
    // Facts count at once unless a test sets SETTLE_AFTER (the timeline tests do).
    SETTLE_AFTER: '0s',
    // A POST's effects are in the database when it is answered; test/ingest-queue.test.ts covers
    // the default (answered once stored, applied right behind).
    WEBHOOK_ACK: 'applied',
    ...overrides,
  });
  if (!result.ok) throw new Error(result.errors.join('\n'));
  return result.config;
}

export function testApp(database: Database, overrides: Record<string, string> = {}, isReady?: () => boolean): App {
  return createApp({ config: testConfig(overrides), database, logger: silentLogger, isReady });
}

/** The value of one series, 0 when it was never observed. */
export async function metricValue(app: App, name: string, labels: Record<string, string> = {}): Promise<number> {
  const metric = app.registry.getSingleMetric(name);
  if (!metric) throw new Error(`no metric ${name}`);
  const { values } = await metric.get();
  return values
    .filter((v) => (v as { metricName?: string }).metricName === undefined || (v as { metricName?: string }).metricName === name)
    .filter((v) => Object.entries(labels).every(([k, want]) => String((v.labels as Record<string, unknown>)[k]) === want))
    .reduce((sum, v) => sum + v.value, 0);
}

/** GETs /metrics and parses it: `name{a="1",b="2"}` (labels sorted) → value. */
export async function scrape(app: App): Promise<Map<string, number>> {
  const { default: request } = await import('supertest');
  const res = await request(app.express).get('/metrics');
  if (res.status !== 200) throw new Error(`/metrics answered ${res.status}`);
  const series = new Map<string, number>();
  for (const line of res.text.split('\n')) {
    if (line === '' || line.startsWith('#')) continue;
    const match = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})? (\S+)$/.exec(line);
    if (!match) continue;
    const labels = [...(match[2] ?? '').matchAll(/([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"/g)].map((m) => `${m[1]}="${m[2]}"`).sort();
    series.set(`${match[1]}{${labels.join(',')}}`, Number(match[3]));
  }
  return series;
}

/** One series' value from a scrape: labels given as an object, missing series as undefined. */
export function sample(series: Map<string, number>, name: string, labels: Record<string, string> = {}): number | undefined {
  const key = `${name}{${Object.entries(labels)
    .map(([k, v]) => `${k}="${v}"`)
    .sort()
    .join(',')}}`;
  return series.get(key);
}

/** A fresh test database with an app on it (for a test file's `before`). */
export async function openTestApp(overrides: Record<string, string> = {}): Promise<{ db: TestDatabase; app: App }> {
  const db = await createTestDatabase();
  return { db, app: testApp(db.database, overrides) };
}

/** The sum of every series of `name` whose labels include `labels` (e.g. across categories). */
export function total(series: Map<string, number>, name: string, labels: Record<string, string> = {}): number {
  const wanted = Object.entries(labels).map(([k, v]) => `${k}="${v}"`);
  let sum = 0;
  for (const [key, value] of series) {
    const open = key.indexOf('{');
    if (key.slice(0, open) !== name) continue;
    const have = key.slice(open + 1, -1).split(',');
    if (wanted.every((w) => have.includes(w))) sum += value;
  }
  return sum;
}

/** `whatsapp_webhook_requests_total` of one provider, by outcome. */
export async function webhookOutcomes(app: App, provider: string): Promise<Record<string, number>> {
  const outcomes = ['accepted', 'duplicate', 'rejected_signature', 'rejected_payload', 'error'];
  const values = await Promise.all(outcomes.map((outcome) => metricValue(app, 'whatsapp_webhook_requests_total', { provider, outcome })));
  return Object.fromEntries(outcomes.map((outcome, i) => [outcome, values[i]!]));
}

/** What changed between two readings of the same counters (unchanged ones left out). */
export function changes(before: Record<string, number>, after: Record<string, number>): Record<string, number> {
  return Object.fromEntries(Object.entries(after).flatMap(([k, v]) => (v === (before[k] ?? 0) ? [] : [[k, v - (before[k] ?? 0)]])));
}

/** POSTs a Meta webhook to the app, serialised and signed the way Meta signs (with APP_SECRET, unless another secret is given). */
export function postWebhook(target: App, payload: unknown, secret = APP_SECRET) {
  const { body, signature } = signed(payload, secret);
  return request(target.express)
    .post('/webhooks/whatsapp')
    .set('Content-Type', 'application/json')
    .set('X-Hub-Signature-256', signature)
    .send(body);
}

/** POSTs helpdesk events (one or an array) to the events API with the bearer token. */
export function postEvents(target: App, events: unknown, token = EVENTS_TOKEN) {
  return request(target.express)
    .post('/api/v1/events')
    .set('Authorization', `Bearer ${token}`)
    .send(events as object);
}

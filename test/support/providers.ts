/**
 * Chatwoot and respond.io webhooks for tests: the constructed fixtures under test/fixtures/<provider>/
 * with fields overridden, serialised, signed the way each provider signs, and posted.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import request from 'supertest';
import type { App } from '../../src/app.ts';
import { Simulator } from '../../src/demo/simulator.ts';
import { signChatwoot } from '../../src/ingest/chatwoot/signature.ts';
import { signRespondio } from '../../src/ingest/respondio/signature.ts';
import { EVENTS_TOKEN, scrape, total } from './app.ts';
import { APP_SECRET, PHONE_NUMBER_ID } from './meta.ts';

export const CHATWOOT_SECRET = 'test-chatwoot-secret-0123456789';
export const RESPONDIO_KEYS = ['test-respondio-key-received-0123', 'test-respondio-key-sent-4567890'];

type Json = Record<string, unknown>;
const FIXTURES = join(import.meta.dirname, '..', 'fixtures');

function read(provider: string, name: string): Json {
  return JSON.parse(readFileSync(join(FIXTURES, provider, `${name}.json`), 'utf8')) as Json;
}

/** Deep merge: objects merge key by key, anything else (arrays included) replaces; `undefined` removes a key. */
export function merge(base: unknown, override: unknown): unknown {
  if (!isObject(base) || !isObject(override)) return override;
  const out: Json = { ...base };
  for (const [key, value] of Object.entries(override)) {
    if (value === undefined) delete out[key];
    else out[key] = merge(base[key], value);
  }
  return out;
}

function isObject(value: unknown): value is Json {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/**
 * A Chatwoot webhook: message fixtures get the conversation of conversation.json under
 * `conversation`, conversation events are conversation.json itself plus the event's fields.
 */
export function chatwootFixture(name: string, overrides: Json = {}): Json {
  const conversation = read('chatwoot', 'conversation');
  const fixture = read('chatwoot', name);
  const base = name.startsWith('message_')
    ? { ...fixture, conversation: merge(conversation, fixture.conversation ?? {}) }
    : merge(conversation, fixture);
  return merge(base, overrides) as Json;
}

export function respondioFixture(name: string, overrides: Json = {}): Json {
  return merge(read('respondio', name), overrides) as Json;
}

export interface ChatwootSigning {
  secret?: string;
  /** Unix seconds the signature claims; default now. */
  timestamp?: number;
  delivery?: string;
  /** Send without X-Chatwoot-Signature and X-Chatwoot-Timestamp. */
  unsigned?: boolean;
  /** Replace the signature header. */
  signature?: string;
}

/** Serialises like Rails' to_json (`<`, `>`, `&` escaped), signs over "<timestamp>.<body>" and posts. */
export function postChatwoot(app: App, payload: unknown, signing: ChatwootSigning = {}) {
  const body = chatwootJson(payload);
  const timestamp = signing.timestamp ?? Math.floor(Date.now() / 1000);
  let req = request(app.express).post('/webhooks/chatwoot').set('Content-Type', 'application/json');
  if (!signing.unsigned) {
    req = req
      .set('X-Chatwoot-Timestamp', String(timestamp))
      .set('X-Chatwoot-Signature', signing.signature ?? signChatwoot(signing.secret ?? CHATWOOT_SECRET, timestamp, body));
  }
  if (signing.delivery) req = req.set('X-Chatwoot-Delivery', signing.delivery);
  return req.send(body);
}

/** JSON as Rails' to_json writes it: HTML-significant characters and U+2028/2029 escaped. */
export function chatwootJson(payload: unknown): string {
  return JSON.stringify(payload).replace(/[<>&\u2028\u2029]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`);
}

export function postRespondio(app: App, payload: unknown, options: { key?: string; signature?: string; raw?: string } = {}) {
  const body = options.raw ?? JSON.stringify(payload);
  return request(app.express)
    .post('/webhooks/respondio')
    .set('Content-Type', 'application/json')
    .set('X-Webhook-Signature', options.signature ?? signRespondio(options.key ?? RESPONDIO_KEYS[0]!, body))
    .send(body);
}

/**
 * Drives an app with the demo simulator speaking `provider` for a few seconds (a calendar morning
 * with agents on shift, conversations at 30× pace); returns the simulator's statistics.
 */
async function simulate(app: App, provider: string, secrets: Record<string, string>, durationMs: number) {
  const server = app.express.listen(0, '127.0.0.1');
  await new Promise((resolve) => server.once('listening', resolve));
  try {
    const simulator = new Simulator({
      seed: 7,
      start: new Date(),
      calendarStart: new Date('2026-11-23T08:30:00Z'),
      speed: 720,
      pace: 30,
      peakPerHour: 600,
      target: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
      appSecret: APP_SECRET,
      eventsToken: EVENTS_TOKEN,
      provider,
      providerSecrets: secrets,
      durationMs,
      lookaheadMs: 4_000,
      log: (line) => console.log(`simulator: ${line}`),
    });
    return await simulator.run();
  } finally {
    server.closeAllConnections();
    await new Promise((resolve) => server.close(resolve));
  }
}

/** The simulator speaking `provider` feeds an app on PHONE_NUMBER_ID: every request accepted, none at Meta's endpoint, and KPIs of bots, agents and presence. */
export async function assertSimulatorSpeaks(app: App, provider: string, secrets: Record<string, string>): Promise<void> {
  const stats = await simulate(app, provider, secrets, 8_000);
  assert.ok(stats.conversations >= 10, `${stats.conversations} conversations`);
  assert.equal(stats.failedRequests, 0, 'every simulated request was accepted');
  const series = await scrape(app);
  assert.equal(total(series, 'whatsapp_webhook_requests_total', { provider: 'meta' }), 0, 'nothing went to the Meta endpoint');
  assert.ok(total(series, 'whatsapp_webhook_requests_total', { provider, outcome: 'accepted' }) > 30);
  for (const [name, labels] of [
    ['whatsapp_conversations_opened_total', { business_number: PHONE_NUMBER_ID }],
    ['whatsapp_first_response_seconds_count', { responder: 'bot' }],
    ['whatsapp_first_response_seconds_count', { responder: 'agent' }],
    ['whatsapp_messages_total', { direction: 'outbound', sender: 'agent' }],
    ['whatsapp_agent_online', {}],
  ] as const) {
    assert.ok(total(series, name, labels) > 0, `${name} ${JSON.stringify(labels)}`);
  }
}

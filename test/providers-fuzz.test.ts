/**
 * Property-based fuzzing (fast-check) of the Twilio and WATI endpoints over real HTTP into a real
 * database: authenticated requests whose parameters or fields are replaced, dropped, retyped,
 * made huge or filled with broken Unicode; truncated and random bodies; wrong content types.
 * Whatever arrives, the answer is below 500 and, when it is an error, says what is wrong. Set
 * FUZZ_RUNS to fuzz longer, FUZZ_SEED to replay.
 */
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import { after, before, describe, it } from 'node:test';
import fc from 'fast-check';
import { createApp } from '../src/app.ts';
import { createHttpServer, listen } from '../src/http/server.ts';
import { bodySha256, formParams, twilioSignature } from '../src/ingest/twilio/signature.ts';
import { testConfig } from './support/app.ts';
import { createTestDatabase, silentLogger, type TestDatabase } from './support/database.ts';
import { PUBLIC_URL, TWILIO_SETTINGS, TWILIO_TOKEN } from './support/twilio.ts';
import { WATI_SETTINGS, WATI_TOKEN } from './support/wati.ts';

const RUNS = Number(process.env.FUZZ_RUNS ?? 60);
const SEED = process.env.FUZZ_SEED ? Number(process.env.FUZZ_SEED) : undefined;
const settings = { numRuns: RUNS, seed: SEED, endOnFailure: true };

let db: TestDatabase;
let server: ReturnType<typeof createHttpServer>;
let base: string;

before(async () => {
  db = await createTestDatabase();
  const app = createApp({
    config: testConfig({ ...TWILIO_SETTINGS, ...WATI_SETTINGS }),
    database: db.database,
    logger: silentLogger,
    authLimit: { maxFailures: 1_000_000, windowMs: 60_000, maxSources: 10 },
  });
  server = createHttpServer(app.express);
  await listen(server, 0, '127.0.0.1');
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});
after(async () => {
  server?.close();
  await db.drop();
});

const fixtures = (provider: string) => {
  const dir = new URL(`fixtures/${provider}/`, import.meta.url);
  return readdirSync(dir)
    .filter((name) => !name.endsWith('.md'))
    .map((name) => readFileSync(new URL(name, dir), 'utf8'));
};

/** Sends a request; the property: below 500, and an error of ours names its problem. Returns the status. */
async function mustNotFail(path: string, body: Uint8Array | string, headers: Record<string, string>): Promise<number> {
  const res = await fetch(`${base}${path}`, { method: 'POST', body, headers });
  const text = await res.text();
  if (res.status >= 500) assert.fail(`POST ${path} answered ${res.status}: ${text.slice(0, 300)}\nbody: ${String(body).slice(0, 300)}`);
  if (res.status >= 400 && res.headers.get('content-type')?.startsWith('application/json'))
    assert.match(text, /"error":\{"code":"[a-z_]+","message":/, `${res.status}: ${text.slice(0, 200)}`);
  return res.status;
}

const nasty = fc.oneof(
  fc.string({ maxLength: 40 }),
  fc.string({ unit: 'binary', maxLength: 40 }),
  fc.constantFrom(
    '\u0000',
    '\ud800',
    '\u202e',
    '💥💥',
    "'; DROP TABLE messages; --",
    'whatsapp:',
    'whatsapp:+',
    '+49151XXXX',
    'READ',
    'x=y&z',
  ),
  // Long and incompressible: too long for an index entry if it became a key.
  fc.uint8Array({ minLength: 2_500, maxLength: 6_000 }).map((bytes) => Buffer.from(bytes).toString('base64')),
  fc.integer({ min: 10_000, max: 200_000 }).map((n) => 'x'.repeat(n)),
);

const seen = () => {
  const statuses = new Set<number>();
  return {
    add: (s: number) => statuses.add(s),
    includes: (...wanted: number[]) => {
      for (const s of wanted) assert.ok(statuses.has(s), `never answered ${s}; saw ${[...statuses].join(', ')}`);
    },
  };
};

describe('fuzzing the Twilio and WATI endpoints never yields a 5xx', () => {
  it('POST /webhooks/twilio with signed, mutated form parameters and JSON bodies', async () => {
    const seeds = fixtures('twilio').filter((f) => !f.startsWith('['));
    const statuses = seen();
    await fc.assert(
      fc.asyncProperty(
        fc.nat(),
        fc.array(fc.tuple(fc.nat(), fc.constantFrom('replace', 'delete', 'add', 'duplicate'), nasty), { maxLength: 4 }),
        fc.boolean(),
        async (i, mutations, asJson) => {
          const params = [...new URLSearchParams(seeds[i % seeds.length]!)];
          for (const [at, kind, value] of mutations) {
            const index = at % Math.max(1, params.length);
            if (kind === 'replace' && params[index]) params[index] = [params[index]![0], value];
            else if (kind === 'delete') params.splice(index, 1);
            else if (kind === 'add') params.push([value.slice(0, 100), value]);
            else if (params[index]) params.push(params[index]!);
          }
          if (asJson) {
            const body = JSON.stringify(Object.fromEntries(params));
            const path = `/webhooks/twilio?bodySHA256=${bodySha256(body)}`;
            const signature = twilioSignature(TWILIO_TOKEN, PUBLIC_URL + path, {});
            statuses.add(await mustNotFail(path, body, { 'Content-Type': 'application/json', 'X-Twilio-Signature': signature }));
          } else {
            const body = new URLSearchParams(params).toString();
            const signature = twilioSignature(TWILIO_TOKEN, `${PUBLIC_URL}/webhooks/twilio`, formParams(body));
            statuses.add(
              await mustNotFail('/webhooks/twilio', body, {
                'Content-Type': 'application/x-www-form-urlencoded',
                'X-Twilio-Signature': signature,
              }),
            );
          }
        },
      ),
      settings,
    );
    statuses.includes(200, 400);
  });

  it('POST /webhooks/wati/<token> with mutated, truncated and random bodies', async () => {
    const seeds = fixtures('wati').map((text) => JSON.parse(text) as Record<string, unknown>);
    const value = fc.oneof(fc.jsonValue({ maxDepth: 2 }), nasty, fc.constantFrom(null, true, 0, -1, 1e308, [], {}));
    const statuses = seen();
    await fc.assert(
      fc.asyncProperty(
        fc.nat(),
        fc.array(fc.tuple(fc.nat(), fc.boolean(), value), { maxLength: 4 }),
        fc.double({ min: 0, max: 1.2, noNaN: true }),
        fc.constantFrom('application/json', 'text/plain', 'application/x-www-form-urlencoded'),
        async (i, mutations, cut, type) => {
          const event: Record<string, unknown> = { ...seeds[i % seeds.length]! };
          const keys = Object.keys(event);
          for (const [at, remove, v] of mutations) {
            const key = keys[at % keys.length]!;
            if (remove) delete event[key];
            else event[key] = v;
          }
          const text = JSON.stringify(cut > 1 ? [event, event] : event);
          const body = cut > 1 || cut > 0.9 ? text : text.slice(0, Math.floor(text.length * cut));
          statuses.add(await mustNotFail(`/webhooks/wati/${WATI_TOKEN}`, body, { 'Content-Type': type }));
        },
      ),
      settings,
    );
    statuses.includes(200, 400);
  });
});

/**
 * Property-based fuzzing (fast-check) of every webhook and events endpoint (Meta, Twilio, WATI,
 * the events API), over real HTTP into a
 * real database: valid requests mutated (values replaced by other JSON, keys dropped, types
 * swapped, huge strings, deep nesting, broken Unicode), truncated bodies, random bytes, wrong
 * content types and encodings, hostile query strings and paths. Whatever arrives, the answer is
 * never a 5xx and the process stays up. Set FUZZ_RUNS to fuzz longer, FUZZ_SEED to replay.
 */
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import { after, before, describe, it } from 'node:test';
import fc from 'fast-check';
import { createApp } from '../src/app.ts';
import { createHttpServer, listen } from '../src/http/server.ts';
import { signBody } from '../src/ingest/meta/signature.ts';
import { bodySha256, formParams, twilioSignature } from '../src/ingest/twilio/signature.ts';
import { EVENTS_TOKEN, testConfig } from './support/app.ts';
import { createTestDatabase, silentLogger, type TestDatabase } from './support/database.ts';
import {
  APP_SECRET,
  envelope,
  everyMessageType,
  inbound,
  messagesChange,
  PHONE_NUMBER_ID,
  status,
  statuses,
  textMessage,
  VERIFY_TOKEN,
} from './support/meta.ts';
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
  // Fuzzing sends many requests without credentials on purpose: the auth limiter is raised here
  // (http-hardening.test.ts tests it), so that the signed requests are not refused with 429.
  const app = createApp({
    config: testConfig({ RETENTION_DAYS: '1', ...TWILIO_SETTINGS, ...WATI_SETTINGS }),
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

interface Sent {
  method?: string;
  path: string;
  body?: Uint8Array | string;
  headers?: Record<string, string>;
}

/** Sends a request; the property: an answer below 500, from a server that is still up. Returns the status. */
async function mustNotFail(request: Sent): Promise<number> {
  const res = await fetch(`${base}${request.path}`, {
    method: request.method ?? 'POST',
    body: request.body,
    headers: request.headers,
  });
  const text = await res.text();
  if (res.status >= 500) {
    const shown = typeof request.body === 'string' ? request.body.slice(0, 300) : `${request.body?.length ?? 0} bytes`;
    assert.fail(`${request.method ?? 'POST'} ${request.path.slice(0, 200)} answered ${res.status}: ${text.slice(0, 300)}\nbody: ${shown}`);
  }
  // Our answers say what is wrong; Node's HTTP parser answers some malformed requests itself (431, 400) without a body.
  if (res.status >= 400 && res.headers.get('content-type')?.startsWith('application/json'))
    assert.match(text, /"error":\{"code":"[a-z_]+","message":/, `${res.status}: ${text.slice(0, 200)}`);
  return res.status;
}

/** The statuses a property saw: a fuzzer that never got past the first check would prove nothing. */
function statusesSeen(): { add: (status: number) => void; assertIncludes: (...wanted: number[]) => void } {
  const seen = new Set<number>();
  return {
    add: (status) => seen.add(status),
    assertIncludes: (...wanted) => {
      for (const status of wanted) assert.ok(seen.has(status), `never answered ${status}; saw ${[...seen].join(', ')}`);
    },
  };
}

// ---- Building blocks ----------------------------------------------------------------------

const now = () => new Date();
const customer = '4915177788899';

/** Valid requests of every kind the endpoints take, to be mutated. */
const webhookSeeds = (): unknown[] => [
  inbound(customer, 'Fuzz Kunde', [textMessage(customer, 'Hallo, wo ist meine Bestellung?', now())]),
  inbound(customer, 'Fuzz Kunde', everyMessageType(customer, now())),
  statuses(status('wamid.fuzz1', 'sent', now()), status('wamid.fuzz1', 'failed', now(), { errors: [{ code: 131026, title: 'x' }] })),
  envelope([
    {
      field: 'smb_message_echoes',
      value: {
        messaging_product: 'whatsapp',
        message_echoes: [{ from: '1555', to: customer, id: 'wamid.echo', timestamp: '1', type: 'text', text: { body: 'hi' } }],
      },
    },
  ]),
  envelope([messagesChange({ user_preferences: [{ wa_id: customer, value: 'stop', timestamp: 1 }] })]),
];

const eventSeeds = (): unknown[] => {
  const at = new Date(Date.now() - 60_000).toISOString();
  const thread = { customer, phone_number_id: PHONE_NUMBER_ID };
  return [
    { id: 'f1', type: 'agent_message', at, agent: 'alice', message_id: 'wamid.x', ...thread },
    [
      { id: 'f2', type: 'assigned', at, agent: 'bob', ...thread },
      { id: 'f3', type: 'resolved', at, by: 'agent', ...thread },
      { id: 'f4', type: 'categorized', at, category: 'billing', ...thread },
      { id: 'f5', type: 'agent_status', at, agent: 'bob', status: 'online' },
      { id: 'f6', type: 'opt_out', at, ...thread },
    ],
  ];
};

/** The constructed Twilio and WATI fixtures (test/fixtures/<provider>/): form bodies, JSON events. */
function fixtureTexts(provider: string): string[] {
  const dir = new URL(`fixtures/${provider}/`, import.meta.url);
  return readdirSync(dir)
    .filter((name) => !name.endsWith('.md'))
    .sort()
    .map((name) => readFileSync(new URL(name, dir), 'utf8'));
}
const twilioForms = fixtureTexts('twilio').filter((text) => !text.startsWith('['));
const twilioJson = (): unknown[] => fixtureTexts('twilio').flatMap((text) => (text.startsWith('[') ? [JSON.parse(text)] : []));
const watiSeeds = (): unknown[] => fixtureTexts('wati').map((text) => JSON.parse(text));

/** Strings that break naive code: huge, NUL, lone surrogates, RTL, emoji, SQL and JSON look-alikes. */
const nastyString = fc.oneof(
  fc.string({ maxLength: 40 }),
  fc.string({ unit: 'binary', maxLength: 40 }),
  fc.constantFrom(
    '\u0000',
    '\ud800',
    '\udfff',
    '\u202e',
    '💥'.repeat(3),
    "'; DROP TABLE messages; --",
    '{"a":',
    '%00',
    '../../etc/passwd',
    'anon:x',
  ),
  fc.integer({ min: 10_000, max: 300_000 }).map((n) => 'x'.repeat(n)),
  fc.integer({ min: 1, max: 20_000 }).map((n) => '\ud83d'.repeat(n)),
);

/** Long and incompressible: too long for an index entry, should it become a key (an id). */
const hugeKey = fc.uint8Array({ minLength: 2_500, maxLength: 6_000 }).map((bytes) => Buffer.from(bytes).toString('base64'));

/** Any JSON value, with nasty strings and extreme numbers. */
const anyValue: fc.Arbitrary<unknown> = fc.oneof(
  { depthSize: 'small' },
  fc.jsonValue({ maxDepth: 3 }),
  nastyString,
  fc.constantFrom(null, true, false, 0, -1, 1e308, -1e308, 2 ** 53 + 1, 1e-300, '', [], {}),
  // Deeper than the 64 levels the endpoints accept (far deeper bodies come as raw text below).
  fc.integer({ min: 2, max: 200 }).map((depth) => nested(depth)),
);

function nested(depth: number): unknown {
  let value: unknown = 'deep';
  for (let i = 0; i < depth; i++) value = i % 2 ? { a: value } : [value];
  return value;
}

type Mutation = { at: number; kind: 'replace' | 'delete' | 'stringify' | 'wrap' | 'duplicate'; value: unknown };
const mutationWith = (value: fc.Arbitrary<unknown>): fc.Arbitrary<Mutation> =>
  fc.record({ at: fc.nat(), kind: fc.constantFrom('replace', 'delete', 'stringify', 'wrap', 'duplicate'), value });
const mutation = mutationWith(anyValue);

/** Every [parent, key] in a document, depth first. */
function slots(doc: unknown): [Record<string, unknown> | unknown[], string | number][] {
  const found: [Record<string, unknown> | unknown[], string | number][] = [];
  const walk = (node: unknown) => {
    const entries: [string | number, unknown][] = Array.isArray(node)
      ? node.map((child, i) => [i, child])
      : node && typeof node === 'object'
        ? Object.entries(node)
        : [];
    for (const [key, child] of entries) {
      found.push([node as Record<string, unknown> | unknown[], key]);
      walk(child);
    }
  };
  walk(doc);
  return found;
}

function mutate(seed: unknown, mutations: Mutation[]): unknown {
  const doc = structuredClone(seed);
  for (const m of mutations) {
    const all = slots(doc);
    if (all.length === 0) break;
    const [parent, key] = all[m.at % all.length]!;
    const current = (parent as Record<string | number, unknown>)[key];
    const target = parent as Record<string | number, unknown>;
    if (m.kind === 'replace') target[key] = m.value;
    else if (m.kind === 'delete') Array.isArray(parent) ? parent.splice(key as number, 1) : delete target[key];
    else if (m.kind === 'stringify') target[key] = typeof current === 'string' ? Number(current) || [current] : JSON.stringify(current);
    else if (m.kind === 'wrap') target[key] = [current, m.value];
    else if (Array.isArray(parent)) parent.push(...Array.from({ length: 50 }, () => structuredClone(current)));
  }
  return doc;
}

/** A body: a mutated seed as JSON, cut somewhere, or random bytes. */
function bodies(seeds: () => unknown[], mutations = mutation): fc.Arbitrary<Uint8Array> {
  const mutated = fc
    .tuple(fc.nat(), fc.array(mutations, { minLength: 0, maxLength: 4 }))
    .map(([i, ms]) => JSON.stringify(mutate(seeds()[i % seeds().length], ms)) ?? 'null');
  return fc.oneof(
    { weight: 5, arbitrary: mutated.map((text) => new TextEncoder().encode(text)) },
    {
      weight: 2,
      arbitrary: fc
        .tuple(mutated, fc.double({ min: 0, max: 1, noNaN: true }))
        .map(([t, f]) => new TextEncoder().encode(t.slice(0, Math.floor(t.length * f)))),
    },
    { weight: 1, arbitrary: fc.uint8Array({ maxLength: 2_000 }) },
    { weight: 1, arbitrary: fc.integer({ min: 1, max: 200_000 }).map((n) => new TextEncoder().encode(`${'['.repeat(n)}${']'.repeat(n)}`)) },
  );
}

const contentType: fc.Arbitrary<string> = fc.constantFrom(
  'application/json',
  'application/json; charset=utf-8',
  'application/json; charset=utf-16',
  'application/json; charset=latin1',
  'application/json; charset=nonsense',
  'text/plain',
  'application/x-www-form-urlencoded',
  'multipart/form-data; boundary=xyz',
  'application/octet-stream',
  '*/*',
  'garbage/;;;===',
);
const encoding: fc.Arbitrary<string | undefined> = fc.option(
  fc.constantFrom('gzip', 'deflate', 'br', 'identity', 'compress', 'x-unknown'),
  { nil: undefined, freq: 1 },
);
const utf8 = (value: unknown) => new TextEncoder().encode(JSON.stringify(value));

function headers(type: string, enc: string | undefined, extra: Record<string, string>): Record<string, string> {
  const all = { 'Content-Type': type, ...(enc ? { 'Content-Encoding': enc } : {}), ...extra };
  return Object.fromEntries(Object.entries(all).map(([k, v]) => [k, headerValue(v)]));
}

/** What an HTTP client can put in a header at all: Latin-1 without control characters. */
function headerValue(value: string): string {
  return value.replace(/[^\t\x20-\x7e\x80-\xff]/g, '').slice(0, 12_000);
}

// ---- Properties ---------------------------------------------------------------------------

describe('fuzzing never yields a 5xx', () => {
  it('POST /webhooks/whatsapp with signed mutated, truncated and random bodies', async () => {
    const seen = statusesSeen();
    await fc.assert(
      fc.asyncProperty(bodies(webhookSeeds), contentType, encoding, async (body, type, enc) => {
        const signature = signBody(APP_SECRET, Buffer.from(body));
        seen.add(
          await mustNotFail({ path: '/webhooks/whatsapp', body, headers: headers(type, enc, { 'X-Hub-Signature-256': signature }) }),
        );
      }),
      {
        ...settings,
        examples: webhookSeeds().map((seed) => [utf8(seed), 'application/json', undefined] as [Uint8Array, string, undefined]),
      },
    );
    seen.assertIncludes(200, 400);
  });

  it('POST /webhooks/whatsapp with missing, malformed and wrong signatures', async () => {
    const signature = fc.oneof(
      fc.constant(undefined),
      nastyString.map((s) => s.slice(0, 8_000)),
      fc.stringMatching(/^sha256=[0-9a-f]{64}$/),
      fc.constant(`sha256=${'a'.repeat(64)}, sha256=${'b'.repeat(64)}`),
    );
    await fc.assert(
      fc.asyncProperty(bodies(webhookSeeds), signature, contentType, async (body, sig, type) => {
        const extra: Record<string, string> = sig === undefined ? {} : { 'X-Hub-Signature-256': sig };
        await mustNotFail({ path: '/webhooks/whatsapp', body, headers: headers(type, undefined, extra) });
      }),
      settings,
    );
  });

  it('GET /webhooks/whatsapp with hostile query strings', async () => {
    const param = fc.oneof(
      nastyString.map((s) => s.slice(0, 6_000)),
      fc.constant(VERIFY_TOKEN),
      fc.constant('subscribe'),
    );
    const name = fc.constantFrom(
      'hub.mode',
      'hub.verify_token',
      'hub.challenge',
      'hub.challenge[]',
      'hub[mode]',
      'hub.mode[a][b]',
      '__proto__',
      'constructor',
    );
    await fc.assert(
      fc.asyncProperty(fc.array(fc.tuple(name, param), { maxLength: 6 }), fc.boolean(), async (pairs, raw) => {
        const query = raw
          ? pairs.map(([k, v]) => `${k}=${v.replace(/[#\s]/g, '')}`).join('&') // unencoded, '%' and all
          : new URLSearchParams(pairs).toString();
        await mustNotFail({ method: 'GET', path: `/webhooks/whatsapp?${query}` });
      }),
      settings,
    );
  });

  it('POST /api/v1/events with mutated, truncated and random bodies', async () => {
    const seen = statusesSeen();
    const authorization = fc.oneof(
      { weight: 4, arbitrary: fc.constant(`Bearer ${EVENTS_TOKEN}`) },
      { weight: 1, arbitrary: nastyString.map((s) => `Bearer ${s.slice(0, 8_000)}`) },
      { weight: 1, arbitrary: fc.constant('') },
    );
    await fc.assert(
      fc.asyncProperty(bodies(eventSeeds), contentType, encoding, authorization, async (body, type, enc, auth) => {
        seen.add(await mustNotFail({ path: '/api/v1/events', body, headers: headers(type, enc, auth ? { Authorization: auth } : {}) }));
      }),
      {
        ...settings,
        examples: eventSeeds().map(
          (seed) => [utf8(seed), 'application/json', undefined, `Bearer ${EVENTS_TOKEN}`] as [Uint8Array, string, undefined, string],
        ),
      },
    );
    seen.assertIncludes(200, 400, 401);
  });

  it('POST /api/v1/events with more events than allowed, and every field of the wrong type', async () => {
    const events = fc.array(
      fc.record(
        {
          id: anyValue,
          type: fc.oneof(fc.constantFrom('agent_message', 'resolved', 'agent_status', 'opt_in'), anyValue),
          at: anyValue,
          customer: anyValue,
          phone_number_id: anyValue,
          agent: anyValue,
          by: anyValue,
          status: anyValue,
        },
        { requiredKeys: [] },
      ),
      { maxLength: 1_200 },
    );
    await fc.assert(
      fc.asyncProperty(events, async (list) => {
        await mustNotFail({
          path: '/api/v1/events',
          body: JSON.stringify(list),
          headers: { 'Content-Type': 'application/json', Authorization: `Bearer ${EVENTS_TOKEN}` },
        });
      }),
      { ...settings, numRuns: Math.ceil(RUNS / 2) },
    );
  });

  it('DELETE /api/v1/customers/{wa_id} with hostile ids, raw and encoded', async () => {
    const id = fc.oneof(
      nastyString.map((s) => s.slice(0, 5_000)),
      fc.constantFrom('%', '%E0%A4%A', '%00', '%ZZ', '..', '%2F..%2F', '+49 151 1234567', '4915112345678'),
    );
    await fc.assert(
      fc.asyncProperty(id, fc.boolean(), fc.boolean(), async (value, raw, authorised) => {
        const segment = raw ? value.replace(/[/?#\s]/g, '') || '%' : encodeURIComponent(value.toWellFormed());
        await mustNotFail({
          method: 'DELETE',
          path: `/api/v1/customers/${segment}`,
          headers: authorised ? { Authorization: `Bearer ${EVENTS_TOKEN}` } : {},
        });
      }),
      settings,
    );
  });

  it('POST /webhooks/twilio with signed, mutated form parameters and JSON bodies', async () => {
    const seen = statusesSeen();
    const change = fc.tuple(fc.nat(), fc.constantFrom('replace', 'delete', 'add', 'duplicate'), fc.oneof(nastyString, hugeKey));
    await fc.assert(
      fc.asyncProperty(fc.nat(), fc.array(change, { maxLength: 4 }), async (i, changes) => {
        const params = [...new URLSearchParams(twilioForms[i % twilioForms.length]!)];
        for (const [at, kind, value] of changes) {
          const index = at % Math.max(1, params.length);
          if (kind === 'replace' && params[index]) params[index] = [params[index]![0], value];
          else if (kind === 'delete') params.splice(index, 1);
          else if (kind === 'add') params.push([value.slice(0, 100), value]);
          else if (params[index]) params.push(params[index]!);
        }
        const body = new URLSearchParams(params).toString();
        const signature = twilioSignature(TWILIO_TOKEN, `${PUBLIC_URL}/webhooks/twilio`, formParams(body));
        const type = 'application/x-www-form-urlencoded';
        seen.add(
          await mustNotFail({ path: '/webhooks/twilio', body, headers: headers(type, undefined, { 'X-Twilio-Signature': signature }) }),
        );
      }),
      settings,
    );
    await fc.assert(
      fc.asyncProperty(bodies(twilioJson, mutationWith(fc.oneof(anyValue, hugeKey))), async (body) => {
        // The JSON variant: the signature covers the URL, which carries the body's hash.
        const path = `/webhooks/twilio?bodySHA256=${bodySha256(Buffer.from(body))}`;
        const signature = twilioSignature(TWILIO_TOKEN, PUBLIC_URL + path, {});
        seen.add(await mustNotFail({ path, body, headers: headers('application/json', undefined, { 'X-Twilio-Signature': signature }) }));
      }),
      { ...settings, numRuns: Math.ceil(RUNS / 2) },
    );
    seen.assertIncludes(200, 400);
  });

  it('POST /webhooks/wati/<token> with mutated, truncated and random bodies, and hostile tokens', async () => {
    const seen = statusesSeen();
    const token = fc.oneof(
      { weight: 4, arbitrary: fc.constant(`/${WATI_TOKEN}`) },
      { weight: 1, arbitrary: fc.constant(`?token=${WATI_TOKEN}`) },
      { weight: 1, arbitrary: nastyString.map((s) => `/${encodeURIComponent(s.slice(0, 3_000).toWellFormed())}`) },
      { weight: 1, arbitrary: fc.constant('') },
    );
    await fc.assert(
      fc.asyncProperty(
        bodies(watiSeeds, mutationWith(fc.oneof(anyValue, hugeKey))),
        contentType,
        encoding,
        token,
        async (body, type, enc, where) => {
          seen.add(await mustNotFail({ path: `/webhooks/wati${where}`, body, headers: headers(type, enc, {}) }));
        },
      ),
      {
        ...settings,
        examples: watiSeeds().map(
          (seed) => [utf8(seed), 'application/json', undefined, `/${WATI_TOKEN}`] as [Uint8Array, string, undefined, string],
        ),
      },
    );
    seen.assertIncludes(200, 400, 401);
  });

  it('left the server up and the database answering', async () => {
    const res = await fetch(`${base}/readyz`);
    assert.equal(res.status, 200);
  });
});

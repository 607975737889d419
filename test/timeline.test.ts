/**
 * The numbers follow the timeline, not the order the webhooks arrive in. Random helpdesk
 * timelines — customer messages, answers seen through statuses, echoes and events, assignment,
 * handover, categorisation, resolution — are delivered over HTTP into PostgreSQL in random orders
 * and groupings, and /metrics must equal a reference model computed from the sorted timeline;
 * two different orders must store the same conversations (the shuffled one with webhooks
 * answered once stored and applied behind, WEBHOOK_ACK=stored). Then each situation the
 * timeline issue observed, by name.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import fc from 'fast-check';
import type { App } from '../src/app.ts';
import { advanceDueConversations } from '../src/jobs/conversation-timers.ts';
import { settleDueFacts } from '../src/jobs/settle-facts.ts';
import { postEvents, postWebhook, sample, scrape, testApp, total } from './support/app.ts';
import { createTestDatabase, type TestDatabase } from './support/database.ts';
import { unix } from './support/meta.ts';
import { addThread, emptyKpis, type ModelInput, type ModelKpis } from './support/reference-model.ts';

let db: TestDatabase;
before(async () => {
  db = await createTestDatabase();
});
after(() => db.drop());

const H = 3600;
/** The timelines start 10 hours ago (whole seconds, as WhatsApp's timestamps). */
const T0 = Math.floor(Date.now() / 1000) * 1000 - 10 * H * 1000;
const at = (s: number) => new Date(T0 + s * 1000);
/** Time decides everything by then: the timers job and the settling run at this moment. */
const END = 20 * H;
const SETTINGS = { AUTO_RESOLVE_AFTER: '1h', FCR_WINDOW: '2h', SETTLE_AFTER: '1h' };

let runs = 0;
/** Each run has its own business number, so runs sharing the database never meet. */
const businessNumber = () => `9${process.pid}${String(++runs).padStart(5, '0')}`;

// --- Wire builders (Meta webhooks and helpdesk events for one business number) ---

type Json = Record<string, unknown>;
const change = (phone: string, field: string, value: Json) => ({
  field,
  value: { messaging_product: 'whatsapp', metadata: { display_phone_number: '15550001111', phone_number_id: phone }, ...value },
});
const webhook = (...changes: Json[]) => ({ object: 'whatsapp_business_account', entry: [{ id: 'waba', changes }] });
const inboundChange = (phone: string, customer: string, id: string, s: number, text = `Nachricht ${id.slice(-4)}`) =>
  change(phone, 'messages', {
    contacts: [{ profile: { name: 'Kundin' }, wa_id: customer }],
    messages: [{ from: customer, id, timestamp: unix(at(s)), type: 'text', text: { body: text } }],
  });
const statusChange = (phone: string, customer: string, id: string, status: string, s: number, callback?: string) =>
  change(phone, 'messages', {
    statuses: [
      {
        id,
        status,
        timestamp: unix(at(s)),
        recipient_id: customer,
        ...(callback ? { biz_opaque_callback_data: callback } : {}),
        ...(status === 'failed' ? { errors: [{ code: 131026, title: 'Message undeliverable' }] } : {}),
      },
    ],
  });
const echoChange = (phone: string, customer: string, id: string, s: number) =>
  change(phone, 'smb_message_echoes', {
    message_echoes: [{ from: '15550001111', to: customer, id, timestamp: unix(at(s)), type: 'text', text: { body: 'Antwort' } }],
  });
const event = (phone: string, customer: string, id: string, type: string, s: number, fields: Json = {}) => ({
  id,
  type,
  at: at(s).toISOString(),
  phone_number_id: phone,
  customer,
  ...fields,
});

/** One HTTP request: a webhook with one or more changes, or an events array. */
type Delivery = { kind: 'webhook'; changes: Json[] } | { kind: 'events'; events: Json[] };

async function deliver(app: App, d: Delivery): Promise<void> {
  const res = d.kind === 'webhook' ? await postWebhook(app, webhook(...d.changes)) : await postEvents(app, d.events);
  assert.equal(res.status, 200, res.text);
}

/** Delivers in the order given, `parallel` requests at a time (concurrent requests may share a transaction). */
async function deliverAll(app: App, deliveries: Delivery[], parallel: number): Promise<void> {
  for (let i = 0; i < deliveries.length; i += parallel) {
    await Promise.all(deliveries.slice(i, i + parallel).map((d) => deliver(app, d)));
  }
}

/** Lets time decide everything up to END and counts what has settled. */
async function finish(app: App): Promise<void> {
  await advanceDueConversations(app.timers, at(END));
  await settleDueFacts(app.settle, at(END + 2 * H));
}

// --- Random timelines ---

type Answer = {
  t: number;
  by: 'agent' | 'bot' | 'person';
  /** How the answer reaches the exporter. */
  via: 'status' | 'status-late-sent' | 'echo' | 'event-with-status' | 'event-only' | 'failed-only';
};
type Step =
  | { kind: 'customer'; t: number }
  | ({ kind: 'answer' } & Answer)
  | { kind: 'assigned'; t: number; agent: string }
  | { kind: 'handover'; t: number }
  | { kind: 'resolved'; t: number; by: 'agent' | 'bot' }
  | { kind: 'categorized'; t: number; category: 'billing' | 'refund' };

const stepArbitrary = (t: number): fc.Arbitrary<Step> =>
  fc.oneof(
    { weight: 4, arbitrary: fc.constant<Step>({ kind: 'customer', t }) },
    {
      weight: 4,
      arbitrary: fc
        .record({
          by: fc.constantFrom('agent' as const, 'bot' as const, 'person' as const),
          via: fc.constantFrom(
            'status' as const,
            'status-late-sent' as const,
            'echo' as const,
            'event-with-status' as const,
            'event-only' as const,
            'failed-only' as const,
          ),
        })
        .map(({ by, via }): Step => ({ kind: 'answer', t, by, via: via === 'echo' && by !== 'person' ? 'status' : via })),
    },
    { weight: 1, arbitrary: fc.constantFrom('alice', 'bob').map((agent): Step => ({ kind: 'assigned', t, agent })) },
    { weight: 1, arbitrary: fc.constant<Step>({ kind: 'handover', t }) },
    { weight: 2, arbitrary: fc.constantFrom('agent' as const, 'bot' as const).map((by): Step => ({ kind: 'resolved', t, by })) },
    {
      weight: 1,
      arbitrary: fc.constantFrom('billing' as const, 'refund' as const).map((category): Step => ({ kind: 'categorized', t, category })),
    },
  );

/** A thread's timeline: distinct whole seconds over 8 hours, sorted. */
const threadArbitrary = fc
  .uniqueArray(fc.integer({ min: 0, max: 8 * H }), { minLength: 2, maxLength: 12 })
  .chain((times) => fc.tuple(...times.sort((a, b) => a - b).map(stepArbitrary)));

/** What the reference model sees of a step (an answer that only failed is none). */
function modelInput(step: Step): ModelInput | null {
  switch (step.kind) {
    case 'customer':
      return { t: step.t, kind: 'customer' };
    case 'answer':
      return step.via === 'failed-only' ? null : { t: step.t, kind: 'answer', by: step.by === 'bot' ? 'bot' : 'agent' };
    case 'assigned':
      return { t: step.t, kind: 'assigned' };
    case 'handover':
      return { t: step.t, kind: 'handover' };
    case 'resolved':
      return { t: step.t, kind: 'resolved', by: step.by };
    case 'categorized':
      return { t: step.t, kind: 'categorized', category: step.category };
  }
}

/** The requests that carry a thread's steps (several per answer: its statuses and events). */
function deliveriesOf(phone: string, customer: string, steps: Step[]): Delivery[] {
  const out: Delivery[] = [];
  steps.forEach((step, i) => {
    const id = `${phone}-${customer}-${i}`;
    const wamid = `wamid.${id}`;
    switch (step.kind) {
      case 'customer':
        out.push({ kind: 'webhook', changes: [inboundChange(phone, customer, wamid, step.t)] });
        break;
      case 'answer': {
        const callback = step.by === 'agent' ? 'agent:alice' : step.by === 'bot' ? 'bot' : undefined;
        const s = (status: string, t: number, cb = callback) => ({
          kind: 'webhook' as const,
          changes: [statusChange(phone, customer, wamid, status, t, cb)],
        });
        const type = step.by === 'bot' ? 'bot_message' : 'agent_message';
        const agent = step.by === 'bot' ? {} : { agent: 'alice' };
        if (step.via === 'status') out.push(s('sent', step.t), s('delivered', step.t + 2), s('read', step.t + 30));
        if (step.via === 'status-late-sent') out.push(s('read', step.t + 40), s('sent', step.t));
        if (step.via === 'echo') out.push({ kind: 'webhook', changes: [echoChange(phone, customer, wamid, step.t)] });
        if (step.via === 'event-with-status') {
          out.push(
            { kind: 'events', events: [event(phone, customer, `${id}-e`, type, step.t, { ...agent, message_id: wamid })] },
            s('sent', step.t + 1, undefined),
          );
        }
        if (step.via === 'event-only') out.push({ kind: 'events', events: [event(phone, customer, `${id}-e`, type, step.t, agent)] });
        if (step.via === 'failed-only') out.push(s('failed', step.t));
        break;
      }
      case 'assigned':
        out.push({ kind: 'events', events: [event(phone, customer, `${id}-e`, 'assigned', step.t, { agent: step.agent })] });
        break;
      case 'handover':
        out.push({ kind: 'events', events: [event(phone, customer, `${id}-e`, 'handover', step.t)] });
        break;
      case 'resolved':
        out.push({ kind: 'events', events: [event(phone, customer, `${id}-e`, 'resolved', step.t, { by: step.by })] });
        break;
      case 'categorized':
        out.push({ kind: 'events', events: [event(phone, customer, `${id}-e`, 'categorized', step.t, { category: step.category })] });
        break;
    }
  });
  return out;
}

/** Joins some neighbouring requests of one kind into one (a Meta batch, an events array). */
function group(deliveries: Delivery[], joins: boolean[]): Delivery[] {
  const out: Delivery[] = [];
  deliveries.forEach((d, i) => {
    const last = out.at(-1);
    if (joins[i] && last && last.kind === d.kind) {
      if (last.kind === 'webhook' && d.kind === 'webhook') last.changes.push(...d.changes);
      if (last.kind === 'events' && d.kind === 'events') last.events.push(...d.events);
    } else {
      out.push(d.kind === 'webhook' ? { kind: 'webhook', changes: [...d.changes] } : { kind: 'events', events: [...d.events] });
    }
  });
  return out;
}

function model(threads: Step[][]): ModelKpis {
  const kpis = emptyKpis();
  for (const steps of threads) {
    addThread(
      kpis,
      steps.flatMap((s) => modelInput(s) ?? []),
      END,
      H,
      2 * H,
    );
  }
  return kpis;
}

async function measured(app: App, phone: string) {
  const m = await scrape(app);
  const t = (name: string, labels: Record<string, string> = {}) => total(m, name, labels);
  const bn = { business_number: phone };
  const sumOf = (values: number[]) => values.reduce((a, b) => a + b, 0);
  return {
    actual: {
      opened: t('whatsapp_conversations_opened_total', bn),
      reopened: t('whatsapp_conversations_reopened_total'),
      resolved: ['agent', 'bot', 'auto'].map((by) => t('whatsapp_conversations_resolved_total', { ...bn, resolved_by: by })),
      resolutionSeconds: t('whatsapp_resolution_seconds_sum', bn),
      frt: ['agent', 'bot'].map((r) => [
        t('whatsapp_first_response_seconds_count', { ...bn, responder: r }),
        t('whatsapp_first_response_seconds_sum', { ...bn, responder: r }),
      ]),
      replies: [t('whatsapp_reply_seconds_count'), t('whatsapp_reply_seconds_sum')],
      fcr: ['resolved', 'reopened'].map((result) => t('whatsapp_first_contact_resolutions_total', { result })),
      bot: [t('whatsapp_bot_conversations_total'), t('whatsapp_bot_handovers_total')],
      customerMessages: t('whatsapp_customer_messages_total'),
      byCategory: ['billing', 'refund', 'unknown'].map((category) => t('whatsapp_conversations_opened_total', { ...bn, category })),
      open: t('whatsapp_open_conversations', bn),
      late: t('whatsapp_late_inputs_total'),
    },
    expected: (k: ModelKpis) => ({
      opened: k.opened,
      reopened: k.reopened,
      resolved: [k.resolved.agent, k.resolved.bot, k.resolved.auto],
      resolutionSeconds: k.resolutionSeconds,
      frt: [
        [k.firstResponses.agent.length, sumOf(k.firstResponses.agent)],
        [k.firstResponses.bot.length, sumOf(k.firstResponses.bot)],
      ],
      replies: [k.replies.length, sumOf(k.replies)],
      fcr: [k.fcr.resolved, k.fcr.reopened],
      bot: [k.botConversations, k.handovers],
      customerMessages: k.customerMessages,
      byCategory: ['billing', 'refund', 'unknown'].map((c) => k.categories.filter((x) => x === c).length),
      open: k.open,
      late: 0,
    }),
  };
}

/** The stored conversations of a business number, without what names the run (ids, the number). */
async function storedState(phone: string) {
  const { rows } = await db.database.query(
    `SELECT contact_wa_id, status, state, category, opened_at, cycle_started_at, handler, assigned_agent, bot_engaged, handed_over,
            first_response_at, first_responder, first_response_agent, waiting_since, last_customer_message_at, last_business_message_at,
            last_activity_at, resolved_at, resolved_by, resolved_agent, reopen_count, fcr, sentiment, next_deadline_at,
            (SELECT array_agg(k ORDER BY k) FROM jsonb_object_keys(facts) k) AS fact_keys,
            (SELECT array_agg(agent || '@' || extract(epoch FROM started_at) || '-' || coalesce(extract(epoch FROM ended_at)::text, '') ORDER BY started_at, agent)
               FROM agent_handling h WHERE h.conversation_id = c.id) AS handling
       FROM conversations c WHERE phone_number_id = $1 ORDER BY contact_wa_id, opened_at`,
    [phone],
  );
  // Message keys name the run's business number; what matters is how many there are.
  return rows.map((r) => ({
    ...r,
    fact_keys: (r.fact_keys as string[]).map((k) => (k.startsWith('m:') ? 'm:' : k.replace(/^(reply):.*/, '$1:'))),
  }));
}

describe('the numbers follow the timeline, whatever order the inputs arrive in', () => {
  it('equal a reference model of the sorted timeline, and store the same state for any two orders and groupings', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.array(threadArbitrary, { minLength: 1, maxLength: 3 }),
        fc.infiniteStream(fc.boolean()),
        fc.integer({ min: 0, max: 2 ** 31 - 1 }),
        fc.integer({ min: 1, max: 6 }),
        async (threads, joinStream, seed, parallel) => {
          const expectedKpis = model(threads);
          const states = [];
          for (const order of [0, 1]) {
            const phone = businessNumber();
            // In time order, each webhook answered once applied; shuffled, the default: answered
            // once stored and applied behind the answers (events are written before their answer).
            const app = testApp(db.database, { ...SETTINGS, WEBHOOK_ACK: order === 0 ? 'applied' : 'stored' });
            const deliveries = threads.flatMap((steps, i) => deliveriesOf(phone, `49151000${String(i).padStart(4, '0')}`, steps));
            const shuffled = order === 0 ? deliveries : shuffle(deliveries, seed);
            const joins = [...joinStream.take(shuffled.length)];
            await deliverAll(app, order === 0 ? shuffled : group(shuffled, joins), order === 0 ? 1 : parallel);
            await app.ingestQueue.idle();
            await finish(app);
            const { actual, expected } = await measured(app, phone);
            assert.deepEqual(actual, expected(expectedKpis), `order ${order}`);
            states.push(await storedState(phone));
          }
          assert.deepEqual(states[1], states[0], 'the same conversations whatever the order');
        },
      ),
      // Each run makes dozens of requests: report the first counterexample (with its seed) rather than shrink it.
      { numRuns: Number(process.env.TIMELINE_RUNS ?? 25), endOnFailure: true },
    );
  });
});

/**
 * The situations the timeline issue observed, each delivered in the order it was seen, in time
 * order, reversed, and all at once; every hand-computed value must hold in each. Times are
 * seconds after `base`, ten minutes ago, so the gauges read them as they stand now.
 */
describe('the situations the timeline issue observed', () => {
  const base = Math.floor(Date.now() / 1000) * 1000 - 600_000;
  const when = (s: number) => new Date(base + s * 1000);
  const CUSTOMER = '4915100007000';

  /** Builders relative to `base`, for one business number. */
  const wire = (phone: string) => ({
    tag: phone,
    customer: (id: string, s: number, text?: string) => ({
      kind: 'webhook' as const,
      changes: [
        change(phone, 'messages', {
          contacts: [{ profile: { name: 'Kundin' }, wa_id: CUSTOMER }],
          messages: [
            { from: CUSTOMER, id: `wamid.${phone}.${id}`, timestamp: unix(when(s)), type: 'text', text: { body: text ?? `Frage ${id}` } },
          ],
        }),
      ],
    }),
    status: (id: string, status: string, s: number, callback?: string) => ({
      kind: 'webhook' as const,
      changes: [
        change(phone, 'messages', {
          statuses: [
            {
              id: `wamid.${phone}.${id}`,
              status,
              timestamp: unix(when(s)),
              recipient_id: CUSTOMER,
              ...(callback ? { biz_opaque_callback_data: callback } : {}),
            },
          ],
        }),
      ],
    }),
    echo: (id: string, s: number) => ({
      kind: 'webhook' as const,
      changes: [
        change(phone, 'smb_message_echoes', {
          message_echoes: [
            {
              from: '15550001111',
              to: CUSTOMER,
              id: `wamid.${phone}.${id}`,
              timestamp: unix(when(s)),
              type: 'text',
              text: { body: 'Hallo!' },
            },
          ],
        }),
      ],
    }),
    event: (id: string, type: string, s: number, fields: Json = {}) => ({
      kind: 'events' as const,
      events: [
        {
          id: `${phone}.${id}`,
          type,
          at: when(s).toISOString(),
          phone_number_id: phone,
          customer: CUSTOMER,
          ...fields,
          ...(typeof fields.message_id === 'string' ? { message_id: `wamid.${phone}.${fields.message_id}` } : {}),
        },
      ],
    }),
  });

  /** Runs `check` after delivering `inputs` (in the order observed) in four orders, each on its own business number. */
  async function inEveryOrder(
    inputs: (w: ReturnType<typeof wire>) => Delivery[],
    check: (app: App, phone: string, order: string) => Promise<void>,
    settings: Record<string, string> = { SETTLE_AFTER: '0s' },
  ) {
    for (const order of ['as observed', 'by time', 'reversed', 'all at once']) {
      const phone = businessNumber();
      const app = testApp(db.database, settings);
      const list = inputs(wire(phone));
      if (order === 'all at once') await deliverAll(app, list, list.length);
      else await deliverAll(app, order === 'reversed' ? [...list].reverse() : order === 'by time' ? byTime(list) : list, 1);
      await settleDueFacts(app.settle, new Date(Date.now() + 2 * H * 1000));
      await check(app, phone, order);
    }
  }
  const byTime = (list: Delivery[]) => [...list].sort((a, b) => firstTime(a) - firstTime(b));
  const firstTime = (d: Delivery) =>
    d.kind === 'events'
      ? Date.parse(d.events[0]!.at as string)
      : Number(JSON.stringify(d.changes).match(/"timestamp":"(\d+)"/)?.[1] ?? 0) * 1000;
  const row = async (phone: string) =>
    (
      await db.database.query(
        `SELECT status, state, waiting_since, assigned_agent, reopen_count, fcr, sentiment, resolved_by FROM conversations WHERE phone_number_id = $1 ORDER BY opened_at`,
        [phone],
      )
    ).rows;
  const settled = { SETTLE_AFTER: '1h' };

  it('1: an answer dated between two customer messages arrives last — the later question still waits, and its answer times 180 s', async () => {
    await inEveryOrder(
      (w) => [w.customer('q1', 0), w.customer('q2', 120), w.status('a1', 'sent', 60, 'agent:alice')],
      async (app, phone, order) => {
        const c = (await row(phone))[0]!;
        assert.equal(c.waiting_since.getTime(), when(120).getTime(), order);
        const m = await scrape(app);
        assert.equal(
          sample(m, 'whatsapp_waiting_conversations', { over_seconds: '300', sentiment: 'other', business_number: phone }),
          1,
          order,
        );
        assert.equal(m.get('whatsapp_service_window_closing_conversations{}') ?? 0, 0, 'the window closes in 24 h');
      },
    );
    await inEveryOrder(
      (w) => [
        w.customer('q1', 0),
        w.customer('q2', 120),
        w.status('a1', 'sent', 60, 'agent:alice'),
        w.status('a2', 'sent', 300, 'agent:alice'),
      ],
      async (app, phone, order) => {
        const m = await scrape(app);
        assert.equal(total(m, 'whatsapp_first_response_seconds_sum', { business_number: phone }), 60, order);
        assert.deepEqual([total(m, 'whatsapp_reply_seconds_count'), total(m, 'whatsapp_reply_seconds_sum')], [2, 60 + 180], order);
      },
      settled,
    );
  });

  it('2: a resolution dated before the customer wrote again reopens the conversation', async () => {
    await inEveryOrder(
      (w) => [
        w.customer('q1', 0),
        w.status('a1', 'sent', 60, 'agent:alice'),
        w.customer('q2', 100),
        w.event('r', 'resolved', 90, { by: 'agent' }),
      ],
      async (app, phone, order) => {
        const c = (await row(phone))[0]!;
        assert.deepEqual(
          [c.status, c.waiting_since?.getTime(), c.reopen_count, c.fcr],
          ['open', when(100).getTime(), 1, 'reopened'],
          order,
        );
        const m = await scrape(app);
        assert.equal(total(m, 'whatsapp_conversations_reopened_total'), 1, order);
        assert.equal(total(m, 'whatsapp_first_contact_resolutions_total', { result: 'reopened' }), 1, order);
        assert.equal(
          sample(m, 'whatsapp_waiting_conversations', { over_seconds: '0', sentiment: 'other', business_number: phone }),
          1,
          order,
        );
      },
      settled,
    );
  });

  it('3: the first response is the earliest answer, and the earliest customer message opens', async () => {
    const frt = async (app: App, phone: string) =>
      total(await scrape(app), 'whatsapp_first_response_seconds_sum', { business_number: phone });
    await inEveryOrder(
      (w) => [w.customer('q', 0), w.status('a', 'read', 200), w.status('a', 'sent', 60, 'agent:alice')],
      async (app, phone, order) => assert.equal(await frt(app, phone), 60, order),
      settled,
    );
    await inEveryOrder(
      (w) => [w.customer('q', 0), w.event('e', 'agent_message', 90, { agent: 'bob' }), w.status('a', 'sent', 40, 'agent:alice')],
      async (app, phone, order) => assert.equal(await frt(app, phone), 40, order),
      settled,
    );
    await inEveryOrder(
      (w) => [w.customer('q2', 60), w.customer('q1', 0), w.status('a', 'sent', 300, 'agent:alice')],
      async (app, phone, order) => assert.equal(await frt(app, phone), 300, order),
      settled,
    );
    await inEveryOrder(
      (w) => [w.customer('angry', 60, 'Das ist eine Frechheit! Ich warte seit Tagen auf mein Geld!'), w.customer('hello', 0, 'Hallo')],
      async (app, phone, order) => {
        assert.equal((await row(phone))[0]!.sentiment, 'negative', order);
        const m = await scrape(app);
        assert.equal(
          sample(m, 'whatsapp_waiting_conversations', { over_seconds: '0', sentiment: 'negative', business_number: phone }),
          1,
          order,
        );
      },
    );
  });

  it('4: the agent an event names for an answer first seen through its status gets the conversation; a Business-app answer puts it in human hands', async () => {
    await inEveryOrder(
      (w) => [
        w.customer('q', 0),
        w.status('a', 'sent', 30),
        w.event('e', 'agent_message', 30, { agent: `dana${w.tag}`, message_id: 'a' }),
        w.customer('q2', 90),
      ],
      async (app, phone, order) => {
        const dana = `dana${phone}`;
        const c = (await row(phone))[0]!;
        assert.deepEqual([c.state, c.assigned_agent], ['assigned', dana], order);
        const m = await scrape(app);
        assert.equal(sample(m, 'whatsapp_agent_open_conversations', { agent: dana }), 1, order);
        const { rows } = await db.database.query(
          `SELECT agent, started_at FROM agent_handling h JOIN conversations c ON c.id = h.conversation_id WHERE c.phone_number_id = $1`,
          [phone],
        );
        assert.deepEqual(rows, [{ agent: dana, started_at: when(30) }], order);
        assert.equal(total(m, 'whatsapp_first_response_seconds_count', { business_number: phone, responder: 'agent' }), 1);
      },
    );
    await inEveryOrder(
      (w) => [w.customer('q', 0), w.echo('a', 30), w.customer('q2', 60)],
      async (_app, phone, order) => assert.equal((await row(phone))[0]!.state, 'assigned', order),
    );
  });

  it('5: a late message undoes an auto-resolution: counted once, and the wait restarts at the first unanswered message', async () => {
    const phone = businessNumber();
    const app = testApp(db.database, { SETTLE_AFTER: '0s' });
    const w = wire(phone);
    const day = 24 * H;
    // Written 26 h ago and answered; asked again unanswered; auto-resolved 24 h after that question, and counted
    // (all in one webhook, so none of it is late).
    const first = [w.customer('q1', -26 * H), w.status('a', 'sent', -26 * H + 60, 'agent:alice'), w.customer('q2', -26 * H + 100)];
    await deliverAll(app, [{ kind: 'webhook', changes: first.flatMap((d) => d.changes) }], 1);
    let c = (await row(phone))[0]!;
    assert.deepEqual([c.status, c.resolved_by], ['resolved', 'auto']);
    // A message written an hour before that auto-resolution arrives now: the customer was still there.
    await deliverAll(app, [w.customer('q3', -26 * H + 100 + day - H)], 1);
    c = (await row(phone))[0]!;
    assert.deepEqual([c.status, c.waiting_since.getTime()], ['open', when(-26 * H + 100).getTime()]);
    await advanceDueConversations(app.timers, new Date(Date.now() + 2 * day));
    const m = await scrape(app);
    assert.equal(
      total(m, 'whatsapp_conversations_resolved_total', { business_number: phone, resolved_by: 'auto' }),
      1,
      'one conversation, one auto-resolution',
    );
    assert.equal(total(m, 'whatsapp_late_inputs_total'), 1);
    assert.equal(total(m, 'whatsapp_fact_corrections_total', { fact: 'resolved' }), 1);
  });

  it('6: a neglected customer who times out and comes back is no first-contact resolution; exactly FCR_WINDOW later opens anew', async () => {
    const phone = businessNumber();
    const app = testApp(db.database, { SETTLE_AFTER: '0s', AUTO_RESOLVE_AFTER: '1h', FCR_WINDOW: '2h' });
    const w = wire(phone);
    await deliverAll(
      app,
      [w.customer('q1', -5 * H), w.customer('q2', -5 * H + 2 * H), w.status('a', 'sent', -5 * H + 2 * H + 60, 'agent:alice')],
      1,
    );
    await deliverAll(app, [w.event('r', 'resolved', -5 * H + 2 * H + 120, { by: 'agent' })], 1);
    await advanceDueConversations(app.timers, new Date());
    let m = await scrape(app);
    assert.equal(total(m, 'whatsapp_first_contact_resolutions_total', { result: 'reopened' }), 1);
    assert.equal(total(m, 'whatsapp_first_contact_resolutions_total', { result: 'resolved' }), 0);

    const exact = businessNumber();
    const app2 = testApp(db.database, { SETTLE_AFTER: '0s', AUTO_RESOLVE_AFTER: '1h', FCR_WINDOW: '2h' });
    const w2 = wire(exact);
    await deliverAll(
      app2,
      [
        w2.customer('q1', -4 * H),
        w2.status('a', 'sent', -4 * H + 60, 'agent:alice'),
        w2.event('r', 'resolved', -4 * H + 120, { by: 'agent' }),
      ],
      1,
    );
    await deliverAll(app2, [w2.customer('q2', -4 * H + 120 + 2 * H)], 1);
    m = await scrape(app2);
    assert.deepEqual(
      ['resolved', 'reopened'].map((result) => total(m, 'whatsapp_first_contact_resolutions_total', { result })),
      [1, 0],
      'counted one way only',
    );
    assert.equal(total(m, 'whatsapp_conversations_opened_total', { business_number: exact }), 2);
  });

  it('8: a handover when the bot never answered counts no bot handover', async () => {
    await inEveryOrder(
      (w) => [w.customer('q', 0), w.event('h', 'handover', 20, { agent: 'bob' }), w.status('a', 'sent', 60, 'agent:bob')],
      async (app, _phone, order) => {
        const m = await scrape(app);
        assert.deepEqual([total(m, 'whatsapp_bot_conversations_total'), total(m, 'whatsapp_bot_handovers_total')], [0, 0], order);
      },
    );
  });

  it('opens a new conversation after one left open past AUTO_RESOLVE_AFTER and FCR_WINDOW (no 500)', async () => {
    const phone = businessNumber();
    const app = testApp(db.database, { SETTLE_AFTER: '0s' });
    const w = wire(phone);
    await deliverAll(app, [w.customer('old', -5 * 24 * H)], 1);
    await db.database.query(
      `UPDATE conversations SET status = 'open', state = 'unassigned', resolved_at = NULL, resolved_by = NULL WHERE phone_number_id = $1`,
      [phone],
    );
    await deliverAll(app, [w.customer('new', 0)], 1);
    assert.deepEqual(
      (await row(phone)).map((c) => c.status),
      ['resolved', 'open'],
    );
  });

  it('counts each fact once SETTLE_AFTER has passed, from the scrape, whatever order the inputs came in (real time)', async () => {
    const phone = businessNumber();
    const app = testApp(db.database, { SETTLE_AFTER: '1s' });
    const w = wire(phone);
    await deliverAll(
      app,
      [w.status('a', 'read', 200), w.customer('q2', 60), w.status('a', 'sent', 90, 'agent:alice'), w.customer('q1', 0)],
      4,
    );
    assert.equal(total(await scrape(app), 'whatsapp_conversations_opened_total', { business_number: phone }), 0, 'nothing has settled yet');
    await new Promise((resolve) => setTimeout(resolve, 1_100));
    const m = await scrape(app);
    assert.equal(total(m, 'whatsapp_conversations_opened_total', { business_number: phone }), 1);
    assert.deepEqual(
      [
        total(m, 'whatsapp_first_response_seconds_count', { business_number: phone }),
        total(m, 'whatsapp_first_response_seconds_sum', { business_number: phone }),
      ],
      [1, 90],
    );
    assert.equal(total(m, 'whatsapp_late_inputs_total'), 0);
  });
});

function shuffle<T>(items: T[], seed: number): T[] {
  const out = [...items];
  let state = seed;
  for (let i = out.length - 1; i > 0; i--) {
    state = (state * 1_103_515_245 + 12_345) % 2 ** 31;
    const j = state % (i + 1);
    [out[i], out[j]] = [out[j]!, out[i]!];
  }
  return out;
}

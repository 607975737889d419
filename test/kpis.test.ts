/**
 * A scripted helpdesk timeline with known answers, sent the way production sends it — Meta
 * webhooks and helpdesk events over HTTP into real PostgreSQL — then replayed and "restarted".
 * Every KPI must come out exact, and unchanged by the replay and the restart.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { after, before, describe, it } from 'node:test';
import request from 'supertest';
import type { App } from '../src/app.ts';
import { advanceDueConversations } from '../src/jobs/conversation-timers.ts';
import { EVENTS_TOKEN, openTestApp, postEvents, postWebhook, sample, scrape, testApp, total } from './support/app.ts';
import type { TestDatabase } from './support/database.ts';
import { envelope, inbound, PHONE_NUMBER_ID, status, statuses, textMessage, unix, wamid } from './support/meta.ts';
import { skipUnless } from './support/tools.ts';

/**
 * The locked metric contract, the node_exporter way: what /metrics serves after the known
 * timeline, with the families whose values depend on the clock or the machine left out.
 * A renamed metric or label, a changed type or help text, or a different KPI fails the test.
 */
const GOLDEN_FILE = new URL('./golden/metrics.prom', import.meta.url);
const VOLATILE = [
  /^(process|nodejs)_/,
  /^whatsapp_webhook_duration_seconds/,
  /^whatsapp_scrape_collector_duration_seconds/,
  /^whatsapp_exporter_build_info/,
  /^whatsapp_job_/,
  /^whatsapp_agent_(online|busy)_seconds_total/,
];

/** The families of a scrape that do not depend on the clock, in a stable order. */
function stableMetrics(text: string): string {
  const families = new Map<string, string[]>();
  let current = '';
  for (const line of text.split('\n')) {
    if (line === '') continue;
    const name = line.startsWith('# ') ? line.split(' ')[2]! : line.split(/[{ ]/)[0]!;
    if (line.startsWith('# HELP')) current = name;
    if (VOLATILE.some((pattern) => pattern.test(current))) continue;
    const lines = families.get(current) ?? [];
    lines.push(line);
    families.set(current, lines);
  }
  return `${[...families.keys()]
    .sort()
    .map((name) => {
      const lines = families.get(name)!;
      const head = lines.filter((l) => l.startsWith('#'));
      return [...head, ...lines.filter((l) => !l.startsWith('#')).sort()].join('\n');
    })
    .join('\n')}\n`;
}

let db: TestDatabase;
let app: App;
before(async () => ({ db, app } = await openTestApp()));
after(() => db.drop());

const NOW = Math.floor(Date.now() / 1000) * 1000;
/** The timeline starts 3 hours ago; `t(s)` is s seconds after its start. */
const T0 = NOW - 3 * 3600_000;
const t = (s: number) => new Date(T0 + s * 1000);
const iso = (s: number) => t(s).toISOString();

const ANNA = '4915100000001';
const BERT = '4915100000002';
const CLARA = '4915100000003';
const DORA = '4915100000004';
const EMIL = '4915100000005';

const event = (id: string, type: string, s: number, fields: Record<string, unknown>) => ({
  id,
  type,
  at: iso(s),
  phone_number_id: PHONE_NUMBER_ID,
  ...fields,
});

const aliceAnswer = wamid('alice');
const botAnswer = wamid('bot');
const echoAnswer = wamid('echo');
const botToDora = wamid('bot2');

/** The whole timeline, as the requests that carry it, in the order they arrive (built once: replays send the same bodies). */
const TIMELINE = timeline();
function timeline(): { send: (target: App) => Promise<request.Response>; what: string }[] {
  const webhook = (what: string, payload: unknown) => ({ what, send: (target: App) => postWebhook(target, payload) });
  const events = (what: string, list: unknown[]) => ({ what, send: (target: App) => postEvents(target, list) });
  return [
    events('agents come online', [
      { id: 'p1', type: 'agent_status', at: iso(-3600), agent: 'alice', status: 'online' },
      { id: 'p2', type: 'agent_status', at: iso(0), agent: 'bob', status: 'online' },
    ]),
    // Anna: assigned to alice, answered after 45 s (reported by the helpdesk AND seen as a status), resolved at 600 s.
    webhook('anna writes', inbound(ANNA, 'Anna', [textMessage(ANNA, 'Hallo, meine Rechnung ist falsch', t(0))])),
    events('anna assigned', [
      event('a1', 'assigned', 10, { customer: ANNA, agent: 'alice' }),
      event('a1c', 'categorized', 11, { customer: ANNA, category: 'billing' }),
    ]),
    events('alice answers anna', [event('a2', 'agent_message', 45, { customer: ANNA, agent: 'alice', message_id: aliceAnswer })]),
    webhook(
      'status of alice answer',
      statuses(
        status(aliceAnswer, 'sent', t(46), { recipient_id: ANNA, biz_opaque_callback_data: 'agent:alice' }),
        status(aliceAnswer, 'read', t(80), { recipient_id: ANNA }),
      ),
    ),
    events('anna resolved', [event('a3', 'resolved', 600, { customer: ANNA, by: 'agent' })]),
    // Bert: the bot answers in 3 s, Bert writes again, the bot hands over to bob, who answers from the Business app.
    webhook('bert writes', inbound(BERT, 'Bert', [textMessage(BERT, 'Where is my parcel?', t(100))])),
    webhook('bot answers bert', statuses(status(botAnswer, 'sent', t(103), { recipient_id: BERT, biz_opaque_callback_data: 'bot' }))),
    webhook('bert writes again', inbound(BERT, 'Bert', [textMessage(BERT, 'That did not help', t(200))])),
    events('handover to bob', [event('b1', 'handover', 210, { customer: BERT, agent: 'bob' })]),
    webhook(
      'bob answers in the Business app',
      envelope([
        {
          field: 'smb_message_echoes',
          value: {
            messaging_product: 'whatsapp',
            metadata: { display_phone_number: '15550783881', phone_number_id: PHONE_NUMBER_ID },
            message_echoes: [
              {
                from: '15550783881',
                to: BERT,
                id: echoAnswer,
                timestamp: unix(t(290)),
                type: 'text',
                text: { body: 'Your parcel arrives tomorrow' },
              },
            ],
          },
        },
      ]),
    ),
    events('bert resolved', [event('b2', 'resolved', 900, { customer: BERT, by: 'agent' })]),
    // Clara writes and is left waiting.
    webhook('clara writes', inbound(CLARA, 'Clara', [textMessage(CLARA, 'Hello? Anyone?', t(3 * 3600 - 400))])),
    // Dora: the bot answers and resolves.
    webhook('dora writes', inbound(DORA, 'Dora', [textMessage(DORA, 'Quick question', t(1000))])),
    events('bot answers and resolves dora', [
      event('d1', 'bot_message', 1020, { customer: DORA, message_id: botToDora }),
      event('d2', 'resolved', 1030, { customer: DORA, by: 'bot' }),
    ]),
    // Anna comes back within the FCR window: reopened, not resolved on first contact.
    webhook('anna comes back', inbound(ANNA, 'Anna', [textMessage(ANNA, 'Immer noch falsch!', t(3600))])),
    events('alice goes offline', [{ id: 'p3', type: 'agent_status', at: iso(7200), agent: 'alice', status: 'offline' }]),
    // Emil wrote 2 days ago and nobody answered: the timers job resolves him automatically.
    webhook('emil wrote two days ago', inbound(EMIL, 'Emil', [textMessage(EMIL, 'Kündigung', new Date(NOW - 48 * 3600_000))])),
  ];
}

/** The KPIs summed over categories (the timeline tests timings; categories are checked on their own). */
async function kpis(target: App) {
  const m = await scrape(target);
  const t = (name: string, labels: Record<string, string> = {}) => total(m, name, labels);
  return {
    opened: t('whatsapp_conversations_opened_total'),
    openedByCategory: ['billing', 'delivery', 'unknown'].map((category) => t('whatsapp_conversations_opened_total', { category })),
    reopened: t('whatsapp_conversations_reopened_total'),
    resolvedAgent: t('whatsapp_conversations_resolved_total', { resolved_by: 'agent' }),
    resolvedBot: t('whatsapp_conversations_resolved_total', { resolved_by: 'bot' }),
    resolvedAuto: t('whatsapp_conversations_resolved_total', { resolved_by: 'auto' }),
    frtAgent: [
      t('whatsapp_first_response_seconds_count', { responder: 'agent' }),
      t('whatsapp_first_response_seconds_sum', { responder: 'agent' }),
    ],
    frtBot: [
      t('whatsapp_first_response_seconds_count', { responder: 'bot' }),
      t('whatsapp_first_response_seconds_sum', { responder: 'bot' }),
    ],
    frtWithin60: t('whatsapp_first_response_seconds_bucket', { le: '60' }),
    replyAgent: [t('whatsapp_reply_seconds_count', { responder: 'agent' }), t('whatsapp_reply_seconds_sum', { responder: 'agent' })],
    resolutionAgent: [
      t('whatsapp_resolution_seconds_count', { resolved_by: 'agent' }),
      t('whatsapp_resolution_seconds_sum', { resolved_by: 'agent' }),
    ],
    resolutionBot: t('whatsapp_resolution_seconds_sum', { resolved_by: 'bot' }),
    resolutionAuto: t('whatsapp_resolution_seconds_sum', { resolved_by: 'auto' }),
    fcrReopened: t('whatsapp_first_contact_resolutions_total', { result: 'reopened' }),
    botConversations: t('whatsapp_bot_conversations_total'),
    handovers: t('whatsapp_bot_handovers_total'),
    windowsExpired: t('whatsapp_service_windows_expired_total'),
    outboundAgent: t('whatsapp_messages_total', { direction: 'outbound', sender: 'agent', type: 'unknown' }),
    sentiment: ['negative', 'neutral', 'positive'].map((polarity) => t('whatsapp_inbound_sentiment_total', { polarity })),
    customerMessages: ['billing', 'delivery', 'unknown'].map((category) => t('whatsapp_customer_messages_total', { category })),
  };
}

async function gauges(target: App) {
  const m = await scrape(target);
  return {
    openBilling: sample(m, 'whatsapp_open_conversations', { state: 'assigned', category: 'billing', business_number: PHONE_NUMBER_ID }),
    openUnassigned: sample(m, 'whatsapp_open_conversations', {
      state: 'unassigned',
      category: 'unknown',
      business_number: PHONE_NUMBER_ID,
    }),
    waiting: ['0', '60', '300', '600'].map((over) => total(m, 'whatsapp_waiting_conversations', { over_seconds: over })),
    waitingNegative: ['0', '60', '300', '600'].map((over) =>
      sample(m, 'whatsapp_waiting_conversations', { over_seconds: over, sentiment: 'negative', business_number: PHONE_NUMBER_ID }),
    ),
    aliceOnline: sample(m, 'whatsapp_agent_online', { agent: 'alice' }),
    bobOnline: sample(m, 'whatsapp_agent_online', { agent: 'bob' }),
    aliceOpen: sample(m, 'whatsapp_agent_open_conversations', { agent: 'alice' }),
    bobOpen: sample(m, 'whatsapp_agent_open_conversations', { agent: 'bob' }),
    aliceOnlineSeconds: sample(m, 'whatsapp_agent_online_seconds_total', { agent: 'alice' }),
    aliceBusySeconds: sample(m, 'whatsapp_agent_busy_seconds_total', { agent: 'alice' }),
    collectorsOk: ['conversations', 'agents'].map((c) => sample(m, 'whatsapp_scrape_collector_success', { collector: c })),
  };
}

describe('helpdesk KPIs on a known timeline', () => {
  let first: Awaited<ReturnType<typeof kpis>>;

  it('computes every KPI exactly', async () => {
    for (const step of TIMELINE) {
      const res = await step.send(app);
      assert.equal(res.status, 200, `${step.what}: ${res.text}`);
    }
    // Emil's message is two days old: folding it up to now resolves him at once; the job finds nothing left to do.
    assert.equal(await advanceDueConversations(app.timers, new Date(NOW)), 0);

    first = await kpis(app);
    assert.deepEqual(first, {
      opened: 5, // Anna, Bert, Clara, Dora, Emil
      // Categorised from the first message: "Rechnung" is billing, "parcel" is delivery; the rest match no rule.
      openedByCategory: [1, 1, 3],
      reopened: 1,
      resolvedAgent: 2, // Anna at 600 s, Bert at 900 s
      resolvedBot: 1, // Dora
      resolvedAuto: 1, // Emil, 24 h after his message
      frtAgent: [1, 45],
      frtBot: [2, 3 + 20], // Bert 3 s, Dora 20 s
      frtWithin60: 3,
      replyAgent: [2, 45 + 90], // Anna waited 45 s, Bert from 200 s to 290 s
      resolutionAgent: [2, 600 + 800], // Anna 0→600 s, Bert 100→900 s
      resolutionBot: 30,
      resolutionAuto: 24 * 3600,
      fcrReopened: 1,
      botConversations: 2, // Bert and Dora
      handovers: 1,
      windowsExpired: 1, // Emil's window closed unanswered
      outboundAgent: 1, // alice's answer, counted once although seen twice
      // Negative: "… Rechnung ist falsch", "That did not help" (negated), "Immer noch falsch!"; the other four neutral.
      sentiment: [3, 4, 0],
      customerMessages: [2, 2, 3], // Anna twice (billing), Bert twice (delivery), Clara, Dora, Emil
    });
  });

  it('serves exactly the golden /metrics (names, types, help, labels and values), which promtool accepts', async () => {
    const text = (await request(app.express).get('/metrics').expect(200)).text;
    const golden = stableMetrics(text);
    if (process.env.UPDATE_GOLDEN === '1') writeFileSync(GOLDEN_FILE, golden);
    assert.equal(
      golden,
      readFileSync(GOLDEN_FILE, 'utf8'),
      'run UPDATE_GOLDEN=1 node --import tsx --test test/kpis.test.ts if the change is meant',
    );
    if (skipUnless('promtool')) return;
    const lint = spawnSync('promtool', ['check', 'metrics'], { input: golden, encoding: 'utf8' });
    assert.equal(`${lint.stdout}${lint.stderr}`.trim(), '', 'promtool check metrics on the golden file');
  });

  it('computes the gauges and agent time from the database', async () => {
    const g = await gauges(app);
    assert.equal(g.openBilling, 1, 'Anna, reopened, assigned to alice');
    assert.equal(g.openUnassigned, 1, 'Clara');
    assert.deepEqual(g.waiting, [2, 2, 2, 1], 'Anna has waited 2 h (since the reopening at 1 h), Clara 400 s');
    assert.deepEqual(g.waitingNegative, [1, 1, 1, 1], 'Anna came back unhappy ("Immer noch falsch!")');
    assert.equal(g.aliceOnline, 0);
    assert.equal(g.bobOnline, 1);
    assert.equal(g.aliceOpen, 1);
    assert.equal(g.bobOpen, 0);
    assert.equal(g.aliceOnlineSeconds, 3 * 3600, 'online from -1 h to +2 h');
    // Busy: handling Anna from 10 s to 600 s, and again from the reopening at 1 h until she went offline at 2 h.
    assert.equal(g.aliceBusySeconds, 590 + 3600);
    assert.deepEqual(g.collectorsOk, [1, 1]);
  });

  it('changes nothing when every request is replayed, nor after a restart', async () => {
    const before = await gauges(app);
    for (const step of TIMELINE) {
      const res = await step.send(app);
      assert.equal(res.status, 200, step.what);
    }
    await advanceDueConversations(app.timers, new Date(NOW));
    assert.deepEqual(await kpis(app), first);
    assert.deepEqual(await gauges(app), before);

    const restarted = testApp(db.reopen());
    assert.deepEqual(await gauges(restarted), before);
    const replayedAfterRestart = await kpis(restarted);
    for (const step of TIMELINE) await step.send(restarted);
    await advanceDueConversations(restarted.timers, new Date(NOW));
    assert.deepEqual(await kpis(restarted), replayedAfterRestart, 'nothing new is counted after the restart either');
  });
});

describe('POST /api/v1/events', () => {
  it('needs the bearer token', async () => {
    const res = await postEvents(app, { id: 'x', type: 'agent_status', at: iso(0), agent: 'a', status: 'online' }, 'wrong');
    assert.equal(res.status, 401);
    assert.match(res.body.error.message, /wrong bearer token/);
    assert.equal((await request(app.express).post('/api/v1/events').send({})).status, 401);
  });

  it('answers 400 naming every bad field, and stores none of the batch', async () => {
    const res = await postEvents(app, [
      { id: 'v1', type: 'agent_status', at: iso(0), agent: 'zoe', status: 'online' },
      { id: 'v2', type: 'agent_message', at: 'yesterday', customer: ANNA, phone_number_id: PHONE_NUMBER_ID },
      { id: 'v3', type: 'teleport', at: iso(0) },
      { id: 'v4', type: 'resolved', at: iso(0), customer: ANNA, phone_number_id: PHONE_NUMBER_ID, by: 'magic' },
    ]);
    assert.equal(res.status, 400);
    assert.equal(res.body.error.code, 'bad_request');
    const message: string = res.body.error.message;
    for (const part of [
      '[1].at: expected an ISO 8601 time',
      '[1].agent: required',
      '[2].type: expected one of agent_message',
      '[3].by: expected "agent" or "bot"',
    ]) {
      assert.ok(message.includes(part), `${part} in ${message}`);
    }
    const stored = await db.database.query(`SELECT 1 FROM helpdesk_events WHERE id = 'v1'`);
    assert.equal(stored.rowCount, 0);
    for (const bad of ['not json', '[]', '42']) {
      const r = await request(app.express)
        .post('/api/v1/events')
        .set('Authorization', `Bearer ${EVENTS_TOKEN}`)
        .set('Content-Type', 'application/json')
        .send(bad);
      assert.equal(r.status, 400, bad);
    }
  });

  it('refuses events dated in the future and bodies nested too deep, with 400', async () => {
    const future = await postEvents(app, event('f1', 'resolved', 3 * 3600 + 3600, { customer: ANNA, by: 'agent' }));
    assert.equal(future.status, 400);
    assert.match(future.body.error.message, /at: is in the future/);
    let deep: unknown = {};
    for (let i = 0; i < 6000; i++) deep = { n: deep };
    const tooDeep = await postEvents(app, { id: 'deep', type: 'agent_status', at: iso(0), agent: 'x', status: 'online', extra: deep });
    assert.equal(tooDeep.status, 400, tooDeep.text);
  });

  it('takes one event or an array, is idempotent on id, and says when there is no open conversation', async () => {
    const single = await postEvents(app, event('s1', 'assigned', 5000, { customer: '4915199999999', agent: 'alice' }));
    assert.equal(single.status, 200);
    assert.deepEqual(single.body, { results: [{ id: 's1', status: 'stored', effect: 'no open conversation' }] });
    const again = await postEvents(app, [
      event('s1', 'assigned', 5000, { customer: '4915199999999', agent: 'alice' }),
      event('s1', 'assigned', 5000, { customer: '4915199999999', agent: 'alice' }),
    ]);
    assert.deepEqual(again.body, {
      results: [
        { id: 's1', status: 'duplicate' },
        { id: 's1', status: 'duplicate' },
      ],
    });
  });
});

describe('business hours and collector failures', () => {
  it('counts first response and resolution in business hours when BUSINESS_HOURS is set', async () => {
    const hours = JSON.stringify({
      timezone: 'UTC',
      weekly: { mon: ['09:00-17:00'], tue: ['09:00-17:00'], wed: ['09:00-17:00'], thu: ['09:00-17:00'], fri: ['09:00-17:00'] },
    });
    // A weekend two to three weeks back, whatever day the suite runs, and an auto-resolve far
    // enough that the conversation is still open when the late events arrive (a fixed date
    // stopped working once it was older than AUTO_RESOLVE_AFTER).
    const friday = new Date(Date.now() - 14 * 86_400_000);
    friday.setUTCHours(16, 55, 0, 0);
    while (friday.getUTCDay() !== 5) friday.setUTCDate(friday.getUTCDate() - 1);
    const afterFriday = (minutes: number) => new Date(friday.getTime() + minutes * 60_000).toISOString();
    const office = testApp(db.database, { BUSINESS_HOURS: hours, AUTO_RESOLVE_AFTER: '30d' });
    const customer = '4915100000099';
    // Friday 16:55 UTC; answered Monday 09:05 (10 business minutes); resolved Monday 10:00.
    await postWebhook(office, inbound(customer, 'Weekend', [textMessage(customer, 'Friday evening question', friday)])).expect(200);
    await postEvents(office, [
      { id: 'bh1', type: 'agent_message', at: afterFriday(64 * 60 + 10), phone_number_id: PHONE_NUMBER_ID, customer, agent: 'alice' },
      { id: 'bh2', type: 'resolved', at: afterFriday(65 * 60 + 5), phone_number_id: PHONE_NUMBER_ID, customer, by: 'agent' },
    ]).expect(200);
    const m = await scrape(office);
    const agent = { responder: 'agent', category: 'unknown', business_number: PHONE_NUMBER_ID };
    assert.equal(sample(m, 'whatsapp_first_response_seconds_sum', agent), 64 * 3600 + 10 * 60); // Fri 16:55 → Mon 09:05 on the calendar
    assert.equal(sample(m, 'whatsapp_first_response_business_seconds_sum', agent), 600);
    assert.equal(
      sample(m, 'whatsapp_resolution_business_seconds_sum', {
        resolved_by: 'agent',
        category: 'unknown',
        business_number: PHONE_NUMBER_ID,
      }),
      5 * 60 + 3600,
    );
  });

  it('keeps the scrape working when a collector query fails, and says which', async () => {
    await db.database.query('ALTER TABLE agent_status_events RENAME TO agent_status_events_gone');
    try {
      const m = await scrape(testApp(db.database));
      assert.equal(sample(m, 'whatsapp_scrape_collector_success', { collector: 'agents' }), 0);
      assert.equal(sample(m, 'whatsapp_scrape_collector_success', { collector: 'conversations' }), 1);
      assert.equal(sample(m, 'whatsapp_agent_online', { agent: 'alice' }), undefined, 'no stale values from a failed collector');
      assert.ok(
        (sample(m, 'whatsapp_open_conversations', { state: 'unassigned', category: 'unknown', business_number: PHONE_NUMBER_ID }) ?? -1) >=
          0,
        'the conversations collector still reports',
      );
    } finally {
      await db.database.query('ALTER TABLE agent_status_events_gone RENAME TO agent_status_events');
    }
  });
});

describe('inputs that arrive before the customer message they belong to', () => {
  it('applies helpdesk events and answers received before the customer message, once it arrives', async () => {
    const customer = '4915100000555';
    const base = Math.floor(Date.now() / 1000) * 1000 - 600_000; // whole seconds, as WhatsApp timestamps
    const t = (s: number) => new Date(base + s * 1000);
    const answer = wamid('early');
    // Meta retries the inbound webhook; meanwhile the helpdesk reports assignment and resolution,
    // and the status of the agent's answer arrives.
    const early = await postEvents(app, [
      { id: 'early-1', type: 'assigned', at: t(10).toISOString(), phone_number_id: PHONE_NUMBER_ID, customer, agent: 'bob' },
      { id: 'early-2', type: 'resolved', at: t(120).toISOString(), phone_number_id: PHONE_NUMBER_ID, customer, by: 'agent' },
    ]);
    assert.deepEqual(
      early.body.results.map((r: { effect: string }) => r.effect),
      ['no open conversation', 'no open conversation'],
    );
    await postWebhook(
      app,
      statuses(status(answer, 'sent', t(40), { recipient_id: customer, biz_opaque_callback_data: 'agent:bob' })),
    ).expect(200);
    await postWebhook(app, inbound(customer, 'Spät', [textMessage(customer, 'Hello, I need help', t(0))])).expect(200);

    const row = (
      await db.database.query(
        `SELECT status, assigned_agent, extract(epoch FROM first_response_at - opened_at)::int AS frt, extract(epoch FROM resolved_at - opened_at)::int AS resolution FROM conversations WHERE contact_wa_id = $1`,
        [customer],
      )
    ).rows;
    assert.deepEqual(row, [{ status: 'resolved', assigned_agent: 'bob', frt: 40, resolution: 120 }]);
    // Replaying everything changes nothing: the early inputs were marked applied.
    await postWebhook(app, inbound(customer, 'Spät', [textMessage(customer, 'Hello again', t(130))])).expect(200);
    const after = (
      await db.database.query(`SELECT count(*)::int AS n, max(reopen_count) AS reopens FROM conversations WHERE contact_wa_id = $1`, [
        customer,
      ])
    ).rows[0];
    assert.deepEqual(after, { n: 1, reopens: 1 });
  });
});

/**
 * The CSAT survey loop end to end: resolved conversations get exactly one survey at a local fake
 * Graph API (real HTTP, Meta's request and response shapes and errors), in the right form for
 * the service window; answers given every way are counted once, to the agent who resolved.
 */
import assert from 'node:assert/strict';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, describe, it } from 'node:test';
import type { App } from '../src/app.ts';
import { sendDueSurveys } from '../src/csat/send-surveys.ts';
import { settleDueFacts } from '../src/jobs/settle-facts.ts';
import { postEvents as sendEvents, postWebhook as sendWebhook, scrape, testApp, total } from './support/app.ts';
import { createTestDatabase, type TestDatabase } from './support/database.ts';
import { inbound, PHONE_NUMBER_ID, status, statuses, textMessage, unix, wamid } from './support/meta.ts';

interface GraphCall {
  path: string;
  authorization: string | undefined;
  body: Record<string, any>;
}

/** A fake Graph API: records each send and answers from a queue of Meta-shaped responses. */
async function fakeGraphApi() {
  const calls: GraphCall[] = [];
  const queue: { status: number; body: unknown }[] = [];
  let sent = 0;
  let delayMs = 0;
  const server = http.createServer((req, res) => {
    let raw = '';
    req.on('data', (c) => (raw += c));
    req.on('end', async () => {
      if (delayMs) await new Promise((r) => setTimeout(r, delayMs));
      calls.push({ path: req.url ?? '', authorization: req.headers.authorization, body: JSON.parse(raw) });
      const next = queue.shift() ?? {
        status: 200,
        body: {
          messaging_product: 'whatsapp',
          contacts: [{ input: JSON.parse(raw).to, wa_id: String(JSON.parse(raw).to).slice(1) }],
          messages: [{ id: `wamid.SURVEY${++sent}` }],
        },
      };
      res.writeHead(next.status, { 'Content-Type': 'application/json' }).end(JSON.stringify(next.body));
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    calls,
    failNext: (status: number, code: number, message: string) =>
      queue.push({
        status,
        body: {
          error: {
            message: `(#${code}) ${message}`,
            type: 'OAuthException',
            code,
            error_data: { messaging_product: 'whatsapp', details: message },
            fbtrace_id: 'Az8or2yhqkZfEZ-_4Qn_Bam',
          },
        },
      }),
    slow: (ms: number) => (delayMs = ms),
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/v24.0`,
    close: () => new Promise((r) => server.close(r)),
  };
}

let db: TestDatabase;
let graph: Awaited<ReturnType<typeof fakeGraphApi>>;
let app: App;
let withTemplate: App;

before(async () => {
  db = await createTestDatabase();
  graph = await fakeGraphApi();
  const settings = { WHATSAPP_ACCESS_TOKEN: 'graph-token', WHATSAPP_API_URL: graph.url, CSAT_DELAY: '5m', AUTO_RESOLVE_AFTER: '7d' };
  app = testApp(db.database, settings);
  withTemplate = testApp(db.database, { ...settings, CSAT_TEMPLATE_NAME: 'csat_feedback', CSAT_TEMPLATE_LANGUAGE: 'de' });
});
after(async () => {
  await graph.close();
  await db.drop();
});

const minutesAgo = (m: number) => new Date(Date.now() - m * 60_000);

const postWebhook = (payload: unknown, target: App = app) => sendWebhook(target, payload).expect(200);
const postEvents = (events: object[]) => sendEvents(app, events).expect(200);

/** A conversation the customer opened `writtenAgo` minutes ago, alice answered and resolved `resolvedAgo` minutes ago. */
async function resolvedConversation(customer: string, text: string, writtenAgo: number, resolvedAgo: number) {
  await postWebhook(inbound(customer, 'Kunde', [textMessage(customer, text, minutesAgo(writtenAgo))]));
  await postEvents([
    {
      id: `${customer}-a`,
      type: 'agent_message',
      at: minutesAgo(writtenAgo - 1).toISOString(),
      customer,
      phone_number_id: PHONE_NUMBER_ID,
      agent: 'alice',
    },
    {
      id: `${customer}-r`,
      type: 'resolved',
      at: minutesAgo(resolvedAgo).toISOString(),
      customer,
      phone_number_id: PHONE_NUMBER_ID,
      by: 'agent',
    },
  ]);
}

const survey = async (customer: string) =>
  (await db.database.query(`SELECT status, kind, wamid, attempts, last_error FROM csat_surveys WHERE contact_wa_id = $1`, [customer]))
    .rows[0]!;
const reply = (customer: string, message: Record<string, unknown>, context?: string) =>
  inbound(customer, 'Kunde', [
    {
      from: customer,
      id: wamid('answer'),
      timestamp: unix(new Date()),
      ...(context ? { context: { from: '15550783881', id: context } } : {}),
      ...message,
    },
  ]);

describe('CSAT surveys', () => {
  it('sends one interactive survey inside the window, never twice, and counts a list-row answer once, to the resolving agent', async () => {
    const customer = '4915170000001';
    await resolvedConversation(customer, 'Meine Rechnung stimmt nicht', 60, 50);
    const before = graph.calls.length;
    assert.equal(await sendDueSurveys(app.surveys!), 1);
    assert.equal(await sendDueSurveys(app.surveys!), 0, 'never twice');
    const call = graph.calls.slice(before);
    assert.equal(call.length, 1);
    assert.equal(call[0]!.path, `/v24.0/${PHONE_NUMBER_ID}/messages`);
    assert.equal(call[0]!.authorization, 'Bearer graph-token');
    assert.equal(call[0]!.body.messaging_product, 'whatsapp');
    assert.equal(call[0]!.body.to, `+${customer}`);
    assert.equal(call[0]!.body.type, 'interactive');
    assert.equal(call[0]!.body.biz_opaque_callback_data, 'bot:csat');
    assert.equal(call[0]!.body.interactive.type, 'list');
    assert.match(call[0]!.body.interactive.body.text, /zufrieden/, 'German, like the customer');
    assert.deepEqual(
      call[0]!.body.interactive.action.sections[0].rows.map((r: { id: string }) => r.id),
      ['csat_5', 'csat_4', 'csat_3', 'csat_2', 'csat_1'],
    );
    const sent = await survey(customer);
    assert.equal(sent.status, 'sent');

    const answer = reply(
      customer,
      { type: 'interactive', interactive: { type: 'list_reply', list_reply: { id: 'csat_4', title: '⭐⭐⭐⭐ 4' } } },
      sent.wamid,
    );
    await postWebhook(answer);
    await postWebhook(answer); // redelivered
    const m = await scrape(app);
    assert.equal(total(m, 'whatsapp_csat_responses_total', { score: '4', agent: 'alice', category: 'billing' }), 1);
    assert.equal(total(m, 'whatsapp_conversations_reopened_total'), 0, 'an answer does not reopen the conversation');
    assert.equal((await survey(customer)).status, 'answered');
  });

  it('never treats a survey button as a new request, even a second tap', async () => {
    const customer = '4915170000011';
    await resolvedConversation(customer, 'Hallo', 60, 50);
    await sendDueSurveys(app.surveys!);
    const sent = await survey(customer);
    const tap = (id: string) =>
      reply(customer, { type: 'interactive', interactive: { type: 'list_reply', list_reply: { id, title: id } } }, sent.wamid);
    await postWebhook(tap('csat_5'));
    await postWebhook(tap('csat_4')); // changed their mind
    const m = await scrape(app);
    assert.equal(total(m, 'whatsapp_csat_responses_total', { agent: 'alice', category: 'unknown' }), 1, 'one answer per survey');
    const conversation = (await db.database.query('SELECT status, reopen_count FROM conversations WHERE contact_wa_id = $1', [customer]))
      .rows[0];
    assert.deepEqual(conversation, { status: 'resolved', reopen_count: 0 });
  });

  it('takes free-text feedback after a survey as a reply, never a new request; the earliest score counts (the timeline issue, item 7)', async () => {
    const customer = '4915170000025';
    const settled = testApp(db.database, {
      WHATSAPP_ACCESS_TOKEN: 'graph-token',
      WHATSAPP_API_URL: graph.url,
      CSAT_DELAY: '5m',
      AUTO_RESOLVE_AFTER: '7d',
      SETTLE_AFTER: '1h',
    });
    await resolvedConversation(customer, 'Hallo', 60, 50);
    const surveyAt = minutesAgo(5);
    await sendDueSurveys(app.surveys!, surveyAt);
    const text = (body: string, secondsAfter: number) =>
      inbound(customer, 'Kunde', [
        {
          from: customer,
          id: wamid('fb'),
          timestamp: unix(new Date(surveyAt.getTime() + secondsAfter * 1000)),
          type: 'text',
          text: { body },
        },
      ]);
    // A second answer arrives first, but it was written later: the survey keeps the earlier score.
    await postWebhook(text('1', 40), settled);
    await postWebhook(text('Danke, 5 Sterne!', 10), settled);
    await postWebhook(text('sehr gut', 20), settled);
    await settleDueFacts(settled.settle, new Date(Date.now() + 2 * 3_600_000));
    const m = await scrape(settled);
    assert.deepEqual(
      ['5', '1'].map((score) => total(m, 'whatsapp_csat_responses_total', { score, agent: 'alice', category: 'unknown' })),
      [1, 0],
    );
    const conversation = (
      await db.database.query('SELECT status, reopen_count, fcr FROM conversations WHERE contact_wa_id = $1', [customer])
    ).rows;
    assert.deepEqual(conversation, [{ status: 'resolved', reopen_count: 0, fcr: 'pending' }], 'feedback reopens nothing');
    assert.equal((await survey(customer)).status, 'answered');
    // A real new request after the feedback does reopen.
    await postWebhook(text('Meine Rechnung ist aber immer noch falsch, warum?', 60), settled);
    const after = (await db.database.query('SELECT status, reopen_count FROM conversations WHERE contact_wa_id = $1', [customer])).rows;
    assert.deepEqual(after, [{ status: 'open', reopen_count: 1 }]);
  });

  it('credits the CSAT answer of a bot resolution to no agent, even when an agent had the conversation', async () => {
    const customer = '4915170000026';
    await postWebhook(inbound(customer, 'Kunde', [textMessage(customer, 'Hallo', minutesAgo(60))]));
    await postEvents([
      {
        id: `${customer}-as`,
        type: 'assigned',
        at: minutesAgo(59).toISOString(),
        customer,
        phone_number_id: PHONE_NUMBER_ID,
        agent: 'alice',
      },
      { id: `${customer}-b`, type: 'bot_message', at: minutesAgo(58).toISOString(), customer, phone_number_id: PHONE_NUMBER_ID },
      { id: `${customer}-r`, type: 'resolved', at: minutesAgo(50).toISOString(), customer, phone_number_id: PHONE_NUMBER_ID, by: 'bot' },
    ]);
    await sendDueSurveys(app.surveys!);
    const sent = await survey(customer);
    await postWebhook(
      reply(customer, { type: 'interactive', interactive: { type: 'list_reply', list_reply: { id: 'csat_3', title: '3' } } }, sent.wamid),
    );
    const m = await scrape(app);
    assert.equal(total(m, 'whatsapp_csat_responses_total', { score: '3', agent: 'none' }), 1);
    assert.equal(total(m, 'whatsapp_csat_responses_total', { score: '3', agent: 'alice' }), 0);
  });

  it('does not resend a survey whose send timed out (Meta may have delivered it)', async () => {
    const customer = '4915170000012';
    await resolvedConversation(customer, 'Hallo', 60, 50);
    graph.slow(600);
    const before = graph.calls.length;
    try {
      await sendDueSurveys({ ...app.surveys!, api: { ...app.surveys!.api, timeoutMs: 200 } });
    } finally {
      graph.slow(0);
    }
    await new Promise((r) => setTimeout(r, 500));
    await sendDueSurveys(app.surveys!, new Date(Date.now() + 30 * 60_000));
    assert.equal(graph.calls.length - before, 1);
    const failed = await survey(customer);
    assert.equal(failed.status, 'failed');
    assert.match(failed.last_error, /not resent/);
  });

  it('asks about the final resolution when the customer came back before the survey went out', async () => {
    const customer = '4915170000013';
    await resolvedConversation(customer, 'Hallo', 60, 50);
    await postWebhook(inbound(customer, 'Kunde', [textMessage(customer, 'Doch noch eine Frage', minutesAgo(48))]));
    await postEvents([
      {
        id: `${customer}-b`,
        type: 'agent_message',
        at: minutesAgo(47).toISOString(),
        customer,
        phone_number_id: PHONE_NUMBER_ID,
        agent: 'bob',
      },
      {
        id: `${customer}-r2`,
        type: 'resolved',
        at: minutesAgo(40).toISOString(),
        customer,
        phone_number_id: PHONE_NUMBER_ID,
        by: 'agent',
        agent: 'bob',
      },
    ]);
    await sendDueSurveys(app.surveys!);
    assert.equal((await survey(customer)).status, 'sent');
    const agent = (await db.database.query('SELECT agent FROM csat_surveys WHERE contact_wa_id = $1', [customer])).rows[0]!.agent;
    assert.equal(agent, 'bob');
  });

  it('keeps the latest consent when an old user_preferences webhook is redelivered, and ignores null items', async () => {
    const customer = '4915170000014';
    const prefs = (value: string, minutes: number, extra: unknown[] = []) => ({
      object: 'whatsapp_business_account',
      entry: [
        {
          id: 'waba',
          changes: [
            {
              field: 'user_preferences',
              value: {
                messaging_product: 'whatsapp',
                metadata: { display_phone_number: '15550783881', phone_number_id: PHONE_NUMBER_ID },
                user_preferences: [
                  ...extra,
                  { wa_id: customer, value, category: 'marketing_messages', timestamp: Math.floor(minutesAgo(minutes).getTime() / 1000) },
                ],
              },
            },
          ],
        },
      ],
    });
    const first = prefs('stop', 90);
    await postWebhook(first);
    await postWebhook(prefs('resume', 80));
    await postWebhook(prefs('stop', 70, [null]));
    await postWebhook(first); // Meta redelivers the oldest
    await resolvedConversation(customer, 'Hallo', 60, 50);
    await sendDueSurveys(app.surveys!);
    assert.equal((await survey(customer)).status, 'skipped');
  });

  it('takes a free-text answer as the next message ("5 ⭐")', async () => {
    const customer = '4915170000002';
    await resolvedConversation(customer, 'Where is my parcel?', 60, 50);
    await sendDueSurveys(app.surveys!);
    await postWebhook(reply(customer, { type: 'text', text: { body: '5 ⭐' } }));
    const m = await scrape(app);
    assert.equal(total(m, 'whatsapp_csat_responses_total', { score: '5', agent: 'alice', category: 'delivery' }), 1);
  });

  it('skips customers who wrote again or opted out', async () => {
    const start = await scrape(app);
    const again = '4915170000003';
    await resolvedConversation(again, 'Hallo', 60, 50);
    await postWebhook(inbound(again, 'Kunde', [textMessage(again, 'Noch eine Frage', minutesAgo(48))]));
    const optedOut = '4915170000004';
    await resolvedConversation(optedOut, 'Hallo', 60, 50);
    await postEvents([
      { id: 'oo-1', type: 'opt_out', at: minutesAgo(49).toISOString(), customer: optedOut, phone_number_id: PHONE_NUMBER_ID },
    ]);
    // The WhatsApp way: a user_preferences webhook ("stop").
    const stopped = '4915170000010';
    await resolvedConversation(stopped, 'Hallo', 60, 50);
    await postWebhook({
      object: 'whatsapp_business_account',
      entry: [
        {
          id: 'waba',
          changes: [
            {
              field: 'user_preferences',
              value: {
                messaging_product: 'whatsapp',
                metadata: { display_phone_number: '15550783881', phone_number_id: PHONE_NUMBER_ID },
                contacts: [{ profile: { name: 'K' }, wa_id: stopped }],
                user_preferences: [
                  {
                    wa_id: stopped,
                    detail: 'User requested to stop marketing messages',
                    category: 'marketing_messages',
                    value: 'stop',
                    timestamp: Math.floor(Date.now() / 1000) - 60,
                  },
                ],
              },
            },
          ],
        },
      ],
    });
    const before = graph.calls.length;
    await sendDueSurveys(app.surveys!);
    assert.equal(graph.calls.length, before);
    assert.equal((await survey(again)).status, 'skipped');
    assert.equal((await survey(optedOut)).status, 'skipped');
    assert.equal((await survey(stopped)).status, 'skipped');
    const m = await scrape(app);
    const delta = (outcome: string) =>
      total(m, 'whatsapp_csat_surveys_total', { outcome }) - total(start, 'whatsapp_csat_surveys_total', { outcome });
    assert.equal(delta('skipped_customer_wrote'), 1);
    assert.equal(delta('skipped_opted_out'), 2);
  });

  it('outside the window sends the template only to opted-in customers, and reads a quick-reply answer', async () => {
    const notOptedIn = '4915170000005';
    await resolvedConversation(notOptedIn, 'Hallo', 30 * 60, 26 * 60);
    const optedIn = '4915170000006';
    await resolvedConversation(optedIn, 'Hallo', 30 * 60, 26 * 60);
    await postEvents([
      { id: 'oi-1', type: 'opt_in', at: minutesAgo(40 * 60).toISOString(), customer: optedIn, phone_number_id: PHONE_NUMBER_ID },
    ]);
    const before = graph.calls.length;
    await sendDueSurveys(withTemplate.surveys!);
    const calls = graph.calls.slice(before);
    assert.equal(calls.length, 1);
    assert.equal(calls[0]!.body.to, `+${optedIn}`);
    assert.equal(calls[0]!.body.type, 'template');
    assert.equal(calls[0]!.body.template.name, 'csat_feedback');
    assert.deepEqual(calls[0]!.body.template.language, { code: 'de' });
    assert.deepEqual(
      calls[0]!.body.template.components.map((c: { sub_type: string; index: string; parameters: { payload: string }[] }) => [
        c.sub_type,
        c.index,
        c.parameters[0]!.payload,
      ]),
      [
        ['quick_reply', '0', 'csat_5'],
        ['quick_reply', '1', 'csat_4'],
        ['quick_reply', '2', 'csat_3'],
        ['quick_reply', '3', 'csat_2'],
        ['quick_reply', '4', 'csat_1'],
      ],
    );
    assert.equal((await survey(notOptedIn)).status, 'skipped');
    const sent = await survey(optedIn);
    await postWebhook(reply(optedIn, { type: 'button', button: { payload: 'csat_2', text: 'Geht so' } }, sent.wamid));
    assert.equal(total(await scrape(app), 'whatsapp_csat_responses_total', { score: '2', agent: 'alice' }), 1);
  });

  it('retries throttling (130429) with backoff, and fails on a permanent error', async () => {
    const start = await scrape(app);
    const throttled = '4915170000007';
    await resolvedConversation(throttled, 'Hallo', 60, 50);
    graph.failNext(400, 130429, 'Rate limit hit');
    await sendDueSurveys(app.surveys!);
    assert.deepEqual(
      { ...(await survey(throttled)), wamid: undefined, last_error: undefined },
      { status: 'pending', kind: 'interactive', wamid: undefined, attempts: 1, last_error: undefined },
    );
    assert.equal(await sendDueSurveys(app.surveys!), 0, 'not before the backoff');
    await sendDueSurveys(app.surveys!, new Date(Date.now() + 2 * 60_000));
    assert.equal((await survey(throttled)).status, 'sent');

    const broken = '4915170000008';
    await resolvedConversation(broken, 'Hallo', 60, 50);
    graph.failNext(400, 100, 'Invalid parameter');
    await sendDueSurveys(app.surveys!);
    const failed = await survey(broken);
    assert.equal(failed.status, 'failed');
    assert.match(failed.last_error, /Invalid parameter/);
    const m = await scrape(app);
    const delta = (outcome: string) =>
      total(m, 'whatsapp_csat_surveys_total', { outcome }) - total(start, 'whatsapp_csat_surveys_total', { outcome });
    assert.equal(delta('retried'), 1);
    assert.equal(delta('failed'), 1);
  });

  it('marks a sent survey undelivered when WhatsApp later reports it failed', async () => {
    const customer = '4915170000015';
    await resolvedConversation(customer, 'Hallo', 60, 50);
    await sendDueSurveys(app.surveys!);
    const sent = await survey(customer);
    const start = total(await scrape(app), 'whatsapp_csat_surveys_total', { outcome: 'undelivered' });
    const failure = statuses(
      status(sent.wamid, 'failed', new Date(), {
        recipient_id: customer,
        biz_opaque_callback_data: 'bot:csat',
        errors: [{ code: 131026, title: 'Message undeliverable' }],
      }),
    );
    await postWebhook(failure);
    await postWebhook(failure);
    const after = await survey(customer);
    assert.equal(after.status, 'undelivered');
    assert.match(after.last_error, /131026/);
    assert.equal(total(await scrape(app), 'whatsapp_csat_surveys_total', { outcome: 'undelivered' }) - start, 1);
  });

  it('falls back to the template when Meta reports the window closed (131047)', async () => {
    const customer = '4915170000009';
    await resolvedConversation(customer, 'Hallo', 60, 50);
    await postEvents([{ id: 'oi-9', type: 'opt_in', at: minutesAgo(70).toISOString(), customer, phone_number_id: PHONE_NUMBER_ID }]);
    graph.failNext(400, 131047, 'Re-engagement message');
    const before = graph.calls.length;
    await sendDueSurveys(withTemplate.surveys!);
    assert.deepEqual(
      graph.calls.slice(before).map((c) => c.body.type),
      ['interactive', 'template'],
    );
    assert.deepEqual(
      { status: (await survey(customer)).status, kind: (await survey(customer)).kind },
      { status: 'sent', kind: 'template' },
    );
  });
});

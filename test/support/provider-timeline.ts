/**
 * One scripted helpdesk timeline, told once as provider-neutral steps, for the test that every
 * provider gives the same KPIs as Meta webhooks plus the helpdesk events API. Each provider's
 * test maps the steps onto its own payloads; `runMeta` is the reference. Each run gets its own
 * database and business number; `kpiSeries` and `conversationRows` put them side by side.
 */
import assert from 'node:assert/strict';
import type { App } from '../../src/app.ts';
import { sendDueSurveys } from '../../src/csat/send-surveys.ts';
import { type GraphApiStub, type SentMessage, startGraphApiStub } from '../../src/demo/graph-api.ts';
import type { Database } from '../../src/storage/database.ts';
import { postEvents, postWebhook, scrape, testApp, total } from './app.ts';
import { createTestDatabase } from './database.ts';
import { inbound, PHONE_NUMBER_ID, status, statuses, textMessage } from './meta.ts';

/** The timeline starts 3 hours ago; `at` is seconds after its start. */
export const T0 = Math.floor(Date.now() / 1000) * 1000 - 3 * 3600_000;
export const timeAt = (seconds: number) => new Date(T0 + seconds * 1000);

export const ANNA = '4915200000001';
export const BERT = '4915200000002';
export const CARL = '4915200000003';
export const DORA = '4915200000004';
export const EMIL = '4915200000005';
export const NAMES: Record<string, string> = { [ANNA]: 'Anna', [BERT]: 'Bert', [CARL]: 'Carl', [DORA]: 'Dora', [EMIL]: 'Emil' };
/** Agent ids as Chatwoot and respond.io give them (user ids). */
export const LENA = '7';
export const TOM = '8';

export type Step = { at: number; n: number } & (
  | { kind: 'customer'; customer: string; text: string }
  | { kind: 'bot'; customer: string }
  | { kind: 'agent'; customer: string; agent: string; failed?: boolean }
  | { kind: 'handover'; customer: string }
  | { kind: 'assigned'; customer: string; agent: string }
  | { kind: 'categorized'; customer: string; category: string }
  | { kind: 'resolved'; customer: string; by: 'agent' | 'bot'; agent?: string }
  | { kind: 'presence'; agent: string }
);

type Unnumbered = Step extends infer S ? (S extends Step ? Omit<S, 'n'> : never) : never;

/**
 * Anna: the bot answers, hands over, Lena is assigned, answers, labels and resolves; Anna rates 4.
 * Bert: the bot answers and resolves. Carl: assigned to Tom, left waiting. Dora: Tom's first
 * answer fails, the second arrives. Emil: Lena resolves, Emil comes back (a reopen), Lena resolves again.
 */
const STEPS: Unnumbered[] = [
  { at: -3600, kind: 'presence', agent: LENA },
  { at: -3600, kind: 'presence', agent: TOM },
  { at: 0, kind: 'customer', customer: ANNA, text: 'Hallo, meine Rechnung wurde doppelt abgebucht' },
  { at: 5, kind: 'bot', customer: ANNA },
  { at: 20, kind: 'handover', customer: ANNA },
  { at: 30, kind: 'assigned', customer: ANNA, agent: LENA },
  { at: 45, kind: 'agent', customer: ANNA, agent: LENA },
  { at: 60, kind: 'categorized', customer: ANNA, category: 'billing' },
  { at: 50, kind: 'customer', customer: EMIL, text: 'Where is my parcel? The tracking has not moved for a week' },
  { at: 80, kind: 'agent', customer: EMIL, agent: LENA },
  { at: 100, kind: 'customer', customer: BERT, text: 'Wann öffnet ihr morgen?' },
  { at: 104, kind: 'bot', customer: BERT },
  { at: 120, kind: 'customer', customer: ANNA, text: 'Danke, das ging schnell' },
  { at: 140, kind: 'resolved', customer: EMIL, by: 'agent', agent: LENA },
  { at: 200, kind: 'customer', customer: BERT, text: 'Danke!' },
  { at: 210, kind: 'resolved', customer: BERT, by: 'bot' },
  { at: 300, kind: 'customer', customer: CARL, text: 'I am still waiting for my refund, this is terrible' },
  { at: 310, kind: 'assigned', customer: CARL, agent: TOM },
  { at: 400, kind: 'customer', customer: DORA, text: 'Hallo? Ist da jemand?' },
  { at: 430, kind: 'agent', customer: DORA, agent: TOM, failed: true },
  { at: 500, kind: 'agent', customer: DORA, agent: TOM },
  { at: 520, kind: 'customer', customer: EMIL, text: 'Sorry, one more thing: the parcel is damaged' },
  { at: 560, kind: 'agent', customer: EMIL, agent: LENA },
  { at: 600, kind: 'resolved', customer: ANNA, by: 'agent', agent: LENA },
  { at: 640, kind: 'resolved', customer: EMIL, by: 'agent', agent: LENA },
];
export const TIMELINE: Step[] = STEPS.map((s, n) => ({ ...s, n }) as Step).sort((a, b) => a.at - b.at || a.n - b.n);

/** The CSAT answer: Anna rates her resolved conversation 4 (Lena resolved it). */
export const CSAT = { customer: ANNA, score: 4, agent: LENA };

export const wamidOf = (step: Step) => `wamid.TIMELINE${String(step.n).padStart(4, '0')}${step.kind}`;

// ---- the reference: Meta webhooks and helpdesk events ------------------------------------------

/** The timeline as Meta webhooks and helpdesk events, on the test business number PHONE_NUMBER_ID. */
export async function runMeta(app: App): Promise<void> {
  const phoneNumberId = PHONE_NUMBER_ID;
  for (const step of TIMELINE) {
    const at = timeAt(step.at);
    switch (step.kind) {
      case 'customer':
        await metaWebhook(app, inbound(step.customer, NAMES[step.customer]!, [textMessage(step.customer, step.text, at, wamidOf(step))]));
        break;
      case 'bot':
      case 'agent': {
        const id = wamidOf(step);
        const answer = () =>
          helpdeskEvents(app, [
            step.kind === 'bot'
              ? event(step, phoneNumberId, { type: 'bot_message', message_id: id })
              : event(step, phoneNumberId, { type: 'agent_message', agent: step.agent, message_id: id }),
          ]);
        const callback = step.kind === 'bot' ? 'bot' : `agent:${step.agent}`;
        const base = { recipient_id: step.customer, biz_opaque_callback_data: callback };
        const failed = step.kind === 'agent' && step.failed;
        const report = () =>
          metaWebhook(
            app,
            statuses(
              status(id, 'sent', at, base),
              failed
                ? status(id, 'failed', new Date(at.getTime() + 2000), {
                    ...base,
                    errors: [{ code: 131026, title: 'Message undeliverable', message: 'Message undeliverable' }],
                  })
                : status(id, 'delivered', new Date(at.getTime() + 2000), base),
            ),
          );
        // A failure is reported before the answer: counted once it arrived, an answer stays counted
        // (late corrections are the business of SETTLE_AFTER, the same for every provider).
        if (failed) await report();
        await answer();
        if (!failed) await report();
        break;
      }
      case 'handover':
        await helpdeskEvents(app, [event(step, phoneNumberId, { type: 'handover' })]);
        break;
      case 'assigned':
        await helpdeskEvents(app, [event(step, phoneNumberId, { type: 'assigned', agent: step.agent })]);
        break;
      case 'categorized':
        await helpdeskEvents(app, [event(step, phoneNumberId, { type: 'categorized', category: step.category })]);
        break;
      case 'resolved':
        await helpdeskEvents(app, [
          event(step, phoneNumberId, { type: 'resolved', by: step.by, ...(step.agent ? { agent: step.agent } : {}) }),
        ]);
        break;
      case 'presence':
        await presence(app, step);
        break;
    }
  }
}

/** Agent presence, which every provider reports through the events API. */
export async function presence(app: App, step: Extract<Step, { kind: 'presence' }>): Promise<void> {
  await helpdeskEvents(app, [
    { id: `presence-${step.n}`, type: 'agent_status', at: timeAt(step.at).toISOString(), agent: step.agent, status: 'online' },
  ]);
}

function event(step: Step, phoneNumberId: string, fields: Record<string, unknown>) {
  return {
    id: `evt-${step.n}`,
    at: timeAt(step.at).toISOString(),
    customer: 'customer' in step ? step.customer : undefined,
    phone_number_id: phoneNumberId,
    ...fields,
  };
}

async function metaWebhook(app: App, payload: unknown): Promise<void> {
  const res = await postWebhook(app, payload);
  if (res.status !== 200) throw new Error(`Meta webhook answered ${res.status}: ${res.text}`);
}

async function helpdeskEvents(app: App, events: unknown[]): Promise<void> {
  const res = await postEvents(app, events);
  if (res.status !== 200) throw new Error(`events API answered ${res.status}: ${res.text}`);
}

/** The Meta way of a CSAT answer: the customer's digit in reply to the exporter's survey. */
export async function answerSurveyOnMeta(app: App, survey: SentMessage, at: Date): Promise<void> {
  const message = { ...textMessage(survey.to, String(CSAT.score), at, `wamid.TIMELINEcsat${survey.to}`), context: { id: survey.wamid } };
  await metaWebhook(app, inbound(survey.to, NAMES[survey.to]!, [message]));
}

/** Sends the exporter's due CSAT surveys to a stand-in Graph API and lets `answer` reply to the one the timeline's customer answers. */
export async function surveyLoop(app: App, stub: GraphApiStub, answer: (survey: SentMessage, at: Date) => Promise<void>): Promise<void> {
  if (!app.surveys) throw new Error('surveys are not enabled on this app');
  await sendDueSurveys(app.surveys);
  const survey = stub.sent.find((s) => s.to === CSAT.customer);
  if (!survey) throw new Error(`no survey was sent to ${CSAT.customer}: ${JSON.stringify(stub.sent.map((s) => s.to))}`);
  await answer(survey, new Date(Date.now() + 1000));
}

async function graphApi(): Promise<GraphApiStub> {
  return startGraphApiStub({ onSend: () => undefined });
}

/** The settings of an app that sends CSAT surveys to the stand-in. */
const surveySettings = (stub: GraphApiStub) => ({
  WHATSAPP_ACCESS_TOKEN: 'graph-token',
  WHATSAPP_API_URL: stub.url,
  CSAT_DELAY: '1s',
});

// ---- comparing runs ----------------------------------------------------------------------------

/** The KPI families compared (ingest, survey-sending and process series differ by nature). */
const KPI_FAMILIES = [
  'whatsapp_conversations_opened_total',
  'whatsapp_conversations_reopened_total',
  'whatsapp_conversations_resolved_total',
  'whatsapp_first_response_seconds',
  'whatsapp_first_response_business_seconds',
  'whatsapp_reply_seconds',
  'whatsapp_resolution_seconds',
  'whatsapp_resolution_business_seconds',
  'whatsapp_first_contact_resolutions_total',
  'whatsapp_bot_conversations_total',
  'whatsapp_bot_handovers_total',
  'whatsapp_service_windows_expired_total',
  'whatsapp_customer_messages_total',
  'whatsapp_inbound_sentiment_total',
  'whatsapp_csat_responses_total',
  'whatsapp_message_failures_total',
  'whatsapp_open_conversations',
  'whatsapp_waiting_conversations',
  'whatsapp_agent_online',
  'whatsapp_agent_open_conversations',
];

/** The KPI series of an app's /metrics, its business number written as `B`. */
async function kpiSeries(app: App, phoneNumberId: string): Promise<Map<string, number>> {
  const out = new Map<string, number>();
  for (const [key, value] of await scrape(app)) {
    const name = key.slice(0, key.indexOf('{'));
    if (!KPI_FAMILIES.some((family) => name === family || ['_bucket', '_sum', '_count'].some((suffix) => name === family + suffix)))
      continue;
    out.set(key.replace(`business_number="${phoneNumberId}"`, 'business_number="B"'), value);
  }
  return out;
}

/** whatsapp_messages_total by direction and sender (the type of an answer is unknown to Meta's statuses). */
async function messageCounts(app: App): Promise<Record<string, number>> {
  const out: Record<string, number> = {};
  for (const [key, value] of await scrape(app)) {
    if (!key.startsWith('whatsapp_messages_total{') || value === 0) continue;
    const direction = /direction="(\w+)"/.exec(key)?.[1];
    const sender = /sender="(\w+)"/.exec(key)?.[1];
    out[`${direction}/${sender}`] = (out[`${direction}/${sender}`] ?? 0) + value;
  }
  return out;
}

/** The stored conversations, by customer and opening, without ids, message ids and bookkeeping columns. */
async function conversationRows(database: Database): Promise<Record<string, unknown>[]> {
  const { rows } = await database.query(
    `SELECT contact_wa_id, status, state, category, sentiment, opened_at, cycle_started_at, handler, assigned_agent, bot_engaged, handed_over,
            first_response_at, first_responder, first_response_agent, waiting_since, last_customer_message_at, last_business_message_at,
            last_activity_at, resolved_at, resolved_by, resolved_agent, reopen_count, fcr, window_expired_at, next_deadline_at
       FROM conversations ORDER BY contact_wa_id, opened_at`,
  );
  return rows;
}

/** A run of the timeline: its app, database, business number, and the Graph API stand-in its surveys go to (if it sends any). */
export interface Run {
  app: App;
  database: Database;
  phoneNumberId: string;
  stub?: GraphApiStub;
}

/**
 * Two runs on their own databases: the reference (Meta and the events API on PHONE_NUMBER_ID,
 * sending CSAT surveys) and a provider's (on `phoneNumberId`, with `settings`; sending surveys too
 * when `surveys`).
 */
export async function openRuns(
  phoneNumberId: string,
  settings: Record<string, string>,
  surveys: boolean,
): Promise<{ reference: Run & { stub: GraphApiStub }; provider: Run; close: () => Promise<void> }> {
  const [referenceDb, providerDb, referenceStub, providerStub] = await Promise.all([
    createTestDatabase(),
    createTestDatabase(),
    graphApi(),
    surveys ? graphApi() : undefined,
  ]);
  return {
    reference: {
      app: testApp(referenceDb.database, surveySettings(referenceStub)),
      database: referenceDb.database,
      phoneNumberId: PHONE_NUMBER_ID,
      stub: referenceStub,
    },
    provider: {
      app: testApp(providerDb.database, { ...(providerStub ? surveySettings(providerStub) : {}), ...settings }),
      database: providerDb.database,
      phoneNumberId,
      stub: providerStub,
    },
    async close() {
      await Promise.all([referenceStub.close(), providerStub?.close()]);
      await Promise.all([referenceDb.drop(), providerDb.drop()]);
    },
  };
}

/**
 * The provider's run has the reference's KPI series (its business number written like the
 * reference's), non-zero where the timeline makes them so (an equality of zeros proves nothing),
 * the same stored conversations, and the same messages but for `fewerCustomerMessages` (a CSAT
 * rating the provider reports instead of the customer's answer as a message).
 */
export async function assertSameAsReference(reference: Run, provider: Run, fewerCustomerMessages = 0): Promise<void> {
  const expected = await kpiSeries(reference.app, reference.phoneNumberId);
  assert.ok(expected.size > 100, `${expected.size} KPI series`);
  assert.deepEqual(Object.fromEntries(await kpiSeries(provider.app, provider.phoneNumberId)), Object.fromEntries(expected));
  const series = await scrape(provider.app);
  for (const [name, labels] of [
    ['whatsapp_conversations_resolved_total', { resolved_by: 'bot' }],
    ['whatsapp_conversations_resolved_total', { resolved_by: 'agent' }],
    ['whatsapp_conversations_reopened_total', {}],
    ['whatsapp_bot_handovers_total', {}],
    ['whatsapp_csat_responses_total', { score: String(CSAT.score), agent: CSAT.agent, category: 'billing' }],
    ['whatsapp_message_failures_total', { error_code: '131026' }],
    ['whatsapp_agent_open_conversations', { agent: TOM }],
  ] as const) {
    assert.ok(total(series, name, labels) > 0, `${name} ${JSON.stringify(labels)}`);
  }
  assert.deepEqual(await conversationRows(provider.database), await conversationRows(reference.database));
  const messages = await messageCounts(reference.app);
  assert.deepEqual(await messageCounts(provider.app), {
    ...messages,
    'inbound/customer': messages['inbound/customer']! - fewerCustomerMessages,
  });
}

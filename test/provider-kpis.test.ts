/**
 * The same helpdesk timeline delivered through Meta (plus the events API), Twilio and WATI — each
 * in its own wire format, signed its own way, on its own business number, into one exporter —
 * gives the same KPIs and the same stored conversations. Twilio's webhooks carry no time, so its
 * run is delivered with the clock at each step's time, as Twilio would deliver it live.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it, mock } from 'node:test';
import type { App } from '../src/app.ts';
import { inboundParams, statusParams, twilioSid } from '../src/demo/wire/twilio.ts';
import { messageReceived, sessionMessageSent, statusEvent } from '../src/demo/wire/wati.ts';
import { advanceDueConversations } from '../src/jobs/conversation-timers.ts';
import { postWebhook, scrape, testApp } from './support/app.ts';
import { createTestDatabase, type TestDatabase } from './support/database.ts';
import { inbound, PHONE_NUMBER_ID, statuses, status as statusItem, textMessage } from './support/meta.ts';
import { agentOf, at, type Delivery, NOW, postEvent, type Step, TIMELINE, type Who } from './support/provider-deliveries.ts';
import { postTwilio, TWILIO_SETTINGS } from './support/twilio.ts';
import { postWati, WATI_SETTINGS } from './support/wati.ts';

let db: TestDatabase;
let app: App;
before(async () => {
  db = await createTestDatabase();
  app = testApp(db.database, { ...TWILIO_SETTINGS, ...WATI_SETTINGS });
});
after(() => db.drop());

/** A WhatsApp message id: each run's messages are other messages (the same wamid from two providers is one message). */
const wamid = (provider: string, id: string) => `wamid.timeline.${provider}.${id}`;

const meta: Delivery = {
  provider: 'meta',
  businessNumber: PHONE_NUMBER_ID,
  async deliver(target, step) {
    const webhook = (payload: unknown) => postWebhook(target, payload);
    switch (step.kind) {
      case 'customer':
        return [
          await webhook(inbound(step.customer, step.name, [textMessage(step.customer, step.text, at(step.s), wamid('meta', step.id))])),
        ];
      case 'send':
        return reportedSend(target, PHONE_NUMBER_ID, step, wamid('meta', step.id));
      case 'status': {
        const extra: Record<string, unknown> = { recipient_id: step.customer };
        if (step.by) extra.biz_opaque_callback_data = attribution(step.by);
        if (step.errorCode) extra.errors = [{ code: step.errorCode, title: 'Message undeliverable' }];
        return [await webhook(statuses(statusItem(wamid('meta', step.id), step.status, at(step.s), extra)))];
      }
      case 'event':
        return [await postEvent(target, 'meta', PHONE_NUMBER_ID, step)];
    }
  },
};

const TWILIO_BUSINESS = '14155238886';
const twilio: Delivery = {
  provider: 'twilio',
  businessNumber: TWILIO_BUSINESS,
  async deliver(target, step) {
    // Twilio sends no time: it is when the request arrives.
    mock.timers.setTime(at(step.s).getTime());
    switch (step.kind) {
      case 'customer':
        return [
          await postTwilio(
            target,
            inboundParams(twilioSid(step.id), TWILIO_BUSINESS, step.customer, step.name, { type: 'text', text: step.text }),
          ),
        ];
      case 'send':
        return reportedSend(target, TWILIO_BUSINESS, step, twilioSid(step.id));
      case 'status': {
        const path = step.by ? `/webhooks/twilio?attribution=${encodeURIComponent(attribution(step.by))}` : '/webhooks/twilio';
        const status = step.status === 'failed' ? 'undelivered' : step.status;
        // Twilio reports failures with its own codes (63016 …), not Meta's.
        return [
          await postTwilio(
            target,
            statusParams(twilioSid(step.id), TWILIO_BUSINESS, step.customer, status, step.errorCode ? 63016 : undefined),
            { path },
          ),
        ];
      }
      case 'event':
        return [await postEvent(target, 'twilio', TWILIO_BUSINESS, step)];
    }
  },
};

const WATI_BUSINESS = '4930123456';
const wati: Delivery = {
  provider: 'wati',
  businessNumber: WATI_BUSINESS,
  async deliver(target, step) {
    const ms = at(step.s).getTime();
    switch (step.kind) {
      case 'customer': {
        const event = messageReceived(
          wamid('wati', step.id),
          WATI_BUSINESS,
          step.customer,
          step.name,
          { type: 'text', text: step.text },
          ms,
        );
        if (step.assignee)
          Object.assign(event, { assignedId: '65a109615b5cf65262aa0001', operatorEmail: step.assignee, operatorName: 'Alice' });
        return [await postWati(target, event)];
      }
      case 'send': {
        // WATI reports every send itself: by the operator, or by the bot (chatbotTriggeredEventId).
        const agent = agentOf(step.by);
        const event = sessionMessageSent(
          wamid('wati', step.id),
          WATI_BUSINESS,
          step.customer,
          agent ? { agent } : { bot: true },
          step.text,
          ms,
        );
        if (agent) event.operatorEmail = agent;
        return [await postWati(target, event)];
      }
      case 'status':
        // The send event was the `sent` status.
        if (step.status === 'sent') return [];
        return [await postWati(target, statusEvent(wamid('wati', step.id), WATI_BUSINESS, step.customer, step.status, ms, step.errorCode))];
      case 'event':
        return [await postEvent(target, 'wati', WATI_BUSINESS, step)];
    }
  },
};

/** Meta's and Twilio's way of naming a send's sender: `agent:<id>` or `bot` (biz_opaque_callback_data, the StatusCallback URL). */
const attribution = (who: Who) => {
  const agent = agentOf(who);
  return agent ? `agent:${agent}` : 'bot';
};

/** A send the helpdesk reported through the events API (`agent_message`/`bot_message` with the message's id); none otherwise. */
async function reportedSend(target: App, businessNumber: string, step: Extract<Step, { kind: 'send' }>, messageId: string) {
  if (!step.reported) return [];
  const agent = agentOf(step.by);
  return [
    await postEvent(target, businessNumber, businessNumber, {
      id: `${businessNumber}:${step.id}`,
      type: agent ? 'agent_message' : 'bot_message',
      at: at(step.s).toISOString(),
      customer: step.customer,
      phone_number_id: businessNumber,
      message_id: messageId,
      ...(agent ? { agent } : {}),
    }),
  ];
}

/** The KPI series a run may move, with its business number written as `B`; label sets that differ by nature merged. */
const KPI_FAMILIES =
  /^whatsapp_(conversations_(opened|reopened|resolved)_total|(first_response|first_response_business|reply|resolution|resolution_business)_seconds_(bucket|sum|count)|first_contact_resolutions_total|bot_(conversations|handovers)_total|service_windows_expired_total|customer_messages_total|inbound_sentiment_total|messages_total|message_statuses_total|message_failures_total|open_conversations|waiting_conversations|agent_open_conversations|late_inputs_total|fact_corrections_total)\{/;

async function kpis(businessNumber: string): Promise<Map<string, number>> {
  // Scrapes within a second share one run of the database gauges: wait for a fresh one.
  await new Promise((resolve) => setTimeout(resolve, 1_100));
  const series = new Map<string, number>();
  for (const [key, value] of await scrape(app)) {
    if (!KPI_FAMILIES.test(key)) continue;
    let k = key.replace(`business_number="${businessNumber}"`, 'business_number="B"');
    if (/business_number="(?!B")/.test(k)) continue;
    // What a provider reveals of an outbound message's type differs (Meta's statuses: unknown; WATI: text), and so do error codes.
    if (k.startsWith('whatsapp_messages_total') && k.includes('direction="outbound"')) k = k.replace(/,type="[^"]*"/, '');
    if (k.startsWith('whatsapp_message_failures_total')) k = 'whatsapp_message_failures_total{}';
    series.set(k, (series.get(k) ?? 0) + value);
  }
  return series;
}

function minus(after: Map<string, number>, before: Map<string, number>): Record<string, number> {
  const out: Record<string, number> = {};
  for (const [key, value] of after) {
    const d = value - (before.get(key) ?? 0);
    if (Math.abs(d) > 1e-9) out[key] = d;
  }
  return out;
}

/** The stored conversations of a run's threads: everything but ids and the provider's message ids. */
async function conversations(businessNumber: string) {
  const { rows } = await db.database.query(
    `SELECT contact_wa_id, status, state, category, sentiment, opened_at, cycle_started_at, handler, assigned_agent, bot_engaged,
            handed_over, first_response_at, first_responder, first_response_agent, waiting_since, last_customer_message_at,
            last_business_message_at, last_activity_at, resolved_at, resolved_by, resolved_agent, reopen_count, fcr, window_expired_at
       FROM conversations WHERE phone_number_id = $1 ORDER BY contact_wa_id, opened_at`,
    [businessNumber],
  );
  return rows;
}

interface Run {
  kpis: Record<string, number>;
  conversations: unknown[];
}

async function run(delivery: Delivery): Promise<Run> {
  const before = await kpis(delivery.businessNumber);
  if (delivery === twilio) mock.timers.enable({ apis: ['Date'], now: at(TIMELINE[0]!.s).getTime() });
  try {
    for (const step of TIMELINE) {
      for (const res of await delivery.deliver(app, step))
        assert.equal(res.status, 200, `${delivery.provider} ${step.kind} ${step.id}: ${res.text}`);
    }
  } finally {
    if (delivery === twilio) mock.timers.reset();
  }
  await advanceDueConversations(app.timers, new Date(NOW));
  return { kpis: minus(await kpis(delivery.businessNumber), before), conversations: await conversations(delivery.businessNumber) };
}

describe('one helpdesk timeline through every provider', () => {
  const runs: Record<string, Run> = {};

  it('through Meta and the events API gives the known KPIs', async () => {
    runs.meta = await run(meta);
    const k = runs.meta.kpis;
    const total = (name: string, ...labels: string[]) =>
      Object.entries(k)
        .filter(([key]) => key.startsWith(`${name}{`) && labels.every((l) => key.includes(l)))
        .reduce((sum, [, v]) => sum + v, 0);
    assert.equal(total('whatsapp_conversations_opened_total'), 5);
    assert.equal(total('whatsapp_conversations_reopened_total'), 1);
    assert.deepEqual(
      ['agent', 'bot', 'auto'].map((by) => total('whatsapp_conversations_resolved_total', `resolved_by="${by}"`)),
      [2, 1, 1],
    );
    assert.deepEqual(
      [
        total('whatsapp_first_response_seconds_count', 'responder="agent"'),
        total('whatsapp_first_response_seconds_sum', 'responder="agent"'),
      ],
      [1, 45],
    );
    assert.deepEqual(
      [total('whatsapp_first_response_seconds_count', 'responder="bot"'), total('whatsapp_first_response_seconds_sum', 'responder="bot"')],
      [2, 3 + 20],
    );
    assert.deepEqual(
      [total('whatsapp_reply_seconds_count', 'responder="agent"'), total('whatsapp_reply_seconds_sum', 'responder="agent"')],
      [3, 45 + 90 + 100],
      "counted at once (SETTLE_AFTER=0s), alice's reply at 3700 s stays counted when its failure arrives; the correction is counted too",
    );
    assert.equal(total('whatsapp_fact_corrections_total', 'fact="reply"'), 1);
    assert.equal(total('whatsapp_bot_handovers_total'), 1);
    assert.equal(total('whatsapp_service_windows_expired_total'), 1);
    assert.equal(total('whatsapp_message_failures_total'), 1);
    assert.deepEqual(
      ['sent', 'delivered', 'read', 'failed'].map((s) => total('whatsapp_message_statuses_total', `status="${s}"`)),
      [5, 2, 2, 1],
    );
    assert.equal(total('whatsapp_open_conversations', 'state="assigned"'), 1, 'Anna, reopened, alice’s');
    assert.equal(total('whatsapp_open_conversations', 'state="unassigned"'), 1, 'Clara');
    assert.equal(runs.meta.conversations.length, 5);
  });

  for (const delivery of [twilio, wati]) {
    it(`through ${delivery.provider} gives the same KPIs and the same conversations as through Meta`, async () => {
      assert.ok(runs.meta, 'the Meta run comes first');
      const result = await run(delivery);
      const differing = [...new Set([...Object.keys(result.kpis), ...Object.keys(runs.meta.kpis)])]
        .filter((key) => result.kpis[key] !== runs.meta!.kpis[key])
        .map((key) => `${key}: ${delivery.provider} ${result.kpis[key]}, meta ${runs.meta!.kpis[key]}`);
      assert.deepEqual(differing, []);
      assert.deepEqual(result.kpis, runs.meta.kpis);
      assert.deepEqual(result.conversations, runs.meta.conversations);
    });
  }
});

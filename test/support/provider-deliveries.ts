/**
 * (Twilio and WATI; test/support/provider-timeline.ts is the Chatwoot and respond.io harness.)
 * One helpdesk timeline, told provider-neutrally, that each provider delivers in its own wire
 * format: customers write, agents and the bot answer (reported by the helpdesk, or known only
 * from the send's statuses), statuses arrive, a send fails, conversations are assigned, handed
 * over and resolved through the events API where the provider has no such event. A provider is
 * one `Delivery`; the KPI test compares what each delivery produces with Meta's.
 */
import type request from 'supertest';
import type { App } from '../../src/app.ts';
import { postEvents } from './app.ts';

/** Now, to the second; the timeline starts 3 hours earlier. */
export const NOW = Math.floor(Date.now() / 1000) * 1000;
export const T0 = NOW - 3 * 3600_000;
/** The time of a step: seconds after T0. */
export const at = (s: number) => new Date(T0 + s * 1000);

export const ALICE = 'alice@example.com';
export const BOB = 'bob@example.com';
export type Who = { agent: string } | 'bot';

export type Step =
  | { s: number; kind: 'customer'; id: string; customer: string; name: string; text: string; assignee?: string }
  /** A business message: `reported` by the helpdesk (events API, or the provider's own send event), else only seen through its statuses. */
  | { s: number; kind: 'send'; id: string; customer: string; by: Who; reported: boolean; text: string }
  /** A status of a send; `by` on `sent` is the attribution the sender attached (Meta's biz_opaque_callback_data). */
  | {
      s: number;
      kind: 'status';
      id: string;
      customer: string;
      status: 'sent' | 'delivered' | 'read' | 'failed';
      by?: Who;
      errorCode?: number;
    }
  /** A helpdesk event for the events API (without id prefix, time or business number). */
  | { s: number; kind: 'event'; id: string; type: string; customer: string; fields: Record<string, unknown> };

const ANNA = '4915100000001';
const BERT = '4915100000002';
const CLARA = '4915100000003';
const DORA = '4915100000004';
const EMIL = '4915100000005';

export const CUSTOMERS = { ANNA, BERT, CLARA, DORA, EMIL };

/** The timeline, in time order. */
export const TIMELINE: Step[] = (
  [
    // Emil wrote two days ago and nobody answered: resolved automatically, his window expired.
    { s: -45 * 3600, kind: 'customer', id: 'emil-1', customer: EMIL, name: 'Emil', text: 'Kündigung' },
    // Anna: assigned to alice, answered after 45 s (reported by the helpdesk and seen in its statuses), resolved at 600 s.
    { s: 0, kind: 'customer', id: 'anna-1', customer: ANNA, name: 'Anna', text: 'Hallo, meine Rechnung ist falsch' },
    { s: 10, kind: 'event', id: 'a1', type: 'assigned', customer: ANNA, fields: { agent: ALICE } },
    { s: 11, kind: 'event', id: 'a2', type: 'categorized', customer: ANNA, fields: { category: 'billing' } },
    { s: 45, kind: 'send', id: 'alice-1', customer: ANNA, by: { agent: ALICE }, reported: true, text: 'Das prüfe ich sofort.' },
    { s: 46, kind: 'status', id: 'alice-1', customer: ANNA, status: 'sent', by: { agent: ALICE } },
    { s: 50, kind: 'status', id: 'alice-1', customer: ANNA, status: 'delivered' },
    { s: 80, kind: 'status', id: 'alice-1', customer: ANNA, status: 'read' },
    // Bert: the bot answers in 3 s (known from its statuses only), Bert writes again, handover to bob, who answers.
    { s: 100, kind: 'customer', id: 'bert-1', customer: BERT, name: 'Bert', text: 'Where is my parcel?' },
    { s: 103, kind: 'send', id: 'bot-1', customer: BERT, by: 'bot', reported: false, text: 'Track it here: …' },
    { s: 103, kind: 'status', id: 'bot-1', customer: BERT, status: 'sent', by: 'bot' },
    { s: 105, kind: 'status', id: 'bot-1', customer: BERT, status: 'delivered' },
    { s: 200, kind: 'customer', id: 'bert-2', customer: BERT, name: 'Bert', text: 'That did not help' },
    { s: 210, kind: 'event', id: 'b1', type: 'handover', customer: BERT, fields: { agent: BOB } },
    { s: 290, kind: 'send', id: 'bob-1', customer: BERT, by: { agent: BOB }, reported: false, text: 'Your parcel arrives tomorrow' },
    { s: 290, kind: 'status', id: 'bob-1', customer: BERT, status: 'sent', by: { agent: BOB } },
    { s: 300, kind: 'status', id: 'bob-1', customer: BERT, status: 'read' },
    { s: 600, kind: 'event', id: 'a3', type: 'resolved', customer: ANNA, fields: { by: 'agent' } },
    { s: 900, kind: 'event', id: 'b2', type: 'resolved', customer: BERT, fields: { by: 'agent' } },
    // Dora: the bot answers (reported) and resolves.
    { s: 1000, kind: 'customer', id: 'dora-1', customer: DORA, name: 'Dora', text: 'Quick question' },
    { s: 1020, kind: 'send', id: 'bot-2', customer: DORA, by: 'bot', reported: true, text: 'Here is the answer.' },
    { s: 1021, kind: 'status', id: 'bot-2', customer: DORA, status: 'sent', by: 'bot' },
    { s: 1030, kind: 'event', id: 'd1', type: 'resolved', customer: DORA, fields: { by: 'bot' } },
    // Anna comes back within the FCR window (still alice's), and alice's answer fails: she keeps waiting.
    { s: 3600, kind: 'customer', id: 'anna-2', customer: ANNA, name: 'Anna', text: 'Immer noch falsch!', assignee: ALICE },
    { s: 3700, kind: 'send', id: 'alice-2', customer: ANNA, by: { agent: ALICE }, reported: true, text: 'Moment bitte.' },
    { s: 3701, kind: 'status', id: 'alice-2', customer: ANNA, status: 'sent', by: { agent: ALICE } },
    { s: 3702, kind: 'status', id: 'alice-2', customer: ANNA, status: 'failed', errorCode: 131026 },
    // Clara writes and is left waiting.
    { s: 3 * 3600 - 400, kind: 'customer', id: 'clara-1', customer: CLARA, name: 'Clara', text: 'Hello? Anyone?' },
  ] satisfies Step[]
).sort((a, b) => a.s - b.s);

/** How one provider carries the timeline: the business number its threads are under, and how each step is sent. */
export interface Delivery {
  provider: string;
  /** The `phone_number_id` of its threads (the events API uses it too). */
  businessNumber: string;
  /** Sends one step; resolves to the responses (none when the provider has no request for it). */
  deliver(app: App, step: Step): Promise<request.Response[]>;
}

/** A helpdesk event on the events API, for the run's business number (ids prefixed per run). */
export function postEvent(app: App, run: string, businessNumber: string, step: Extract<Step, { kind: 'event' }> | Record<string, unknown>) {
  const body = isStep(step)
    ? {
        id: `${run}:${step.id}`,
        type: step.type,
        at: at(step.s).toISOString(),
        customer: step.customer,
        phone_number_id: businessNumber,
        ...step.fields,
      }
    : step;
  return postEvents(app, body);
}

function isStep(value: Extract<Step, { kind: 'event' }> | Record<string, unknown>): value is Extract<Step, { kind: 'event' }> {
  return value.kind === 'event';
}

/** The agent of a `Who`, or null for the bot. */
export const agentOf = (who: Who | undefined) => (who && who !== 'bot' ? who.agent : null);

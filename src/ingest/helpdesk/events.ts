/**
 * Helpdesk events (`POST /api/v1/events`): what WhatsApp webhooks cannot say — which agent
 * answered, assignment, handover, resolution, category, agent presence. One JSON event or an
 * array; `id` makes each idempotent and `at` (when it happened) drives every duration.
 */
import { z } from 'zod';
import { normalizeWaId } from '../../domain/whatsapp.ts';

export const AGENT_ID = /^[A-Za-z0-9._@-]{1,64}$/;
export const EVENT_TYPES = [
  'agent_message',
  'bot_message',
  'assigned',
  'handover',
  'resolved',
  'categorized',
  'agent_status',
  'opt_in',
  'opt_out',
] as const;
export const MAX_EVENTS_PER_REQUEST = 1000;
/** Events may be dated this far ahead of our clock (clock skew); later ones are rejected. */
export const MAX_CLOCK_SKEW_MS = 5 * 60_000;

const agent = z.string({ error: 'required' }).regex(AGENT_ID, 'expected an agent id: 1–64 letters, digits or . _ @ -');
const base = {
  id: z.string({ error: 'required' }).min(1, 'must not be empty').max(200, 'at most 200 characters'),
  at: z.iso
    .datetime({ offset: true, error: 'expected an ISO 8601 time with a zone, e.g. 2026-11-25T10:00:00Z' })
    .transform((v) => new Date(v))
    .refine((at) => at.getTime() <= Date.now() + MAX_CLOCK_SKEW_MS, 'is in the future (more than 5 minutes ahead of the exporter clock)'),
};
const thread = {
  customer: z.string({ error: 'required' }).min(1, 'must not be empty').transform(normalizeWaId),
  phone_number_id: z.string({ error: 'required' }).min(1, 'must not be empty'),
};
const messageId = z.string().min(1, 'must not be empty').optional();

export const helpdeskEvent = z.discriminatedUnion(
  'type',
  [
    z.looseObject({ ...base, ...thread, type: z.literal('agent_message'), agent, message_id: messageId }),
    z.looseObject({ ...base, ...thread, type: z.literal('bot_message'), message_id: messageId }),
    z.looseObject({ ...base, ...thread, type: z.literal('assigned'), agent }),
    z.looseObject({ ...base, ...thread, type: z.literal('handover'), agent: agent.optional() }),
    z.looseObject({
      ...base,
      ...thread,
      type: z.literal('resolved'),
      by: z.enum(['agent', 'bot'], { error: 'expected "agent" or "bot"' }),
      agent: agent.optional(),
    }),
    z.looseObject({
      ...base,
      ...thread,
      type: z.literal('categorized'),
      category: z.string({ error: 'required' }).min(1, 'must not be empty').max(64),
    }),
    z.looseObject({
      ...base,
      type: z.literal('agent_status'),
      agent,
      status: z.enum(['online', 'away', 'offline'], { error: 'expected "online", "away" or "offline"' }),
    }),
    z.looseObject({ ...base, ...thread, type: z.literal('opt_in') }),
    z.looseObject({ ...base, ...thread, type: z.literal('opt_out') }),
  ],
  { error: (issue) => (issue.code === 'invalid_union' ? `expected one of ${EVENT_TYPES.join(', ')}` : undefined) },
);

export type HelpdeskEvent = z.output<typeof helpdeskEvent>;

const body = z.union([
  z
    .array(helpdeskEvent)
    .min(1, 'expected at least one event')
    .max(MAX_EVENTS_PER_REQUEST, `at most ${MAX_EVENTS_PER_REQUEST} events per request`),
  helpdeskEvent,
]);

export type ParsedEvents = { ok: true; events: HelpdeskEvent[] } | { ok: false; errors: string[] };

/** Validates a request body; errors name each bad field, e.g. `[1].agent: required`. */
export function parseEvents(input: unknown): ParsedEvents {
  const isArray = Array.isArray(input);
  const schema = isArray ? body.options[0] : helpdeskEvent;
  if (!isArray && (typeof input !== 'object' || input === null))
    return { ok: false, errors: ['expected a JSON event object or an array of events'] };
  const result = schema.safeParse(input);
  if (result.success) return { ok: true, events: Array.isArray(result.data) ? result.data : [result.data] };
  const errors = result.error.issues.slice(0, 20).map((issue) => {
    const path = issue.path
      .map((p) => (typeof p === 'number' ? `[${p}]` : `.${String(p)}`))
      .join('')
      .replace(/^\./, '');
    return path ? `${path}: ${issue.message}` : issue.message;
  });
  if (result.error.issues.length > 20) errors.push(`… and ${result.error.issues.length - 20} more`);
  return { ok: false, errors: [...new Set(errors)] };
}

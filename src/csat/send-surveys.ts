/**
 * Sends the CSAT surveys that are due. Each survey is claimed with one atomic UPDATE
 * (pending → sending) before the Graph API call, so N replicas running this job never send one
 * twice; a crash mid-send leaves it `sending`, which is failed after a while rather than resent.
 * Sent only if the customer has not written again and has not opted out; inside the 24-hour
 * service window as an interactive list, outside it as the approved template to customers who
 * opted in. Throttling and transient errors are retried with exponential backoff.
 */
import type { CsatMetrics, SurveyOutcome } from './metrics.ts';
import type { Database } from '../storage/database.ts';
import { sendWhatsAppMessage, type GraphApi } from './graph-api.ts';
import { interactiveSurvey, templateSurvey } from './survey-message.ts';

export const MAX_SEND_ATTEMPTS = 5;
const BATCH = 50;
const SERVICE_WINDOW_MS = 24 * 3_600_000;
/** A survey stuck in `sending` this long was interrupted (the process stopped mid-send). */
const STALE_SENDING_MS = 10 * 60_000;

export interface SurveyContext {
  database: Database;
  metrics: CsatMetrics;
  api: GraphApi;
  template: { name: string; language: string } | undefined;
  responseWindowMs: number;
}

interface ClaimedSurvey {
  id: number;
  phone_number_id: string;
  contact_wa_id: string;
  resolved_at: Date;
  attempts: number;
  conversation_status: string | null;
  conversation_resolved_at: Date | null;
  last_customer_message_at: Date | null;
  newer_conversation: boolean;
  opted_in_at: Date | null;
  opted_out_at: Date | null;
  language: string | null;
}

/** Backoff after attempt n: 1, 2, 4, 8 minutes. */
export function retryDelayMs(attempts: number): number {
  return 60_000 * 2 ** Math.max(0, attempts - 1);
}

/** Sends what is due at `now`; returns how many surveys it handled. */
export async function sendDueSurveys(context: SurveyContext, now = new Date()): Promise<number> {
  await housekeeping(context, now);
  let handled = 0;
  for (let i = 0; i < BATCH; i++) {
    const survey = await claim(context.database, now);
    if (!survey) break;
    handled += 1;
    const outcome = await sendOne(context, survey, now);
    context.metrics.surveys.inc({ outcome });
  }
  return handled;
}

async function claim(database: Database, now: Date): Promise<ClaimedSurvey | undefined> {
  const { rows } = await database.query<ClaimedSurvey>(
    `WITH claimed AS (
       UPDATE csat_surveys SET status = 'sending', attempts = attempts + 1, next_attempt_at = NULL, claimed_at = clock_timestamp()
        WHERE id = (SELECT id FROM csat_surveys WHERE status = 'pending' AND next_attempt_at <= $1
                     ORDER BY next_attempt_at LIMIT 1 FOR UPDATE SKIP LOCKED)
        RETURNING id, conversation_id, phone_number_id, contact_wa_id, resolved_at, attempts)
     SELECT s.id, s.phone_number_id, s.contact_wa_id, s.resolved_at, s.attempts,
            c.status AS conversation_status, c.resolved_at AS conversation_resolved_at, c.last_customer_message_at,
            EXISTS (SELECT 1 FROM conversations n WHERE n.phone_number_id = s.phone_number_id
                       AND n.contact_wa_id = s.contact_wa_id AND n.opened_at > s.resolved_at) AS newer_conversation,
            k.opted_in_at, k.opted_out_at,
            (SELECT m.language FROM messages m WHERE m.phone_number_id = s.phone_number_id AND m.contact_wa_id = s.contact_wa_id
                AND m.direction = 'inbound' AND m.language IS NOT NULL ORDER BY m.sent_at DESC LIMIT 1) AS language
       FROM claimed s
       LEFT JOIN conversations c ON c.id = s.conversation_id
       LEFT JOIN contacts k ON k.wa_id = s.contact_wa_id`,
    [now],
  );
  return rows[0];
}

async function sendOne(context: SurveyContext, s: ClaimedSurvey, now: Date): Promise<SurveyOutcome> {
  const finish = async (
    status: 'sent' | 'skipped' | 'failed' | 'pending',
    fields: { kind?: string; wamid?: string; error?: string; retryAt?: Date } = {},
  ) =>
    context.database.query(
      `UPDATE csat_surveys SET status = $2, kind = coalesce($3, kind), wamid = $4, sent_at = CASE WHEN $2 = 'sent' THEN $5::timestamptz END,
              last_error = $6, next_attempt_at = $7 WHERE id = $1 AND status = 'sending'`,
      [s.id, status, fields.kind ?? null, fields.wamid ?? null, now, fields.error ?? null, fields.retryAt ?? null],
    );

  if (s.conversation_status === null) {
    await finish('skipped', { error: 'conversation no longer exists' });
    return 'skipped_conversation_gone';
  }
  // The customer wrote again (reopened, or a new conversation): asking now would be tone-deaf.
  const wroteAgain =
    s.conversation_status !== 'resolved' ||
    s.newer_conversation ||
    (s.last_customer_message_at !== null && s.last_customer_message_at > s.resolved_at);
  if (wroteAgain) {
    await finish('skipped', { error: 'customer wrote again after the resolution' });
    return 'skipped_customer_wrote';
  }
  if (s.opted_out_at && (!s.opted_in_at || s.opted_out_at >= s.opted_in_at)) {
    await finish('skipped', { error: 'customer opted out' });
    return 'skipped_opted_out';
  }
  const language = s.language === 'de' ? 'de' : 'en';
  const windowOpen = s.last_customer_message_at !== null && s.last_customer_message_at.getTime() + SERVICE_WINDOW_MS > now.getTime();
  const template = context.template && s.opted_in_at ? context.template : undefined;

  const attempt = async (kind: 'interactive' | 'template') => {
    const message =
      kind === 'interactive'
        ? interactiveSurvey(s.contact_wa_id, language)
        : templateSurvey(s.contact_wa_id, template!.name, template!.language);
    return { kind, result: await sendWhatsAppMessage(context.api, s.phone_number_id, message) };
  };
  let sent: Awaited<ReturnType<typeof attempt>>;
  if (windowOpen) {
    sent = await attempt('interactive');
    // Meta may still say the window closed (clocks, the known issue): fall back to the template.
    if (!sent.result.ok && sent.result.outsideWindow && template) sent = await attempt('template');
  } else if (template) {
    sent = await attempt('template');
  } else {
    await finish('skipped', { error: 'outside the 24-hour window and no template for opted-in customers' });
    return 'skipped_outside_window';
  }

  const { kind, result } = sent;
  if (result.ok) {
    await finish('sent', { kind, wamid: result.wamid });
    return 'sent';
  }
  if (result.outsideWindow) {
    await finish('skipped', { kind, error: result.message });
    return 'skipped_outside_window';
  }
  if (result.retryable && s.attempts < MAX_SEND_ATTEMPTS) {
    await finish('pending', { kind, error: result.message, retryAt: new Date(now.getTime() + retryDelayMs(s.attempts)) });
    return 'retried';
  }
  await finish('failed', { kind, error: result.message });
  return 'failed';
}

/** Expires unanswered surveys and fails ones interrupted mid-send. */
async function housekeeping(context: SurveyContext, now: Date): Promise<void> {
  const expired = await context.database.query(
    `UPDATE csat_surveys SET status = 'expired' WHERE status = 'sent' AND sent_at < $1::timestamptz - make_interval(secs => $2)`,
    [now, context.responseWindowMs / 1000],
  );
  if (expired.rowCount) context.metrics.surveys.inc({ outcome: 'expired' }, expired.rowCount);
  await context.database.query(
    `UPDATE csat_surveys SET status = 'failed', last_error = 'interrupted while sending; not resent to avoid a duplicate'
      WHERE status = 'sending' AND claimed_at < clock_timestamp() - make_interval(secs => $1)`,
    [STALE_SENDING_MS / 1000],
  );
}

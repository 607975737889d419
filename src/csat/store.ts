/**
 * CSAT surveys in PostgreSQL: scheduling one per resolved conversation (never twice: the
 * conversation id is unique), matching answers to sent surveys exactly once, opt-in and opt-out,
 * and the rows the sending job works on.
 */
import type { ConsentChange, CsatRating } from '../domain/batch.ts';
import type { ThreadKey } from '../domain/whatsapp.ts';
import type { Queryable } from '../storage/database.ts';
import type { SurveyForReply } from './answer.ts';

export interface SurveyToSchedule {
  conversationId: number;
  phoneNumberId: string;
  customer: string;
  agent: string | null;
  category: string;
  resolvedAt: Date;
  dueAt: Date;
}

export async function scheduleSurveys(tx: Queryable, surveys: SurveyToSchedule[]): Promise<void> {
  if (surveys.length === 0) return;
  await tx.query(
    `INSERT INTO csat_surveys (conversation_id, phone_number_id, contact_wa_id, agent, category, resolved_at, due_at, next_attempt_at)
     SELECT conversation_id, phone_number_id, contact_wa_id, agent, category, resolved_at, due_at, due_at
       FROM jsonb_to_recordset($1::jsonb) AS r(conversation_id bigint, phone_number_id text, contact_wa_id text, agent text,
            category text, resolved_at timestamptz, due_at timestamptz)
     -- Reopened and resolved again before the survey went out: ask about the final resolution.
     ON CONFLICT (conversation_id) DO UPDATE SET agent = excluded.agent, category = excluded.category,
            resolved_at = excluded.resolved_at, due_at = excluded.due_at, next_attempt_at = excluded.due_at,
            status = 'pending', attempts = 0, last_error = NULL
      WHERE csat_surveys.wamid IS NULL AND csat_surveys.status IN ('pending', 'skipped')`,
    [
      JSON.stringify(
        surveys.map((s) => ({
          conversation_id: s.conversationId,
          phone_number_id: s.phoneNumberId,
          contact_wa_id: s.customer,
          agent: s.agent,
          category: s.category,
          resolved_at: s.resolvedAt,
          due_at: s.dueAt,
        })),
      ),
    ],
  );
}

/** Surveys sent to a thread around a customer message: those a reply at `at` may answer. */
export interface SentSurvey extends SurveyForReply {
  thread: ThreadKey;
}

/**
 * The statement of surveysAround ($1: the threads and moments as JSON, $2: the response window in
 * seconds); exported for the plan test. The LATERAL read with OFFSET 0 keeps each thread's
 * surveys a lookup in an index (prepared on an empty table: a hash of every survey).
 */
export const SURVEYS_AROUND_SQL = `SELECT DISTINCT s.id, s.phone_number_id, s.contact_wa_id, s.wamid, s.sent_at, s.answered_at
   FROM jsonb_to_recordset($1::jsonb) AS k(phone_number_id text, contact_wa_id text, at timestamptz)
        CROSS JOIN LATERAL (
          SELECT s.* FROM csat_surveys s
           WHERE s.phone_number_id = k.phone_number_id AND s.contact_wa_id = k.contact_wa_id
             AND s.status IN ('sent', 'answered', 'expired')
             -- WhatsApp timestamps are whole seconds; the survey's send time is not.
             AND s.sent_at <= k.at + interval '1 second' AND s.sent_at >= k.at - make_interval(secs => $2)
          OFFSET 0) s`;

/** The surveys sent to these threads within the response window before each moment given. */
export async function surveysAround(
  tx: Queryable,
  moments: { thread: ThreadKey; at: Date }[],
  responseWindowMs: number,
): Promise<SentSurvey[]> {
  if (moments.length === 0) return [];
  const { rows } = await tx.query<{
    id: number;
    phone_number_id: string;
    contact_wa_id: string;
    wamid: string | null;
    sent_at: Date;
    answered_at: Date | null;
  }>(SURVEYS_AROUND_SQL, [
    JSON.stringify(moments.map((m) => ({ phone_number_id: m.thread.phoneNumberId, contact_wa_id: m.thread.customer, at: m.at }))),
    responseWindowMs / 1000,
  ]);
  return rows.map((r) => ({
    id: Number(r.id),
    thread: { phoneNumberId: r.phone_number_id, customer: r.contact_wa_id },
    messageId: r.wamid,
    sentAt: r.sent_at,
    answeredAt: r.answered_at,
  }));
}

/** Marks customer messages as survey replies: the lifecycle never takes them as requests. */
export async function markSurveyReplies(tx: Queryable, messageIds: string[]): Promise<void> {
  if (messageIds.length === 0) return;
  await tx.query('UPDATE messages SET survey_reply = true WHERE wamid = ANY($1::text[]) AND NOT survey_reply', [messageIds]);
}

export interface SurveyAnswer {
  surveyId: number;
  messageId: string;
  at: Date;
  score: number;
}

/**
 * Records scoring replies: a survey's answer is its earliest scoring reply, whatever order the
 * replies arrive in. Returns the threads whose survey answer changed (their CSAT fact follows).
 */
export async function recordAnswers(tx: Queryable, answers: SurveyAnswer[]): Promise<{ thread: ThreadKey; since: Date }[]> {
  if (answers.length === 0) return [];
  // The earliest per survey within this batch; the database keeps the earliest across batches.
  const earliest = new Map<number, SurveyAnswer>();
  for (const a of answers) {
    const known = earliest.get(a.surveyId);
    if (!known || a.at < known.at || (a.at.getTime() === known.at.getTime() && a.messageId < known.messageId)) earliest.set(a.surveyId, a);
  }
  const { rows } = await tx.query<{ phone_number_id: string; contact_wa_id: string; resolved_at: Date }>(
    `UPDATE csat_surveys s SET status = 'answered', answered_at = r.at, score = r.score, answer_wamid = r.message_id
       FROM jsonb_to_recordset($1::jsonb) AS r(survey_id bigint, message_id text, at timestamptz, score integer)
      WHERE s.id = r.survey_id
        AND (s.status IN ('sent', 'expired') OR (s.status = 'answered' AND (s.answered_at > r.at OR (s.answered_at = r.at AND s.answer_wamid > r.message_id))))
      RETURNING s.phone_number_id, s.contact_wa_id, s.resolved_at`,
    [JSON.stringify([...earliest.values()].map((a) => ({ survey_id: a.surveyId, message_id: a.messageId, at: a.at, score: a.score })))],
  );
  return rows.map((r) => ({ thread: { phoneNumberId: r.phone_number_id, customer: r.contact_wa_id }, since: r.resolved_at }));
}

/**
 * CSAT ratings a provider collected (Chatwoot's survey): each becomes the answered survey of the
 * thread's conversation resolved last before it; a resubmission replaces the score.
 */
export async function recordProviderRatings(tx: Queryable, ratings: CsatRating[]): Promise<{ thread: ThreadKey; since: Date }[]> {
  if (ratings.length === 0) return [];
  const { rows } = await tx.query<{ phone_number_id: string; contact_wa_id: string; resolved_at: Date }>(
    `INSERT INTO csat_surveys (conversation_id, phone_number_id, contact_wa_id, agent, category, resolved_at, due_at, status, kind,
                               sent_at, answered_at, score, rating_id)
     SELECT c.id, c.phone_number_id, c.contact_wa_id,
            coalesce(r.agent, CASE WHEN c.resolved_by = 'agent' THEN c.resolved_agent END),
            c.category, coalesce(c.resolved_at, r.at), r.at, 'answered', 'provider', r.at, r.at, r.score, r.rating_id
       FROM jsonb_to_recordset($1::jsonb) AS r(rating_id text, phone_number_id text, contact_wa_id text, at timestamptz, score integer, agent text)
       JOIN LATERAL (SELECT * FROM conversations c WHERE c.phone_number_id = r.phone_number_id AND c.contact_wa_id = r.contact_wa_id
                       AND c.opened_at <= r.at ORDER BY c.opened_at DESC LIMIT 1) c ON true
     ON CONFLICT (conversation_id) DO UPDATE SET score = excluded.score, answered_at = excluded.answered_at, status = 'answered',
            rating_id = excluded.rating_id, agent = coalesce(excluded.agent, csat_surveys.agent)
      WHERE csat_surveys.kind = 'provider'
     RETURNING phone_number_id, contact_wa_id, resolved_at`,
    [
      JSON.stringify(
        ratings.map((r) => ({
          rating_id: r.id,
          phone_number_id: r.thread.phoneNumberId,
          contact_wa_id: r.thread.customer,
          at: r.at,
          score: r.score,
          agent: r.agent,
        })),
      ),
    ],
  );
  return rows.map((r) => ({ thread: { phoneNumberId: r.phone_number_id, customer: r.contact_wa_id }, since: r.resolved_at }));
}

/** Sent surveys whose message WhatsApp reports as failed: they will never be answered. Returns how many. */
export async function markUndelivered(tx: Queryable, failed: { wamid: string; errorCodes: number[] }[]): Promise<number> {
  if (failed.length === 0) return 0;
  const { rowCount } = await tx.query(
    `UPDATE csat_surveys s SET status = 'undelivered', last_error = 'WhatsApp reported the survey failed (' || r.codes || ')'
       FROM jsonb_to_recordset($1::jsonb) AS r(wamid text, codes text)
      WHERE s.wamid = r.wamid AND s.status = 'sent'`,
    [JSON.stringify(failed.map((f) => ({ wamid: f.wamid, codes: f.errorCodes.join(', ') || 'no code' })))],
  );
  return rowCount ?? 0;
}

/** Opt-in and opt-out (from helpdesk events and WhatsApp user_preferences): the later of the two wins, whatever order they arrive in. */
export async function recordConsent(tx: Queryable, changes: ConsentChange[]): Promise<void> {
  if (changes.length === 0) return;
  await tx.query(
    `INSERT INTO contacts (wa_id, opted_in_at, opted_out_at)
     SELECT customer, max(at) FILTER (WHERE opt_in), max(at) FILTER (WHERE NOT opt_in)
       FROM jsonb_to_recordset($1::jsonb) AS r(customer text, opt_in boolean, at timestamptz)
      GROUP BY customer ORDER BY customer
     ON CONFLICT (wa_id) DO UPDATE SET
       opted_in_at = greatest(contacts.opted_in_at, excluded.opted_in_at),
       opted_out_at = greatest(contacts.opted_out_at, excluded.opted_out_at)`,
    [JSON.stringify(changes.map((c) => ({ customer: c.customer, opt_in: c.optIn, at: c.at })))],
  );
}

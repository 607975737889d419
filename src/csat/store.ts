/**
 * CSAT surveys in PostgreSQL: scheduling one per resolved conversation (never twice: the
 * conversation id is unique), matching answers to sent surveys exactly once, opt-in and opt-out,
 * and the rows the sending job works on.
 */
import type { Queryable } from '../storage/database.ts';

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

export interface AnswerCandidate {
  wamid: string;
  phoneNumberId: string;
  customer: string;
  sentAt: Date;
  contextWamid: string | null;
  score: number;
}

export interface RecordedAnswer {
  wamid: string;
  score: number;
  category: string;
  agent: string | null;
}

/**
 * Records the messages that answer a sent survey: a reply to the survey message (context.id), or
 * the customer's next message after it, within the response window. Each survey takes one answer.
 */
export async function recordAnswers(tx: Queryable, candidates: AnswerCandidate[], responseWindowMs: number): Promise<RecordedAnswer[]> {
  const recorded: RecordedAnswer[] = [];
  for (const c of [...candidates].sort((a, b) => a.sentAt.getTime() - b.sentAt.getTime())) {
    const { rows } = await tx.query<{ category: string; agent: string | null }>(
      `UPDATE csat_surveys s SET status = 'answered', answered_at = $4, score = $5, answer_wamid = $6
        WHERE s.id = (
          SELECT id FROM csat_surveys
           WHERE phone_number_id = $1 AND contact_wa_id = $2 AND status = 'sent'
             -- WhatsApp timestamps are whole seconds; the survey's send time is not.
             AND date_trunc('second', sent_at) <= $4 AND sent_at >= $4::timestamptz - make_interval(secs => $7)
             AND (wamid = $3 OR NOT EXISTS (
                   SELECT 1 FROM messages m
                    WHERE m.phone_number_id = $1 AND m.contact_wa_id = $2 AND m.direction = 'inbound'
                      AND m.sender = 'customer' AND m.sent_at >= date_trunc('second', csat_surveys.sent_at) AND m.sent_at < $4 AND m.wamid <> $6))
           ORDER BY (wamid = $3) DESC, sent_at DESC
           LIMIT 1
           FOR UPDATE)
       RETURNING s.category, s.agent`,
      [c.phoneNumberId, c.customer, c.contextWamid, c.sentAt, c.score, c.wamid, responseWindowMs / 1000],
    );
    if (rows[0]) recorded.push({ wamid: c.wamid, score: c.score, category: rows[0].category, agent: rows[0].agent });
  }
  return recorded;
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

export interface ConsentChange {
  customer: string;
  optIn: boolean;
  at: Date;
}

/** Opt-in and opt-out (from helpdesk events and WhatsApp user_preferences): the later of the two wins, whatever order they arrive in. */
export async function recordConsent(tx: Queryable, changes: ConsentChange[]): Promise<void> {
  for (const change of [...changes].sort((a, b) => a.at.getTime() - b.at.getTime())) {
    await tx.query(
      change.optIn
        ? `INSERT INTO contacts (wa_id, opted_in_at) VALUES ($1, $2)
           ON CONFLICT (wa_id) DO UPDATE SET opted_in_at = greatest(contacts.opted_in_at, $2)`
        : `INSERT INTO contacts (wa_id, opted_out_at) VALUES ($1, $2)
           ON CONFLICT (wa_id) DO UPDATE SET opted_out_at = greatest(contacts.opted_out_at, $2)`,
      [change.customer, change.at],
    );
  }
}

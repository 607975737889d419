/**
 * Request analysis of a customer message before it is stored: its category (keyword rules, or the
 * menu button / list row tapped), its sentiment (text messages, German or English) and whether it
 * reads as a CSAT answer.
 */
import type { MessageAnalysis, MessageRow } from '../ingest/batch.ts';
import type { CategoryRules } from './categories.ts';
import { csatScore, scoreFromId } from '../csat/answer.ts';
import { analyzeSentiment } from './sentiment.ts';

/** Ids of the reply button, list row or template quick reply a message carries. */
export function replyIds(payload: unknown): string[] {
  const p = payload as {
    interactive?: { button_reply?: { id?: unknown }; list_reply?: { id?: unknown } };
    button?: { payload?: unknown };
  } | null;
  return [p?.interactive?.button_reply?.id, p?.interactive?.list_reply?.id, p?.button?.payload].filter(
    (id): id is string => typeof id === 'string' && id.length > 0,
  );
}

export function analyzeMessage(row: MessageRow, rules: CategoryRules): MessageAnalysis {
  const ids = replyIds(row.payload);
  const sentiment = row.type === 'text' && row.textBody ? analyzeSentiment(row.textBody) : null;
  return {
    category: rules.categorize(row.textBody, ids),
    sentiment: sentiment?.polarity ?? null,
    sentimentScore: sentiment?.score ?? null,
    language: sentiment?.language ?? null,
    csatScore: csatScore(ids, row.textBody),
    csatReply: ids.some((id) => scoreFromId(id) !== null),
  };
}

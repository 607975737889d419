/**
 * Request analysis of a customer message before it is stored: its category (keyword rules, or the
 * menu button / list row tapped) and its sentiment (text messages, German or English). Whether it
 * answers a CSAT survey is the CSAT loop's question (csat/answer.ts).
 */
import type { Message, MessageAnalysis } from '../domain/batch.ts';
import type { CategoryRules } from './categories.ts';
import { analyzeSentiment } from './sentiment.ts';

export function analyzeMessage(message: Pick<Message, 'type' | 'text' | 'replyIds'>, rules: CategoryRules): MessageAnalysis {
  const ids = message.replyIds;
  const sentiment = message.type === 'text' && message.text ? analyzeSentiment(message.text) : null;
  return {
    category: rules.categorize(message.text, ids),
    sentiment: sentiment?.polarity ?? null,
    sentimentScore: sentiment?.score ?? null,
    language: sentiment?.language ?? null,
  };
}

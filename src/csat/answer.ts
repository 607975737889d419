/**
 * Reading a 1–5 CSAT answer however the customer gives it: the survey's reply button or list row
 * (`csat_4`), a template quick reply (payload `csat_4`), or free text — "4", "4/5", "5 ⭐",
 * "⭐⭐⭐⭐", "vier", "five", "fünf" — and whether a message after a survey answers it at all.
 * Pure; the caller decides which survey it answers.
 */
const WORDS: Record<string, number> = {
  one: 1,
  two: 2,
  three: 3,
  four: 4,
  five: 5,
  eins: 1,
  ein: 1,
  zwei: 2,
  drei: 3,
  vier: 4,
  fünf: 5,
  fuenf: 5,
  funf: 5,
};

/** Free text longer than this is a message, not a score. */
const MAX_ANSWER_LENGTH = 24;

/** The score carried by a button or list-row id or a quick-reply payload (`csat_4`, `csat_4:123`). */
export function scoreFromId(id: string | null | undefined): number | null {
  const match = id ? /^csat[_:-]([1-5])(?:\b|:|$)/i.exec(id.trim()) : null;
  return match ? Number(match[1]) : null;
}

/** The score in a short free-text answer, or null when it is not one. */
export function scoreFromText(text: string | null | undefined): number | null {
  if (!text) return null;
  const trimmed = text.trim();
  if (trimmed.length === 0 || trimmed.length > MAX_ANSWER_LENGTH) return null;
  const stars = [...trimmed.matchAll(/⭐|★|🌟/gu)].length;
  const rest = trimmed
    .replace(/⭐|★|🌟|\uFE0F/gu, '')
    .trim()
    .toLowerCase();
  const digit = /^([1-5])(?:\s*(?:\/|von|of|out of)\s*5)?(?:\s*(?:sterne?|stars?|points?|punkte?))?[.!]*$/.exec(rest);
  if (digit) return Number(digit[1]);
  const word = /^([a-zäöü]+)[.!]*$/.exec(rest);
  if (word && WORDS[word[1]!]) return WORDS[word[1]!]!;
  if (rest === '' && stars >= 1 && stars <= 5) return stars;
  return null;
}

/** Free-text feedback longer than this is a message in its own right. */
const MAX_FEEDBACK_LENGTH = 80;
/** "Danke, 5 Sterne!", "4 von 5", "I'd give 3/5": a score with its scale, inside short feedback. */
const SCORE_IN_FEEDBACK = /(?:^|[^\d])([1-5])\s*(?:\/\s*5|(?:von|of|out of)\s*5|sterne?n?|stars?|punkte?n?|points?|⭐)/iu;

/** A score given inside a short piece of feedback ("Danke, 5 Sterne!"), or a bare answer ("4", "⭐⭐⭐⭐"). */
export function scoreInFeedback(text: string | null | undefined): number | null {
  const bare = scoreFromText(text);
  if (bare !== null || !text || text.trim().length > MAX_FEEDBACK_LENGTH) return bare;
  const match = SCORE_IN_FEEDBACK.exec(text);
  return match ? Number(match[1]) : null;
}

/** Marks of a customer who still needs help, whatever else the message says. */
const STILL_NEEDS_HELP =
  /\?|\b(?:nicht|kein|keine|noch|immer|wieder|still|again|not|no|never|nie|aber|but|problem|hilfe|help|warum|why|wann|when|wo|where)\b/iu;

/**
 * Short feedback after a survey ("sehr gut", "Danke!", "ok 👍"): at most a few words, no
 * question, no sign the customer still needs help, and no request topic (category).
 */
export function isShortFeedback(text: string | null | undefined, category: string | null): boolean {
  if (!text || category) return false;
  const trimmed = text.trim();
  if (trimmed.length === 0 || trimmed.length > MAX_FEEDBACK_LENGTH) return false;
  return trimmed.split(/\s+/u).length <= 5 && !STILL_NEEDS_HELP.test(trimmed);
}

/** A sent survey as the reply rule sees it. */
export interface SurveyForReply {
  id: number;
  messageId: string | null;
  sentAt: Date;
  /** When the survey's earliest scoring reply came, if one did. */
  answeredAt: Date | null;
}

/** A customer message as the reply rule sees it. */
export interface MessageForReply {
  at: Date;
  text: string | null;
  replyIds: readonly string[];
  contextId: string | null;
  category: string | null;
}

export type SurveyReply = { reply: false } | { reply: true; score: number | null };

/**
 * Whether a customer message answers a survey rather than asking something (see docs/csat.md):
 * - a tapped survey row, button or quick reply (`csat_N`), or a reply to the survey message,
 *   within CSAT_RESPONSE_WINDOW of the survey;
 * - a score in text ("4", "⭐⭐⭐⭐", "Danke, 5 Sterne!") within CSAT_RESPONSE_WINDOW of the
 *   survey, or within FEEDBACK_WINDOW of its first answer (a second answer such as "1");
 * - short feedback ("sehr gut", "danke") within FEEDBACK_WINDOW of the survey or its answer.
 * Such a message never reopens the conversation; its score counts if it is the survey's earliest.
 */
export function surveyReply(message: MessageForReply, survey: SurveyForReply, responseWindowMs: number): SurveyReply {
  const since = message.at.getTime() - survey.sentAt.getTime();
  if (since < -1_000 || since > responseWindowMs) return { reply: false };
  const tapped = csatScore(message.replyIds, null);
  if (tapped !== null) return { reply: true, score: tapped };
  const score = scoreInFeedback(message.text);
  if (survey.messageId !== null && message.contextId === survey.messageId) return { reply: true, score };
  const sinceAnswer = survey.answeredAt ? message.at.getTime() - survey.answeredAt.getTime() : null;
  const afterAnswer = sinceAnswer !== null && sinceAnswer >= 0 && sinceAnswer <= FEEDBACK_WINDOW_MS;
  if (score !== null && (survey.answeredAt === null || message.at < survey.answeredAt || afterAnswer)) return { reply: true, score };
  if ((since <= FEEDBACK_WINDOW_MS || afterAnswer) && isShortFeedback(message.text, message.category)) return { reply: true, score: null };
  return { reply: false };
}

/** How long after a survey (or its first answer) short feedback still belongs to it. */
export const FEEDBACK_WINDOW_MS = 10 * 60_000;

/** What a message says as a CSAT answer, from its reply ids and its text. */
export function csatScore(ids: readonly string[], text: string | null): number | null {
  for (const id of ids) {
    const score = scoreFromId(id);
    if (score !== null) return score;
  }
  return scoreFromText(text);
}

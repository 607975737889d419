/**
 * Request categories from a versioned rules file (config/categories.json by default, or
 * CATEGORIES_FILE): keywords, hints and patterns per category, in German and English, plus the
 * ids of WhatsApp menu buttons and list rows. The file's names are the bounded set every
 * `category` label comes from; anything else is `other`, and a conversation not categorised yet
 * is `unknown`.
 *
 * Keywords are whole words or phrases. `*` at the end makes a keyword a stem ("bezahl*" →
 * "bezahlt"), at the start a word ending ("*versand" → "Expressversand", the head of a German
 * compound), at both ends a part of a word. Umlauts and ß match their spelled-out forms
 * ("groesse" = "größe"), and a word of five letters or more also matches with one letter wrong,
 * missing or extra ("pasword", "invoce"). Matching is word lookups in maps built once per file;
 * only the `patterns` are regular expressions.
 */
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { z } from 'zod';
import { lexiconWords } from './sentiment.ts';

export const DEFAULT_CATEGORIES_FILE = fileURLToPath(new URL('../../config/categories.json', import.meta.url));
export const UNCATEGORIZED = 'unknown';
export const FALLBACK = 'other';

const NAME = /^[a-z][a-z0-9_]{0,31}$/;
/** A hint counts this much against a keyword's 1: it decides only when no keyword matches. */
const HINT_WEIGHT = 0.5;
/** Keywords shorter than this must be spelled right: short words are too close to each other ("daten", "raten"). */
const TYPO_MIN_LENGTH = 6;

const fileSchema = z.strictObject({
  version: z.literal(1, { error: 'expected "version": 1' }),
  description: z.string().optional(),
  typos: z.boolean({ error: 'expected true or false' }).default(true),
  categories: z
    .array(
      z.strictObject({
        name: z.string().regex(NAME, 'expected a lower-case name (letters, digits, _; at most 32)'),
        weight: z.number({ error: 'expected a number' }).positive('expected a number above 0').max(10, 'expected at most 10').default(1),
        keywords: z.array(z.string().min(1)).default([]),
        hints: z.array(z.string().min(1)).default([]),
        patterns: z.array(z.string().min(1)).default([]),
        ids: z.array(z.string().min(1)).default([]),
      }),
    )
    .min(1, 'expected at least one category')
    .max(30, 'at most 30 categories: every one becomes a label value'),
});

export interface CategoryRules {
  /** Every category label value: the file's names, `other` and `unknown`. */
  readonly labels: readonly string[];
  /** The best-matching category of a text (and tapped button/list ids), or null when nothing matches. */
  categorize(text: string | null, ids?: readonly string[]): string | null;
  /** A category name from outside (an event) within the bounded set. */
  bounded(category: string): string;
  /** What in a text counted for which category: keywords and hints as written (typos marked `~`), patterns. */
  explain(text: string): { category: string; rule: string; weight: number }[];
}

export type RulesResult = { ok: true; rules: CategoryRules } | { ok: false; errors: string[] };

/** Lower case, umlauts and ß spelled out, so that "Größe", "groesse" and "GRÖSSE" are one word. */
export function foldText(text: string): string {
  return text.toLowerCase().replace(/[äöüß]/g, (c) => ({ ä: 'ae', ö: 'oe', ü: 'ue', ß: 'ss' })[c] ?? c);
}

const WORD = /[\p{L}\p{N}]+/gu;
/** Words spelled right (the sentiment lists, folded): never read as a typo of a keyword. Built on first use. */
let known: Set<string> | undefined;
function spelledRight(word: string): boolean {
  known ??= new Set([...lexiconWords()].map(foldText));
  if (known.has(word)) return true;
  // An inflected form of a known word ("große" of "groß"), as the sentiment scorer stems German.
  for (const ending of ['en', 'er', 'es', 'em', 'e', 'n', 's']) {
    if (word.length - ending.length >= 4 && word.endsWith(ending) && known.has(word.slice(0, -ending.length))) return true;
  }
  return false;
}
function words(text: string): string[] {
  return foldText(text).match(WORD) ?? [];
}

type Affix = 'word' | 'stem' | 'ending' | 'part';
interface WordMatcher {
  text: string;
  affix: Affix;
}
/** One keyword or hint: the words it is made of, and what a match is worth to its category. */
interface Term {
  category: number;
  weight: number;
  /** Its place in all terms, so a term counts once per message. */
  id: number;
  /** As written in the file, for explain(). */
  source: string;
  words: WordMatcher[];
}

/**
 * The compiled terms of a rules file, indexed by how their first word matches: whole words and
 * stems by text (a word's prefixes are looked up), endings by text (its suffixes), parts in a list.
 */
class TermIndex {
  private readonly exact = new Map<string, Term[]>();
  private readonly stems = new Map<string, Term[]>();
  private readonly endings = new Map<string, Term[]>();
  private readonly parts: Term[] = [];
  /** Single whole words and stems long enough to match with a typo, and their one-letter deletions. */
  private readonly typoWords = new Map<string, Term[]>();
  /** One-letter deletions of those words → the terms, with the place of the deleted letter. */
  private readonly typos = new Map<string, { term: Term; at: number }[]>();
  /** The lengths of stems and endings, ascending: a word's prefixes and suffixes of these lengths are looked up. */
  private stemLengths: number[] = [];
  private endingLengths: number[] = [];

  constructor(private readonly typoTolerant: boolean) {}

  add(term: Term): void {
    const first = term.words[0]!;
    const push = (map: Map<string, Term[]>, key: string) => map.set(key, [...(map.get(key) ?? []), term]);
    if (first.affix === 'word') push(this.exact, first.text);
    else if (first.affix === 'stem') {
      push(this.stems, first.text);
      this.stemLengths = lengths(this.stemLengths, first.text.length);
    } else if (first.affix === 'ending') {
      push(this.endings, first.text);
      this.endingLengths = lengths(this.endingLengths, first.text.length);
    } else this.parts.push(term);
    if (this.typoTolerant && term.words.length === 1 && (first.affix === 'word' || first.affix === 'stem')) {
      if (first.text.length >= TYPO_MIN_LENGTH && /^\p{L}+$/u.test(first.text)) {
        push(this.typoWords, first.text);
        for (let k = 0; k < first.text.length; k += 1) {
          const variant = first.text.slice(0, k) + first.text.slice(k + 1);
          this.typos.set(variant, [...(this.typos.get(variant) ?? []), { term, at: k }]);
        }
      }
    }
  }

  /** Adds to `out` every term matching at word i of the text (its first word there, the rest following). */
  termsAt(tokens: readonly string[], i: number, out: Term[]): void {
    const word = tokens[i]!;
    collect(this.exact.get(word), tokens, i, out);
    for (const length of this.stemLengths) {
      if (length > word.length) break;
      collect(this.stems.get(word.slice(0, length)), tokens, i, out);
    }
    for (const length of this.endingLengths) {
      if (length > word.length) break;
      collect(this.endings.get(word.slice(word.length - length)), tokens, i, out);
    }
    collect(this.parts, tokens, i, out);
  }

  /**
   * Adds to `out` the terms a misspelt word stands for: one letter wrong, missing, extra, or two
   * swapped ("retrun"), never the first letter ("leider" is no "kleider", "mount" no "amount").
   */
  typoTerms(word: string, out: Term[]): void {
    if (!this.typoTolerant || word.length < TYPO_MIN_LENGTH - 1) return;
    const push = (term: Term) => {
      if (term.words[0]!.text[0] === word[0]) out.push(term);
    };
    // A letter missing: the word is a deletion of the keyword.
    for (const { term } of this.typos.get(word) ?? []) push(term);
    for (let i = 0; i < word.length; i += 1) {
      const variant = word.slice(0, i) + word.slice(i + 1);
      // A letter extra: a deletion of the word is the keyword.
      for (const term of this.typoWords.get(variant) ?? []) push(term);
      // A letter wrong (same place) or two swapped (next place); not two edits elsewhere ("großes" is no "größe",
      // "gerade" no "geraet").
      for (const { term, at } of this.typos.get(variant) ?? []) {
        const keyword = term.words[0]!.text;
        if (at === i ? neighbours(word[i]!, keyword[i]!) : Math.abs(at - i) === 1 && swapped(word, keyword, Math.min(at, i))) push(term);
      }
    }
  }
}

/** Neighbouring keys on a German (QWERTZ) or English (QWERTY) keyboard: each row sits half a key right of the one above. */
const NEIGHBOURS = new Map<string, Set<string>>();
for (const rows of [
  ['qwertzuiop', 'asdfghjkl', 'yxcvbnm'],
  ['qwertyuiop', 'asdfghjkl', 'zxcvbnm'],
]) {
  rows.forEach((row, r) => {
    for (let k = 0; k < row.length; k += 1) {
      const near = NEIGHBOURS.get(row[k]!) ?? new Set<string>();
      for (const key of [row[k - 1], row[k + 1], rows[r - 1]?.[k], rows[r - 1]?.[k + 1], rows[r + 1]?.[k - 1], rows[r + 1]?.[k]]) {
        if (key) near.add(key);
      }
      NEIGHBOURS.set(row[k]!, near);
    }
  });
}
/**
 * A wrong letter is a typo when its key neighbours the right one ("rechnumg", "passwprd"); a
 * letter far off makes another word ("changed" is no "charged", "kleiner" no "Kleider").
 */
function neighbours(a: string, b: string): boolean {
  return NEIGHBOURS.get(a)?.has(b) === true || NEIGHBOURS.get(b)?.has(a) === true;
}

/** Is `word` the keyword with the letters at k and k + 1 swapped? */
function swapped(word: string, keyword: string, k: number): boolean {
  return (
    word.length === keyword.length && word[k] === keyword[k + 1] && word[k + 1] === keyword[k] && word.slice(k + 2) === keyword.slice(k + 2)
  );
}

/**
 * A rules-file pattern. Case-insensitive Unicode matching (the `iu` flags) is about ten times
 * slower in V8 than plain Unicode matching, so a pattern without capital letters (outside escapes
 * such as \D or \p{Lu}) is tested, case-sensitively, against the lower-cased text: the same matches.
 */
interface Pattern {
  re: RegExp;
  lower: boolean;
}
function compilePattern(source: string): Pattern {
  const lower = !/\p{Lu}/u.test(source.replace(/\\[pP]\{[^}]*\}|\\./gu, ''));
  return { re: new RegExp(source, lower ? 'u' : 'iu'), lower };
}

function collect(terms: readonly Term[] | undefined, tokens: readonly string[], i: number, out: Term[]): void {
  if (terms) for (const term of terms) if (matchesFrom(term, tokens, i)) out.push(term);
}

function lengths(list: readonly number[], length: number): number[] {
  return [...new Set([...list, length])].sort((a, b) => a - b);
}

function wordMatches(matcher: WordMatcher, word: string): boolean {
  switch (matcher.affix) {
    case 'word':
      return word === matcher.text;
    case 'stem':
      return word.startsWith(matcher.text);
    case 'ending':
      return word.endsWith(matcher.text);
    case 'part':
      return word.includes(matcher.text);
  }
}

function matchesFrom(term: Term, tokens: readonly string[], i: number): boolean {
  if (i + term.words.length > tokens.length) return false;
  return term.words.every((m, k) => wordMatches(m, tokens[i + k]!));
}

/** A keyword as words: a leading `*` loosens its first word, a trailing `*` its last. */
function termWords(keyword: string): WordMatcher[] | null {
  const trimmed = keyword.trim();
  const leading = trimmed.startsWith('*');
  const trailing = trimmed.endsWith('*') && trimmed.length > 1;
  const list = words(trimmed);
  if (list.length === 0) return null;
  return list.map((text, k) => {
    const first = k === 0 && leading;
    const last = k === list.length - 1 && trailing;
    const affix: Affix = first && last ? 'part' : first ? 'ending' : last ? 'stem' : 'word';
    return { text, affix };
  });
}

export function compileCategoryRules(doc: unknown): RulesResult {
  const parsed = fileSchema.safeParse(doc);
  if (!parsed.success) {
    return {
      ok: false,
      errors: parsed.error.issues.map(
        (i) =>
          `${
            i.path
              .map((p) => (typeof p === 'number' ? `[${p}]` : `.${String(p)}`))
              .join('')
              .replace(/^\./, '') || 'file'
          }: ${i.message}`,
      ),
    };
  }
  const errors: string[] = [];
  const names: string[] = [];
  /** Per category: its patterns, and those without capitals merged into one, so that a message matching none costs one test. */
  const patterns: { lowerAny: RegExp | null; each: Pattern[] }[] = [];
  const idsOf: Set<string>[] = [];
  const weights: number[] = [];
  const index = new TermIndex(parsed.data.typos);
  let termCount = 0;
  const seen = new Set<string>();
  parsed.data.categories.forEach((c, i) => {
    if (seen.has(c.name)) errors.push(`categories[${i}].name: "${c.name}" appears twice`);
    if (c.name === UNCATEGORIZED) errors.push(`categories[${i}].name: "unknown" is reserved for conversations not categorised yet`);
    seen.add(c.name);
    const add = (list: string[], field: string, weight: number) =>
      list.forEach((keyword, j) => {
        const matchers = termWords(keyword);
        if (!matchers) errors.push(`categories[${i}].${field}[${j}]: expected at least one letter or digit`);
        else index.add({ category: i, weight, id: termCount++, source: keyword, words: matchers });
      });
    add(c.keywords, 'keywords', c.weight);
    add(c.hints, 'hints', c.weight * HINT_WEIGHT);
    const compiled: Pattern[] = [];
    c.patterns.forEach((pattern, j) => {
      try {
        compiled.push(compilePattern(pattern));
      } catch (error) {
        errors.push(`categories[${i}].patterns[${j}]: not a valid regular expression (${(error as Error).message})`);
      }
    });
    names.push(c.name);
    weights.push(c.weight);
    const lower = compiled.filter((p) => p.lower).map((p) => p.re.source);
    patterns.push({ lowerAny: lower.length > 1 ? new RegExp(lower.map((r) => `(?:${r})`).join('|'), 'u') : null, each: compiled });
    idsOf.push(new Set(c.ids.map((id) => id.toLowerCase())));
  });
  if (errors.length) return { ok: false, errors };
  const labels = [...new Set([...names, FALLBACK, UNCATEGORIZED])];

  /** Per term, the call of score() that counted it last, so a term counts once per message without a Set per call. */
  const countedIn = new Uint32Array(termCount);
  let call = 0;
  /** Each category's score: each keyword, hint and pattern counts once; a misspelt word only when it is no word of any rule. */
  function score(text: string, onHit?: (category: number, rule: string, weight: number) => void): number[] {
    const scores = new Array<number>(names.length).fill(0);
    call = call === 0xffffffff ? 1 : call + 1;
    if (call === 1) countedIn.fill(0);
    const tokens = words(text);
    const hits: Term[] = [];
    /** Per category, the last word a counted term of it covers. */
    const coveredUntil = new Array<number>(names.length).fill(-1);
    for (let i = 0; i < tokens.length; i += 1) {
      const before = hits.length;
      index.termsAt(tokens, i, hits);
      const typo = hits.length === before;
      if (typo && !spelledRight(tokens[i]!)) index.typoTerms(tokens[i]!, hits);
      // One word is one piece of evidence. Of the one-word keywords matching it, only the longest
      // count ("Rücksendung" is "rücksend*", not "*sendung"; "Versandkosten" is "versandkosten", not
      // "versand*"), and a category counts a word once ("Paket" matches "paket*" and "*paket";
      // "meine Order" and "Order" overlap).
      let longest = 0;
      for (let k = before; k < hits.length; k += 1) {
        const term = hits[k]!;
        if (term.words.length === 1) longest = Math.max(longest, term.words[0]!.text.length);
      }
      // The longest and strongest first, so that they are the ones a category counts.
      if (hits.length - before > 1) {
        const here = hits.splice(before).sort((a, b) => b.words.length - a.words.length || b.weight - a.weight);
        hits.push(...here);
      }
      for (let k = before; k < hits.length; k += 1) {
        const term = hits[k]!;
        if (countedIn[term.id] === call) continue;
        if (term.words.length === 1 && term.words[0]!.text.length < longest) continue;
        if (coveredUntil[term.category]! >= i) continue;
        countedIn[term.id] = call;
        coveredUntil[term.category] = i + term.words.length - 1;
        scores[term.category]! += term.weight;
        onHit?.(term.category, typo ? `~${term.source}` : term.source, term.weight);
      }
    }
    const lowerText = text.toLowerCase();
    for (let i = 0; i < patterns.length; i += 1) {
      const { lowerAny, each } = patterns[i]!;
      const anyLower = lowerAny === null || lowerAny.test(lowerText);
      for (const { re, lower } of each) {
        if (lower ? !anyLower || !re.test(lowerText) : !re.test(text)) continue;
        scores[i]! += weights[i]!;
        onHit?.(i, `/${re.source}/`, weights[i]!);
      }
    }
    return scores;
  }

  return {
    ok: true,
    rules: {
      labels,
      categorize(text, ids = []) {
        for (const id of ids) {
          const key = id.toLowerCase();
          const hit = names.findIndex((name, i) => idsOf[i]!.has(key) || name === key);
          if (hit >= 0) return names[hit]!;
        }
        if (!text) return null;
        const scores = score(text);
        let best = -1;
        scores.forEach((value, i) => {
          if (value > 0 && (best < 0 || value > scores[best]!)) best = i;
        });
        return best >= 0 ? names[best]! : null;
      },
      explain(text) {
        const hits: { category: string; rule: string; weight: number }[] = [];
        score(text, (category, rule, weight) => hits.push({ category: names[category]!, rule, weight }));
        return hits;
      },
      bounded(category) {
        const name = category.trim().toLowerCase();
        return labels.includes(name) ? name : FALLBACK;
      },
    },
  };
}

/** Reads and compiles a rules file; errors name the file and the problem. */
export function loadCategoryRules(path = DEFAULT_CATEGORIES_FILE): RulesResult {
  let doc: unknown;
  try {
    doc = JSON.parse(readFileSync(path, 'utf8'));
  } catch (error) {
    return {
      ok: false,
      errors: [`${path}: ${(error as NodeJS.ErrnoException).code === 'ENOENT' ? 'no such file' : (error as Error).message}`],
    };
  }
  const result = compileCategoryRules(doc);
  return result.ok ? result : { ok: false, errors: result.errors.map((e) => `${path}: ${e}`) };
}

/** The rules of the shipped default file (tests, and components built without a Config). */
export function defaultCategoryRules(): CategoryRules {
  const result = loadCategoryRules();
  if (!result.ok) throw new Error(result.errors.join('; '));
  return result.rules;
}

/**
 * Request categories from a versioned rules file (config/categories.json by default, or
 * CATEGORIES_FILE): keywords and patterns per category, in German and English, plus the ids of
 * WhatsApp menu buttons and list rows. Keywords are whole words unless they end in `*` (a stem).
 * The file's names are the bounded set every `category`
 * label comes from; anything else is `other`, and a conversation not categorised yet is `unknown`.
 */
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { z } from 'zod';

export const DEFAULT_CATEGORIES_FILE = fileURLToPath(new URL('../../config/categories.json', import.meta.url));
export const UNCATEGORIZED = 'unknown';
export const FALLBACK = 'other';

const NAME = /^[a-z][a-z0-9_]{0,31}$/;

const fileSchema = z.strictObject({
  version: z.literal(1, { error: 'expected "version": 1' }),
  description: z.string().optional(),
  categories: z
    .array(
      z.strictObject({
        name: z.string().regex(NAME, 'expected a lower-case name (letters, digits, _; at most 32)'),
        keywords: z.array(z.string().min(1)).default([]),
        patterns: z.array(z.string().min(1)).default([]),
        ids: z.array(z.string().min(1)).default([]),
      }),
    )
    .min(1, 'expected at least one category')
    .max(30, 'at most 30 categories: every one becomes a label value'),
});

interface CompiledCategory {
  name: string;
  matchers: RegExp[];
  ids: Set<string>;
}

export interface CategoryRules {
  /** Every category label value: the file's names, `other` and `unknown`. */
  readonly labels: readonly string[];
  /** The best-matching category of a text (and tapped button/list ids), or null when nothing matches. */
  categorize(text: string | null, ids?: readonly string[]): string | null;
  /** A category name from outside (an event) within the bounded set. */
  bounded(category: string): string;
}

export type RulesResult = { ok: true; rules: CategoryRules } | { ok: false; errors: string[] };

/** A keyword is a whole word or phrase; a trailing `*` makes it a stem ("bezahl*" → "bezahlt", "bezahlen"). */
function keywordMatcher(keyword: string): RegExp {
  const stem = keyword.endsWith('*');
  const escaped = keyword
    .slice(0, stem ? -1 : undefined)
    .toLowerCase()
    .replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
  return new RegExp(`(?<![\\p{L}\\p{N}])${escaped}${stem ? '' : '(?![\\p{L}\\p{N}])'}`, 'iu');
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
  const compiled: CompiledCategory[] = [];
  const seen = new Set<string>();
  parsed.data.categories.forEach((c, i) => {
    if (seen.has(c.name)) errors.push(`categories[${i}].name: "${c.name}" appears twice`);
    if (c.name === UNCATEGORIZED) errors.push(`categories[${i}].name: "unknown" is reserved for conversations not categorised yet`);
    seen.add(c.name);
    const matchers = c.keywords.map(keywordMatcher);
    c.patterns.forEach((pattern, j) => {
      try {
        matchers.push(new RegExp(pattern, 'iu'));
      } catch (error) {
        errors.push(`categories[${i}].patterns[${j}]: not a valid regular expression (${(error as Error).message})`);
      }
    });
    compiled.push({ name: c.name, matchers, ids: new Set(c.ids.map((id) => id.toLowerCase())) });
  });
  if (errors.length) return { ok: false, errors };
  const labels = [...new Set([...compiled.map((c) => c.name), FALLBACK, UNCATEGORIZED])];
  return {
    ok: true,
    rules: {
      labels,
      categorize(text, ids = []) {
        for (const id of ids) {
          const hit = compiled.find((c) => c.ids.has(id.toLowerCase()) || c.name === id.toLowerCase());
          if (hit) return hit.name;
        }
        if (!text) return null;
        let best: { name: string; score: number } | null = null;
        for (const c of compiled) {
          const score = c.matchers.reduce((n, m) => n + (m.test(text) ? 1 : 0), 0);
          if (score > 0 && (!best || score > best.score)) best = { name: c.name, score };
        }
        return best?.name ?? null;
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

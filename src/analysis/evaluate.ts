/**
 * Scores the request analysis against the labelled messages in eval/ (see eval/README.md): the
 * polarity and category each message gets through `analyzeMessage`, as the write path stores
 * and counts them, against the label. `npm run eval:analysis` prints the accuracy, a confusion
 * matrix per language and the misses; test/analysis-eval.test.ts fails below MINIMUM_ACCURACY.
 */
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { z } from 'zod';
import type { Message } from '../domain/batch.ts';
import { analyzeMessage } from './analyze.ts';
import { type CategoryRules, defaultCategoryRules, UNCATEGORIZED } from './categories.ts';

const set = (file: string) => fileURLToPath(new URL(`../../eval/${file}`, import.meta.url));

/** The labelled sets (eval/README.md says what each is for). */
export const EVAL_SETS = {
  heldout: set('analysis-heldout.jsonl'),
  dev: set('analysis-dev.jsonl'),
  'probe-a': set('analysis-probe-a.jsonl'),
  'probe-c': set('analysis-probe-c.jsonl'),
  'probe-d': set('analysis-probe-d.jsonl'),
  'probe-e': set('analysis-probe-e.jsonl'),
  'probe-f': set('analysis-probe-f.jsonl'),
  'probe-g': set('analysis-probe-g.jsonl'),
  'probe-h': set('analysis-probe-h.jsonl'),
  'probe-i': set('analysis-probe-i.jsonl'),
  'probe-j': set('analysis-probe-j.jsonl'),
  'probe-k': set('analysis-probe-k.jsonl'),
  'probe-l': set('analysis-probe-l.jsonl'),
  'probe-m': set('analysis-probe-m.jsonl'),
  'probe-n': set('analysis-probe-n.jsonl'),
  'probe-o': set('analysis-probe-o.jsonl'),
  'probe-p': set('analysis-probe-p.jsonl'),
  'probe-q': set('analysis-probe-q.jsonl'),
} as const;
export type EvalSetName = keyof typeof EVAL_SETS;

/**
 * The accuracy (0–1) below which the test fails, per set: a few points under what the analysis
 * measures today (docs/requests.md), so that a change that makes it worse is caught.
 */
export const MINIMUM_ACCURACY: Record<EvalSetName, { polarity: number; category: number }> = {
  heldout: { polarity: 0.95, category: 0.97 },
  dev: { polarity: 0.98, category: 0.98 },
  'probe-a': { polarity: 0.97, category: 0.97 },
  'probe-c': { polarity: 0.87, category: 0.95 },
  'probe-d': { polarity: 0.92, category: 0.95 },
  'probe-e': { polarity: 0.95, category: 0.95 },
  'probe-f': { polarity: 0.95, category: 0.92 },
  'probe-g': { polarity: 0.92, category: 0.87 },
  'probe-h': { polarity: 0.95, category: 0.95 },
  'probe-i': { polarity: 0.97, category: 0.95 },
  'probe-j': { polarity: 0.97, category: 0.95 },
  'probe-k': { polarity: 0.97, category: 0.95 },
  'probe-l': { polarity: 0.97, category: 0.97 },
  'probe-m': { polarity: 0.97, category: 0.95 },
  'probe-n': { polarity: 0.97, category: 0.97 },
  'probe-o': { polarity: 0.97, category: 0.95 },
  'probe-p': { polarity: 0.97, category: 0.97 },
  'probe-q': { polarity: 0.97, category: 0.97 },
};

const POLARITIES = ['negative', 'neutral', 'positive'] as const;
const LANGUAGES = ['de', 'en'] as const;

const itemSchema = z.strictObject({
  id: z.string().min(1),
  lang: z.enum(LANGUAGES),
  polarity: z.enum(POLARITIES),
  category: z.string().min(1),
  tags: z.array(z.string()).default([]),
  text: z.string().min(1),
});
export type EvalItem = z.infer<typeof itemSchema>;

export interface EvalResult {
  item: EvalItem;
  polarity: string;
  category: string;
  language: string | null;
}

export interface EvalReport {
  results: EvalResult[];
  polarityAccuracy: number;
  categoryAccuracy: number;
}

/** Reads a JSONL set; a bad line throws naming the file, the line and the problem. */
export function loadEvalSet(path: string): EvalItem[] {
  const ids = new Set<string>();
  return readFileSync(path, 'utf8')
    .split('\n')
    .flatMap((line, i) => {
      if (line.trim() === '') return [];
      let parsed: ReturnType<typeof itemSchema.safeParse>;
      try {
        parsed = itemSchema.safeParse(JSON.parse(line));
      } catch (error) {
        throw new Error(`${path}:${i + 1}: ${(error as Error).message}`);
      }
      if (!parsed.success)
        throw new Error(`${path}:${i + 1}: ${parsed.error.issues.map((x) => `${x.path.join('.')}: ${x.message}`).join('; ')}`);
      if (ids.has(parsed.data.id)) throw new Error(`${path}:${i + 1}: id ${parsed.data.id} appears twice`);
      ids.add(parsed.data.id);
      return [parsed.data];
    });
}

/** A customer's text message as the write path hands it to the analysis (also used by bench/analysis.ts). */
export function rowOf(item: EvalItem): Message {
  return {
    id: item.id,
    source: 'webhook',
    phoneNumberId: null,
    customer: null,
    direction: 'inbound',
    sender: 'customer',
    agentId: null,
    type: 'text',
    sentAt: new Date(0),
    text: item.text,
    contextId: null,
    replyIds: [],
    isRequest: true,
    payload: null,
  };
}

export function evaluate(items: readonly EvalItem[], rules: CategoryRules = defaultCategoryRules()): EvalReport {
  const results = items.map((item): EvalResult => {
    const analysis = analyzeMessage(rowOf(item), rules);
    return {
      item,
      polarity: analysis.sentiment ?? 'neutral',
      category: analysis.category ?? UNCATEGORIZED,
      language: analysis.language,
    };
  });
  const share = (ok: (r: EvalResult) => boolean) => (results.length ? results.filter(ok).length / results.length : 0);
  return {
    results,
    polarityAccuracy: share((r) => r.polarity === r.item.polarity),
    categoryAccuracy: share((r) => r.category === r.item.category),
  };
}

const percent = (x: number) => `${(x * 100).toFixed(1)} %`;

/** A confusion matrix: one row per label, one column per prediction. */
function matrix(
  results: readonly EvalResult[],
  values: readonly string[],
  label: (r: EvalResult) => string,
  got: (r: EvalResult) => string,
) {
  const width = Math.max(9, ...values.map((v) => v.length)) + 1;
  const cell = (s: string) => s.padStart(width);
  const lines = [`${'label \\ got'.padEnd(width + 2)}${values.map(cell).join('')}`];
  for (const row of values) {
    const counts = values.map((col) => String(results.filter((r) => label(r) === row && got(r) === col).length));
    lines.push(`${row.padEnd(width + 2)}${counts.map(cell).join('')}`);
  }
  return lines.join('\n');
}

/** The printed report: accuracy per set and language, confusion matrices per language, the misses. */
export function formatReport(name: string, report: EvalReport, labels: readonly string[]): string {
  const out: string[] = [];
  const { results } = report;
  out.push(
    `== ${name}: ${results.length} messages — polarity ${percent(report.polarityAccuracy)}, category ${percent(report.categoryAccuracy)}`,
  );
  for (const lang of LANGUAGES) {
    const subset = results.filter((r) => r.item.lang === lang);
    if (subset.length === 0) continue;
    const sub = {
      polarity: subset.filter((r) => r.polarity === r.item.polarity).length / subset.length,
      category: subset.filter((r) => r.category === r.item.category).length / subset.length,
    };
    out.push(`\n-- ${name} / ${lang}: ${subset.length} messages — polarity ${percent(sub.polarity)}, category ${percent(sub.category)}`);
    out.push(
      `polarity\n${matrix(
        subset,
        POLARITIES,
        (r) => r.item.polarity,
        (r) => r.polarity,
      )}`,
    );
    const categories = [...new Set([...labels, ...subset.map((r) => r.item.category), ...subset.map((r) => r.category)])];
    out.push(
      `category\n${matrix(
        subset,
        categories,
        (r) => r.item.category,
        (r) => r.category,
      )}`,
    );
  }
  const misses = results.filter((r) => r.polarity !== r.item.polarity || r.category !== r.item.category);
  out.push(`\n-- ${name}: ${misses.length} misses`);
  for (const r of misses) {
    const what = [
      r.polarity !== r.item.polarity ? `polarity ${r.polarity} (label ${r.item.polarity})` : null,
      r.category !== r.item.category ? `category ${r.category} (label ${r.item.category})` : null,
    ].filter(Boolean);
    out.push(
      `${r.item.id} [${r.item.lang}${r.language && r.language !== r.item.lang ? `→${r.language}` : ''}] ${what.join(', ')}: ${r.item.text}`,
    );
  }
  return out.join('\n');
}

function main() {
  const rules = defaultCategoryRules();
  let failed = false;
  const summary: string[] = [];
  for (const name of Object.keys(EVAL_SETS) as EvalSetName[]) {
    const report = evaluate(loadEvalSet(EVAL_SETS[name]), rules);
    console.log(`${formatReport(name, report, rules.labels)}\n`);
    const minimum = MINIMUM_ACCURACY[name];
    const ok = report.polarityAccuracy >= minimum.polarity && report.categoryAccuracy >= minimum.category;
    failed ||= !ok;
    summary.push(
      `${name.padEnd(8)} polarity ${percent(report.polarityAccuracy)} (minimum ${percent(minimum.polarity)}), category ${percent(report.categoryAccuracy)} (minimum ${percent(minimum.category)})${ok ? '' : '  BELOW MINIMUM'}`,
    );
  }
  console.log(summary.join('\n'));
  process.exitCode = failed ? 1 : 0;
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) main();

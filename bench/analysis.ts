/**
 * Cost of the request analysis per customer message, as the write path pays it: analyzeMessage
 * (category, sentiment, CSAT reading) over the labelled German and English messages in eval/,
 * after a warm-up. Prints µs per message for each language, for the whole analysis and for
 * sentiment and categories alone.
 *
 *   npm run bench:analysis
 *   BENCH_ROUNDS=200 npm run bench:analysis
 */
import { analyzeMessage } from '../src/analysis/analyze.ts';
import { defaultCategoryRules } from '../src/analysis/categories.ts';
import { EVAL_SETS, loadEvalSet, rowOf } from '../src/analysis/evaluate.ts';
import { analyzeSentiment } from '../src/analysis/sentiment.ts';

const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 100);
const rules = defaultCategoryRules();
const items = [...loadEvalSet(EVAL_SETS.dev), ...loadEvalSet(EVAL_SETS.heldout)];

/** µs per message: the median of ROUNDS passes over the messages. */
function measure(texts: readonly string[], run: (text: string, i: number) => unknown): number {
  for (let r = 0; r < 20; r += 1) texts.forEach(run);
  const rounds: number[] = [];
  for (let r = 0; r < ROUNDS; r += 1) {
    const start = process.hrtime.bigint();
    texts.forEach(run);
    rounds.push(Number(process.hrtime.bigint() - start) / 1000 / texts.length);
  }
  rounds.sort((a, b) => a - b);
  return rounds[Math.floor(rounds.length / 2)]!;
}

console.log(`request analysis, median of ${ROUNDS} rounds (µs per message)`);
console.log('language  messages  analyzeMessage  sentiment  categories');
for (const lang of ['de', 'en'] as const) {
  const subset = items.filter((i) => i.lang === lang);
  const rows = subset.map(rowOf);
  const texts = subset.map((i) => i.text);
  const whole = measure(texts, (_, i) => analyzeMessage(rows[i]!, rules));
  const sentiment = measure(texts, (text) => analyzeSentiment(text));
  const categories = measure(texts, (text) => rules.categorize(text));
  console.log(
    `${lang.padEnd(10)}${String(subset.length).padStart(8)}${whole.toFixed(1).padStart(16)}${sentiment.toFixed(1).padStart(11)}${categories.toFixed(1).padStart(12)}`,
  );
}

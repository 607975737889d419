/** The request analysis against the labelled messages in eval/: accuracy at or above the documented minimum. */
import assert from 'node:assert/strict';
import { readFileSync, writeFileSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { EVAL_SETS, type EvalSetName, evaluate, formatReport, loadEvalSet, MINIMUM_ACCURACY } from '../src/analysis/evaluate.ts';
import { defaultCategoryRules } from '../src/analysis/categories.ts';

const rules = defaultCategoryRules();

describe('accuracy on the labelled messages', () => {
  for (const name of Object.keys(EVAL_SETS) as EvalSetName[]) {
    it(`${name}: polarity and category at or above the documented minimum`, () => {
      const items = loadEvalSet(EVAL_SETS[name]);
      const report = evaluate(items, rules);
      const minimum = MINIMUM_ACCURACY[name];
      const misses = () => formatReport(name, report, rules.labels).split('\n-- ').at(-1);
      assert.ok(report.polarityAccuracy >= minimum.polarity, `polarity ${report.polarityAccuracy} < ${minimum.polarity}\n${misses()}`);
      assert.ok(report.categoryAccuracy >= minimum.category, `category ${report.categoryAccuracy} < ${minimum.category}\n${misses()}`);
    });
  }

  it('has at least 300 messages in German and English, every label a known value, no held-out message in dev', () => {
    const items = [...loadEvalSet(EVAL_SETS.heldout), ...loadEvalSet(EVAL_SETS.dev)];
    assert.ok(items.length >= 300, `${items.length} messages`);
    for (const lang of ['de', 'en']) assert.ok(items.filter((i) => i.lang === lang).length >= 120, lang);
    const all = (Object.keys(EVAL_SETS) as EvalSetName[]).flatMap((name) => loadEvalSet(EVAL_SETS[name]));
    for (const item of all) assert.ok(rules.labels.includes(item.category), `${item.id}: category ${item.category}`);
    assert.equal(new Set(all.map((i) => i.id)).size, all.length, 'ids are unique across the sets');
    // The probes were written independently and share a few one-word messages with it ("ok", "👍");
    // what must not happen is a held-out message copied into the development set.
    const dev = new Set(loadEvalSet(EVAL_SETS.dev).map((i) => i.text.toLowerCase()));
    for (const item of loadEvalSet(EVAL_SETS.heldout)) assert.ok(!dev.has(item.text.toLowerCase()), `${item.id} is also in dev`);
  });

  it('documents the minimum it enforces', () => {
    const doc = readFileSync(new URL('../docs/requests.md', import.meta.url), 'utf8');
    for (const name of Object.keys(EVAL_SETS) as EvalSetName[]) {
      const { polarity, category } = MINIMUM_ACCURACY[name];
      const row = `| ${name} | ${Math.round(polarity * 100)} % | ${Math.round(category * 100)} % |`;
      assert.ok(doc.includes(row), `docs/requests.md has the row "${row}"`);
    }
  });

  it('prints accuracy, a confusion matrix per language and the misses', () => {
    const items = loadEvalSet(EVAL_SETS.dev).slice(0, 20);
    const report = evaluate(
      items.map((i, n) => (n === 0 ? { ...i, polarity: i.polarity === 'positive' ? 'negative' : 'positive' } : i)),
      rules,
    );
    const text = formatReport('dev', report, rules.labels);
    assert.match(text, /^== dev: 20 messages — polarity \d+\.\d %, category \d+\.\d %/);
    assert.match(text, /-- dev \/ de: \d+ messages/);
    assert.match(text, /polarity\nlabel \\ got\s+negative\s+neutral\s+positive\n/);
    assert.match(text, new RegExp(`${items[0]!.id} \\[de\\] polarity \\w+ \\(label \\w+\\)`), 'the deliberately wrong label is a miss');
  });

  it('names the file and line of a bad labelled message', () => {
    const dir = mkdtempSync(join(tmpdir(), 'eval-'));
    const file = join(dir, 'bad.jsonl');
    writeFileSync(
      file,
      '{"id":"x1","lang":"de","polarity":"negative","category":"billing","text":"ok"}\n{"id":"x2","lang":"fr","polarity":"sad","category":"billing","text":"ok"}\n',
    );
    assert.throws(
      () => loadEvalSet(file),
      (e: Error) => e.message.startsWith(`${file}:2: lang:`) && e.message.includes('polarity:'),
    );
    writeFileSync(file, '{"id":"x1",\n');
    assert.throws(() => loadEvalSet(file), new RegExp(`^Error: ${file.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}:1: `));
  });
});

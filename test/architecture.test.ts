/**
 * The layers of docs/architecture.md, enforced: dependency-cruiser's rules (.dependency-cruiser.cjs)
 * over src/, type-only imports included, and no cycle between folders.
 */
import assert from 'node:assert/strict';
import { createRequire } from 'node:module';
import { describe, it } from 'node:test';
import { cruise, type ICruiseResult } from 'dependency-cruiser';

const require = createRequire(import.meta.url);
const config = require('../.dependency-cruiser.cjs') as { forbidden: unknown[]; options: Record<string, unknown> };

async function graph(): Promise<ICruiseResult> {
  const result = await cruise(['src'], { ...config.options, ruleSet: { forbidden: config.forbidden }, validate: true } as never);
  return result.output as ICruiseResult;
}

/** `src/ingest/meta/adapter.ts` → `ingest`; `src/main.ts` → `main`. */
const folderOf = (path: string) => path.split('/')[1]!.replace(/\.ts$/, '');

/** Cycles between folders, each as a path a → b → … → a. */
export function folderCycles(edges: Map<string, Set<string>>): string[][] {
  const cycles: string[][] = [];
  const seen = new Set<string>();
  for (const start of [...edges.keys()].sort()) {
    const stack: string[] = [];
    const visit = (node: string) => {
      if (stack.includes(node)) {
        if (node === start) {
          const key = [...stack].sort().join(',');
          if (!seen.has(key)) {
            seen.add(key);
            cycles.push([...stack, node]);
          }
        }
        return;
      }
      stack.push(node);
      for (const next of edges.get(node) ?? []) if (next >= start) visit(next);
      stack.pop();
    };
    visit(start);
  }
  return cycles;
}

describe('architecture', () => {
  it('keeps to the layer rules, type-only imports included', async () => {
    const result = await graph();
    const violations = result.summary.violations.map((v) => `${v.rule.name}: ${v.from} → ${v.to}`);
    assert.deepEqual(violations, []);
    assert.ok(result.summary.totalCruised > 80, 'the whole of src/ was read');
  });

  it('has no cycle between folders', async () => {
    const result = await graph();
    const edges = new Map<string, Set<string>>();
    for (const module of result.modules) {
      if (!module.source.startsWith('src/')) continue;
      for (const dependency of module.dependencies) {
        if (!dependency.resolved.startsWith('src/')) continue;
        const [from, to] = [folderOf(module.source), folderOf(dependency.resolved)];
        if (from !== to) edges.set(from, (edges.get(from) ?? new Set()).add(to));
      }
    }
    assert.ok((edges.get('ingest')?.size ?? 0) > 3, 'folder edges were found');
    assert.deepEqual(folderCycles(edges), []);
  });

  it('finds a cycle between folders when there is one', () => {
    const edges = new Map([
      ['a', new Set(['b'])],
      ['b', new Set(['c'])],
      ['c', new Set(['a'])],
      ['d', new Set(['a'])],
    ]);
    assert.deepEqual(folderCycles(edges), [['a', 'b', 'c', 'a']]);
  });
});

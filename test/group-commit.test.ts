/** Group commit: concurrent items share a commit; one bad item fails only itself. */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { GroupCommitter } from '../src/storage/group-commit.ts';

function deferredCommitter(options: Partial<ConstructorParameters<typeof GroupCommitter>[1]> = {}) {
  const groups: number[][] = [];
  const committer = new GroupCommitter<number, string>(
    async (items) => {
      groups.push(items);
      await new Promise((r) => setTimeout(r, 5));
      if (items.includes(13)) throw new Error('13 is unlucky');
      if (items.includes(99)) throw Object.assign(new Error('database down'), { unavailable: true });
      return items.map((i) => `done ${i}`);
    },
    { maxGroupSize: 3, maxConcurrentGroups: 1, splitOnError: (e) => !(e as { unavailable?: boolean }).unavailable, ...options },
  );
  return { committer, groups };
}

describe('GroupCommitter', () => {
  it('commits a lone item at once and groups what arrives meanwhile, up to the group size', async () => {
    const { committer, groups } = deferredCommitter();
    const results = await Promise.all([1, 2, 3, 4, 5, 6].map((i) => committer.submit(i)));
    assert.deepEqual(results, ['done 1', 'done 2', 'done 3', 'done 4', 'done 5', 'done 6']);
    assert.deepEqual(groups, [[1], [2, 3, 4], [5, 6]]);
  });

  it('retries a failed group item by item, so only the bad item fails', async () => {
    const { committer, groups } = deferredCommitter();
    const first = committer.submit(1);
    const rest = [12, 13, 14].map((i) => committer.submit(i).catch((e: Error) => e.message));
    assert.equal(await first, 'done 1');
    assert.deepEqual(await Promise.all(rest), ['done 12', '13 is unlucky', 'done 14']);
    assert.deepEqual(groups.slice(1), [[12, 13, 14], [12], [13], [14]]);
  });

  it('fails the whole group at once when the error is not an item’s fault', async () => {
    const { committer, groups } = deferredCommitter();
    const first = committer.submit(1);
    const rest = [98, 99].map((i) => committer.submit(i).catch((e: Error) => e.message));
    await first;
    assert.deepEqual(await Promise.all(rest), ['database down', 'database down']);
    assert.equal(groups.length, 2);
  });

  it('runs up to maxConcurrentGroups transactions at once', async () => {
    let inFlight = 0;
    let peak = 0;
    const committer = new GroupCommitter<number, number>(
      async (items) => {
        peak = Math.max(peak, ++inFlight);
        await new Promise((r) => setTimeout(r, 5));
        inFlight -= 1;
        return items;
      },
      { maxGroupSize: 1, maxConcurrentGroups: 2, splitOnError: () => true },
    );
    await Promise.all(Array.from({ length: 6 }, (_, i) => committer.submit(i)));
    assert.equal(peak, 2);
  });
});

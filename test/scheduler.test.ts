/**
 * The job scheduler: a run that outlasts its schedule is never joined by a second one, and the
 * tick it swallows leaves no plain-text line on stderr among the JSON logs (node-cron's own
 * overlap prevention prints one).
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { Registry } from 'prom-client';
import { Scheduler } from '../src/jobs/scheduler.ts';
import { JobMetrics } from '../src/metrics/jobs.ts';
import { silentLogger } from './support/database.ts';

describe('the job scheduler', () => {
  it('never runs one job twice at once, and says nothing on stderr about the ticks it leaves out', async () => {
    const scheduler = new Scheduler(new JobMetrics(new Registry()), silentLogger);
    let running = 0;
    let most = 0;
    let runs = 0;
    const written: string[] = [];
    const write = process.stderr.write.bind(process.stderr);
    process.stderr.write = ((chunk: string | Uint8Array, ...rest: never[]) => {
      written.push(String(chunk));
      return write(chunk, ...rest);
    }) as typeof process.stderr.write;
    try {
      scheduler.start({
        name: 'slow',
        schedule: '* * * * * *',
        run: async () => {
          running += 1;
          runs += 1;
          most = Math.max(most, running);
          await new Promise((r) => setTimeout(r, 2_500));
          running -= 1;
          return true;
        },
      });
      await new Promise((r) => setTimeout(r, 3_200));
      await scheduler.stop();
    } finally {
      process.stderr.write = write;
    }
    assert.equal(most, 1, 'one run at a time');
    assert.ok(runs >= 1 && runs <= 2, `runs: ${runs}`);
    assert.deepEqual(
      written.filter((line) => /overlap|still running/i.test(line)),
      [],
    );
  });
});

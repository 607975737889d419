/**
 * The scrape rhythm tells background work when it would meet none of this process's scrapes:
 * never while one runs, not when the next one is due before the work would end, at once when no
 * scrape is expected. The clock is a variable; waits use real timers of a few milliseconds.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import express from 'express';
import { Registry } from 'prom-client';
import request from 'supertest';
import { serviceRouter } from '../src/http/service-routes.ts';
import { ScrapeRhythm } from '../src/metrics/scrape-rhythm.ts';
import type { Database } from '../src/storage/database.ts';

function clocked() {
  const clock = { now: 0 };
  const rhythm = new ScrapeRhythm(() => clock.now);
  /** A scrape from `at` lasting `ms`. */
  const scrape = (at: number, ms = 40) => {
    clock.now = at;
    rhythm.started();
    clock.now = at + ms;
    rhythm.finished();
  };
  return { clock, rhythm, scrape };
}

describe('scrape rhythm', () => {
  it('expects nothing before two scrapes, and lets work run at once', () => {
    const { clock, rhythm, scrape } = clocked();
    assert.equal(rhythm.nextStart(), undefined);
    assert.equal(rhythm.delayFor(10_000), 0);
    scrape(1_000);
    clock.now = 1_500;
    assert.equal(rhythm.nextStart(), undefined);
    assert.equal(rhythm.delayFor(10_000), 0);
  });

  it('expects the next scrape one interval after the last, and holds work that would reach it', () => {
    const { clock, rhythm, scrape } = clocked();
    for (let at = 0; at <= 60_000; at += 15_000) scrape(at);
    assert.equal(rhythm.nextStart(), 75_000);
    clock.now = 60_100;
    assert.equal(rhythm.delayFor(100), 0, 'room for 100 ms before the next scrape');
    assert.equal(rhythm.delayFor(12_000), 0, '12 s plus the 1.5 s margin still end before 75 s');
    // 14 s would end inside the margin before the next scrape: wait until it has begun.
    assert.equal(rhythm.delayFor(14_000), 75_000 - 60_100 + 1_500);
    clock.now = 74_000;
    assert.equal(rhythm.delayFor(100), 1_000 + 1_500);
  });

  it('holds work while a scrape runs', () => {
    const { clock, rhythm } = clocked();
    clock.now = 5;
    rhythm.started();
    assert.ok(rhythm.delayFor(1) > 0);
    rhythm.finished();
    assert.equal(rhythm.delayFor(1), 0);
  });

  it('with two Prometheus servers offset, expects each of them (at worst early)', () => {
    const { clock, rhythm, scrape } = clocked();
    // A at 0, 15, 30 s; B at 3, 18 s.
    for (const at of [0, 3_000, 15_000, 18_000, 30_000]) scrape(at);
    clock.now = 31_000;
    assert.equal(rhythm.nextStart(), 33_000, "B's next scrape");
    scrape(33_000);
    clock.now = 34_000;
    const next = rhythm.nextStart()!;
    assert.ok(next > 34_000 && next <= 45_000, `expected by A's next scrape at 45 s, got ${next}`);
  });

  it('expects nothing once scrapes stop coming', () => {
    const { clock, rhythm, scrape } = clocked();
    for (let at = 0; at <= 4_000; at += 1_000) scrape(at);
    clock.now = 4_500;
    assert.equal(rhythm.nextStart(), 5_000);
    clock.now = 9_000;
    assert.equal(rhythm.nextStart(), undefined);
    assert.equal(rhythm.delayFor(500), 0);
  });

  it('quietFor resolves when the running scrape ends, not before', async () => {
    const rhythm = new ScrapeRhythm();
    rhythm.started();
    let resolved = false;
    const waiting = rhythm.quietFor(1, 60_000).then(() => {
      resolved = true;
    });
    await new Promise((r) => setTimeout(r, 20));
    assert.equal(resolved, false, 'still waiting while the scrape runs');
    rhythm.finished();
    await waiting;
    assert.equal(resolved, true);
  });

  it('quietFor gives up after atMostMs, so scrapes back to back do not starve the work', async () => {
    const rhythm = new ScrapeRhythm();
    rhythm.started();
    await rhythm.quietFor(1, 30);
    rhythm.finished();
  });
});

describe('the scrape endpoint', () => {
  it('tells the rhythm when each scrape begins and ends', async () => {
    const events: string[] = [];
    const app = express();
    app.use(
      serviceRouter({
        registry: new Registry(),
        database: {} as Database, // /metrics does not read it
        metricsToken: undefined,
        rhythm: { started: () => events.push('started'), finished: () => events.push('finished') },
        beforeScrape: async () => {
          events.push('before scrape');
        },
      }),
    );
    await request(app).get('/metrics').expect(200);
    await request(app).get('/metrics').expect(200);
    assert.deepEqual(events, ['started', 'before scrape', 'finished', 'started', 'before scrape', 'finished']);
  });
});

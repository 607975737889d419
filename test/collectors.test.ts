/**
 * The scrape-time collector framework: a collector that outlives its timeout fails alone, and
 * its query is cancelled inside PostgreSQL rather than left running after the scrape gave up.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { Gauge, Registry } from 'prom-client';
import { ScrapeCollectors } from '../src/metrics/collectors.ts';
import { createTestDatabase, silentLogger, type TestDatabase } from './support/database.ts';

let db: TestDatabase;
before(async () => {
  db = await createTestDatabase();
});
after(() => db.drop());

describe('scrape-time collectors', () => {
  it('cancels a collector query that outlives the timeout in the database, and the other collectors still report', async (t) => {
    if (db.database.kind !== 'postgres') return t.skip('the embedded database cannot cancel a running statement');
    const registry = new Registry();
    const collectors = new ScrapeCollectors(registry, db.database, silentLogger, 300);
    const marker = `slow_collector_${process.pid}`;
    const fast = new Gauge({ name: 'test_fast', help: 'fast', registers: [registry], collect: collectors.collect });
    collectors.add({
      name: 'slow',
      sql: `SELECT pg_sleep(60) AS ${marker}`,
      apply: () => undefined,
      clear: () => undefined,
    });
    collectors.add({
      name: 'fast',
      sql: 'SELECT 42 AS n',
      apply: (rows: { n: number }[]) => fast.set(rows[0]!.n),
      clear: () => fast.reset(),
    });
    const text = await registry.metrics();
    assert.match(text, /whatsapp_scrape_collector_success\{collector="slow"\} 0/);
    assert.match(text, /whatsapp_scrape_collector_success\{collector="fast"\} 1/);
    assert.match(text, /test_fast 42/);
    // The statement was cancelled by PostgreSQL (statement_timeout), not merely abandoned: it is
    // gone long before its 60 s sleep could end.
    let running = 1;
    for (let i = 0; i < 50 && running > 0; i++) {
      const { rows } = await db.database.query<{ n: number }>(
        `SELECT count(*)::int AS n FROM pg_stat_activity WHERE state = 'active' AND query LIKE $1 AND pid <> pg_backend_pid()`,
        [`%AS ${marker}%`],
      );
      running = rows[0]!.n;
      if (running > 0) await new Promise((resolve) => setTimeout(resolve, 100));
    }
    assert.equal(running, 0, 'the slow query still runs in PostgreSQL');
  });

  it('runs collectors read-only', async () => {
    const registry = new Registry();
    const collectors = new ScrapeCollectors(registry, db.database, silentLogger);
    new Gauge({ name: 'test_probe', help: 'probe', registers: [registry], collect: collectors.collect });
    collectors.add({
      name: 'writer',
      sql: 'CREATE TABLE collector_must_not_write (x int)',
      apply: () => undefined,
      clear: () => undefined,
    });
    assert.match(await registry.metrics(), /whatsapp_scrape_collector_success\{collector="writer"\} 0/);
  });

  it('hands back no connection inside a transaction, whether a collector succeeds or fails', async () => {
    const registry = new Registry();
    const collectors = new ScrapeCollectors(registry, db.database, silentLogger);
    const value = new Gauge({ name: 'test_value', help: 'value', registers: [registry], collect: collectors.collect });
    let divisor = 0;
    collectors.add({
      name: 'divides',
      get sql() {
        return `SELECT 84 / ${divisor} AS n`;
      },
      apply: (rows: { n: number }[]) => value.set(rows[0]!.n),
      clear: () => value.reset(),
    });
    assert.match(await registry.metrics(), /whatsapp_scrape_collector_success\{collector="divides"\} 0/);
    const openTransactions = async () => {
      const { rows } = await db.database.query<{ n: number }>(
        `SELECT count(*)::int AS n FROM pg_stat_activity WHERE datname = current_database() AND state LIKE 'idle in transaction%'`,
      );
      return rows[0]!.n;
    };
    if (db.database.kind === 'postgres') assert.equal(await openTransactions(), 0);
    divisor = 2;
    await new Promise((resolve) => setTimeout(resolve, 1_100)); // past the window in which scrapes share a run
    const text = await registry.metrics();
    assert.match(text, /whatsapp_scrape_collector_success\{collector="divides"\} 1/);
    assert.match(text, /test_value 42/);
    if (db.database.kind === 'postgres') assert.equal(await openTransactions(), 0);
  });
});

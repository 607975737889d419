/**
 * The conversations collector's one scan of open conversations, against values worked out by
 * hand: open conversations by state, category and business number; waiting ones over each
 * threshold by sentiment; and service windows closing within the hour (waiting ones only).
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { Registry } from 'prom-client';
import { registerConversationGauges, WAITING_THRESHOLDS } from '../src/metrics/conversation-gauges.ts';
import { ScrapeCollectors } from '../src/metrics/collectors.ts';
import { createTestDatabase, silentLogger, type TestDatabase } from './support/database.ts';

let db: TestDatabase;
before(async () => {
  db = await createTestDatabase();
});
after(() => db.drop());

const FIRST = '100000000000001';
const SECOND = '100000000000002';

describe('the conversations collector', () => {
  it('counts open, waiting and window-closing conversations in one scan, as worked out by hand', async () => {
    await db.database.query(`INSERT INTO business_numbers (phone_number_id) VALUES ($1), ($2), ('100000000000003')`, [FIRST, SECOND]);
    // [number, status, state, category, sentiment, waiting for (s), last customer message (s ago)]
    const rows: [string, string, string, string, string | null, number | null, number][] = [
      [FIRST, 'open', 'assigned', 'billing', 'negative', 400, 23.5 * 3600], // waiting, window closing
      [FIRST, 'open', 'unassigned', 'unknown', null, 30, 30],
      [FIRST, 'open', 'bot', 'billing', 'positive', null, 23.5 * 3600], // not waiting: its window is not counted
      [FIRST, 'resolved', 'assigned', 'billing', 'negative', 5000, 23.5 * 3600], // resolved: nowhere
      [SECOND, 'open', 'waiting_customer', 'delivery', 'negative', 4000, 4000],
      [SECOND, 'open', 'assigned', 'delivery', 'neutral', 90, 22 * 3600], // window closes in 2 h, not within the hour
    ];
    for (const [i, [number, status, state, category, sentiment, waited, lastMessage]] of rows.entries()) {
      await db.database.query(
        `INSERT INTO conversations (phone_number_id, contact_wa_id, status, state, category, sentiment, opened_at, cycle_started_at,
                                    handler, waiting_since, last_customer_message_at, last_activity_at, resolved_at)
         VALUES ($1, $2, $3, $4, $5, $6, now() - interval '2 days', now() - interval '2 days', 'none',
                 now() - make_interval(secs => $7), now() - make_interval(secs => $8), now(), CASE WHEN $3 = 'resolved' THEN now() END)`,
        [number, `4915100000${i}`, status, state, category, sentiment, waited, lastMessage],
      );
    }
    const registry = new Registry();
    const collectors = new ScrapeCollectors(registry, db.database, silentLogger);
    registerConversationGauges(collectors, ['billing', 'delivery', 'unknown'], (id) => id);
    const text = await registry.metrics();
    const value = (series: string) => {
      const line = text.split('\n').find((l) => l.startsWith(`${series} `));
      assert.ok(line, `no ${series}`);
      return Number(line.slice(series.length + 1));
    };
    assert.equal(value('whatsapp_scrape_collector_success{collector="conversations"}'), 1);

    const open = (state: string, category: string, number: string) =>
      value(`whatsapp_open_conversations{state="${state}",category="${category}",business_number="${number}"}`);
    assert.equal(open('assigned', 'billing', FIRST), 1);
    assert.equal(open('unassigned', 'unknown', FIRST), 1);
    assert.equal(open('bot', 'billing', FIRST), 1);
    assert.equal(open('waiting_customer', 'delivery', SECOND), 1);
    assert.equal(open('assigned', 'delivery', SECOND), 1);
    assert.equal(open('assigned', 'delivery', FIRST), 0);
    assert.equal(open('bot', 'unknown', '100000000000003'), 0, 'a known number without conversations shows 0');
    const openTotal = text.split('\n').filter((l) => l.startsWith('whatsapp_open_conversations{'));
    assert.equal(
      openTotal.reduce((sum, l) => sum + Number(l.split(' ')[1]), 0),
      5,
    );

    const waiting = (sentiment: string, number: string) =>
      WAITING_THRESHOLDS.map((t) =>
        value(`whatsapp_waiting_conversations{over_seconds="${t}",sentiment="${sentiment}",business_number="${number}"}`),
      );
    //                 thresholds:  0  60 120 180 300 600 1800 3600
    assert.deepEqual(waiting('negative', FIRST), [1, 1, 1, 1, 1, 0, 0, 0]); // 400 s
    assert.deepEqual(waiting('other', FIRST), [1, 0, 0, 0, 0, 0, 0, 0]); // 30 s, no sentiment
    assert.deepEqual(waiting('negative', SECOND), [1, 1, 1, 1, 1, 1, 1, 1]); // 4,000 s
    assert.deepEqual(waiting('other', SECOND), [1, 1, 0, 0, 0, 0, 0, 0]); // 90 s, neutral
    assert.deepEqual(waiting('negative', '100000000000003'), [0, 0, 0, 0, 0, 0, 0, 0]);

    assert.equal(value('whatsapp_service_window_closing_conversations'), 1);
  });
});

/**
 * The conversations collector's one scan of open conversations, against values worked out by
 * hand and, for generated sets of conversations, against a reference model counting them one by
 * one: open conversations by state, category and business number; waiting ones over each
 * threshold by sentiment; and service windows closing within the hour (waiting ones only).
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import fc from 'fast-check';
import { Registry } from 'prom-client';
import { OPEN_STATES, registerConversationGauges, WAITING_THRESHOLDS } from '../src/metrics/conversation-gauges.ts';
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

  it('agrees with counting the conversations one by one, for any set of them', async () => {
    const numbers = [FIRST, SECOND];
    const categories = ['billing', 'delivery', 'unknown'];
    // Ages away from every threshold and window edge: the database's now() is a few ms later than the insert's.
    const conversation = fc.record({
      number: fc.constantFrom(...numbers),
      status: fc.constantFrom('open', 'open', 'open', 'resolved'),
      state: fc.constantFrom(...OPEN_STATES),
      category: fc.constantFrom(...categories),
      sentiment: fc.constantFrom(null, 'negative', 'neutral', 'positive'),
      waited: fc.constantFrom(null, 5, 30, 90, 150, 240, 400, 900, 2500, 4000),
      lastMessage: fc.constantFrom(30, 4000, 22 * 3600, 23.5 * 3600, 24.5 * 3600),
    });
    await fc.assert(
      fc.asyncProperty(fc.array(conversation, { maxLength: 12 }), async (list) => {
        await db.database.query('DELETE FROM conversations');
        await db.database.query(
          `INSERT INTO conversations (phone_number_id, contact_wa_id, status, state, category, sentiment, opened_at, cycle_started_at,
                                      handler, waiting_since, last_customer_message_at, last_activity_at, resolved_at)
           SELECT c.number, '49151' || c.i, c.status, c.state, c.category, c.sentiment, now() - interval '2 days', now() - interval '2 days',
                  'none', now() - make_interval(secs => c.waited), now() - make_interval(secs => c."lastMessage"), now(),
                  CASE WHEN c.status = 'resolved' THEN now() END
             FROM jsonb_to_recordset($1::jsonb) AS c(i int, number text, status text, state text, category text, sentiment text,
                                                      waited float8, "lastMessage" float8)`,
          [JSON.stringify(list.map((c, i) => ({ ...c, i })))],
        );
        // A registry of its own each time: scrapes within a second would share one collector run.
        const registry = new Registry();
        registerConversationGauges(new ScrapeCollectors(registry, db.database, silentLogger), categories, (id) => id);
        const text = await registry.metrics();
        const series = new Map(
          text
            .split('\n')
            .filter((l) => l !== '' && !l.startsWith('#'))
            .map((l) => [l.slice(0, l.lastIndexOf(' ')), Number(l.slice(l.lastIndexOf(' ') + 1))]),
        );
        const open = list.filter((c) => c.status === 'open');
        for (const number of numbers) {
          for (const state of OPEN_STATES) {
            for (const category of categories) {
              const expected = open.filter((c) => c.number === number && c.state === state && c.category === category).length;
              assert.equal(
                series.get(`whatsapp_open_conversations{state="${state}",category="${category}",business_number="${number}"}`),
                expected,
              );
            }
          }
          for (const sentiment of ['negative', 'other']) {
            for (const t of WAITING_THRESHOLDS) {
              const expected = open.filter(
                (c) =>
                  c.number === number && (c.sentiment === 'negative') === (sentiment === 'negative') && c.waited !== null && c.waited > t,
              ).length;
              assert.equal(
                series.get(`whatsapp_waiting_conversations{over_seconds="${t}",sentiment="${sentiment}",business_number="${number}"}`),
                expected,
              );
            }
          }
        }
        const closing = open.filter((c) => c.waited !== null && c.lastMessage > 23 * 3600 && c.lastMessage < 24 * 3600).length;
        assert.equal(series.get('whatsapp_service_window_closing_conversations'), closing);
      }),
      { numRuns: 40 },
    );
  });
});

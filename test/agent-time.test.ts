/**
 * Agent time from running totals equals the full recomputation from history. Random presence
 * and handling histories are written with plain SQL — inserts, late corrections of the past,
 * rewritten and deleted handling intervals, as the fold or another client would — while the
 * totals are folded forward to random watermarks and the agent_time job runs; after each job run
 * the agents collector's query must give exactly what the original full-history query gives.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import fc from 'fast-check';
import { maintainAgentTime } from '../src/jobs/agent-time.ts';
import { ScrapeRhythm } from '../src/metrics/scrape-rhythm.ts';
import { AGENT_GAUGES_SQL, advanceTotals, watermark } from '../src/storage/agent-time-store.ts';
import { rememberAgents } from '../src/storage/conversation-store.ts';
import { FULL_HISTORY_AGENTS_SQL } from './support/agent-time-reference.ts';
import { sample, scrape, testApp } from './support/app.ts';
import { createTestDatabase, type TestDatabase } from './support/database.ts';

let db: TestDatabase;
before(async () => {
  db = await createTestDatabase();
});
after(() => db.drop());

const MINUTE = 60_000;
/** Histories span the last three days and reach 10 minutes into the future (a skewed clock). */
const SPAN_MINUTES = 3 * 24 * 60 + 10;

type Op =
  | { kind: 'presence'; agent: number; minute: number; status: 'online' | 'away' | 'offline'; tie: number }
  | { kind: 'handle'; agent: number; start: number; end: number | null }
  | { kind: 'end'; pick: number; end: number | null }
  | { kind: 'move'; pick: number; agent: number; start: number }
  | { kind: 'drop'; pick: number }
  | { kind: 'advance'; minute: number }
  | { kind: 'job' };

const minute = fc.integer({ min: 0, max: SPAN_MINUTES });
const agentIndex = fc.integer({ min: 0, max: 3 });
const opArbitrary: fc.Arbitrary<Op> = fc.oneof(
  {
    weight: 6,
    arbitrary: fc.record({
      kind: fc.constant('presence' as const),
      agent: agentIndex,
      // Coarse times, so that several events share an instant and the event id decides.
      minute: minute.map((m) => m - (m % 30)),
      status: fc.constantFrom('online' as const, 'online' as const, 'away' as const, 'offline' as const),
      tie: fc.integer({ min: 0, max: 9 }),
    }),
  },
  {
    weight: 4,
    arbitrary: fc.record({
      kind: fc.constant('handle' as const),
      agent: agentIndex,
      start: minute,
      end: fc.option(fc.integer({ min: -60, max: 24 * 60 }), { nil: null }),
    }),
  },
  {
    weight: 2,
    arbitrary: fc.record({
      kind: fc.constant('end' as const),
      pick: fc.nat(),
      end: fc.option(fc.integer({ min: -60, max: 24 * 60 }), { nil: null }),
    }),
  },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('move' as const), pick: fc.nat(), agent: agentIndex, start: minute }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('drop' as const), pick: fc.nat() }) },
  { weight: 2, arbitrary: fc.record({ kind: fc.constant('advance' as const), minute }) },
  { weight: 2, arbitrary: fc.constant<Op>({ kind: 'job' }) },
);

let runs = 0;

async function compare(agents: string[]): Promise<void> {
  // One transaction: both queries see the same now() and the same rows.
  const [totals, full] = await db.database.transaction(async (q) => {
    await q.query('SET TRANSACTION ISOLATION LEVEL REPEATABLE READ');
    return [
      await q.query(`SELECT * FROM (${AGENT_GAUGES_SQL}) s WHERE agent = ANY($1) ORDER BY agent`, [agents]),
      await q.query(`SELECT * FROM (${FULL_HISTORY_AGENTS_SQL}) s WHERE agent = ANY($1) ORDER BY agent`, [agents]),
    ];
  });
  assert.deepEqual(totals.rows, full.rows);
}

describe('agent time from running totals', () => {
  it('equals the full recomputation from history after every job run, whatever was written when', async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(opArbitrary, { minLength: 1, maxLength: 40 }), async (ops) => {
        const run = ++runs;
        const agents = [0, 1, 2, 3].map((i) => `prop-${process.pid}-${run}-${i}`);
        const base = Date.now() - 3 * 24 * 60 * MINUTE;
        const at = (m: number) => new Date(base + m * MINUTE);
        // Plain statements, one at a time (the embedded database has one connection).
        const q = db.database;
        // Agents and their history arrive as another client would write them: no totals yet.
        await q.query('INSERT INTO agents (agent) SELECT unnest($1::text[])', [agents]);
        const { rows } = await q.query<{ id: number }>(
          `INSERT INTO conversations (phone_number_id, contact_wa_id, status, state, opened_at, cycle_started_at, handler,
                                        last_customer_message_at, last_activity_at)
             VALUES ('prop', $1, 'resolved', 'resolved', now(), now(), 'agent', now(), now()) RETURNING id`,
          [`prop-${run}`],
        );
        const conversation = rows[0]!.id;
        const handling: number[] = [];
        let events = 0;
        for (const op of ops) {
          switch (op.kind) {
            case 'presence':
              await q.query('INSERT INTO agent_status_events (event_id, agent, status, occurred_at) VALUES ($1, $2, $3, $4)', [
                `p${run}-${op.tie}-${events++}`,
                agents[op.agent],
                op.status,
                at(op.minute),
              ]);
              break;
            case 'handle': {
              const { rows: added } = await q.query<{ id: number }>(
                'INSERT INTO agent_handling (agent, conversation_id, started_at, ended_at) VALUES ($1, $2, $3, $4) RETURNING id',
                [agents[op.agent], conversation, at(op.start), op.end === null ? null : at(op.start + op.end)],
              );
              handling.push(added[0]!.id);
              break;
            }
            case 'end':
              if (handling.length === 0) break;
              await q.query(
                `UPDATE agent_handling SET ended_at = CASE WHEN $2::int IS NULL THEN NULL ELSE started_at + make_interval(mins => $2::int) END
                    WHERE id = $1`,
                [handling[op.pick % handling.length], op.end],
              );
              break;
            case 'move':
              if (handling.length === 0) break;
              await q.query('UPDATE agent_handling SET agent = $2, started_at = $3 WHERE id = $1', [
                handling[op.pick % handling.length],
                agents[op.agent],
                at(op.start),
              ]);
              break;
            case 'drop':
              if (handling.length === 0) break;
              await q.query('DELETE FROM agent_handling WHERE id = $1', [handling.splice(op.pick % handling.length, 1)[0]]);
              break;
            case 'advance':
              // Totals folded up to any moment before the watermark (as an earlier job run did).
              await db.database.transaction(async (tx) => {
                const limit = await watermark(tx);
                await advanceTotals(tx, new Date(Math.min(limit.getTime(), at(op.minute).getTime())), { stepMs: 0, limit: 1000 });
              });
              break;
            case 'job':
              await maintainAgentTime({ database: db.database });
              await compare(agents);
              break;
          }
        }
        await maintainAgentTime({ database: db.database });
        await compare(agents);
      }),
      { numRuns: 60 },
    );
  });

  it('logs a change only where it reaches into the past: closing an interval now is none, moving its end back is one', async () => {
    const agent = `log-${process.pid}`;
    const changes = async () =>
      (
        await db.database.query<{ minutes: number }>(
          `SELECT round(extract(epoch FROM now() - since) / 60)::int AS minutes FROM agent_time_changes WHERE agent = $1 ORDER BY since`,
          [agent],
        )
      ).rows.map((r) => r.minutes);
    const { rows } = await db.database.query<{ id: number }>(
      `INSERT INTO conversations (phone_number_id, contact_wa_id, status, state, opened_at, cycle_started_at, handler,
                                  last_customer_message_at, last_activity_at)
       VALUES ('log', $1, 'resolved', 'resolved', now(), now(), 'agent', now(), now()) RETURNING id`,
      [agent],
    );
    await db.database.query(
      `INSERT INTO agent_handling (agent, conversation_id, started_at) VALUES ($1, $2, now() - interval '3 hours'), ($1, $2, now() - interval '5 minutes')`,
      [agent, rows[0]!.id],
    );
    assert.deepEqual(await changes(), [180], 'an interval that started 3 hours ago is logged; one that started 5 minutes ago is not');
    await maintainAgentTime({ database: db.database });
    assert.deepEqual(await changes(), [], 'the job consumed it');
    await db.database.query(`UPDATE agent_handling SET ended_at = now() WHERE agent = $1`, [agent]);
    assert.deepEqual(await changes(), [], 'closing intervals now changes nothing in the past');
    await db.database.query(
      `UPDATE agent_handling SET ended_at = now() - interval '2 hours' WHERE agent = $1 AND started_at < now() - interval '1 hour'`,
      [agent],
    );
    assert.deepEqual(await changes(), [120], 'moving an end back 2 hours changes the past from there');
    await db.database.query(
      `INSERT INTO agent_status_events (event_id, agent, status, occurred_at)
       VALUES ('log-1', $1, 'online', now() - interval '10 minutes'), ('log-2', $1, 'away', now() - interval '4 hours')`,
      [agent],
    );
    assert.deepEqual(await changes(), [240, 120], 'presence 4 hours ago is logged, 10 minutes ago is not');
  });

  it('computes folded and new agents exactly in one scrape (recent windows by time, whole histories per agent)', async () => {
    const folded = `mixed-folded-${process.pid}`;
    const fresh = `mixed-new-${process.pid}`;
    await db.database.query('INSERT INTO agents (agent) VALUES ($1)', [folded]);
    const presence = (agent: string, id: string, status: string, ago: string) =>
      db.database.query(
        `INSERT INTO agent_status_events (event_id, agent, status, occurred_at) VALUES ($1, $2, $3, now() - $4::interval)`,
        [id, agent, status, ago],
      );
    await presence(folded, 'mf-1', 'online', '3 days');
    await presence(folded, 'mf-2', 'away', '2 days');
    await maintainAgentTime({ database: db.database });
    // A new agent as the write path starts it (whole history in the window), with presence both
    // days ago and within the last hour, and the folded agent active in the last hour too.
    await db.database.transaction((tx) => rememberAgents(tx, [fresh]));
    await presence(fresh, 'mn-1', 'online', '2 days');
    await presence(fresh, 'mn-2', 'offline', '47 hours');
    await presence(fresh, 'mn-3', 'online', '20 minutes');
    await presence(folded, 'mf-3', 'online', '25 minutes');
    await presence(folded, 'mf-4', 'offline', '10 minutes');
    await compare([folded, fresh]);
  });

  it('exports no time counters for an agent without totals, and exact ones once the job ran', async () => {
    const app = testApp(db.database);
    const agent = `bulk-${process.pid}`;
    await db.database.query('INSERT INTO agents (agent) VALUES ($1)', [agent]);
    await db.database.query(
      `INSERT INTO agent_status_events (event_id, agent, status, occurred_at)
       VALUES ('bulk-1', $1, 'online', now() - interval '10 days'), ('bulk-2', $1, 'offline', now() - interval '10 days' + interval '8 hours')`,
      [agent],
    );
    let m = await scrape(app);
    assert.equal(sample(m, 'whatsapp_agent_online', { agent }), 0);
    assert.equal(sample(m, 'whatsapp_agent_online_seconds_total', { agent }), undefined, 'no value before the totals are known');
    assert.equal(sample(m, 'whatsapp_scrape_collector_success', { collector: 'agents' }), 1);
    await maintainAgentTime({ database: db.database });
    m = await scrape(testApp(db.database)); // a new app: scrapes within a second share one collector run
    assert.equal(sample(m, 'whatsapp_agent_online_seconds_total', { agent }), 8 * 3600);
  });

  it("folds a bulk-loaded history in batches that start only between this process's scrapes", async () => {
    const agents = Array.from({ length: 10 }, (_, i) => `between-${process.pid}-${i}`);
    for (const [i, agent] of agents.entries()) {
      await db.database.query('INSERT INTO agents (agent) VALUES ($1)', [agent]);
      await db.database.query(
        `INSERT INTO agent_status_events (event_id, agent, status, occurred_at)
         VALUES ($2 || '-on', $1, 'online', now() - interval '5 days'), ($2 || '-off', $1, 'offline', now() - interval '5 days' + $3::interval)`,
        [agent, `between-${i}`, `${i + 1} hours`],
      );
    }
    const folded = async () =>
      (await db.database.query<{ n: number }>('SELECT count(*)::int AS n FROM agent_time_totals WHERE agent = ANY($1)', [agents])).rows[0]!
        .n;
    const rhythm = new ScrapeRhythm();
    const expected: number[] = [];
    rhythm.started();
    const run = maintainAgentTime({
      database: db.database,
      quietFor: (expectedMs, atMostMs) => {
        expected.push(expectedMs);
        return rhythm.quietFor(expectedMs, atMostMs);
      },
    });
    await new Promise((resolve) => setTimeout(resolve, 100));
    assert.equal(await folded(), 0, 'no batch while the scrape runs');
    rhythm.finished();
    const result = await run;
    assert.ok(result && result.added >= agents.length);
    assert.ok(expected.length >= 2, `ten agents, four in the first batch: ${expected.length} batches`);
    assert.ok(expected.every((ms) => ms > 0));
    const { rows } = await db.database.query<{ agent: string; online_seconds: number }>(
      'SELECT agent, online_seconds::float8 AS online_seconds FROM agent_time_totals WHERE agent = ANY($1) ORDER BY agent',
      [agents],
    );
    assert.deepEqual(
      rows.map((r) => [r.agent, r.online_seconds]),
      agents.map((agent, i) => [agent, (i + 1) * 3600]).sort(),
    );
  });
});

/**
 * Seeds a database (already migrated) with the history of a busy helpdesk, in plain SQL with
 * generate_series — no exporter code writes a row, as when a database is restored or loaded by
 * another tool. Per `years` of history:
 *   - 100,000 conversations over the years (the latest 10,000 still open, whatever the span),
 *   - 1,000,000 messages (10 per conversation),
 *   - 500 agents with four presence events per working day (≈ 522,000 per year), half of them
 *     online now,
 *   - a handling interval per conversation an agent handled (80 %; open while the conversation is).
 * Used by `npm run bench:scrape`; runnable alone to get a database to EXPLAIN against:
 *
 *   tsx bench/seed-history.ts postgres://postgres@127.0.0.1:5432/mydb [years]
 */
import pg from 'pg';
import { isMainModule } from '../src/cli/is-main.ts';

export const SEED = { conversationsPerYear: 100_000, open: 10_000, messagesPerConversation: 10, agents: 500, businessNumbers: 3 };

export interface SeedTiming {
  table: string;
  rows: number;
  seconds: number;
}

export async function seedHistory(client: pg.ClientBase, years: number, log: (line: string) => void = () => {}): Promise<SeedTiming[]> {
  const span = `${365 * years} days`;
  const conversations = SEED.conversationsPerYear * years;
  const timings: SeedTiming[] = [];
  const step = async (table: string, sql: string, params: unknown[] = []) => {
    const started = performance.now();
    const { rowCount } = await client.query(sql, params);
    const seconds = (performance.now() - started) / 1000;
    timings.push({ table, rows: rowCount ?? 0, seconds });
    log(`  ${table}: ${rowCount} rows in ${seconds.toFixed(1)} s`);
  };
  await step(
    'business_numbers',
    `INSERT INTO business_numbers (phone_number_id, display_phone_number, waba_id)
     SELECT '1065403522429' || n, '155507838' || n, '102290129340' || n FROM generate_series(0, $1 - 1) n`,
    [SEED.businessNumbers],
  );
  await step(
    'agents',
    `INSERT INTO agents (agent, first_seen_at)
     SELECT 'agent-' || lpad(a::text, 3, '0'), now() - $2::interval FROM generate_series(0, $1 - 1) a`,
    [SEED.agents, span],
  );
  // Conversation i opens at an even pace over the span; the last `open` ones are still open (each
  // on its own thread: one open conversation per customer and number).
  await step(
    'conversations',
    `INSERT INTO conversations (phone_number_id, contact_wa_id, status, state, category, sentiment, opened_at, cycle_started_at,
                                handler, assigned_agent, bot_engaged, first_response_at, first_responder, first_response_agent,
                                waiting_since, last_customer_message_at, last_business_message_at, last_activity_at,
                                resolved_at, resolved_by, resolved_agent, fcr, facts)
     SELECT '1065403522429' || (i % $4), '49151' || lpad((i % 60000)::text, 7, '0'),
            CASE WHEN open THEN 'open' ELSE 'resolved' END,
            CASE WHEN NOT open THEN 'resolved'
                 ELSE (ARRAY['unassigned', 'assigned', 'bot', 'waiting_customer'])[1 + i % 4] END,
            (ARRAY['refund', 'billing', 'delivery', 'account', 'product', 'other', 'unknown'])[1 + i % 7],
            CASE WHEN i % 9 = 0 THEN 'negative' END,
            opened_at, opened_at,
            CASE WHEN i % 10 = 0 THEN 'bot' WHEN i % 10 = 1 THEN 'none' ELSE 'agent' END,
            CASE WHEN i % 10 >= 2 THEN 'agent-' || lpad((i % 500)::text, 3, '0') END,
            i % 10 = 0,
            opened_at + interval '3 minutes', 'agent', CASE WHEN i % 10 >= 2 THEN 'agent-' || lpad((i % 500)::text, 3, '0') END,
            CASE WHEN open AND i % 4 IN (0, 1) THEN now() - (i % 7200) * interval '1 second' END,
            opened_at + interval '10 minutes', opened_at + interval '12 minutes', opened_at + interval '20 minutes',
            CASE WHEN NOT open THEN opened_at + interval '2 hours' END,
            CASE WHEN NOT open THEN 'agent' END,
            CASE WHEN NOT open AND i % 10 >= 2 THEN 'agent-' || lpad((i % 500)::text, 3, '0') END,
            CASE WHEN NOT open THEN 'resolved' END,
            '{}'::jsonb
       FROM (SELECT i, i > $1 - $2 AS open,
                    now() - $3::interval + ($3::interval - interval '3 hours') * (i::float8 / $1) AS opened_at
               FROM generate_series(1, $1) i) c`,
    [conversations, SEED.open, span, SEED.businessNumbers],
  );
  await step(
    'messages',
    `INSERT INTO messages (wamid, provider, source, phone_number_id, contact_wa_id, direction, sender, agent_id, type, sent_at,
                           received_at, text_body, is_request, category, sentiment, sentiment_score, language)
     SELECT 'wamid.seed.' || c.id || '.' || k, 'meta', 'webhook', c.phone_number_id, c.contact_wa_id,
            CASE WHEN k % 2 = 1 THEN 'inbound' ELSE 'outbound' END,
            CASE WHEN k % 2 = 1 THEN 'customer' ELSE 'agent' END,
            CASE WHEN k % 2 = 0 THEN c.assigned_agent END,
            'text', c.opened_at + k * interval '2 minutes', c.opened_at + k * interval '2 minutes',
            'Hallo, wo ist meine Bestellung? Ich warte seit Tagen.', k % 2 = 1, c.category, 'neutral', 0, 'de'
       FROM conversations c CROSS JOIN generate_series(1, $1) k`,
    [SEED.messagesPerConversation],
  );
  // Working days, on a clock that puts now at 10:00 of a working day: even agents work 8:00–16:30
  // (online, away at 12:00, back at 12:30, offline), odd agents 16:00–0:30, each a few minutes
  // apart. So half of them are online now, whatever the time of day the bench runs.
  await step(
    'agent_status_events',
    `INSERT INTO agent_status_events (event_id, agent, status, occurred_at)
     SELECT 'seed-' || a || '-' || d || '-' || k, 'agent-' || lpad(a::text, 3, '0'),
            (ARRAY['online', 'away', 'online', 'offline'])[k], at
       FROM generate_series(0, $1 - 1) a, generate_series(0, $2) d, generate_series(1, 4) k,
            LATERAL (SELECT date_trunc('minute', now()) - interval '10 hours' - ($2 - d) * interval '1 day'
                            + (a % 2) * interval '8 hours' + (a % 60) * interval '1 minute'
                            + (ARRAY[interval '8 hours', interval '12 hours', interval '12 hours 30 minutes',
                                     interval '16 hours 30 minutes'])[k] AS at) t
      WHERE ($2 - d) % 7 NOT IN (5, 6) AND t.at < now()`,
    [SEED.agents, 365 * years],
  );
  await step(
    'agent_handling',
    `INSERT INTO agent_handling (agent, conversation_id, started_at, ended_at)
     SELECT assigned_agent, id, opened_at + interval '2 minutes', resolved_at FROM conversations WHERE assigned_agent IS NOT NULL`,
  );
  // BENCH_ANALYZE=0 leaves the tables as a bulk load or a restore does, until autovacuum analyses them.
  if (process.env.BENCH_ANALYZE === '0') {
    log('  ANALYZE skipped (BENCH_ANALYZE=0)');
    return timings;
  }
  const started = performance.now();
  await client.query('ANALYZE');
  log(`  ANALYZE in ${((performance.now() - started) / 1000).toFixed(1)} s`);
  return timings;
}

if (isMainModule(import.meta.url)) {
  const [url, years] = process.argv.slice(2);
  if (!url) {
    console.error('usage: tsx bench/seed-history.ts <database url of a migrated, empty database> [years]');
    process.exit(2);
  }
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  await seedHistory(client, Number(years ?? 1), console.log);
  await client.end();
}

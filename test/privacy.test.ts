/**
 * Retention and erasure against a real database: what is removed (every trace of name, number,
 * text, wamids and raw bodies), what is kept (the anonymous facts, and one key per thread), that
 * redeliveries of anonymised messages are not stored again, and that the catalogue of personal
 * data covers every column of the schema.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import request from 'supertest';
import type { App } from '../src/app.ts';
import { main as eraseCli } from '../src/privacy/cli.ts';
import { customerId } from '../src/privacy/erasure.ts';
import { PERSONAL_DATA } from '../src/privacy/personal-data.ts';
import { agentLabeler, customerPseudonym } from '../src/privacy/pseudonyms.ts';
import { runRetention } from '../src/privacy/retention.ts';
import { LOCKS } from '../src/storage/locks.ts';
import { EVENTS_TOKEN, metricValue, scrape, testApp } from './support/app.ts';
import { createTestDatabase, type TestDatabase } from './support/database.ts';
import { inbound, PHONE_NUMBER_ID, signed, textMessage } from './support/meta.ts';
import { conversation, dumpAllTables, type Request, sendTo, tracesIn } from './support/privacy.ts';

const DAY = 86_400_000;
const RETENTION = { RETENTION_DAYS: '3', PSEUDONYM_KEY: 'test-pseudonym-key-0123456789', AGENT_LABELS: 'hashed' };

const send = sendTo;

async function sendAll(app: App, requests: Request[]) {
  for (const r of requests) {
    const res = await send(app, r);
    assert.equal(res.status, 200, res.text);
  }
}

function erase(app: App, waId: string, token = EVENTS_TOKEN) {
  return request(app.express)
    .delete(`/api/v1/customers/${encodeURIComponent(waId)}`)
    .set('Authorization', `Bearer ${token}`);
}

let db: TestDatabase;
let app: App;
const count = async (sql: string, params: unknown[] = []) => Number((await db.database.query<{ n: string }>(sql, params)).rows[0]!.n);

before(async () => {
  db = await createTestDatabase();
  app = testApp(db.database, RETENTION);
});
after(() => db.drop());

describe('the catalogue of personal data', () => {
  it('names every column of every table, and nothing else', async () => {
    const { rows } = await db.database.query<{ table_name: string; column_name: string }>(
      `SELECT c.table_name, c.column_name FROM information_schema.columns c
         JOIN information_schema.tables t ON t.table_schema = c.table_schema AND t.table_name = c.table_name
        WHERE c.table_schema = 'public' AND t.table_type = 'BASE TABLE'`,
    );
    const inDatabase = rows.map((r) => `${r.table_name}.${r.column_name}`).sort();
    const inCatalogue = Object.entries(PERSONAL_DATA)
      .flatMap(([table, rule]) => Object.keys(rule.columns).map((column) => `${table}.${column}`))
      .sort();
    assert.deepEqual(inCatalogue, inDatabase, 'add every new table and column to src/privacy/personal-data.ts with its treatment');
  });
});

describe('retention', () => {
  const old = conversation('4915111100001', 'Olga Altmann', new Date(Date.now() - 10 * DAY), 'old');
  const fresh = conversation('4915111100002', 'Frieda Neumann', new Date(Date.now() - 3_600_000), 'fresh');
  // A conversation opened before the cutoff that is still going on keeps all its rows.
  const ongoing = conversation('4915111100003', 'Otto Laufend', new Date(Date.now() - 5 * DAY), 'ongoing');

  before(async () => {
    await sendAll(app, old.requests);
    await sendAll(app, fresh.requests);
    // Not resolved, and the customer wrote every 12 hours since (never idle for AUTO_RESOLVE_AFTER): it has not ended.
    await sendAll(app, ongoing.requests.slice(0, 4));
    for (let hours = 5 * 24 - 12; hours > 0; hours -= 12) {
      const at = new Date(Date.now() - hours * 3_600_000);
      await sendAll(app, [
        { kind: 'webhook', ...signed(inbound(ongoing.phone, ongoing.name, [textMessage(ongoing.phone, `Noch da? (${hours})`, at)])) },
      ]);
    }
  });

  it('removes every trace of a conversation that ended before the cutoff and keeps the others', async () => {
    const result = await runRetention(app.retention);
    assert.ok(result?.complete);
    const dump = await dumpAllTables(db.database);
    assert.deepEqual(tracesIn(dump, old.secrets), [], 'the old conversation left traces');
    assert.deepEqual(tracesIn(dump, fresh.secrets), fresh.secrets, 'the fresh conversation must stay whole');
    assert.deepEqual(tracesIn(dump, [ongoing.phone, ongoing.name, ongoing.text]), [ongoing.phone, ongoing.name, ongoing.text]);
    assert.ok(!dump.includes('ticket for Olga'), 'extra fields of helpdesk events go too');

    assert.ok(result.rows.messages! >= 3 && result.rows.message_statuses === 3 && result.rows.contacts === 1, JSON.stringify(result.rows));
    assert.equal(await metricValue(app, 'whatsapp_personal_data_removed_rows_total', { table: 'contacts', reason: 'retention' }), 1);
  });

  it('keeps the anonymous facts, and one key per thread across all tables', async () => {
    const pseudonym = customerPseudonym(RETENTION.PSEUDONYM_KEY, old.phone);
    const { rows: conversations } = await db.database.query(
      'SELECT status, category, resolved_by, first_responder, first_response_agent, first_response_message_id, facts FROM conversations WHERE contact_wa_id = $1',
      [pseudonym],
    );
    assert.equal(conversations.length, 1);
    assert.equal(conversations[0]!.category, 'delivery');
    assert.equal(conversations[0]!.first_response_agent, 'alice@example.com');
    assert.match(conversations[0]!.first_response_message_id, /^anon:[0-9a-f]{64}$/);
    const messageKeys = Object.keys(conversations[0]!.facts).filter((k) => k.startsWith('m:') || k.startsWith('reply:'));
    assert.ok(messageKeys.length >= 2, 'the facts of its messages and answers are kept');
    for (const key of messageKeys) assert.match(key, /^(m|reply):anon:[0-9a-f]{64}$/, 'fact keys name messages by their pseudonym');
    const { rows: messages } = await db.database.query(
      `SELECT direction, sender, type, agent_id, text_body, payload, sentiment, wamid FROM messages WHERE contact_wa_id = $1 ORDER BY sent_at`,
      [pseudonym],
    );
    assert.deepEqual(
      messages.map((m) => [m.direction, m.sender, m.type, m.text_body, m.payload]),
      [
        ['inbound', 'customer', 'text', null, null],
        ['inbound', 'customer', 'image', null, null],
        ['outbound', 'agent', 'unknown', null, null],
        ['inbound', 'customer', 'text', null, null],
      ],
    );
    // Statuses still belong to their message, and carry the thread's key.
    assert.equal(
      await count(
        `SELECT count(*) AS n FROM message_statuses s JOIN messages m ON m.wamid = s.wamid WHERE m.contact_wa_id = $1 AND s.recipient_id = $1 AND s.payload IS NULL`,
        [pseudonym],
      ),
      3,
    );
    assert.equal(await count('SELECT count(*) AS n FROM helpdesk_events WHERE contact_wa_id = $1', [pseudonym]), 4);
    const { rows: events } = await db.database.query(
      `SELECT payload FROM helpdesk_events WHERE contact_wa_id = $1 AND type = 'agent_message'`,
      [pseudonym],
    );
    assert.deepEqual(Object.keys(events[0]!.payload).sort(), ['agent', 'message_id', 'type']);
    // The analytics views still count the old conversation and its messages.
    assert.equal(await count('SELECT count(*) AS n FROM analytics.conversations'), 3);
    assert.ok((await count(`SELECT coalesce(sum(messages), 0) AS n FROM analytics.messages_by_hour WHERE category = 'delivery'`)) >= 12);
  });

  it('does not store a redelivery of an anonymised message, status or event again', async () => {
    for (const r of old.requests) {
      const res = await send(app, r);
      assert.equal(res.status, 200, res.text);
      if (r.kind === 'webhook') assert.equal(res.body.status, 'duplicate');
      else assert.ok(res.body.results.every((x: { status: string }) => x.status === 'duplicate'));
    }
    // The same messages in a body Meta never sent before (a different envelope).
    const [first] = old.requests as [Extract<Request, { kind: 'webhook' }>];
    const reshaped = JSON.parse(first.body);
    reshaped.entry[0].id = 'another-waba';
    const res = await send(app, { kind: 'webhook', ...signed(reshaped) });
    assert.equal(res.status, 200);
    assert.equal(res.body.status, 'duplicate');
    assert.deepEqual(tracesIn(await dumpAllTables(db.database), old.secrets), [], 'nothing came back, not even in raw bodies');
    assert.equal(await count('SELECT count(*) AS n FROM messages WHERE contact_wa_id = $1', [old.phone]), 0);
    assert.equal(await count('SELECT count(*) AS n FROM message_statuses WHERE recipient_id = $1', [old.phone]), 0);
  });

  it('runs once across replicas: a second run finds nothing to do', async () => {
    const again = await runRetention(app.retention);
    assert.deepEqual(again?.rows, {});
  });

  it('is skipped by a replica while another holds its lock', {
    skip: !process.env.DATABASE_URL && 'PGlite advisory locks do not exclude',
  }, async () => {
    const other = db.reopen();
    try {
      await other.withConnection(async (connection) => {
        await connection.query('BEGIN');
        await connection.query('SELECT pg_advisory_xact_lock($1)', [LOCKS.retention]);
        try {
          assert.equal(await runRetention(app.retention), null);
        } finally {
          await connection.query('ROLLBACK');
        }
      });
      assert.notEqual(await runRetention(app.retention), null);
    } finally {
      await other.close();
    }
  });
});

describe('erasure', () => {
  const anna = conversation('4915122200001', 'Anna Löschmich', new Date(Date.now() - 2 * 3_600_000), 'anna');
  const other = conversation('4915122200002', 'Bruno Bleibt', new Date(Date.now() - 3_600_000), 'bruno');

  before(async () => {
    await sendAll(app, anna.requests);
    await sendAll(app, other.requests);
    // Bruno forwards Anna's number: another customer's message that mentions her.
    await sendAll(app, [
      { kind: 'webhook', ...signed(inbound(other.phone, other.name, [textMessage(other.phone, `Ihre Nummer ist ${anna.phone}`)])) },
    ]);
  });

  it('needs the events token, and refuses ids that cannot be customers', async () => {
    assert.equal((await erase(app, anna.phone, 'wrong')).status, 401);
    assert.equal((await request(app.express).delete(`/api/v1/customers/${anna.phone}`)).status, 401);
    for (const bad of [' ', 'a b', 'anon:0123', 'x'.repeat(200), 'tab\there']) {
      const res = await erase(app, bad);
      assert.equal(res.status, 400, `${JSON.stringify(bad)}: ${res.text}`);
      assert.equal(res.body.error.code, 'bad_request');
    }
  });

  it('removes every trace of the customer, answers what it removed, and keeps the anonymous facts', async () => {
    const conversationsBefore = await count('SELECT count(*) AS n FROM analytics.conversations');
    const res = await erase(app, `+49 151 2220 0001`);
    assert.equal(res.status, 200, res.text);
    assert.equal(res.body.status, 'erased');
    assert.equal(res.body.customer, anna.phone);
    assert.equal(res.body.removed.contacts, 1);
    assert.equal(res.body.removed.conversations, 1);
    assert.equal(res.body.removed.message_statuses, 3);
    assert.ok(res.body.removed.messages >= 5, JSON.stringify(res.body.removed));
    assert.ok(res.body.removed.webhook_deliveries >= 5);
    assert.equal(
      res.body.total,
      Object.values(res.body.removed as Record<string, number>).reduce((a, b) => a + b, 0),
    );

    const dump = await dumpAllTables(db.database);
    assert.deepEqual(tracesIn(dump, anna.secrets), [], 'the erased customer left traces');
    assert.deepEqual(tracesIn(dump, [other.phone, other.name, other.text]), [other.phone, other.name, other.text]);
    assert.equal(await count('SELECT count(*) AS n FROM analytics.conversations'), conversationsBefore);
    assert.equal(await metricValue(app, 'whatsapp_erasure_requests_total', { outcome: 'erased' }), 1);
  });

  it('does not store a redelivered erased message again, but stores a new one as new', async () => {
    for (const r of anna.requests) assert.equal((await send(app, r)).status, 200);
    assert.deepEqual(tracesIn(await dumpAllTables(db.database), anna.secrets), []);

    const res = await send(app, {
      kind: 'webhook',
      ...signed(inbound(anna.phone, anna.name, [textMessage(anna.phone, 'Ich bin wieder da')])),
    });
    assert.deepEqual(res.body, { status: 'accepted' });
    assert.equal(await count(`SELECT count(*) AS n FROM conversations WHERE contact_wa_id = $1 AND status = 'open'`, [anna.phone]), 1);
  });

  it('is idempotent: erasing an unknown customer answers 200 with nothing removed', async () => {
    const res = await erase(app, '4915199999999');
    assert.equal(res.status, 200);
    assert.deepEqual(res.body, { status: 'not_found', customer: '4915199999999', removed: {}, total: 0 });
  });

  it('works from the command line too', { skip: !db?.url && !process.env.DATABASE_URL && 'needs DATABASE_URL' }, async () => {
    const out: string[] = [];
    const output = { write: (text: string) => out.push(text) > 0 };
    const code = await eraseCli([anna.phone], { DATABASE_URL: db.url!, PSEUDONYM_KEY: RETENTION.PSEUDONYM_KEY }, output);
    assert.equal(code, 0);
    const printed = JSON.parse(out.join(''));
    assert.equal(printed.status, 'erased');
    assert.ok(printed.removed.messages >= 1);
    assert.deepEqual(tracesIn(await dumpAllTables(db.database), [anna.phone, anna.name, 'Ich bin wieder da']), []);
    assert.equal(await eraseCli([], {}, output, output), 2);
    assert.equal(await eraseCli(['anon:x'], {}, output, output), 2);
  });
});

describe('agent labels', () => {
  it('are a stable keyed hash with AGENT_LABELS=hashed, and as given otherwise', async () => {
    const series = await scrape(app);
    const agents = [...series.keys()].filter((k) => k.startsWith('whatsapp_agent_open_conversations{'));
    assert.ok(agents.length > 0);
    for (const key of agents) assert.match(key, /agent="agent-[0-9a-f]{12}"/);
    assert.ok(![...series.keys()].some((k) => k.includes('example.com')), 'no agent e-mail address in any label');
    const csat = agentLabeler('hashed', RETENTION.PSEUDONYM_KEY);
    assert.equal(csat('alice@example.com'), csat('alice@example.com'));
    assert.notEqual(csat('alice@example.com'), csat('bob@example.com'));
    assert.equal(agentLabeler('as_is', undefined)('alice@example.com'), 'alice@example.com');
    assert.notEqual(agentLabeler('hashed', 'another-key-0123456789')('alice@example.com'), csat('alice@example.com'));
  });

  it('normalises customer ids like the ingest does', () => {
    assert.equal(customerId('+49 (151) 222-00001'), '4915122200001');
    assert.equal(customerId('HK.abc'), 'HK.abc');
  });
});

describe('without PSEUDONYM_KEY', () => {
  it('gives a customer a different pseudonym in every run (nothing to test numbers against)', async () => {
    const separate = await createTestDatabase();
    try {
      const plain = testApp(separate.database, { RETENTION_DAYS: '1' });
      const phone = '4915133300001';
      const first = conversation(phone, 'Erika Einmal', new Date(Date.now() - 20 * DAY), 'e1');
      await sendAll(plain, first.requests);
      await runRetention(plain.retention);
      const second = conversation(phone, 'Erika Einmal', new Date(Date.now() - 10 * DAY), 'e2');
      await sendAll(plain, second.requests);
      await runRetention(plain.retention);
      const { rows } = await separate.database.query<{ contact_wa_id: string }>('SELECT DISTINCT contact_wa_id FROM conversations');
      assert.equal(rows.length, 2);
      for (const r of rows) assert.match(r.contact_wa_id, /^anon:[0-9a-f]{32}$/);
      assert.deepEqual(tracesIn(await dumpAllTables(separate.database), [...first.secrets, ...second.secrets]), []);
      assert.equal((await request(plain.express).get('/api/v1/customers/x')).status, 404);
      void PHONE_NUMBER_ID;
    } finally {
      await separate.drop();
    }
  });
});

/**
 * The ingest queue's intake statement (storage/ingest-queue-store.ts): bodies of any length and
 * alphabet come back byte for byte, redeliveries are recognised within a group, against the queue
 * and against stored deliveries — and the redelivery check stays an index lookup whatever the
 * tables held when a connection prepared the statement.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import fc from 'fast-check';
import { eventNotAnonymised, messageNotAnonymised } from '../src/storage/anonymised.ts';
import { SURVEYS_AROUND_SQL } from '../src/csat/store.ts';
import { LOAD_INPUTS_SQL, LOAD_THREADS_SQL, SAVE_HANDLING_SQL } from '../src/storage/conversation-store.ts';
import { ENQUEUE_SQL, enqueueDeliveries } from '../src/storage/ingest-queue-store.ts';
import { type Delivery, INSERT_MESSAGES_SQL, INSERT_STATUSES_SQL, sha256, UPSERT_CONTACTS_SQL } from '../src/storage/webhook-store.ts';
import { createTestDatabase, type TestDatabase } from './support/database.ts';
import { genericPlan, nodesOf, type PlanNode } from './support/plans.ts';

let db: TestDatabase;
before(async () => {
  db = await createTestDatabase();
});
after(async () => {
  await db.drop();
});

const delivery = (body: string): Delivery => ({ provider: 'meta', body, bodySha256: sha256(body) });

/** Text PostgreSQL can hold: any Unicode but NUL (the pipeline replaces NUL before this point). */
const storableText = fc.string({ unit: 'grapheme', maxLength: 300 }).map((s) => s.replaceAll('\u0000', '\uFFFD'));

describe('the ingest queue intake', () => {
  it('stores every body byte for byte and answers the first copy queued, every other copy duplicate', async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(storableText, { minLength: 1, maxLength: 25 }), fc.boolean(), async (texts, storedBefore) => {
        await db.database.query('DELETE FROM ingest_queue');
        await db.database.query('DELETE FROM webhook_deliveries');
        // Some bodies were stored and applied before (a later redelivery), or are still queued.
        const earlier = texts.filter((_, i) => i % 3 === 0);
        if (storedBefore && earlier.length > 0) {
          await db.database.query(
            `INSERT INTO webhook_deliveries (provider, body_sha256, payload, outcome)
             SELECT 'meta', h, '{}'::jsonb, 'stored' FROM unnest($1::bytea[]) AS h ON CONFLICT DO NOTHING`,
            [earlier.map((t) => sha256(t))],
          );
        } else if (earlier.length > 0) {
          await enqueueDeliveries(db.database, earlier.map(delivery));
        }
        const seen = new Set(earlier);
        const results = await enqueueDeliveries(db.database, texts.map(delivery));
        const expectedQueued: string[] = [];
        results.forEach((result, i) => {
          const text = texts[i]!;
          const first = !seen.has(text);
          seen.add(text);
          assert.equal('queueId' in result, first, `body ${i} (${JSON.stringify(text)}) queued only as its first copy`);
          if (first) expectedQueued.push(text);
        });
        const ids = results.flatMap((r) => ('queueId' in r ? [r.queueId] : []));
        const { rows } = await db.database.query<{ id: string; body: string; body_sha256: Buffer }>(
          'SELECT id, body, body_sha256 FROM ingest_queue WHERE id = ANY($1::bigint[]) ORDER BY id',
          [ids],
        );
        assert.deepEqual(
          rows.map((r) => r.body),
          expectedQueued,
          'queued in order, byte for byte',
        );
        for (const row of rows) assert.deepEqual(row.body_sha256, sha256(row.body));
      }),
      { numRuns: 60 },
    );
  });

  // The plan a connection caches when it prepares a statement on a new database: had a check
  // been planned as a join against the whole (then empty) table, every group would scan the table
  // once it has grown, until the next ANALYZE.
  it('keeps the redelivery check a lookup in the unique index, even when planned on an empty table', async () => {
    const plan = await genericPlanOnEmpty(
      '(text[], bytea, bytea, int[], int[])',
      ENQUEUE_SQL,
      `('{meta}', '\\x${'00'.repeat(32)}', '\\x7b7d', '{1}', '{2}')`,
      'webhook_deliveries',
    );
    assertLookupOnly(plan, 'webhook_deliveries', 'webhook_deliveries_provider_body_sha256_key');
  });

  it("keeps the write path's anonymised checks primary-key lookups, even when planned on empty tables", async () => {
    const checks = [
      { table: 'messages', check: messageNotAnonymised('r.id') },
      { table: 'helpdesk_events', check: eventNotAnonymised('r.id') },
    ];
    for (const { table, check } of checks) {
      const sql = `SELECT r.id FROM jsonb_to_recordset($1) AS r(id text) WHERE ${check}`;
      const plan = await genericPlanOnEmpty('(jsonb)', sql, `('[{"id":"x"}]')`, table);
      assertLookupOnly(plan, table, `${table}_pkey`);
    }
  });

  it("keeps the fold's reads of a thread's messages, statuses and events index lookups, even when planned on empty tables", async () => {
    const plan = await genericPlanOnEmpty(
      '(jsonb)',
      LOAD_INPUTS_SQL,
      `('[{"phone_number_id":"1","contact_wa_id":"49","start":null}]')`,
      'helpdesk_events',
    );
    for (const table of ['messages', 'message_statuses', 'helpdesk_events']) assertLookupOnly(plan, table);
  });

  it("keeps the write path's reads of conversations, messages, statuses, surveys, contacts and handling lookups, even when planned on empty tables", async () => {
    const cases: [string, string, string, string[]][] = [
      [LOAD_THREADS_SQL, `('[{"phone_number_id":"1","contact_wa_id":"49","since":null}]')`, 'conversations', ['conversations']],
      [INSERT_STATUSES_SQL, `('[{"wamid":"x","status":"failed"}]')`, 'message_statuses', ['messages', 'message_statuses']],
      [INSERT_MESSAGES_SQL, `('[{"wamid":"x"}]')`, 'csat_surveys', ['csat_surveys']],
      [UPSERT_CONTACTS_SQL, `('[{"wa_id":"49"}]', '{49}')`, 'contacts', ['contacts']],
      [SAVE_HANDLING_SQL, `('{1}', '[]')`, 'agent_handling', ['agent_handling']],
      [SURVEYS_AROUND_SQL, `('[]', 3600)`, 'csat_surveys', ['csat_surveys']],
    ];
    for (const [sql, args, emptyTable, tables] of cases) {
      const plan = await genericPlanOnEmpty('', sql, args, emptyTable);
      for (const table of tables) assertTableNeverScanned(plan, table);
    }
  });
});

/** The generic plan (the one a connection keeps) of `sql`, prepared while `emptyTable` is empty. */
async function genericPlanOnEmpty(types: string, sql: string, args: string, emptyTable: string): Promise<PlanNode> {
  return db.database.transaction(async (tx) => {
    await tx.query(`DELETE FROM ${emptyTable}`);
    return genericPlan(tx, sql, types, args);
  });
}

/** The plan reads `table` only through an index (joins of other rows may hash). */
function assertTableNeverScanned(plan: PlanNode, table: string): void {
  for (const node of nodesOf(plan))
    assert.ok(
      !(node['Node Type'] === 'Seq Scan' && node['Relation Name'] === table),
      `no full scan of ${table}:\n${JSON.stringify(plan, null, 1)}`,
    );
}

/** The plan reads `table` through `index` (if given), never scans it whole, and hashes or merges nothing. */
function assertLookupOnly(plan: PlanNode, table: string, index?: string): void {
  const shown = JSON.stringify(plan, null, 1);
  const nodes = nodesOf(plan);
  if (index)
    assert.ok(
      nodes.some((n) => n['Index Name'] === index),
      `${index} used:\n${shown}`,
    );
  assertTableNeverScanned(plan, table);
  for (const node of nodes)
    assert.ok(!/Hash|Merge/.test(node['Node Type']) && !/hashed/.test(node['Subplan Name'] ?? ''), `no hash or merge:\n${shown}`);
}

/**
 * Parameterised statements are prepared once per connection (named after their text), so the
 * write path does not pay PostgreSQL's parse and plan at every execution; statements without
 * parameters, and the embedded database, keep the simple protocol.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { StatementNames } from '../src/storage/database.ts';
import { createTestDatabase, type TestDatabase } from './support/database.ts';

let db: TestDatabase;
before(async () => {
  db = await createTestDatabase();
});
after(() => db.drop());

describe('named statements', () => {
  it('names a parameterised statement after its text, and leaves others unnamed', () => {
    const names = new StatementNames();
    const a = names.config('SELECT $1::int', [1]);
    const b = names.config('SELECT $1::int', [2]);
    const c = names.config('SELECT $1::text', ['x']);
    assert.ok(typeof a === 'object' && typeof b === 'object' && typeof c === 'object');
    assert.equal(a.name, b.name);
    assert.notEqual(a.name, c.name);
    assert.deepEqual(b.values, [2]);
    assert.equal(names.config('BEGIN', undefined), 'BEGIN');
    assert.equal(names.config('SELECT 1', []), 'SELECT 1');
  });

  it('prepares a statement once per connection on PostgreSQL', async (t) => {
    if (db.database.kind !== 'postgres') return t.skip('the embedded database keeps unnamed statements');
    const prepared = await db.database.withConnection(async (q) => {
      for (let i = 0; i < 3; i++) await q.query('SELECT count(*) FROM agents WHERE agent = $1', [`agent-${i}`]);
      await q.query('SELECT count(*) FROM agents');
      const { rows } = await q.query<{ statement: string }>(
        `SELECT statement FROM pg_prepared_statements WHERE name LIKE 'wa\\_%' AND statement LIKE '%FROM agents%'`,
      );
      return rows.map((r) => r.statement);
    });
    // Once, though it ran three times; the statement without parameters is not prepared.
    assert.deepEqual(prepared, ['SELECT count(*) FROM agents WHERE agent = $1']);
  });
});

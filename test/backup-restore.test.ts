/**
 * The restore drill of docs/operations.md: back up a database in use with `pg_dump -Fc`,
 * restore it into an empty database with `pg_restore`, and start the exporter on the copy. It
 * must be ready at once (migrations recognised, nothing re-applied), serve the same numbers, and
 * recognise redeliveries of webhooks stored before the backup.
 */
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import pg from 'pg';
import request from 'supertest';
import { createPostgresDatabase, type Database } from '../src/storage/database.ts';
import { migrate } from '../src/storage/migrate.ts';
import { scrape, testApp } from './support/app.ts';
import { createTestDatabase, silentLogger, type TestDatabase } from './support/database.ts';
import { conversation, sendTo } from './support/privacy.ts';

const needsPostgres = !process.env.DATABASE_URL && 'needs DATABASE_URL (pg_dump and pg_restore of a PostgreSQL database)';

let source: TestDatabase;
let restoredUrl: string;
let restored: Database | undefined;
const dir = mkdtempSync(join(tmpdir(), 'wa-backup-'));

before(async () => {
  if (needsPostgres) return;
  source = await createTestDatabase();
  const url = new URL(source.url!);
  url.pathname = `${url.pathname}_restored`;
  restoredUrl = url.toString();
});
after(async () => {
  await restored?.close();
  if (restoredUrl) await admin(`DROP DATABASE IF EXISTS ${new URL(restoredUrl).pathname.slice(1)} WITH (FORCE)`);
  await source?.drop();
  rmSync(dir, { recursive: true, force: true });
});

async function admin(sql: string): Promise<void> {
  const client = new pg.Client({ connectionString: process.env.DATABASE_URL });
  await client.connect();
  try {
    await client.query(sql);
  } finally {
    await client.end();
  }
}

const send = sendTo;

describe('backup and restore drill', { skip: needsPostgres }, () => {
  it('restores a pg_dump into an empty database that the exporter serves unchanged', async () => {
    const app = testApp(source.database);
    const talk = conversation('4915155500001', 'Ida Sicherung', new Date(Date.now() - 3_600_000), 'backup');
    for (const r of talk.requests) assert.equal((await send(app, r)).status, 200);
    const before = await scrape(app);

    const file = join(dir, 'whatsapp.dump');
    execFileSync('pg_dump', ['--format=custom', '--no-owner', '--file', file, '--dbname', source.url!]);
    await admin(`CREATE DATABASE ${new URL(restoredUrl).pathname.slice(1)}`);
    execFileSync('pg_restore', ['--no-owner', '--exit-on-error', '--dbname', restoredUrl, file]);

    restored = createPostgresDatabase('postgres', { connectionString: restoredUrl, max: 4 }, silentLogger);
    assert.deepEqual(await migrate(restored), [], 'every migration is recognised; none runs again');
    const copy = testApp(restored);
    assert.equal((await request(copy.express).get('/readyz')).status, 200);
    const after = await scrape(copy);
    for (const name of ['whatsapp_open_conversations', 'whatsapp_agent_open_conversations', 'whatsapp_waiting_conversations']) {
      const pick = (series: Map<string, number>) => [...series].filter(([key]) => key.startsWith(`${name}{`));
      assert.deepEqual(pick(after), pick(before), name);
    }
    const count = async (database: Database) =>
      (await database.query<{ n: number }>('SELECT (SELECT count(*) FROM messages) + (SELECT count(*) FROM helpdesk_events) AS n')).rows[0]!
        .n;
    assert.equal(await count(restored), await count(source.database));

    // Meta redelivering a webhook stored before the backup: recognised on the restored copy.
    const redelivered = await send(copy, talk.requests[0]!);
    assert.deepEqual(redelivered.body, { status: 'duplicate' });
  });
});

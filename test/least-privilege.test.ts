/**
 * Least privilege on PostgreSQL, as on RDS, Cloud SQL or Azure: the exporter runs as the owner of
 * its database WITHOUT CREATEROLE (and without CREATEDB or superuser), migrates and serves. Grafana's
 * read-only role is the optional administrator step of deploy/sql/readonly-role.sql; once it exists
 * the exporter grants it the analytics views, and nothing else. Installs that applied the first
 * version of migration 003 (which created the role) start as before.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import pg from 'pg';
import { createPostgresDatabase } from '../src/storage/database.ts';
import { EARLIER_VERSIONS, listMigrations, migrate, MigrationError, type Migration } from '../src/storage/migrate.ts';
import { silentLogger } from './support/database.ts';
import { APP_SECRET, inbound, signed, textMessage, VERIFY_TOKEN } from './support/meta.ts';
import { killLeftoverExporters, runExporter, stopExporter, waitForOutput } from './support/process.ts';
import { skipUnless } from './support/tools.ts';

const ROOT = fileURLToPath(new URL('../', import.meta.url));
const ADMIN_URL = process.env.DATABASE_URL;
const noDatabase = ADMIN_URL ? false : 'needs DATABASE_URL (a PostgreSQL server where the test may create roles and databases)';
const SECRETS = { WHATSAPP_APP_SECRET: APP_SECRET, WHATSAPP_VERIFY_TOKEN: VERIFY_TOKEN, EVENTS_API_TOKEN: 'events-token-1' };

const suffix = `${process.pid}_${randomBytes(3).toString('hex')}`;
const OWNER = `wa_owner_${suffix}`;
const DB = `wa_least_${suffix}`;

function urlFor(user: string, database: string): string {
  const url = new URL(ADMIN_URL!);
  url.username = user;
  url.password = user === OWNER ? 'owner-password' : url.password;
  url.pathname = `/${database}`;
  return url.toString();
}

async function asAdmin<T>(work: (client: pg.Client) => Promise<T>, database?: string): Promise<T> {
  const url = new URL(ADMIN_URL!);
  if (database) url.pathname = `/${database}`;
  const client = new pg.Client({ connectionString: url.toString() });
  await client.connect();
  try {
    return await work(client);
  } finally {
    await client.end();
  }
}

describe('a database owner without CREATEROLE', { skip: noDatabase }, () => {
  before(async () => {
    await asAdmin(async (admin) => {
      await admin.query(`CREATE ROLE ${OWNER} LOGIN PASSWORD 'owner-password' NOSUPERUSER NOCREATEDB NOCREATEROLE`);
      await admin.query(`CREATE DATABASE ${DB} OWNER ${OWNER}`);
    });
  });
  after(async () => {
    killLeftoverExporters();
    await asAdmin(async (admin) => {
      await admin.query(`DROP DATABASE IF EXISTS ${DB} WITH (FORCE)`);
      await admin.query(`DROP ROLE IF EXISTS ${OWNER}`);
    });
  });

  it('migrates and serves webhooks', async () => {
    const rights = await asAdmin(
      async (admin) =>
        (
          await admin.query<{ rolcreaterole: boolean; rolsuper: boolean; rolcreatedb: boolean }>(
            'SELECT rolcreaterole, rolsuper, rolcreatedb FROM pg_roles WHERE rolname = $1',
            [OWNER],
          )
        ).rows[0],
    );
    assert.deepEqual(rights, { rolcreaterole: false, rolsuper: false, rolcreatedb: false });

    const exporter = await runExporter({ ...SECRETS, DATABASE_URL: urlFor(OWNER, DB), LOG_LEVEL: 'info' });
    try {
      assert.match(await waitForOutput(exporter, /"msg":"database migrated"/), /"msg":"database migrated"/);
      const customer = '4915100000555';
      const { body, signature } = signed(inbound(customer, 'Kim', [textMessage(customer, 'Wo bleibt mein Paket?')]));
      const res = await fetch(`${exporter.url}/webhooks/whatsapp`, {
        method: 'POST',
        body,
        headers: { 'Content-Type': 'application/json', 'X-Hub-Signature-256': signature },
      });
      assert.equal(res.status, 200);
      const metrics = await (await fetch(`${exporter.url}/metrics`)).text();
      assert.match(metrics, /^whatsapp_messages_total\{direction="inbound",[^}]*\} 1$/m);
      assert.match(metrics, /^whatsapp_database_up 1$/m);
    } finally {
      assert.equal(await stopExporter(exporter), 0);
    }
    // Every migration is recorded, and everything it made belongs to the owner.
    const applied = await asAdmin(async (admin) => (await admin.query('SELECT name FROM schema_migrations ORDER BY name')).rows, DB);
    assert.deepEqual(
      applied.map((r) => r.name),
      listMigrations().map((m) => m.name),
    );
  });

  it('the administrator step of deploy/sql/readonly-role.sql gives Grafana the analytics views and nothing else', {
    skip: skipUnless('psql'),
  }, async () => {
    const psql = spawnSync(
      'psql',
      [
        new URL(urlFor(new URL(ADMIN_URL!).username || 'postgres', DB)).toString(),
        '-v',
        'password=readonly-test-password',
        '-f',
        'deploy/sql/readonly-role.sql',
      ],
      { cwd: ROOT, encoding: 'utf8' },
    );
    assert.equal(psql.status, 0, psql.stderr);
    // The exporter grants the views at its next start, as the owner.
    const exporter = await runExporter({ ...SECRETS, DATABASE_URL: urlFor(OWNER, DB), LOG_LEVEL: 'info' });
    assert.match(await waitForOutput(exporter, /"readOnlyRole":"granted"/), /"readOnlyRole":"granted"/);
    assert.equal(await stopExporter(exporter), 0);

    const readonly = new pg.Client({ connectionString: urlFor('whatsapp_readonly', DB) });
    await readonly.connect();
    try {
      const { rows } = await readonly.query('SELECT count(*)::int AS n FROM analytics.conversations');
      assert.ok(rows[0].n >= 1);
      await assert.rejects(readonly.query('SELECT * FROM messages'), { code: '42501' }, 'no access to base tables');
      await assert.rejects(readonly.query('CREATE TABLE analytics.x (i int)'), { code: '25006' }, 'read-only transactions');
    } finally {
      await readonly.end();
    }
  });

  it('without the psql variable the SQL file stops with a usage line', { skip: skipUnless('psql') }, () => {
    const psql = spawnSync('psql', [urlFor(new URL(ADMIN_URL!).username || 'postgres', DB), '-f', 'deploy/sql/readonly-role.sql'], {
      cwd: ROOT,
      encoding: 'utf8',
    });
    assert.notEqual(psql.status, 0);
    assert.match(psql.stderr, /pass the new role's password/);
  });
});

describe('migration 003 changed after it landed', { skip: noDatabase }, () => {
  const name = `wa_upgrade_${suffix}`;
  after(() => asAdmin((admin) => admin.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`)));

  it('an install that applied its first version (with CREATE ROLE) upgrades; any other change is refused', async () => {
    await asAdmin((admin) => admin.query(`CREATE DATABASE ${name}`));
    const database = createPostgresDatabase(
      'postgres',
      { connectionString: urlFor(new URL(ADMIN_URL!).username || 'postgres', name), max: 2 },
      silentLogger,
    );
    try {
      const current = listMigrations();
      const firstVersion = readFileSync(join(ROOT, 'test/fixtures/003_requests.v1.sql'), 'utf8');
      const asShipped = (m: Migration): Migration =>
        m.name === '003_requests.sql' ? { name: m.name, sql: firstVersion, checksum: EARLIER_VERSIONS[m.name]![0]!.checksum } : m;
      // The release before this change: migrations 001–004 with the first 003.
      const old = current.filter((m) => m.name < '005').map(asShipped);
      assert.notEqual(old[2]!.checksum, current[2]!.checksum);
      assert.deepEqual(await migrate(database, old), [
        '001_initial.sql',
        '002_conversations.sql',
        '003_requests.sql',
        '004_deferred_inputs.sql',
      ]);

      // Upgrading applies only what is new.
      const applied = await migrate(database);
      assert.deepEqual(
        applied,
        current.filter((m) => m.name >= '005').map((m) => m.name),
      );
      // A change that is not listed stops the start.
      await database.query(`UPDATE schema_migrations SET checksum = 'edited' WHERE name = '003_requests.sql'`);
      await assert.rejects(migrate(database), (error: Error) => {
        assert.ok(error instanceof MigrationError);
        assert.equal(error.message, 'migration 003_requests.sql was edited after it was applied; add a new migration instead');
        return true;
      });
    } finally {
      await database.close();
    }
  });

  it('the accepted checksum is the first version of the file', async () => {
    const { createHash } = await import('node:crypto');
    const firstVersion = readFileSync(join(ROOT, 'test/fixtures/003_requests.v1.sql'), 'utf8');
    assert.match(firstVersion, /CREATE ROLE whatsapp_readonly/);
    assert.equal(createHash('sha256').update(firstVersion).digest('hex'), EARLIER_VERSIONS['003_requests.sql']![0]!.checksum);
    assert.doesNotMatch(
      listMigrations()
        .map((m) => m.sql)
        .join('\n'),
      /CREATE\s+ROLE|ALTER\s+ROLE|GRANT\s+\w+(\s*,\s*\w+)*\s+ON\s+.*\s+TO\s+whatsapp_readonly/i,
      'no migration needs CREATEROLE or the read-only role',
    );
  });
});

/**
 * Each test file owns its data: with DATABASE_URL it gets a fresh PostgreSQL database (created
 * here, dropped at the end); without it, an in-memory embedded PGlite.
 */
import { randomBytes } from 'node:crypto';
import pg from 'pg';
import { pino } from 'pino';
import { createPostgresDatabase, type Database } from '../../src/storage/database.ts';
import { openEmbeddedDatabase } from '../../src/storage/embedded.ts';
import { grantReadOnlyRole, migrate, READ_ONLY_ROLE } from '../../src/storage/migrate.ts';

export const silentLogger = pino({ level: 'silent' });

export interface TestDatabase {
  database: Database;
  /** Connection URL of the test database (undefined on the embedded one). */
  url: string | undefined;
  /** Opens another Database on the same data (a "restarted" process or a second replica). */
  reopen(): Database;
  drop(): Promise<void>;
}

export async function createTestDatabase(options: { embedded?: boolean } = {}): Promise<TestDatabase> {
  const adminUrl = process.env.DATABASE_URL;
  if (options.embedded || !adminUrl) {
    const database = await openEmbeddedDatabase('memory', silentLogger);
    await migrate(database);
    await withReadOnlyRole(database);
    return {
      database,
      url: undefined,
      reopen: () => database,
      drop: () => database.close(),
    };
  }
  const name = `wa_test_${process.pid}_${randomBytes(4).toString('hex')}`;
  const admin = new pg.Client({ connectionString: adminUrl });
  await admin.connect();
  await admin.query(`CREATE DATABASE ${name}`);
  // Grafana's read-only role, as an administrator creates it (deploy/sql/readonly-role.sql); the
  // dashboards test reads the analytics views as this role. Roles are cluster-wide.
  await admin.query(
    `DO $$ BEGIN CREATE ROLE ${READ_ONLY_ROLE} NOLOGIN; EXCEPTION WHEN duplicate_object OR unique_violation THEN NULL; END $$`,
  );
  await admin.end();
  const url = new URL(adminUrl);
  url.pathname = `/${name}`;
  const open = () => createPostgresDatabase('postgres', { connectionString: url.toString(), max: 10 }, silentLogger);
  const opened: Database[] = [open()];
  await migrate(opened[0]!);
  await grantReadOnlyRole(opened[0]!);
  return {
    database: opened[0]!,
    url: url.toString(),
    reopen() {
      const database = open();
      opened.push(database);
      return database;
    },
    async drop() {
      await Promise.all(opened.map((d) => d.close().catch(() => undefined)));
      const client = new pg.Client({ connectionString: adminUrl });
      await client.connect();
      await client.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
      await client.end();
    },
  };
}

/** The embedded database's read-only role, created as the administrator's step would (see the PostgreSQL branch above). */
async function withReadOnlyRole(database: Database): Promise<void> {
  await database.query(
    `DO $$ BEGIN CREATE ROLE ${READ_ONLY_ROLE} NOLOGIN; EXCEPTION WHEN duplicate_object OR unique_violation THEN NULL; END $$`,
  );
  await grantReadOnlyRole(database);
}

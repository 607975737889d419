/**
 * Plain SQL migrations from src/storage/migrations, applied in file-name order at start-up under
 * a PostgreSQL advisory lock, so replicas starting together migrate once. Roll-forward only: a
 * migration that changed after it was applied stops the start instead of drifting silently —
 * unless the change is listed in EARLIER_VERSIONS below, with the reason it is safe.
 *
 * Migrations need only ownership of the database: no CREATE ROLE, no superuser. Grafana's
 * read-only role is optional; an administrator creates it (deploy/sql/readonly-role.sql) and
 * grantReadOnlyRole gives it the analytics views at every start.
 */
import { createHash } from 'node:crypto';
import { readdirSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import type { Database } from './database.ts';
import { LOCKS } from './locks.ts';

const MIGRATIONS_DIR = fileURLToPath(new URL('./migrations/', import.meta.url));

export interface Migration {
  name: string;
  sql: string;
  checksum: string;
}

export function listMigrations(dir = MIGRATIONS_DIR): Migration[] {
  return readdirSync(dir)
    .filter((file) => file.endsWith('.sql'))
    .sort()
    .map((name) => {
      const sql = readFileSync(`${dir}/${name}`, 'utf8');
      return { name, sql, checksum: createHash('sha256').update(sql).digest('hex') };
    });
}

export class MigrationError extends Error {}

/**
 * Migrations that were changed after they landed, with the checksums of their earlier versions.
 * An install that applied an earlier version keeps it: each entry says why that is equivalent.
 * Add to this list only with such a reason; any other difference stops the start.
 */
export const EARLIER_VERSIONS: Readonly<Record<string, readonly { checksum: string; why: string }[]>> = {
  '003_requests.sql': [
    {
      checksum: '1f60cf0ec89a9f628e2151c56067a10175585c7ccdf2ecb2463c1c76cc7517ae',
      why: 'the first version also ran CREATE ROLE whatsapp_readonly and granted it the analytics views; installs that applied it keep that role and those grants, which grantReadOnlyRole now maintains',
    },
  ],
};

function isAccepted(name: string, applied: string, current: string): boolean {
  return applied === current || (EARLIER_VERSIONS[name] ?? []).some((earlier) => earlier.checksum === applied);
}

/** Applies what is missing and returns the names it applied. */
export async function migrate(database: Database, migrations = listMigrations()): Promise<string[]> {
  return database.withConnection(async (connection) => {
    await connection.query('SELECT pg_advisory_lock($1)', [LOCKS.migrations]);
    try {
      await connection.query(`CREATE TABLE IF NOT EXISTS schema_migrations (
        name text PRIMARY KEY, checksum text NOT NULL, applied_at timestamptz NOT NULL DEFAULT now())`);
      const { rows } = await connection.query<{ name: string; checksum: string }>('SELECT name, checksum FROM schema_migrations');
      const applied = new Map(rows.map((row) => [row.name, row.checksum]));
      const done: string[] = [];
      for (const migration of migrations) {
        const checksum = applied.get(migration.name);
        if (checksum !== undefined) {
          if (!isAccepted(migration.name, checksum, migration.checksum)) {
            throw new MigrationError(`migration ${migration.name} was edited after it was applied; add a new migration instead`);
          }
          continue;
        }
        await connection.query('BEGIN');
        try {
          await connection.query(migration.sql);
          await connection.query('INSERT INTO schema_migrations (name, checksum) VALUES ($1, $2)', [migration.name, migration.checksum]);
          await connection.query('COMMIT');
        } catch (error) {
          await connection.query('ROLLBACK').catch(() => undefined);
          throw new MigrationError(`migration ${migration.name} failed: ${(error as Error).message}`, { cause: error });
        }
        done.push(migration.name);
      }
      return done;
    } finally {
      await connection.query('SELECT pg_advisory_unlock($1)', [LOCKS.migrations]).catch(() => undefined);
    }
  });
}

/** True when every migration shipped with this build is applied (readiness). */
export async function isMigrated(database: Database, migrations = listMigrations()): Promise<boolean> {
  const { rows } = await database.query<{ n: number }>(`SELECT count(*)::int AS n FROM schema_migrations WHERE name = ANY($1::text[])`, [
    migrations.map((m) => m.name),
  ]);
  return rows[0]?.n === migrations.length;
}

/** The login role Grafana's PostgreSQL datasource uses (created by an administrator, optional). */
export const READ_ONLY_ROLE = 'whatsapp_readonly';

export type ReadOnlyGrant = 'granted' | 'no role' | `not granted: ${string}`;

/**
 * Grants the read-only role (when an administrator has created it) SELECT on every view of the
 * analytics schema — and nothing else. Run after the migrations at every start, so views added by
 * later migrations are covered. Needs only ownership of the schema; a failure is reported, not fatal.
 */
export async function grantReadOnlyRole(database: Database): Promise<ReadOnlyGrant> {
  const { rows } = await database.query<{ exists: boolean }>('SELECT EXISTS (SELECT FROM pg_roles WHERE rolname = $1) AS exists', [
    READ_ONLY_ROLE,
  ]);
  if (!rows[0]?.exists) return 'no role';
  try {
    await database.transaction(async (tx) => {
      await tx.query(`GRANT USAGE ON SCHEMA analytics TO ${READ_ONLY_ROLE}`);
      await tx.query(`GRANT SELECT ON ALL TABLES IN SCHEMA analytics TO ${READ_ONLY_ROLE}`);
    });
    return 'granted';
  } catch (error) {
    return `not granted: ${(error as Error).message}`;
  }
}

/** Settings the analytics views read (the business time zone for the weekday × hour heatmap). */
export async function recordSettings(database: Database, settings: { timezone: string }): Promise<void> {
  await database.query(
    `INSERT INTO exporter_settings (key, value) VALUES ('timezone', $1) ON CONFLICT (key) DO UPDATE SET value = excluded.value WHERE exporter_settings.value <> excluded.value`,
    [settings.timezone],
  );
}

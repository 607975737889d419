/**
 * Plain SQL migrations from src/storage/migrations, applied in file-name order at start-up under
 * a PostgreSQL advisory lock, so replicas starting together migrate once. Roll-forward only: a
 * migration that changed after it was applied stops the start instead of drifting silently.
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
          if (checksum !== migration.checksum) {
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

/** Settings the analytics views read (the business time zone for the weekday × hour heatmap). */
export async function recordSettings(database: Database, settings: { timezone: string }): Promise<void> {
  await database.query(
    `INSERT INTO exporter_settings (key, value) VALUES ('timezone', $1) ON CONFLICT (key) DO UPDATE SET value = excluded.value WHERE exporter_settings.value <> excluded.value`,
    [settings.timezone],
  );
}

/**
 * Starts the exporter: validate settings, open the database (PostgreSQL, or embedded PGlite when
 * DATABASE_URL is unset), listen, apply migrations (retrying while the database is away), and
 * shut down gracefully on SIGTERM/SIGINT.
 */
import type { Server } from 'node:http';
import { createApp } from './app.ts';
import { loadConfig, type Config } from './config/config.ts';
import { createLogger } from './logging/logger.ts';
import { safeError } from './logging/safe-error.ts';
import { createPostgresDatabase, type Database } from './storage/database.ts';
import { openEmbeddedDatabase } from './storage/embedded.ts';
import { migrate, MigrationError, recordSettings } from './storage/migrate.ts';
import { VERSION } from './version.ts';
import { startAppJobs } from './jobs/app-jobs.ts';
import { runRetentionAtStart } from './privacy/retention.ts';
import { createHttpServer, listen } from './http/server.ts';
import { Scheduler } from './jobs/scheduler.ts';

const MIGRATION_RETRY_MS = 5_000;
const SHUTDOWN_GRACE_MS = 10_000;

export async function start(env: NodeJS.ProcessEnv = process.env): Promise<{ server: Server; stop: () => Promise<void> }> {
  const result = loadConfig(env);
  if (!result.ok) {
    for (const line of result.errors) process.stderr.write(`config error: ${line}\n`);
    process.exit(2);
  }
  const config = result.config;
  const logger = createLogger(config.logLevel);
  if (config.databaseUrl) {
    logger.info({ version: VERSION, database: 'postgres' }, 'starting whatsapp-helpdesk-exporter on PostgreSQL (DATABASE_URL)');
  } else {
    logger.info(
      { version: VERSION, database: 'embedded', dataDir: config.dataDir },
      `starting whatsapp-helpdesk-exporter on the embedded PostgreSQL (PGlite) in ${config.dataDir} — fine for a trial; set DATABASE_URL for production`,
    );
  }

  const database = await openDatabase(config, logger);
  let migrated = false;
  const app = createApp({ config, database, logger, isReady: () => migrated });

  const scheduler = new Scheduler(app.metrics.jobs, logger.child({ module: 'jobs' }));
  let retryTimer: NodeJS.Timeout | undefined;
  const applyMigrations = async () => {
    try {
      const applied = await migrate(database);
      await recordSettings(database, { timezone: config.businessHours.timezone });
      await runRetentionAtStart(app.retention, logger.child({ module: 'retention' }));
      migrated = true;
      logger.info({ applied }, applied.length ? 'database migrated' : 'database schema up to date');
      startAppJobs(scheduler, app);
    } catch (error) {
      if (error instanceof MigrationError) {
        logger.fatal({ err: safeError(error) }, 'cannot migrate the database');
        process.exit(1);
      }
      logger.warn({ err: safeError(error), retryInMs: MIGRATION_RETRY_MS }, 'database unreachable; webhooks answer 503 until it is back');
      retryTimer = setTimeout(applyMigrations, MIGRATION_RETRY_MS);
    }
  };
  await applyMigrations();

  const server = createHttpServer(app.express);
  try {
    await listen(server, config.port);
  } catch (error) {
    process.stderr.write(`cannot listen on :${config.port}: ${(error as Error).message}\n`);
    process.exit(1);
  }
  logger.info({ port: config.port }, `listening on :${config.port}`);

  let stopping: Promise<void> | undefined;
  const stop = () =>
    (stopping ??= (async () => {
      logger.info('shutting down: no new connections, finishing requests in flight');
      clearTimeout(retryTimer);
      const closed = new Promise<void>((resolve) => server.close(() => resolve()));
      server.closeIdleConnections();
      const force = setTimeout(() => server.closeAllConnections(), SHUTDOWN_GRACE_MS);
      await closed;
      clearTimeout(force);
      await scheduler.stop();
      await database.close();
      logger.info('stopped');
    })());
  return { server, stop };
}

async function openDatabase(config: Config, logger: ReturnType<typeof createLogger>): Promise<Database> {
  if (config.databaseUrl) {
    return createPostgresDatabase('postgres', { connectionString: config.databaseUrl, max: 10 }, logger);
  }
  return openEmbeddedDatabase(config.dataDir, logger);
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const { stop } = await start();
  for (const signal of ['SIGTERM', 'SIGINT'] as const) {
    process.once(signal, () => {
      stop().then(
        () => process.exit(0),
        () => process.exit(1),
      );
    });
  }
}

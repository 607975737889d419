/**
 * Starts the exporter: validate settings, open the database (PostgreSQL, or embedded PGlite when
 * DATABASE_URL is unset), listen, apply migrations (retrying while the database is away), and
 * shut down gracefully on SIGTERM/SIGINT. A program that cannot serve exits non-zero with one
 * line saying why: bad settings (exit 2), a port it cannot listen on (exit 1).
 */
import type { RequestListener, Server } from 'node:http';
import { isMainModule } from './cli/is-main.ts';
import { parseCommandLine, usage } from './cli/command-line.ts';
import { createApp } from './app.ts';
import { loadConfig, type Config } from './config/config.ts';
import { createLogger } from './logging/logger.ts';
import { safeError } from './logging/safe-error.ts';
import { createHttpServer, listen } from './http/server.ts';
import { runRetentionAtStart } from './privacy/retention.ts';
import { createPostgresDatabase, type Database } from './storage/database.ts';
import { openEmbeddedDatabase } from './storage/embedded.ts';
import { grantReadOnlyRole, migrate, MigrationError, recordSettings } from './storage/migrate.ts';
import { VERSION } from './version.ts';
import { startAppJobs } from './jobs/app-jobs.ts';
import { Scheduler } from './jobs/scheduler.ts';

const MIGRATION_RETRY_MS = 5_000;
const SHUTDOWN_GRACE_MS = 10_000;

/** A started exporter. */
export interface Started {
  server: Server;
  stop: () => Promise<void>;
  /** The migrated database (the demo writes its history through a second app on it). */
  database: Database;
}

export async function start(env: NodeJS.ProcessEnv = process.env): Promise<Started> {
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

  // Bind the port first, so that a port in use or not permitted stops the start at once (before
  // the embedded database takes seconds to open). Until the app exists, every request gets 503.
  let handler: RequestListener = (_req, res) => {
    res.writeHead(503, { 'Content-Type': 'application/json', 'Retry-After': '5' });
    res.end('{"error":{"code":"unavailable","message":"starting"}}');
  };
  let server: Server;
  try {
    // Timeouts cut slow clients (headers, and the whole request) instead of holding a slot for minutes.
    server = createHttpServer((req, res) => handler(req, res));
    await listen(server, config.port);
  } catch (error) {
    process.stderr.write(`error: ${listenErrorLine(config.port, error as NodeJS.ErrnoException)}\n`);
    process.exit(1);
  }
  logger.info({ port: config.port }, `listening on :${config.port}`);

  const database = await openDatabase(config, logger);
  let migrated = false;
  const app = createApp({ config, database, logger, isReady: () => migrated });
  handler = app.handler;

  const scheduler = new Scheduler(app.metrics.jobs, logger.child({ module: 'jobs' }));
  let retryTimer: NodeJS.Timeout | undefined;
  const applyMigrations = async () => {
    try {
      const applied = await migrate(database);
      await recordSettings(database, { timezone: config.businessHours.timezone });
      const readOnly = await grantReadOnlyRole(database);
      // Personal data past RETENTION_DAYS is gone before the exporter reports ready.
      await runRetentionAtStart(app.retention, logger.child({ module: 'retention' }));
      migrated = true;
      logger.info({ applied, readOnlyRole: readOnly }, applied.length ? 'database migrated' : 'database schema up to date');
      // Webhooks answered before a stop but not applied yet: applied now, beside new ones.
      app.ingestQueue.sweep(0).then(
        (recovered) => {
          if (recovered > 0) logger.info({ webhooks: recovered }, 'applied stored webhooks left from before the start');
        },
        (error: unknown) =>
          logger.warn({ err: safeError(error) }, 'could not apply stored webhooks left from before the start; the sweep job retries'),
      );
      startAppJobs(scheduler, app);
    } catch (error) {
      if (error instanceof MigrationError) {
        logger.fatal({ err: safeError(error) }, 'cannot migrate the database');
        process.exit(1);
      }
      const refused = refusedForGood(error);
      if (refused) {
        // Retrying cannot help: a wrong password, a database that does not exist, no privileges.
        process.stderr.write(`error: the database refused the exporter: ${refused}\n`);
        process.exit(1);
      }
      logger.warn({ err: safeError(error), retryInMs: MIGRATION_RETRY_MS }, 'database unreachable; webhooks answer 503 until it is back');
      retryTimer = setTimeout(applyMigrations, MIGRATION_RETRY_MS);
    }
  };
  await applyMigrations();

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
      // What was answered is stored; apply it now rather than leave it to the next start.
      await app.ingestQueue.idle(SHUTDOWN_GRACE_MS);
      await scheduler.stop();
      await database.close();
      logger.info('stopped');
    })());
  return { server, stop, database };
}

/** SQLSTATEs that no retry fixes: bad credentials (28000, 28P01), no such database (3D000), no privilege (42501). */
const REFUSED_FOR_GOOD = new Set(['28000', '28P01', '3D000', '42501']);

function refusedForGood(error: unknown): string | undefined {
  const { code, message } = error as { code?: unknown; message?: unknown };
  return typeof code === 'string' && REFUSED_FOR_GOOD.has(code) ? `${String(message)} (${code})` : undefined;
}

/** Resolves once the port is bound; rejects with the listen error (EADDRINUSE, EACCES …). */

export function listenErrorLine(port: number, error: NodeJS.ErrnoException): string {
  switch (error.code) {
    case 'EADDRINUSE':
      return `cannot listen on port ${port}: the address is already in use (EADDRINUSE) — stop the other program or choose another PORT`;
    case 'EACCES':
      return `cannot listen on port ${port}: permission denied (EACCES) — ports below 1024 need privileges; choose a PORT from 1024 up`;
    default:
      return `cannot listen on port ${port}: ${error.message}${error.code ? ` (${error.code})` : ''}`;
  }
}

async function openDatabase(config: Config, logger: ReturnType<typeof createLogger>): Promise<Database> {
  if (config.databaseUrl) {
    return createPostgresDatabase('postgres', { connectionString: config.databaseUrl, max: 10 }, logger);
  }
  return openEmbeddedDatabase(config.dataDir, logger);
}

if (isMainModule(import.meta.url)) {
  const command = parseCommandLine(process.argv.slice(2));
  if (command.action === 'help') {
    process.stdout.write(usage(VERSION));
    process.exit(0);
  }
  if (command.action === 'version') {
    process.stdout.write(`${VERSION}\n`);
    process.exit(0);
  }
  if (command.action === 'error') {
    process.stderr.write(`error: ${command.message} — settings are environment variables; see --help\n`);
    process.exit(2);
  }
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

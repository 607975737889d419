/**
 * `npm run erase -- <wa_id>`: the HTTP erasure from the command line, on the database `npm start`
 * uses (DATABASE_URL, or the embedded one in DATA_DIR — stop the exporter first then: the
 * embedded database serves one process). Prints what was removed as JSON; exit 0 when done,
 * 2 for bad usage or settings, 1 when the database failed.
 */
import { loadConfig } from '../config/config.ts';
import { createLogger } from '../logging/logger.ts';
import { safeError } from '../logging/safe-error.ts';
import { createPostgresDatabase, type Database } from '../storage/database.ts';
import { openEmbeddedDatabase } from '../storage/embedded.ts';
import { migrate } from '../storage/migrate.ts';
import { countQueuedBefore } from '../storage/ingest-queue-store.ts';
import { customerId, ErasureInputError, eraseCustomer } from './erasure.ts';

const USAGE = `usage: npm run erase -- <wa_id>

Erases one customer's personal data (phone number, name, message text, raw webhook bodies) and
keeps the anonymous facts, like DELETE /api/v1/customers/{wa_id}. The id is normalised like
incoming webhooks (+49 151 … and 49151… are the same customer).

Settings: DATABASE_URL (else the embedded database in DATA_DIR, default ./data; stop the
exporter first), PSEUDONYM_KEY or PSEUDONYM_KEY_FILE if the exporter has one.
`;

interface Output {
  write(text: string): boolean;
}

export async function main(
  args: string[],
  env: NodeJS.ProcessEnv = process.env,
  stdout: Output = process.stdout,
  stderr: Output = process.stderr,
): Promise<number> {
  if (args.includes('--help') || args.includes('-h')) {
    stdout.write(USAGE);
    return 0;
  }
  if (args.length !== 1) {
    stderr.write(`erase: expected exactly one customer id, got ${args.length}\n${USAGE}`);
    return 2;
  }
  try {
    customerId(args[0]!);
  } catch (error) {
    if (error instanceof ErasureInputError) {
      stderr.write(`erase: ${error.message}\n`);
      return 2;
    }
    throw error;
  }
  // The webhook secrets are not needed here; every other setting is validated as for npm start.
  const result = loadConfig({ WHATSAPP_APP_SECRET: '-', WHATSAPP_VERIFY_TOKEN: '-', EVENTS_API_TOKEN: '-', LOG_LEVEL: 'warn', ...env });
  if (!result.ok) {
    for (const line of result.errors) stderr.write(`config error: ${line}\n`);
    return 2;
  }
  const { config } = result;
  const logger = createLogger(config.logLevel, process.stderr);
  let database: Database | undefined;
  try {
    database = config.databaseUrl
      ? createPostgresDatabase('postgres', { connectionString: config.databaseUrl, max: 2 }, logger)
      : await openEmbeddedDatabase(config.dataDir, logger);
    await migrate(database);
    // Webhooks answered before now but not applied yet would bring the customer back once applied.
    const waiting = await queuedBefore(database, new Date(), QUEUE_WAIT_MS);
    if (waiting > 0) {
      stderr.write(
        `erase: ${waiting} webhooks received before the erasure are not applied yet (is the exporter stopped?): start it — it applies them at start — then erase again\n`,
      );
      return 1;
    }
    const erased = await eraseCustomer({ database, pseudonymKey: config.pseudonymKey }, args[0]!);
    stdout.write(`${JSON.stringify({ status: erased.total > 0 ? 'erased' : 'not_found', ...erased }, null, 2)}\n`);
    return 0;
  } catch (error) {
    const safe = safeError(error);
    stderr.write(`erase: failed: ${safe.message}${safe.code ? ` (${safe.code})` : ''}\n`);
    return 1;
  } finally {
    await database?.close().catch(() => undefined);
  }
}

if (import.meta.url === `file://${process.argv[1]}`) {
  process.exitCode = await main(process.argv.slice(2));
}

/** How long the erasure waits for a running exporter to apply what it answered already. */
const QUEUE_WAIT_MS = 30_000;

/** Waits until no webhook queued before `before` waits to be applied, at most `maxWaitMs`; returns how many still wait. */
async function queuedBefore(database: Database, before: Date, maxWaitMs: number): Promise<number> {
  const deadline = Date.now() + maxWaitMs;
  for (;;) {
    const waiting = await countQueuedBefore(database, before);
    if (waiting === 0 || Date.now() >= deadline) return waiting;
    await new Promise((r) => setTimeout(r, 200));
  }
}

/**
 * The zero-setup default: PGlite (PostgreSQL compiled to WebAssembly) kept in DATA_DIR and served
 * on a loopback socket, so the exporter uses the very same node-postgres code path as with a real
 * server. PGlite is one backend session: the pool holds one connection, and advisory locks do not
 * exclude anyone — fine for one process, which is all the embedded mode supports.
 */
import { spawn } from 'node:child_process';
import { existsSync, mkdirSync } from 'node:fs';
import { join, resolve } from 'node:path';
import type { Logger } from 'pino';
import { createPostgresDatabase, type Database } from './database.ts';

/** shared_buffers of the embedded PostgreSQL. */
export const EMBEDDED_SHARED_BUFFERS = '16MB';

export async function openEmbeddedDatabase(dataDir: string | 'memory', logger: Logger): Promise<Database> {
  const [{ PGlite }, { PGLiteSocketServer }] = await Promise.all([import('@electric-sql/pglite'), import('@electric-sql/pglite-socket')]);
  let location = 'memory://';
  if (dataDir !== 'memory') {
    location = resolve(dataDir, 'pglite');
    mkdirSync(location, { recursive: true });
  }
  // PGlite's PostgreSQL keeps its shared buffers inside the WebAssembly memory, which never
  // shrinks: 16 MB instead of initdb's 128 MB (reads past them come from the OS file cache).
  const options = { startParams: [...PGlite.defaultStartParams, '-c', `shared_buffers=${EMBEDDED_SHARED_BUFFERS}`] };
  // A first start runs initdb, and an instance that did keeps about 500 MB more for as long as it
  // lives: create the directory in a short-lived child process, then open it here.
  if (dataDir !== 'memory' && !existsSync(join(location, 'PG_VERSION'))) await createDataDir(location, options, logger);
  const pglite = await PGlite.create(location, options);
  // maxConnections 2 with a pool of 1: pg-pool replaces a client after a query error, and the
  // socket server must accept the new one before it has noticed that the old one is gone.
  const server = new PGLiteSocketServer({ db: pglite, host: '127.0.0.1', port: 0, maxConnections: 2 });
  await server.start();
  const [host, port] = server.getServerConn().split(':');
  return createPostgresDatabase(
    'embedded',
    { host, port: Number(port), user: 'postgres', database: 'postgres', max: 1, statementTimeoutMs: 30_000, connectTimeoutMs: 10_000 },
    logger,
    async () => {
      await server.stop();
      await pglite.close();
    },
  );
}

/** Runs PGlite's initdb for `location` in a child process (whose memory goes when it exits). */
async function createDataDir(location: string, options: object, logger: Logger): Promise<void> {
  const script = `const { PGlite } = await import(${JSON.stringify(import.meta.resolve('@electric-sql/pglite'))});
    const db = await PGlite.create(${JSON.stringify(location)}, ${JSON.stringify(options)});
    await db.close();`;
  const code = await new Promise<number | null>((done) => {
    const child = spawn(process.execPath, ['--input-type=module', '-e', script], { stdio: ['ignore', 'ignore', 'inherit'] });
    child.once('error', () => done(-1));
    child.once('exit', done);
  });
  // Not fatal: opening the directory in this process creates it as before.
  if (code !== 0) logger.warn({ exitCode: code }, 'could not create the embedded database in a child process; creating it here');
}

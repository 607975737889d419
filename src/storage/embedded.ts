/**
 * The zero-setup default: PGlite (PostgreSQL compiled to WebAssembly) kept in DATA_DIR and served
 * on a loopback socket, so the exporter uses the very same node-postgres code path as with a real
 * server. PGlite is one backend session: the pool holds one connection, and advisory locks do not
 * exclude anyone — fine for one process, which is all the embedded mode supports.
 */
import { mkdirSync } from 'node:fs';
import { resolve } from 'node:path';
import type { Logger } from 'pino';
import { createPostgresDatabase, type Database } from './database.ts';

export async function openEmbeddedDatabase(dataDir: string | 'memory', logger: Logger): Promise<Database> {
  const [{ PGlite }, { PGLiteSocketServer }] = await Promise.all([import('@electric-sql/pglite'), import('@electric-sql/pglite-socket')]);
  let location = 'memory://';
  if (dataDir !== 'memory') {
    location = resolve(dataDir, 'pglite');
    mkdirSync(location, { recursive: true });
  }
  const pglite = await PGlite.create(location);
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

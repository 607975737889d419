/**
 * The one module that talks to PostgreSQL. Everything else goes through `Database`: queries,
 * transactions, the health check. Query parameters are never logged (they hold phone numbers
 * and message text). Connection trouble becomes a DatabaseUnavailableError, which the HTTP
 * layer answers with 503 so that Meta retries instead of dropping the webhook.
 */
import { createHash } from 'node:crypto';
import pg from 'pg';
import type { Logger } from 'pino';
import { safeError } from '../logging/safe-error.ts';

// PostgreSQL `bigint` (ids, counts) as JS numbers: our values stay far below 2^53.
pg.types.setTypeParser(pg.types.builtins.INT8, (value) => Number(value));

export type Queryable = Pick<pg.PoolClient, 'query'>;

export interface Database {
  /** 'postgres' for DATABASE_URL, 'embedded' for PGlite. */
  readonly kind: 'postgres' | 'embedded';
  /** Connections the pool may open. */
  readonly poolSize: number;
  query<R extends pg.QueryResultRow = pg.QueryResultRow>(sql: string, params?: unknown[]): Promise<pg.QueryResult<R>>;
  /** Runs `work` in one transaction on one connection; commits if it resolves, rolls back if it throws. */
  transaction<T>(work: (tx: Queryable) => Promise<T>): Promise<T>;
  /** Runs `work` on one dedicated connection (session-level advisory locks need that). */
  withConnection<T>(work: (connection: Queryable) => Promise<T>): Promise<T>;
  /**
   * Runs one statement without parameters in a read-only transaction that PostgreSQL cancels
   * after `timeoutMs`, in a single round trip; returns its rows.
   */
  readBounded<R extends pg.QueryResultRow = pg.QueryResultRow>(sql: string, timeoutMs: number): Promise<R[]>;
  close(): Promise<void>;
}

export class DatabaseUnavailableError extends Error {
  constructor(cause: unknown) {
    super(`database unavailable: ${(cause as Error)?.message ?? String(cause)}`, { cause });
    this.name = 'DatabaseUnavailableError';
  }
}

const UNAVAILABLE_NODE_CODES = new Set(['ECONNREFUSED', 'ECONNRESET', 'ETIMEDOUT', 'ENOTFOUND', 'EHOSTUNREACH', 'EPIPE', 'EAI_AGAIN']);
// SQLSTATE: 08 connection exceptions, 57P0x shutdown/crash, 53300 too many connections, 57014 timeout.
const UNAVAILABLE_SQLSTATE = /^(08...|57P0[1-3]|53300|57014)$/;
const UNAVAILABLE_MESSAGES =
  /(Connection terminated|timeout exceeded when trying to connect|Query read timeout|connection timeout|Too many connections|Client has encountered a connection error)/i;

/** True when the error means "the database cannot be reached now", as opposed to a bad query. */
export function isUnavailable(error: unknown): boolean {
  if (error instanceof DatabaseUnavailableError) return true;
  const e = error as { code?: unknown; message?: unknown } | undefined;
  if (!e) return false;
  if (typeof e.code === 'string' && (UNAVAILABLE_NODE_CODES.has(e.code) || UNAVAILABLE_SQLSTATE.test(e.code))) return true;
  return typeof e.message === 'string' && UNAVAILABLE_MESSAGES.test(e.message);
}

const TRANSACTION_ATTEMPTS = 4;

/** Deadlock detected (40P01) or serialization failure (40001). */
function isRetryable(error: unknown): boolean {
  const code = (error as { code?: unknown } | undefined)?.code;
  return code === '40P01' || code === '40001';
}

function classify(error: unknown): unknown {
  return isUnavailable(error) && !(error instanceof DatabaseUnavailableError) ? new DatabaseUnavailableError(error) : error;
}

export interface PoolOptions {
  connectionString?: string;
  host?: string;
  port?: number;
  user?: string;
  database?: string;
  max: number;
  /** Bound on every statement, so a stuck database never hangs a request or a scrape. */
  statementTimeoutMs?: number;
  connectTimeoutMs?: number;
}

/** Distinct statements named at most; beyond this (dynamic SQL), statements go unnamed. */
const MAX_NAMED_STATEMENTS = 500;

/**
 * Names parameterised statements after their text, so that each connection parses (and, once
 * PostgreSQL settles on a generic plan, plans) a statement once instead of at every execution:
 * on the write path, parsing and planning cost more server time than executing. node-postgres
 * prepares a named statement on a connection the first time it runs there. Statements without
 * parameters (BEGIN, multi-statement strings) keep the simple protocol. Not for the embedded
 * database: its connections share one backend session, where a replaced connection would
 * prepare a name that already exists.
 */
export class StatementNames {
  private readonly names = new Map<string, string>();

  config(sql: string, params: unknown[] | undefined): string | pg.QueryConfig {
    if (!params || params.length === 0) return sql;
    let name = this.names.get(sql);
    if (name === undefined) {
      if (this.names.size >= MAX_NAMED_STATEMENTS) return { text: sql, values: params };
      name = `wa_${createHash('sha256').update(sql).digest('base64url').slice(0, 24)}`;
      this.names.set(sql, name);
    }
    return { name, text: sql, values: params };
  }
}

/** A connection whose parameterised statements are named (see StatementNames). */
function namingClient(client: pg.PoolClient, names: StatementNames): Queryable {
  const query = (sql: string, params?: unknown[]) => client.query(names.config(sql, params) as pg.QueryConfig);
  return { query: query as unknown as Queryable['query'] };
}

export function createPostgresDatabase(
  kind: Database['kind'],
  options: PoolOptions,
  logger: Logger,
  onClose?: () => Promise<void>,
): Database {
  const names = kind === 'postgres' ? new StatementNames() : undefined;
  const statementTimeout = options.statementTimeoutMs ?? 10_000;
  const pool = new pg.Pool({
    connectionString: options.connectionString,
    host: options.host,
    port: options.port,
    user: options.user,
    database: options.database,
    max: options.max,
    connectionTimeoutMillis: options.connectTimeoutMs ?? 3_000,
    idleTimeoutMillis: 30_000,
    // Client-side bound as well: a statement_timeout cannot fire on a database that stopped answering.
    query_timeout: statementTimeout + 2_000,
    statement_timeout: kind === 'postgres' ? statementTimeout : undefined,
    application_name: 'whatsapp-helpdesk-exporter',
  });
  // An idle client losing its connection emits 'error' on the pool; unhandled, it would kill the process.
  pool.on('error', (error) => logger.warn({ err: safeError(error) }, 'idle database connection lost'));

  const database: Database = {
    kind,
    poolSize: options.max,
    async query<R extends pg.QueryResultRow>(sql: string, params?: unknown[]) {
      try {
        if (names) return await pool.query<R>(names.config(sql, params) as pg.QueryConfig);
        return await pool.query<R>(sql, params);
      } catch (error) {
        throw classify(error);
      }
    },
    async transaction(work) {
      for (let attempt = 1; ; attempt++) {
        try {
          return await database.withConnection(async (client) => {
            await client.query('BEGIN');
            try {
              const result = await work(client);
              await client.query('COMMIT');
              return result;
            } catch (error) {
              await client.query('ROLLBACK').catch(() => undefined);
              throw error;
            }
          });
        } catch (error) {
          // Concurrent transactions touching the same rows may deadlock; PostgreSQL aborts one,
          // and running it again is the documented remedy.
          if (attempt >= TRANSACTION_ATTEMPTS || !isRetryable(error)) throw error;
          await new Promise((resolve) => setTimeout(resolve, 5 * attempt + Math.random() * 20));
        }
      }
    },
    async withConnection(work) {
      let client: pg.PoolClient;
      try {
        client = await pool.connect();
      } catch (error) {
        throw classify(error);
      }
      let broken: unknown;
      try {
        return await work(names ? namingClient(client, names) : client);
      } catch (error) {
        if (isUnavailable(error)) broken = error;
        throw classify(error);
      } finally {
        // A connection that failed mid-way is destroyed rather than handed to the next request.
        client.release(broken instanceof Error ? broken : undefined);
      }
    },
    readBounded<R extends pg.QueryResultRow>(sql: string, timeoutMs: number) {
      return database.withConnection(async (connection) => {
        // One simple-protocol message holds the whole transaction: every round trip saved is a
        // socket write and a wake-up of the backend, which a scrape pays once per collector.
        // JIT compilation only slows statements this short. A statement that fails skips the rest
        // of the message and leaves the transaction aborted.
        try {
          const results = (await connection.query(
            `BEGIN READ ONLY; SET LOCAL statement_timeout = ${Math.ceil(timeoutMs)}; SET LOCAL jit = off;\n${sql};\nCOMMIT`,
          )) as unknown as pg.QueryResult<R>[];
          return results.at(-2)!.rows; // the statement's, just before COMMIT's
        } catch (error) {
          await connection.query('ROLLBACK').catch(() => undefined);
          throw error;
        }
      });
    },
    async close() {
      await pool.end();
      await onClose?.();
    },
  };
  return database;
}

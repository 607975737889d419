/**
 * The one error serializer. PostgreSQL errors carry the failing row in `detail` ("Failing row
 * contains (…phone…, 'text…')"), the PL/pgSQL context in `where`, and sometimes the offending
 * value inside the message itself (`invalid input syntax for type integer: "…"`); wrappers may
 * add the query and its parameters. None of that may reach a log line. This keeps what
 * identifies the problem — class, SQLSTATE, constraint, table, column — and masks quoted values
 * in the messages of database errors and JSON parse errors.
 */

export interface SafeError {
  type: string;
  message: string;
  /** SQLSTATE (PostgreSQL) or Node error code (ECONNREFUSED …). */
  code?: string;
  severity?: string;
  schema?: string;
  table?: string;
  column?: string;
  constraint?: string;
  dataType?: string;
  routine?: string;
  /** Call sites only: the first line of a stack repeats the message, so it is rebuilt from the masked one. */
  stack?: string;
  cause?: SafeError;
}

/** Fields of a PostgreSQL error that name schema objects, never data. */
const NAME_FIELDS = ['severity', 'schema', 'table', 'column', 'constraint', 'dataType', 'routine'] as const;
const MAX_CAUSES = 3;
const MAX_MESSAGE = 500;

/** Anything thrown → a plain object safe to log. Idempotent: a SafeError passes through unchanged in content. */
export function safeError(error: unknown, depth = 0): SafeError {
  if (typeof error !== 'object' || error === null) {
    // A thrown string or number may be anything (even a payload): say only what kind it was.
    return { type: typeof error, message: `non-error value thrown (${typeof error})` };
  }
  const e = error as Record<string, unknown>;
  const type = typeof e.type === 'string' && !(error instanceof Error) ? e.type : errorType(error);
  const code = typeof e.code === 'string' || typeof e.code === 'number' ? String(e.code) : undefined;
  const rawMessage = typeof e.message === 'string' ? e.message : '';
  const message = (mayQuoteData(error, code) ? maskQuoted(rawMessage) : rawMessage).slice(0, MAX_MESSAGE);
  const out: SafeError = { type, message };
  if (code !== undefined) out.code = code;
  for (const field of NAME_FIELDS) if (typeof e[field] === 'string') out[field] = e[field] as string;
  if (typeof e.stack === 'string') out.stack = frames(e.stack, type, message);
  if (e.cause !== undefined && depth < MAX_CAUSES) out.cause = safeError(e.cause, depth + 1);
  return out;
}

function errorType(error: object): string {
  const name = (error as { name?: unknown }).name;
  if (typeof name === 'string' && name !== 'Error') return name;
  return error.constructor?.name && error.constructor.name !== 'Object' ? error.constructor.name : 'Error';
}

/** PostgreSQL errors (a SQLSTATE: five characters) and JSON parse errors quote the data they choked on. */
function mayQuoteData(error: object, code: string | undefined): boolean {
  if (code !== undefined && /^[0-9A-Z]{5}$/.test(code)) return true;
  if (error instanceof SyntaxError) return true;
  const name = (error as { name?: unknown }).name;
  return name === 'SyntaxError' || (error as { type?: unknown }).type === 'entity.parse.failed';
}

/** `value "4915…" for 'x'` → `value "…" for '…'`: names are logged in their own fields instead. */
export function maskQuoted(message: string): string {
  return message.replace(/"(?:[^"\\]|\\.)*"/g, '"…"').replace(/'(?:[^'\\]|\\.)*'/g, "'…'");
}

/** The stack's frames (lines starting with "at"), under a first line rebuilt from the safe message. */
function frames(stack: string, type: string, message: string): string {
  const lines = stack.split('\n').filter((line) => /^\s+at /.test(line));
  return [`${type}: ${message}`, ...lines.slice(0, 20)].join('\n');
}

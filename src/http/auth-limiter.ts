/**
 * Repeated authentication failures from one source are answered 429 with Retry-After, before any
 * token or signature is checked, so guessing a token is slowed to a few tries a minute. Every
 * 401 and 403 counts as a failure (a wrong bearer token, signature or verify token), whichever
 * route produced it; both the failures and the refusals are counted by endpoint.
 *
 * The source is the client's address (`req.ip`): behind a reverse proxy set TRUST_PROXY, or
 * every client shares the proxy's address. State is per process and bounded in size: with N
 * replicas a source gets at most N times the limit, which still defeats guessing.
 */
import type { RequestHandler } from 'express';
import { Counter, type Registry } from 'prom-client';
import { NAMESPACE } from '../metrics/registry.ts';
import { HttpError, sendError } from './errors.ts';

export interface AuthLimitOptions {
  /** Failures within `windowMs` after which a source is refused. */
  maxFailures: number;
  windowMs: number;
  /** Sources remembered at most (memory bound against address-rotating clients). */
  maxSources: number;
}

export const DEFAULT_AUTH_LIMIT: AuthLimitOptions = Object.freeze({ maxFailures: 10, windowMs: 60_000, maxSources: 10_000 });

interface SourceState {
  windowStart: number;
  failures: number;
  blockedUntil: number;
}

export class AuthFailureLimiter {
  private readonly sources = new Map<string, SourceState>();

  constructor(
    readonly options: AuthLimitOptions = DEFAULT_AUTH_LIMIT,
    private readonly now: () => number = Date.now,
  ) {}

  /** Seconds the source must wait before it may try again; 0 when it may try now. */
  retryAfterSeconds(source: string): number {
    const state = this.sources.get(source);
    const wait = state ? state.blockedUntil - this.now() : 0;
    return wait > 0 ? Math.ceil(wait / 1000) : 0;
  }

  recordFailure(source: string): void {
    const now = this.now();
    let state = this.sources.get(source);
    if (!state || now - state.windowStart > this.options.windowMs) {
      state = { windowStart: now, failures: 0, blockedUntil: state?.blockedUntil ?? 0 };
    }
    state.failures += 1;
    if (state.failures >= this.options.maxFailures) state.blockedUntil = now + this.options.windowMs;
    this.sources.delete(source); // re-insert: the map's order is least recently failed first
    this.sources.set(source, state);
    if (this.sources.size > this.options.maxSources) this.evict(now);
  }

  get trackedSources(): number {
    return this.sources.size;
  }

  private evict(now: number): void {
    for (const [source, state] of this.sources) {
      if (now - state.windowStart > this.options.windowMs && state.blockedUntil <= now) this.sources.delete(source);
    }
    // Still too many: forget the least recently failing sources.
    for (const source of this.sources.keys()) {
      if (this.sources.size <= this.options.maxSources) break;
      this.sources.delete(source);
    }
  }
}

const PROVIDERS = new Set(['whatsapp', 'twilio', 'chatwoot', 'wati', 'respondio']);

/** A bounded label for the endpoint: the route, without ids or secret path parts. */
export function endpointLabel(path: string): string {
  const webhook = /^\/webhooks\/([a-z0-9]+)(?:\/|$)/.exec(path);
  if (webhook) return PROVIDERS.has(webhook[1]!) ? `/webhooks/${webhook[1]}` : 'other';
  if (path === '/api/v1/events' || path === '/metrics') return path;
  if (path.startsWith('/api/v1/customers/')) return '/api/v1/customers';
  return 'other';
}

/** Paths that authenticate their callers; probes and the landing page are never refused. */
function guarded(path: string): boolean {
  return path.startsWith('/webhooks/') || path.startsWith('/api/') || path === '/metrics';
}

export class AuthMetrics {
  readonly failures: Counter<'endpoint'>;
  readonly refused: Counter<'endpoint'>;
  constructor(registry: Registry) {
    this.failures = new Counter({
      name: `${NAMESPACE}_auth_failures_total`,
      help: 'Requests refused for a missing or wrong token or signature (401/403), by endpoint.',
      labelNames: ['endpoint'] as const,
      registers: [registry],
    });
    this.refused = new Counter({
      name: `${NAMESPACE}_auth_rate_limited_total`,
      help: 'Requests refused with 429 because their source failed authentication too often, by endpoint.',
      labelNames: ['endpoint'] as const,
      registers: [registry],
    });
    for (const endpoint of ['/webhooks/whatsapp', '/api/v1/events', '/api/v1/customers', '/metrics']) {
      this.failures.inc({ endpoint }, 0);
      this.refused.inc({ endpoint }, 0);
    }
  }
}

/**
 * The limit as requests meet it: a source that failed too often is refused up front (429), and
 * every 401 or 403 answered counts against its source. The Express guard below and the webhook
 * fast path (ingest/fast-path.ts) both go through it.
 */
export class AuthGuard {
  constructor(
    private readonly limiter: AuthFailureLimiter,
    private readonly metrics: AuthMetrics,
  ) {}

  /** The 429 for a source that must wait (counted), with its Retry-After seconds; undefined when it may try. */
  refusal(source: string, endpoint: string): { error: HttpError; retryAfterSeconds: number } | undefined {
    const wait = this.limiter.retryAfterSeconds(source);
    if (wait <= 0) return undefined;
    this.metrics.refused.inc({ endpoint });
    return {
      error: new HttpError('too_many_requests', `too many failed authentication attempts; retry in ${wait} s`),
      retryAfterSeconds: wait,
    };
  }

  /** Counts an answer: a 401 or 403 is a failure of its source. */
  answered(source: string, endpoint: string, status: number): void {
    if (status !== 401 && status !== 403) return;
    this.limiter.recordFailure(source);
    this.metrics.failures.inc({ endpoint });
  }
}

export function authFailureGuard(guard: AuthGuard): RequestHandler {
  return (req, res, next) => {
    if (!guarded(req.path)) return next();
    const source = req.ip ?? req.socket.remoteAddress ?? 'unknown';
    const endpoint = endpointLabel(req.path);
    const refusal = guard.refusal(source, endpoint);
    if (refusal) {
      res.set('Retry-After', String(refusal.retryAfterSeconds));
      // The connection is closed after the answer: the body we did not read is not waited for.
      res.set('Connection', 'close');
      return sendError(res, refusal.error);
    }
    res.once('finish', () => guard.answered(source, endpoint, res.statusCode));
    next();
  };
}

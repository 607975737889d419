/**
 * The exporter's own endpoints: a landing page (as node_exporter has), liveness, readiness and
 * the Prometheus scrape endpoint.
 */
import { Router } from 'express';
import type { Registry } from 'prom-client';
import type { Database } from '../storage/database.ts';
import { isMigrated } from '../storage/migrate.ts';
import { isUnavailable } from '../storage/database.ts';
import { expositionParts } from '../metrics/registry.ts';
import type { ScrapeRhythm } from '../metrics/scrape-rhythm.ts';
import { VERSION } from '../version.ts';
import { requireBearer } from './auth.ts';

export interface ServiceRouteOptions {
  registry: Registry;
  database: Database;
  metricsToken: string | undefined;
  /** Runs before each scrape (counting facts that have settled), so a scrape shows them; bounded, and never fails the scrape. */
  beforeScrape?: () => Promise<unknown>;
  /** False until this process has applied the migrations (its webhooks answer 503 until then). */
  isReady?: () => boolean;
  /** Told when each scrape begins and ends, so background work can keep out of the next one. */
  rhythm?: Pick<ScrapeRhythm, 'started' | 'finished'>;
}

/** The longest a scrape waits for `beforeScrape`. */
const BEFORE_SCRAPE_TIMEOUT_MS = 5_000;

const LANDING_PAGE = `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>WhatsApp Helpdesk Exporter</title></head>
<body>
<h1>WhatsApp Helpdesk Exporter</h1>
<p>Version ${VERSION}</p>
<ul>
<li><a href="metrics">Metrics</a></li>
<li><a href="healthz">Liveness</a> (/healthz)</li>
<li><a href="readyz">Readiness</a> (/readyz)</li>
</ul>
<p>Webhooks: <code>/webhooks/whatsapp</code> (Meta Cloud API).</p>
</body></html>
`;

export function serviceRouter(options: ServiceRouteOptions): Router {
  const router = Router();

  router.get('/', (_req, res) => {
    res.type('html').send(LANDING_PAGE);
  });

  router.get('/healthz', (_req, res) => {
    res.type('text/plain').send('ok\n');
  });

  router.get('/readyz', async (_req, res) => {
    const state = await readiness(options.database, options.isReady ?? (() => true));
    res.status(state.status === 'ready' ? 200 : 503).json(state);
  });

  const metricsAuth = options.metricsToken ? [requireBearer(options.metricsToken, '/metrics')] : [];
  router.get('/metrics', ...metricsAuth, async (_req, res) => {
    if (options.rhythm) {
      const rhythm = options.rhythm;
      rhythm.started();
      res.once('close', () => rhythm.finished());
    }
    if (options.beforeScrape) {
      let timer: NodeJS.Timeout | undefined;
      await Promise.race([
        options.beforeScrape().catch(() => undefined),
        new Promise((resolve) => {
          timer = setTimeout(resolve, BEFORE_SCRAPE_TIMEOUT_MS);
        }),
      ]);
      clearTimeout(timer);
    }
    const parts = await expositionParts(options.registry);
    let length = 0;
    for (const part of parts) length += Buffer.byteLength(part);
    res.set({ 'Content-Type': options.registry.contentType, 'Content-Length': String(length) });
    // Corked, the parts leave in one write; no ETag (Prometheus never revalidates a scrape).
    res.cork();
    for (const part of parts) res.write(part);
    res.end();
    res.uncork();
  });

  return router;
}

/** Ready when the database answers, every migration of this build is applied, and this process has seen it. */
async function readiness(database: Database, started: () => boolean) {
  try {
    const applied = (await isMigrated(database)) && started();
    return { status: applied ? 'ready' : 'not ready', database: 'up', migrations: applied ? 'applied' : 'pending' };
  } catch (error) {
    // No schema_migrations table yet (42P01) means the database is up but not migrated.
    if (isUnavailable(error)) return { status: 'not ready', database: 'down', migrations: 'unknown' };
    return { status: 'not ready', database: 'up', migrations: 'pending' };
  }
}

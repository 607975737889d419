/**
 * Database reachability, checked at scrape time with a short timeout, so that "the exporter
 * cannot reach PostgreSQL" is alertable and a slow database never hangs the scrape.
 */
import { Gauge, type Registry } from 'prom-client';
import type { Database } from '../storage/database.ts';
import { NAMESPACE } from './registry.ts';

const PROBE_TIMEOUT_MS = 2_000;

export function registerDatabaseMetrics(registry: Registry, database: Database): void {
  new Gauge({
    name: `${NAMESPACE}_database_up`,
    help: 'Whether the exporter reached its PostgreSQL database during this scrape (1) or not (0).',
    registers: [registry],
    async collect() {
      this.set((await probe(database)) ? 1 : 0);
    },
  });
}

async function probe(database: Database): Promise<boolean> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<boolean>((resolve) => {
    timer = setTimeout(() => resolve(false), PROBE_TIMEOUT_MS);
  });
  try {
    return await Promise.race([
      database.query('SELECT 1').then(
        () => true,
        () => false,
      ),
      timeout,
    ]);
  } finally {
    clearTimeout(timer);
  }
}

/** Personal data removed: rows anonymised or deleted by retention and erasure, and erasure requests. */
import { Counter, type Registry } from 'prom-client';
import { NAMESPACE } from '../metrics/registry.ts';
import type { RowCounts } from './anonymize.ts';
import { tablesWithPersonalData } from './personal-data.ts';

export type RemovalReason = 'retention' | 'erasure';

export class PrivacyMetrics {
  readonly rows: Counter<'table' | 'reason'>;
  readonly erasures: Counter<'outcome'>;

  constructor(registry: Registry) {
    this.rows = new Counter({
      name: `${NAMESPACE}_personal_data_removed_rows_total`,
      help: 'Rows whose personal data was removed (anonymised or deleted), by table and reason (retention, erasure).',
      labelNames: ['table', 'reason'] as const,
      registers: [registry],
    });
    this.erasures = new Counter({
      name: `${NAMESPACE}_erasure_requests_total`,
      help: 'Erasure requests for one customer, by outcome (erased: personal data was found and removed; not_found).',
      labelNames: ['outcome'] as const,
      registers: [registry],
    });
    for (const table of tablesWithPersonalData()) for (const reason of ['retention', 'erasure']) this.rows.inc({ table, reason }, 0);
    for (const outcome of ['erased', 'not_found']) this.erasures.inc({ outcome }, 0);
  }

  observe(counts: RowCounts, reason: RemovalReason): void {
    for (const [table, n] of Object.entries(counts)) if (n > 0) this.rows.inc({ table, reason }, n);
  }
}

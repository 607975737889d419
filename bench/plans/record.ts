/**
 * Loaded with `--import` into a test run by bench/plans/audit.ts: appends the text of every named
 * (prepared) statement the process sends to PLAN_AUDIT_FILE, once per process.
 */
import { appendFileSync } from 'node:fs';
import pg from 'pg';

const file = process.env.PLAN_AUDIT_FILE;
if (file) {
  const seen = new Set<string>();
  const query = pg.Client.prototype.query as (this: pg.Client, ...args: unknown[]) => unknown;
  (pg.Client.prototype as unknown as { query: typeof query }).query = function (this: pg.Client, ...args: unknown[]) {
    const config = args[0] as { name?: string; text?: string } | undefined;
    if (config && typeof config === 'object' && config.name && config.text && !seen.has(config.text)) {
      seen.add(config.text);
      appendFileSync(file, `${JSON.stringify(config.text)}\n`);
    }
    return query.apply(this, args);
  };
}

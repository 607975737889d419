/**
 * `npm run dashboards`: writes grafana/dashboards/*.json from grafana/dashboards.ts. Commit the
 * result; test/dashboards.test.ts fails when the files differ from what the code generates.
 */
import { readdirSync, rmSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { renderDashboardFiles } from './dashboards.ts';

export const DASHBOARDS_DIR = fileURLToPath(new URL('./dashboards/', import.meta.url));

if (import.meta.url === `file://${process.argv[1]}`) {
  const files = renderDashboardFiles();
  for (const name of readdirSync(DASHBOARDS_DIR)) if (name.endsWith('.json') && !files.has(name)) rmSync(`${DASHBOARDS_DIR}${name}`);
  for (const [name, text] of files) writeFileSync(`${DASHBOARDS_DIR}${name}`, text);
  process.stdout.write(`wrote ${[...files.keys()].map((n) => `grafana/dashboards/${n}`).join(', ')}\n`);
}

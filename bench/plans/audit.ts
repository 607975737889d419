/**
 * `npm run bench:plans`: which statements would scan a whole table in the plan a connection keeps
 * when it prepares them on a new, empty database (the plan trap in docs/performance.md). Runs
 * test files with bench/plans/record.ts loaded, which records every named statement they send,
 * then explains each statement's generic plan on a freshly migrated database and prints those
 * that scan a table or join by hash or merge. Judge each: a scan can be by design (retention and
 * erasure search payloads by pattern), and a hash of the statement's own input rows is harmless.
 *
 *   DATABASE_URL=postgres://postgres@127.0.0.1:5432/test npm run bench:plans [-- test/kpis.test.ts ...]
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { createTestDatabase } from '../../test/support/database.ts';
import { genericPlan, nodesOf } from '../../test/support/plans.ts';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
if (!process.env.DATABASE_URL) {
  console.error('bench:plans needs DATABASE_URL (a PostgreSQL server; databases are created and dropped)');
  process.exit(2);
}
const files = process.argv.slice(2).length
  ? process.argv.slice(2)
  : ['meta-webhook', 'kpis', 'timeline', 'csat', 'chatwoot', 'ingest-queue', 'provider-kpis', 'collectors', 'agent-time', 'privacy'].map(
      (name) => `test/${name}.test.ts`,
    );

const dir = mkdtempSync(join(tmpdir(), 'plan-audit-'));
const file = join(dir, 'statements.jsonl');
console.log(`recording the statements of ${files.length} test files …`);
const run = spawnSync(process.execPath, ['--import', 'tsx', '--import', './bench/plans/record.ts', '--test', ...files], {
  cwd: ROOT,
  env: { ...process.env, PLAN_AUDIT_FILE: file },
  encoding: 'utf8',
});
if (run.status !== 0) console.error(`the tests did not all pass (exit ${run.status}); auditing what they sent`);
const statements = [
  ...new Set(
    readFileSync(file, 'utf8')
      .trim()
      .split('\n')
      .map((line) => JSON.parse(line) as string),
  ),
];
rmSync(dir, { recursive: true, force: true });

const db = await createTestDatabase();
let flagged = 0;
try {
  for (const sql of statements) {
    const parameters = Math.max(0, ...[...sql.matchAll(/\$(\d+)/g)].map((m) => Number(m[1])));
    const args = parameters > 0 ? `(${Array(parameters).fill('NULL').join(', ')})` : '';
    try {
      const nodes = nodesOf(await db.database.transaction((tx) => genericPlan(tx, sql, '', args)));
      const scans = nodes.filter((n) => n['Node Type'] === 'Seq Scan' && n['Relation Name']).map((n) => n['Relation Name']);
      const joins = nodes.filter((n) => /Hash Join|Merge Join/.test(n['Node Type']) || /hashed/.test(n['Subplan Name'] ?? ''));
      if (scans.length > 0 || joins.length > 0) {
        flagged += 1;
        console.log(
          `\nscans: ${[...new Set(scans)].join(', ') || '-'}; hash or merge joins: ${joins.length}\n  ${sql.replace(/\s+/g, ' ').slice(0, 300)}`,
        );
      }
    } catch (error) {
      console.log(`\nnot explained (${(error as Error).message}):\n  ${sql.replace(/\s+/g, ' ').slice(0, 160)}`);
    }
  }
} finally {
  await db.drop();
}
console.log(`\n${statements.length} statements, ${flagged} with a scan or a hash or merge join in the plan made on empty tables`);

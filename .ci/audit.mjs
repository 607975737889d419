#!/usr/bin/env node
// `npm audit --omit=dev` for CI: fails on any high or critical finding in the runtime
// dependencies, and only warns when the registry refuses to audit (a mirror or a proxy that
// answers the audit endpoint with 405/404, or no network), so such a registry does not fail CI.
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';

/** What one `npm audit --json` output means: { ok, message }. */
export function auditVerdict(stdout) {
  let report;
  try {
    report = JSON.parse(stdout);
  } catch {
    return { ok: true, refused: true, message: 'npm audit gave no report (the registry refused or could not be reached); audit skipped' };
  }
  const counts = report?.metadata?.vulnerabilities;
  if (!counts || typeof counts !== 'object') {
    const why = report?.message ?? report?.error?.summary ?? 'no vulnerability metadata';
    return { ok: true, refused: true, message: `the registry refused the audit (${why}); audit skipped` };
  }
  const serious = (counts.high ?? 0) + (counts.critical ?? 0);
  const names = Object.values(report.vulnerabilities ?? {})
    .filter((v) => v.severity === 'high' || v.severity === 'critical')
    .map((v) => `${v.name} (${v.severity})`);
  if (serious > 0) return { ok: false, refused: false, message: `npm audit: ${serious} high or critical: ${names.join(', ')}` };
  const total = Object.values(counts).reduce((sum, n) => sum + (typeof n === 'number' ? n : 0), 0);
  return { ok: true, refused: false, message: `npm audit: no high or critical findings (${total} lower)` };
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const run = spawnSync('npm', ['audit', '--omit=dev', '--json'], { encoding: 'utf8', timeout: 120_000 });
  const verdict = auditVerdict(run.stdout ?? '');
  (verdict.ok ? console.log : console.error)(verdict.message);
  process.exit(verdict.ok ? 0 : 1);
}

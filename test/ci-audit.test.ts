/** The CI audit step: high or critical findings fail; a registry that refuses audits does not. */
import assert from 'node:assert/strict';
import { it } from 'node:test';
// @ts-expect-error: a plain .mjs script without types
import { auditVerdict } from '../.ci/audit.mjs';

const report = (counts: Record<string, number>, vulnerabilities: Record<string, unknown> = {}) =>
  JSON.stringify({
    auditReportVersion: 2,
    vulnerabilities,
    metadata: { vulnerabilities: { info: 0, low: 0, moderate: 0, high: 0, critical: 0, total: 0, ...counts } },
  });

it('fails on high or critical findings and names them', () => {
  const verdict = auditVerdict(report({ high: 1 }, { ws: { name: 'ws', severity: 'high' } }));
  assert.equal(verdict.ok, false);
  assert.match(verdict.message, /ws \(high\)/);
  assert.equal(auditVerdict(report({ critical: 2 })).ok, false);
});

it('passes with only low or moderate findings', () => {
  assert.deepEqual(auditVerdict(report({ low: 2, moderate: 1 })), {
    ok: true,
    refused: false,
    message: 'npm audit: no high or critical findings (3 lower)',
  });
});

it('warns but passes when the registry refuses the audit', () => {
  const refused = JSON.stringify({
    message: '405 Method Not Allowed - POST https://registry.example/-/npm/v1/security/advisories/bulk',
    statusCode: 405,
  });
  assert.deepEqual(auditVerdict(refused).ok, true);
  assert.equal(auditVerdict(refused).refused, true);
  assert.equal(auditVerdict('').ok, true);
});

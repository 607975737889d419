/**
 * External tools the tests drive (promtool, prometheus, alertmanager). Locally a missing tool
 * skips its tests with a reason; in CI (CI=true) it fails them, so they can never silently skip.
 */
import { spawnSync } from 'node:child_process';

export function findTool(name: string): string | undefined {
  const found = spawnSync('sh', ['-c', `command -v ${name}`], { encoding: 'utf8' });
  return found.status === 0 ? found.stdout.trim() : undefined;
}

/** A `skip` option for node:test: false when the tool exists or CI=true (the test then fails loudly). */
export function skipUnless(tool: string): false | string {
  if (findTool(tool) || process.env.CI === 'true') return false;
  return `${tool} is not installed (apt-get install prometheus prometheus-alertmanager); CI installs it`;
}

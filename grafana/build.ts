/**
 * `npm run dashboards`: writes grafana/dashboards/*.json (the files Grafana provisions in docker
 * compose) and the same JSON under deploy/kubernetes/dashboards/ (kustomize turns them into
 * ConfigMaps for the Grafana sidecar). Commit the result; the tests fail when the files differ
 * from what the code generates. Takes the flags of prometheus/config.ts (--selector, --out, --check).
 */
import { readdirSync, rmSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { isMainModule } from '../src/cli/is-main.ts';
import { DEFAULT_CONFIG, type MonitoringConfig } from '../prometheus/config.ts';
import { readText, replaceBetween, ROOT, runGenerator } from '../prometheus/outputs.ts';
import { type Target, TARGETS } from '../prometheus/thresholds.ts';
import { renderDashboardFiles } from './dashboards.ts';

export const DASHBOARDS_DIR = fileURLToPath(new URL('./dashboards/', import.meta.url));
export const KUBERNETES_DASHBOARDS_DIR = fileURLToPath(new URL('../deploy/kubernetes/dashboards/', import.meta.url));

export const DASHBOARDS_DOC_PATH = 'docs/dashboards.md';

/** The table of TARGETS (prometheus/thresholds.ts) in docs/dashboards.md. */
export function targetsTable(): string {
  const value = (v: number, unit: string) => (unit === 'ratio' ? `${Math.round(v * 100)} %` : `${v} ${unit}`);
  const rows = Object.entries(TARGETS as Record<string, Target>).map(
    ([name, t]) =>
      `| ${t.kpi} | \`${name}\` | ${value(t.value, t.unit)}${t.upTo !== undefined ? ` – ${value(t.upTo, t.unit)}` : ''} | ${t.why} |`,
  );
  return ['| KPI | target | value | why |', '| --- | --- | --- | --- |', ...rows].join('\n');
}

/** Every file `npm run dashboards` writes, by repository path. */
export function dashboardOutputs(config: MonitoringConfig = DEFAULT_CONFIG): Map<string, string> {
  const outputs = new Map<string, string>();
  for (const [name, text] of renderDashboardFiles(config)) {
    outputs.set(`grafana/dashboards/${name}`, text);
    outputs.set(`deploy/kubernetes/dashboards/${name}`, text);
  }
  const doc = readText(`${ROOT}${DASHBOARDS_DOC_PATH}`);
  outputs.set(DASHBOARDS_DOC_PATH, replaceBetween(doc, DASHBOARDS_DOC_PATH, 'targets', 'dashboards', targetsTable()));
  return outputs;
}

if (isMainModule(import.meta.url)) {
  runGenerator('dashboards', (options) => {
    const outputs = dashboardOutputs(options.config);
    if (!options.out && !options.check) {
      // A dashboard removed from the code leaves no stale file behind.
      const current = new Set(renderDashboardFiles(options.config).keys());
      for (const dir of [DASHBOARDS_DIR, KUBERNETES_DASHBOARDS_DIR])
        for (const name of safeList(dir)) if (name.endsWith('.json') && !current.has(name)) rmSync(`${dir}${name}`);
    }
    return outputs;
  });
}

function safeList(dir: string): string[] {
  try {
    return readdirSync(dir);
  } catch {
    return [];
  }
}

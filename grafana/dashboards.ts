/**
 * The Grafana dashboards, as code: one file per dashboard in grafana/specs/, rendered by
 * grafana/render.ts. `npm run dashboards` writes them to grafana/dashboards/*.json
 * (the files Grafana provisions); test/dashboards.test.ts fails when the committed files differ,
 * runs every Prometheus query against a real Prometheus scraping the exporter fed by the demo
 * simulator, and every SQL query on PostgreSQL as the read-only role.
 *
 * Conventions: datasources come from variables (`${datasource}` for Prometheus, `${postgres}` for
 * PostgreSQL), never a hard-coded uid; dashboard uids are stable; every panel has a description
 * and a unit; thresholds are the alert thresholds of prometheus/thresholds.ts.
 */
import { DEFAULT_CONFIG, type MonitoringConfig } from '../prometheus/config.ts';
import { renderDashboard, type DashboardSpec } from './render.ts';
import { agents } from './specs/agents.ts';
import { exporter } from './specs/exporter.ts';
import { overview } from './specs/overview.ts';
import { requests } from './specs/requests.ts';

export { renderDashboard } from './render.ts';

/** The dashboards for one monitoring configuration (prometheus/config.ts). */
export function dashboardSpecs(config: MonitoringConfig = DEFAULT_CONFIG): readonly DashboardSpec[] {
  return [overview, agents, requests, exporter(config)];
}

/** File name → dashboard JSON text, as committed under grafana/dashboards/. */
export function renderDashboardFiles(config: MonitoringConfig = DEFAULT_CONFIG): Map<string, string> {
  return new Map(
    dashboardSpecs(config).map((spec) => [
      `${spec.uid.replace(/^whatsapp-helpdesk-/, '')}.json`,
      `${JSON.stringify(renderDashboard(spec), null, 2)}\n`,
    ]),
  );
}

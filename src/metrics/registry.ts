/**
 * One registry per running app (tests build several), with the process and Node.js metrics and
 * a build_info gauge. Metric families register themselves in their own modules.
 */
import { Registry, Gauge, collectDefaultMetrics } from 'prom-client';
import { VERSION } from '../version.ts';
import { ALWAYS_OPEN, type BusinessCalendar } from '../config/business-hours.ts';

export const NAMESPACE = 'whatsapp';

export function createRegistry(calendar: BusinessCalendar = ALWAYS_OPEN): Registry {
  const registry = new Registry();
  collectDefaultMetrics({ register: registry });
  const buildInfo = new Gauge({
    name: `${NAMESPACE}_exporter_build_info`,
    help: 'Always 1; labels carry the exporter version and the Node.js version.',
    labelNames: ['version', 'nodejs_version'] as const,
    registers: [registry],
  });
  buildInfo.set({ version: VERSION, nodejs_version: process.version }, 1);
  // Staffing alerts page only when hours are declared (docs/alerts.md, paging policy): without
  // BUSINESS_HOURS every hour counts as open, which says nothing about when someone is there.
  new Gauge({
    name: `${NAMESPACE}_business_schedule_configured`,
    help: 'Whether BUSINESS_HOURS is set (1) or not (0). Without it whatsapp_business_open is always 1 and staffing alerts do not page.',
    registers: [registry],
  }).set(calendar === ALWAYS_OPEN ? 0 : 1);
  new Gauge({
    name: `${NAMESPACE}_business_open`,
    help: 'Whether it is business hours now per BUSINESS_HOURS (1) or not (0); always 1 when BUSINESS_HOURS is unset.',
    registers: [registry],
    collect() {
      this.set(calendar.isOpen(new Date()) ? 1 : 0);
    },
  });
  return registry;
}

/**
 * What `registry.metrics()` returns, as one string per metric family (each ends with its line
 * break). The whole exposition is some hundred kB: joined into one string, and that turned into
 * one Buffer, it is allocated afresh on every scrape as large objects, which cost several times
 * the small pieces (docs/performance.md). Only the Prometheus text format is served.
 */
export async function expositionParts(registry: Registry): Promise<string[]> {
  const families = await Promise.all(registry.getMetricsAsArray().map((metric) => registry.getSingleMetricAsString(metric.name)));
  return families.map((family, i) => (i < families.length - 1 ? `${family}\n\n` : `${family}\n`));
}

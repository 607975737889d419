/**
 * One registry per running app (tests build several), with the process and Node.js metrics and
 * a build_info gauge. Metric families register themselves in their own modules.
 */
import { Registry, Gauge, collectDefaultMetrics } from 'prom-client';
import { VERSION } from '../version.ts';

export const NAMESPACE = 'whatsapp';

export function createRegistry(): Registry {
  const registry = new Registry();
  collectDefaultMetrics({ register: registry });
  const buildInfo = new Gauge({
    name: `${NAMESPACE}_exporter_build_info`,
    help: 'Always 1; labels carry the exporter version and the Node.js version.',
    labelNames: ['version', 'nodejs_version'] as const,
    registers: [registry],
  });
  buildInfo.set({ version: VERSION, nodejs_version: process.version }, 1);
  return registry;
}

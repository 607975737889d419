/** Builds the app the way main.ts does, with test settings and a silent logger. */
import { createApp, type App } from '../../src/app.ts';
import { loadConfig, type Config } from '../../src/config/config.ts';
import type { Database } from '../../src/storage/database.ts';
import { APP_SECRET, VERIFY_TOKEN } from './meta.ts';
import { silentLogger } from './database.ts';

export const EVENTS_TOKEN = 'test-events-token';

export function testConfig(overrides: Record<string, string> = {}): Config {
  const result = loadConfig({
    WHATSAPP_APP_SECRET: APP_SECRET,
    WHATSAPP_VERIFY_TOKEN: VERIFY_TOKEN,
    EVENTS_API_TOKEN: EVENTS_TOKEN,
    LOG_LEVEL: 'silent',
    ...overrides,
  });
  if (!result.ok) throw new Error(result.errors.join('\n'));
  return result.config;
}

export function testApp(database: Database, overrides: Record<string, string> = {}, isReady?: () => boolean): App {
  return createApp({ config: testConfig(overrides), database, logger: silentLogger, isReady });
}

/** The value of one series, 0 when it was never observed. */
export async function metricValue(app: App, name: string, labels: Record<string, string> = {}): Promise<number> {
  const metric = app.registry.getSingleMetric(name);
  if (!metric) throw new Error(`no metric ${name}`);
  const { values } = await metric.get();
  return values
    .filter((v) => (v as { metricName?: string }).metricName === undefined || (v as { metricName?: string }).metricName === name)
    .filter((v) => Object.entries(labels).every(([k, want]) => String((v.labels as Record<string, unknown>)[k]) === want))
    .reduce((sum, v) => sum + v.value, 0);
}

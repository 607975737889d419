/**
 * `npm run demo`: the exporter on the embedded database (DATA_DIR, default ./data/demo, kept apart
 * from a real trial's ./data) with freshly generated secrets, a stand-in for the Graph API so that
 * CSAT surveys go out and come back, and the traffic simulator driving it all. Windows that take
 * days in production (auto-resolution, first-contact resolution, CSAT) are shortened so that
 * every dashboard panel fills within minutes. Ctrl-C stops everything.
 */
import { randomBytes } from 'node:crypto';
import { start } from '../main.ts';
import { parseCli, simulatorFromOptions, USAGE } from './cli.ts';
import { startGraphApiStub } from './graph-api.ts';
import { describeStats, type Simulator } from './simulator.ts';
import { DEMO_SETTINGS } from './wire/index.ts';

const parsed = parseCli(process.argv.slice(2), process.env);
if (!parsed.ok || parsed.options.target) {
  for (const line of parsed.ok ? ['--target: not for the demo, which runs its own exporter (use npm run simulate)'] : parsed.errors)
    process.stderr.write(`demo: ${line}\n`);
  process.stderr.write(`${USAGE}\n`);
  process.exit(2);
}
const options = parsed.options;
const secret = () => randomBytes(24).toString('base64url');

let simulator: Simulator | undefined;
const stub = await startGraphApiStub({ onSend: (message) => simulator?.handleSentMessage(message) });

const base = `http://127.0.0.1:${options.port}`;
// Surveys go out through Meta's Graph API, which only serves Cloud API numbers: with another
// provider's numbers the exporter's own CSAT survey is off, as it would be in production.
const surveys = options.provider === 'meta';
const env: Record<string, string> = {
  PORT: String(options.port),
  DATA_DIR: process.env.DATA_DIR ?? './data/demo',
  LOG_LEVEL: process.env.LOG_LEVEL ?? 'warn',
  WHATSAPP_APP_SECRET: secret(),
  WHATSAPP_VERIFY_TOKEN: secret(),
  EVENTS_API_TOKEN: secret(),
  // Every provider's endpoint is on, whichever one the simulator speaks.
  TWILIO_AUTH_TOKEN: secret(),
  PUBLIC_URL: base,
  WATI_WEBHOOK_TOKEN: secret(),
  ...(surveys ? { WHATSAPP_ACCESS_TOKEN: secret() } : {}),
  WHATSAPP_API_URL: stub.url,
  // Production defaults are 24 h, 72 h, 5 min and 24 h; the demo compresses them.
  AUTO_RESOLVE_AFTER: process.env.AUTO_RESOLVE_AFTER ?? '20m',
  FCR_WINDOW: process.env.FCR_WINDOW ?? '30m',
  CSAT_DELAY: process.env.CSAT_DELAY ?? '20s',
  CSAT_RESPONSE_WINDOW: process.env.CSAT_RESPONSE_WINDOW ?? '30m',
};
if (process.env.BUSINESS_HOURS) env.BUSINESS_HOURS = process.env.BUSINESS_HOURS;
// The provider the simulator speaks gets its secrets and its business number mapping.
Object.assign(env, DEMO_SETTINGS[options.provider]?.(options.phoneNumberId, secret));

const exporter = await start(env);
simulator = simulatorFromOptions(options, {
  url: base,
  appSecret: env.WHATSAPP_APP_SECRET!,
  eventsToken: env.EVENTS_API_TOKEN!,
  logPrefix: 'demo',
  env,
});

process.stdout.write(`
WhatsApp helpdesk exporter — demo (simulated traffic, embedded database in ${env.DATA_DIR})

  exporter   ${base}/            metrics: ${base}/metrics
  seed ${options.seed}, calendar ×${options.speed} (a day every ${Math.round((24 * 60) / options.speed)} min), conversations ×${options.pace}, up to ${options.peakPerHour}/hour
  provider ${options.provider}${surveys ? '' : " (CSAT surveys off: the exporter sends them through Meta's Graph API, for Cloud API numbers only)"}

Point a Prometheus at ${base}/metrics, or run the whole stack with Grafana:
  cp .env.example .env && docker compose --profile demo up
  then open Grafana on http://localhost:3000 (dashboards in the "WhatsApp helpdesk" folder).
Ctrl-C stops the demo.
`);

const progress = setInterval(() => process.stdout.write(`demo: ${describeStats(simulator!.stats)}\n`), 30_000);
let stopping = false;
const shutdown = async (code: number) => {
  if (stopping) return;
  stopping = true;
  simulator?.stop();
  clearInterval(progress);
  await exporter.stop().catch(() => undefined);
  await stub.close();
  process.exit(code);
};
for (const signal of ['SIGINT', 'SIGTERM'] as const) process.once(signal, () => void shutdown(0));
const stats = await simulator.run();
process.stdout.write(`demo: done — ${describeStats(stats)}\n`);
await shutdown(0);

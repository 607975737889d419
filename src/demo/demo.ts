/**
 * `npm run demo`: the exporter on the embedded database (DATA_DIR, default ./data/demo, kept apart
 * from a real trial's ./data) with freshly generated secrets, a stand-in for the Graph API so that
 * CSAT surveys go out and come back, and the traffic simulator driving it all. Alive at once, at
 * any hour:
 * - the simulated calendar starts at a busy weekday hour (--start, default Monday 10:00), not at
 *   the real local hour, so agents are on shift and customers write;
 * - the last 30 minutes of traffic are replayed at once (--warmup), so /metrics has messages and
 *   first responses within seconds and conversations are in every stage;
 * - an empty database first gets days of history (--backfill, default 3d), written through a
 *   private replica of the exporter whose counters nobody scrapes, so the PostgreSQL panels
 *   (when customers write, the message audit) are full while the live counters start clean;
 * - windows that take days in production (auto-resolution, first-contact resolution, CSAT) are
 *   shortened, and facts settle after 2 s instead of 30 s.
 * Ctrl-C stops everything.
 */
import { randomBytes } from 'node:crypto';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { createApp } from '../app.ts';
import { loadConfig } from '../config/config.ts';
import { advanceDueConversations } from '../jobs/conversation-timers.ts';
import { createLogger } from '../logging/logger.ts';
import { start } from '../main.ts';
import { parseCli, simulatorFromOptions, USAGE } from './cli.ts';
import { startGraphApiStub } from './graph-api.ts';
import { describeStats, Simulator } from './simulator.ts';
import { DEMO_SETTINGS } from './wire/index.ts';

const DAY_MS = 86_400_000;
/** The history is written at a fraction of the live rate (--rate): the same rhythm, fewer writes. */
const HISTORY_RATE_DIVISOR = 3;
const parsed = parseCli(process.argv.slice(2), process.env, { warmupMs: 30 * 60_000, backfillMs: 3 * DAY_MS });
if (!parsed.ok || parsed.options.target) {
  for (const line of parsed.ok ? ['--target: not for the demo, which runs its own exporter (use npm run simulate)'] : parsed.errors)
    process.stderr.write(`demo: ${line}\n`);
  process.stderr.write(`${USAGE}\n`);
  process.exit(2);
}
const options = parsed.options;
const startedAt = Date.now();
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
  // Production defaults are 24 h, 72 h, 5 min, 24 h and 30 s; the demo compresses them so that
  // every panel fills within minutes. Facts settle after 2 s: late inputs are rare here.
  AUTO_RESOLVE_AFTER: process.env.AUTO_RESOLVE_AFTER ?? '20m',
  FCR_WINDOW: process.env.FCR_WINDOW ?? '10m',
  CSAT_DELAY: process.env.CSAT_DELAY ?? '20s',
  CSAT_RESPONSE_WINDOW: process.env.CSAT_RESPONSE_WINDOW ?? '30m',
  SETTLE_AFTER: process.env.SETTLE_AFTER ?? '2s',
};
if (process.env.BUSINESS_HOURS) env.BUSINESS_HOURS = process.env.BUSINESS_HOURS;
// The provider the simulator speaks gets its secrets and its business number mapping.
Object.assign(env, DEMO_SETTINGS[options.provider]?.(options.phoneNumberId, secret));

const exporter = await start(env);
// History goes only into an empty database: a second run keeps the first run's.
const { rows } = await exporter.database.query<{ empty: boolean }>('SELECT NOT EXISTS (SELECT 1 FROM conversations) AS empty');
const backfillMs = rows[0]?.empty ? options.backfillMs : 0;

simulator = simulatorFromOptions(options, {
  url: base,
  appSecret: env.WHATSAPP_APP_SECRET!,
  eventsToken: env.EVENTS_API_TOKEN!,
  logPrefix: 'demo',
  env,
});
const calendar = new Intl.DateTimeFormat('en-GB', {
  timeZone: options.timeZone,
  weekday: 'long',
  hour: '2-digit',
  minute: '2-digit',
  hourCycle: 'h23',
}).format(options.calendarStart);
const minutes = (ms: number) => `${Math.round(ms / 60_000)} min`;

process.stdout.write(`
WhatsApp helpdesk exporter — demo (simulated traffic, embedded database in ${env.DATA_DIR})

  exporter   ${base}/            metrics: ${base}/metrics
  calendar   starts ${calendar} (${options.timeZone}; --start), ×${options.speed}: a day every ${Math.round((24 * 60) / options.speed)} min
  traffic    seed ${options.seed}, conversations ×${options.pace}, up to ${options.peakPerHour}/hour; the last ${minutes(options.warmupMs)} replayed at once (--warmup)
  history    ${backfillMs > 0 ? `${Math.round(backfillMs / DAY_MS)} days written in the background (--backfill)` : options.backfillMs > 0 ? 'kept from an earlier run (delete the data directory for new history)' : 'none (--backfill 0)'}
  provider   ${options.provider}${surveys ? '' : " (CSAT surveys off: the exporter sends them through Meta's Graph API, for Cloud API numbers only)"}

Where to look next:
  1. ${base}/metrics — messages and first responses within seconds (whatsapp_messages_total, whatsapp_first_response_seconds).
  2. Alerts without Docker: prometheus --config.file=prometheus/demo.yml --storage.tsdb.path=./data/demo-prometheus
     (it scrapes 127.0.0.1:8080 with the repository's rules; docs/dashboards.md, "The demo without Docker").
  3. The whole stack with Grafana: cp .env.example .env && docker compose --profile demo up
     then open http://localhost:3000 (folder "WhatsApp helpdesk", the Overview first).
Ctrl-C stops the demo.
`);

/** The sum of one counter family on /metrics (the demo's /metrics needs no token). */
async function counterOf(name: string): Promise<number> {
  const text = await (await fetch(`${base}/metrics`)).text();
  let sum = 0;
  for (const line of text.split('\n')) if (line.startsWith(`${name}{`) || line.startsWith(`${name} `)) sum += Number(line.split(' ').pop());
  return sum;
}

/** Reports when the demo is alive (messages and first responses on /metrics), then starts the backfill. */
async function whenAlive(): Promise<void> {
  const deadline = Date.now() + 60_000;
  while (Date.now() < deadline && !stopping) {
    const [messages, firstResponses] = await Promise.all([
      counterOf('whatsapp_messages_total'),
      counterOf('whatsapp_first_response_seconds_count'),
    ]).catch(() => [0, 0]);
    if (messages > 0 && firstResponses > 0) {
      process.stdout.write(
        `demo: alive after ${((Date.now() - startedAt) / 1000).toFixed(1)} s — ${messages} messages, ${firstResponses} first responses on /metrics\n`,
      );
      return;
    }
    await new Promise((r) => setTimeout(r, 500));
  }
}

/**
 * Days of history before the warm-up, at real speed (the daily and weekly rhythm on the real
 * clock), through a private replica of the exporter on the same database: it counts into its own
 * registry (SETTLE_AFTER 0, nobody scrapes it) and sends no surveys, so the live counters and
 * CSAT are untouched. Its writes fold each conversation up to now, so the replica also makes the
 * time-based decisions (auto-resolution, FCR) of the history.
 */
async function backfill(): Promise<void> {
  const replicaEnv: Record<string, string> = { ...env, SETTLE_AFTER: '0s', LOG_LEVEL: 'silent' };
  delete replicaEnv.WHATSAPP_ACCESS_TOKEN;
  delete replicaEnv.WHATSAPP_API_URL;
  const config = loadConfig(replicaEnv);
  if (!config.ok) throw new Error(config.errors.join('; '));
  const replica = createApp({ config: config.config, database: exporter.database, logger: createLogger('silent') });
  const server = http.createServer(replica.express);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const now = Date.now();
  history = new Simulator({
    seed: options.seed + 1,
    start: new Date(now - backfillMs),
    speed: 1,
    pace: 1,
    // A third of the live rate: the shape of the week, in a minute or two of writing.
    peakPerHour: options.peakPerHour / HISTORY_RATE_DIVISOR,
    timeZone: options.timeZone,
    business: simulator!.planner.business,
    target: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    appSecret: env.WHATSAPP_APP_SECRET!,
    eventsToken: env.EVENTS_API_TOKEN!,
    provider: options.provider,
    providerSecrets: env,
    // Up to the warm-up, which the live simulator replays; conversations finish, none is cut off.
    arrivalsMs: backfillMs - options.warmupMs,
    durationMs: backfillMs,
    // Gently: the live traffic comes first.
    concurrency: 4,
    log: (line) => {
      if (!stopping) process.stderr.write(`demo history: ${line}\n`);
    },
  });
  const began = Date.now();
  const stats = await history.run();
  historyDone = true;
  await advanceDueConversations(replica.timers);
  await new Promise((resolve) => server.close(resolve));
  if (!stopping)
    process.stdout.write(
      `demo: history written in ${Math.round((Date.now() - began) / 1000)} s — ${stats.conversations} conversations, ${stats.requests} requests${stats.failedRequests ? `, ${stats.failedRequests} failed` : ''}\n`,
    );
}

let history: Simulator | undefined;
let historyDone = false;
let stopping = false;
let historyWritten: Promise<void> = Promise.resolve();
const progress = setInterval(() => {
  process.stdout.write(`demo: ${describeStats(simulator!.stats)}\n`);
  if (history && !historyDone) process.stdout.write(`demo history: ${history.stats.requests} requests so far\n`);
}, 30_000);
const shutdown = async (code: number) => {
  if (stopping) return;
  stopping = true;
  simulator?.stop();
  history?.stop();
  clearInterval(progress);
  // The history's requests in flight finish before the database closes.
  await Promise.race([historyWritten, new Promise((r) => setTimeout(r, 10_000))]);
  await exporter.stop().catch(() => undefined);
  await stub.close();
  process.exit(code);
};
for (const signal of ['SIGINT', 'SIGTERM'] as const) process.once(signal, () => void shutdown(0));

const live = simulator.run();
historyWritten = whenAlive()
  .then(() => (backfillMs > 0 && !stopping ? backfill() : undefined))
  .catch((error: Error) => {
    if (!stopping) process.stderr.write(`demo: history not written: ${error.message}\n`);
  });
const stats = await live;
process.stdout.write(`demo: done — ${describeStats(stats)}\n`);
await shutdown(0);

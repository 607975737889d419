/**
 * `npm run simulate -- --target URL`: drives any running exporter with demo traffic. The
 * exporter's EVENTS_API_TOKEN and the secrets of the provider spoken (`--provider`:
 * WHATSAPP_APP_SECRET for meta, TWILIO_AUTH_TOKEN and PUBLIC_URL for twilio, WATI_WEBHOOK_TOKEN
 * for wati) come from the environment. With
 * --graph-api-port the simulator also stands in for the Graph API, so that the exporter's CSAT
 * surveys (WHATSAPP_API_URL pointed here) are answered.
 */
import { parseCli, simulatorFromOptions, USAGE } from './cli.ts';
import { startGraphApiStub, type GraphApiStub } from './graph-api.ts';
import { describeStats } from './simulator.ts';

/** The exporter's settings each provider's requests need, besides EVENTS_API_TOKEN. */
const PROVIDER_SECRETS: Record<string, [string, string][]> = {
  meta: [['WHATSAPP_APP_SECRET', "the exporter's Meta app secret, to sign webhooks"]],
  twilio: [['TWILIO_AUTH_TOKEN', "the exporter's Twilio auth token, to sign webhooks (PUBLIC_URL too, if it is not --target)"]],
  wati: [['WATI_WEBHOOK_TOKEN', "the exporter's WATI webhook token, for the webhook URL"]],
  chatwoot: [['CHATWOOT_WEBHOOK_SECRET', "the exporter's Chatwoot webhook secret, to sign webhooks"]],
  respondio: [['RESPONDIO_SIGNING_KEYS', "the exporter's respond.io signing key, to sign webhooks"]],
};

const parsed = parseCli(process.argv.slice(2), process.env);
const problems = parsed.ok ? [] : parsed.errors;
const appSecret = (process.env.WHATSAPP_APP_SECRET ?? '')
  .split(',')
  .map((s) => s.trim())
  .find((s) => s.length > 0);
const eventsToken = process.env.EVENTS_API_TOKEN?.trim();
if (parsed.ok && !parsed.options.target) problems.push('--target: required — the exporter base URL, e.g. http://127.0.0.1:8080');
const provider = parsed.ok ? parsed.options.provider : 'meta';
for (const [name, purpose] of PROVIDER_SECRETS[provider] ?? [])
  if (!process.env[name]?.trim()) problems.push(`${name}: required — ${purpose}`);
if (parsed.ok && parsed.options.backfillMs > 0)
  problems.push(
    "--backfill: demo only (it writes uncounted history through the demo's own exporter); use --warmup to replay recent traffic",
  );
if (!eventsToken) problems.push("EVENTS_API_TOKEN: required — the exporter's bearer token for /api/v1/events");
if (!parsed.ok || problems.length > 0) {
  for (const line of problems) process.stderr.write(`simulate: ${line}\n`);
  process.stderr.write(`${USAGE}\n`);
  process.exit(2);
}
const options = parsed.options;

const simulator = simulatorFromOptions(options, {
  url: options.target!,
  appSecret: appSecret ?? '',
  eventsToken: eventsToken!,
  logPrefix: 'simulate',
  env: process.env,
});

let stub: GraphApiStub | undefined;
if (options.graphApiPort !== undefined) {
  stub = await startGraphApiStub({ port: options.graphApiPort, host: options.graphApiHost, onSend: (m) => simulator.handleSentMessage(m) });
  process.stdout.write(`simulate: Graph API stand-in for CSAT surveys on port ${options.graphApiPort}\n`);
}
process.stdout.write(
  `simulate: sending to ${options.target} — seed ${options.seed}, calendar ×${options.speed}, conversations ×${options.pace}, up to ${options.peakPerHour} conversations/hour` +
    `${options.durationMs ? `, for ${options.durationMs / 1000} s` : ', until Ctrl-C'}\n`,
);
const progress = setInterval(() => process.stdout.write(`simulate: ${describeStats(simulator.stats)}\n`), 30_000);
for (const signal of ['SIGINT', 'SIGTERM'] as const) process.once(signal, () => simulator.stop());
const stats = await simulator.run();
clearInterval(progress);
await stub?.close();
process.stdout.write(`simulate: done — ${describeStats(stats)}\n`);
process.exit(stats.requests > 0 && stats.failedRequests === stats.requests ? 1 : 0);

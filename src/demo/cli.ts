/**
 * Command-line options shared by `npm run simulate` and `npm run demo`, checked the way the
 * exporter checks its settings: one line per problem, never a stack trace.
 */
import { parseDuration } from '../config/duration.ts';
import { DEFAULT_START, parseStart } from './calendar.ts';
import { DEFAULT_BUSINESS } from './plan.ts';
import { Simulator } from './simulator.ts';
import { WIRE_FORMATS } from './wire/index.ts';

export interface CliOptions {
  target?: string;
  speed: number;
  pace: number;
  seed: number;
  durationMs?: number;
  peakPerHour: number;
  phoneNumberId: string;
  timeZone: string;
  graphApiPort?: number;
  graphApiHost: string;
  port: number;
  /** The provider whose webhook format the simulator speaks (WIRE_FORMATS). */
  provider: string;
  /** Where the simulated calendar starts (--start; default a busy weekday hour). */
  calendarStart: Date;
  /** The recent past replayed at once before the live traffic (--warmup), ms. */
  warmupMs: number;
  /** Days of history written into the database first (--backfill, demo only), ms; 0: none. */
  backfillMs: number;
}

/** Defaults that differ between the demo (own exporter, alive at once) and simulate (any exporter, restartable). */
export interface CliDefaults {
  warmupMs: number;
  backfillMs: number;
}

export const USAGE = `Options:
  --target URL            exporter base URL (simulate only), e.g. http://127.0.0.1:8080
  --speed N               calendar speed: the daily and weekly rhythm and the shifts run N times faster (default 60: an hour per minute)
  --pace N                conversation speed: typing and answering run N times faster (default 1: real response times)
  --seed N                random seed; the same seed gives the same traffic (default 1)
  --duration D            stop after D (30s, 10m, 2h); default: run until Ctrl-C
  --rate N                conversations per hour at the busiest hour of the week (default 90)
  --phone-number-id ID    the business number's Meta phone_number_id (default $WHATSAPP_PHONE_NUMBER_ID or 106540352242922)
  --time-zone TZ          time zone of the rhythm and the shifts (default Europe/Berlin)
  --graph-api-port N      serve a stand-in for the Graph API on this port, so the exporter's CSAT surveys get answers
                          (point the exporter's WHATSAPP_API_URL at http://<this host>:N/v24.0)
  --graph-api-host H      address for the stand-in to listen on (default 0.0.0.0)
  --port N                exporter port (demo only; default $PORT or 8080)
  --provider P            webhook format to send: ${Object.keys(WIRE_FORMATS).join(', ')} (default meta); the provider's
                          secrets come from the same environment variables as the exporter's
  --start WHEN            where the simulated calendar starts: now (the real time), a weekday and time (mon 10:00),
                          or a local date and time (2026-11-23T10:00); default ${DEFAULT_START}, a busy weekday hour
  --warmup D              replay the last D of traffic at once before going live (0 for none); default 30m for
                          the demo, 0 for simulate
  --backfill D            demo only: first write D of history (at real speed, uncounted) into an empty database,
                          for the weekday × hour table and the message audit; default 3d, 0 for none
Environment (simulate only), matching the exporter's settings: EVENTS_API_TOKEN, and WHATSAPP_APP_SECRET (meta),
TWILIO_AUTH_TOKEN and PUBLIC_URL when the exporter's is not --target (twilio), WATI_WEBHOOK_TOKEN (wati), CHATWOOT_WEBHOOK_SECRET (chatwoot) or RESPONDIO_SIGNING_KEYS (respondio).`;

export function parseCli(
  argv: readonly string[],
  env: NodeJS.ProcessEnv,
  defaults: CliDefaults = { warmupMs: 0, backfillMs: 0 },
  now: Date = new Date(),
): { ok: true; options: CliOptions } | { ok: false; errors: string[] } {
  const errors: string[] = [];
  const values = new Map<string, string>();
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
    const match = /^--([a-z-]+)(?:=(.*))?$/.exec(arg);
    if (!match) {
      errors.push(`${arg}: not an option`);
      continue;
    }
    const value = match[2] ?? argv[++i];
    if (value === undefined) errors.push(`--${match[1]}: needs a value`);
    else values.set(match[1]!, value);
  }
  const known = [
    'target',
    'speed',
    'pace',
    'seed',
    'duration',
    'rate',
    'phone-number-id',
    'time-zone',
    'graph-api-port',
    'graph-api-host',
    'port',
    'provider',
    'start',
    'warmup',
    'backfill',
  ];
  for (const name of values.keys()) if (!known.includes(name)) errors.push(`--${name}: unknown option`);
  const number = (name: string, fallback: number, integer = false, max = Number.MAX_SAFE_INTEGER): number => {
    const text = values.get(name);
    if (text === undefined) return fallback;
    const value = Number(text);
    if (!Number.isFinite(value) || value <= 0 || value > max || (integer && !Number.isInteger(value))) {
      errors.push(
        `--${name}: "${text}" is not valid — expected a positive ${integer ? 'whole ' : ''}number${max < Number.MAX_SAFE_INTEGER ? ` up to ${max}` : ''}`,
      );
      return fallback;
    }
    return value;
  };
  let durationMs: number | undefined;
  if (values.has('duration')) {
    durationMs = parseDuration(values.get('duration')!);
    if (durationMs === undefined || durationMs <= 0)
      errors.push(`--duration: "${values.get('duration')}" is not a duration — expected e.g. 30s, 10m, 2h`);
  }
  const target = values.get('target');
  if (target !== undefined && !/^https?:\/\/[^\s]+$/.test(target)) errors.push(`--target: "${target}" is not an http(s) URL`);
  const timeZone = values.get('time-zone') ?? 'Europe/Berlin';
  try {
    new Intl.DateTimeFormat('en', { timeZone });
  } catch {
    errors.push(`--time-zone: "${timeZone}" is not a time zone — expected e.g. Europe/Berlin`);
  }
  /** A duration option that may be 0 (off). */
  const span = (name: string, fallback: number): number => {
    const text = values.get(name);
    if (text === undefined) return fallback;
    const ms = text.trim() === '0' ? 0 : parseDuration(text);
    if (ms === undefined) {
      errors.push(`--${name}: "${text}" is not a duration — expected e.g. 30m, 3d, or 0 for none`);
      return fallback;
    }
    return ms;
  };
  const warmupMs = span('warmup', defaults.warmupMs);
  const backfillMs = span('backfill', defaults.backfillMs);
  if (backfillMs > 0 && backfillMs <= warmupMs) errors.push('--backfill: must be longer than --warmup (it is the history before it), or 0');
  if (backfillMs > 30 * 86_400_000) errors.push('--backfill: at most 30d');
  if (warmupMs > 86_400_000) errors.push('--warmup: at most 24h');
  let calendarStart = now;
  if (!errors.some((e) => e.startsWith('--time-zone'))) {
    const start = parseStart(values.get('start') ?? DEFAULT_START, timeZone, now);
    if (start.ok) calendarStart = start.start;
    else errors.push(`--start: ${start.error}`);
  }
  const provider = values.get('provider') ?? 'meta';
  if (!(provider in WIRE_FORMATS)) errors.push(`--provider: "${provider}" is not one of ${Object.keys(WIRE_FORMATS).join(', ')}`);
  const options: CliOptions = {
    target,
    speed: number('speed', 60),
    pace: number('pace', 1),
    seed: number('seed', 1, true, 2 ** 32 - 1),
    durationMs,
    peakPerHour: number('rate', 90),
    phoneNumberId: values.get('phone-number-id') ?? env.WHATSAPP_PHONE_NUMBER_ID ?? '106540352242922',
    timeZone,
    graphApiPort: values.has('graph-api-port') ? number('graph-api-port', 9199, true, 65535) : undefined,
    graphApiHost: values.get('graph-api-host') ?? '0.0.0.0',
    port: number('port', Number(env.PORT) || 8080, true, 65535),
    provider,
    calendarStart,
    warmupMs,
    backfillMs,
  };
  return errors.length ? { ok: false, errors } : { ok: true, options };
}

/** The simulator the command-line options describe, aimed at `target` with the exporter's secrets. */
export function simulatorFromOptions(
  options: CliOptions,
  target: { url: string; appSecret: string; eventsToken: string; logPrefix: string; env?: NodeJS.ProcessEnv },
): Simulator {
  const now = Date.now();
  return new Simulator({
    seed: options.seed,
    // The warm-up is the recent past: the plan starts that far back, so its actions are due at once.
    start: new Date(now - options.warmupMs),
    warmupMs: options.warmupMs,
    calendarStart: options.calendarStart,
    speed: options.speed,
    pace: options.pace,
    peakPerHour: options.peakPerHour,
    timeZone: options.timeZone,
    business: { ...DEFAULT_BUSINESS, phoneNumberId: options.phoneNumberId },
    target: target.url,
    appSecret: target.appSecret,
    eventsToken: target.eventsToken,
    provider: options.provider,
    providerSecrets: target.env,
    durationMs: options.durationMs === undefined ? undefined : options.warmupMs + options.durationMs,
    log: (line) => process.stderr.write(`${target.logPrefix}: ${line}\n`),
  });
}

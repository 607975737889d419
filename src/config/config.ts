/**
 * Settings come from environment variables and are validated once, at start-up, into a frozen
 * Config. The rest of the program takes a Config, so validation cannot be skipped. A bad setting
 * yields one line naming the variable, what is wrong and what is expected — never a stack trace,
 * never a silent default for a secret.
 */
import { readFileSync } from 'node:fs';
import { isIP } from 'node:net';
import { z } from 'zod';
import { ALWAYS_OPEN, parseBusinessHours, type BusinessCalendar } from './business-hours.ts';
import { parseDuration } from './duration.ts';
import { loadCategoryRules, type CategoryRules } from '../analysis/categories.ts';
import { isPlaceholder, SECRET_SETTINGS } from './settings.ts';

export const GRAPH_API_DEFAULT_URL = 'https://graph.facebook.com/v24.0';

const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const;

const optionalText = z
  .string()
  .transform((v) => v.trim())
  .optional()
  .transform((v) => (v === '' ? undefined : v));

function secret(name: string, purpose: string) {
  return z.string({ error: `${name}: required — ${purpose}` }).refine((v) => v.trim().length > 0, {
    message: `${name}: empty — ${purpose}`,
  });
}

function duration(name: string, fallback: string, { allowZero = false } = {}) {
  return z
    .string()
    .optional()
    .transform((value, ctx) => {
      const text = value === undefined || value.trim() === '' ? fallback : value;
      const ms = parseDuration(text);
      if (ms === undefined || ms < 0 || (ms === 0 && !allowZero)) {
        ctx.addIssue({
          code: 'custom',
          message: `${name}: "${text}" is not a duration — expected a number and a unit (s, m, h, d), e.g. 30s, 5m, 24h, 7d`,
        });
        return z.NEVER;
      }
      return ms;
    });
}

function positiveInteger(name: string, fallback: number, what: string) {
  return z
    .string()
    .optional()
    .transform((value, ctx) => {
      if (value === undefined || value.trim() === '') return fallback;
      if (!/^\d+$/.test(value.trim()) || Number(value) <= 0) {
        ctx.addIssue({ code: 'custom', message: `${name}: "${value}" is not valid — expected ${what}` });
        return z.NEVER;
      }
      return Number(value);
    });
}

function httpUrl(name: string) {
  return optionalText.refine((v) => v === undefined || /^https?:\/\/[^\s]+$/.test(v), {
    message: `${name}: not an http(s) URL`,
  });
}

/**
 * A comma-separated list of `key=value` pairs (BUSINESS_NUMBER_NAMES, CHATWOOT_INBOXES,
 * RESPONDIO_CHANNELS): each pair must match `pair` (key and value as groups), else one line says
 * what was expected; a key given twice is refused.
 */
function pairs(name: string, pair: RegExp, expected: string) {
  return optionalText.transform((value, ctx) => {
    const map = new Map<string, string>();
    for (const part of (value ?? '')
      .split(',')
      .map((p) => p.trim())
      .filter(Boolean)) {
      const match = pair.exec(part);
      if (!match) {
        ctx.addIssue({ code: 'custom', message: `${name}: "${part}" is not ${expected}` });
        return z.NEVER;
      }
      if (map.has(match[1]!) && map.get(match[1]!) !== match[2]) {
        ctx.addIssue({ code: 'custom', message: `${name}: ${match[1]} is given twice, with different values` });
        return z.NEVER;
      }
      map.set(match[1]!, match[2]!);
    }
    return map;
  });
}

/** BUSINESS_NUMBER_NAMES: `phone_number_id=name,…`, short names for the `business_number` label. */
const businessNumberNames = pairs(
  'BUSINESS_NUMBER_NAMES',
  /^([^=\s]+)\s*=\s*([a-z0-9][a-z0-9_.-]{0,39})$/i,
  'phone_number_id=name — a name is 1–40 letters, digits, _ . or -, e.g. 106540352242922=support-de',
);

/** CHATWOOT_INBOXES and RESPONDIO_CHANNELS: a provider's inbox or channel id → the Meta phone_number_id of its WhatsApp number. */
function providerNumbers(name: string, what: string, example: string) {
  return pairs(name, /^([\w-]{1,64})\s*=\s*([^\s=,]{1,64})$/, `${what}=phone_number_id — e.g. ${example}`);
}

/**
 * WATI_WEBHOOK_TOKEN: the secret in WATI's webhook URL, the only thing that authenticates WATI's
 * requests. Comma-separated while rotating; each at least 16 URL-safe characters.
 */
const watiWebhookToken = optionalText.superRefine((value, ctx) => {
  if (value === undefined) return;
  const tokens = value.split(',').map((t) => t.trim());
  const problem = tokens.some((t) => !/^[A-Za-z0-9._~-]*$/.test(t))
    ? 'only letters, digits and . _ ~ - may appear (it is part of the webhook URL), e.g. from openssl rand -hex 24'
    : tokens.some((t) => t.length < 16)
      ? 'too short — expected at least 16 characters, e.g. from openssl rand -hex 24; it alone authenticates WATI'
      : undefined;
  if (problem) ctx.addIssue({ code: 'custom', message: `WATI_WEBHOOK_TOKEN: ${problem}` });
});

/** WATI_CHANNEL_NUMBER: a phone number with country code, kept as its digits. */
const watiChannelNumber = optionalText.transform((value, ctx) => {
  if (value === undefined) return undefined;
  const digits = value.replace(/[\s\-().]/g, '').replace(/^\+/, '');
  if (!/^\d{6,15}$/.test(digits)) {
    ctx.addIssue({
      code: 'custom',
      message: `WATI_CHANNEL_NUMBER: "${value}" is not a phone number — expected the WATI channel's number with country code, e.g. 4930123456`,
    });
    return z.NEVER;
  }
  return digits;
});

/** BUSINESS_HOURS is a path to a JSON file or the JSON itself (see business-hours.ts). */
const businessHours = optionalText.transform((value, ctx) => {
  if (value === undefined) return undefined;
  const text = value.startsWith('{') ? value : readIfFile(value);
  if (text === undefined) {
    ctx.addIssue({ code: 'custom', message: `BUSINESS_HOURS: "${value}" is neither inline JSON nor a readable file` });
    return z.NEVER;
  }
  let doc: unknown;
  try {
    doc = JSON.parse(text);
  } catch (error) {
    ctx.addIssue({ code: 'custom', message: `BUSINESS_HOURS: not valid JSON (${(error as Error).message})` });
    return z.NEVER;
  }
  const parsed = parseBusinessHours(doc);
  if (!parsed.ok) {
    for (const error of parsed.errors) ctx.addIssue({ code: 'custom', message: `BUSINESS_HOURS: ${error}` });
    return z.NEVER;
  }
  return parsed.calendar;
});

function readIfFile(path: string): string | undefined {
  try {
    return readFileSync(path, 'utf8');
  } catch {
    return undefined;
  }
}

/** Keywords Express knows for TRUST_PROXY lists, besides addresses and CIDR ranges. */
const PROXY_KEYWORDS = new Set(['loopback', 'linklocal', 'uniquelocal']);

/**
 * TRUST_PROXY: how many reverse proxies stand in front (a number), or which addresses are proxies
 * (comma-separated addresses, CIDR ranges or loopback/linklocal/uniquelocal). `true` is refused:
 * it would let any client choose its address with X-Forwarded-For and dodge the auth limiter.
 */
const trustProxy = optionalText.transform((value, ctx): number | string | false => {
  if (value === undefined || value === 'false' || value === '0') return false;
  if (/^\d+$/.test(value) && Number(value) <= 10) return Number(value);
  const items = value.split(',').map((item) => item.trim());
  const bad = items.filter((item) => !PROXY_KEYWORDS.has(item) && !isAddressOrRange(item));
  if (bad.length > 0 || value === 'true') {
    ctx.addIssue({
      code: 'custom',
      message: `TRUST_PROXY: "${value}" is not valid — expected the number of proxies in front (1–10), or their addresses or CIDR ranges, comma-separated (e.g. 10.0.0.0/8,loopback)`,
    });
    return z.NEVER;
  }
  return items.join(',');
});

function isAddressOrRange(item: string): boolean {
  const [address, bits, ...rest] = item.split('/');
  if (rest.length > 0 || !address) return false;
  const family = isIP(address);
  if (family === 0) return false;
  return bits === undefined || (/^\d+$/.test(bits) && Number(bits) <= (family === 4 ? 32 : 128));
}

/** How Chatwoot webhooks are verified (see src/ingest/chatwoot/adapter.ts). */
export const CHATWOOT_SIGNATURE_MODES = ['enforce', 'log-only', 'unsigned'] as const;
export type ChatwootSignatureMode = (typeof CHATWOOT_SIGNATURE_MODES)[number];

export const AGENT_LABEL_MODES = ['as_is', 'hashed'] as const;
export type AgentLabelMode = (typeof AGENT_LABEL_MODES)[number];

const envShape = z.object({
  PORT: positiveInteger('PORT', 8080, 'a TCP port number from 1 to 65535').refine((p) => p <= 65535, {
    message: 'PORT: must be at most 65535',
  }),
  DATABASE_URL: optionalText.refine((v) => v === undefined || /^postgres(ql)?:\/\//.test(v), {
    message: 'DATABASE_URL: not a PostgreSQL URL — expected postgres://user:password@host:5432/database',
  }),
  DATA_DIR: optionalText.transform((v) => v ?? './data'),
  WHATSAPP_APP_SECRET: secret('WHATSAPP_APP_SECRET', 'the Meta app secret that verifies X-Hub-Signature-256'),
  WHATSAPP_VERIFY_TOKEN: secret('WHATSAPP_VERIFY_TOKEN', "the token you typed into Meta's webhook settings"),
  EVENTS_API_TOKEN: secret('EVENTS_API_TOKEN', 'the bearer token helpdesks use for POST /api/v1/events'),
  METRICS_TOKEN: optionalText,
  LOG_LEVEL: optionalText
    .transform((v) => v ?? 'info')
    .refine((v) => (LOG_LEVELS as readonly string[]).includes(v), {
      message: `LOG_LEVEL: expected one of ${LOG_LEVELS.join(', ')}`,
    }),
  AUTO_RESOLVE_AFTER: duration('AUTO_RESOLVE_AFTER', '24h'),
  FCR_WINDOW: duration('FCR_WINDOW', '72h'),
  SETTLE_AFTER: duration('SETTLE_AFTER', '30s', { allowZero: true }).refine((ms) => ms <= 3_600_000, {
    message: 'SETTLE_AFTER: at most 1h — facts wait this long before they are counted (0s counts at once)',
  }),
  WEBHOOK_ACK: optionalText
    .transform((v) => v ?? 'stored')
    .refine((v): v is 'stored' | 'applied' => v === 'stored' || v === 'applied', {
      message: 'WEBHOOK_ACK: expected stored (answer once the body is stored, apply right behind) or applied (answer once applied)',
    }),
  BUSINESS_NUMBER_NAMES: businessNumberNames,
  BUSINESS_HOURS: businessHours,
  WHATSAPP_ACCESS_TOKEN: optionalText,
  WHATSAPP_API_URL: httpUrl('WHATSAPP_API_URL').transform((v) => (v ?? GRAPH_API_DEFAULT_URL).replace(/\/+$/, '')),
  CSAT_DELAY: duration('CSAT_DELAY', '5m'),
  CSAT_RESPONSE_WINDOW: duration('CSAT_RESPONSE_WINDOW', '24h'),
  CSAT_TEMPLATE_NAME: optionalText,
  CSAT_TEMPLATE_LANGUAGE: optionalText,
  RETENTION_DAYS: positiveInteger('RETENTION_DAYS', 90, 'a whole number of days, at least 1'),
  TWILIO_AUTH_TOKEN: optionalText,
  TWILIO_WEBHOOK_SHARED_KEYS: optionalText,
  PUBLIC_URL: httpUrl('PUBLIC_URL'),
  WATI_WEBHOOK_TOKEN: watiWebhookToken,
  WATI_CHANNEL_NUMBER: watiChannelNumber,
  CHATWOOT_WEBHOOK_SECRET: optionalText,
  CHATWOOT_SIGNATURE: optionalText.refine((v) => v === undefined || (CHATWOOT_SIGNATURE_MODES as readonly string[]).includes(v), {
    message: `CHATWOOT_SIGNATURE: expected ${CHATWOOT_SIGNATURE_MODES.join(', ')}`,
  }),
  CHATWOOT_INBOXES: providerNumbers('CHATWOOT_INBOXES', 'inbox_id', '17=106540352242922'),
  RESPONDIO_SIGNING_KEYS: optionalText,
  RESPONDIO_CHANNELS: providerNumbers('RESPONDIO_CHANNELS', 'channel_id', '123456=106540352242922'),
  TRUST_PROXY: trustProxy,
  PSEUDONYM_KEY: optionalText,
  AGENT_LABELS: optionalText
    .transform((v) => v ?? 'as_is')
    .refine((v): v is AgentLabelMode => (AGENT_LABEL_MODES as readonly string[]).includes(v), {
      message: `AGENT_LABELS: expected ${AGENT_LABEL_MODES.join(' or ')}`,
    }),
  CATEGORIES_FILE: optionalText.transform((path, ctx) => {
    const result = loadCategoryRules(path);
    if (!result.ok) {
      for (const error of result.errors) ctx.addIssue({ code: 'custom', message: `CATEGORIES_FILE: ${error}` });
      return z.NEVER;
    }
    return result.rules;
  }),
});

const envSchema = envShape
  .superRefine((env, ctx) => {
    const pseudonymKey = env.PSEUDONYM_KEY;
    if (pseudonymKey !== undefined && pseudonymKey.length < 16) {
      ctx.addIssue({
        code: 'custom',
        path: ['PSEUDONYM_KEY'],
        message: 'PSEUDONYM_KEY: too short — expected at least 16 characters, e.g. from openssl rand -hex 32',
      });
    }
    if (env.AGENT_LABELS === 'hashed' && pseudonymKey === undefined) {
      ctx.addIssue({
        code: 'custom',
        path: ['PSEUDONYM_KEY'],
        message: 'PSEUDONYM_KEY: required when AGENT_LABELS=hashed — the key of the hash that turns agent ids into labels',
      });
    }
  })
  .superRefine((env, ctx) => {
    if (env.TWILIO_AUTH_TOKEN && !env.PUBLIC_URL) {
      ctx.addIssue({
        code: 'custom',
        path: ['PUBLIC_URL'],
        message: 'PUBLIC_URL: required when TWILIO_AUTH_TOKEN is set — Twilio signs the public URL it calls',
      });
    }
    const chatwootMode = env.CHATWOOT_SIGNATURE;
    if (chatwootMode === 'unsigned' && env.CHATWOOT_WEBHOOK_SECRET) {
      ctx.addIssue({
        code: 'custom',
        path: ['CHATWOOT_SIGNATURE'],
        message: 'CHATWOOT_SIGNATURE: unsigned contradicts CHATWOOT_WEBHOOK_SECRET — with a secret use enforce (the default) or log-only',
      });
    }
    if ((chatwootMode === 'enforce' || chatwootMode === 'log-only') && !env.CHATWOOT_WEBHOOK_SECRET) {
      ctx.addIssue({
        code: 'custom',
        path: ['CHATWOOT_SIGNATURE'],
        message: `CHATWOOT_SIGNATURE: ${chatwootMode} needs CHATWOOT_WEBHOOK_SECRET — or set unsigned for a Chatwoot older than 4.11.2, which signs nothing`,
      });
    }
    if (env.CHATWOOT_INBOXES.size > 0 && !env.CHATWOOT_WEBHOOK_SECRET && chatwootMode !== 'unsigned') {
      ctx.addIssue({
        code: 'custom',
        path: ['CHATWOOT_INBOXES'],
        message:
          "CHATWOOT_INBOXES: the Chatwoot endpoint is off — set CHATWOOT_WEBHOOK_SECRET (the webhook's secret), or CHATWOOT_SIGNATURE=unsigned for a Chatwoot that signs nothing",
      });
    }
    if (env.RESPONDIO_CHANNELS.size > 0 && !env.RESPONDIO_SIGNING_KEYS) {
      ctx.addIssue({
        code: 'custom',
        path: ['RESPONDIO_CHANNELS'],
        message: "RESPONDIO_CHANNELS: the respond.io endpoint is off — set RESPONDIO_SIGNING_KEYS (each webhook's signing key)",
      });
    }
    if (env.TWILIO_WEBHOOK_SHARED_KEYS && !env.TWILIO_AUTH_TOKEN) {
      ctx.addIssue({
        code: 'custom',
        path: ['TWILIO_WEBHOOK_SHARED_KEYS'],
        message: 'TWILIO_WEBHOOK_SHARED_KEYS: needs TWILIO_AUTH_TOKEN — the Twilio endpoint is on only with the auth token',
      });
    }
    if (env.CSAT_TEMPLATE_NAME && !env.CSAT_TEMPLATE_LANGUAGE) {
      ctx.addIssue({
        code: 'custom',
        path: ['CSAT_TEMPLATE_LANGUAGE'],
        message: 'CSAT_TEMPLATE_LANGUAGE: required when CSAT_TEMPLATE_NAME is set — e.g. en_US or de',
      });
    }
  });

type Env = z.output<typeof envSchema>;

/** Every variable the schema reads (the catalogue in settings.ts must list each). */
export const SCHEMA_SETTINGS: readonly string[] = Object.keys(envShape.shape);

export interface Config {
  readonly port: number;
  readonly databaseUrl: string | undefined;
  readonly dataDir: string;
  readonly whatsappAppSecret: string;
  readonly whatsappVerifyToken: string;
  readonly eventsApiToken: string;
  readonly metricsToken: string | undefined;
  readonly logLevel: string;
  readonly autoResolveAfterMs: number;
  readonly fcrWindowMs: number;
  /** How long a fact stands unchanged before it is counted (SETTLE_AFTER); 0 counts at once. */
  readonly settleAfterMs: number;
  /** WEBHOOK_ACK: Meta webhooks are answered once stored (applied right behind), or once applied. */
  readonly webhookAck: 'stored' | 'applied';
  /** phone_number_id → short name for the `business_number` label (BUSINESS_NUMBER_NAMES). */
  readonly businessNumberNames: ReadonlyMap<string, string>;
  /** Business hours for the *_business_seconds metrics; every second counts when BUSINESS_HOURS is unset. */
  readonly businessHours: BusinessCalendar;
  readonly whatsappAccessToken: string | undefined;
  readonly whatsappApiUrl: string;
  readonly csatDelayMs: number;
  readonly csatResponseWindowMs: number;
  readonly csatTemplateName: string | undefined;
  readonly csatTemplateLanguage: string | undefined;
  readonly retentionDays: number;
  readonly twilioAuthToken: string | undefined;
  /** Secrets of Twilio Webhooks Rule shared keys (X-Twilio-Webhooks-Signature-Settings), comma-separated. */
  readonly twilioWebhookSharedKeys: string | undefined;
  readonly publicUrl: string | undefined;
  /** The token in WATI's webhook URL, comma-separated while rotating; undefined: the WATI endpoint is off. */
  readonly watiWebhookToken: string | undefined;
  /** Digits of the WATI channel number, for events that name no channelPhoneNumber. */
  readonly watiChannelNumber: string | undefined;
  /** Chatwoot webhook secrets (comma-separated, one per webhook); undefined: none. */
  readonly chatwootWebhookSecret: string | undefined;
  /** How Chatwoot webhooks are verified; undefined: the endpoint is off (no secret, no opt-in to unsigned). */
  readonly chatwootSignature: ChatwootSignatureMode | undefined;
  /** Chatwoot inbox id → the Meta phone_number_id of its WhatsApp number (CHATWOOT_INBOXES). */
  readonly chatwootInboxes: ReadonlyMap<string, string>;
  /** respond.io signing keys, comma-separated (one per webhook); undefined: the endpoint is off. */
  readonly respondioSigningKeys: string | undefined;
  /** respond.io channel id → the Meta phone_number_id of its WhatsApp number (RESPONDIO_CHANNELS). */
  readonly respondioChannels: ReadonlyMap<string, string>;
  /** Express `trust proxy`: false, a hop count, or the proxies' addresses. */
  readonly trustProxy: number | string | false;
  /** Key of the keyed hashes (agent labels, stable customer pseudonyms); undefined: none configured. */
  readonly pseudonymKey: string | undefined;
  /** Agent ids in metric labels as given, or as a keyed hash. */
  readonly agentLabels: AgentLabelMode;
  /** Request categories from CATEGORIES_FILE (default config/categories.json). */
  readonly categories: CategoryRules;
}

export type ConfigResult = { ok: true; config: Config } | { ok: false; errors: string[] };

/** Validates the environment. Never throws: problems come back as one line each. */
export function loadConfig(env: NodeJS.ProcessEnv): ConfigResult {
  const secrets = readSecrets(env);
  const parsed = envSchema.safeParse(secrets.env);
  const errors = [...secrets.errors];
  if (!parsed.success) {
    for (const issue of parsed.error.issues) {
      const name = String(issue.path[0] ?? '');
      if (secrets.failed.has(name)) continue; // already said, from <NAME>_FILE
      // Our own messages start with the variable name; zod's built-in ones get it prefixed.
      errors.push(issue.message.startsWith(`${name}:`) ? issue.message : `${name}: ${issue.message}`);
    }
  }
  if (errors.length > 0 || !parsed.success) return { ok: false, errors: [...new Set(errors)] };
  return { ok: true, config: toConfig(parsed.data) };
}

/**
 * Every secret may come from the file named by `<NAME>_FILE` (a Docker or Kubernetes secret;
 * one trailing newline is dropped). Setting both is refused, as is a placeholder value such as
 * the `change-me` values of .env.example, which would otherwise run in production unnoticed.
 */
function readSecrets(env: NodeJS.ProcessEnv): { env: NodeJS.ProcessEnv; errors: string[]; failed: Set<string> } {
  const out: NodeJS.ProcessEnv = { ...env };
  const errors: string[] = [];
  const failed = new Set<string>();
  const fail = (name: string, line: string) => {
    errors.push(line);
    failed.add(name);
  };
  for (const name of SECRET_SETTINGS) {
    const file = env[`${name}_FILE`]?.trim();
    if (file) {
      if (env[name]?.trim()) {
        fail(name, `${name}: set both ${name} and ${name}_FILE — use one of them`);
        continue;
      }
      try {
        out[name] = readFileSync(file, 'utf8').replace(/\r?\n$/, '');
      } catch (error) {
        fail(name, `${name}_FILE: cannot read "${file}" (${(error as NodeJS.ErrnoException).code ?? (error as Error).message})`);
        continue;
      }
      if (!out[name]!.trim()) {
        fail(name, `${name}_FILE: "${file}" is empty — it must hold the value of ${name}`);
        continue;
      }
    }
    const value = out[name];
    if (value === undefined || !value.trim()) continue;
    const where = file ? `${name} (from ${name}_FILE)` : name;
    if (name === 'DATABASE_URL') {
      const password = databasePassword(value);
      if (password !== undefined && isPlaceholder(password))
        fail(name, `${where}: the password is the placeholder "${password}" — set a real password (e.g. openssl rand -hex 24)`);
    } else if (value.split(',').some(isPlaceholder)) {
      fail(name, `${where}: "${value.trim()}" is a placeholder, not a secret — set a real value (e.g. openssl rand -hex 24)`);
    }
  }
  return { env: out, errors, failed };
}

function databasePassword(url: string): string | undefined {
  try {
    const password = decodeURIComponent(new URL(url.trim()).password);
    return password || undefined;
  } catch {
    return undefined;
  }
}

function toConfig(env: Env): Config {
  return Object.freeze({
    port: env.PORT,
    databaseUrl: env.DATABASE_URL,
    dataDir: env.DATA_DIR,
    whatsappAppSecret: env.WHATSAPP_APP_SECRET,
    whatsappVerifyToken: env.WHATSAPP_VERIFY_TOKEN,
    eventsApiToken: env.EVENTS_API_TOKEN,
    metricsToken: env.METRICS_TOKEN,
    logLevel: env.LOG_LEVEL,
    autoResolveAfterMs: env.AUTO_RESOLVE_AFTER,
    fcrWindowMs: env.FCR_WINDOW,
    settleAfterMs: env.SETTLE_AFTER,
    webhookAck: env.WEBHOOK_ACK as 'stored' | 'applied',
    businessNumberNames: env.BUSINESS_NUMBER_NAMES,
    businessHours: env.BUSINESS_HOURS ?? ALWAYS_OPEN,
    whatsappAccessToken: env.WHATSAPP_ACCESS_TOKEN,
    whatsappApiUrl: env.WHATSAPP_API_URL,
    csatDelayMs: env.CSAT_DELAY,
    csatResponseWindowMs: env.CSAT_RESPONSE_WINDOW,
    csatTemplateName: env.CSAT_TEMPLATE_NAME,
    csatTemplateLanguage: env.CSAT_TEMPLATE_LANGUAGE,
    retentionDays: env.RETENTION_DAYS,
    twilioAuthToken: env.TWILIO_AUTH_TOKEN,
    twilioWebhookSharedKeys: env.TWILIO_WEBHOOK_SHARED_KEYS,
    publicUrl: env.PUBLIC_URL,
    watiWebhookToken: env.WATI_WEBHOOK_TOKEN,
    watiChannelNumber: env.WATI_CHANNEL_NUMBER,
    chatwootWebhookSecret: env.CHATWOOT_WEBHOOK_SECRET,
    chatwootSignature:
      (env.CHATWOOT_SIGNATURE as ChatwootSignatureMode | undefined) ?? (env.CHATWOOT_WEBHOOK_SECRET ? 'enforce' : undefined),
    chatwootInboxes: env.CHATWOOT_INBOXES,
    respondioSigningKeys: env.RESPONDIO_SIGNING_KEYS,
    respondioChannels: env.RESPONDIO_CHANNELS,
    trustProxy: env.TRUST_PROXY,
    pseudonymKey: env.PSEUDONYM_KEY,
    agentLabels: env.AGENT_LABELS,
    categories: env.CATEGORIES_FILE,
  });
}

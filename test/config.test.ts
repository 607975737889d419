/** Settings: each bad value gives exactly one clear line; good values become a frozen Config. */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { loadConfig } from '../src/config/config.ts';
import { formatDuration, parseDuration } from '../src/config/duration.ts';

const REQUIRED = { WHATSAPP_APP_SECRET: 's', WHATSAPP_VERIFY_TOKEN: 'v', EVENTS_API_TOKEN: 'e' };

describe('loadConfig', () => {
  it('applies the documented defaults', () => {
    const result = loadConfig(REQUIRED);
    assert.ok(result.ok);
    const c = result.config;
    assert.equal(c.port, 8080);
    assert.equal(c.databaseUrl, undefined);
    assert.equal(c.dataDir, './data');
    assert.equal(c.logLevel, 'info');
    assert.equal(c.autoResolveAfterMs, 24 * 3600_000);
    assert.equal(c.fcrWindowMs, 72 * 3600_000);
    assert.equal(c.csatDelayMs, 5 * 60_000);
    assert.equal(c.csatResponseWindowMs, 24 * 3600_000);
    assert.equal(c.retentionDays, 90);
    assert.equal(c.whatsappApiUrl, 'https://graph.facebook.com/v24.0');
    assert.equal(c.metricsToken, undefined);
    assert.ok(Object.isFrozen(c));
  });

  it('names every missing secret on its own line', () => {
    const result = loadConfig({});
    assert.ok(!result.ok);
    assert.deepEqual(result.errors, [
      'WHATSAPP_APP_SECRET: required — the Meta app secret that verifies X-Hub-Signature-256',
      "WHATSAPP_VERIFY_TOKEN: required — the token you typed into Meta's webhook settings",
      'EVENTS_API_TOKEN: required — the bearer token helpdesks use for POST /api/v1/events',
    ]);
  });

  const table: [Record<string, string>, string][] = [
    [{ PORT: 'http' }, 'PORT: "http" is not valid — expected a TCP port number from 1 to 65535'],
    [{ PORT: '70000' }, 'PORT: must be at most 65535'],
    [{ DATABASE_URL: 'mysql://db/x' }, 'DATABASE_URL: not a PostgreSQL URL — expected postgres://user:password@host:5432/database'],
    [{ WHATSAPP_APP_SECRET: '  ' }, 'WHATSAPP_APP_SECRET: empty — the Meta app secret that verifies X-Hub-Signature-256'],
    [{ LOG_LEVEL: 'loud' }, 'LOG_LEVEL: expected one of fatal, error, warn, info, debug, trace, silent'],
    [
      { AUTO_RESOLVE_AFTER: '1 day' },
      'AUTO_RESOLVE_AFTER: "1 day" is not a duration — expected a number and a unit (s, m, h, d), e.g. 30s, 5m, 24h, 7d',
    ],
    [{ FCR_WINDOW: '0h' }, 'FCR_WINDOW: "0h" is not a duration — expected a number and a unit (s, m, h, d), e.g. 30s, 5m, 24h, 7d'],
    [{ CSAT_DELAY: '5' }, 'CSAT_DELAY: "5" is not a duration — expected a number and a unit (s, m, h, d), e.g. 30s, 5m, 24h, 7d'],
    [{ RETENTION_DAYS: '-3' }, 'RETENTION_DAYS: "-3" is not valid — expected a whole number of days, at least 1'],
    [{ WHATSAPP_API_URL: 'graph.facebook.com' }, 'WHATSAPP_API_URL: not an http(s) URL'],
    [{ BUSINESS_HOURS: '/nonexistent/hours.json' }, 'BUSINESS_HOURS: "/nonexistent/hours.json" is neither inline JSON nor a readable file'],
    [
      { BUSINESS_HOURS: '{"timezone":"Europe/Berlin","weekly":{"mon":["17:00-09:00"]}}' },
      'BUSINESS_HOURS: weekly.mon[0]: "17:00-09:00" ends before it starts (a shift cannot cross midnight; split it)',
    ],
    [{ TWILIO_AUTH_TOKEN: 't' }, 'PUBLIC_URL: required when TWILIO_AUTH_TOKEN is set — Twilio signs the public URL it calls'],
    [{ CSAT_TEMPLATE_NAME: 'csat' }, 'CSAT_TEMPLATE_LANGUAGE: required when CSAT_TEMPLATE_NAME is set — e.g. en_US or de'],
    [
      { TRUST_PROXY: 'true' },
      'TRUST_PROXY: "true" is not valid — expected the number of proxies in front (1–10), or their addresses or CIDR ranges, comma-separated (e.g. 10.0.0.0/8,loopback)',
    ],
    [
      { TRUST_PROXY: '10.0.0.0/33' },
      'TRUST_PROXY: "10.0.0.0/33" is not valid — expected the number of proxies in front (1–10), or their addresses or CIDR ranges, comma-separated (e.g. 10.0.0.0/8,loopback)',
    ],
    [{ AGENT_LABELS: 'md5' }, 'AGENT_LABELS: expected as_is or hashed'],
    [{ AGENT_LABELS: 'hashed' }, 'PSEUDONYM_KEY: required when AGENT_LABELS=hashed — the key of the hash that turns agent ids into labels'],
    [{ PSEUDONYM_KEY: 'short' }, 'PSEUDONYM_KEY: too short — expected at least 16 characters, e.g. from openssl rand -hex 32'],
    [
      { PSEUDONYM_KEY: '0123456789abcdef', PSEUDONYM_KEY_FILE: '/x' },
      'PSEUDONYM_KEY: set both PSEUDONYM_KEY and PSEUDONYM_KEY_FILE — use one of them',
    ],
    [{ PSEUDONYM_KEY_FILE: '/nonexistent/key' }, 'PSEUDONYM_KEY_FILE: cannot read "/nonexistent/key" (ENOENT)'],
  ];
  for (const [env, line] of table) {
    it(`rejects ${JSON.stringify(env)}`, () => {
      const result = loadConfig({ ...REQUIRED, ...env });
      assert.ok(!result.ok);
      assert.deepEqual(result.errors, [line]);
    });
  }

  it('reads durations, trims values and strips a trailing slash from the API URL', () => {
    const result = loadConfig({ ...REQUIRED, AUTO_RESOLVE_AFTER: '90m', PORT: ' 9100 ', WHATSAPP_API_URL: 'http://127.0.0.1:9999/v24.0/' });
    assert.ok(result.ok);
    assert.equal(result.config.autoResolveAfterMs, 90 * 60_000);
    assert.equal(result.config.port, 9100);
    assert.equal(result.config.whatsappApiUrl, 'http://127.0.0.1:9999/v24.0');
  });
});

describe('privacy and proxy settings', () => {
  it('reads PSEUDONYM_KEY from a file, and TRUST_PROXY as a hop count or a list of proxies', () => {
    const dir = mkdtempSync(join(tmpdir(), 'wa-config-'));
    try {
      writeFileSync(join(dir, 'key'), 'from-a-file-0123456789\n');
      const result = loadConfig({
        ...REQUIRED,
        PSEUDONYM_KEY_FILE: join(dir, 'key'),
        AGENT_LABELS: 'hashed',
        TRUST_PROXY: '10.0.0.0/8, loopback',
      });
      assert.ok(result.ok, JSON.stringify(result));
      assert.equal(result.config.pseudonymKey, 'from-a-file-0123456789');
      assert.equal(result.config.agentLabels, 'hashed');
      assert.equal(result.config.trustProxy, '10.0.0.0/8,loopback');
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
    const defaults = loadConfig(REQUIRED);
    assert.ok(defaults.ok);
    assert.equal(defaults.config.trustProxy, false);
    assert.equal(defaults.config.agentLabels, 'as_is');
    assert.equal(defaults.config.pseudonymKey, undefined);
    const hops = loadConfig({ ...REQUIRED, TRUST_PROXY: '2' });
    assert.ok(hops.ok && hops.config.trustProxy === 2);
  });
});

describe('durations', () => {
  it('parses and formats the documented units', () => {
    assert.equal(parseDuration('30s'), 30_000);
    assert.equal(parseDuration('5m'), 300_000);
    assert.equal(parseDuration('7d'), 7 * 86_400_000);
    assert.equal(parseDuration('1.5h'), undefined);
    assert.equal(parseDuration('h'), undefined);
    assert.equal(formatDuration(86_400_000), '1d');
    assert.equal(formatDuration(90_000), '90s');
  });
});

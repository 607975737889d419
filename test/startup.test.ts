/**
 * Start-up that never lies, as a user meets it: `--help` and `--version`; a port already taken
 * (the program exits non-zero naming the port instead of logging "listening"); a checkout whose
 * path holds a space; placeholder secrets refused; every secret readable from `<NAME>_FILE`.
 */
import assert from 'node:assert/strict';
import { cpSync, mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { loadConfig, SCHEMA_SETTINGS } from '../src/config/config.ts';
import { SECRET_SETTINGS, SETTINGS } from '../src/config/settings.ts';
import { isMainModule } from '../src/cli/is-main.ts';
import { APP_SECRET, VERIFY_TOKEN } from './support/meta.ts';
import { killLeftoverExporters, runExporter, stopExporter } from './support/process.ts';

const ROOT = fileURLToPath(new URL('../', import.meta.url));
const SECRETS = { WHATSAPP_APP_SECRET: APP_SECRET, WHATSAPP_VERIFY_TOKEN: VERIFY_TOKEN, EVENTS_API_TOKEN: 'events-token-1' };
const VERSION = (JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { version: string }).version;

const scratch = mkdtempSync(join(tmpdir(), 'wa-startup-'));
after(() => {
  killLeftoverExporters();
  rmSync(scratch, { recursive: true, force: true });
});

describe('the command line', () => {
  it('the settings catalogue (--help) lists every variable the schema reads, and the README documents each', () => {
    assert.deepEqual([...SETTINGS.map((s) => s.name)].sort(), [...SCHEMA_SETTINGS].sort());
    const readme = readFileSync(join(ROOT, 'README.md'), 'utf8');
    for (const setting of SETTINGS)
      assert.match(readme, new RegExp(`^\\| [^|]*\`${setting.name}\``, 'm'), `README's settings table has ${setting.name}`);
    assert.match(readme, /^\| `<NAME>_FILE` \|/m);
  });

  it('--help prints usage with every setting and exits 0, without starting', async () => {
    const run = await runExporter({}, { waitReady: false, args: ['--help'] });
    assert.equal(await run.exited, 0);
    const help = run.stdout();
    assert.match(help, /^whatsapp-helpdesk-exporter /);
    assert.match(help, /Usage: npm start/);
    for (const setting of SETTINGS) assert.match(help, new RegExp(`^  ${setting.name} `, 'm'), `--help lists ${setting.name}`);
    assert.match(help, /<NAME>_FILE/);
    assert.equal(run.stderr(), '');
  });

  it('--version and -v print the version and exit 0', async () => {
    for (const flag of ['--version', '-v']) {
      const run = await runExporter({}, { waitReady: false, args: [flag] });
      assert.equal(await run.exited, 0);
      assert.equal(run.stdout(), `${VERSION}\n`);
    }
  });

  it('an unknown option exits 2 with one line', async () => {
    const run = await runExporter({}, { waitReady: false, args: ['--port=1'] });
    assert.equal(await run.exited, 2);
    assert.equal(run.stderr().trim().split('\n').length, 1);
    assert.equal(run.stderr(), "error: Unknown option '--port' — settings are environment variables; see --help\n");
  });
});

describe('listening', () => {
  it('a port already in use: exit 1, one line naming the port, never "listening"', async () => {
    const blocker = net.createServer();
    await new Promise<void>((resolve) => blocker.listen(0, resolve));
    const port = (blocker.address() as net.AddressInfo).port;
    try {
      const run = await runExporter({ ...SECRETS, PORT: String(port), DATA_DIR: join(scratch, 'busy') }, { waitReady: false });
      assert.equal(await run.exited, 1);
      assert.deepEqual(run.stderr().trim().split('\n'), [
        `error: cannot listen on port ${port}: the address is already in use (EADDRINUSE) — stop the other program or choose another PORT`,
      ]);
      assert.doesNotMatch(run.stdout(), /listening/);
    } finally {
      await new Promise((resolve) => blocker.close(resolve));
    }
  });

  it('a database that refuses for good (no such database): exit 1 with one line, no endless retry', {
    skip: process.env.DATABASE_URL ? false : 'needs DATABASE_URL',
  }, async () => {
    const url = new URL(process.env.DATABASE_URL!);
    url.pathname = '/wa_no_such_database';
    const run = await runExporter({ ...SECRETS, DATABASE_URL: url.toString() }, { waitReady: false });
    assert.equal(await run.exited, 1);
    assert.deepEqual(run.stderr().trim().split('\n'), [
      'error: the database refused the exporter: database "wa_no_such_database" does not exist (3D000)',
    ]);
  });

  it('starts and serves from a checkout whose path holds a space', async () => {
    const checkout = join(scratch, 'my projects', 'whatsapp exporter');
    mkdirSync(checkout, { recursive: true });
    for (const part of ['src', 'config', 'package.json']) cpSync(join(ROOT, part), join(checkout, part), { recursive: true });
    symlinkSync(join(ROOT, 'node_modules'), join(checkout, 'node_modules'));
    const run = await runExporter({ ...SECRETS, DATA_DIR: join(checkout, 'data') }, { cwd: checkout });
    assert.equal((await fetch(`${run.url}/healthz`)).status, 200);
    assert.match(run.stdout(), /"msg":"listening on :\d+"/);
    assert.equal(await stopExporter(run), 0);
  });

  it('isMainModule compares real paths, so encoded characters and symlinks match', () => {
    const dir = join(scratch, 'a dir with spaces & #');
    mkdirSync(dir, { recursive: true });
    const file = join(dir, 'entry.ts');
    writeFileSync(file, '');
    const url = new URL(`file://${file.split('/').map(encodeURIComponent).join('/')}`).href;
    assert.ok(url.includes('%20'));
    assert.ok(isMainModule(url, file));
    assert.ok(isMainModule(url, join(dir, 'entry')), 'node resolves a missing extension itself');
    symlinkSync(dir, join(scratch, 'link'));
    assert.ok(isMainModule(url, join(scratch, 'link', 'entry.ts')));
    assert.ok(!isMainModule(url, join(dir, 'other.ts')));
    assert.ok(!isMainModule(url, undefined));
  });
});

describe('secrets', () => {
  it('refuses the change-me placeholders of .env.example, one line each', () => {
    const example = readFileSync(join(ROOT, '.env.example'), 'utf8');
    const value = (name: string) => example.match(new RegExp(`^${name}=(.*)$`, 'm'))![1]!;
    const result = loadConfig({
      WHATSAPP_APP_SECRET: value('WHATSAPP_APP_SECRET'),
      WHATSAPP_VERIFY_TOKEN: value('WHATSAPP_VERIFY_TOKEN'),
      EVENTS_API_TOKEN: 'a-real-token',
      DATABASE_URL: `postgres://whatsapp:${value('POSTGRES_PASSWORD')}@postgres:5432/whatsapp`,
    });
    assert.ok(!result.ok);
    assert.deepEqual(result.errors, [
      'DATABASE_URL: the password is the placeholder "change-me-postgres" — set a real password (e.g. openssl rand -hex 24)',
      'WHATSAPP_APP_SECRET: "change-me-app-secret" is a placeholder, not a secret — set a real value (e.g. openssl rand -hex 24)',
      'WHATSAPP_VERIFY_TOKEN: "change-me-verify-token" is a placeholder, not a secret — set a real value (e.g. openssl rand -hex 24)',
    ]);
  });

  it('refuses other placeholders, also in a comma-separated list and in optional secrets', () => {
    for (const [name, placeholder] of [
      ['EVENTS_API_TOKEN', '…'],
      ['METRICS_TOKEN', 'CHANGEME'],
      ['WHATSAPP_APP_SECRET', 'real-secret-1,change-me'],
      ['WHATSAPP_ACCESS_TOKEN', '<your token>'],
    ] as const) {
      const result = loadConfig({ ...SECRETS, [name]: placeholder });
      assert.ok(!result.ok, `${name}=${placeholder}`);
      assert.match(result.errors[0]!, new RegExp(`^${name}: ".*" is a placeholder`));
    }
    // Words that merely contain "change" are real secrets.
    assert.ok(loadConfig({ ...SECRETS, EVENTS_API_TOKEN: 'exchange-meeting-7f3a' }).ok);
  });

  it('the program refuses a placeholder at start: exit 2, one line', async () => {
    const run = await runExporter({ ...SECRETS, EVENTS_API_TOKEN: 'change-me-events-token' }, { waitReady: false });
    assert.equal(await run.exited, 2);
    assert.deepEqual(run.stderr().trim().split('\n'), [
      'config error: EVENTS_API_TOKEN: "change-me-events-token" is a placeholder, not a secret — set a real value (e.g. openssl rand -hex 24)',
    ]);
  });

  it('reads every secret from <NAME>_FILE, dropping one trailing newline', () => {
    const dir = join(scratch, 'secrets');
    mkdirSync(dir, { recursive: true });
    const env: Record<string, string> = { PUBLIC_URL: 'https://helpdesk.example.org' };
    for (const name of SECRET_SETTINGS) {
      const value = name === 'DATABASE_URL' ? 'postgres://exporter:s3cret@db:5432/whatsapp' : `${name.toLowerCase()}-from-file`;
      writeFileSync(join(dir, name), `${value}\n`);
      env[`${name}_FILE`] = join(dir, name);
    }
    const result = loadConfig(env);
    assert.ok(result.ok, JSON.stringify(!result.ok && result.errors));
    const c = result.config;
    assert.equal(c.databaseUrl, 'postgres://exporter:s3cret@db:5432/whatsapp');
    assert.equal(c.whatsappAppSecret, 'whatsapp_app_secret-from-file');
    assert.equal(c.whatsappVerifyToken, 'whatsapp_verify_token-from-file');
    assert.equal(c.eventsApiToken, 'events_api_token-from-file');
    assert.equal(c.metricsToken, 'metrics_token-from-file');
    assert.equal(c.whatsappAccessToken, 'whatsapp_access_token-from-file');
    assert.equal(c.twilioAuthToken, 'twilio_auth_token-from-file');
    assert.equal(c.chatwootWebhookSecret, 'chatwoot_webhook_secret-from-file');
  });

  it('says what is wrong with a _FILE: unreadable, empty, both set, placeholder inside', () => {
    const dir = join(scratch, 'bad-secrets');
    mkdirSync(dir, { recursive: true });
    writeFileSync(join(dir, 'empty'), '\n');
    writeFileSync(join(dir, 'placeholder'), 'change-me-verify-token\n');
    const result = loadConfig({
      WHATSAPP_APP_SECRET_FILE: join(dir, 'missing'),
      WHATSAPP_VERIFY_TOKEN_FILE: join(dir, 'placeholder'),
      EVENTS_API_TOKEN_FILE: join(dir, 'empty'),
      METRICS_TOKEN: 'token',
      METRICS_TOKEN_FILE: join(dir, 'empty'),
    });
    assert.ok(!result.ok);
    assert.deepEqual(result.errors, [
      `WHATSAPP_APP_SECRET_FILE: cannot read "${join(dir, 'missing')}" (ENOENT)`,
      'WHATSAPP_VERIFY_TOKEN (from WHATSAPP_VERIFY_TOKEN_FILE): "change-me-verify-token" is a placeholder, not a secret — set a real value (e.g. openssl rand -hex 24)',
      `EVENTS_API_TOKEN_FILE: "${join(dir, 'empty')}" is empty — it must hold the value of EVENTS_API_TOKEN`,
      'METRICS_TOKEN: set both METRICS_TOKEN and METRICS_TOKEN_FILE — use one of them',
    ]);
  });
});

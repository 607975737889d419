/**
 * The program as a user starts it: settings checked before anything else, the embedded
 * database when DATABASE_URL is unset (said in the first log line), webhooks counted once across
 * a restart, and a clean stop on SIGTERM.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { APP_SECRET, inbound, signed, textMessage, VERIFY_TOKEN } from './support/meta.ts';
import { killLeftoverExporters, runExporter, stopExporter } from './support/process.ts';

const SECRETS = { WHATSAPP_APP_SECRET: APP_SECRET, WHATSAPP_VERIFY_TOKEN: VERIFY_TOKEN, EVENTS_API_TOKEN: 'events' };

describe('starting the program', () => {
  it('stops with one line per bad setting, exit code 2, no stack trace', async () => {
    const exporter = await runExporter({ PORT: '8080', AUTO_RESOLVE_AFTER: 'soon', WHATSAPP_VERIFY_TOKEN: 'v' }, { waitReady: false });
    assert.equal(await exporter.exited, 2);
    assert.deepEqual(exporter.stderr().trim().split('\n'), [
      'config error: WHATSAPP_APP_SECRET: required — the Meta app secret that verifies X-Hub-Signature-256',
      'config error: EVENTS_API_TOKEN: required — the bearer token helpdesks use for POST /api/v1/events',
      'config error: AUTO_RESOLVE_AFTER: "soon" is not a duration — expected a number and a unit (s, m, h, d), e.g. 30s, 5m, 24h, 7d',
    ]);
    assert.equal(exporter.stdout(), '');
  });

  const dataDir = mkdtempSync(join(tmpdir(), 'wa-exporter-'));
  after(() => {
    killLeftoverExporters();
    rmSync(dataDir, { recursive: true, force: true });
  });

  it('runs on the embedded database, counts a redelivery after a restart once, and stops on SIGTERM', async () => {
    const from = '4915188800001';
    const { body, signature } = signed(inbound(from, 'Émile', [textMessage(from, 'Bonjour, où est ma commande ?')]));
    const postTo = (url: string) =>
      fetch(`${url}/webhooks/whatsapp`, {
        method: 'POST',
        body,
        headers: { 'Content-Type': 'application/json', 'X-Hub-Signature-256': signature },
      });
    const inboundCount = async (url: string) => {
      const text = await (await fetch(`${url}/metrics`)).text();
      return [...text.matchAll(/^whatsapp_messages_total\{direction="inbound",[^}]*\} (\d+)$/gm)].reduce((n, m) => n + Number(m[1]), 0);
    };

    const first = await runExporter({ ...SECRETS, DATA_DIR: dataDir, LOG_LEVEL: 'info' });
    const firstLine = JSON.parse(first.stdout().split('\n')[0]!);
    assert.match(firstLine.msg, /embedded PostgreSQL \(PGlite\)/);
    assert.equal(firstLine.database, 'embedded');
    assert.equal((await postTo(first.url)).status, 200);
    assert.equal(await inboundCount(first.url), 1);
    assert.equal(await stopExporter(first), 0);
    assert.match(first.stdout(), /"msg":"stopped"/);
    assert.doesNotMatch(first.stdout(), /4915188800001|Bonjour|Émile/, 'no phone numbers, names or text in logs');

    const second = await runExporter({ ...SECRETS, DATA_DIR: dataDir, LOG_LEVEL: 'info' });
    const res = await postTo(second.url);
    assert.equal(res.status, 200);
    assert.deepEqual(await res.json(), { status: 'duplicate' });
    assert.equal(await inboundCount(second.url), 0);
    assert.equal(await stopExporter(second), 0);
  });
});

/**
 * The privacy promise as a data-protection officer checks it, on the real program and a real
 * PostgreSQL: a conversation several days older than RETENTION_DAYS and a fresh one are sent;
 * after a restart a full pg_dump holds no trace of the old one's name, number, text or wamids,
 * and still holds the fresh one; after an erasure request it holds no trace of that customer.
 */
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { after, before, describe, it } from 'node:test';
import { EVENTS_TOKEN } from './support/app.ts';
import { createTestDatabase, type TestDatabase } from './support/database.ts';
import { APP_SECRET, VERIFY_TOKEN } from './support/meta.ts';
import { type Exporter, killLeftoverExporters, runExporter, stopExporter, waitForOutput } from './support/process.ts';
import { conversation, type Request, tracesIn } from './support/privacy.ts';

const DAY = 86_400_000;
const needsPostgres = !process.env.DATABASE_URL && 'needs DATABASE_URL (pg_dump of a PostgreSQL database)';

let db: TestDatabase;
before(async () => {
  if (!needsPostgres) db = await createTestDatabase();
});
after(async () => {
  killLeftoverExporters();
  await db?.drop();
});

function pgDump(url: string): string {
  return execFileSync('pg_dump', ['--dbname', url, '--no-owner'], { encoding: 'utf8', maxBuffer: 256 * 1024 * 1024 });
}

async function send(exporter: Exporter, r: Request): Promise<void> {
  const res =
    r.kind === 'webhook'
      ? await fetch(`${exporter.url}/webhooks/whatsapp`, {
          method: 'POST',
          body: r.body,
          headers: { 'Content-Type': 'application/json', 'X-Hub-Signature-256': r.signature },
        })
      : await fetch(`${exporter.url}/api/v1/events`, {
          method: 'POST',
          body: JSON.stringify(r.body),
          headers: { 'Content-Type': 'application/json', Authorization: `Bearer ${EVENTS_TOKEN}` },
        });
  assert.equal(res.status, 200, await res.text());
}

describe('retention and erasure, end to end', { skip: needsPostgres }, () => {
  it('leaves no trace of an expired conversation after a restart, nor of an erased customer', async () => {
    const env = {
      DATABASE_URL: db.url!,
      WHATSAPP_APP_SECRET: APP_SECRET,
      WHATSAPP_VERIFY_TOKEN: VERIFY_TOKEN,
      EVENTS_API_TOKEN: EVENTS_TOKEN,
      RETENTION_DAYS: '2',
      LOG_LEVEL: 'info',
    };
    const old = conversation('4915144400001', 'Gerlinde Vergangen', new Date(Date.now() - 6 * DAY), 'gestern');
    const fresh = conversation('4915144400002', 'Hannes Heute', new Date(Date.now() - 30 * 60_000), 'heute');

    const first = await runExporter(env);
    for (const r of [...old.requests, ...fresh.requests]) await send(first, r);
    assert.equal(await stopExporter(first), 0);
    assert.deepEqual(tracesIn(pgDump(db.url!), [old.phone, old.name]), [old.phone, old.name], 'stored before the restart');

    const second = await runExporter(env);
    try {
      const dump = pgDump(db.url!);
      assert.deepEqual(tracesIn(dump, old.secrets), [], 'the expired conversation left traces in the dump');
      assert.deepEqual(tracesIn(dump, fresh.secrets), fresh.secrets, 'the fresh conversation must be kept whole');
      const REMOVED = /"msg":"retention: personal data past its period removed"/;
      assert.match(await waitForOutput(second, REMOVED), REMOVED);

      const erased = await fetch(`${second.url}/api/v1/customers/${encodeURIComponent(`+${fresh.phone}`)}`, {
        method: 'DELETE',
        headers: { Authorization: `Bearer ${EVENTS_TOKEN}` },
      });
      assert.equal(erased.status, 200);
      const body = (await erased.json()) as { status: string; removed: Record<string, number> };
      assert.equal(body.status, 'erased');
      assert.equal(body.removed.contacts, 1);
      const afterErasure = pgDump(db.url!);
      assert.deepEqual(tracesIn(afterErasure, fresh.secrets), [], 'the erased customer left traces in the dump');
      assert.deepEqual(tracesIn(afterErasure, old.secrets), []);

      // The anonymous facts are still there: both conversations and their messages are counted.
      const metrics = await (await fetch(`${second.url}/metrics`)).text();
      assert.match(metrics, /^whatsapp_erasure_requests_total\{outcome="erased"\} 1$/m);
      assert.doesNotMatch(metrics, new RegExp(`${old.phone}|${fresh.phone}|Gerlinde|Hannes`));
      for (const log of [first.stdout(), second.stdout(), first.stderr(), second.stderr()])
        assert.deepEqual(tracesIn(log, [...old.secrets, ...fresh.secrets]), [], 'no personal data in the logs');
    } finally {
      await stopExporter(second);
    }
  });
});

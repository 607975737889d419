/**
 * The simulator speaks Twilio and WATI (`--provider`): its traffic, in each provider's wire
 * format and signed its way, is accepted by an exporter configured as the demo configures it,
 * and fills the KPIs under that provider's business number — so the demo and the dashboards
 * show either provider.
 */
import assert from 'node:assert/strict';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, describe, it } from 'node:test';
import { parseCli } from '../src/demo/cli.ts';
import { Simulator } from '../src/demo/simulator.ts';
import { twilioNumber } from '../src/demo/wire/twilio.ts';
import { watiChannel } from '../src/demo/wire/wati.ts';
import { DEFAULT_BUSINESS } from '../src/demo/plan.ts';
import { EVENTS_TOKEN, sample, scrape, testApp, total } from './support/app.ts';
import { createTestDatabase, type TestDatabase } from './support/database.ts';
import { APP_SECRET } from './support/meta.ts';

let db: TestDatabase;
before(async () => {
  db = await createTestDatabase();
});
after(() => db.drop());

const cases = [
  {
    provider: 'twilio',
    businessNumber: twilioNumber(DEFAULT_BUSINESS),
    secrets: (url: string) => ({ TWILIO_AUTH_TOKEN: 'demo-twilio-token-0123456789', PUBLIC_URL: url }),
  },
  {
    provider: 'wati',
    businessNumber: watiChannel(DEFAULT_BUSINESS),
    secrets: () => ({ WATI_WEBHOOK_TOKEN: 'demo-wati-token-0123456789abcdef' }),
  },
];

describe('the simulator speaking each provider', () => {
  it('is offered on the command line', () => {
    for (const { provider } of cases) {
      const parsed = parseCli(['--provider', provider], {});
      assert.ok(parsed.ok && parsed.options.provider === provider);
    }
    const wrong = parseCli(['--provider', 'carrier-pigeon'], {});
    assert.ok(!wrong.ok);
    assert.match(wrong.errors[0]!, /^--provider: "carrier-pigeon" is not one of meta(, [a-z]+)+$/);
    for (const { provider } of cases) assert.ok(wrong.errors[0]!.includes(provider), provider);
  });

  for (const { provider, businessNumber, secrets } of cases) {
    it(`fills the KPIs through ${provider}, every request accepted`, async () => {
      // The exporter's PUBLIC_URL is its own address (Twilio signs it), known once it listens.
      const server = createServer();
      server.listen(0, '127.0.0.1');
      await new Promise((resolve) => server.once('listening', resolve));
      const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
      const providerSecrets = secrets(url);
      const app = testApp(db.database, providerSecrets);
      server.on('request', app.express);
      try {
        // Monday 09:30 in Berlin on the simulated calendar (agents on shift), conversations at 30× pace.
        // Both providers key the demo's business number alike (its digits): other customers (seed) keep the runs apart.
        const simulator = new Simulator({
          seed: provider === 'twilio' ? 7 : 8,
          start: new Date(),
          calendarStart: new Date('2026-11-23T08:30:00Z'),
          speed: 720,
          pace: 30,
          peakPerHour: 600,
          target: url,
          appSecret: APP_SECRET,
          eventsToken: EVENTS_TOKEN,
          provider,
          providerSecrets,
          durationMs: 8_000,
          lookaheadMs: 3_000,
        });
        const stats = await simulator.run();
        assert.ok(stats.conversations >= 5, `enough traffic (${JSON.stringify(stats)})`);
        assert.equal(stats.failedRequests, 0, `every request accepted: ${JSON.stringify(stats.byStatus)}`);

        const m = await scrape(app);
        assert.ok(sample(m, 'whatsapp_webhook_requests_total', { provider, outcome: 'accepted' })! > 10);
        assert.equal(sample(m, 'whatsapp_webhook_requests_total', { provider, outcome: 'rejected_signature' }), 0);
        assert.equal(sample(m, 'whatsapp_webhook_requests_total', { provider, outcome: 'rejected_payload' }), 0);
        assert.ok(total(m, 'whatsapp_conversations_opened_total', { business_number: businessNumber }) >= 5);
        assert.ok(total(m, 'whatsapp_first_response_seconds_count', { business_number: businessNumber }) >= 1, 'answers were counted');
        assert.ok(total(m, 'whatsapp_messages_total', { direction: 'outbound' }) >= 1);
      } finally {
        await new Promise((resolve) => server.close(resolve));
      }
    });
  }
});

/**
 * The load generator of `npm run bench`, run as its own process so that its CPU is not the
 * server's: posts signed Meta webhooks (60 % one inbound text message, 40 % one status update)
 * over `concurrency` keep-alive connections for `seconds`, after a warm-up, and prints one JSON
 * line: requests, answers by status, throughput and latency percentiles, and how many message
 * and status webhooks it sent (to check that every one was stored).
 *
 *   tsx bench/ingest/load-generator.ts <url> <concurrency> <seconds> <secret> <sequence start>
 */
import http from 'node:http';
import { signBody } from '../../src/ingest/meta/signature.ts';

const [url, concurrencyArg, secondsArg, secret, startArg] = process.argv.slice(2);
if (!url || !secret) {
  console.error('usage: load-generator.ts <url> <concurrency> <seconds> <secret> <sequence start>');
  process.exit(2);
}
const concurrency = Number(concurrencyArg);
const seconds = Number(secondsArg);
const WARMUP_MS = 1_000;

let seq = Number(startArg ?? 0);
let messages = 0;
let statuses = 0;

/** A realistic mix: 60 % one inbound text message, 40 % one status update. */
function nextWebhook(): string {
  seq += 1;
  const ts = String(Math.floor(Date.now() / 1000));
  const customer = `49151${String(seq % 5000).padStart(7, '0')}`;
  const metadata = { display_phone_number: '15550783881', phone_number_id: '106540352242922' };
  const isMessage = seq % 5 < 3;
  if (isMessage) messages += 1;
  else statuses += 1;
  const value = isMessage
    ? {
        messaging_product: 'whatsapp',
        metadata,
        contacts: [{ profile: { name: `Kunde ${seq % 5000}` }, wa_id: customer }],
        messages: [
          {
            from: customer,
            id: `wamid.bench.${seq}`,
            timestamp: ts,
            type: 'text',
            text: { body: `Hallo, wo ist meine Bestellung ${seq}? Vielen Dank!` },
          },
        ],
      }
    : {
        messaging_product: 'whatsapp',
        metadata,
        statuses: [{ id: `wamid.out.${seq}`, status: 'delivered', timestamp: ts, recipient_id: customer }],
      };
  return JSON.stringify({
    object: 'whatsapp_business_account',
    entry: [{ id: '102290129340398', changes: [{ field: 'messages', value }] }],
  });
}

const agent = new http.Agent({ keepAlive: true, maxSockets: concurrency });

function post(body: string): Promise<number> {
  return new Promise((resolve) => {
    const req = http.request(
      url!,
      {
        method: 'POST',
        agent,
        headers: {
          'content-type': 'application/json',
          'x-hub-signature-256': signBody(secret!, body),
          'content-length': Buffer.byteLength(body),
        },
      },
      (res) => {
        res.resume();
        res.on('end', () => resolve(res.statusCode ?? 0));
      },
    );
    req.on('error', () => resolve(0));
    req.end(body);
  });
}

const statusCounts: Record<string, number> = {};
const latencies: number[] = [];
const started = performance.now();
const measureFrom = started + WARMUP_MS;
const end = measureFrom + seconds * 1000;
let measured = 0;
await Promise.all(
  Array.from({ length: concurrency }, async () => {
    while (performance.now() < end) {
      const t = performance.now();
      const status = await post(nextWebhook());
      statusCounts[status] = (statusCounts[status] ?? 0) + 1;
      if (t >= measureFrom) {
        latencies.push(performance.now() - t);
        measured += 1;
      }
    }
  }),
);
const elapsed = (performance.now() - measureFrom) / 1000;
latencies.sort((a, b) => a - b);
const pct = (p: number) => latencies[Math.min(latencies.length - 1, Math.floor(latencies.length * p))] ?? NaN;
agent.destroy();
console.log(
  JSON.stringify({
    concurrency,
    requests: measured,
    perSecond: measured / elapsed,
    p50: pct(0.5),
    p99: pct(0.99),
    statuses: statusCounts,
    sent: { messages, statuses, total: messages + statuses },
    nextSeq: seq + 1,
  }),
);

/**
 * Write-path throughput: starts the real exporter (src/main.ts) on a fresh PostgreSQL database
 * and posts signed Meta webhooks at it from this process over keep-alive connections, at a few
 * concurrency levels. Prints webhooks/s, latency percentiles and the exporter's memory.
 *
 *   DATABASE_URL=postgres://postgres@127.0.0.1:5432/test npm run bench
 *   BENCH_REQUESTS=5000 BENCH_CONCURRENCY=1,16,64 npm run bench
 */
import { spawn } from 'node:child_process';
import http from 'node:http';
import { randomBytes } from 'node:crypto';
import pg from 'pg';
import { signBody } from '../src/ingest/meta/signature.ts';

const adminUrl = process.env.DATABASE_URL;
if (!adminUrl) {
  console.error('bench needs DATABASE_URL (a PostgreSQL server; a database is created and dropped)');
  process.exit(2);
}
const REQUESTS = Number(process.env.BENCH_REQUESTS ?? 4000);
const CONCURRENCY = (process.env.BENCH_CONCURRENCY ?? '1,8,32').split(',').map(Number);
const SECRET = 'bench-secret';
const PORT = 18000 + Math.floor(Math.random() * 1000);

const dbName = `wa_bench_${randomBytes(4).toString('hex')}`;
const admin = new pg.Client({ connectionString: adminUrl });
await admin.connect();
await admin.query(`CREATE DATABASE ${dbName}`);
const url = new URL(adminUrl);
url.pathname = `/${dbName}`;

const child = spawn(process.execPath, ['--import', 'tsx', 'src/main.ts'], {
  env: {
    PATH: process.env.PATH,
    PORT: String(PORT),
    DATABASE_URL: url.toString(),
    WHATSAPP_APP_SECRET: SECRET,
    WHATSAPP_VERIFY_TOKEN: 'v',
    EVENTS_API_TOKEN: 'e',
    LOG_LEVEL: 'warn',
  },
  stdio: ['ignore', 'inherit', 'inherit'],
});
const base = `http://127.0.0.1:${PORT}`;
for (let i = 0; ; i++) {
  try {
    if ((await fetch(`${base}/readyz`)).ok) break;
  } catch {
    /* starting */
  }
  if (i > 300) throw new Error('exporter did not start');
  await new Promise((r) => setTimeout(r, 100));
}

const agent = new http.Agent({ keepAlive: true, maxSockets: 256 });
let seq = 0;

/** A realistic mix: 60 % one inbound text message, 40 % one status update. */
function nextWebhook(): string {
  seq += 1;
  const ts = String(Math.floor(Date.now() / 1000));
  const customer = `49151${String(seq % 5000).padStart(7, '0')}`;
  const metadata = { display_phone_number: '15550783881', phone_number_id: '106540352242922' };
  const value =
    seq % 5 < 3
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

function post(body: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const req = http.request(
      `${base}/webhooks/whatsapp`,
      {
        method: 'POST',
        agent,
        headers: {
          'content-type': 'application/json',
          'x-hub-signature-256': signBody(SECRET, body),
          'content-length': Buffer.byteLength(body),
        },
      },
      (res) => {
        res.resume();
        res.on('end', () => resolve(res.statusCode ?? 0));
      },
    );
    req.on('error', reject);
    req.end(body);
  });
}

async function rssOfExporter(): Promise<number> {
  const text = await (await fetch(`${base}/metrics`)).text();
  return Number(/^process_resident_memory_bytes (\S+)$/m.exec(text)?.[1] ?? NaN);
}

console.log(`write path: ${REQUESTS} webhooks per run (60 % inbound message, 40 % status), PostgreSQL, one transaction per request`);
console.log('concurrency  webhooks/s  p50 ms  p99 ms  errors  exporter RSS MiB');
for (const concurrency of CONCURRENCY) {
  const bodies = Array.from({ length: REQUESTS }, nextWebhook);
  const latencies: number[] = [];
  let errors = 0;
  let next = 0;
  const started = performance.now();
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (next < bodies.length) {
        const body = bodies[next++]!;
        const t = performance.now();
        if ((await post(body)) !== 200) errors += 1;
        latencies.push(performance.now() - t);
      }
    }),
  );
  const seconds = (performance.now() - started) / 1000;
  latencies.sort((a, b) => a - b);
  const pct = (p: number) => latencies[Math.min(latencies.length - 1, Math.floor(latencies.length * p))]!.toFixed(1);
  const rss = (await rssOfExporter()) / 1024 / 1024;
  console.log(
    `${String(concurrency).padStart(11)}  ${(REQUESTS / seconds).toFixed(0).padStart(10)}  ${pct(0.5).padStart(6)}  ${pct(0.99).padStart(6)}  ${String(errors).padStart(6)}  ${rss.toFixed(0).padStart(16)}`,
  );
}

child.kill('SIGTERM');
await new Promise((r) => child.once('exit', r));
agent.destroy();
await admin.query(`DROP DATABASE IF EXISTS ${dbName} WITH (FORCE)`);
await admin.end();

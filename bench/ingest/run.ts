/**
 * `npm run bench`: webhook ingest against a bare Node HTTP server in the same run. Builds the
 * exporter (`npm run build`, as the image runs it), starts it on a fresh PostgreSQL database,
 * starts a bare HTTP server (bench/ingest/bare-server.ts), and drives both with signed Meta
 * webhooks from a separate load-generator process (bench/ingest/load-generator.ts) at each
 * concurrency. Prints per concurrency: webhooks/s and p50/p99 latency of both, the ratio, CPU
 * per webhook in the exporter, in its PostgreSQL backends and in the bare server (from /proc:
 * less distorted by a busy machine than throughput), the exporter's peak RSS, answers other than
 * 200, and at the end whether every webhook was stored. Before the timed runs, a short run
 * through a counting proxy (bench/ingest/pg-counter.ts) counts statements, round trips and
 * transactions per webhook. Load averages are printed with the numbers.
 *
 *   DATABASE_URL=postgres://postgres@127.0.0.1:5432/test npm run bench
 *   BENCH_SECONDS=10 BENCH_CONCURRENCY=1,8,32,64 BENCH_HISTORY=1 npm run bench
 *
 * BENCH_SECONDS: measured seconds per run (default 5, after a 1 s warm-up). BENCH_HISTORY=N seeds
 * N years of history first (bench/seed-history.ts), so the write path works on a full database.
 * BENCH_ROUNDS=N: N rounds of (bare, exporter) at each concurrency, and the median, lowest and
 * highest ratio — on a shared machine whose speed drifts by tens of percent within a minute,
 * one pair of runs can land in different conditions; alternating rounds show the spread.
 * BENCH_ENV: extra exporter settings, e.g. BENCH_ENV="LOG_LEVEL=info". BENCH_PROGRAM: a compiled
 * exporter to run instead of building this one (e.g. another commit's `npm run build -- dist-x`,
 * then BENCH_PROGRAM=dist-x/main.js), to compare versions in the same conditions.
 */
import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { cpus, totalmem } from 'node:os';
import { fileURLToPath } from 'node:url';
import pg from 'pg';
import { pino } from 'pino';
import { createPostgresDatabase } from '../../src/storage/database.ts';
import { migrate } from '../../src/storage/migrate.ts';
import { seedHistory } from '../seed-history.ts';
import { exporterBackends, freePort, load, processCpu, rssMiB, startDistFlags, waitReady } from '../support.ts';
import { startCountingProxy } from './pg-counter.ts';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const adminUrl = process.env.DATABASE_URL;
if (!adminUrl) {
  console.error('bench needs DATABASE_URL (a PostgreSQL server; a database is created and dropped)');
  process.exit(2);
}
const SECONDS = Number(process.env.BENCH_SECONDS ?? 5);
const CONCURRENCY = (process.env.BENCH_CONCURRENCY ?? '1,8,32').split(',').map(Number);
const HISTORY = Number(process.env.BENCH_HISTORY ?? 0);
const ROUNDS = Math.max(1, Number(process.env.BENCH_ROUNDS ?? 1));
const EXTRA_ENV = Object.fromEntries(
  (process.env.BENCH_ENV ?? '')
    .split(/\s+/)
    .filter(Boolean)
    .map((kv) => [kv.slice(0, kv.indexOf('=')), kv.slice(kv.indexOf('=') + 1)]),
);
const PROGRAM = process.env.BENCH_PROGRAM;
/** The exporter runs with the node flags of `npm run start:dist`, as the image runs it. */
const EXPORTER_FLAGS = startDistFlags();
const SECRET = 'bench-app-secret-4f1c9a7e';

const dbName = `wa_bench_ingest_${randomBytes(4).toString('hex')}`;
const admin = new pg.Client({ connectionString: adminUrl });
await admin.connect();
const { rows: version } = await admin.query<{ server_version: string }>('SHOW server_version');
console.log(
  `ingest bench: ${cpus().length} × ${cpus()[0]?.model}, ${(totalmem() / 2 ** 30).toFixed(0)} GiB, PostgreSQL ${version[0]!.server_version}, Node ${process.version}; ${load()}`,
);
await admin.query(`CREATE DATABASE ${dbName}`);
const url = new URL(adminUrl);
url.pathname = `/${dbName}`;
const client = new pg.Client({ connectionString: url.toString() });

const children = new Set<ChildProcess>();
async function stop(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null) return;
  child.kill('SIGTERM');
  await new Promise((r) => child.once('exit', r));
  children.delete(child);
}

async function startExporter(databaseUrl: string): Promise<{ child: ChildProcess; url: string }> {
  const port = await freePort();
  const child = spawn(process.execPath, [...EXPORTER_FLAGS, PROGRAM ?? 'dist/main.js'], {
    cwd: ROOT,
    env: {
      PATH: process.env.PATH,
      PORT: String(port),
      DATABASE_URL: databaseUrl,
      WHATSAPP_APP_SECRET: SECRET,
      WHATSAPP_VERIFY_TOKEN: 'bench-verify-token',
      EVENTS_API_TOKEN: 'bench-events-token-8d2e',
      LOG_LEVEL: 'warn',
      RETENTION_DAYS: String(365 * Math.max(1, HISTORY) + 30),
      ...EXTRA_ENV,
    },
    stdio: ['ignore', 'inherit', 'inherit'],
  });
  children.add(child);
  const base = `http://127.0.0.1:${port}`;
  await waitReady(base, () => child.exitCode !== null);
  return { child, url: `${base}/webhooks/whatsapp` };
}

interface LoadResult {
  concurrency: number;
  requests: number;
  perSecond: number;
  p50: number;
  p99: number;
  statuses: Record<string, number>;
  sent: { messages: number; statuses: number; total: number };
  nextSeq: number;
}

let seq = 0;
const sent = { messages: 0, statuses: 0, total: 0, non200: 0 };
/** Runs the load generator against `target`; returns its result and the CPU the watched processes used. */
async function drive(target: string, concurrency: number, seconds: number, watch: () => number[]): Promise<LoadResult & { cpu: number[] }> {
  const before = watch().map(processCpu);
  const generator = spawn(
    process.execPath,
    ['--import', 'tsx', 'bench/ingest/load-generator.ts', target, String(concurrency), String(seconds), SECRET, String(seq)],
    { cwd: ROOT, stdio: ['ignore', 'pipe', 'inherit'] },
  );
  children.add(generator);
  let out = '';
  generator.stdout!.on('data', (chunk) => {
    out += chunk;
  });
  await new Promise((r) => generator.once('exit', r));
  children.delete(generator);
  const cpu = watch().map((pid, i) => processCpu(pid) - (before[i] ?? 0));
  const result = JSON.parse(out.trim().split('\n').at(-1)!) as LoadResult;
  seq = result.nextSeq;
  return { ...result, cpu };
}

const f = (n: number, digits = 0) => n.toFixed(digits);

/**
 * CPU seconds of the exporter and of every PostgreSQL backend serving it, since `since` (a
 * backend opened later counts from zero; one that closed in between is lost — the pool keeps
 * its connections open under load).
 */
async function cpuOf(exporterPid: number, since?: { pids: Map<number, number> }) {
  const pids = new Map<number, number>();
  for (const pid of [exporterPid, ...(await exporterBackends(client))]) pids.set(pid, processCpu(pid));
  if (!since) return { pids, exporter: 0, postgres: 0 };
  let postgres = 0;
  for (const [pid, cpu] of pids) if (pid !== exporterPid) postgres += cpu - (since.pids.get(pid) ?? 0);
  return { pids, exporter: (pids.get(exporterPid) ?? 0) - (since.pids.get(exporterPid) ?? 0), postgres };
}

/** Waits until no stored webhook waits to be applied (at most 10 minutes). */
async function drained(db: pg.Client): Promise<boolean> {
  const deadline = Date.now() + 600_000;
  while (Date.now() < deadline) {
    const { rows } = await db.query<{ n: number }>('SELECT count(*)::int AS n FROM ingest_queue');
    if (rows[0]!.n === 0) return true;
    await new Promise((r) => setTimeout(r, 100));
  }
  return false;
}
try {
  if (PROGRAM) console.log(`running ${PROGRAM}`);
  else {
    console.log('building the exporter (npm run build) …');
    execFileSync(process.execPath, ['scripts/build.mjs'], { cwd: ROOT, stdio: 'ignore' });
  }
  const database = createPostgresDatabase('postgres', { connectionString: url.toString(), max: 1 }, pino({ level: 'silent' }));
  await migrate(database);
  await database.close();
  await client.connect();
  if (HISTORY > 0) {
    console.log(`seeding ${HISTORY} year(s) of history …`);
    await seedHistory(client, HISTORY);
  }

  const bare = spawn(process.execPath, ['--import', 'tsx', 'bench/ingest/bare-server.ts'], {
    cwd: ROOT,
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  children.add(bare);
  const barePort = await new Promise<number>((resolve, reject) => {
    bare.stdout!.once('data', (chunk) => resolve(Number(String(chunk).trim())));
    bare.once('exit', () => reject(new Error('bare server exited')));
  });
  const bareUrl = `http://127.0.0.1:${barePort}/webhooks/whatsapp`;

  // Statements per webhook, through a counting proxy (a run of its own: the proxy adds a hop).
  {
    const pgUrl = new URL(url.toString());
    const proxy = await startCountingProxy(Number(pgUrl.port || 5432), pgUrl.hostname);
    pgUrl.port = String(proxy.port);
    const counted = await startExporter(pgUrl.toString());
    await new Promise((r) => setTimeout(r, 1_000));
    proxy.reset();
    const result = await drive(counted.url, 8, 3, () => []);
    await drained(client);
    const c = { ...proxy.counts };
    for (const [k, v] of Object.entries(result.sent)) sent[k as 'messages'] += v;
    sent.non200 += result.sent.total - (result.statuses['200'] ?? 0);
    const per = (n: number) => f(n / result.sent.total, 2);
    console.log(
      `per webhook at 8 connections (${result.sent.total} webhooks, applying behind the answers and background jobs included): ${per(c.statements)} statements, ` +
        `${per(c.roundTrips)} round trips, ${per(c.parses)} parses, ${per(c.transactions)} transactions`,
    );
    await stop(counted.child);
    await proxy.close();
  }

  const exporter = await startExporter(url.toString());
  // Peak RSS while answering, and while applying the backlog behind the answers.
  const peakRss = { answering: rssMiB(exporter.child.pid!), applying: 0 };
  let phase: keyof typeof peakRss = 'answering';
  const rssTimer = setInterval(() => {
    peakRss[phase] = Math.max(peakRss[phase], rssMiB(exporter.child.pid!));
  }, 100);
  console.log(`exporter idle RSS ${f(rssMiB(exporter.child.pid!))} MiB`);
  console.log(`\n${SECONDS} s per run after 1 s warm-up; 60 % inbound text message, 40 % status; load generator in its own process`);
  console.log(
    'conn | bare /s  p50 ms  p99 ms | exporter /s  p50 ms  p99 ms  non-200 | ratio | CPU ms/webhook answering: exporter  PostgreSQL  bare' +
      ' | applied behind: s after the load, CPU ms/webhook in all (exporter + PostgreSQL), sustained /s | load',
  );
  for (const concurrency of CONCURRENCY) {
    const ratios: number[] = [];
    for (let round = 1; round <= ROUNDS; round++) {
      const b = await drive(bareUrl, concurrency, SECONDS, () => [bare.pid!]);
      const started = await cpuOf(exporter.child.pid!);
      phase = 'answering';
      const e = await drive(exporter.url, concurrency, SECONDS, () => []);
      const answered = await cpuOf(exporter.child.pid!, started);
      const loadEnded = Date.now();
      // WEBHOOK_ACK=stored answers once a webhook is stored; wait until the queue is applied too.
      phase = 'applying';
      const drainSeconds = (await drained(client)) ? (Date.now() - loadEnded) / 1000 : Number.NaN;
      const all = await cpuOf(exporter.child.pid!, started);
      for (const [k, v] of Object.entries(e.sent)) sent[k as 'messages'] += v;
      const non200 = e.sent.total - (e.statuses['200'] ?? 0);
      sent.non200 += non200;
      const perWebhook = (seconds: number) => (seconds * 1000) / e.sent.total;
      const runSeconds = e.sent.total / e.perSecond;
      const ratio = e.perSecond / b.perSecond;
      ratios.push(ratio);
      console.log(
        [
          String(concurrency).padStart(4),
          `${f(b.perSecond).padStart(7)}  ${f(b.p50, 1).padStart(6)}  ${f(b.p99, 1).padStart(6)}`,
          `${f(e.perSecond).padStart(11)}  ${f(e.p50, 1).padStart(6)}  ${f(e.p99, 1).padStart(6)}  ${String(non200).padStart(7)}`,
          `${f(ratio, 2).padStart(5)}`,
          `${f(perWebhook(answered.exporter), 3).padStart(34)}  ${f(perWebhook(answered.postgres), 3).padStart(10)}  ${f(((b.cpu[0] ?? 0) * 1000) / b.sent.total, 3).padStart(4)}`,
          `${f(drainSeconds, 1).padStart(31)}  ${f(perWebhook(all.exporter), 3)} + ${f(perWebhook(all.postgres), 3)}  ${f(e.sent.total / (runSeconds + drainSeconds))}`,
          load(),
        ].join(' | '),
      );
    }
    if (ROUNDS > 1) {
      const sorted = [...ratios].sort((x, y) => x - y);
      console.log(
        `${String(concurrency).padStart(4)} | ratio over ${ROUNDS} rounds: median ${f(sorted[Math.floor((ROUNDS - 1) / 2)]!, 2)}, lowest ${f(sorted[0]!, 2)}, highest ${f(sorted.at(-1)!, 2)}`,
      );
    }
  }
  clearInterval(rssTimer);
  console.log(`\nexporter peak RSS under load: ${f(peakRss.answering)} MiB answering, ${f(peakRss.applying)} MiB applying the backlog`);
  await new Promise((r) => setTimeout(r, 500));
  const { rows } = await client.query<{ messages: number; statuses: number }>(
    `SELECT (SELECT count(*) FROM messages WHERE wamid LIKE 'wamid.bench.%')::int AS messages,
            (SELECT count(*) FROM message_statuses WHERE wamid LIKE 'wamid.out.%')::int AS statuses`,
  );
  const stored = rows[0]!;
  const complete = stored.messages === sent.messages && stored.statuses === sent.statuses && sent.non200 === 0;
  console.log(
    `stored: ${stored.messages} of ${sent.messages} messages, ${stored.statuses} of ${sent.statuses} statuses; answers other than 200: ${sent.non200} — ${complete ? 'every webhook answered 200 and stored' : 'INCOMPLETE'}`,
  );
  if (!complete) process.exitCode = 1;
} finally {
  for (const child of [...children]) await stop(child);
  await client.end().catch(() => undefined);
  await admin.query(`DROP DATABASE IF EXISTS ${dbName} WITH (FORCE)`);
  await admin.end();
}

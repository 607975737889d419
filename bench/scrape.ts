/**
 * Scrape cost against a year of history (and more): for each scale, a fresh PostgreSQL database
 * is migrated and seeded with plain SQL (bench/seed-history.ts), the real exporter (src/main.ts)
 * is started on it, and /metrics is scraped — right after start, while the agent_time job is
 * still folding the seeded history into totals, and again once it has. Prints per scale:
 * seeding time, the job's catch-up time, scrape latency (p50/p90/max of BENCH_SCRAPES), each
 * collector's duration as the exporter reports it, CPU per scrape in the exporter and in its
 * PostgreSQL backends (from /proc, read around each scrape: background jobs count only where
 * they overlap one), and each collector query's execution time inside PostgreSQL (EXPLAIN
 * ANALYZE, median of 5), with the original full-history agents query for comparison. Load
 * averages are printed with the numbers.
 *
 *   DATABASE_URL=postgres://postgres@127.0.0.1:5432/test npm run bench:scrape
 *   BENCH_SCALES=1 BENCH_SCRAPES=50 BENCH_EXPLAIN=1 npm run bench:scrape
 *
 * BENCH_SCALES: years of history per run (default 1,10). BENCH_REFERENCE: scales at which to time
 * the original query (default 1; it takes tens of seconds). BENCH_EXPLAIN=1 prints the plans.
 * BENCH_KEEP=1 keeps the databases; BENCH_DATABASE=<name> scrapes an existing one instead of
 * seeding (any database of this schema, seeded by any means).
 */
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { cpus } from 'node:os';
import pg from 'pg';
import { pino } from 'pino';
import { OPEN_CONVERSATIONS_SQL } from '../src/metrics/conversation-gauges.ts';
import { AGENT_GAUGES_SQL } from '../src/storage/agent-time-store.ts';
import { createPostgresDatabase } from '../src/storage/database.ts';
import { migrate } from '../src/storage/migrate.ts';
import { FULL_HISTORY_AGENTS_SQL } from '../test/support/agent-time-reference.ts';
import { seedHistory } from './seed-history.ts';
import { exporterBackends, freePort, load, processCpu, startDistFlags, waitReady } from './support.ts';

const adminUrl = process.env.DATABASE_URL;
if (!adminUrl) {
  console.error('bench:scrape needs DATABASE_URL (a PostgreSQL server; databases are created and dropped)');
  process.exit(2);
}
const SCALES = (process.env.BENCH_SCALES ?? '1,10').split(',').map(Number);
const REFERENCE = new Set((process.env.BENCH_REFERENCE ?? '1').split(',').filter(Boolean).map(Number));
const SCRAPES = Number(process.env.BENCH_SCRAPES ?? 20);
const EXPLAIN = process.env.BENCH_EXPLAIN === '1';
const KEEP = process.env.BENCH_KEEP === '1';
/** Scrape an existing database (seeded before, e.g. kept with BENCH_KEEP=1) instead of seeding one. */
const REUSE = process.env.BENCH_DATABASE;

const ms = (seconds: number) => `${(seconds * 1000).toFixed(1)} ms`;
const quantile = (values: number[], q: number) => {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.floor(sorted.length * q))]!;
};

function metric(text: string, name: string, labels = ''): number | undefined {
  const line = text.split('\n').find((l) => l.startsWith(`${name}${labels ? `{${labels}}` : ''} `));
  return line === undefined ? undefined : Number(line.split(' ').at(-1));
}

interface ScrapeRound {
  seconds: number[];
  collectors: Map<string, number[]>;
  failed: number;
  /** CPU seconds per scrape in the exporter and in its PostgreSQL backends, read around each scrape. */
  cpu: { exporter: number; postgres: number };
}

/** CPU of the exporter process and of every PostgreSQL backend serving it. */
async function cpuOf(exporterPid: number, client: pg.Client): Promise<{ exporter: number; postgres: Map<number, number> }> {
  const pids = await exporterBackends(client);
  return { exporter: processCpu(exporterPid), postgres: new Map(pids.map((pid) => [pid, processCpu(pid)])) };
}

function cpuSince(before: Awaited<ReturnType<typeof cpuOf>>, after: Awaited<ReturnType<typeof cpuOf>>) {
  let postgres = 0;
  for (const [pid, cpu] of after.postgres) postgres += cpu - (before.postgres.get(pid) ?? 0);
  return { exporter: after.exporter - before.exporter, postgres };
}

async function scrapeRound(base: string, count: number, exporterPid: number, client: pg.Client, measureCpu = true): Promise<ScrapeRound> {
  const round: ScrapeRound = { seconds: [], collectors: new Map(), failed: 0, cpu: { exporter: NaN, postgres: NaN } };
  // CPU is read around each scrape, so that a background job (timers, agent_time) counts only
  // when it overlaps one. /proc counts 10 ms ticks: exact only as an average over the round.
  const cpu = { exporter: 0, postgres: 0 };
  for (let i = 0; i < count; i++) {
    // Scrapes within a second share one collector run: space them as Prometheus would (less so).
    await new Promise((r) => setTimeout(r, 1_050));
    const before = measureCpu ? await cpuOf(exporterPid, client) : undefined;
    const started = performance.now();
    const text = await (await fetch(`${base}/metrics`)).text();
    round.seconds.push((performance.now() - started) / 1000);
    if (before) {
      const used = cpuSince(before, await cpuOf(exporterPid, client));
      cpu.exporter += used.exporter;
      cpu.postgres += used.postgres;
    }
    for (const collector of ['conversations', 'agents']) {
      const duration = metric(text, 'whatsapp_scrape_collector_duration_seconds', `collector="${collector}"`);
      if (duration !== undefined) round.collectors.set(collector, [...(round.collectors.get(collector) ?? []), duration]);
      if (metric(text, 'whatsapp_scrape_collector_success', `collector="${collector}"`) !== 1) round.failed += 1;
    }
  }
  if (measureCpu) round.cpu = { exporter: cpu.exporter / count, postgres: cpu.postgres / count };
  return round;
}

function report(title: string, round: ScrapeRound): void {
  const s = round.seconds;
  console.log(
    `  ${title}: ${s.length} scrapes p50 ${ms(quantile(s, 0.5))}, p90 ${ms(quantile(s, 0.9))}, max ${ms(Math.max(...s))}; ` +
      `collectors failed ${round.failed}; ${Number.isNaN(round.cpu.exporter) ? '' : `CPU per scrape: exporter ${ms(round.cpu.exporter)}, PostgreSQL ${ms(round.cpu.postgres)} `}(${load()})`,
  );
  for (const [collector, durations] of round.collectors) {
    console.log(`    collector ${collector}: p50 ${ms(quantile(durations, 0.5))}, max ${ms(Math.max(...durations))}`);
  }
}

/** Median execution time inside PostgreSQL (EXPLAIN ANALYZE) over five runs, as the collectors run it. */
async function executionTime(client: pg.Client, name: string, sql: string): Promise<void> {
  const times: number[] = [];
  let plan = '';
  for (let i = 0; i < 5; i++) {
    await client.query('BEGIN READ ONLY');
    await client.query('SET LOCAL jit = off');
    const { rows } = await client.query(`EXPLAIN (ANALYZE, BUFFERS) ${sql}`);
    await client.query('COMMIT');
    const lines = rows.map((r) => r['QUERY PLAN'] as string);
    times.push(Number(/Execution Time: ([\d.]+) ms/.exec(lines.at(-1) ?? '')?.[1]));
    plan = lines.join('\n');
  }
  console.log(`    ${name}: ${quantile(times, 0.5).toFixed(1)} ms in PostgreSQL (median of 5; ${load()})`);
  if (EXPLAIN) console.log(plan.replace(/^/gm, '      '));
}

const admin = new pg.Client({ connectionString: adminUrl });
await admin.connect();
const { rows: version } = await admin.query<{ server_version: string }>('SHOW server_version');
console.log(
  `scrape bench: ${cpus().length} × ${cpus()[0]?.model}, PostgreSQL ${version[0]!.server_version}, Node ${process.version}; ${load()}`,
);

for (const years of REUSE ? [0] : SCALES) {
  const dbName = REUSE ?? `wa_bench_scrape_${years}y_${randomBytes(3).toString('hex')}`;
  if (!REUSE) await admin.query(`CREATE DATABASE ${dbName}`);
  const url = new URL(adminUrl);
  url.pathname = `/${dbName}`;
  console.log(`\n${REUSE ? 'existing' : `${years} year(s) of`} history — database ${dbName}`);
  const client = new pg.Client({ connectionString: url.toString() });
  let child: ReturnType<typeof spawn> | undefined;
  try {
    const database = createPostgresDatabase('postgres', { connectionString: url.toString(), max: 1 }, pino({ level: 'silent' }));
    await migrate(database);
    await database.close();
    await client.connect();
    if (!REUSE) {
      const seedStarted = performance.now();
      await seedHistory(client, years, console.log);
      console.log(`  seeded in ${((performance.now() - seedStarted) / 1000).toFixed(0)} s (${load()})`);
    }

    const port = await freePort();
    const started = performance.now();
    // With the memory flags the image runs with (garbage collection is part of a scrape's cost).
    child = spawn(process.execPath, [...startDistFlags(), '--import', 'tsx', 'src/main.ts'], {
      env: {
        PATH: process.env.PATH,
        PORT: String(port),
        DATABASE_URL: url.toString(),
        LOG_LEVEL: 'warn',
        // Retention would start by anonymising everything older than 90 days: not what this measures.
        RETENTION_DAYS: String(365 * Math.max(years, 10) + 30),
        WHATSAPP_APP_SECRET: 'bench-secret',
        WHATSAPP_VERIFY_TOKEN: 'bench-verify',
        EVENTS_API_TOKEN: 'bench-events',
      },
      stdio: ['ignore', 'inherit', 'inherit'],
    });
    const base = `http://127.0.0.1:${port}`;
    await waitReady(base, () => child!.exitCode !== null);
    console.log(`  exporter ready after ${((performance.now() - started) / 1000).toFixed(1)} s`);
    // Meanwhile: when has the agent_time job folded every agent's seeded history?
    const watcher = new pg.Client({ connectionString: url.toString() });
    await watcher.connect();
    const caughtUp = (async () => {
      for (;;) {
        const { rows } = await watcher.query<{ n: number }>(
          `SELECT count(*)::int AS n FROM agents a LEFT JOIN agent_time_totals t ON t.agent = a.agent
            WHERE t.until IS NULL OR t.until = '-infinity'`,
        );
        if (rows[0]!.n === 0) return (performance.now() - started) / 1000;
        await new Promise((r) => setTimeout(r, 100));
      }
    })();
    report('right after start (agent_time job catching up)', await scrapeRound(base, SCRAPES, child.pid!, client, false));
    console.log(`  agent_time totals complete ${(await caughtUp).toFixed(1)} s after start (${load()})`);
    await watcher.end();
    report('with totals', await scrapeRound(base, SCRAPES, child.pid!, client));

    console.log('  collector queries:');
    await executionTime(client, 'agents', AGENT_GAUGES_SQL);
    await executionTime(client, 'conversations (open and waiting)', OPEN_CONVERSATIONS_SQL);
    if (REFERENCE.has(years)) {
      await client.query(`SET statement_timeout = '600s'`);
      const t = performance.now();
      await client.query(FULL_HISTORY_AGENTS_SQL);
      console.log(`    original agents query (whole history, for comparison): ${ms((performance.now() - t) / 1000)} (${load()})`);
    }
  } finally {
    if (child) {
      child.kill('SIGTERM');
      await new Promise((r) => child!.once('exit', r));
    }
    await client.end().catch(() => undefined);
    if (KEEP || REUSE) console.log(`  kept database ${dbName}`);
    else await admin.query(`DROP DATABASE IF EXISTS ${dbName} WITH (FORCE)`);
  }
}
await admin.end();

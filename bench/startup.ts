/**
 * Start-up time to readiness: the compiled program (`node dist/main.js`, as in the image) versus
 * the TypeScript sources under tsx (`npm start`). Each run spawns the program and polls /readyz
 * until it answers 200; the database is created and migrated once before the runs, so the
 * numbers are a restart's, not a first install's. Prints the median and range of each.
 *
 *   npm run build && DATABASE_URL=postgres://postgres@127.0.0.1:5432/test npm run bench:startup [-- runs]
 */
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import pg from 'pg';
import { freePort } from './support.ts';

const ROOT = fileURLToPath(new URL('../', import.meta.url));
const adminUrl = process.env.DATABASE_URL;
if (!adminUrl) {
  console.error('bench:startup needs DATABASE_URL (a PostgreSQL server; a database is created and dropped)');
  process.exit(2);
}
if (!existsSync(`${ROOT}dist/main.js`)) {
  console.error('bench:startup needs the compiled program: run npm run build first');
  process.exit(2);
}
const runs = Number(process.argv[2] ?? 5);

const dbName = `wa_bench_startup_${randomBytes(4).toString('hex')}`;
const admin = new pg.Client({ connectionString: adminUrl });
await admin.connect();
await admin.query(`CREATE DATABASE ${dbName}`);
const url = new URL(adminUrl);
url.pathname = `/${dbName}`;

/** Milliseconds from spawn to the first 200 on /readyz. */
async function timeToReady(args: string[]): Promise<number> {
  const port = await freePort();
  const started = performance.now();
  const child = spawn(process.execPath, args, {
    cwd: ROOT,
    env: {
      PATH: process.env.PATH ?? '',
      PORT: String(port),
      DATABASE_URL: url.toString(),
      LOG_LEVEL: 'warn',
      WHATSAPP_APP_SECRET: 'bench-app-secret',
      WHATSAPP_VERIFY_TOKEN: 'bench-verify-token',
      EVENTS_API_TOKEN: 'bench-events-token',
    },
    stdio: 'ignore',
  });
  try {
    for (;;) {
      if (child.exitCode !== null) throw new Error(`${args.join(' ')} exited ${child.exitCode}`);
      const ok = await fetch(`http://127.0.0.1:${port}/readyz`).then(
        (r) => r.status === 200,
        () => false,
      );
      if (ok) return performance.now() - started;
      await new Promise((r) => setTimeout(r, 10));
    }
  } finally {
    child.kill('SIGTERM');
    await new Promise((resolve) => child.once('exit', resolve));
  }
}

const variants: [string, string[]][] = [
  ['node dist/main.js (compiled, the image)', ['dist/main.js']],
  ['node --import tsx src/main.ts (npm start)', ['--import', 'tsx', 'src/main.ts']],
];
try {
  await timeToReady(variants[0]![1]); // migrates the database once
  console.log(`start-up to /readyz 200, ${runs} runs each, PostgreSQL already migrated:`);
  for (const [name, args] of variants) {
    const times: number[] = [];
    for (let i = 0; i < runs; i++) times.push(await timeToReady(args));
    times.sort((a, b) => a - b);
    const median = times[Math.floor(times.length / 2)]!;
    console.log(`  ${name}: median ${median.toFixed(0)} ms (min ${times[0]!.toFixed(0)}, max ${times.at(-1)!.toFixed(0)})`);
  }
} finally {
  await admin.query(`DROP DATABASE IF EXISTS ${dbName} WITH (FORCE)`);
  await admin.end();
}

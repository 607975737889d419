/**
 * What the benchmarks share: a free port, waiting for the exporter's readiness, CPU and memory of
 * a process from /proc (Linux), the PostgreSQL backends serving the exporter, and load averages
 * to print beside every number (the machines these run on are often shared).
 */
import { readFileSync } from 'node:fs';
import { loadavg } from 'node:os';
import type pg from 'pg';

export { freePort, startDistFlags } from '../test/support/process.ts';

/** Waits until `base`/readyz answers 200; fails when `exited()` says the process is gone, or after a minute. */
export async function waitReady(base: string, exited: () => boolean = () => false): Promise<void> {
  for (let i = 0; ; i++) {
    const ready = await fetch(`${base}/readyz`).then(
      (r) => r.ok,
      () => false,
    );
    if (ready) return;
    if (exited() || i > 600) throw new Error('exporter did not become ready');
    await new Promise((r) => setTimeout(r, 100));
  }
}

/** CPU seconds a process has used (clock ticks of 10 ms); 0 once it is gone. */
export function processCpu(pid: number): number {
  try {
    const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.split(' ');
    return (Number(fields[11]) + Number(fields[12])) / 100;
  } catch {
    return 0;
  }
}

export function rssMiB(pid: number): number {
  try {
    return Number(/VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1] ?? 0) / 1024;
  } catch {
    return 0;
  }
}

/** The process ids of the PostgreSQL backends serving the exporter on `client`'s database. */
export async function exporterBackends(client: pg.Client): Promise<number[]> {
  const { rows } = await client.query<{ pid: number }>(
    `SELECT pid FROM pg_stat_activity WHERE application_name = 'whatsapp-helpdesk-exporter' AND datname = current_database()`,
  );
  return rows.map((r) => r.pid);
}

export const load = (): string =>
  `load ${loadavg()
    .map((l) => l.toFixed(2))
    .join(' ')}`;

/** Runs the real entry point (src/main.ts) as a child process, as `npm start` does. */
import { spawn, type ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
import net from 'node:net';
import { fileURLToPath } from 'node:url';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));

/** The node flags of `npm run start:dist`, which the image runs too (test/build.test.ts keeps the two equal). */
export function startDistFlags(): string[] {
  const pkg = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { scripts: Record<string, string> };
  return pkg.scripts['start:dist']!.split(' ').filter((word) => word.startsWith('--'));
}

export async function freePort(): Promise<number> {
  const server = net.createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as net.AddressInfo;
  await new Promise((resolve) => server.close(resolve));
  return port;
}

const running = new Set<ChildProcess>();

/** Kills exporters a failed test left running, so the test process can exit. */
export function killLeftoverExporters(): void {
  for (const child of running) child.kill('SIGKILL');
}

export interface Exporter {
  child: ChildProcess;
  url: string;
  stdout: () => string;
  stderr: () => string;
  exited: Promise<number | null>;
}

/**
 * Starts the exporter with exactly `env` (plus PATH) and returns once it is ready, or once it has
 * exited. `cwd` is the checkout to run from (default: this one); `args` go to the program.
 */
export async function runExporter(
  env: Record<string, string>,
  options: { waitReady?: boolean; timeoutMs?: number; cwd?: string; args?: string[]; entry?: string[] } = {},
): Promise<Exporter> {
  const port = env.PORT ?? String(await freePort());
  const entry = options.entry ?? ['--import', 'tsx', 'src/main.ts'];
  const child = spawn(process.execPath, [...entry, ...(options.args ?? [])], {
    cwd: options.cwd ?? ROOT,
    env: { PATH: process.env.PATH ?? '', PORT: port, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  running.add(child);
  child.once('exit', () => running.delete(child));
  let out = '';
  let err = '';
  child.stdout!.on('data', (d) => (out += d));
  child.stderr!.on('data', (d) => (err += d));
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  const exporter: Exporter = { child, url: `http://127.0.0.1:${port}`, stdout: () => out, stderr: () => err, exited };
  if (options.waitReady === false) return exporter;
  const deadline = Date.now() + (options.timeoutMs ?? 30_000);
  let gone = false;
  void exited.then(() => (gone = true));
  while (!gone && Date.now() < deadline) {
    try {
      if ((await fetch(`${exporter.url}/readyz`)).status === 200) return exporter;
    } catch {
      // not listening yet
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  if (!gone) child.kill('SIGKILL');
  throw new Error(`exporter did not become ready\nstdout:\n${out}\nstderr:\n${err}`);
}

/**
 * Waits until the exporter's stdout matches `pattern` (at most `timeoutMs`) and returns it: a log
 * line written just before /readyz answers may reach this process after the answer does.
 */
export async function waitForOutput(exporter: Exporter, pattern: RegExp, timeoutMs = 10_000): Promise<string> {
  const deadline = Date.now() + timeoutMs;
  while (!pattern.test(exporter.stdout()) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
  return exporter.stdout();
}

export async function stopExporter(exporter: Exporter): Promise<number | null> {
  exporter.child.kill('SIGTERM');
  return exporter.exited;
}

/**
 * The compiled program, as the image runs it: `npm run build` turns src/ into plain JavaScript
 * whose only imports are Node built-ins, its own files and production dependencies (no tsx, no
 * TypeScript at run time), and `node dist/main.js` prints its version and serves until ready.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { builtinModules } from 'node:module';
import { join, relative } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { createTestDatabase, type TestDatabase } from './support/database.ts';
import { APP_SECRET, VERIFY_TOKEN } from './support/meta.ts';
import { killLeftoverExporters, runExporter, startDistFlags, stopExporter } from './support/process.ts';

const ROOT = fileURLToPath(new URL('../', import.meta.url));
const OUT = `dist-test-${process.pid}`;
const pkg = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as {
  version: string;
  scripts: Record<string, string>;
  dependencies: Record<string, string>;
  devDependencies: Record<string, string>;
};

function files(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) => (e.isDirectory() ? files(join(dir, e.name)) : [join(dir, e.name)]));
}

/** The package a bare specifier names: `pg`, `@electric-sql/pglite` (from `@electric-sql/pglite/x`). */
const packageOf = (specifier: string) =>
  specifier
    .split('/')
    .slice(0, specifier.startsWith('@') ? 2 : 1)
    .join('/');

describe('the compiled program (npm run build)', () => {
  let db: TestDatabase | undefined;
  before(() => {
    const build = spawnSync(process.execPath, ['scripts/build.mjs', OUT], { cwd: ROOT, encoding: 'utf8' });
    assert.equal(build.status, 0, `${build.stdout}${build.stderr}`);
  });
  after(async () => {
    killLeftoverExporters();
    rmSync(join(ROOT, OUT), { recursive: true, force: true });
    await db?.drop();
  });

  it('imports only built-ins, its own files and production dependencies; tsx is a dev dependency', () => {
    assert.equal(pkg.dependencies.tsx, undefined, 'tsx is not a production dependency');
    assert.ok(pkg.devDependencies.tsx);
    const js = files(join(ROOT, OUT)).filter((f) => f.endsWith('.js'));
    assert.ok(js.length > 40);
    assert.ok(existsSync(join(ROOT, OUT, 'storage/migrations/001_initial.sql')), 'migrations are copied');
    const builtins = new Set(builtinModules);
    const used = new Set<string>();
    for (const file of js) {
      // Comments may quote words after `from` ("a mistranslation from …"): only code is scanned.
      const text = readFileSync(file, 'utf8')
        .replace(/\/\*[\s\S]*?\*\//g, '')
        .replace(/^\s*\/\/.*$/gm, '');
      for (const [, specifier] of text.matchAll(/(?:(?<=[\s}])from\s*|\bimport\s*\(\s*|\brequire\s*\(\s*)["']([^"']+)["']/g)) {
        if (specifier!.startsWith('.')) {
          assert.doesNotMatch(specifier!, /\.ts$/, `${relative(ROOT, file)} imports ${specifier} (not rewritten to .js)`);
          assert.ok(existsSync(join(file, '..', specifier!)), `${relative(ROOT, file)} imports ${specifier}, which exists`);
          continue;
        }
        if (specifier!.startsWith('node:') || builtins.has(specifier!)) continue;
        used.add(packageOf(specifier!));
      }
    }
    for (const name of used) assert.ok(name in pkg.dependencies, `${name} is a production dependency`);
    assert.ok(used.has('express') && used.has('pg') && used.has('prom-client'));
  });

  it('the image runs the program as npm run start:dist does, with the memory flags', () => {
    const cmd = /^CMD (\[.*\])$/m.exec(readFileSync(join(ROOT, 'Dockerfile'), 'utf8'))?.[1];
    assert.ok(cmd, 'the Dockerfile has a CMD in exec form');
    assert.equal((JSON.parse(cmd) as string[]).join(' '), pkg.scripts['start:dist']);
    assert.match(pkg.scripts['start:dist']!, /--max-semi-space-size=\d+/);
    assert.match(pkg.scripts['start:dist']!, /--heap-growing-percent=\d+/);
  });

  it('node <flags> <dist>/main.js, as the image runs it, prints the version and serves until ready', async () => {
    const version = spawnSync(process.execPath, [`${OUT}/main.js`, '--version'], { cwd: ROOT, encoding: 'utf8' });
    assert.equal(version.status, 0);
    assert.equal(version.stdout, `${pkg.version}\n`);

    db = process.env.DATABASE_URL ? await createTestDatabase() : undefined;
    const env: Record<string, string> = {
      WHATSAPP_APP_SECRET: APP_SECRET,
      WHATSAPP_VERIFY_TOKEN: VERIFY_TOKEN,
      EVENTS_API_TOKEN: 'events-token-1',
      ...(db?.url ? { DATABASE_URL: db.url } : { DATA_DIR: join(ROOT, OUT, 'data') }),
    };
    // The node flags of `npm run start:dist` (and the image): node refuses a flag it does not know.
    const flags = startDistFlags();
    const exporter = await runExporter(env, { entry: [...flags, `${OUT}/main.js`], timeoutMs: 60_000 });
    const ready = await fetch(`${exporter.url}/readyz`);
    assert.deepEqual(await ready.json(), { status: 'ready', database: 'up', migrations: 'applied' });
    const metrics = await (await fetch(`${exporter.url}/metrics`)).text();
    assert.match(metrics, new RegExp(`^whatsapp_exporter_build_info\\{version="${pkg.version}",`, 'm'));
    assert.equal(await stopExporter(exporter), 0);
  });
});

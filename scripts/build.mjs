// `npm run build [-- <outDir>]`: compiles src/ to plain JavaScript (default dist/) with tsc, for
// the image and `npm run start:dist`; tsx is then not needed at run time. The output keeps the
// depth of src/ (rootDir src, outDir one level below the repository), so the paths the code
// resolves from its own location (../package.json, ../../config/categories.json) stay valid.
// The SQL migrations are copied beside the compiled migrate.js.
import { execFileSync } from 'node:child_process';
import { cpSync, rmSync } from 'node:fs';
import { createRequire } from 'node:module';
import { basename, dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const out = resolve(root, process.argv[2] ?? 'dist');
if (dirname(out) !== root) {
  process.stderr.write(`build: the output must be a folder directly in the repository (like dist), not ${out}\n`);
  process.exit(2);
}
rmSync(out, { recursive: true, force: true });
const tsc = createRequire(import.meta.url).resolve('typescript/bin/tsc');
execFileSync(process.execPath, [tsc, '-p', join(root, 'tsconfig.build.json'), '--outDir', out], { stdio: 'inherit' });
cpSync(join(root, 'src/storage/migrations'), join(out, 'storage/migrations'), { recursive: true });
process.stdout.write(`build: compiled src/ into ${basename(out)}/\n`);

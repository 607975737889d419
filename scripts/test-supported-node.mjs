// `npm run test:supported-node`: runs the start-up, build, configuration, Kubernetes and storage
// tests under each Node.js major that package.json's engines declare (22 and 24), fetched from
// the npm registry with `npx node@<major>`, whatever the machine's own node is. The tests spawn
// the exporter with process.execPath, so the program itself runs on that version too.
// `-- 24` runs one version only; further arguments after `--files` replace the list of tests.
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';

const SMOKE = [
  'test/config.test.ts',
  'test/startup.test.ts',
  'test/process.test.ts',
  'test/build.test.ts',
  'test/least-privilege.test.ts',
  'test/kubernetes.test.ts',
  'test/meta-webhook.test.ts',
];

const engines = JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')).engines.node;
const declared = [...engines.matchAll(/\^(\d+)/g)].map((m) => m[1]);
const args = process.argv.slice(2);
const at = args.indexOf('--files');
const versions = (at < 0 ? args : args.slice(0, at)).length ? (at < 0 ? args : args.slice(0, at)) : declared;
const files = at < 0 ? SMOKE : args.slice(at + 1);

let failed = false;
for (const major of versions) {
  if (!declared.includes(major)) {
    process.stderr.write(`test:supported-node: Node ${major} is not in engines (${engines})\n`);
    process.exit(2);
  }
  process.stdout.write(`--- Node ${major}: ${files.join(' ')}\n`);
  const run = spawnSync('npx', ['-y', `node@${major}`, '--import', 'tsx', '--test', '--test-reporter=spec', ...files], {
    stdio: 'inherit',
  });
  if (run.status !== 0) {
    process.stderr.write(`--- Node ${major}: FAILED (exit ${run.status})\n`);
    failed = true;
  }
}
process.exit(failed ? 1 : 0);

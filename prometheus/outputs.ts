/**
 * Writes generated files (repository-relative path → content) for `npm run rules` and
 * `npm run dashboards`: into the repository, into `--out DIR` (a deployment's own copy), or, with
 * `--check`, only compares and exits 1 when a committed file is out of date.
 */
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { type GeneratorOptions, parseGeneratorArgs } from './config.ts';

export const ROOT = fileURLToPath(new URL('../', import.meta.url));

export function readText(path: string): string {
  try {
    return readFileSync(path, 'utf8');
  } catch {
    return '';
  }
}

/** Runs a generator from the command line; prints one line per file; exit 2 on a bad flag. */
export function runGenerator(command: string, render: (options: GeneratorOptions) => Map<string, string>): void {
  let options: GeneratorOptions;
  try {
    options = parseGeneratorArgs(process.argv.slice(2));
  } catch (error) {
    process.stderr.write(`${command}: ${(error as Error).message}\n`);
    process.exit(2);
  }
  const base = options.out ?? ROOT;
  let stale = false;
  for (const [path, content] of render(options)) {
    const file = join(base, path);
    if (readText(file) === content) continue;
    stale = true;
    if (!options.check) {
      mkdirSync(dirname(file), { recursive: true });
      writeFileSync(file, content);
    }
    process.stdout.write(`${options.check ? 'out of date' : 'wrote'}: ${options.out ? file : path}\n`);
  }
  if (options.check && stale) {
    process.stderr.write(`${command}: generated files are out of date; run npm run ${command}\n`);
    process.exit(1);
  }
}

/**
 * Whether a module is the program's entry point (`node file`, `tsx file`, `npm start`). Compares
 * real file paths, not `file://` + argv[1]: that string comparison fails for paths with a space or
 * any other character a URL encodes, and the program then exits 0 without starting.
 */
import { realpathSync } from 'node:fs';
import { resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

export function isMainModule(moduleUrl: string, argv1: string | undefined = process.argv[1]): boolean {
  if (!argv1) return false;
  const self = realPath(fileURLToPath(moduleUrl));
  const entry = resolve(argv1);
  // `node dist/main` resolves the extension itself.
  return [entry, `${entry}.js`, `${entry}.ts`].some((candidate) => realPath(candidate) === self);
}

function realPath(path: string): string | undefined {
  try {
    return realpathSync(path);
  } catch {
    return undefined;
  }
}
